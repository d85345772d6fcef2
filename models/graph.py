"""The partnership graph and the guards that keep recommendations from duplicating it.

Nodes are (type, id) tuples such as ("school", 12); edges are active partnerships. Enterprises that
are duplicate records of one company are merged onto their canonical id, so a partnership made
under either record blocks both. Every guard is a small pure function returning the reason code
that blocks a pair, or None.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import networkx as nx

Node = tuple[str, int]

# Reason codes (machine-readable); the Chinese text lives in models/explain.py.
ALREADY_PARTNERED = "already_partnered"
GROUP_PARTNERED = "group_partnered"
DUPLICATE_PARTNERED = "duplicate_record_partnered"
PENDING_REVIEW = "pending_review"
NO_CAPACITY = "no_capacity"
QUOTA_SCHOOL_INDUSTRIES = "quota_school_industries"
QUOTA_INDUSTRY_SCHOOLS = "quota_industry_schools"


def industry_division(code: str) -> str:
    """GB/T 4754 division (大类, two digits) of a code such as 'C3411', '3411' or '34'."""
    digits = "".join(ch for ch in code if ch.isdigit())
    return digits[:2]


@dataclass
class PartnershipGraph:
    graph: nx.Graph = field(default_factory=nx.Graph)
    canonical: dict[int, int] = field(default_factory=dict)  # enterprise id → canonical id
    group_of: dict[int, str] = field(default_factory=dict)  # canonical enterprise → group key
    group_members: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    school_of_programme: dict[int, int] = field(default_factory=dict)
    programmes_of_school: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    industries_of: dict[int, frozenset[str]] = field(default_factory=dict)  # enterprise divisions
    version: int = -1
    _serving: dict[str, set[int]] | None = field(default=None, repr=False)
    _served: dict[int, set[str]] = field(default_factory=dict, repr=False)
    _edges: int = field(default=-1, repr=False)
    _partnered: dict[Node, frozenset[Node]] = field(default_factory=dict, repr=False)
    _groups: dict[Node, dict[str, frozenset[int]]] = field(default_factory=dict, repr=False)

    # ----------------------------------------------------------------- construction
    @classmethod
    def build(
        cls,
        partnerships: Iterable[tuple[str, int, str, int]],
        *,
        duplicate_clusters: Iterable[list[int]] = (),
        groups: Mapping[int, str] | None = None,
        programmes: Mapping[int, int] | None = None,
        enterprise_industries: Mapping[int, Iterable[str]] | None = None,
        version: int = -1,
    ) -> PartnershipGraph:
        g = cls(version=version)
        for cluster in duplicate_clusters:
            head = min(cluster)
            for member in cluster:
                g.canonical[member] = head
        for eid, group in (groups or {}).items():
            if group:
                key = group.strip()
                g.group_of[g.canon(eid)] = key
                g.group_members[key].add(g.canon(eid))
        g.school_of_programme = dict(programmes or {})
        for pid, sid in g.school_of_programme.items():
            g.programmes_of_school[sid].add(pid)
        for eid, codes in (enterprise_industries or {}).items():
            divs = frozenset(d for d in (industry_division(c) for c in codes) if d)
            g.industries_of[g.canon(eid)] = g.industries_of.get(g.canon(eid), frozenset()) | divs
        for a_type, a_id, b_type, b_id in partnerships:
            g.add_edge((a_type, a_id), (b_type, b_id))
        return g

    def canon(self, enterprise_id: int) -> int:
        return self.canonical.get(enterprise_id, enterprise_id)

    def node(self, ntype: str, nid: int) -> Node:
        return (ntype, self.canon(nid)) if ntype == "enterprise" else (ntype, nid)

    def add_edge(self, a: Node, b: Node) -> None:
        self.graph.add_edge(self.node(*a), self.node(*b))
        self._changed()

    def remove_edge(self, a: Node, b: Node) -> None:
        u, v = self.node(*a), self.node(*b)
        if self.graph.has_edge(u, v):
            self.graph.remove_edge(u, v)
            self._changed()

    def _changed(self) -> None:
        # memoised whole-graph answers are dropped on every edge change
        self._serving = None
        self._served = {}
        self._edges = -1
        self._partnered = {}
        self._groups = {}

    @property
    def edge_count(self) -> int:
        """networkx counts edges by walking every node's degree: memoised."""
        if self._edges < 0:
            self._edges = int(self.graph.number_of_edges())
        return self._edges

    # ----------------------------------------------------------------- queries
    def neighbours(self, node: Node, ntype: str | None = None) -> set[Node]:
        n = self.node(*node)
        if n not in self.graph:
            return set()
        return {m for m in self.graph.neighbors(n) if ntype is None or m[0] == ntype}

    def school_side(self, subject: Node) -> set[Node]:
        """The subject and, for a school, its programmes; for a programme, its school too."""
        nodes = {subject}
        if subject[0] == "programme" and subject[1] in self.school_of_programme:
            nodes.add(("school", self.school_of_programme[subject[1]]))
        if subject[0] == "school":
            nodes |= {("programme", p) for p in self.programmes_of_school.get(subject[1], ())}
        return nodes

    def degree(self, node: Node) -> int:
        n = self.node(*node)
        return int(self.graph.degree(n)) if n in self.graph else 0

    def school_of(self, subject: Node) -> int | None:
        if subject[0] == "school":
            return subject[1]
        if subject[0] == "programme":
            return self.school_of_programme.get(subject[1])
        return None

    def industries_served_by_school(self, school_id: int) -> set[str]:
        """Divisions of the enterprises the school (or its programmes) partners; memoised until
        the next edge change. Callers must not modify the answer."""
        served = self._served.get(school_id)
        if served is None:
            served = set()
            for node in self.school_side(("school", school_id)):
                for _, eid in self.neighbours(node, "enterprise"):
                    served |= self.industries_of.get(eid, frozenset())
            self._served[school_id] = served
        return served

    def schools_serving(self) -> dict[str, set[int]]:
        """Industry division → schools partnered with an enterprise of that division.

        Memoised until the next edge change (a whole-graph pass; every quota check needs it).
        Callers must not modify the answer."""
        if self._serving is not None:
            return self._serving
        out: dict[str, set[int]] = defaultdict(set)
        for u, v in self.graph.edges():
            for a, b in ((u, v), (v, u)):
                if a[0] == "enterprise" and b[0] in ("school", "programme"):
                    school = self.school_of(b)
                    if school is not None:
                        for d in self.industries_of.get(a[1], frozenset()):
                            out[d].add(school)
        self._serving = out
        return out

    def partnered_with(self, subject: Node) -> frozenset[Node]:
        """Every party the subject's school side is partnered with (memoised until the next edge
        change: the guards ask it once per candidate)."""
        found = self._partnered.get(subject)
        if found is None:
            sides = self.school_side(subject)
            found = frozenset(n for side in sides for n in self.neighbours(side))
            self._partnered[subject] = found
        return found

    def groups_partnered(self, subject: Node) -> dict[str, frozenset[int]]:
        """Group → its (canonical) enterprises partnered with the subject's school (or with the
        subject itself when it has no school); memoised like `partnered_with`."""
        found = self._groups.get(subject)
        if found is None:
            school = self.school_of(subject)
            sides = self.school_side(("school", school)) if school is not None else {subject}
            acc: dict[str, set[int]] = defaultdict(set)
            for side in sides:
                for _, eid in self.neighbours(side, "enterprise"):
                    if eid in self.group_of:
                        acc[self.group_of[eid]].add(eid)
            found = {g: frozenset(m) for g, m in acc.items()}
            self._groups[subject] = found
        return found

    def common_neighbours(self, a: Node, b: Node) -> int:
        """Parties partnered with both (e.g. a park that pairs with both school and enterprise)."""
        return len(self.neighbours(a) & self.neighbours(b))

    def subject_firms(self, subject: Node) -> set[Node]:
        """Enterprises the subject (with its school side) already works with."""
        return {n for s in self.school_side(subject) for n in self.neighbours(s, "enterprise")}

    def peer_partners(
        self, subject: Node, candidate: Node, subject_firms: set[Node] | None = None
    ) -> int:
        """How many of the candidate's partner schools also partner a company the subject
        works with (pass `subject_firms` to reuse it across candidates)."""
        if subject_firms is None:
            subject_firms = self.subject_firms(subject)
        if not subject_firms:
            return 0
        count = 0
        for partner in self.neighbours(candidate):
            if (
                partner[0] in ("school", "programme")
                and self.neighbours(partner, "enterprise") & subject_firms
            ):
                count += 1
        return count


