"""The generated sample: deterministic, valid codes, the promised encodings, deliberate mess."""

from __future__ import annotations

import csv
import json
import re
import tracemalloc
from collections import Counter
from pathlib import Path

import pytest
from openpyxl import load_workbook

from models.codes import is_valid_credit_code, major_catalogue
from service.ingest.headers import fold_header
from service.ingest.service import KINDS
from service.sample import formats as fmt
from service.sample.generate import Manifest, generate
from service.sample.mess import fullwidth, is_messy, name_variant, pdf_spaces

PDF_SPACE = re.compile(r"[\u4e00-\u9fff] [\u4e00-\u9fff]")
FULLWIDTH = re.compile(r"[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")


def _csv(path: Path, spec: fmt.FileSpec) -> list[dict[str, str]]:
    with path.open(encoding=spec.encoding, newline="") as f:
        rows = list(csv.reader(f))[len(spec.preamble) :]
    fields = dict(zip(spec.headers, spec.fields, strict=True))
    return [{fields[h]: v for h, v in zip(rows[0], r, strict=True)} for r in rows[1:]]


def _jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _xlsx(path: Path) -> list[tuple]:
    wb = load_workbook(path, read_only=True)
    return [tuple(r) for r in wb.worksheets[0].iter_rows(values_only=True)]


def test_every_kind_written(sample_dir: tuple[Path, Manifest]) -> None:
    out, manifest = sample_dir
    assert set(manifest.counts) == {s.kind for s in fmt.ALL}
    assert all(n > 0 for n in manifest.counts.values()), manifest.counts
    assert manifest.counts["enterprises"] == 400
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["seed"] == 7


def test_same_seed_same_files_other_seed_other_files(
    sample_dir: tuple[Path, Manifest], tmp_path: Path
) -> None:
    out, manifest = sample_dir
    again = generate(tmp_path / "a", manifest.enterprises, seed=7)
    assert again.counts == manifest.counts
    for spec in fmt.ALL:
        first, second = out / spec.filename, tmp_path / "a" / spec.filename
        if spec.format == "xlsx":
            assert _xlsx(first) == _xlsx(second)
        else:
            assert first.read_bytes() == second.read_bytes(), spec.filename
    generate(tmp_path / "b", manifest.enterprises, seed=8)
    assert (out / "enterprises.csv").read_bytes() != (tmp_path / "b/enterprises.csv").read_bytes()


def test_credit_codes_valid_and_unique(sample_dir: tuple[Path, Manifest]) -> None:
    out, _ = sample_dir
    rows = _csv(out / "enterprises.csv", fmt.ENTERPRISES)
    codes = [r["credit_code"] for r in rows]
    assert all(is_valid_credit_code(c) for c in codes)
    assert len(set(codes)) == len(codes)
    # Region inside the code (chars 3–8) is the enterprise's region.
    assert all(r["credit_code"][2:8] == r["region_code"] for r in rows)
    known = set(codes)
    for need in _jsonl(out / "needs.jsonl"):
        assert need["credit_code"] in known
    for m in _csv(out / "mentors.csv", fmt.MENTORS):
        assert not m["credit_code"] or m["credit_code"] in known


def test_major_codes_are_real_and_match_level(sample_dir: tuple[Path, Manifest]) -> None:
    out, _ = sample_dir
    catalogue = major_catalogue()
    programmes = _jsonl(out / "programmes.jsonl")
    assert len(programmes) > 1000
    for p in programmes:
        assert catalogue[p["major_code"]] == (p["name"], p["level"])
        assert 1 <= p["capacity"] <= 5 and p["industries"]
    pairs = {(p["school_code"], p["major_code"]) for p in programmes}
    assert len(pairs) == len(programmes)
    for row in _csv(out / "programme-partnerships.csv", fmt.PROGRAMME_PARTNERSHIPS):
        assert (row["school_code"], row["major_code"]) in pairs


