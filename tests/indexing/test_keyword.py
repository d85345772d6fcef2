import pytest

from indexing.keyword import KeywordIndex
from models.text import tokenize

DOCS = {1: "数控技术 数控机床操作", 2: "电子商务 网络营销", 3: "软件技术 Python 开发"}


def test_delta_scored_on_main_scale() -> None:
    k = KeywordIndex()
    k.build(list(DOCS), [tokenize(t) for t in DOCS.values()])
    q = tokenize("数控机床 Python")
    main = k.score_ids(q, [1, 3])
    # the explicit Lucene formula used for delta documents reproduces bm25s's scores
    assert k._score_tokens(q, tokenize(DOCS[1])) == pytest.approx(float(main[0]), rel=1e-5)
    assert k._score_tokens(q, tokenize(DOCS[3])) == pytest.approx(float(main[1]), rel=1e-5)
    k.upsert([1], [tokenize(DOCS[1])])  # re-adding the same text keeps the same score
    assert k.score_ids(q, [1])[0] == pytest.approx(float(main[0]), rel=1e-5)
    assert k.matched_terms(q, 3) == ["python"]
