"""The learned stage's feature matrix, as served (memoised query side, by-column n-gram
products, pooled postings lookups, batched channel cosines), equals a straightforward
reference computed per candidate from scikit-learn transforms, the index's own postings and
plain cosines, on real pools: occupations asking a real HybridIndex over vocational majors.
The shipped model's trees split on these values, so they must not move."""

import csv
import functools
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from indexing import rerank
from indexing.hybrid import open_hybrid_index
from models import ltr, ltr_pool
from models import ltr_features as lf
from models.encoder import cjk_share, load_encoder
from models.ltr_features_extra import WORD_BASE
from models.text import normalize, tokenize

CATALOGS = Path(__file__).resolve().parents[2] / "data" / "catalogs"
CHANNELS = [("a", 0, 40), ("b", 40, 64)]  # two dense channels over the 64-d test vectors
POOL = 100


def _rows(name: str, n: int) -> list[dict[str, str]]:
    with (CATALOGS / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))[:n]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    docs = [
        f"{r['major_name']}（{r['level']}）: {r['career_orientation']}{r['training_goal']}"
        for r in _rows("vocational_majors.csv", 400)
    ]
    queries = [f"{r['name']}: {r['definition']}{r['tasks']}" for r in _rows("occupations.csv", 900)]
    queries = queries[::50]  # 18 occupations across the classification
    encoder = load_encoder("hash-64")
    index = open_hybrid_index(
        tmp_path_factory.mktemp("idx"),
        entity="majors",
        ids=np.arange(len(docs), dtype=np.int64),
        texts=docs,
        encoder=encoder,
        data_version="t",
        rerank_model=None,
    )
    assert index.rerank is not None
    adapter = np.random.default_rng(0).normal(size=(40, 40)).astype(np.float32)
    stage = rerank.RerankStage(
        index.rerank.docs, CHANNELS, None, adapters=[adapter, None], words=index.rerank.words
    )
    index.rerank = stage
    qvecs = encoder.encode_queries(queries)
    return index, stage, docs, queries, qvecs


def _pools(index, stage, queries, qvecs):  # type: ignore[no-untyped-def]
    """(pool, served features, dense, bm25) of each query's search, twice each: free text
    (memo cleared) then the same text again (a stored subject)."""
    got = []
    seen: list[np.ndarray] = []
    stage.capture = lambda pool, x: seen.append((pool.copy(), x.copy()))
    try:
        for text, qvec in zip(queries, qvecs, strict=True):
            tokens = tokenize(text)
            stage.forget_queries()
            for _ in range(2):
                index.search(qvec, tokens, mask=None, k=POOL, qtext=text)
                pool, x = seen[-1]
                got.append((text, qvec, tokens, pool, x))
    finally:
        stage.capture = None
    return got


def _dot(row, dense: np.ndarray) -> float:  # type: ignore[no-untyped-def]
    """A sparse document row times a dense query vector, over the row's non-zeros."""
    return float(row.data.astype(np.float64) @ dense[row.indices])


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return float(a @ b) / max(na * nb, 1e-9) if na > 1e-9 and nb > 1e-9 else 0.0


