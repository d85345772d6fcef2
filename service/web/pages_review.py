"""The review queue: pending items with their evidence, single and bulk decisions, history."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from models.vocab import PARTY_LABELS
from service.auth.deps import TxConn, region_scope
from service.errors import DomainError
from service.review import service as review
from service.web import repository as repo
from service.web.render import DECISION_NAMES, REVIEW_ROLES, gate, page, scope_label

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 20
CANDIDATE_TYPES = {
    t: PARTY_LABELS[t] for t in ("enterprise", "programme", "mentor", "practice_base")
}


def _back(path: str, ok: str | None = None, err: str | None = None) -> RedirectResponse:
    query = {k: v for k, v in (("ok", ok), ("err", err)) if v}
    sep = "&" if "?" in path else "?"
    return RedirectResponse(path + (sep + urlencode(query) if query else ""), status_code=303)


def _local(path: str) -> str:
    return path if path.startswith("/review") and "//" not in path else "/review"


@router.get("/review")
def queue(
    request: Request,
    conn: TxConn,
    sort: str = "score",
    type: str = "",
    page_no: Annotated[str, Query(alias="page")] = "1",
    ok: str = "",
    err: str = "",
) -> Response:
    user = gate(request, REVIEW_ROLES)
    if isinstance(user, Response):
        return user
    number = int(page_no) if page_no.isdigit() and len(page_no) < 6 else 1
    number = max(number, 1)
    sort = sort if sort in ("score", "age") else "score"
    ctype = type if type in CANDIDATE_TYPES else None
    data = review.queue(
        conn,
        user,
        region=None,
        candidate_type=ctype,
        min_score=None,
        max_age_days=None,
        sort=sort,
        limit=PAGE_SIZE,
        offset=(number - 1) * PAGE_SIZE,
    )
    pages = max(1, -(-data["total"] // PAGE_SIZE))
    return page(
        request,
        "review.html",
        title="审核队列",
        items=data["items"],
        total=data["total"],
        sort=sort,
        ctype=ctype or "",
        page_no=number,
        pages=pages,
        candidate_types=CANDIDATE_TYPES,
        ok=ok[:300],
        err=err[:600],
        scope=scope_label(user),
        here=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
    )


@router.post("/review/items/{rec_id}/decide")
def decide(
    request: Request,
    conn: TxConn,
    rec_id: int,
    decision: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(max_length=500)] = "/review",
) -> Response:
    user = gate(request, REVIEW_ROLES)
    if isinstance(user, Response):
        return user
    target = _local(back)
    if decision not in DECISION_NAMES:
        return _back(target, err="请选择批准、驳回或退回")
    try:
        with conn.transaction():
            out = review.decide(conn, user, rec_id, decision, reason)
    except DomainError as exc:
        return _back(target, err=exc.detail)
    done = f"推荐 {rec_id} 已{DECISION_NAMES[decision]}"
    if out.get("partnership_id"):
        done += f"，已建立结对关系（编号 {out['partnership_id']}）"
    return _back(target, ok=done)


@router.post("/review/bulk")
def decide_bulk(
    request: Request,
    conn: TxConn,
    rec: Annotated[list[str] | None, Form()] = None,
    decision: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(max_length=500)] = "/review",
) -> Response:
    user = gate(request, REVIEW_ROLES)
    if isinstance(user, Response):
        return user
    target = _local(back)
    ids = list(dict.fromkeys(int(v) for v in (rec or []) if v.isdigit() and len(v) < 10))[:200]
    if not ids:
        return _back(target, err="请先勾选要批量处理的推荐")
    if decision not in DECISION_NAMES:
        return _back(target, err="请选择批准、驳回或退回")
    items = [{"id": i, "decision": decision, "reason": reason} for i in ids]
    try:
        with conn.transaction():
            review.decide_bulk(conn, user, items)
    except DomainError as exc:
        details = "；".join(str(e.get("reason", "")) for e in exc.errors[:5])
        return _back(target, err=exc.detail + (f"：{details}" if details else ""))
    return _back(target, ok=f"已批量{DECISION_NAMES[decision]} {len(ids)} 项")


@router.get("/review/history")
def history_list(request: Request, conn: TxConn) -> Response:
    user = gate(request, REVIEW_ROLES)
    if isinstance(user, Response):
        return user
    rows = repo.recent_decisions(conn, region_scope(user), 100)
    names = repo.names(
        conn,
        [(r["subject_type"], r["subject_id"]) for r in rows]
        + [(r["candidate_type"], r["candidate_id"]) for r in rows],
    )
    for r in rows:
        r["subject_name"] = names.get((r["subject_type"], r["subject_id"]), "文字描述")
        r["candidate_name"] = names.get((r["candidate_type"], r["candidate_id"]), "")
    return page(
        request, "review_history.html", title="审核记录", rows=rows, scope=scope_label(user)
    )


@router.get("/review/items/{rec_id}")
def item(request: Request, conn: TxConn, rec_id: str, ok: str = "", err: str = "") -> Response:
    user = gate(request)
    if isinstance(user, Response):
        return user
    if not rec_id.isdigit() or len(rec_id) > 9:
        return page(
            request, "error.html", status_code=404, title="未找到", message=f"推荐 {rec_id} 不存在"
        )
    number = int(rec_id)
    try:
        with conn.transaction():
            detail: dict[str, Any] = review.item(conn, user, number)
            hist = review.history(conn, user, number)
    except DomainError as exc:
        return page(
            request, "error.html", status_code=exc.status_code, title="无法查看", message=exc.detail
        )
    return page(
        request,
        "review_item.html",
        title=f"推荐 {number}",
        it=detail,
        history=hist,
        # four eyes: no decision buttons on one's own submission (the service refuses it too)
        can_decide=user.role in REVIEW_ROLES
        and detail["state"] == "pending"
        and detail["submitted_by"] != user.username,
        ok=ok[:300],
        err=err[:600],
        here=f"/review/items/{number}",
        quote=quote,
    )
