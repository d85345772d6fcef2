"""The pairing plan's problem and answer types (see models/planner.py for the model itself),
and `violations`, which scores any set of pairs against the problem's quotas and capacities."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

# Constraint kinds named in infeasibility reports (the service turns them into Chinese).
INDUSTRY_MIN = "industry_min_schools"
INDUSTRY_MAX = "industry_max_schools"
SCHOOL_MIN = "school_min_industries"
SCHOOL_MAX = "school_max_industries"
FIT_SCALE = 10_000  # CP-SAT needs integers: fits in units of 1e-4


@dataclass(frozen=True)
class Candidate:
    school: int
    programme: int  # the programme that carries the pair (its capacity is used)
    enterprise: int
    industry: str  # the leading industry (GB/T 4754 division) the pair serves
    fit: float  # the ranker's score of the school–enterprise pair


@dataclass(frozen=True)
class Quotas:
    schools_per_industry: tuple[int, int] = (5, 10)
    industries_per_school: tuple[int, int] = (2, 3)
    max_new_pairs_per_school_industry: int = 2
    industry_weight: float = 0.5  # scale of the school–industry term


@dataclass
class Problem:
    schools: list[int]
    industries: list[str]
    candidates: list[Candidate]
    quotas: Quotas = field(default_factory=Quotas)
    served: dict[int, frozenset[str]] = field(default_factory=dict)  # existing, leading only
    programme_left: dict[int, int] = field(default_factory=dict)  # missing → unlimited
    enterprise_left: dict[int, int] = field(default_factory=dict)  # missing → unlimited
    # resource (mentor seats, practice-base slots) → (used per new pair, left per enterprise)
    seats: dict[str, tuple[int, dict[int, int]]] = field(default_factory=dict)
    industry_value: dict[tuple[int, str], float] = field(default_factory=dict)  # in [0, 1]

    def existing_schools(self, industry: str) -> int:
        return sum(1 for s in self.schools if industry in self.served.get(s, frozenset()))


@dataclass(frozen=True)
class Shortfall:
    kind: str  # INDUSTRY_MIN / INDUSTRY_MAX / SCHOOL_MIN / SCHOOL_MAX
    subject: str  # industry code or school id (as text)
    required: int  # the bound
    reachable: int  # what the best plan reaches
    eligible: int | None = None  # schools (or industries) that could count at all

    @property
    def amount(self) -> int:
        return abs(self.required - self.reachable)


@dataclass
class Solution:
    status: str  # "optimal" | "feasible" (time limit) | "infeasible"
    chosen: list[Candidate]
    objective: float
    dual_bound: float
    runtime_s: float
    solver: str
    shortfalls: list[Shortfall] = field(default_factory=list)
    new_industries: dict[int, set[str]] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        if not self.chosen and self.objective == 0:
            return 0.0
        return max(0.0, (self.dual_bound - self.objective) / max(abs(self.objective), 1e-9))

    @property
    def fit(self) -> float:
        return float(sum(c.fit for c in self.chosen))


# --------------------------------------------------------------------------- checking
def violations(p: Problem, chosen: list[Candidate]) -> dict[str, int]:
    """Every quota and capacity a set of pairs breaks, in units (0 everywhere = a valid plan).
    Used by the tests and by the benchmark to score the baselines the same way."""
    q = p.quotas
    lead = set(p.industries)
    out: dict[str, int] = defaultdict(int)
    pairs = [(c.school, c.enterprise) for c in chosen]
    out["duplicate_pairs"] = len(pairs) - len(set(pairs))
    served = {s: set(p.served.get(s, frozenset()) & lead) for s in p.schools}
    per_si: dict[tuple[int, str], int] = defaultdict(int)
    per_prog: dict[int, int] = defaultdict(int)
    per_ent: dict[int, int] = defaultdict(int)
    for cand in chosen:
        served.setdefault(cand.school, set()).add(cand.industry)
        per_si[(cand.school, cand.industry)] += 1
        per_prog[cand.programme] += 1
        per_ent[cand.enterprise] += 1
    lo, hi = q.industries_per_school
    for s in p.schools:
        out[SCHOOL_MIN] += max(0, lo - len(served[s]))
        out[SCHOOL_MAX] += max(0, len(served[s]) - hi)
    lo, hi = q.schools_per_industry
    for i in p.industries:
        n = sum(1 for s in p.schools if i in served[s])
        out[INDUSTRY_MIN] += max(0, lo - n)
        out[INDUSTRY_MAX] += max(0, n - hi)
    cap = q.max_new_pairs_per_school_industry
    out["pairs_per_school_industry"] = sum(max(0, n - cap) for n in per_si.values())
    out["programme_capacity"] = sum(
        max(0, n - p.programme_left[g]) for g, n in per_prog.items() if g in p.programme_left
    )
    out["enterprise_limit"] = sum(
        max(0, n - p.enterprise_left[e]) for e, n in per_ent.items() if e in p.enterprise_left
    )
    for name, (per_pair, left) in p.seats.items():
        out[f"seats:{name}"] = sum(
            max(0, per_pair * n - left[e]) for e, n in per_ent.items() if e in left
        )
    return dict(out)