def _reference(index, stage, docs, text, qvec, tokens, pool):  # type: ignore[no-untyped-def]
    """Base features, column by column, candidate by candidate, from first principles."""
    side = stage.docs
    n_docs = len(docs)
    vocab, s = index.bm25.vocab_dict, index.bm25.scores
    indptr, indices, data = (np.asarray(s[k]) for k in ("indptr", "indices", "data"))
    df = {t: int(indptr[vocab[t] + 1] - indptr[vocab[t]]) for t in set(tokens) if t in vocab}
    terms = sorted((t for t in dict.fromkeys(tokens) if t in vocab), key=lambda t: df[t])
    terms = terms[: rerank.MAX_FEATURE_TERMS]
    idf = {t: float(np.log(1 + (n_docs - df[t] + 0.5) / (df[t] + 0.5))) for t in terms}
    weight = {
        t: dict(
            zip(
                indices[indptr[vocab[t]] : indptr[vocab[t] + 1]].tolist(),
                data[indptr[vocab[t]] : indptr[vocab[t] + 1]].tolist(),
                strict=True,
            )
        )
        for t in terms
    }
    row_norm = np.sqrt(np.bincount(indices, weights=data.astype(np.float64) ** 2))
    normal = normalize(text)
    head, _ = lf.split_head(text)
    head_tokens = set(tokenize(head)) if head else set()
    head_terms = [t for t in terms if t in head_tokens]
    qfull = side.full_vec.transform([normal]).toarray()[0]
    qhead = side.head_vec.transform([head or " "]).toarray()[0]
    qhead_full = side.full_vec.transform([head]).toarray()[0] if head else qfull
    qfull_head = side.head_vec.transform([normal]).toarray()[0]
    qchars = set(head.lower())
    qcore = lf.head_core(head) if head else ""
    mean_idf = float(np.mean(list(idf.values()))) if idf else 1.0
    qn = float(np.sqrt(sum(w * w for w in idf.values()))) or 1.0
    out = []
    for d in pool.tolist():
        dchars, dwords, dcore = _doc_head(docs[d])
        hit = {t: weight[t].get(d, 0.0) for t in terms}
        total = sum(idf.values())
        head_total = sum(idf[t] for t in head_terms)
        coverage = sum(idf[t] for t in terms if hit[t] > 0) / total if total > 0 else 0.0
        cov_head = (
            sum(idf[t] for t in head_terms if hit[t] > 0) / head_total
            if head_total > 0
            else coverage
        )
        full_row, head_row = side.full[d], side.head[d]
        common = len(qchars & dchars)
        total_w = sum(idf.get(w, mean_idf) for w in dwords)
        matched = sum(idf[w] for w in dwords if w in idf)
        bm25_all = sum(hit.values())
        vec = index.vector_rows([d])[0]
        row = {
            "dense": float(vec @ qvec),
            "bm25_qhead": sum(hit[t] for t in head_terms),
            "coverage": coverage,
            "coverage_qhead": cov_head,
            "char_full": _dot(full_row, qfull),
            "char_head": _dot(head_row, qhead),
            "char_qhead_full": _dot(full_row, qhead_full),
            "head_contains": common / len(qchars) if qchars and dchars else 0.0,
            "head_contained": common / len(dchars) if qchars and dchars else 0.0,
            "bm25_all": bm25_all,
            "bm25_cos": bm25_all / (max(float(row_norm[d]), 1e-9) * qn),
            "head_word_recall": matched / total_w if total_w > 0 else 0.0,
            "qhead_word_in_head": (
                sum(idf[w] for w in dwords if w in head_terms) / head_total
                if head_total > 0
                else 0.0
            ),
            "char_qfull_head": _dot(head_row, qfull_head),
            "head_match_idf": matched,
            "core_in_query": float(len(dcore) > 1 and dcore in normal.lower()),
            "qcore_in_doc": float(len(qcore) > 1 and qcore in normal_of(docs[d])),
        }
        adapters = stage.adapters
        for c, (_, lo, hi) in enumerate(CHANNELS):
            row[f"dense_ch{c}"] = _cos(qvec[lo:hi], vec[lo:hi])
            qpart = qvec[lo:hi] @ adapters[c] if adapters[c] is not None else qvec[lo:hi]
            row[f"adapted_ch{c}"] = _cos(qpart, vec[lo:hi])
        out.append(row)
    return out, normal


@functools.cache
def normal_of(text: str) -> str:
    return normalize(text).lower()


@functools.cache
def _doc_head(text: str) -> tuple[set[str], set[str], str]:
    head = lf.split_head(text)[0]
    return set(head.lower()), set(tokenize(head)), lf.head_core(head)


def _word_reference(words, text: str, tokens, pool):  # type: ignore[no-untyped-def]
    """The v3 word columns candidate by candidate: row dots with the query's TF-IDF vectors
    and sums of the per-field BM25 weights of its distinct words."""
    head_tokens = sorted(set(tokenize(lf.split_head(text)[0]))) if lf.split_head(text)[0] else []

    def tfidf(toks):  # type: ignore[no-untyped-def]
        q = np.zeros(len(words.vocab))
        for t, c in Counter(t for t in toks if t in words.vocab).items():
            q[words.vocab[t]] = (1.0 + np.log(c)) * words.idf[words.vocab[t]]
        return q / max(np.linalg.norm(q), 1e-12)

    def distinct(toks):  # type: ignore[no-untyped-def]
        q = np.zeros(len(words.vocab))
        q[[words.vocab[t] for t in set(toks) if t in words.vocab]] = 1.0
        return q

    qv, hv = tfidf(tokens), tfidf(head_tokens)
    qw, hw = distinct(tokens), distinct(head_tokens or tokens)
    out = []
    for d in pool.tolist():
        full, head = words.full[d], words.head[d]
        bh, bb = words.bm25_head[d], words.bm25_body[d]
        out.append(
            [_dot(full, qv), _dot(head, hv), _dot(head, qv), _dot(full, hv)]
            + [_dot(bh, qw), _dot(bb, qw), _dot(bh, hw)]
        )
    return np.array(out)


