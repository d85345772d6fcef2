"""The learned stage's v2 features: vectorised per-query normalisation, name containment, the
whole query against document names."""

import numpy as np

from models import ltr_features as lf


def test_per_query_matches_the_column_by_column_definition() -> None:
    rng = np.random.default_rng(0)
    base = rng.random((7, 3)).astype(np.float32)
    base[:, 2] = 0.5  # a constant column: z is 0, gap 0, ranks in pool order
    out = lf.per_query(base)
    assert out.shape == (7, 9)
    for j in range(3):
        x = base[:, j]
        sd = x.std()
        z = (x - x.mean()) / sd if sd > 1e-9 else np.zeros_like(x)
        rank = np.empty(7, np.float32)
        rank[np.argsort(-x, kind="stable")] = np.arange(7) / 6
        assert np.allclose(out[:, 3 * j], z, atol=1e-5)
        assert np.allclose(out[:, 3 * j + 1], x - x.max())
        assert np.allclose(out[:, 3 * j + 2], rank)
    assert lf.per_query(np.zeros((0, 3), np.float32)).shape == (0, 9)


def _input(text: str, n: int) -> lf.QueryInput:
    zeros = np.zeros(n, dtype=np.float32)
    return lf.QueryInput(
        text=text,
        pool=np.arange(n),
        dense=zeros,
        channels=[zeros],
        bm25=zeros,
        term_hits=np.zeros((0, n), dtype=np.float32),
        term_idf=np.zeros(0, dtype=np.float32),
        head_terms=np.zeros(0, dtype=bool),
        bm25_norm=np.ones(n, dtype=np.float32),
        adapted=[zeros],
        term_names=[],
    )


def test_names_found_verbatim_and_the_whole_query_against_names() -> None:
    docs = lf.DocSide.build(
        [
            "现代种业技术（职教本科）: 种子生产 育种",
            "护理: 临床护理 健康照护",
            "数控技术: 数控机床 编程",
        ]
    )
    assert docs.cores[0] == "现代种业技术"  # the bracketed qualifier is not part of the name
    text = "农作物种子繁育员: 从事现代种业技术相关的种子生产, 需要数控"
    x = lf.features(_input(text, 3), docs)
    col = {n: x[:, i] for i, n in enumerate(lf.feature_names(1))}
    assert col["core_in_query"].tolist() == [1.0, 0.0, 0.0]
    assert col["qcore_in_doc"].tolist() == [0.0, 0.0, 0.0]
    assert col["char_qfull_head"].argmax() == 0
    assert col["char_qfull_head"][1] < col["char_qfull_head"][2]  # 护理 shares only padding
    # a document added after the document side was fitted reads as absent, not as row 0
    q = _input(text, 2)
    q.pool = np.array([0, 7])
    x = lf.features(q, docs)
    col = {n: x[:, i] for i, n in enumerate(lf.feature_names(1))}
    assert col["core_in_query"].tolist() == [1.0, 0.0]
    assert col["char_qfull_head"][1] == 0.0


def test_query_name_found_in_the_document() -> None:
    docs = lf.DocSide.build(["护理: 培养护士, 从事临床护理工作", "数控技术: 数控机床 编程"])
    x = lf.features(_input("护士: 从事护理工作", 2), docs)
    col = {n: x[:, i] for i, n in enumerate(lf.feature_names(1))}
    assert col["qcore_in_doc"].tolist() == [1.0, 0.0]
