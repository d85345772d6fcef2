from pathlib import Path

import numpy as np
import pytest

from indexing.hybrid import open_hybrid_index
from models.encoder import load_encoder

TEXTS = ["数控机床维修与数控编程", "软件开发与测试", "食品加工与包装设备运维", "工业机器人系统集成"]


def test_vector_cache_reencodes_only_changed_texts(tmp_path: Path) -> None:
    enc = load_encoder("hash")
    ids = np.array([11, 12, 13, 14], dtype=np.int64)
    first = open_hybrid_index(
        tmp_path, entity="enterprise", ids=ids, texts=TEXTS, encoder=enc, data_version="1"
    )
    assert first.manifest["reencoded"] == 4
    again = open_hybrid_index(
        tmp_path, entity="enterprise", ids=ids, texts=TEXTS, encoder=enc, data_version="1"
    )
    assert again.manifest["reencoded"] == 0
    np.testing.assert_allclose(again.vectors, first.vectors)
    changed = [*TEXTS[:3], "新能源汽车电池检测"]
    order = np.array([14, 13, 12, 11], dtype=np.int64)  # another order, one text changed
    third = open_hybrid_index(
        tmp_path, entity="enterprise", ids=order, texts=changed[::-1], encoder=enc, data_version="2"
    )
    assert third.manifest["reencoded"] == 1
    np.testing.assert_allclose(third.vectors[1:], first.vectors[:3][::-1])
    np.testing.assert_allclose(third.vectors[0], enc.encode_documents(["新能源汽车电池检测"])[0])


def test_search_fuses_both_channels(tmp_path: Path) -> None:
    enc = load_encoder("hash")
    ids = np.arange(1, 5, dtype=np.int64)
    index = open_hybrid_index(
        tmp_path, entity="programme", ids=ids, texts=TEXTS, encoder=enc, data_version="1"
    )
    q = enc.encode_queries(["数控编程"])[0]
    hits = index.search(q, ["数控", "编程"], mask=None, k=3)
    assert hits[0].position == 0 and hits[0].fused == 1.0 and hits[0].bm25 > 0
    assert "数控" in hits[0].matched_terms
    masked = index.search(q, ["数控", "编程"], mask=np.array([False, True, True, True]), k=3)
    assert all(h.position != 0 for h in masked)


def test_bm25_is_reloaded_only_for_the_same_rows(tmp_path: Path) -> None:
    enc = load_encoder("hash")
    ids = np.array([1, 2, 3, 4], dtype=np.int64)
    first = open_hybrid_index(
        tmp_path, entity="need", ids=ids, texts=TEXTS, encoder=enc, data_version="1"
    )
    key = _bm25_key(tmp_path)
    again = open_hybrid_index(
        tmp_path, entity="need", ids=ids, texts=TEXTS, encoder=enc, data_version="1"
    )
    assert again.bm25.vocab_dict == first.bm25.vocab_dict
    q = enc.encode_queries(["软件测试"])[0]
    assert [h.position for h in again.search(q, ["软件", "测试"], mask=None, k=2)] == [
        h.position for h in first.search(q, ["软件", "测试"], mask=None, k=2)
    ]
    changed = [TEXTS[0], TEXTS[1], TEXTS[2], "软件测试与运维"]
    third = open_hybrid_index(
        tmp_path, entity="need", ids=ids, texts=changed, encoder=enc, data_version="2"
    )
    assert _bm25_key(tmp_path) != key
    hits = third.search(q, ["软件", "测试"], mask=None, k=4)
    assert {h.position for h in hits if h.bm25 > 0} == {1, 3}


def _bm25_key(directory: Path) -> str:
    import json

    return str(json.loads((directory / "bm25" / "manifest.json").read_text())["key"])


