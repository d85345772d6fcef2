"""A cold start from nothing, step by step, within a time limit.

Generates N sample enterprises, imports them into a fresh PostgreSQL, starts the service (N
uvicorn workers) on empty index folders and follows ``/health`` until full dense coverage or
``--limit-s``: seconds per step, until the engine serves (``partial``: keyword results plus the
vectors that are ready), a check of the first answers, each background fill as it completes,
and the service's own log lines. Prints JSON. Where the limit stops the run first, the figures
say so (``full_dense_s`` null); extrapolate from ``bench encode``'s measured rate.

``--baseline-tree DIR`` (a ``git archive`` of an earlier commit) adds an A/B of the import
step: the same sample imported by that tree's ``load_dir`` and by this one's, each in a
process of its own started from its tree, into a fresh database each (its own migrations),
alternating for ``--import-rounds``; the cold start then serves the last import of this tree.
``--import-only`` stops after the A/B.

    python -m scripts.bench_encode_cold --enterprises 100000 --workers 2 --limit-s 900 \\
        --baseline-tree /tmp/cold/base
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import psycopg
import typer


def _serve(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    from scripts.load import default_worker_healthcheck_s

    cmd = [sys.executable, "-m", "uvicorn", "service.main:create_app", "--factory"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    # as `xiaoqi serve`: uvicorn's own 5 s would kill a worker busy loading on a loaded machine
    cmd += ["--timeout-worker-healthcheck", str(default_worker_healthcheck_s())]
    env = {"MALLOC_ARENA_MAX": "2", **env}
    with log.open("wb") as fh:  # the child keeps its own descriptor
        return subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT)


POLLS = 8  # /health answers in a row (fresh connections, spread over the workers)


def _poll(base: str) -> list[str]:
    """The engine state in POLLS answers of /health, each on a new connection (the kernel hands
    them to the workers in turn): every worker's state, not only the first one to answer."""
    states = []
    for _ in range(POLLS):
        try:
            states.append(str(httpx.get(f"{base}/health", timeout=10).json().get("engine")))
        except (httpx.HTTPError, ValueError):
            states.append("unreachable")
    return states


def _follow(
    base: str, proc: subprocess.Popen[bytes], t0: float, limit_s: float, first: Any
) -> dict[str, Any]:
    """Seconds from the service's start until a worker serves (``serving_s``), every worker
    does (``all_serving_s``), a worker reports full dense coverage, every worker does
    (``full_dense_s``); the /health timeline with each change of state or coverage."""
    out: dict[str, Any] = {
        "serving_s": None,
        "all_serving_s": None,
        "first_full_dense_s": None,
        "full_dense_s": None,
        "timeline": [],
    }
    last: Any = None
    while time.perf_counter() - t0 < limit_s:
        if proc.poll() is not None:
            raise RuntimeError("the service exited during the cold start")
        try:
            health = httpx.get(f"{base}/health", timeout=10).json()
        except (httpx.HTTPError, ValueError):
            time.sleep(1.0)
            continue
        state = health.get("engine")
        dense = health.get("engine_detail", {}).get("dense", {})
        now = round(time.perf_counter() - t0, 1)
        # workers answer in turn, each with its own timings: a change is a part completed
        seen = (state, sorted(dense.get("coverage") or {}))
        if seen != last:
            out["timeline"].append({"s": now, "engine": state, **dense})
            last = seen
        if state == "failed":
            raise RuntimeError("the recommendation engine failed to load")
        if state in ("partial", "ready") and out["serving_s"] is None:
            out["serving_s"] = now
        waiting = out["serving_s"] is not None and out["all_serving_s"] is None
        if waiting and all(s in ("partial", "ready") for s in _poll(base)):
            out["all_serving_s"] = round(time.perf_counter() - t0, 1)
            out["first_answers"] = first(base)  # every worker serves: check what they say
        if state == "ready" and out["first_full_dense_s"] is None:
            out["first_full_dense_s"] = now
        if out["first_full_dense_s"] is not None and all(s == "ready" for s in _poll(base)):
            out["full_dense_s"] = round(time.perf_counter() - t0, 1)
            out["health_at_full"] = health.get("engine_detail", {}).get("dense")
            break
        time.sleep(2.0)
    out["stopped_at_s"] = round(time.perf_counter() - t0, 1)
    return out


