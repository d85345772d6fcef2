"""Recommendation endpoints (sync handlers over the connection pool)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal

import psycopg
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from service.auth.deps import CurrentUser, RequiredUser, UserTransaction, UserTxn
from service.auth.middleware import resolve_in_route
from service.auth.schemas import User
from service.config import Settings
from service.deps import Conn
from service.errors import DomainError
from service.ratelimit import anonymous_limit
from service.recommendations import access, engine_health, service
from service.recommendations import schemas as S
from service.recommendations.engine import Engine

router = APIRouter(prefix="/v1", tags=["recommendations"])

log = logging.getLogger(__name__)


class EngineUnavailable(DomainError):
    status_code = 503
    code = "engine_unavailable"


async def wait_for_engine(request: Request) -> None:
    """Dependency: wait (bounded by engine_wait_s) while the engine loads, BEFORE the request
    takes a pooled connection or a worker thread, so callers arriving during a long index load
    cannot starve the pool (sleeps on the event loop; the handler's engine_of then 503s)."""
    state = request.app.state
    ready: threading.Event | None = getattr(state, "engine_ready", None)
    if ready is None or ready.is_set():
        return
    deadline = time.monotonic() + state.settings.engine_wait_s
    while not ready.is_set() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


# Listed first among a route's dependencies (FastAPI solves them in order): before Conn.
EngineLoaded = Depends(wait_for_engine)


def engine_of(request: Request) -> Engine:
    """The loaded engine, or 503 at once (the waiting is wait_for_engine's, before Conn)."""
    state = request.app.state
    engine = getattr(state, "engine", None)
    if engine is None:
        error = getattr(state, "engine_error", None)
        raise EngineUnavailable(
            "推荐引擎尚未就绪" + (f"：{error}" if error else "（正在加载索引）")
        )
    return engine


def refresh_later(request: Request, engine: Engine) -> Engine:
    """For anonymous reads: pin the latest published state and bring the engine up to date in a
    background thread (one at a time), so an anonymous request never rebuilds the partnership
    graph or an index synchronously. The next request sees the refreshed state."""
    state = request.app.state
    lock = _REFRESH_LOCK
    if lock.acquire(blocking=False):
        pool = state.pool

        def work() -> None:
            try:
                with pool.connection(timeout=30) as conn:
                    engine.refresh(conn)
            except Exception:  # the published state keeps serving; a later request retries
                log.warning("background engine refresh failed", exc_info=True)
            finally:
                lock.release()

        threading.Thread(target=work, name="xiaoqi-anon-refresh", daemon=True).start()
    engine.pin()
    return engine


_REFRESH_LOCK = threading.Lock()


def limit_compute_threads(n: int) -> None:
    """Cap numpy's BLAS and FAISS's OpenMP pools in this server process (XIAOQI_COMPUTE_THREADS).

    Measured at 100k enterprises with two uvicorn workers: idle BLAS/OpenMP threads spinning
    between calls took the cores the other worker needed."""
    import faiss
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n)
    faiss.omp_set_num_threads(n)


def load_engine(app: FastAPI) -> None:
    """Startup hook: load snapshots, indexes (built or loaded by manifest), graph and ranker in
    a background thread, so the catalogue and /health answer while a large index loads."""
    settings = app.state.settings
    app.state.engine_ready = threading.Event()
    limit_compute_threads(settings.compute_threads)

    def work() -> None:
        try:
            with app.state.pool.connection(timeout=120) as conn:
                app.state.engine = Engine.load(
                    conn,
                    encoder_name=settings.encoder,
                    index_dir=settings.indexes,
                    ranker_dir=settings.var_dir / "ranker",
                    pool=app.state.pool,
                    defer_encoding_from=settings.defer_encoding_from or None,
                )
        except Exception as exc:  # reported by engine_of and /health, not swallowed
            log.exception("recommendation engine failed to load")
            app.state.engine_error = f"{type(exc).__name__}: {exc}"
        finally:
            app.state.engine_ready.set()

    threading.Thread(target=work, name="xiaoqi-engine-load", daemon=True).start()


def engine_status(app: FastAPI) -> str:
    """ready | partial (serving; dense vectors still being encoded) | loading | failed."""
    engine = getattr(app.state, "engine", None)
    if engine is not None:
        return engine_health.status(engine)
    return "failed" if getattr(app.state, "engine_error", None) else "loading"


def engine_detail(app: FastAPI) -> dict[str, Any]:
    """The loaded engine's own report (dense coverage, indexes, deltas, repairs) for /health."""
    engine = getattr(app.state, "engine", None)
    return engine_health.health(engine) if engine is not None else {}


def _json(result: S.RecommendationResponse) -> Response:
    """Serialised once, by pydantic's Rust core: returning the model would make FastAPI dump it to
    a dict, validate that against the response model again and only then encode it."""
    return Response(result.model_dump_json(), media_type="application/json")


