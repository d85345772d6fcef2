"""Who may ask for what, and the last check before a response leaves: the scope parts of the
recommendation journeys. Every decision is service.auth.policy's.

* `resolve_scope`: the region the request is limited to — a bureau's or reviewer's own region
  when it names none; 403 when it names one outside theirs.
* the subject (school, programme, park, need) must lie inside the actor's region, or be the
  school / enterprise account's own — whatever the request's `region` says (`recommend`);
  free text is for any account.
* `keep_in_scope`: defence in depth — every item is re-checked against the resolved region
  before it is stored or sent; an item outside it is dropped and logged as an engine fault.
* `require_run`: a stored run is for its requester, admins, and the region's reviewers and
  bureaus (`run.read`).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import psycopg
import pydantic
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from service.auth import policy, targets
from service.auth import repository as auth_repo
from service.auth.deps import current_user, require_user
from service.errors import Forbidden, InvalidInput, NotFound
from service.recommendations import repository as repo

log = logging.getLogger("xiaoqi.recommendations.scope")

_SUBJECT_LABELS = {"school": "学校", "programme": "专业", "park": "产业园区", "need": "需求"}


def subjects_of(req: Any) -> list[tuple[str, int]]:
    """The stored subjects a request asks for (none for free text)."""
    if hasattr(req, "all_subjects"):
        return [(s.type, int(s.id)) for s in req.all_subjects()]
    out = []
    if getattr(req, "programme_id", None) is not None:
        out.append(("programme", int(req.programme_id)))
    if getattr(req, "need_id", None) is not None:
        out.append(("need", int(req.need_id)))
    return out


def resolve_scope(conn: psycopg.Connection, actor: Any, req: Any) -> dict[str, Any] | None:
    """Check the actor may ask about every subject of `req`, then return the region the
    candidates are limited to (None = no limit).

    `actor` None is an internal caller (benchmarks, simulations, engine tests): every HTTP
    handler passes an authenticated user (RequiredUser), so anonymous requests never get here."""
    return _resolve(conn, actor, req)


def _resolve(conn: psycopg.Connection, actor: Any, req: Any) -> dict[str, Any] | None:
    if actor is None:
        actor = policy.SYSTEM
    region = None
    code = getattr(req, "region", None)
    if code:
        region = repo.region_by_code(conn, code)
        if region is None:
            raise InvalidInput(f"未知的行政区划代码：{code}")
    policy.require_role(actor, "recommend")
    found = targets.of_rows(conn, subjects_of(req))
    for (stype, sid), target in found.items():
        if target.regions == (None,) and not target.owners:
            raise NotFound(f"{_SUBJECT_LABELS.get(stype, stype)} {sid} 不存在")
        policy.require(actor, "recommend", target, f"{_SUBJECT_LABELS.get(stype, stype)} {sid}")
    if policy.RULES["recommend"][policy.role_of(actor)] == policy.REGION:
        if region is None:
            region = repo.region_by_id(conn, actor.region_id) if actor.region_id else None
            if region is None:
                raise Forbidden("账号没有辖区，不能请求推荐 (no_region)")
        elif not policy.inside(actor, str(region["path"])):
            raise Forbidden("只能在本辖区范围内请求推荐 (out_of_region)")
    return region


def keep_in_scope(
    per_subject: list[Any], region: dict[str, Any] | None, entity: str, kind: str
) -> list[Any]:
    """Drop (and log as an engine fault) every item whose candidate lies outside `region`."""
    if region is None:
        return per_subject
    scope = str(region["path"])
    out = []
    for subject, items, excluded in per_subject:
        kept = []
        for it in items:
            path = it.row.get("region_path")
            if path is not None and (path == scope or str(path).startswith(scope + ".")):
                kept.append(it)
            else:
                log.error(
                    "engine fault: %s item %s:%s (region %s) outside the request scope %s; dropped",
                    kind,
                    entity,
                    it.row.get("id"),
                    path,
                    scope,
                )
        out.append((subject, kept, excluded))
    return out


def require_run(conn: psycopg.Connection, actor: Any, run_id: int) -> None:
    found = auth_repo.run_scope(conn, run_id)
    if found is None:
        raise NotFound(f"推荐记录 {run_id} 不存在")
    owners = {("user", int(found["requester_id"]))} if found["requester_id"] else set()
    target = policy.Target("run", tuple(found["paths"]) or (None,), frozenset(owners))
    policy.require(actor, "run.read", target, f"推荐记录 {run_id}")


def subject_scope(model: type[Any]) -> Any:
    """A route dependency that, while the engine is still loading, checks the request body's
    scope before the request waits for it: a request about another region's subject is 403 (an
    unknown one 404) whether or not the engine is ready. It takes no `Conn`: FastAPI would keep
    that pooled connection, in its open transaction, through the wait, and a crowd of waiters
    took the whole pool (the 100k soak; PostgreSQL then ended the idle transactions). The check
    borrows a connection for its own short transaction and gives it back before the wait.
    With the engine loaded there is no wait, and the handler's resolve_scope checks on its own
    `Conn`. An invalid body is left to the endpoint's own validation (422)."""

    async def dependency(request: Request) -> None:
        state = request.app.state
        ready: threading.Event | None = getattr(state, "engine_ready", None)
        if getattr(state, "engine", None) is not None and (ready is None or ready.is_set()):
            return  # no wait ahead: the handler's UserTxn resolves the caller (401 there)
        pool = state.pool

        def check() -> None:
            user = require_user(request, current_user(request))  # 401 before any wait
            try:
                req = model.model_validate_json(body)
            except pydantic.ValidationError:
                return
            with pool.connection() as conn, conn.transaction():
                _resolve(conn, user, req)  # raises 403/404/422 here, before any wait

        body = await request.body()
        await run_in_threadpool(check)

    return dependency