_IMPORT = """
import json, sys, time
from pathlib import Path
import psycopg
from psycopg.rows import dict_row
from service.reference import setup_database
from service.sample.load import load_dir

with psycopg.connect(sys.argv[1], row_factory=dict_row) as conn:
    setup_database(conn)
    t0 = time.perf_counter()
    reports = load_dir(conn, Path(sys.argv[2]))
    seconds = time.perf_counter() - t0
kinds = {k: getattr(r, "seconds", None) for k, r in reports.items()}
print(json.dumps({"seconds": round(seconds, 1), "kinds": kinds}))
"""


def import_in(tree: Path, server_uri: str, db: str, sample: Path) -> dict[str, Any]:
    """``load_dir`` of ``tree`` (its own code and migrations) into a fresh database ``db``, in a
    process started from that tree; seconds, per kind, and the load average around it."""
    with psycopg.connect(server_uri, autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {db}")
    url = server_uri.replace("/postgres?", f"/{db}?")
    env = {**os.environ, "PYTHONPATH": str(tree), "XIAOQI_DATABASE_URL": url}
    load_before = round(os.getloadavg()[0], 2)
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT, url, str(sample)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = round(time.perf_counter() - t0, 1)
    if done.returncode:
        raise RuntimeError(f"import from {tree} failed: {done.stderr[-2000:]}")
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    out |= {"tree": str(tree), "wall_s": wall, "url": url}
    out["load_avg_1min"] = [load_before, round(os.getloadavg()[0], 2)]
    return out


def import_ab(
    server_uri: str,
    sample: Path,
    baseline: Path | None,
    rounds: int,
    out: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], str]:
    """Alternating imports (baseline first in each round); the figures and the URL of the
    database this tree imported last (what the cold start serves)."""
    here = Path(__file__).resolve().parents[1]
    runs: dict[str, list[dict[str, Any]]] = {"current": []}
    if baseline is not None:
        runs["baseline"] = []
    out = {} if out is None else out
    out["runs"] = runs  # filled as each import completes
    for r in range(rounds):
        if baseline is not None:
            runs["baseline"].append(import_in(baseline.resolve(), server_uri, f"base_{r}", sample))
        runs["current"].append(import_in(here, server_uri, f"cur_{r}", sample))
    median = {k: sorted(x["seconds"] for x in v)[len(v) // 2] for k, v in runs.items()}
    out["seconds_median"] = median
    if baseline is not None and median["current"]:
        out["speedup"] = round(median["baseline"] / median["current"], 2)
    return out, runs["current"][-1]["url"]


def run(
    enterprises: int,
    workers: int,
    seed: int,
    limit_s: float,
    baseline_tree: Path | None = None,
    import_rounds: int = 1,
    import_only: bool = False,
    figures: dict[str, Any] | None = None,
    total_s: float | None = None,
) -> dict[str, Any]:
    """Every step's figures, filled into ``figures`` as they come (a run stopped early keeps
    what it measured). ``total_s``: follow the service only until this many seconds after the
    start of the whole run (``limit_s`` at most)."""
    from scripts.bench_checks import RequestGenerator, ResponseChecker
    from scripts.bench_serve import _drive, _token, free_port
    from scripts.sample_cli import generate_sample
    from service.embedded_pg import ensure_server, stop_server

    root = Path(tempfile.mkdtemp(prefix="xiaoqi-bench-cold-"))
    os.chmod(root, 0o755)
    started = time.perf_counter()
    figures = {} if figures is None else figures
    figures |= {"enterprises": enterprises, "workers": workers}
    figures["load_avg_start"] = [round(x, 2) for x in os.getloadavg()]
    figures["load_avg_1min_every_30s"] = samples = []
    stop = threading.Event()

    def sample_load() -> None:
        while not stop.wait(30):
            samples.append(round(os.getloadavg()[0], 2))

    threading.Thread(target=sample_load, daemon=True).start()
    proc = None
    try:
        server = ensure_server(root / "pgdata")
        t0 = time.perf_counter()
        generate_sample(root / "sample", enterprises, seed)
        figures["generate_s"] = round(time.perf_counter() - t0, 1)
        figures["import"] = {}
        _, url = import_ab(
            server.uri, root / "sample", baseline_tree, import_rounds, figures["import"]
        )
        figures["import_s"] = figures["import"]["runs"]["current"][-1]["seconds"]
        if import_only:
            figures["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
            return figures
        token = _token(url)
        gen = RequestGenerator(url, seed)
        env = {
            **os.environ,
            "XIAOQI_DATABASE_URL": url,
            "XIAOQI_VAR_DIR": str(root / "var"),
            "XIAOQI_MODE": "test",
        }

        def first(base: str) -> dict[str, Any]:
            reqs = gen.draw(20)
            lat, results, _, errors = _drive(base, token, reqs, 1)
            checker = ResponseChecker(url)
            for (kind, body), (_, _, status, data) in zip(reqs, results, strict=True):
                checker.check(kind, body, status, data)
            every = sorted(x for xs in lat.values() for x in xs)
            return {
                "errors": errors,
                "checks": checker.summary(),
                "p50_ms": round(every[len(every) // 2], 1) if every else None,
                "dense_complete": sorted(
                    {str(r[3].get("versions", {}).get("dense_complete")) for r in results}
                ),
            }

        port = free_port()
        t0 = time.perf_counter()
        proc = _serve(env, port, workers, root / "service.log")
        if total_s is not None:
            limit_s = min(limit_s, total_s - (time.perf_counter() - started))
        figures["follow_limit_s"] = round(limit_s, 1)
        cold = _follow(f"http://127.0.0.1:{port}", proc, t0, limit_s, first)
        figures["cold_service"] = cold
        before = figures["generate_s"] + figures["import_s"]
        for key in ("serving_s", "all_serving_s", "full_dense_s"):
            value = cold[key]
            figures[f"from_nothing_{key}"] = None if value is None else round(before + value, 1)
        figures["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
        return figures
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(60)
            log = (root / "service.log").read_text(encoding="utf-8", errors="replace")
            keep = ("dense", "coverage", "encod", "load", "built", "Error", "Traceback")
            figures["service_log"] = [ln for ln in log.splitlines() if any(k in ln for k in keep)]
        stop.set()
        stop_server(root / "pgdata")
        shutil.rmtree(root, ignore_errors=True)


def main(
    enterprises: Annotated[int, typer.Option(min=100)] = 100_000,
    workers: Annotated[int, typer.Option(min=1, max=8, help="uvicorn worker processes")] = 2,
    seed: int = 7,
    limit_s: Annotated[float, typer.Option(help="stop following after this many seconds")] = 1080,
    baseline_tree: Annotated[
        Path | None, typer.Option(help="also import with this tree (A/B of the import step)")
    ] = None,
    import_rounds: Annotated[int, typer.Option(min=1, help="A/B rounds, alternating")] = 1,
    import_only: Annotated[bool, typer.Option(help="stop after the import A/B")] = False,
    out: Annotated[Path | None, typer.Option(help="also write the JSON here")] = None,
    total_s: Annotated[
        float | None, typer.Option(help="stop following this many seconds after the start")
    ] = None,
) -> None:
    """Cold start from nothing: generate, import, serve; seconds per step; prints JSON."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop the service and db
    figures: dict[str, Any] = {
        "command": "python -m scripts.bench_encode_cold " + " ".join(sys.argv[1:])
    }
    try:
        run(enterprises, workers, seed, limit_s, baseline_tree, import_rounds, import_only,
            figures, total_s)  # fmt: skip
    finally:  # also when stopped (SIGTERM, an error): what was measured is printed
        text = json.dumps(figures, ensure_ascii=False)
        print(text)
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    typer.run(main)
