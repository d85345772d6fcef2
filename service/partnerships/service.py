"""The one way a partnership comes into being.

`create(conn, actor, a, b, source, ...)` is called by review approval, POST /v1/partnerships,
the `partnerships` import and the `pairing-table` import. Under row locks on both parties (and a
programme's school) plus advisory locks on the pair and on the candidate's industry divisions, it
checks, in order:

1. scope: the access policy (`partnership.write` for filings, `review.decide` for approvals);
2. the pair is not active already, directly or through the school side (school ↔ its
   programmes), nor through another record of the same enterprise (the canonical entity);
3. no other enterprise of the same group is partnered with that school;
4. the pair is not pending review (other than the item being approved);
5. capacity: a programme's partner slots, a mentor's capacity, a practice base's places;
6. the seed-004 quotas (industries per school; schools per leading industry, counted in the
   school's city as the planner counts them: models/quotas.py).

The guards themselves are models/graph.py's (the recommender applies the same ones to its
candidates); here they run on the locked neighbourhood read fresh from PostgreSQL, so two
concurrent approvals that would over-fill a programme give one partnership and one 409.
Nothing is committed here: the caller's transaction does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

from models import graph as G
from models import quotas as Q
from models.dedup import EnterpriseRecord, duplicate_clusters
from models.explain import GUARD_TEXT
from models.vocab import PARTY_LABELS
from service import audit
from service.auth import policy, targets
from service.config import get_settings
from service.errors import Conflict, InvalidInput
from service.partnerships import repository as repo
from service.review.pairs import Pair, Party, canonical

Node = tuple[str, int]
# Capacity column of a party type, and which partners use it up (None = any partner). The same
# table the recommender reads (service.recommendations.engine.CAPACITY).
CAPACITY: dict[str, tuple[str, str | None]] = {
    "programme": ("capacity", "enterprise"),
    "mentor": ("capacity", None),
    "practice_base": ("slots_per_term", None),
}


class GuardRefused(Conflict):
    """409 naming the guard (machine code in `code_reason`, Chinese text in `detail`)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def pair_of(a: Node | Party, b: Node | Party) -> Pair:
    try:
        return canonical(Party(*a), Party(*b))
    except ValueError as exc:
        problem = {"row": None, "column": "b", "reason": str(exc)}
        raise InvalidInput(str(exc), errors=[problem]) from None


def _subject_candidate(pair: Pair) -> tuple[Node, Node]:
    """Which end the guards treat as the asking side: the non-enterprise end of a pair with an
    enterprise; the programme / school end of a mentor or practice-base pair."""
    a, b = tuple(pair.a), tuple(pair.b)
    for cand_type in ("enterprise", "mentor", "practice_base"):
        if b[0] == cand_type and a[0] != cand_type:
            return a, b  # type: ignore[return-value]
        if a[0] == cand_type and b[0] != cand_type:
            return b, a  # type: ignore[return-value]
    return a, b  # type: ignore[return-value]


def _divisions(codes: list[str] | None) -> list[str]:
    return sorted({d for d in (G.industry_division(c) for c in codes or []) if d})


def _refuse(reason: str, extra: str = "") -> GuardRefused:
    return GuardRefused(reason, f"{GUARD_TEXT.get(reason, reason)}{extra}，不能建立结对 ({reason})")


def check(
    conn: psycopg.Connection,
    actor: Any,
    pair: Pair,
    *,
    recommendation_id: int | None = None,
    quotas: tuple[int, int] | None = None,
    reviewed: bool = False,
) -> dict[Node, dict[str, Any]]:
    """Lock the pair's rows and run every rule; raise 403 / 409 / 422, or return the locked rows.

    Call inside the transaction that then writes the partnership (the locks last until commit).
    """
    subject, candidate = _subject_candidate(pair)
    quota_pair = candidate[0] == "enterprise" and subject[0] in ("school", "programme")
    pre = repo.enterprises(conn, [candidate[1]]) if candidate[0] == "enterprise" else []
    divisions = _divisions(pre[0]["industry_codes"]) if pre and quota_pair else []
    repo.advisory_locks(conn, [pair.lock_key, *(f"industry:{d}" for d in divisions)])
    locked = repo.lock_rows(conn, [pair.a, pair.b])
    for node in (pair.a, pair.b):
        if tuple(node) not in locked:
            label = PARTY_LABELS[node[0]]
            raise InvalidInput(
                f"{label} {node[1]} 不存在",
                errors=[{"row": None, "column": node[0], "reason": f"{label} {node[1]} 不存在"}],
            )
    school_id: int | None = None
    if subject[0] == "school":
        school_id = subject[1]
    elif subject[0] == "programme":
        school_id = int(locked[subject]["school_id"])
        repo.lock_rows(conn, [("school", school_id)])
    decided = reviewed or recommendation_id is not None
    action = "review.decide" if decided else "partnership.write"
    policy.require(
        actor, action, targets.of_partnership(conn, pair.a, pair.b), "该结对的一方或双方"
    )
    graph = _neighbourhood(conn, subject, candidate, school_id)
    historical = isinstance(actor, policy.SystemActor) and actor.historical
    # An existing world being loaded keeps its pairs with two firms of one group or two records
    # of one firm (they happened); those guards, like the limits below, govern new pairings.
    if historical:
        reason = G.guard_already_partnered(graph, subject, candidate)
    else:
        reason = (
            G.guard_duplicate_record(graph, subject, candidate)
            or G.guard_already_partnered(graph, subject, candidate)
            or G.guard_group_partnered(graph, subject, candidate)
        )
    if reason:
        existing = repo.active_partnership(conn, pair)
        raise _refuse(reason, f"（结对 {existing}）" if existing else "")
    pending = repo.pending_with_pair(conn, pair, recommendation_id)
    if pending is not None:
        raise _refuse(G.PENDING_REVIEW, f"（推荐 {pending}）")
    if historical:
        return locked  # an existing world being loaded: limits govern new pairings only
    for end in (subject, candidate):
        if end[0] in CAPACITY:
            column, partner_type = CAPACITY[end[0]]
            used = len(graph.neighbours(end, partner_type))
            left = int(locked[end][column] or 0) - used
            if G.guard_capacity(left):
                label, total = PARTY_LABELS[end[0]], locked[end][column]
                raise _refuse(G.NO_CAPACITY, f"（{label} {end[1]}：容量 {total}，已用 {used}）")
    if quota_pair:
        settings = get_settings()
        per_school, per_industry = quotas or (
            settings.quota_industries_per_school,
            settings.quota_schools_per_industry,
        )
        # schools per leading industry are counted in the subject school's city (the rule the
        # planner uses too: models/quotas.py)
        city = Q.city_of(repo.school_region_path(conn, school_id))  # type: ignore[arg-type]
        code = G.guard_quotas(
            graph,
            subject,
            locked[candidate]["industry_codes"] or [],
            max_industries_per_school=per_school,
            max_schools_per_industry=per_industry,
            schools_serving=Q.schools_serving(repo.school_divisions(conn, divisions), city),
        )
        if code:
            raise _refuse(code)
    return locked