def test_parallel_tokenisation_matches_serial(monkeypatch: pytest.MonkeyPatch) -> None:
    import indexing.bm25_store as H
    from models.text import tokenize

    texts = [*TEXTS, "数 控 技 术 与 Python programming", "软件开发"] * 3
    monkeypatch.setattr(H, "PARALLEL_TOKENIZE_FROM", 4)
    monkeypatch.setattr(H, "TOKENIZE_CHUNK", 5)
    monkeypatch.setattr(H.os, "cpu_count", lambda: 2)
    assert H._tokenize_all(texts) == [tokenize(t) for t in texts]


def test_matched_terms_are_exactly_the_query_terms_in_each_document(tmp_path: Path) -> None:
    from models.text import tokenize

    enc = load_encoder("hash")
    texts = [*TEXTS, "数控加工与软件测试", "包装设备与工业机器人维修"]
    ids = np.arange(1, len(texts) + 1, dtype=np.int64)
    index = open_hybrid_index(
        tmp_path, entity="programme", ids=ids, texts=texts, encoder=enc, data_version="1"
    )
    query = ["数控", "软件", "测试", "机器人", "维修", "不存在的词"]
    hits = index.search(enc.encode_queries(["数控 软件"])[0], query, mask=None, k=len(texts))
    assert len(hits) == len(texts)
    for h in hits:
        expected = {t for t in query if t in tokenize(texts[h.position])}
        assert set(h.matched_terms) == expected, texts[h.position]


def test_unsorted_postings_are_repaired() -> None:
    import bm25s

    from indexing.bm25_store import sorted_postings as _sorted_postings

    bm25 = bm25s.BM25()
    bm25.scores = {
        "indptr": np.array([0, 3, 5]),
        "indices": np.array([4, 1, 2, 0, 3], dtype=np.int32),
        "data": np.array([0.4, 0.1, 0.2, 1.0, 1.3], dtype=np.float32),
    }
    _sorted_postings(bm25)
    assert bm25.scores["indices"].tolist() == [1, 2, 4, 0, 3]
    np.testing.assert_allclose(bm25.scores["data"], [0.1, 0.2, 0.4, 1.0, 1.3])


def test_delta_segment_adds_and_tombstones_without_touching_the_base(tmp_path: Path) -> None:
    from models.text import tokenize

    enc = load_encoder("hash")
    ids = np.array([1, 2, 3, 4], dtype=np.int64)
    base = open_hybrid_index(
        tmp_path, entity="enterprise", ids=ids, texts=TEXTS, encoder=enc, data_version="1"
    )
    fresh = ["新能源汽车电池检测与回收", "软件开发与测试外包"]  # id 5 new, id 2 edited
    vecs = enc.encode_documents(fresh)
    changed = base.with_changes(
        dead=[1], ids=np.array([5, 2]), vectors=vecs, tokens=[tokenize(t) for t in fresh]
    )
    assert base.count == 4 and base.live is None and base.delta is None  # base untouched
    assert changed.count == 6 and changed.live is not None
    assert changed.live.tolist() == [True, False, True, True, True, True]
    q = enc.encode_queries(["新能源汽车电池"])[0]
    hits = changed.search(q, tokenize("新能源汽车电池检测"), mask=None, k=3)
    assert hits[0].position == 4 and hits[0].bm25 > 0
    assert "电池" in hits[0].matched_terms
    software = changed.search(enc.encode_queries(["软件测试"])[0], ["软件", "测试"], mask=None, k=6)
    positions = [h.position for h in software]
    assert 1 not in positions and 5 in positions  # the edited row answers at its new position
    np.testing.assert_allclose(changed.vector_rows([4, 0]), np.vstack([vecs[0], base.vectors[0]]))
    # a mask from the caller is honoured across base and delta
    only_delta = np.array([False, True, False, False, False, True])
    assert {h.position for h in changed.search(q, ["软件"], mask=only_delta, k=6)} == {5}
    again = changed.with_changes(dead=[5], ids=np.array([]), vectors=vecs[:0], tokens=[])
    assert all(h.position != 5 for h in again.search(q, ["软件"], mask=None, k=6))
