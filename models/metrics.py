"""Ranking metrics in the BEIR / trec_eval form: nDCG@k, Recall@k, MRR@k.

``run`` maps query id → ranked list of document ids (best first); ``qrels`` maps query id →
{document id: graded relevance}. Queries absent from the qrels (or with no positive judgement)
are skipped; queries in the qrels but missing from the run score 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

Run = Mapping[str, Sequence[str]]
Qrels = Mapping[str, Mapping[str, int]]


def ndcg_at_k(ranked: Sequence[str], rels: Mapping[str, int], k: int) -> float:
    """nDCG@k with linear gains ``rel / log2(rank + 1)`` (trec_eval's ``ndcg_cut``)."""
    dcg = sum(rels.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted((r for r in rels.values() if r > 0), reverse=True)[:k]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k(ranked: Sequence[str], rels: Mapping[str, int], k: int) -> float:
    """Share of the relevant documents found in the top ``k``."""
    relevant = {d for d, r in rels.items() if r > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranked[:k])) / len(relevant)


def mrr_at_k(ranked: Sequence[str], rels: Mapping[str, int], k: int) -> float:
    """Reciprocal rank of the first relevant document within the top ``k`` (else 0)."""
    for i, d in enumerate(ranked[:k]):
        if rels.get(d, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def evaluate(run: Run, qrels: Qrels) -> dict[str, float]:
    """Mean nDCG@10, Recall@10, Recall@100 and MRR@10 over the judged queries."""
    judged = [q for q, rels in qrels.items() if any(r > 0 for r in rels.values())]
    totals = {"nDCG@10": 0.0, "Recall@10": 0.0, "Recall@100": 0.0, "MRR@10": 0.0}
    for q in judged:
        ranked = run.get(q, ())
        rels = qrels[q]
        totals["nDCG@10"] += ndcg_at_k(ranked, rels, 10)
        totals["Recall@10"] += recall_at_k(ranked, rels, 10)
        totals["Recall@100"] += recall_at_k(ranked, rels, 100)
        totals["MRR@10"] += mrr_at_k(ranked, rels, 10)
    n = max(len(judged), 1)
    return {name: value / n for name, value in totals.items()}


def per_query_ndcg(run: Run, qrels: Qrels, k: int = 10) -> dict[str, float]:
    """nDCG@k of each judged query (for cross-validation and significance checks)."""
    return {
        q: ndcg_at_k(run.get(q, ()), rels, k)
        for q, rels in qrels.items()
        if any(r > 0 for r in rels.values())
    }
