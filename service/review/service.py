"""Submit, decide, list. Services never commit: the request's transaction does.

States (derived from the append-only `reviews`, see migration 0003, view review_state):

    draft ──submit──▶ pending ──approve──▶ approved   (partnership created, same transaction)
                        │  ├────reject───▶ rejected
                        │  └────return───▶ returned ──submit──▶ pending (again)
    Any other transition is a 409. 'return' hands the item back to its submitter: it leaves the
    queue until someone resubmits it (the decision stays in the history).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg

from models import vocab as V
from service import audit
from service.auth import policy, targets
from service.auth.schemas import ROLES, User
from service.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, from_db_error
from service.partnerships import repository as partnership_repo
from service.partnerships import service as partnerships
from service.review import repository as repo
from service.review.pairs import Pair, Party, canonical

# Roles that may decide (in their region, never their own submission): from the policy.
DECIDERS = tuple(r for r in ROLES if policy.RULES["review.decide"][r] != policy.NEVER)
_FINAL = {"approved": "已批准", "rejected": "已驳回"}
MAX_LINKS = 50  # partnerships shown per party as evidence


# ---- pairs and permissions -----------------------------------------------------------------


def pair_of(conn: psycopg.Connection, rec: dict[str, Any]) -> Pair:
    """The two parties approval would join. A need stands for its enterprise."""
    if rec["pair_a_type"] is not None:
        return Pair(
            Party(rec["pair_a_type"], rec["pair_a_id"]), Party(rec["pair_b_type"], rec["pair_b_id"])
        )
    s_type, s_id = rec["subject_type"], rec["subject_id"]
    if s_id is None:
        raise InvalidInput(f"推荐 {rec['id']} 的请求方是自由文本，无法建立结对 (no_subject)")
    if s_type == "need":
        ent = repo.need_enterprise(conn, s_id)
        if ent is None:
            raise InvalidInput(f"需求 {s_id} 不存在")
        s_type, s_id = "enterprise", ent
    try:
        return canonical(Party(s_type, s_id), Party(rec["candidate_type"], rec["candidate_id"]))
    except ValueError as exc:
        raise InvalidInput(f"推荐 {rec['id']}：{exc}") from exc


def item_target(conn: psycopg.Connection | None, rec: dict[str, Any]) -> policy.Target:
    """A review item for the access policy: its region, and as owners its requester's subject
    (a school account owns its school's items) and its submitter."""
    owners: set[tuple[str, int]] = set()
    if rec.get("submitted_by") is not None:
        owners.add(("user", int(rec["submitted_by"])))
    if conn is not None and rec["subject_id"] is not None and rec["subject_type"] != "text":
        subject = (rec["subject_type"], int(rec["subject_id"]))
        owners |= targets.of_rows(conn, [subject])[subject].owners
    return policy.Target("recommendation", (rec["region_path"],), frozenset(owners))


def _check_can_submit(conn: psycopg.Connection, user: User, rec: dict[str, Any]) -> None:
    target = item_target(conn, {**rec, "submitted_by": None})  # owning = owning the subject
    policy.require(user, "review.submit", target, f"推荐 {rec['id']}")


def _check_can_view(user: User, rec: dict[str, Any]) -> None:
    # submitters follow their items (a return comes back to them)
    policy.require(user, "review.read", item_target(None, rec), f"推荐 {rec['id']}")


# ---- submit --------------------------------------------------------------------------------


def submit(conn: psycopg.Connection, user: User, ids: list[int]) -> list[dict[str, Any]]:
    """Send items to review; each item succeeds or fails on its own (a savepoint each).

    Locks: advisory locks per pair (sorted) first, then row locks in id order, so concurrent
    submissions and decisions cannot deadlock and a pair is never pending twice.
    """
    unique = sorted(set(ids))
    results: dict[int, dict[str, Any]] = {}
    rows = {r["id"]: r for r in repo.get_many(conn, unique)}
    pairs: dict[int, Pair] = {}
    for rec_id in unique:
        rec = rows.get(rec_id)
        if rec is None:
            results[rec_id] = {"id": rec_id, "status": 404, "detail": f"推荐 {rec_id} 不存在"}
            continue
        try:
            pairs[rec_id] = pair_of(conn, rec)
        except DomainError as exc:
            results[rec_id] = {"id": rec_id, "status": exc.status_code, "detail": exc.detail}
    repo.lock_pairs(conn, pairs.values())
    for rec_id, pair in pairs.items():
        try:
            with conn.transaction():
                state = _submit_one(conn, user, rec_id, pair)
            results[rec_id] = {"id": rec_id, "status": 200, "state": state, "detail": "已提交审核"}
        except DomainError as exc:
            results[rec_id] = {"id": rec_id, "status": exc.status_code, "detail": exc.detail}
        except psycopg.Error as exc:
            mapped = from_db_error(exc)
            if mapped is None:
                raise
            results[rec_id] = {"id": rec_id, "status": mapped.status_code, "detail": mapped.detail}
    current = repo.states(conn, unique)
    for rec_id, res in results.items():
        res.setdefault("state", current.get(rec_id))
    return [results[i] for i in dict.fromkeys(ids)]


def _submit_one(conn: psycopg.Connection, user: User, rec_id: int, pair: Pair) -> str:
    rec = repo.lock(conn, [rec_id])[rec_id]
    _check_can_submit(conn, user, rec)
    state = repo.states(conn, [rec_id])[rec_id]
    if state == "pending":
        raise Conflict(f"推荐 {rec_id} 已在审核中 (already_pending)")
    if state in _FINAL:
        raise Conflict(f"推荐 {rec_id} {_FINAL[state]}，不能再次提交 (already_decided)")
    existing = partnership_repo.active_partnership(conn, pair)
    if existing is not None:
        raise Conflict(f"双方已有结对关系（结对 {existing}）(already_partnered)")
    other = partnership_repo.pending_with_pair(conn, pair, rec_id)
    if other is not None:
        raise Conflict(f"同一配对已在审核中（推荐 {other}）(pair_pending)")
    done = repo.mark_submitted(conn, rec_id, user.id, pair)
    audit.record(
        conn,
        actor_id=user.id,
        action="review.submit",
        entity_type="recommendation",
        entity_id=rec_id,
        before={"state": state, "submitted_at": rec["submitted_at"]},
        after={
            "state": "pending",
            "submitted_at": done["submitted_at"],
            "submitted_by": user.id,
            "pair": [list(pair.a), list(pair.b)],
        },
    )
    return "pending"


# ---- decide --------------------------------------------------------------------------------


def _check_decision(
    user: User,
    rec_id: int,
    rec: dict[str, Any] | None,
    state: str | None,
    decision: str,
    reason: str,
) -> DomainError | None:
    if rec is None:
        return NotFound(f"推荐 {rec_id} 不存在")
    try:  # the item's region's deciders, never on their own submission (four eyes)
        policy.require_decide(user, item_target(None, rec), rec["submitted_by"], f"推荐 {rec_id}")
    except Forbidden as exc:
        return exc
    if state == "draft":
        return Conflict(f"推荐 {rec_id} 尚未提交审核 (not_submitted)")
    if state == "returned":
        return Conflict(f"推荐 {rec_id} 已退回提交人，待重新提交 (returned)")
    if state in _FINAL:
        return Conflict(f"推荐 {rec_id} {_FINAL[state]}，不能再决定 (already_decided)")
    if decision != "approve" and not reason.strip():
        return InvalidInput(
            f"驳回或退回推荐 {rec_id} 须说明理由",
            errors=[{"row": rec_id, "column": "reason", "reason": "必填"}],
        )
    return None


def _apply(
    conn: psycopg.Connection, user: User, rec: dict[str, Any], decision: str, reason: str
) -> dict[str, Any]:
    rec_id = rec["id"]
    partnership = None
    if decision == "approve":
        pair = pair_of(conn, rec)
        # Every rule (scope, duplicates, group, capacity, quotas) is checked under row locks by
        # the one way to create a partnership; its audit entry is written there too.
        partnership = partnerships.create(
            conn,
            user,
            pair.a,
            pair.b,
            V.review_source(rec_id),
            kind=pair.kind,
            recommendation_id=rec_id,
        )
    review = repo.insert_review(
        conn, rec_id, decision, user.id, reason.strip(), partnership["id"] if partnership else None
    )
    state = V.STATE_AFTER[decision]
    audit.record(
        conn,
        actor_id=user.id,
        action=f"review.{decision}",
        entity_type="recommendation",
        entity_id=rec_id,
        before={"state": "pending"},
        after={
            "state": state,
            "review_id": review["id"],
            "reason": review["reason"],
            "partnership_id": review["partnership_id"],
        },
    )
    return {**review, "review_id": review["id"], "state": state}


def decide(
    conn: psycopg.Connection, user: User, rec_id: int, decision: str, reason: str
) -> dict[str, Any]:
    """One decision. The row lock makes a concurrent second decision wait, then see the first
    (so it gets 409 and no second partnership)."""
    rec = repo.lock(conn, [rec_id]).get(rec_id)
    state = repo.states(conn, [rec_id]).get(rec_id)
    error = _check_decision(user, rec_id, rec, state, decision, reason)
    if error is not None:
        raise error
    assert rec is not None
    return _apply(conn, user, rec, decision, reason)


_SEVERITY = (Forbidden, NotFound, Conflict, InvalidInput)


def decide_bulk(
    conn: psycopg.Connection, user: User, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """All or nothing: every item is checked under lock first; any failure rejects the batch
    with the per-item reasons and nothing is written."""
    ids = [it["id"] for it in items]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise InvalidInput(
            "同一推荐在批量决定中出现多次",
            errors=[
                {"row": n, "column": "id", "reason": f"重复的推荐 {i}"}
                for n, i in enumerate(ids)
                if i in dupes
            ],
        )
    recs = repo.lock(conn, ids)
    states = repo.states(conn, ids)
    failures: list[tuple[int, DomainError]] = []
    for n, it in enumerate(items):
        err = _check_decision(
            user, it["id"], recs.get(it["id"]), states.get(it["id"]), it["decision"], it["reason"]
        )
        if err is not None:
            failures.append((n, err))
    if failures:
        worst = next(c for c in _SEVERITY if any(isinstance(e, c) for _, e in failures))
        raise worst(
            f"批量决定未执行：{len(failures)} / {len(items)} 项不能决定（全部或全不）",
            errors=[
                {
                    "row": n,
                    "column": "id",
                    "reason": e.detail,
                    "id": items[n]["id"],
                    "status": e.status_code,
                }
                for n, e in failures
            ],
        )
    return [_apply(conn, user, recs[it["id"]], it["decision"], it["reason"]) for it in items]


# ---- read ----------------------------------------------------------------------------------


def _party(t: str, i: int | None, names: dict[tuple[str, int], str]) -> dict[str, Any]:
    return {"type": t, "id": i, "name": names.get((t, i)) if i is not None else None}


def describe(
    conn: psycopg.Connection, rows: list[dict[str, Any]], states: dict[int, str]
) -> list[dict[str, Any]]:
    """Items with their evidence: names of both parties and their current partnerships."""
    pairs: dict[int, Pair | None] = {}
    for r in rows:
        try:
            pairs[r["id"]] = pair_of(conn, r)
        except DomainError:
            pairs[r["id"]] = None
    parties = {p for pair in pairs.values() if pair for p in pair}
    links = repo.partnerships_of(conn, parties)
    wanted: set[tuple[str, int | None]] = set(parties)
    for r in rows:
        wanted |= {(r["subject_type"], r["subject_id"]), (r["candidate_type"], r["candidate_id"])}
    for p in links:
        wanted |= {(p["a_type"], p["a_id"]), (p["b_type"], p["b_id"])}
    names = repo.names(conn, wanted)

    def links_of(party: Party) -> list[dict[str, Any]]:
        out = []
        for p in links:
            ends = [Party(p["a_type"], p["a_id"]), Party(p["b_type"], p["b_id"])]
            if party in ends:
                other = ends[1] if ends[0] == party else ends[0]
                out.append(
                    {
                        "id": p["id"],
                        "kind": p["kind"],
                        "since": p["since"],
                        "source": p["source"],
                        "other": _party(*other, names),
                    }
                )
        return out[:MAX_LINKS]

    now = datetime.now(UTC)
    items = []
    for r in rows:
        pair = pairs[r["id"]]
        items.append(
            {
                "id": r["id"],
                "run_id": r["run_id"],
                "rank": r["rank"],
                "score": r["score"],
                "state": states.get(r["id"], "draft"),
                "subject": _party(r["subject_type"], r["subject_id"], names),
                "candidate": _party(r["candidate_type"], r["candidate_id"], names),
                "party_a": _party(*pair.a, names) if pair else None,
                "party_b": _party(*pair.b, names) if pair else None,
                "kind": pair.kind if pair else None,
                "region_code": r["region_code"],
                "region_name": r["region_name"],
                "submitted_at": r["submitted_at"],
                "submitted_by": r["submitted_by_username"],
                "age_days": round((now - r["submitted_at"]).total_seconds() / 86400, 3)
                if r["submitted_at"]
                else None,
                "evidence": {
                    "features": r["features"],
                    "explanation": r["explanation"],
                    "partnerships_a": links_of(pair.a) if pair else [],
                    "partnerships_b": links_of(pair.b) if pair else [],
                },
            }
        )
    return items


def queue(
    conn: psycopg.Connection,
    user: User,
    *,
    region: str | None,
    candidate_type: str | None,
    min_score: float | None,
    max_age_days: float | None,
    sort: str,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    filters: dict[str, Any] = {
        "scope": policy.region_scope(user),
        "candidate_type": candidate_type,
        "min_score": min_score,
        "max_age_days": max_age_days,
    }
    if region is not None:
        filters["region"] = repo.region_path(conn, region)
        if filters["region"] is None:
            raise InvalidInput(
                f"行政区划代码 {region} 不存在",
                errors=[{"row": None, "column": "region", "reason": "未知代码"}],
            )
    total, rows = repo.queue(conn, filters, sort, limit, offset)
    items = describe(conn, rows, {r["id"]: "pending" for r in rows})
    return {"total": total, "limit": limit, "offset": offset, "items": items}


def item(conn: psycopg.Connection, user: User, rec_id: int) -> dict[str, Any]:
    rec = repo.get(conn, rec_id)
    if rec is None:
        raise NotFound(f"推荐 {rec_id} 不存在")
    _check_can_view(user, rec)
    return describe(conn, [rec], repo.states(conn, [rec_id]))[0]


def history(conn: psycopg.Connection, user: User, rec_id: int) -> dict[str, Any]:
    rec = repo.get(conn, rec_id)
    if rec is None:
        raise NotFound(f"推荐 {rec_id} 不存在")
    _check_can_view(user, rec)
    return {
        "recommendation_id": rec_id,
        "state": repo.states(conn, [rec_id])[rec_id],
        "submitted_at": rec["submitted_at"],
        "submitted_by": rec["submitted_by_username"],
        "decisions": repo.history(conn, rec_id),
    }
