"""Solving a pairing plan (HiGHS, or CP-SAT on request) and, when it is infeasible, the
smallest shortfalls (the elastic model)."""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np
from scipy.optimize import Bounds, milp

from models.planner_model import _build, _matrix, _Model
from models.planner_problem import (
    FIT_SCALE,
    INDUSTRY_MAX,
    INDUSTRY_MIN,
    SCHOOL_MAX,
    SCHOOL_MIN,
    Candidate,
    Problem,
    Shortfall,
    Solution,
)


# --------------------------------------------------------------------------- solving
def solve(
    p: Problem,
    *,
    solver: str = "highs",
    time_limit_s: float = 60.0,
    allow_shortfall: bool = False,
    relax: bool = False,
) -> Solution:
    """The plan of greatest total fit that meets every quota and capacity.

    Infeasible: status "infeasible" with the smallest shortfalls; with `allow_shortfall` the best
    plan within those shortfalls is returned as well. `relax` solves the LP relaxation (an upper
    bound, used to bound what candidate pruning can cost)."""
    t0 = time.perf_counter()
    pre = obvious_shortfalls(p)
    if not pre:
        sol = _run(p, _build(p, elastic=False), solver, time_limit_s, relax)
        if sol is not None:
            sol.runtime_s = time.perf_counter() - t0
            return sol
    short = shortfalls(p, solver=solver, time_limit_s=time_limit_s)
    chosen: list[Candidate] = []
    objective = bound = 0.0
    new: dict[int, set[str]] = {}
    if allow_shortfall:
        best = _run(p, _build(p, elastic=True), solver, time_limit_s, relax, fixed_slack=short)
        if best is not None:
            chosen, objective, bound, new = (
                best.chosen,
                best.objective,
                best.dual_bound,
                best.new_industries,
            )
    return Solution(
        "infeasible",
        chosen,
        objective,
        bound,
        time.perf_counter() - t0,
        solver,
        shortfalls=_merge(pre, short),
        new_industries=new,
    )


def _run(
    p: Problem,
    m: _Model,
    solver: str,
    time_limit_s: float,
    relax: bool,
    fixed_slack: list[Shortfall] | None = None,
) -> Solution | None:
    upper = m.upper.copy()
    if fixed_slack is not None:  # allow exactly the minimal shortfalls, no more
        for j in m.slack.values():
            upper[j] = 0.0
        for s in fixed_slack:
            if (s.kind, s.subject) in m.slack:
                upper[m.slack[(s.kind, s.subject)]] = float(s.amount)
    if solver == "cpsat":
        return _run_cpsat(p, m, upper, time_limit_s)
    t0 = time.perf_counter()
    res = milp(
        m.c,
        constraints=[_matrix(m)],
        integrality=np.zeros_like(m.integrality) if relax else m.integrality,
        bounds=Bounds(np.zeros_like(upper), upper),
        options={"time_limit": time_limit_s, "mip_rel_gap": 1e-9, "presolve": True},
    )
    if res.x is None:
        return None  # infeasible (status 2) or no solution found within the time limit
    x = res.x
    objective = -float(res.fun)
    bound = -float(getattr(res, "mip_dual_bound", res.fun) or res.fun)
    status = "optimal" if res.status == 0 else "feasible"
    return _solution(p, m, x, objective, max(bound, objective), status, "highs", t0)


def _solution(
    p: Problem,
    m: _Model,
    x: np.ndarray,
    objective: float,
    bound: float,
    status: str,
    solver: str,
    t0: float,
) -> Solution:
    chosen = [cand for k, cand in enumerate(p.candidates) if x[k] > 0.5]
    new: dict[int, set[str]] = defaultdict(set)
    for (s, i), j in m.y_index.items():
        if x[j] > 0.5:
            new[s].add(i)
    return Solution(
        status, chosen, objective, bound, time.perf_counter() - t0, solver, new_industries=new
    )


def _run_cpsat(p: Problem, m: _Model, upper: np.ndarray, time_limit_s: float) -> Solution | None:
    from ortools.sat.python import cp_model

    t0 = time.perf_counter()
    model = cp_model.CpModel()
    big = 10**6
    xs = [
        model.new_bool_var(f"v{j}") if u == 1 else model.new_int_var(0, int(min(u, big)), f"v{j}")
        for j, u in enumerate(upper)
    ]  # an upper bound of 0 (a slack fixed at zero) must stay 0
    for cols, coefs, lb, ub in m.rows:
        expr = cp_model.LinearExpr.weighted_sum([xs[j] for j in cols], [round(a) for a in coefs])
        if np.isfinite(lb):
            model.add(expr >= int(round(lb)))
        if np.isfinite(ub):
            model.add(expr <= int(round(ub)))
    # slack columns carry no cost here: the elastic phase-1 objective is set by `shortfalls`
    weights = [round(-FIT_SCALE * float(v)) for v in m.c]
    model.maximize(cp_model.LinearExpr.weighted_sum(xs, weights))
    cp = cp_model.CpSolver()
    cp.parameters.max_time_in_seconds = time_limit_s
    cp.parameters.num_workers = 1  # the benchmark compares one core against one core
    status = cp.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    x = np.array([cp.value(v) for v in xs], dtype=float)
    objective = float(-(m.c @ x))
    bound = cp.best_objective_bound / FIT_SCALE
    label = "optimal" if status == cp_model.OPTIMAL else "feasible"
    return _solution(p, m, x, objective, max(bound, objective), label, "cpsat", t0)


