"""/v1/review: send recommendations to review, the reviewers' queue, decisions, history."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query

from service.auth.deps import RequiredUser, require_roles
from service.auth.schemas import User
from service.deps import Conn
from service.review import service
from service.review.schemas import (
    BulkIn,
    BulkOut,
    DecisionIn,
    DecisionOut,
    HistoryOut,
    QueueOut,
    ReviewItem,
    SubmitIn,
    SubmitOut,
)

router = APIRouter(prefix="/v1/review", tags=["review"])

Decider = Depends(require_roles(*service.DECIDERS))
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "未登录"},
    403: {"description": "角色无权或超出辖区"},
}


@router.post("/submit", response_model=SubmitOut, responses=_ERRORS)
def submit(body: SubmitIn, user: RequiredUser, conn: Conn) -> dict[str, Any]:
    """Send recommendations to review. Each id is reported on its own (`results[].status`):
    200 submitted; 404 unknown; 403 outside your region (bureau / reviewer) or not your own
    request (school / enterprise users may submit items whose requester is their school,
    programme, enterprise or need); 409 already pending, already decided, or the pair is
    already partnered or pending through another item; 422 the item cannot become a
    partnership (free-text request). Returned items may be resubmitted."""
    results = service.submit(conn, user, body.recommendation_ids)
    return {"submitted": sum(r["status"] == 200 for r in results), "results": results}


@router.get("/queue", response_model=QueueOut, responses=_ERRORS)
def queue(
    conn: Conn,
    user: User = Decider,
    region: str | None = Query(
        None,
        pattern=r"^[0-9]{6}$",
        description="行政区划代码：只看该地区及其下级（仍受本人辖区限制）",
    ),
    candidate_type: Literal["enterprise", "programme", "mentor", "practice_base", "school"]
    | None = None,
    min_score: float | None = Query(None, ge=-1e9, le=1e9),
    max_age_days: float | None = Query(None, ge=0, le=36500, description="只看最近 N 天内提交的"),
    sort: Literal["score", "age"] = Query(
        "score", description="score：分数高者先；age：等待最久者先"
    ),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> dict[str, Any]:
    """Pending items (submitted, no decision since) within your region, with evidence: features,
    explanation, names of both parties and their current partnerships. Returned items are not
    here: they wait for their submitter to resubmit."""
    return service.queue(
        conn,
        user,
        region=region,
        candidate_type=candidate_type,
        min_score=min_score,
        max_age_days=max_age_days,
        sort=sort,
        limit=limit,
        offset=offset,
    )


@router.get("/items/{rec_id}", response_model=ReviewItem, responses=_ERRORS)
def get_item(rec_id: int, user: RequiredUser, conn: Conn) -> dict[str, Any]:
    """One item with its state and evidence (deciders in its region, or its submitter)."""
    return service.item(conn, user, rec_id)


@router.get("/items/{rec_id}/history", response_model=HistoryOut, responses=_ERRORS)
def history(rec_id: int, user: RequiredUser, conn: Conn) -> dict[str, Any]:
    """Every decision on the item, oldest first (decisions are appended, never changed)."""
    return service.history(conn, user, rec_id)


@router.post(
    "/items/{rec_id}/decisions",
    response_model=DecisionOut,
    responses={
        **_ERRORS,
        404: {"description": "推荐不存在"},
        409: {"description": "未提交、已退回、已审结，或双方已结对"},
    },
)
def decide(rec_id: int, body: DecisionIn, conn: Conn, user: User = Decider) -> dict[str, Any]:
    """Approve, reject or return a pending item (reason required for reject and return).

    Approval creates the partnership in the same transaction as the decision. Concurrent
    decisions on one item are serialised: the first wins, the others get 409."""
    return service.decide(conn, user, rec_id, body.decision, body.reason)


@router.post(
    "/decisions",
    response_model=BulkOut,
    responses={
        **_ERRORS,
        404: {"description": "某项不存在（全部未执行）"},
        409: {"description": "某项不能决定（全部未执行）"},
    },
)
def decide_bulk(body: BulkIn, conn: Conn, user: User = Decider) -> dict[str, Any]:
    """Decide many items at once. **All or nothing**: if any item cannot be decided (unknown,
    outside your region, not pending, missing reason, already partnered) nothing is written and
    the answer lists every failing item in `errors` (`row` = index in `items`). The status is
    that of the most serious failure: 403, then 404, 409, 422."""
    items = service.decide_bulk(conn, user, [i.model_dump() for i in body.items])
    return {"decided": len(items), "items": items}
