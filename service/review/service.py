"""Submit, decide, list. Services never commit: the request's transaction does.

States (derived from the append-only `reviews`, see migration 0003, view review_state):

    draft ──submit──▶ pending ──approve──▶ approved   (partnership created, same transaction)
                        │  ├────reject───▶ rejected
                        │  └────return───▶ returned ──submit──▶ pending (again)
    Any other transition is a 409. 'return' hands the item back to its submitter: it leaves the
    queue until someone resubmits it (the decision stays in the history).
"""

from __future__ import annotations

from typing import Any

import psycopg

from models import vocab as V
from service import audit
from service.auth import policy
from service.auth.schemas import ROLES, User
from service.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, from_db_error
from service.partnerships import repository as partnership_repo
from service.partnerships import service as partnerships
from service.review import repository as repo
from service.review.access import check_can_submit, item_target, pair_of
from service.review.pairs import Pair
from service.review.views import describe, history, item, queue

# Roles that may decide (in their region, never their own submission): from the policy.
DECIDERS = tuple(r for r in ROLES if policy.RULES["review.decide"][r] != policy.NEVER)
_FINAL = {s: V.REVIEW_STATE_LABELS[s] for s in ("approved", "rejected")}

__all__ = [
    "DECIDERS",
    "decide",
    "decide_bulk",
    "describe",
    "history",
    "item",
    "item_target",
    "pair_of",
    "queue",
    "submit",
]


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
    check_can_submit(conn, user, rec)
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
