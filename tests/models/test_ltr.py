"""The learned scoring stage's pure parts: field split, features, adapters, training."""

from pathlib import Path

import numpy as np

from models import ltr


def test_split_head_on_benchmark_and_profile_texts() -> None:
    assert ltr.split_head("数控技术: 数控机床 操作")[0] == "数控技术"
    assert ltr.split_head("Chief Executives: Determine policies")[0] == "Chief Executives"
    assert ltr.split_head("华为技术有限公司。软件开发。通信设备")[0] == "华为技术有限公司"
    # no separator near the start: no name, the whole text is the body
    head, body = ltr.split_head("一段没有名字的很长的描述" * 10)
    assert head == "" and body.startswith("一段")


def _query(docs: ltr.DocSide, text: str, n: int) -> ltr.QueryInput:
    rng = np.random.default_rng(0)
    pool = np.arange(n)
    return ltr.QueryInput(
        text=text,
        pool=pool,
        dense=rng.random(n).astype(np.float32),
        channels=[rng.random(n).astype(np.float32)],
        bm25=rng.random(n).astype(np.float32),
        term_hits=np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 1.0]], dtype=np.float32)[:, :n],
        term_idf=np.array([2.0, 1.0], dtype=np.float32),
        head_terms=np.array([True, False]),
        bm25_norm=np.ones(n, dtype=np.float32),
        adapted=[rng.random(n).astype(np.float32)],
        term_names=["数控", "操作"],
    )


def test_features_match_names_and_read_the_texts() -> None:
    docs = ltr.DocSide.build(["数控技术: 数控机床 操作", "护理: 临床 护理", "电子商务: 直播 运营"])
    x = ltr.features(_query(docs, "数控车床操作工: 操作数控机床", 3), docs)
    names = ltr.feature_names(1)
    assert x.shape == (3, len(names))
    col = {n: x[:, i] for i, n in enumerate(names)}
    # the numerically controlled machining major shares most characters with the query
    assert col["char_full"].argmax() == 0 and col["char_head"].argmax() == 0
    assert np.allclose(col["coverage"], [2 / 3, 0.0, 1.0])  # idf-weighted share of terms
    assert col["char_full_gap"].max() == 0.0 and col["char_full_rank"][0] == 0.0
    assert abs(col["dense_z"].mean()) < 1e-5


def test_adapter_pulls_queries_towards_their_documents() -> None:
    rng = np.random.default_rng(1)
    dim = 16
    rot = np.linalg.qr(rng.normal(size=(dim, dim)))[0]
    q = rng.normal(size=(400, dim))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    d = q @ rot  # the relevant document lives in a rotated space
    w = ltr.fit_adapter(q[:300], d[:300], ridge=1.0)
    held_q, held_d = q[300:], d[300:]
    before = np.mean(np.sum(held_q * held_d, axis=1))
    after_v = held_q @ w
    after = np.mean(np.sum(after_v * held_d, axis=1) / np.linalg.norm(after_v, axis=1))
    assert after > 0.9 > before


def test_contrastive_adapter_ranks_held_out_queries_documents_first() -> None:
    """Each query's document sits in a rotated space among 400 others: the adapter, trained on
    300 queries, puts held-out queries' own documents near the top (the identity does not)."""
    rng = np.random.default_rng(3)
    dim = 16
    rot = np.linalg.qr(rng.normal(size=(dim, dim)))[0]
    q = rng.normal(size=(400, dim)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    d = q @ rot
    pairs = np.stack([np.arange(300), np.arange(300)], axis=1)
    w = ltr.fit_adapter_contrastive([(q, d, pairs)], steps=150, learning_rate=0.05)

    def hit_rate(adapter: np.ndarray) -> float:
        s = q[300:] @ adapter @ d.T
        return float(np.mean(np.argmax(s, axis=1) == np.arange(300, 400)))

    assert hit_rate(w) > 0.8 > 0.2 > hit_rate(np.eye(dim, dtype=np.float32))


def test_lambdarank_beats_each_single_feature_and_round_trips(tmp_path: Path) -> None:
    """Relevance needs two features together: the model must combine them."""
    rng = np.random.default_rng(2)
    blocks = []
    for _ in range(120):
        x = rng.random((30, 3)).astype(np.float32)
        y = ((x[:, 0] > 0.6) & (x[:, 1] > 0.6)).astype(np.float32)
        blocks.append((x, y))
    names = ["a", "b", "noise"]
    model = ltr.train(blocks[:80], names, {"min_data_in_leaf": 5, "num_threads": 1}, rounds=40)

    def ndcg(score: np.ndarray, y: np.ndarray) -> float:
        top = y[np.argsort(-score)][:10]
        ideal = np.sort(y)[::-1][:10]
        disc = 1 / np.log2(np.arange(2, 12))
        return float((top * disc).sum() / max((ideal * disc).sum(), 1e-9))

    held = [b for b in blocks[80:] if b[1].max() > 0]
    learned = np.mean([ndcg(model.score(x), y) for x, y in held])
    singles = [np.mean([ndcg(x[:, i], y) for x, y in held]) for i in range(3)]
    assert learned > max(singles) + 0.05, (learned, singles)
    model.adapters = [np.eye(4, dtype=np.float32)]
    ltr.save(model, {"version": "t"}, tmp_path)
    again = ltr.load(tmp_path / "ltr.json")
    assert again is not None and again.feature_names == names
    assert np.allclose(again.score(held[0][0]), model.score(held[0][0]))
