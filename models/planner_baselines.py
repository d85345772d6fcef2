"""What bureaus could do without the planner, scored like the planner (benchmark baselines).

* greedy top-k: each school, in turn, takes its best candidates as the recommendation list would
  (capacity and the maximum quotas respected, as the guards do), until its pair cap is reached;
* deferred acceptance (Gale–Shapley, school-proposing, many-to-many with capacities): stable with
  respect to fit, blind to the minimum quotas.

`blocking_pairs` counts the pairs of a matching that both sides would rather have (the stability
notion deferred acceptance guarantees), for every method alike.
"""

from __future__ import annotations

from collections import defaultdict

from models.planner import Candidate, Problem


def _cap_of_school(p: Problem) -> dict[int, int]:
    """New pairs a school can take: its programmes' places, capped per taken-up industry."""
    lead = set(p.industries)
    hi = p.quotas.industries_per_school[1]
    per_pair = p.quotas.max_new_pairs_per_school_industry
    progs: dict[int, set[int]] = defaultdict(set)
    for c in p.candidates:
        progs[c.school].add(c.programme)
    out = {}
    for s in p.schools:
        places = sum(p.programme_left.get(g, per_pair * hi) for g in progs.get(s, ()))
        room = max(0, hi - len(p.served.get(s, frozenset()) & lead))
        out[s] = min(places, per_pair * (room + len(p.served.get(s, frozenset()) & lead)))
    return out


class _Ledger:
    """Places used so far, so both baselines check capacities exactly as the planner does."""

    def __init__(self, p: Problem) -> None:
        self.p = p
        lead = set(p.industries)
        self.served = {s: set(p.served.get(s, frozenset()) & lead) for s in p.schools}
        self.schools_of = defaultdict(set)
        for s, inds in self.served.items():
            for i in inds:
                self.schools_of[i].add(s)
        self.prog: dict[int, int] = defaultdict(int)
        self.ent: dict[int, int] = defaultdict(int)
        self.si: dict[tuple[int, str], int] = defaultdict(int)
        self.pairs: set[tuple[int, int]] = set()

    def fits(self, c: Candidate, *, quotas: bool) -> bool:
        p, q = self.p, self.p.quotas
        if (c.school, c.enterprise) in self.pairs:
            return False
        if self.prog[c.programme] >= p.programme_left.get(c.programme, 10**9):
            return False
        if self.ent[c.enterprise] >= p.enterprise_left.get(c.enterprise, 10**9):
            return False
        for per_pair, left in p.seats.values():
            if per_pair * (self.ent[c.enterprise] + 1) > left.get(c.enterprise, 10**9):
                return False
        if self.si[(c.school, c.industry)] >= q.max_new_pairs_per_school_industry:
            return False
        if quotas and c.industry not in self.served[c.school]:
            if len(self.served[c.school]) >= q.industries_per_school[1]:
                return False
            if len(self.schools_of[c.industry]) >= q.schools_per_industry[1]:
                return False
        return True

    def take(self, c: Candidate) -> None:
        self.pairs.add((c.school, c.enterprise))
        self.prog[c.programme] += 1
        self.ent[c.enterprise] += 1
        self.si[(c.school, c.industry)] += 1
        self.served[c.school].add(c.industry)
        self.schools_of[c.industry].add(c.school)

    def drop(self, c: Candidate) -> None:
        self.pairs.discard((c.school, c.enterprise))
        self.prog[c.programme] -= 1
        self.ent[c.enterprise] -= 1
        self.si[(c.school, c.industry)] -= 1


def greedy_top_k(p: Problem, k: int | None = None) -> list[Candidate]:
    """Each school (in id order, as a bureau goes down its list) takes its top candidates."""
    ledger = _Ledger(p)
    by_school: dict[int, list[Candidate]] = defaultdict(list)
    for c in p.candidates:
        by_school[c.school].append(c)
    cap = _cap_of_school(p)
    chosen: list[Candidate] = []
    for s in sorted(p.schools):
        want = cap.get(s, 0) if k is None else min(k, cap.get(s, 0))
        got = 0
        for c in sorted(by_school.get(s, []), key=lambda c: -c.fit):
            if got >= want:
                break
            if ledger.fits(c, quotas=True):
                ledger.take(c)
                chosen.append(c)
                got += 1
    return chosen


