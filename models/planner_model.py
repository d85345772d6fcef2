"""The mixed-integer programme of a pairing plan: variables, bounds and constraint rows
(shared by HiGHS and CP-SAT, see models/planner_solve.py)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from scipy.optimize import LinearConstraint
from scipy.sparse import coo_matrix

from models.planner_problem import (
    INDUSTRY_MAX,
    INDUSTRY_MIN,
    SCHOOL_MAX,
    SCHOOL_MIN,
    Problem,
)


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
