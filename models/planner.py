"""Region-wide pairing plans as an exact mixed-integer programme (seed 004 三、(三)).

Every leading industry must be served by `schools_per_industry` schools and every school must
serve `industries_per_school` leading industries; programmes, enterprises, mentors and practice
bases have limited places; what already exists counts toward all of it. A plan chooses
school–enterprise pairs (each carried by one of the school's programmes) maximising

    Σ fit(pair) · x_pair  +  Σ value(school, industry) · y_school,industry

where fit is the ranker's score of the pair and y says the school newly takes up the industry.
Pure: plain numbers in, plain numbers out; the service builds the problem from the database.

Solved with HiGHS (scipy.optimize.milp); `solver="cpsat"` builds the same model for OR-Tools
CP-SAT (integer coefficients, fits scaled by FIT_SCALE) — see docs/notes/issue-13.md for the
measurement that chose HiGHS. An infeasible request is answered by an elastic model whose
slacks are the smallest shortfalls (see `shortfalls`).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

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


# --------------------------------------------------------------------------- the model
@dataclass
class _Model:
    """Variables: x (one per candidate), y (one per school–industry not yet served that has a
    candidate), then, in the elastic model, four slacks per school and per industry."""

    c: np.ndarray
    integrality: np.ndarray
    upper: np.ndarray
    rows: list[tuple[list[int], list[float], float, float]]
    y_index: dict[tuple[int, str], int]
    slack: dict[tuple[str, str], int]


def _build(p: Problem, *, elastic: bool) -> _Model:
    q = p.quotas
    n_x = len(p.candidates)
    by_si: dict[tuple[int, str], list[int]] = defaultdict(list)
    by_prog: dict[int, list[int]] = defaultdict(list)
    by_pair: dict[tuple[int, int], list[int]] = defaultdict(list)
    by_ent: dict[int, list[int]] = defaultdict(list)
    for k, cand in enumerate(p.candidates):
        by_si[(cand.school, cand.industry)].append(k)
        by_prog[cand.programme].append(k)
        by_pair[(cand.school, cand.enterprise)].append(k)
        by_ent[cand.enterprise].append(k)
    y_index: dict[tuple[int, str], int] = {}
    for si in by_si:
        if si[1] not in p.served.get(si[0], frozenset()):
            y_index[si] = n_x + len(y_index)
    n = n_x + len(y_index)
    slack: dict[tuple[str, str], int] = {}
    if elastic:
        for s in p.schools:
            for kind in (SCHOOL_MIN, SCHOOL_MAX):
                slack[(kind, str(s))] = n + len(slack)
        for i in p.industries:
            for kind in (INDUSTRY_MIN, INDUSTRY_MAX):
                slack[(kind, i)] = n + len(slack)
    n += len(slack)
    c = np.zeros(n)
    for k, cand in enumerate(p.candidates):
        c[k] = -cand.fit
    for si, j in y_index.items():
        c[j] = -q.industry_weight * p.industry_value.get(si, 0.0)
    upper = np.ones(n)
    integrality = np.ones(n)
    for j in slack.values():
        upper[j] = np.inf
        integrality[j] = 0  # integral anyway at an optimum (the rest of the row is integral)
    rows: list[tuple[list[int], list[float], float, float]] = []
    inf = np.inf
    cap = q.max_new_pairs_per_school_industry
    for si, ks in by_si.items():
        yj = y_index.get(si)
        if yj is None:  # already served: only the pair cap
            rows.append((ks, [1.0] * len(ks), -inf, float(cap)))
        else:  # pairs only under a taken-up industry, which needs a pair to count
            rows.append((ks + [yj], [1.0] * len(ks) + [-float(cap)], -inf, 0.0))
            rows.append((ks + [yj], [1.0] * len(ks) + [-1.0], 0.0, inf))
            if len(ks) > 1:  # the aggregated row alone is weak in the relaxation
                for k in ks:
                    rows.append(([k, yj], [1.0, -1.0], -inf, 0.0))
    ys_of_school: dict[int, list[int]] = defaultdict(list)
    ys_of_industry: dict[str, list[int]] = defaultdict(list)
    for (s, i), j in y_index.items():
        ys_of_school[s].append(j)
        ys_of_industry[i].append(j)
    lead = set(p.industries)
    lo, hi = q.industries_per_school
    for s in p.schools:
        have = len(p.served.get(s, frozenset()) & lead)
        _bounded(rows, ys_of_school.get(s, []), lo - have, hi - have, slack, SCHOOL_MIN,
                 SCHOOL_MAX, str(s))  # fmt: skip
    lo, hi = q.schools_per_industry
    for i in p.industries:
        have = p.existing_schools(i)
        _bounded(rows, ys_of_industry.get(i, []), lo - have, hi - have, slack, INDUSTRY_MIN,
                 INDUSTRY_MAX, i)  # fmt: skip
    for prog, ks in by_prog.items():
        if prog in p.programme_left:
            rows.append((ks, [1.0] * len(ks), -inf, float(max(0, p.programme_left[prog]))))
    for ks in by_pair.values():
        if len(ks) > 1:
            rows.append((ks, [1.0] * len(ks), -inf, 1.0))
    for e, ks in by_ent.items():
        if e in p.enterprise_left:
            rows.append((ks, [1.0] * len(ks), -inf, float(max(0, p.enterprise_left[e]))))
        for per_pair, left in p.seats.values():
            if per_pair > 0 and e in left:
                rows.append((ks, [float(per_pair)] * len(ks), -inf, float(max(0, left[e]))))
    return _Model(c, integrality, upper, rows, y_index, slack)


def _bounded(
    rows: list[tuple[list[int], list[float], float, float]],
    ys: list[int],
    lo: int,
    hi: int,
    slack: dict[tuple[str, str], int],
    kind_lo: str,
    kind_hi: str,
    key: str,
) -> None:
    """lo ≤ Σ ys ≤ hi, or with slacks: Σ ys + under ≥ lo and Σ ys − over ≤ hi."""
    if slack:
        under, over = slack[(kind_lo, key)], slack[(kind_hi, key)]
        rows.append((ys + [under], [1.0] * len(ys) + [1.0], float(lo), np.inf))
        rows.append((ys + [over], [1.0] * len(ys) + [-1.0], -np.inf, float(hi)))
    else:
        rows.append((ys, [1.0] * len(ys), float(lo), float(hi)))


def _matrix(m: _Model) -> LinearConstraint:
    r, cidx, vals, lo, hi = [], [], [], [], []
    for n, (cols, coefs, lb, ub) in enumerate(m.rows):
        r.extend([n] * len(cols))
        cidx.extend(cols)
        vals.extend(coefs)
        lo.append(lb)
        hi.append(ub)
    a = coo_matrix((vals, (r, cidx)), shape=(len(m.rows), len(m.c))).tocsr()
    return LinearConstraint(a, np.array(lo), np.array(hi))


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
