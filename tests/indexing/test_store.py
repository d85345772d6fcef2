from pathlib import Path

import numpy as np
import pytest

import indexing.dense as dense_mod
from indexing import (
    IndexMismatchError,
    StaleIndexError,
    build_index,
    load_index,
    load_or_build,
)
from indexing.dense import DenseIndex
from models.encoder import load_encoder

DOCS = {
    101: "数控技术专业：数控机床操作与编程，CNC 加工",
    102: "电子商务专业：网络营销、直播电商运营",
    103: "护理专业：临床护理、病人照护",
    104: "软件技术专业：Python 软件开发与测试",
    105: "现代农业技术：作物种植与植保",
}


@pytest.fixture()
def enc():  # type: ignore[no-untyped-def]
    return load_encoder("hash-128")


def _build(enc, tmp_path: Path, version: str = "v1"):  # type: ignore[no-untyped-def]
    return build_index("programme", DOCS.items(), enc, tmp_path / "idx", version, progress=False)


def test_build_search_and_manifest(enc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    idx = _build(enc, tmp_path)
    m = idx.manifest
    assert (m.entity_type, m.encoder_id, m.dim, m.count, m.data_version) == (
        "programme",
        enc.id,
        128,
        5,
        "v1",
    )
    assert m.dense_kind == "flat" and m.created_at
    ids, scores = idx.search("数控机床编程", k=3)
    assert ids[0] == 101 and scores[0] >= scores[1]
    kw_ids, _ = idx.search_keyword("护理", k=3)
    assert kw_ids.tolist() == [103]
    cands = idx.search_hybrid("数控机床 Python", k=3)
    assert {c.id for c in cands[:2]} == {101, 104}
    top = next(c for c in cands if c.id == 101)
    assert "数控" in top.matched_terms and top.bm25 > 0 and -1.0 <= top.dense <= 1.0


def test_incremental_add_update_remove_and_reload(enc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    idx = _build(enc, tmp_path)
    idx.add([(106, "焊接技术专业：焊工、焊接机器人")], data_version="v2")
    assert idx.search_keyword("焊接机器人", k=1)[0].tolist() == [106]
    idx.update([(103, "汽车检测与维修技术：新能源汽车维修")])
    assert 103 not in idx.search_keyword("护理", k=5)[0].tolist()
    assert idx.search_keyword("新能源汽车", k=1)[0].tolist() == [103]
    assert idx.search("新能源汽车维修", k=1)[0][0] == 103
    idx.remove([102, 106])
    assert 102 not in idx.search("网络营销直播电商", k=5)[0].tolist()
    assert idx.search_keyword("焊接", k=5)[0].size == 0
    assert idx.manifest.count == 4 and idx.manifest.data_version == "v2"
    idx.save()
    again = load_index(tmp_path / "idx", enc, expected_data_version="v2")
    assert again.manifest.count == 4
    assert again.search_keyword("新能源汽车", k=1)[0].tolist() == [103]
    assert 102 not in again.search("网络营销直播电商", k=5)[0].tolist()
    hybrid = [c.id for c in again.search_hybrid("新能源汽车维修", k=4)]
    assert hybrid[0] == 103 and 102 not in hybrid


def test_manifest_mismatch_refused_with_clear_message(enc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _build(enc, tmp_path)
    with pytest.raises(IndexMismatchError, match="hash-128.*hash-64"):
        load_index(tmp_path / "idx", load_encoder("hash-64"))
    with pytest.raises(StaleIndexError, match="stale.*v1.*v9"):
        load_index(tmp_path / "idx", enc, expected_data_version="v9")


def test_load_or_build_rebuilds_stale(enc, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _build(enc, tmp_path)
    calls = []

    def items():  # type: ignore[no-untyped-def]
        calls.append(1)
        return list(DOCS.items())[:3]

    idx = load_or_build(tmp_path / "idx", "programme", enc, "v1", items)
    assert calls == [] and idx.manifest.count == 5
    idx = load_or_build(tmp_path / "idx", "programme", enc, "v2", items)
    assert calls == [1] and idx.manifest.count == 3 and idx.manifest.data_version == "v2"
    assert load_index(tmp_path / "idx", enc, "v2").manifest.count == 3


def test_hnsw_path_with_tombstones_and_compaction(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(dense_mod, "HNSW_THRESHOLD", 100)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 32)).astype("float32")
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = np.arange(1000, 1500)
    d = DenseIndex(32, dense_mod.choose_kind(500))
    assert d.kind == "hnsw"
    d.add_bulk(ids, x)
    got, _ = d.search(x[:5], 1)
    assert got[:, 0].tolist() == ids[:5].tolist()
    d.remove([1000, 1001])
    d.upsert([1002], -x[2])  # replaced: now opposite to its old vector
    got, _ = d.search(x[:3], 3)
    assert 1000 not in got[0] and 1001 not in got[1] and got[2, 0] != 1002
    assert d.count == 498 and 1002 in d and 1000 not in d
    d.compact()
    assert d.count == 498 and not d.dead and d.delta.ntotal == 0
    got, _ = d.search(-x[2:3], 1)
    assert got[0, 0] == 1002


def test_duplicate_ids_rejected(enc) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="duplicate"):
        build_index("x", [(1, "a"), (1, "b")], enc, None, "v1", progress=False)
