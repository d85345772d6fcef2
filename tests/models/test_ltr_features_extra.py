"""Word-level features of the learned stage (models/ltr_features_extra.py)."""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from models.ltr_features import feature_names, split_head
from models.ltr_features_extra import WordSide, stage_feature_names, word_names
from models.text import tokenize

DOCS = [
    "软件工程：培养软件设计、开发与测试的专业人才。",
    "会计学：培养财务会计、审计与税务的专业人才。",
    "护理学：培养临床护理与社区护理的专业人才。",
    "Software Engineering: design, build and test software systems.",
]


def _cols(x: np.ndarray) -> dict[str, np.ndarray]:
    return {n: x[:, i] for i, n in enumerate(word_names())}


def test_word_cosine_matches_a_fitted_tfidf_and_names_drive_the_field_bm25() -> None:
    side = WordSide.build(DOCS)
    query = "软件开发工程师：从事软件设计与测试工作。"
    head, _ = split_head(query)
    pool = np.arange(len(DOCS))
    x = side.features(pool, tokenize(query), tokenize(head))
    assert x.shape == (len(DOCS), len(word_names()))
    col = _cols(x)
    # the same arithmetic as sklearn's sublinear TF-IDF over the same words
    vec = TfidfVectorizer(analyzer=lambda t: t, sublinear_tf=True)
    split = [split_head(d) for d in DOCS]
    docs = vec.fit_transform([tokenize(h) + tokenize(b) for h, b in split])
    expected = (docs @ vec.transform([tokenize(query)]).T).toarray().ravel()
    assert np.allclose(col["word_full"], expected, atol=1e-5)
    assert int(np.argmax(col["word_full"])) == 0
    # only the document whose name shares the query's words scores on the name field
    assert col["bm25_dhead"][0] > 0 and np.all(col["bm25_dhead"][1:] == 0)
    assert col["bm25_dbody"][0] > 0
    assert col["word_full_rank"][0] == 0.0  # per-query normalisations follow the base columns


def test_rows_added_after_the_fit_read_zero_and_names_extend_the_stage() -> None:
    side = WordSide.build(DOCS[:2])
    x = side.features(np.array([0, 5]), tokenize("软件设计"), [])
    base = len(word_names()) // 4  # base columns, then three normalisations of each
    assert np.all(x[1, :base] == 0) and x[0, 0] > 0
    assert stage_feature_names(2)[: len(feature_names(2))] == feature_names(2)
    assert stage_feature_names(2)[len(feature_names(2)) :] == word_names()


def test_an_empty_index_and_an_unknown_query_give_zero_rows() -> None:
    assert WordSide.build([]).features(np.zeros(0, np.int64), ["x"], []).shape == (
        0,
        len(word_names()),
    )
    side = WordSide.build(DOCS)
    x = side.features(np.arange(4), ["不存在的词"], [])
    assert np.all(x[:, : len(word_names()) // 4] == 0)
