"""The two matching journeys: a bureau asks for partner enterprises, an enterprise describes a
need. Both call the recommendation services directly and send chosen items to review."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from service.auth.deps import TxConn, region_scope
from service.auth.schemas import User
from service.errors import DomainError
from service.recommendations import schemas as S
from service.recommendations import service as recs
from service.recommendations.router import EngineLoaded
from service.review import service as review
from service.web import repository as repo
from service.web.render import (
    BUREAU_ROLES,
    PARTY_LABELS,
    REVIEW_ROLES,
    gate,
    page,
    safe_next,
    scope_label,
)

router = APIRouter(include_in_schema=False)
SUBJECT_TYPES = {t: PARTY_LABELS[t] for t in ("school", "programme", "park")}


def _engine(request: Request) -> Any:
    """The recommendation engine (waits a bounded time while it loads; else a clear error)."""
    from service.recommendations.router import engine_of

    return engine_of(request)


def _problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return (
            "；".join(str(e.get("msg", "")).removeprefix("Value error, ") for e in exc.errors())
            or "输入有误"
        )
    if isinstance(exc, DomainError):
        return exc.detail
    raise exc


# ---- bureau ------------------------------------------------------------------------------------


def _bureau_page(
    request: Request,
    conn: TxConn,
    user: User,
    *,
    kind: str,
    q: str,
    chosen: int | None,
    k: int,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> Response:
    if kind not in SUBJECT_TYPES:
        kind = "school"
    options = repo.subjects(
        conn,
        kind,
        scope=region_scope(user),
        q=q[:100],
        school_id=user.school_id if user.role == "school" else None,
    )
    return page(
        request,
        "bureau.html",
        title="教育局推荐",
        kind=kind,
        q=q,
        options=options,
        chosen=chosen,
        k=k,
        subject_types=SUBJECT_TYPES,
        result=result,
        error=error,
        scope=scope_label(user),
        pick_limit=repo.PICK_LIMIT,
    )


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 10 else None


@router.get("/bureau")
def bureau(
    request: Request, conn: TxConn, type: str = "school", q: str = "", id: str | None = None
) -> Response:
    user = gate(request, BUREAU_ROLES)
    if isinstance(user, Response):
        return user
    return _bureau_page(request, conn, user, kind=type, q=q, chosen=_int(id), k=10)


@router.post("/bureau", dependencies=[EngineLoaded])
def bureau_recommend(
    request: Request,
    conn: TxConn,
    type: Annotated[str, Form(max_length=20)] = "school",
    id: Annotated[str, Form(max_length=12)] = "",
    k: Annotated[str, Form(max_length=4)] = "10",
    q: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    user = gate(request, BUREAU_ROLES)
    if isinstance(user, Response):
        return user
    chosen, size = _int(id), min(max(_int(k) or 10, 1), 30)
    result, error = None, None
    if chosen is None:
        error = "请先选择学校、专业或园区"
    else:
        try:
            body = S.PartnerEnterprisesRequest.model_validate(
                {"subject": {"type": type, "id": chosen}, "k": size}
            )
            with conn.transaction():
                answer = recs.partner_enterprises(
                    conn, _engine(request), request.app.state.settings, body, user
                )
            result = answer.model_dump()
        except (ValidationError, DomainError) as exc:
            error = _problem(exc)
    return _bureau_page(
        request, conn, user, kind=type, q=q, chosen=chosen, k=size, result=result, error=error
    )


# ---- enterprise --------------------------------------------------------------------------------


def _enterprise_page(request: Request, conn: TxConn, user: User, **context: Any) -> Response:
    needs = repo.enterprise_needs(conn, user.enterprise_id) if user.enterprise_id else []
    base = {"text": "", "need_id": None, "sections": None, "error": None}
    return page(
        request, "enterprise.html", title="企业需求匹配", needs=needs, **{**base, **context}
    )


@router.get("/enterprise")
def enterprise(request: Request, conn: TxConn) -> Response:
    user = gate(request)
    if isinstance(user, Response):
        return user
    return _enterprise_page(request, conn, user)


def _match_need(
    request: Request, conn: TxConn, user: User, text: str, need_id: int | None
) -> dict[str, Any]:
    """Programmes, mentors and practice bases for the need (stored or free text)."""
    engine, settings = _engine(request), request.app.state.settings
    source: dict[str, Any] = {"need_id": need_id} if need_id else {"text": text}
    programmes = recs.programmes(conn, engine, settings, S.ProgrammesRequest(**source, k=6), user)
    mentors = recs.mentors(conn, engine, settings, S.MentorsRequest(**source, k=5), user)
    # Practice bases are matched to programmes by the API; for a need we search them by text.
    query = text
    if need_id:
        row = repo.need(conn, need_id)
        query = f"{row['title']} {row['description']}" if row else text
    bases = recs.search(conn, engine, query[:500] or "实践基地", ["practice_base"], 5)
    return {
        "programmes": programmes.model_dump()["results"][0],
        "mentors": mentors.model_dump()["results"][0],
        "bases": [b.model_dump() for b in bases],
    }


@router.post("/enterprise", dependencies=[EngineLoaded])
def enterprise_match(
    request: Request,
    conn: TxConn,
    text: Annotated[str, Form(max_length=4000)] = "",
    need_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    user = gate(request)
    if isinstance(user, Response):
        return user
    need = _int(need_id)
    if need is not None and user.role == "enterprise":
        row = repo.need(conn, need)
        if row is None or row["enterprise_id"] != user.enterprise_id:
            need = None  # only the enterprise's own stored needs
    text = text.strip()
    sections, error = None, None
    if need is None and len(text) < 2:
        error = "请用至少两个字描述需求，或选择一条已登记的需求"
    else:
        try:
            with conn.transaction():
                sections = _match_need(request, conn, user, text, need)
        except (ValidationError, DomainError) as exc:
            error = _problem(exc)
    return _enterprise_page(
        request, conn, user, text=text, need_id=need, sections=sections, error=error
    )


# ---- send to review ----------------------------------------------------------------------------


@router.post("/submit")
def submit_form(
    request: Request,
    conn: TxConn,
    rec: Annotated[list[str] | None, Form()] = None,
    back: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Checked recommendations → review; each item is reported on its own."""
    user = gate(request)
    if isinstance(user, Response):
        return user
    ids = [int(v) for v in (rec or []) if v.isdigit() and len(v) < 10][:500]
    target = safe_next(back)
    if not ids:
        return page(
            request,
            "submitted.html",
            title="提交审核",
            results=[],
            back=target,
            error="请至少勾选一项推荐",
            ok=0,
            can_review=user.role in REVIEW_ROLES,
        )
    with conn.transaction():
        results = review.submit(conn, user, ids)
    names = _names_of(conn, ids)
    for r in results:
        r["label"] = names.get(r["id"], "")
    return page(
        request,
        "submitted.html",
        title="提交审核",
        results=results,
        back=target,
        error=None,
        ok=sum(r["status"] == 200 for r in results),
        can_review=user.role in REVIEW_ROLES,
    )


def _names_of(conn: Any, ids: list[int]) -> dict[int, str]:
    from service.review import repository as review_repo

    rows = review_repo.get_many(conn, ids)
    names = repo.names(
        conn,
        [(r["subject_type"], r["subject_id"]) for r in rows]
        + [(r["candidate_type"], r["candidate_id"]) for r in rows],
    )
    return {
        r["id"]: f"{names.get((r['subject_type'], r['subject_id']), '文字描述')} ↔ "
        f"{names.get((r['candidate_type'], r['candidate_id']), '')}"
        for r in rows
    }
