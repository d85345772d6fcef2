import math

import pytest

from models.metrics import evaluate, mrr_at_k, ndcg_at_k, recall_at_k

QRELS = {"q1": {"a": 1, "b": 1}, "q2": {"c": 2}, "q3": {"x": 0}}
RUN = {"q1": ["a", "z", "b"], "q2": ["z", "y", "c"], "q4": ["a"]}


def test_ndcg_hand_computed() -> None:
    # q1: gains at ranks 1 and 3 → (1 + 1/log2(4)) / (1 + 1/log2(3))
    expected = (1 + 0.5) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(RUN["q1"], QRELS["q1"], 10) == pytest.approx(expected)
    # q2: graded gain 2 at rank 3 → (2/2) / (2/1)
    assert ndcg_at_k(RUN["q2"], QRELS["q2"], 10) == pytest.approx(0.5)
    assert ndcg_at_k(RUN["q2"], QRELS["q2"], 2) == 0.0


def test_recall_and_mrr() -> None:
    assert recall_at_k(RUN["q1"], QRELS["q1"], 1) == 0.5
    assert recall_at_k(RUN["q1"], QRELS["q1"], 3) == 1.0
    assert mrr_at_k(RUN["q2"], QRELS["q2"], 10) == pytest.approx(1 / 3)
    assert mrr_at_k(RUN["q2"], QRELS["q2"], 2) == 0.0


def test_evaluate_skips_unjudged_and_counts_missing_as_zero() -> None:
    m = evaluate(RUN, QRELS)  # q3 has no positive judgement, q4 no qrels: both skipped
    ndcg_q1 = (1 + 0.5) / (1 + 1 / math.log2(3))
    assert m["nDCG@10"] == pytest.approx((ndcg_q1 + 0.5) / 2)
    assert m["Recall@10"] == pytest.approx(1.0)
    assert m["MRR@10"] == pytest.approx((1 + 1 / 3) / 2)
    m2 = evaluate({"q1": ["a", "z", "b"]}, QRELS)  # q2 missing from the run → 0
    assert m2["Recall@100"] == pytest.approx(0.5)
