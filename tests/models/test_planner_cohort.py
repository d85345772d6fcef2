"""Cohort mentor assignment (seed 003): the 3:1 shortlist, the exact assignment within seats and
choices against deferred acceptance, and the pairs below 10 meetings."""

from __future__ import annotations

import itertools
import random

from models import cohort as C


def cohort(seed: int, students: int = 40, mentors: int = 8) -> C.Cohort:
    rng = random.Random(seed)
    subjects = ["数学", "物理", "化学", "生物"]
    ms = [C.Mentor(100 + n, subjects[n % 4], rng.randint(1, 3)) for n in range(mentors)]
    ss = []
    for n in range(students):
        subject = rng.choice(subjects)
        same = [m.id for m in ms if m.subject == subject]
        others = [m.id for m in ms if m.subject != subject]
        ss.append(C.Student(n, subject, tuple(rng.sample(same, min(2, len(same)))
                                              + rng.sample(others, 1))))  # fmt: skip
    fit = {(s.id, m.id): round(rng.random(), 3) for s in ss for m in ms}
    return C.Cohort(ss, ms, fit)


def test_shortlist_has_three_candidates_per_seat_choosers_first() -> None:
    c = cohort(1)
    sl = C.shortlist(c)
    for m in c.mentors:
        got = sl.by_mentor[m.id]
        assert len(got) == len(set(got))
        assert len(got) >= 3 * m.seats or sl.short[m.id] == 3 * m.seats - len(got)
        choosers = {s.id for s in c.students if m.id in s.choices}
        head = got[: len(choosers)]
        assert set(head) == choosers or len(choosers) > len(got)


def test_assignment_respects_seats_and_choices_and_beats_deferred_acceptance() -> None:
    for seed in range(5):
        c = cohort(seed)
        c.passed = {(s.id, m) for s in c.students for m in s.choices if random.random() < 0.7}
        got = C.assign(c)
        seats = {m.id: m.seats for m in c.mentors}
        for s, m in got.items():
            assert (s, m) in c.passed
            assert m in next(st.choices for st in c.students if st.id == s)
        for m, n in itertools.groupby(sorted(got.values())):
            assert len(list(n)) <= seats[m]
        da = C.deferred_acceptance(c)
        for m, n in itertools.groupby(sorted(da.values())):
            assert len(list(n)) <= seats[m]
        assert C.total_fit(c, got) >= C.total_fit(c, da) - 1e-9


def test_assignment_is_optimal_on_a_tiny_cohort() -> None:
    c = cohort(3, students=6, mentors=3)
    c.passed = {(s.id, m) for s in c.students for m in s.choices}
    got = C.assign(c)
    best = 0.0
    seats = {m.id: m.seats for m in c.mentors}
    options = [[None, *s.choices] for s in c.students]
    for pick in itertools.product(*options):
        used: dict[int, int] = {}
        for m in pick:
            if m is not None:
                used[m] = used.get(m, 0) + 1
        if all(n <= seats[m] for m, n in used.items()):
            best = max(best, sum(c.fit_of(s.id, m) for s, m in zip(c.students, pick,
                                                                    strict=True) if m))  # fmt: skip
    assert abs(C.total_fit(c, got) - best) < 1e-3


def test_pairs_below_ten_meetings_are_listed() -> None:
    assignment = {1: 100, 2: 100, 3: 101}
    meetings = {(1, 100): 10, (2, 100): 4}
    assert C.below_meetings(meetings, assignment) == [(2, 100, 4), (3, 101, 0)]
