"""The `xiaoqi` command line. Each domain registers its own commands (scripts/*_cli.py)."""

from __future__ import annotations

import importlib
import json
import logging
import os
import warnings
from typing import Any

import typer
from rich.console import Console

app = typer.Typer(
    help="xiaoqi 校企 — matching for industry–education integration.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(
    help="The database: migrate, start, stop, dump, restore.", no_args_is_help=True
)
bench_app = typer.Typer(
    help="Benchmarks that print figures (JSON with --json).", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(bench_app, name="bench")
console = Console()

# Modules that add their commands with register(app, bench_app).
COMMAND_MODULES = [
    "scripts.ingest_cli",
    "scripts.sample_cli",
    "scripts.retrieval_cli",
    "scripts.recommend_cli",
    "scripts.users_cli",
    "scripts.plan_cli",
    "scripts.load",
    "scripts.db_cli",  # db dump / db restore (issue 14)
]


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending SQL migrations and load reference data (regions)."""
    from service.db import connect
    from service.reference import setup_database

    with connect() as conn:
        applied = setup_database(conn)
    console.print(f"applied {len(applied)} migration(s): {', '.join(applied) or '-'}")


@db_app.command("start")
def db_start() -> None:
    """Start (or reuse) the embedded PostgreSQL server and print its URL."""
    from service.config import get_settings
    from service.embedded_pg import ensure_server

    settings = get_settings()
    if settings.database_url:
        console.print("XIAOQI_DATABASE_URL is set: using that server, nothing to start")
        return
    server = ensure_server(settings.pgdata)
    console.print(json.dumps({"uri": server.uri, "pid": server.pid, "pgdata": str(server.pgdata)}))


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL server."""
    from service.config import get_settings
    from service.embedded_pg import stop_server

    stopped = stop_server(get_settings().pgdata)
    console.print("stopped" if stopped else "not running")


@db_app.command("url")
def db_url() -> None:
    """Print the database URL (starting the embedded server if needed)."""
    from service.db import database_url

    print(database_url())


@app.command("serve")
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    worker_healthcheck_s: int | None = typer.Option(
        None,
        min=1,
        help="with --workers N: seconds a worker may miss the supervisor's ping before it is "
        "replaced (default XIAOQI_WORKER_HEALTHCHECK_S, 30)",
    ),
) -> None:
    """Serve the API and web UI."""
    from service.config import get_settings

    # glibc gives threads their own malloc arenas (up to 8 per core) and keeps what they free:
    # under the soak's mix (100k enterprises, 2 workers) resident memory grew 11.6 % in 7 minutes
    # with the default, and far less with 2 (docs/notes/issue-14-load.md). A value already set is
    # kept; the forked workers get it through mallopt (service/workers.py).
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    healthcheck_s = worker_healthcheck_s or get_settings().worker_healthcheck_s
    if workers == 1:
        import uvicorn

        from service.workers import limit_malloc_arenas

        limit_malloc_arenas(int(os.environ["MALLOC_ARENA_MAX"]))
        uvicorn.run("service.main:create_app", factory=True, host=host, port=port)
        return
    from service.main import create_app
    from service.workers import serve as serve_forked

    # forked from a parent that has imported the app and jieba: a second worker shares them
    raise typer.Exit(serve_forked(create_app, host, port, workers, healthcheck_s))


@app.command("demo")
def demo(
    enterprises: int = typer.Option(3000, help="sample enterprises to generate on first run"),
    seed: int = 7,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Set up everything on first run (database, sample data, indexes, demo users), then serve."""
    from service.db import connect
    from service.reference import setup_database

    with connect() as conn:
        setup_database(conn)
        empty: Any = conn.execute("SELECT NOT EXISTS (SELECT 1 FROM enterprises) AS e").fetchone()
    for module, func, kwargs in [
        ("scripts.sample_cli", "load_sample", {"enterprises": enterprises, "seed": seed}),
        ("scripts.recommend_cli", "build_all_indexes", {}),
        ("scripts.users_cli", "ensure_demo_users", {}),
    ]:
        if func == "load_sample" and not (empty and empty["e"]):
            continue
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError:
            continue
        if hasattr(mod, func):
            getattr(mod, func)(**kwargs)
    console.print(f"[bold green]xiaoqi[/] serving on http://{host}:{port}  (docs: /docs)")
    serve(host=host, port=port, worker_healthcheck_s=None)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue
            raise
        module.register(app, bench_app)


def main() -> None:
    warnings.filterwarnings("ignore", module="platformdirs")
    logging.getLogger("jieba").setLevel(logging.WARNING)
    _register_all()
    app()


if __name__ == "__main__":
    main()