Journey = Callable[[psycopg.Connection, Engine, Settings, Any, User], S.RecommendationResponse]


async def _answer(request: Request, txn: UserTransaction, journey: Journey, body: Any) -> Response:
    """The journey, its stored run and the serialised response in one worker-thread hop, on the
    transaction the caller was resolved on (committed before the response is sent)."""
    settings = request.app.state.settings

    def work(conn: psycopg.Connection, user: User) -> Response:
        return _json(journey(conn, engine_of(request), settings, body, user))

    return await run_in_threadpool(txn.run, work)


# Their callers are looked up on the handler's own transaction (UserTxn), not by the middleware.
resolve_in_route(
    *(
        f"{router.prefix}/recommendations/{name}"
        for name in ("partner-enterprises", "programmes", "mentors", "practice-bases")
    )
)


@router.post(
    "/recommendations/partner-enterprises",
    response_model=S.RecommendationResponse,
    dependencies=[Depends(access.subject_scope(S.PartnerEnterprisesRequest)), EngineLoaded],
)
async def partner_enterprises(
    body: S.PartnerEnterprisesRequest, request: Request, txn: UserTxn
) -> Response:
    """Candidate partner enterprises for a school, programme or park, within the bureau's region.

    Guards applied before ranking: already partnered (incl. duplicate records of the
    enterprise), another enterprise of the same group partnered with the school, pending review,
    the programme's capacity, and the quotas (industries per school, schools per industry)."""
    return await _answer(request, txn, service.partner_enterprises, body)


@router.post(
    "/recommendations/programmes",
    response_model=S.RecommendationResponse,
    dependencies=[Depends(access.subject_scope(S.ProgrammesRequest)), EngineLoaded],
)
async def programmes(body: S.ProgrammesRequest, request: Request, txn: UserTxn) -> Response:
    """Programmes (专业) that fit a stored need or a free-text description."""
    return await _answer(request, txn, service.programmes, body)


@router.post(
    "/recommendations/mentors",
    response_model=S.RecommendationResponse,
    dependencies=[Depends(access.subject_scope(S.MentorsRequest)), EngineLoaded],
)
async def mentors(body: S.MentorsRequest, request: Request, txn: UserTxn) -> Response:
    """Mentors (学术/科研导师, 产业教授) for a programme, a need or a student's interest."""
    return await _answer(request, txn, service.mentors, body)


@router.post(
    "/recommendations/practice-bases",
    response_model=S.RecommendationResponse,
    dependencies=[Depends(access.subject_scope(S.PracticeBasesRequest)), EngineLoaded],
)
async def practice_bases(body: S.PracticeBasesRequest, request: Request, txn: UserTxn) -> Response:
    """Practice bases (实践教学基地) for a programme, honouring slots and distance."""
    return await _answer(request, txn, service.practice_bases, body)


@router.get("/recommendations/runs/{run_id}")
def get_run(
    run_id: Annotated[int, Path(ge=1, le=2_147_483_647)], conn: Conn, user: RequiredUser
) -> dict[str, Any]:
    """A stored run: request, results, features and the versions that produced it. For its
    requester, admins, and the reviewers and bureaus of its region (403 otherwise)."""
    access.require_run(conn, user, run_id)
    return service.get_run(conn, run_id)


SearchType = Literal["all", "enterprise", "programme", "mentor", "practice_base"]


@router.get(
    "/search",
    response_model=list[S.SearchHit],
    tags=["search"],
    # the rate limit first: a client over budget is refused before it waits or takes anything
    dependencies=[anonymous_limit("search"), EngineLoaded],
)
def search(
    request: Request,
    conn: Conn,
    user: CurrentUser,
    q: Annotated[str, Query(min_length=1, max_length=500)],
    type: SearchType = "all",
    k: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[S.SearchHit]:
    """Free-text search across entity types (published catalogue; open to anonymous readers)."""
    types: list[str] = (
        ["enterprise", "programme", "mentor", "practice_base"] if type == "all" else [type]
    )
    engine = engine_of(request)
    if user is None:
        return service.search(conn, refresh_later(request, engine), q, types, k, refresh=False)
    return service.search(conn, engine, q, types, k)


@router.get("/duplicates", tags=["recommendations"], dependencies=[EngineLoaded])
def duplicates(
    request: Request,
    conn: Conn,
    user: RequiredUser,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Enterprise records that are one company (same credit code or normalised name match)."""
    engine = engine_of(request)
    engine.refresh(conn)
    clusters = engine.clusters[offset : offset + limit]
    from service.recommendations import repository as repo

    names = repo.enterprise_names(conn, [i for c in clusters for i in c])
    return {
        "total": len(engine.clusters),
        "limit": limit,
        "offset": offset,
        "items": [
            {"canonical_id": c[0], "records": [names.get(i, {"id": i}) for i in c]}
            for c in clusters
        ],
    }
