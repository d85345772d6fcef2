"""The learned stage's postings reader: one search over all of a query's postings gives the
same (term, document) BM25 weights as reading each term's postings on its own."""

import numpy as np

from indexing import rerank


def _postings(rng: np.random.Generator, terms: int, docs: int) -> tuple[np.ndarray, ...]:
    indptr, indices, data = [0], [], []
    for _ in range(terms):
        hit = np.sort(rng.choice(docs, size=int(rng.integers(0, docs // 2)), replace=False))
        indices.extend(hit.tolist())
        data.extend(rng.random(len(hit)).tolist())
        indptr.append(len(indices))
    return (
        np.array(indptr, dtype=np.int64),
        np.array(indices, dtype=np.int32),
        np.array(data, dtype=np.float32),
    )


def _reference(indptr, indices, data, ids, pool):  # type: ignore[no-untyped-def]
    out = np.zeros((len(ids), len(pool)), dtype=np.float32)
    for r, t in enumerate(ids):
        for c, d in enumerate(pool):
            seg = indices[indptr[t] : indptr[t + 1]]
            where = np.nonzero(seg == d)[0]
            if len(where):
                out[r, c] = data[indptr[t] + where[0]]
    return out


def test_term_hits_match_a_per_term_reading(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    indptr, indices, data = _postings(rng, terms=30, docs=200)
    ids = np.array([3, 0, 17, 29, 8], dtype=np.int64)
    pool = np.array([5, 199, 0, 42, 250, 17, 3], dtype=np.int64)  # 250: a delta row, no postings
    want = _reference(indptr, indices, data, ids, pool)
    got = rerank._term_hits(indices, data, indptr[ids], indptr[ids + 1], pool)
    assert np.array_equal(got, want) and want.any()
    monkeypatch.setattr(rerank, "CONCAT_POSTINGS", 0)  # the loop for very long postings
    assert np.array_equal(
        rerank._term_hits(indices, data, indptr[ids], indptr[ids + 1], pool), want
    )
    empty = np.zeros(0, dtype=np.int64)
    assert rerank._term_hits(indices, data, empty, empty, pool).shape == (0, len(pool))


def test_term_hits_of_a_pool_naming_a_document_twice() -> None:
    rng = np.random.default_rng(1)
    indptr, indices, data = _postings(rng, terms=12, docs=80)
    ids = np.arange(12, dtype=np.int64)
    pool = np.array([4, 9, 4, 70, 9], dtype=np.int64)
    want = _reference(indptr, indices, data, ids, pool)
    assert np.array_equal(
        rerank._term_hits(indices, data, indptr[ids], indptr[ids + 1], pool), want
    )
