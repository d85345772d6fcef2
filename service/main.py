"""create_app(): the FastAPI application. The lifespan opens the pool and migrates once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service.config import Settings, get_settings
from service.db import database_url, make_pool
from service.errors import ERROR_RESPONSES, install_handlers
from service.reference import setup_database
from service.tcp import nodelay_for_every_tcp_socket

ROUTERS = [
    "service.catalog.router",
    "service.ingest.router",
    "service.exports.router",
    "service.recommendations.router",
    "service.review.router",
    "service.auth.router",
    "service.web.router",
    "service.plans.router",
    "service.cohorts.router",
    "service.web.pages_plans",
]


def _include_routers(app: FastAPI) -> None:
    import importlib

    for name in ROUTERS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # domain not built yet
            raise
        app.include_router(module.router)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    nodelay_for_every_tcp_socket()  # see service/tcp.py: 40 ms per request with --workers

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = database_url(settings)
        pool = make_pool(url, settings)
        with pool.connection(timeout=60) as conn:  # a busy machine may connect slowly
            setup_database(conn)
        app.state.pool = pool
        app.state.settings = settings
        for hook in getattr(app.state, "startup_hooks", []):
            hook(app)
        try:
            yield
        finally:
            pool.close()

    app = FastAPI(
        title="xiaoqi 校企",
        version="0.1.0",
        description="Matching and recommendation for industry–education integration (产教融合).",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,  # the real error shape, not FastAPI's HTTPValidationError
    )
    app.state.startup_hooks = []
    install_handlers(app)
    _include_routers(app)
    from service.auth.middleware import install as install_auth
    from service.recommendations.router import load_engine

    install_auth(app)
    app.state.startup_hooks.append(load_engine)

    from service.health import router as health_router

    app.include_router(health_router)
    return app