def _enterprise_limits(p: Problem) -> dict[int, int]:
    """Partners an enterprise can still take: its limit and every seat it must give per pair."""
    limit = {e: p.enterprise_left.get(e, 10**9) for e in {c.enterprise for c in p.candidates}}
    for per_pair, left in p.seats.values():
        if per_pair > 0:
            for e in limit:
                if e in left:
                    limit[e] = min(limit[e], left[e] // per_pair)
    return limit


def deferred_acceptance(p: Problem) -> list[Candidate]:
    """School-proposing deferred acceptance; enterprises keep their best proposals by fit.

    A free school proposes down its list (best fit first) to every candidate it has not yet been
    refused by, within its own places (programme capacity, pair cap per industry, total); an
    enterprise over its limit refuses its worst held proposal, freeing that school again."""
    ledger = _Ledger(p)
    prefs: dict[int, list[Candidate]] = defaultdict(list)
    for c in p.candidates:
        prefs[c.school].append(c)
    for s in prefs:
        prefs[s].sort(key=lambda c: -c.fit)
    cap = _cap_of_school(p)
    limit = _enterprise_limits(p)
    refused: set[Candidate] = set()
    held: dict[int, list[Candidate]] = defaultdict(list)  # enterprise → proposals it holds
    count: dict[int, int] = defaultdict(int)
    free = [s for s in prefs if cap.get(s, 0) > 0]
    while free:
        s = free.pop()
        for c in prefs[s]:
            if count[s] >= cap.get(s, 0):
                break
            if c in refused or (c.school, c.enterprise) in ledger.pairs:
                continue
            if ledger.prog[c.programme] >= p.programme_left.get(c.programme, 10**9):
                continue
            if ledger.si[(c.school, c.industry)] >= p.quotas.max_new_pairs_per_school_industry:
                continue
            ledger.take(c)
            count[s] += 1
            held[c.enterprise].append(c)
            if len(held[c.enterprise]) > limit[c.enterprise]:
                worst = min(held[c.enterprise], key=lambda h: h.fit)
                held[c.enterprise].remove(worst)
                ledger.drop(worst)
                refused.add(worst)
                count[worst.school] -= 1
                if worst.school != s:
                    free.append(worst.school)
    return [c for hs in held.values() for c in hs]


def blocking_pairs(p: Problem, chosen: list[Candidate]) -> int:
    """Candidate pairs, not chosen, that both sides would rather have: the school can add it
    (within its places, after dropping at most one worse pair) and so can the enterprise."""
    cap = _cap_of_school(p)
    limit = _enterprise_limits(p)
    per_si = p.quotas.max_new_pairs_per_school_industry
    of_school: dict[int, list[Candidate]] = defaultdict(list)
    of_ent: dict[int, list[Candidate]] = defaultdict(list)
    prog: dict[int, int] = defaultdict(int)
    si: dict[tuple[int, str], int] = defaultdict(int)
    pairs = set()
    for c in chosen:
        of_school[c.school].append(c)
        of_ent[c.enterprise].append(c)
        prog[c.programme] += 1
        si[(c.school, c.industry)] += 1
        pairs.add((c.school, c.enterprise))

    def school_room(c: Candidate, drop: Candidate | None) -> bool:
        same_prog = drop is not None and drop.programme == c.programme
        same_si = drop is not None and (drop.school, drop.industry) == (c.school, c.industry)
        return (
            len(of_school[c.school]) - (drop is not None) < cap.get(c.school, 0)
            and prog[c.programme] - same_prog < p.programme_left.get(c.programme, 10**9)
            and si[(c.school, c.industry)] - same_si < per_si
        )

    n = 0
    seen = set()
    for c in p.candidates:
        key = (c.school, c.enterprise)
        if key in pairs or key in seen:
            continue
        seen.add(key)
        school_wants = school_room(c, None) or any(
            d.fit < c.fit and school_room(c, d) for d in of_school[c.school]
        )
        held = of_ent[c.enterprise]
        ent_wants = len(held) < limit.get(c.enterprise, 10**9) or any(d.fit < c.fit for d in held)
        if school_wants and ent_wants:
            n += 1
    return n
