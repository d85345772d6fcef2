"""Mentor assignment for a student cohort (seed 003, the 英才计划).

* The interview shortlist: every mentor interviews at least `ratio` (3) candidates per seat
  (面试与入选比例不少于 3:1): students who chose the mentor first (by their rank of the mentor,
  then fit), then the best-fitting students of the mentor's subject.
* The assignment, after interviews: each student gets at most one mentor among those they chose
  and passed the interview with, within the mentors' seats, maximising total fit (an exact
  b-matching, HiGHS). Deferred acceptance (student-proposing, by the students' ranks; mentors
  keep the best fits) is the baseline.
* Meetings: every pair must meet at least 10 times in the year (见面次数不少于 10 次).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

INTERVIEW_RATIO = 3
MIN_MEETINGS = 10


@dataclass(frozen=True)
class Student:
    id: int
    subject: str
    choices: tuple[int, ...]  # mentor ids, most wanted first


@dataclass(frozen=True)
class Mentor:
    id: int
    subject: str
    seats: int


@dataclass
class Cohort:
    students: list[Student]
    mentors: list[Mentor]
    fit: dict[tuple[int, int], float]  # (student, mentor) → fit in [0, 1]
    passed: set[tuple[int, int]] = field(default_factory=set)  # interviews passed

    def fit_of(self, s: int, m: int) -> float:
        return self.fit.get((s, m), 0.0)


@dataclass
class Shortlist:
    by_mentor: dict[int, list[int]]  # mentor → students to interview, in order
    short: dict[int, int]  # mentor → candidates missing to reach ratio × seats


def shortlist(c: Cohort, ratio: int = INTERVIEW_RATIO) -> Shortlist:
    """At least ratio × seats candidates per mentor: choosers first, then by fit in subject."""
    choosers: dict[int, list[tuple[int, float, int]]] = defaultdict(list)
    for st in c.students:
        for rank, chosen in enumerate(st.choices):
            choosers[chosen].append((rank, -c.fit_of(st.id, chosen), st.id))
    out: dict[int, list[int]] = {}
    short: dict[int, int] = {}
    for m in c.mentors:
        need = ratio * m.seats
        picked = [sid for _, _, sid in sorted(choosers.get(m.id, []))]
        if len(picked) < need:
            taken = set(picked)
            rest = sorted(
                (-c.fit_of(st.id, m.id), st.id)
                for st in c.students
                if st.subject == m.subject and st.id not in taken
            )
            picked += [sid for _, sid in rest[: need - len(picked)]]
        out[m.id] = picked
        if len(picked) < need:
            short[m.id] = need - len(picked)
    return Shortlist(out, short)


def _eligible(c: Cohort) -> list[tuple[int, int]]:
    """(student, mentor) pairs allowed: the student chose the mentor and passed the interview."""
    return [(st.id, m) for st in c.students for m in st.choices if (st.id, m) in c.passed]


def assign(c: Cohort, time_limit_s: float = 30.0) -> dict[int, int]:
    """student → mentor maximising total fit within seats and the students' choices."""
    pairs = _eligible(c)
    if not pairs:
        return {}
    seats = {m.id: m.seats for m in c.mentors}
    pairs = [(s, m) for s, m in pairs if seats.get(m, 0) > 0]
    if not pairs:
        return {}
    # a tiny bonus for a better-ranked choice breaks fit ties towards what students asked for
    rank = {(st.id, m): r for st in c.students for r, m in enumerate(st.choices)}
    cost = np.array([-(c.fit_of(s, m) + 1e-4 / (1 + rank[(s, m)])) for s, m in pairs])
    students = sorted({s for s, _ in pairs})
    mentors = sorted({m for _, m in pairs})
    row_of = {("s", s): n for n, s in enumerate(students)}
    row_of |= {("m", m): len(students) + n for n, m in enumerate(mentors)}
    r, col = [], []
    for k, (s, m) in enumerate(pairs):
        r += [row_of[("s", s)], row_of[("m", m)]]
        col += [k, k]
    a = coo_matrix((np.ones(len(r)), (r, col)), shape=(len(row_of), len(pairs)))
    hi = np.array([1.0] * len(students) + [float(seats[m]) for m in mentors])
    res = milp(
        cost,
        constraints=[LinearConstraint(a.tocsr(), -np.inf, hi)],
        integrality=np.ones(len(pairs)),
        bounds=Bounds(0, 1),
        options={"time_limit": time_limit_s},
    )
    if res.x is None:
        return {}
    return {s: m for (s, m), v in zip(pairs, res.x, strict=True) if v > 0.5}


def deferred_acceptance(c: Cohort) -> dict[int, int]:
    """Student-proposing deferred acceptance over the same eligible pairs (baseline)."""
    seats = {m.id: m.seats for m in c.mentors}
    allowed = set(_eligible(c))
    prefs = {st.id: [m for m in st.choices if (st.id, m) in allowed] for st in c.students}
    nxt = dict.fromkeys(prefs, 0)
    held: dict[int, list[int]] = defaultdict(list)
    free = list(prefs)
    while free:
        s = free.pop()
        while nxt[s] < len(prefs[s]):
            m = prefs[s][nxt[s]]
            nxt[s] += 1
            if seats.get(m, 0) <= 0:
                continue
            held[m].append(s)
            if len(held[m]) <= seats[m]:
                break
            worst = min(held[m], key=lambda x: c.fit_of(x, m))
            held[m].remove(worst)
            if worst != s:
                free.append(worst)
                break
    return {s: m for m, ss in held.items() for s in ss}


def total_fit(c: Cohort, assignment: dict[int, int]) -> float:
    return float(sum(c.fit_of(s, m) for s, m in assignment.items()))


def below_meetings(
    meetings: dict[tuple[int, int], int], assignment: dict[int, int], minimum: int = MIN_MEETINGS
) -> list[tuple[int, int, int]]:
    """(student, mentor, meetings so far) for every assigned pair below the minimum."""
    return sorted(
        (s, m, meetings.get((s, m), 0))
        for s, m in assignment.items()
        if meetings.get((s, m), 0) < minimum
    )