def test_real_schools_and_invented_vocational_codes(sample_dir: tuple[Path, Manifest]) -> None:
    out, _ = sample_dir
    schools = {r["name"]: r for r in _csv(out / "schools.csv", fmt.SCHOOLS)}
    assert schools["郑州大学"]["code"] == "4141010459"
    assert schools["郑州大学"]["kind"] == schools["河南大学"]["kind"] == "双一流"
    assert schools["河南科技职业大学"]["kind"] == "职教本科"
    kinds = Counter(r["kind"] for r in schools.values())
    assert kinds["本科"] > 40 and kinds["高职专科"] > 70 and kinds["中职"] > 50
    assert any("双高" in r["tags"] for r in schools.values())
    for r in schools.values():
        assert re.fullmatch(r"[0-9A-Z]{4,12}", r["code"])
        if r["kind"] == "中职":
            assert r["code"].startswith("Z") and len(r["code"]) != 10


def test_encodings(sample_dir: tuple[Path, Manifest]) -> None:
    out, _ = sample_dir
    for spec in (fmt.SCHOOLS, fmt.PAIRING_TABLE):
        raw = (out / spec.filename).read_bytes()
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        assert "郑州" in raw.decode("gbk")
    assert (out / "parks.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    (out / "enterprises.csv").read_bytes().decode("utf-8")
    rows = _xlsx(out / "practice-bases.xlsx")
    assert rows[0] == tuple(fmt.PRACTICE_BASES.headers) and len(rows) > 10


def test_headers_are_ones_the_importer_accepts() -> None:
    for spec in fmt.ALL:
        if spec.kind in fmt.DIRECT:
            continue
        aliases = KINDS[spec.kind].aliases
        unknown = [h for h in spec.headers if fold_header(h) not in aliases]
        assert not unknown, (spec.kind, unknown)


def test_mess_is_present(sample_dir: tuple[Path, Manifest]) -> None:
    out, _ = sample_dir
    enterprises = _csv(out / "enterprises.csv", fmt.ENTERPRISES)
    needs = _jsonl(out / "needs.jsonl")
    texts = [e["description"] for e in enterprises] + [n["description"] for n in needs]
    assert sum(bool(PDF_SPACE.search(t)) for t in texts) > 20
    assert any(FULLWIDTH.search(t) for t in texts)
    # Duplicate registrations: the same name core under two credit codes.
    cores: dict[str, set[str]] = {}
    for e in enterprises:
        core = re.sub(r"^河南省?|（河南）|股份|有限责任公司$|有限公司$", "", e["name"])
        cores.setdefault(core, set()).add(e["credit_code"])
    variants = [e["name"] for e in enterprises if "（河南）" in e["name"] or "河南省" in e["name"]]
    assert variants and sum(len(v) > 1 for v in cores.values()) >= 3


def test_mess_helpers() -> None:
    import random

    rng = random.Random(1)
    assert fullwidth("ISO9001") == "ＩＳＯ９００１"
    spaced = pdf_spaces("智能制造装备产业链人才培养", rng)
    assert spaced.replace(" ", "") == "智能制造装备产业链人才培养" and is_messy(spaced)
    assert name_variant("华信", "河南", "电子", rng) in {
        "河南华信电子股份有限公司",
        "华信电子（河南）有限公司",
        "河南省华信电子有限公司",
    }


def test_partnership_pairs_unique_and_skewed(sample_dir: tuple[Path, Manifest]) -> None:
    out, _ = sample_dir
    rows = _csv(out / "partnerships.csv", fmt.PARTNERSHIPS)
    pairs = [(r["a_key"], r["b_key"]) for r in rows]
    assert len(set(pairs)) == len(pairs)
    per_enterprise = Counter(r["b_key"] for r in rows if r["b_type"] == "企业")
    assert max(per_enterprise.values()) >= 8  # a hub many schools already work with
    pp = _csv(out / "programme-partnerships.csv", fmt.PROGRAMME_PARTNERSHIPS)
    keys = [(r["school_code"], r["major_code"], r["credit_code"]) for r in pp]
    assert len(set(keys)) == len(keys)


def _peak_mib(out: Path, n: int) -> float:
    generate(out / "warm", 50, seed=1)  # catalogues are loaded once per process: not measured
    tracemalloc.start()
    try:
        generate(out / "run", n, seed=5)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_memory_stays_bounded_while_streaming(tmp_path: Path) -> None:
    assert _peak_mib(tmp_path, 5_000) < 12


@pytest.mark.slow
def test_memory_bounded_for_200k_enterprises(tmp_path: Path) -> None:
    assert _peak_mib(tmp_path, 200_000) < 24
