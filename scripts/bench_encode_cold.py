"""A cold start from nothing, step by step, within a time limit.

Generates N sample enterprises, imports them into a fresh PostgreSQL, starts the service (N
uvicorn workers) on empty index folders and follows ``/health`` until full dense coverage or
``--limit-s``: seconds per step, until the engine serves (``partial``: keyword results plus the
vectors that are ready), a check of the first answers, each background fill as it completes,
and the service's own log lines. Prints JSON. Where the limit stops the run first, the figures
say so (``full_dense_s`` null); extrapolate from ``bench encode``'s measured rate.

    nice -n 10 python -m scripts.bench_encode_cold --enterprises 100000 --workers 2 \\
        --limit-s 1080
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import psycopg
import typer
from psycopg.rows import dict_row


def _serve(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    from scripts.load import default_worker_healthcheck_s

    cmd = [sys.executable, "-m", "uvicorn", "service.main:create_app", "--factory"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    # as `xiaoqi serve`: uvicorn's own 5 s would kill a worker busy loading on a loaded machine
    cmd += ["--timeout-worker-healthcheck", str(default_worker_healthcheck_s())]
    env = {"MALLOC_ARENA_MAX": "2", **env}
    with log.open("wb") as fh:  # the child keeps its own descriptor
        return subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT)


def _follow(
    base: str, proc: subprocess.Popen[bytes], t0: float, limit_s: float, first: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"serving_s": None, "full_dense_s": None, "timeline": []}
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
            out["first_answers"] = first(base)
        if state == "ready":
            out["full_dense_s"] = now
            break
        time.sleep(2.0)
    out["stopped_at_s"] = round(time.perf_counter() - t0, 1)
    return out


def run(enterprises: int, workers: int, seed: int, limit_s: float) -> dict[str, Any]:
    from scripts.bench_checks import RequestGenerator, ResponseChecker
    from scripts.bench_serve import _drive, _token, free_port
    from scripts.sample_cli import generate_sample
    from service.embedded_pg import ensure_server, stop_server
    from service.reference import setup_database
    from service.sample.load import load_dir

    root = Path(tempfile.mkdtemp(prefix="xiaoqi-bench-cold-"))
    os.chmod(root, 0o755)
    figures: dict[str, Any] = {"enterprises": enterprises, "workers": workers}
    figures["load_avg_start"] = [round(x, 2) for x in os.getloadavg()]
    proc = None
    try:
        server = ensure_server(root / "pgdata")
        with psycopg.connect(server.uri, row_factory=dict_row) as conn:
            setup_database(conn)
        t0 = time.perf_counter()
        generate_sample(root / "sample", enterprises, seed)
        figures["generate_s"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        with psycopg.connect(server.uri, row_factory=dict_row) as conn:
            load_dir(conn, root / "sample")
        figures["import_s"] = round(time.perf_counter() - t0, 1)
        token = _token(server.uri)
        gen = RequestGenerator(server.uri, seed)
        env = {
            **os.environ,
            "XIAOQI_DATABASE_URL": server.uri,
            "XIAOQI_VAR_DIR": str(root / "var"),
            "XIAOQI_MODE": "test",
        }

        def first(base: str) -> dict[str, Any]:
            reqs = gen.draw(20)
            lat, results, _, errors = _drive(base, token, reqs, 1)
            checker = ResponseChecker(server.uri)
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
        figures["cold_service"] = _follow(f"http://127.0.0.1:{port}", proc, t0, limit_s, first)
        figures["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
        return figures
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(60)
            log = (root / "service.log").read_text(encoding="utf-8", errors="replace")
            keep = ("dense", "coverage", "encod", "load", "built", "Error", "Traceback")
            figures["service_log"] = [ln for ln in log.splitlines() if any(k in ln for k in keep)]
        stop_server(root / "pgdata")
        shutil.rmtree(root, ignore_errors=True)


def main(
    enterprises: Annotated[int, typer.Option(min=100)] = 100_000,
    workers: Annotated[int, typer.Option(min=1, max=8, help="uvicorn worker processes")] = 2,
    seed: int = 7,
    limit_s: Annotated[float, typer.Option(help="stop following after this many seconds")] = 1080,
) -> None:
    """Cold start from nothing: generate, import, serve; seconds per step; prints JSON."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop the service and db
    print(json.dumps(run(enterprises, workers, seed, limit_s), ensure_ascii=False))


if __name__ == "__main__":
    typer.run(main)
