"""The planning MIP on generated instances: quotas and capacities hold, optimality is exact,
infeasible requests name the right quotas and shortfalls."""

from __future__ import annotations

import itertools
import random

import pytest

from models import planner as P
from models.planner_baselines import blocking_pairs, deferred_acceptance, greedy_top_k


def instance(
    seed: int, schools: int = 24, industries: int = 8, enterprises: int = 300
) -> P.Problem:
    rng = random.Random(seed)
    codes = [f"{30 + i}" for i in range(industries)]
    cands: list[P.Candidate] = []
    left: dict[int, int] = {}
    served: dict[int, frozenset[str]] = {}
    for s in range(schools):
        mine = rng.sample(codes, rng.randint(2, 4))
        for n, code in enumerate(mine):
            prog = s * 10 + n
            left[prog] = rng.randint(1, 3)
            for e in rng.sample(range(enterprises), 12):
                cands.append(P.Candidate(s, prog, e, code, round(rng.random(), 4)))
        if rng.random() < 0.25:
            served[s] = frozenset(mine[:1])
    return P.Problem(
        schools=list(range(schools)),
        industries=codes,
        candidates=cands,
        quotas=P.Quotas(schools_per_industry=(3, 8), industries_per_school=(2, 3)),
        served=served,
        programme_left=left,
        enterprise_left={e: rng.randint(1, 2) for e in range(enterprises)},
        seats={"mentor": (1, {e: rng.randint(0, 2) for e in range(enterprises)})},
        industry_value={(c.school, c.industry): 0.5 for c in cands},
    )


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_every_quota_and_capacity_holds(seed: int) -> None:
    p = instance(seed)
    sol = P.solve(p)
    assert sol.status == "optimal", sol.shortfalls
    assert sol.gap < 1e-6
    assert all(v == 0 for v in P.violations(p, sol.chosen).values()), P.violations(p, sol.chosen)
    pairs = [(c.school, c.enterprise) for c in sol.chosen]
    assert len(pairs) == len(set(pairs))
    assert set(sol.chosen) <= set(p.candidates)  # nothing outside the guarded candidates


def test_existing_industries_count_toward_the_school_maximum() -> None:
    p = instance(5)
    school = p.schools[0]
    p.served[school] = frozenset(p.industries[:3])  # already at the maximum of 3
    sol = P.solve(p)
    assert sol.status == "optimal"
    assert all(c.industry in p.industries[:3] for c in sol.chosen if c.school == school)
    assert not sol.new_industries.get(school)


def test_cpsat_and_highs_agree() -> None:
    pytest.importorskip("ortools")
    p = instance(6, schools=14, industries=6, enterprises=150)
    a, b = P.solve(p, solver="highs"), P.solve(p, solver="cpsat")
    assert a.status == b.status == "optimal"
    assert abs(a.objective - b.objective) < 1e-3  # CP-SAT rounds fits to 1e-4


def test_optimum_matches_exhaustive_search() -> None:
    rng = random.Random(9)
    cands = [
        P.Candidate(s, s * 10 + n, e, code, round(rng.random(), 3))
        for s in range(3)
        for n, code in enumerate(["34", "39"])
        for e in rng.sample(range(6), 2)
    ]
    p = P.Problem(
        schools=[0, 1, 2],
        industries=["34", "39"],
        candidates=cands,
        quotas=P.Quotas(schools_per_industry=(1, 2), industries_per_school=(1, 1)),
        programme_left={c.programme: 1 for c in cands},
        enterprise_left={e: 1 for e in range(6)},
        industry_value={(c.school, c.industry): 1.0 for c in cands},
    )
    best = -1.0
    for bits in itertools.product([0, 1], repeat=len(cands)):
        pick = [c for c, b in zip(cands, bits, strict=True) if b]
        if any(P.violations(p, pick).values()):
            continue
        new = {(c.school, c.industry) for c in pick}
        best = max(best, sum(c.fit for c in pick) + 0.5 * len(new))
    sol = P.solve(p)
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(best, abs=1e-9)


def test_too_few_eligible_schools_is_named_with_its_shortfall() -> None:
    p = instance(7)
    target = p.industries[0]
    keep = sorted({c.school for c in p.candidates if c.industry == target})[:3]
    p.candidates = [c for c in p.candidates if c.industry != target or c.school in keep]
    p.served = {s: v - {target} for s, v in p.served.items()}
    p.quotas = P.Quotas(schools_per_industry=(5, 8), industries_per_school=(1, 3))
    sol = P.solve(p, allow_shortfall=True)
    assert sol.status == "infeasible"
    found = [s for s in sol.shortfalls if s.kind == P.INDUSTRY_MIN and s.subject == target]
    assert found and found[0].eligible == 3 and found[0].required == 5
    assert found[0].reachable == 3 and found[0].amount == 2
    others = [s for s in sol.shortfalls if s.subject != target]
    assert not others, others  # nothing else is short
    # the best plan within the shortfall breaks nothing else
    v = P.violations(p, sol.chosen)
    assert v[P.INDUSTRY_MIN] == 2 and sum(v.values()) == 2


def test_existing_partnerships_past_a_maximum_are_reported() -> None:
    p = instance(8)
    target = p.industries[1]
    for s in p.schools[:9]:  # 9 schools already serve it; the maximum is 8
        p.served[s] = p.served.get(s, frozenset()) | {target}
    have = p.existing_schools(target)
    assert have >= 9
    sol = P.solve(p)
    assert sol.status == "infeasible"
    over = [s for s in sol.shortfalls if s.kind == P.INDUSTRY_MAX and s.subject == target]
    assert over and over[0].reachable == have and over[0].amount == have - 8


def test_baselines_respect_capacity_and_are_scored_alike() -> None:
    p = instance(2)
    for chosen in (greedy_top_k(p), deferred_acceptance(p)):
        v = P.violations(p, chosen)
        assert v["programme_capacity"] == v["enterprise_limit"] == v["duplicate_pairs"] == 0
        assert v["seats:mentor"] == 0
        assert blocking_pairs(p, chosen) >= 0
    assert blocking_pairs(p, deferred_acceptance(p)) == 0  # stable by construction


def test_cpsat_plan_within_the_shortfall_breaks_nothing_else() -> None:
    pytest.importorskip("ortools")
    p = instance(7, schools=14, industries=6, enterprises=150)
    target = p.industries[0]
    keep = sorted({c.school for c in p.candidates if c.industry == target})[:2]
    p.candidates = [c for c in p.candidates if c.industry != target or c.school in keep]
    p.served = {s: v - {target} for s, v in p.served.items()}
    p.quotas = P.Quotas(schools_per_industry=(3, 8), industries_per_school=(1, 3))
    sol = P.solve(p, solver="cpsat", allow_shortfall=True, time_limit_s=20)
    floor = sum(s.amount for s in sol.shortfalls)
    assert floor >= 1
    assert sum(P.violations(p, sol.chosen).values()) == floor