def _neighbourhood(
    conn: psycopg.Connection,
    subject: Node,
    candidate: Node,
    school_id: int | None,
) -> G.PartnershipGraph:
    """The part of the partnership graph the guards read, as it is now (under the locks)."""
    nodes: set[Node] = {subject, candidate}
    if school_id is not None:
        nodes.add(("school", school_id))
        nodes |= {("programme", p) for p in repo.school_programmes(conn, school_id)}
    edges = repo.edges_touching(conn, nodes)
    programmes = {i for t, i in nodes if t == "programme"}
    enterprises = {i for t, i in nodes if t == "enterprise"}
    for a_type, a_id, b_type, b_id in edges:
        for t, i in ((a_type, a_id), (b_type, b_id)):
            if t == "programme":
                programmes.add(i)
            elif t == "enterprise":
                enterprises.add(i)
    firms = repo.enterprises(conn, sorted(enterprises))
    clusters = duplicate_clusters(
        EnterpriseRecord(r["id"], r["name"], r["credit_code"], r["city_code"] or "") for r in firms
    )
    return G.PartnershipGraph.build(
        edges,
        duplicate_clusters=clusters,
        groups={r["id"]: r["group_name"] for r in firms if r["group_name"]},
        programmes=repo.programme_schools(conn, sorted(programmes)),
        enterprise_industries={r["id"]: r["industry_codes"] or [] for r in firms},
    )


def create(
    conn: psycopg.Connection,
    actor: Any,
    a: Node | Party,
    b: Node | Party,
    source: str,
    *,
    kind: str | None = None,
    since: dt.date | None = None,
    progress: str = "",
    contacts: dict[Node, str | None] | None = None,
    recommendation_id: int | None = None,
    quotas: tuple[int, int] | None = None,
    reviewed: bool = False,
) -> dict[str, Any]:
    """Create an active partnership between parties `a` and `b` (("school", 3), ("enterprise",
    7) … in any order), after every rule in the module docstring; audited.

    `actor` is the User doing it (trusted internal callers such as the CLI pass policy.SYSTEM;
    None is anonymous and refused). `source` says where it comes from
    ('manual', 'import:<file>', 'review:<id>'). `contacts` maps a party to its contact text.
    `recommendation_id` is set by review approval: the item's own pending state is then not a
    conflict, and the permission checked is `review.decide` instead of `partnership.write`;
    `reviewed=True` (a reviewed plan's pair) checks `review.decide` too.
    Raises 401/403 (policy), 409 GuardRefused (a rule, reason in Chinese), 422 (unknown party).
    """
    pair = pair_of(a, b)
    check(conn, actor, pair, recommendation_id=recommendation_id, quotas=quotas, reviewed=reviewed)
    contact_of = {(str(k[0]), int(k[1])): v for k, v in (contacts or {}).items()}
    row = repo.insert(
        conn,
        pair,
        {
            "kind": kind or pair.kind,
            "since": since,
            "source": source[:200],
            "progress": progress,
            "a_contact": contact_of.get((pair.a.type, pair.a.id)),
            "b_contact": contact_of.get((pair.b.type, pair.b.id)),
        },
    )
    audit.record(
        conn,
        actor_id=getattr(actor, "id", None),
        action="partnership.create",
        entity_type="partnership",
        entity_id=row["id"],
        after=row,
    )
    return row
