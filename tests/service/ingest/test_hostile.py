"""Files built to exhaust the server: refused quickly, in bounded memory, with a Chinese reason.

The zip-bomb tests print their figures (run with -s):
    .venv/bin/python -m pytest -q -s tests/service/ingest/test_hostile.py -k bomb
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from service.ingest.readers import FileProblem, open_table
from service.ingest.xlsx import Limits
from tests.service.ingest.hostile import bomb, lying_bomb, peak_rss_reset, rss_mib, workbook

EXPANDED = 256 << 20  # over the 200 MB default; ~2.7 MB on disk
SECONDS_MAX = 5.0
EXTRA_MIB_MAX = 200.0


def _any(cells: object) -> bool:
    return True


@pytest.fixture(scope="module")
def bomb_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bomb(tmp_path_factory.mktemp("bomb") / "bomb.xlsx", EXPANDED)


def test_zip_bomb_refused_via_api(api: httpx.Client, bomb_file: Path) -> None:
    body = bomb_file.read_bytes()
    peak_rss_reset()
    before, _ = rss_mib()
    started = time.perf_counter()
    r = api.post("/v1/imports/enterprises", files={"file": ("bomb.xlsx", body)}, timeout=60)
    seconds = time.perf_counter() - started
    _, peak = rss_mib()
    figures = {
        "path": "api",
        "file_mib": round(len(body) / (1 << 20), 2),
        "expands_to_mib": EXPANDED >> 20,
        "seconds": round(seconds, 3),
        "extra_peak_mib": round(peak - before, 1),
    }
    print(json.dumps(figures))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["code"] == "too_large"
    assert "压缩炸弹" in r.json()["errors"][0]["reason"]
    assert seconds < SECONDS_MAX and peak - before < EXTRA_MIB_MAX


def _cli_measured(args: list[str], url: str) -> tuple[int, str, float, float]:
    env = {**os.environ, "XIAOQI_DATABASE_URL": url}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "scripts.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, out, time.perf_counter() - started, usage.ru_maxrss / 1024


def test_zip_bomb_refused_via_cli(bomb_file: Path, clean_db: str, tmp_path: Path) -> None:
    small = workbook(tmp_path / "small.xlsx", b"<worksheet><sheetData/></worksheet>")
    _, _, base_s, base_mib = _cli_measured(
        ["import", str(small), "--kind", "enterprises", "--json"], clean_db
    )
    rc, out, seconds, peak = _cli_measured(
        ["import", str(bomb_file), "--kind", "enterprises", "--json"], clean_db
    )
    report = json.loads(out.strip().splitlines()[-1])
    figures = {
        "path": "cli",
        "expands_to_mib": EXPANDED >> 20,
        "import_seconds": report["seconds"],
        "process_seconds": round(seconds, 2),
        "baseline_process_seconds": round(base_s, 2),
        "peak_mib": round(peak, 1),
        "baseline_peak_mib": round(base_mib, 1),
        "extra_peak_mib": round(peak - base_mib, 1),
    }
    print(json.dumps(figures))
    assert rc == 1 and report["errors"][0]["code"] == "too_large"
    assert report["seconds"] < SECONDS_MAX and peak - base_mib < EXTRA_MIB_MAX


def test_lying_directory_stops_at_the_budget(tmp_path: Path) -> None:
    # The directory claims 1 MB; the data inflates to 30 MB. zipfile stops at the claim and the
    # truncated XML is refused; with a budget under the claim, the byte counter stops it.
    path = lying_bomb(tmp_path / "lie.xlsx", 30 << 20, declared=1 << 20)
    with pytest.raises(FileProblem) as info:
        table = open_table(path.open("rb"), "lie.xlsx", _any)
        list(table.rows)
    assert info.value.code in ("bad_xlsx", "too_large")
    with pytest.raises(FileProblem) as info:
        table = open_table(path.open("rb"), "lie.xlsx", _any, limits=Limits(max_bytes=1 << 20))
        list(table.rows)
    assert info.value.code == "too_large"


def _sheet(rows: bytes) -> bytes:
    return b"<worksheet><sheetData>" + rows + b"</sheetData></worksheet>"


def test_xlsx_far_column_is_refused_not_padded(tmp_path: Path) -> None:
    xml = _sheet(
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c><c r="XFD1"><v>1</v></c></row>'
    )
    with pytest.raises(FileProblem) as info:
        open_table(workbook(tmp_path / "w.xlsx", xml).open("rb"), "w.xlsx", _any)
    assert info.value.code == "too_many_columns" and "200 列" in info.value.reason


def test_xlsx_long_cell_and_long_shared_string(tmp_path: Path) -> None:
    big = b"A" * (130 << 10)
    xml = _sheet(b'<row r="1"><c r="A1" t="inlineStr"><is><t>' + big + b"</t></is></c></row>")
    with pytest.raises(FileProblem) as info:
        open_table(workbook(tmp_path / "c.xlsx", xml).open("rb"), "c.xlsx", _any)
    assert info.value.code == "cell_too_long" and info.value.row == 1


def test_xlsx_rows_over_the_limit(tmp_path: Path) -> None:
    rows = b"".join(
        b'<row r="%d"><c t="inlineStr"><is><t>v</t></is></c></row>' % i for i in range(1, 60)
    )
    path = workbook(tmp_path / "r.xlsx", _sheet(rows))
    with pytest.raises(FileProblem) as info:
        list(open_table(path.open("rb"), "r.xlsx", _any, limits=Limits(max_rows=50)).rows)
    assert info.value.code == "too_many_rows"  # counted by the byte scan, before parsing


def test_xlsx_dtd_refused(tmp_path: Path) -> None:
    xml = (
        b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
        b'<worksheet><sheetData><row><c t="inlineStr"><is><t>&b;</t></is></c></row>'
        b"</sheetData></worksheet>"
    )
    with pytest.raises(FileProblem) as info:
        open_table(workbook(tmp_path / "d.xlsx", xml).open("rb"), "d.xlsx", _any)
    assert info.value.code == "bad_xlsx"


def test_csv_under_the_same_limits() -> None:
    limits = Limits(max_rows=10, max_columns=5, max_cell_chars=100, max_bytes=10_000)
    wide = ",".join(["a"] * 6) + "\n"
    with pytest.raises(FileProblem) as info:
        open_table(io.BytesIO(wide.encode()), "w.csv", _any, limits=limits)
    assert info.value.code == "too_many_columns"
    long_cell = "a," + "x" * 101 + "\n"
    with pytest.raises(FileProblem) as info:
        list(
            open_table(
                io.BytesIO(("h,i\n" + long_cell).encode()), "c.csv", _any, limits=limits
            ).rows
        )
    assert info.value.code == "cell_too_long" and info.value.row == 2
    # a small cap for one import never lowers the process-wide csv cap other readers rely on
    assert csv.field_size_limit() >= 128 << 10
    assert next(csv.reader(io.StringIO("y" * 5000)))[0] == "y" * 5000
    many = "h,i\n" + "a,b\n" * 20
    with pytest.raises(FileProblem) as info:
        list(open_table(io.BytesIO(many.encode()), "r.csv", _any, limits=limits).rows)
    assert info.value.code == "too_many_rows"
    with pytest.raises(FileProblem) as info:
        open_table(io.BytesIO(b"h,i\n" + b"a,b\n" * 3000), "s.csv", _any, limits=limits)
    assert info.value.code == "too_large"


def test_jsonl_endless_line_and_long_cell() -> None:
    limits = Limits(max_cell_chars=100)
    endless = b'{"name": "' + b"x" * 5000
    with pytest.raises(FileProblem) as info:
        list(open_table(io.BytesIO(endless), "e.jsonl", _any, limits=limits).rows)
    assert info.value.code == "cell_too_long"
    line = json.dumps({"name": "y" * 150}).encode() + b"\n"
    with pytest.raises(FileProblem) as info:
        list(open_table(io.BytesIO(line), "l.jsonl", _any, limits=limits).rows)
    assert info.value.code == "cell_too_long"


def test_bomb_under_the_byte_limit_refused_by_rows_quickly(tmp_path: Path) -> None:
    # 190 MB of sheet XML (under the 200 MB budget) in a ~1.8 MB file: 1.5 million rows.
    path = bomb(tmp_path / "near.xlsx", 190 << 20)
    peak_rss_reset()
    before, _ = rss_mib()
    started = time.perf_counter()
    with pytest.raises(FileProblem) as info:
        list(open_table(path.open("rb"), path.name, _any).rows)
    seconds = time.perf_counter() - started
    _, peak = rss_mib()
    print(
        json.dumps(
            {
                "path": "reader",
                "expands_to_mib": 190,
                "seconds": round(seconds, 3),
                "extra_peak_mib": round(peak - before, 1),
            }
        )
    )
    assert info.value.code == "too_many_rows"
    assert seconds < SECONDS_MAX and peak - before < EXTRA_MIB_MAX