# --------------------------------------------------------------------- the guards
def guard_already_partnered(g: PartnershipGraph, subject: Node, candidate: Node) -> str | None:
    """(a) The pair is partnered: directly, or between the school and one of its programmes."""
    return ALREADY_PARTNERED if g.node(*candidate) in g.partnered_with(subject) else None


def guard_duplicate_record(g: PartnershipGraph, subject: Node, candidate: Node) -> str | None:
    """(c) Another record of the same enterprise is partnered with the subject."""
    if candidate[0] != "enterprise" or g.canon(candidate[1]) == candidate[1]:
        return None
    # Merged nodes make guard (a) catch it; report the more precise reason for a
    # non-canonical record.
    return DUPLICATE_PARTNERED if guard_already_partnered(g, subject, candidate) else None


def guard_group_partnered(g: PartnershipGraph, subject: Node, candidate: Node) -> str | None:
    """(b) Another enterprise of the same group is already partnered with that school."""
    if candidate[0] != "enterprise":
        return None
    cid = g.canon(candidate[1])
    group = g.group_of.get(cid)
    if not group:
        return None
    members = g.groups_partnered(subject).get(group, frozenset())
    return GROUP_PARTNERED if members - {cid} else None


def guard_pending(
    pending: set[tuple[Node, Node]], g: PartnershipGraph, subject: Node, candidate: Node
) -> str | None:
    """(d) The pair is waiting for review."""
    return PENDING_REVIEW if (subject, g.node(*candidate)) in pending else None


def guard_capacity(capacity_left: int | None) -> str | None:
    """(e) Capacity / slots used up (None = the party has no capacity limit)."""
    return NO_CAPACITY if capacity_left is not None and capacity_left <= 0 else None


def guard_quotas(
    g: PartnershipGraph,
    subject: Node,
    candidate_industries: Iterable[str],
    *,
    max_industries_per_school: int,
    max_schools_per_industry: int,
    schools_serving: Mapping[str, set[int]] | None = None,
    served: set[str] | None = None,
) -> str | None:
    """(f) Seed 004 quotas: a school serves at most N leading industries, an industry at most
    M schools.

    Industries are GB/T 4754 divisions. A candidate passes when it shares an industry the school
    already serves; otherwise it would add industries, which the quotas may forbid.
    """
    school = g.school_of(subject)
    if school is None:
        return None
    cand = {d for d in (industry_division(c) for c in candidate_industries) if d}
    if not cand:
        return None
    if served is None:
        served = g.industries_served_by_school(school)
    if cand & served:
        return None
    if len(served) >= max_industries_per_school:
        return QUOTA_SCHOOL_INDUSTRIES
    serving = schools_serving if schools_serving is not None else g.schools_serving()
    if all(len(serving.get(d, set()) - {school}) >= max_schools_per_industry for d in cand):
        return QUOTA_INDUSTRY_SCHOOLS
    return None