def _check(served, pools) -> int:  # type: ignore[no-untyped-def]
    index, stage, docs, _, _ = served
    names = ltr.feature_names(len(CHANNELS))
    col = {n: i for i, n in enumerate(names)}
    compared = 0
    for text, qvec, tokens, pool, x in pools:
        words = x[:, len(names) : len(names) + len(WORD_BASE)]  # v3 word columns
        ref_words = _word_reference(stage.words, text, tokens, pool)
        np.testing.assert_allclose(words, ref_words, rtol=2e-5, atol=2e-6)
        compared += int(np.count_nonzero(ref_words.any(0)))
        x = x[:, : len(names)]  # v2 columns
        want, _ = _reference(index, stage, docs, text, qvec, tokens, pool)
        base = lf.base_names(len(CHANNELS))
        for name in base:
            if name == "bm25":  # the hybrid's own BM25 score, passed through
                continue
            ref = np.array([r[name] for r in want], dtype=np.float64)
            np.testing.assert_allclose(x[:, col[name]], ref, rtol=2e-5, atol=2e-6, err_msg=name)
            compared += 1
            v = x[:, col[name]].astype(np.float64)
            np.testing.assert_allclose(x[:, col[f"{name}_gap"]], v - v.max(), atol=2e-6)
            sd = v.std()
            z = (v - v.mean()) / sd if sd > 1e-9 else np.zeros_like(v)
            np.testing.assert_allclose(x[:, col[f"{name}_z"]], z, rtol=1e-4, atol=2e-4)
            # rank shares: a permutation of 0..1 ordering the values (ties either way)
            rank = x[:, col[f"{name}_rank"]]
            np.testing.assert_allclose(np.sort(rank), np.arange(len(v)) / max(len(v) - 1, 1))
            assert np.all(np.diff(v[np.argsort(rank, kind="stable")]) <= 1e-5), name
        np.testing.assert_allclose(
            x[:, col["doc_log_len"]], np.log1p([len(docs[d]) for d in pool.tolist()]), rtol=1e-6
        )
        np.testing.assert_allclose(x[:, col["query_log_len"]], np.log1p(len(text)), rtol=1e-6)
        np.testing.assert_allclose(x[:, col["query_cjk"]], cjk_share(text), rtol=1e-6)
        np.testing.assert_allclose(x[:, col["pool_size"]], np.log1p(len(pool)), rtol=1e-6)
    return compared


def test_served_features_equal_the_reference(served) -> None:  # type: ignore[no-untyped-def]
    index, stage, _, queries, qvecs = served
    pools = _pools(index, stage, queries, qvecs)
    assert min(len(p[3]) for p in pools) > POOL  # dense ∪ BM25 pools, as served
    assert _check(served, pools[::2]) > 0  # free text against the reference
    # the memoised second ask of each text gave the same matrix as the first
    for (_, _, _, p1, x1), (_, _, _, p2, x2) in zip(pools[::2], pools[1::2], strict=True):
        assert np.array_equal(p1, p2) and np.allclose(x1, x2, atol=1e-6)


def test_row_products_and_no_memo_give_the_same_features(served, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The by-row n-gram product (a catalogue too big for the by-column copy) and a catalogue
    too big for per-document memos read the same values."""
    index, stage, _, queries, qvecs = served
    monkeypatch.setattr(ltr_pool, "CORPUS_MEMO_ROWS", 0)
    monkeypatch.setattr(stage.docs, "full_csc", None)
    monkeypatch.setattr(stage.words, "stacked_csc", None)
    assert _check(served, _pools(index, stage, queries[:5], qvecs[:5])) > 0


def test_a_memoised_text_asked_with_other_tokens_reads_its_own_terms(served) -> None:  # type: ignore[no-untyped-def]
    index, stage, _, queries, qvecs = served
    text, qvec = queries[0], qvecs[0]
    pool = np.arange(20, dtype=np.int64)
    zeros = np.zeros(len(pool))
    stage.forget_queries()
    first = stage.query_input(index, text, qvec, tokenize(text), pool, zeros, zeros)
    fewer = tokenize(text)[:3]
    second = stage.query_input(index, text, qvec, fewer, pool, zeros, zeros)
    assert set(second.term_names) <= set(fewer) and len(second.term_names) < len(first.term_names)
    other = qvec[::-1].copy()  # another vector for the same text: its own cosines
    third = stage.query_input(index, text, other, fewer, pool, zeros, zeros)
    assert not np.allclose(third.channels[0], second.channels[0])


def test_query_grams_are_the_analyzers(served) -> None:  # type: ignore[no-untyped-def]
    """The query side slices char_wb n-grams itself; they are scikit-learn's analyzer's."""
    from collections import Counter

    _, stage, docs, queries, _ = served
    texts = queries + docs[:50] + ["Nursing  Assistant:\tpatient care, 护理 a b", " ", ""]
    for space in stage.docs.spaces:
        assert space.char_wb
        for text in texts:
            normal = normalize(text)
            assert lf._grams(space, normal) == Counter(space.analyzer(normal)), text
