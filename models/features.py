"""Ranking features for a (subject, candidate) pair. Pure: inputs are plain values."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from models.graph import industry_division

FEATURE_NAMES: tuple[str, ...] = (
    "dense",  # cosine similarity of the query and candidate profile embeddings
    "bm25",  # BM25 score, divided by the best score among the candidates
    "fused",  # reciprocal-rank-fusion score, scaled to [0, 1]
    "industry_match",  # share of the candidate's industries the subject serves (division level)
    "major_fit",  # catalogue prior: the subject's majors map onto the candidate's industries
    "same_city",  # 1 when both are in the same city
    "proximity",  # exp(-distance_km / 100)
    "capacity_left",  # remaining capacity / slots of the capacity-bound party, squashed to [0, 1)
    "kind_fit",  # school kind vs need kind (talent → vocational, technology → universities)
    "peer_partners",  # log1p(#schools of the candidate that work with the subject's partners)
    "load",  # log1p(current partnerships of the candidate): over-concentration
)

# Which school kinds suit which need kinds (seed 000/004: universities for R&D, vocational
# schools for skilled talent and training).
_KIND_FIT: dict[str, dict[str, float]] = {
    "talent": {
        "高职专科": 1.0,
        "中职": 1.0,
        "职教本科": 1.0,
        "本科": 0.6,
        "双一流": 0.4,
        "中学": 0.0,
    },
    "technology": {
        "双一流": 1.0,
        "本科": 0.9,
        "职教本科": 0.6,
        "高职专科": 0.4,
        "中职": 0.1,
        "中学": 0.0,
    },
    "training": {
        "高职专科": 1.0,
        "中职": 1.0,
        "职教本科": 0.9,
        "本科": 0.7,
        "双一流": 0.5,
        "中学": 0.1,
    },
    "practice_base": {
        "高职专科": 1.0,
        "中职": 1.0,
        "职教本科": 1.0,
        "本科": 0.8,
        "双一流": 0.7,
        "中学": 0.2,
    },
    "mentor": {
        "双一流": 1.0,
        "本科": 1.0,
        "职教本科": 0.8,
        "高职专科": 0.7,
        "中职": 0.5,
        "中学": 0.5,
    },
}


def divisions(codes: Iterable[str]) -> set[str]:
    return {d for d in (industry_division(c) for c in codes) if d}


def industry_overlap(subject: Iterable[str], candidate: Iterable[str]) -> tuple[float, list[str]]:
    """Share of the candidate's industry divisions the subject also has, and the shared ones.
    Codes of any depth (C3411, 3411, 34) or divisions already extracted."""
    s = subject if isinstance(subject, (set, frozenset)) else divisions(subject)
    c = divisions(candidate)
    if not s or not c:
        return 0.0, []
    shared = sorted(s & c)
    return len(shared) / len(c), shared


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, a)))


def proximity(distance_km: float | None) -> float:
    return 0.0 if distance_km is None else math.exp(-distance_km / 100.0)


def kind_fit(school_kind: str | None, need_kinds: Iterable[str]) -> float:
    kinds = list(need_kinds)
    if not school_kind or not kinds:
        return 0.5
    return max(_KIND_FIT.get(k, {}).get(school_kind, 0.5) for k in kinds)


def capacity_score(left: int | None) -> float:
    if left is None:
        return 0.5
    return 1.0 - math.exp(-max(left, 0) / 3.0)


@dataclass
class PairFeatures:
    values: dict[str, float]

    def vector(self) -> list[float]:
        return [float(self.values.get(name, 0.0)) for name in FEATURE_NAMES]