# --------------------------------------------------------------------------- infeasibility
def eligible_schools(p: Problem) -> dict[str, set[int]]:
    """Industry → schools that could count for it: already serving, or with a candidate."""
    out: dict[str, set[int]] = {i: set() for i in p.industries}
    for s in p.schools:
        for i in p.served.get(s, frozenset()):
            if i in out:
                out[i].add(s)
    for cand in p.candidates:
        if cand.industry in out and p.programme_left.get(cand.programme, 1) > 0:
            out[cand.industry].add(cand.school)
    return out


def eligible_industries(p: Problem) -> dict[int, set[str]]:
    """School → leading industries it could count for: already served, or with a candidate."""
    lead = set(p.industries)
    out: dict[int, set[str]] = {s: set(p.served.get(s, frozenset()) & lead) for s in p.schools}
    for cand in p.candidates:
        if cand.school in out and p.programme_left.get(cand.programme, 1) > 0:
            out[cand.school].add(cand.industry)
    return out


def obvious_shortfalls(p: Problem) -> list[Shortfall]:
    """Shortfalls visible without solving: too few eligible schools for an industry, too few
    eligible industries for a school, or existing partnerships already past a maximum."""
    out: list[Shortfall] = []
    lo_i, hi_i = p.quotas.schools_per_industry
    for i, schools in eligible_schools(p).items():
        if len(schools) < lo_i:
            out.append(Shortfall(INDUSTRY_MIN, i, lo_i, len(schools), len(schools)))
        if p.existing_schools(i) > hi_i:
            out.append(Shortfall(INDUSTRY_MAX, i, hi_i, p.existing_schools(i)))
    lo_s, hi_s = p.quotas.industries_per_school
    lead = set(p.industries)
    inds = eligible_industries(p)
    for s in p.schools:
        have = len(p.served.get(s, frozenset()) & lead)
        if len(inds[s]) < lo_s:
            out.append(Shortfall(SCHOOL_MIN, str(s), lo_s, len(inds[s]), len(inds[s])))
        if have > hi_s:
            out.append(Shortfall(SCHOOL_MAX, str(s), hi_s, have))
    return out


def shortfalls(p: Problem, *, solver: str = "highs", time_limit_s: float = 60.0) -> list[Shortfall]:
    """The smallest total shortfall over all quotas (elastic model, phase 1), per quota.

    Shortfalls are counted in schools (industry quotas) and industries (school quotas); every
    unit weighs the same, so the answer is the fewest quota units that cannot be met."""
    m = _build(p, elastic=True)
    c = np.zeros_like(m.c)
    for j in m.slack.values():
        c[j] = 1.0
    res = milp(
        c,
        constraints=[_matrix(m)],
        integrality=m.integrality,
        bounds=Bounds(np.zeros_like(m.upper), m.upper),
        options={"time_limit": time_limit_s},
    )
    if res.x is None:  # cannot happen: the all-zero plan with slacks is feasible
        return []
    eligible = eligible_schools(p)
    industries = eligible_industries(p)
    out = []
    for (kind, key), j in m.slack.items():
        amount = int(round(res.x[j]))
        if amount <= 0:
            continue
        if kind in (INDUSTRY_MIN, INDUSTRY_MAX):
            lo, hi = p.quotas.schools_per_industry
            required = lo if kind == INDUSTRY_MIN else hi
            reach = required - amount if kind == INDUSTRY_MIN else required + amount
            out.append(Shortfall(kind, key, required, reach, len(eligible.get(key, ()))))
        else:
            lo, hi = p.quotas.industries_per_school
            required = lo if kind == SCHOOL_MIN else hi
            reach = required - amount if kind == SCHOOL_MIN else required + amount
            out.append(Shortfall(kind, key, required, reach, len(industries.get(int(key), ()))))
    return out


def _merge(pre: list[Shortfall], exact: list[Shortfall]) -> list[Shortfall]:
    """The exact (minimal) shortfalls, plus obvious ones the minimum spread elsewhere."""
    seen = {(s.kind, s.subject) for s in exact}
    return exact + [s for s in pre if (s.kind, s.subject) not in seen]
