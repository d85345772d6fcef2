"""`xiaoqi load` (`make load`): a bounded mixed soak of the real service on loopback.

A sample world (built once under --data-dir, see scripts/load_world.py) is served by uvicorn
with N workers in a subprocess; several client threads run scripts/load_mix.py's mix for
--duration seconds and stop. Every answer is checked. The run passes when no answer was an
error and the resident memory of the server processes (the supervisor and every worker, read
from /proc) grew by less than --max-drift percent between the end of warm-up and the end.
Prints a table and JSON; --out writes the JSON (e.g. docs/results/load-100k.json).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import numpy as np
import psycopg
import typer
from psycopg.rows import dict_row
from rich.console import Console
from rich.table import Table

from scripts.load_mix import Client, Shared, Stats
from scripts.load_world import create_accounts

console = Console(stderr=True)
if not console.is_terminal:  # piped into a log: wide enough for the endpoint labels
    console.width = 132
MEMORY_EVERY_S = 5.0


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (uvicorn's supervisor, its workers, their helpers)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parents.get(p, []))
    return sorted(out)


def resident(pid: int) -> dict[str, Any]:
    """VmRSS (and its anonymous part) of the server's process tree, MiB, total and per process."""
    per: dict[str, float] = {}
    total = anon = 0.0
    for p in descendants(pid):
        try:
            fields = dict(
                line.split(":", 1) for line in Path(f"/proc/{p}/status").read_text().splitlines()
            )
        except OSError:
            continue
        mb = int(fields.get("VmRSS", "0 kB").split()[0]) / 1024
        per[str(p)] = round(mb, 1)
        total += mb
        anon += int(fields.get("RssAnon", "0 kB").split()[0]) / 1024
    return {"total_mb": round(total, 1), "anon_mb": round(anon, 1), "processes": per}


def _pct(xs: list[float], p: float) -> float | None:
    return round(float(np.percentile(xs, p)), 1) if xs else None


def soak(
    base: str,
    url: str,
    server_pid: int,
    *,
    duration: float,
    warmup: float,
    clients: int,
    seed: int = 7,
) -> dict[str, Any]:
    """Drive the running service at `base` (database `url`) for `duration` seconds, the first
    `warmup` of them not timed; every figure of the run."""
    stats = Stats()
    shared = Shared(url, seed, stats)
    accounts = create_accounts(url)
    workers = [Client(base, accounts, shared, seed * 1000 + i) for i in range(clients)]
    stop = threading.Event()
    threads = [threading.Thread(target=w.loop, args=(stop,), daemon=True) for w in workers]
    timeline: list[tuple[float, float]] = []
    t_start = time.monotonic()
    for t in threads:
        t.start()
    memory: dict[str, Any] = {}
    measured_from = 0
    t_measure = t_start
    next_sample = t_start
    while (now := time.monotonic()) < t_start + duration:
        if now >= next_sample:
            timeline.append((round(now - t_start, 1), resident(server_pid)["total_mb"]))
            next_sample += MEMORY_EVERY_S
        if not stats.measuring and now >= t_start + warmup:
            memory["after_warmup"] = resident(server_pid)
            with stats.lock:
                stats.measuring = True
                measured_from = sum(stats.requests.values())
            t_measure = now
        time.sleep(min(0.2, max(0.0, t_start + duration - now)))
    stop.set()
    for t in threads:
        t.join(120)
    t_end = time.monotonic()
    memory["end"] = resident(server_pid)
    timeline.append((round(t_end - t_start, 1), memory["end"]["total_mb"]))
    for w in workers:
        w.close()
    if "after_warmup" not in memory:  # a run shorter than its warm-up: compare with the start
        memory["after_warmup"] = {"total_mb": timeline[0][1]}
    warm, end = memory["after_warmup"]["total_mb"], memory["end"]["total_mb"]
    measured = sum(stats.requests.values()) - measured_from
    try:
        health: Any = httpx.get(f"{base}/health", timeout=10).json()
    except (httpx.HTTPError, ValueError) as exc:
        health = {"error": repr(exc)}
    endpoints = {
        label: {
            "requests": stats.requests[label],
            "errors": stats.errors[label],
            "p50_ms": _pct(stats.latency[label], 50),
            "p95_ms": _pct(stats.latency[label], 95),
            "p99_ms": _pct(stats.latency[label], 99),
        }
        for label in sorted(stats.requests)
    }
    every = [x for xs in stats.latency.values() for x in xs]
    return {
        "clients": clients,
        "duration_s": round(t_end - t_start, 1),
        "warmup_s": warmup,
        "requests": sum(stats.requests.values()),
        "errors": sum(stats.errors.values()),
        "conflicts": dict(stats.conflicts),
        "throughput_rps": round(measured / max(t_end - t_measure, 1e-9), 1),
        "all": {"p50_ms": _pct(every, 50), "p95_ms": _pct(every, 95), "p99_ms": _pct(every, 99)},
        "endpoints": endpoints,
        "recommendation_checks": shared.checker.summary(),
        "repeated_subjects": shared.gen.repeats,
        "imports": shared.imports,
        "memory": {
            "after_warmup_mb": warm,
            "end_mb": end,
            "drift_pct": round((end - warm) / warm * 100, 2) if warm else None,
            "trend_mb_per_min": _trend(timeline, warmup),
            "after_warmup": memory["after_warmup"],
            "end": memory["end"],
            "timeline": timeline,
        },
        "health": health,
        "examples": stats.examples,
    }


def _trend(timeline: list[tuple[float, float]], warmup: float) -> float | None:
    """Least-squares slope of resident memory after warm-up, MiB per minute (two end points
    can hide a steady leak behind a collection, or show one that is only a step)."""
    points = [(t, mb) for t, mb in timeline if t >= warmup]
    if len(points) < 3:
        return None
    ts, mbs = zip(*points, strict=True)
    return round(float(np.polyfit(ts, mbs, 1)[0]) * 60, 2)


def verdict(figures: dict[str, Any], max_drift: float) -> list[str]:
    """Why the run failed ([] = it passed)."""
    failures = []
    if figures["errors"]:
        failures.append(f"{figures['errors']} error answer(s)")
    drift = figures["memory"]["drift_pct"]
    if drift is None or drift >= max_drift:
        failures.append(f"resident memory drift {drift}% (limit < {max_drift}%)")
    if not figures["requests"]:
        failures.append("no request was answered")
    if figures.get("worker_restarts"):
        failures.append(f"uvicorn restarted a worker: {figures['worker_restarts']}")
    health = figures.get("health", {"status": "ok"})
    if health.get("status") != "ok":
        failures.append(f"/health at the end: {health}")
    return failures


def default_worker_healthcheck_s() -> int:
    """The same default as `xiaoqi serve`: XIAOQI_WORKER_HEALTHCHECK_S (service/config.py)."""
    from service.config import get_settings

    return get_settings().worker_healthcheck_s


def start_service(
    url: str,
    var: Path,
    encoder: str | None,
    workers: int,
    pool: int,
    log: Path,
    healthcheck_s: int = 5,
) -> tuple[subprocess.Popen[bytes], str]:
    """`uvicorn service.main:create_app` on a free loopback port, ready (every worker's engine
    loaded) when this returns. Its log (info level, no access lines) goes to `log`: uvicorn's
    supervisor writes there when it kills a worker that missed its `healthcheck_s` ping."""
    from scripts.bench_serve import _wait, free_port

    port = free_port()
    env = {
        **os.environ,
        "XIAOQI_DATABASE_URL": url,
        "XIAOQI_VAR_DIR": str(var),
        "XIAOQI_MODE": "test",
        "XIAOQI_POOL_MAX_SIZE": str(pool),
        # as `xiaoqi serve` and the Makefile set it: 2 glibc arenas (memory drift, issue 14)
        "MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", "2"),
    }
    if encoder:
        env["XIAOQI_ENCODER"] = encoder
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "service.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "info",
            "--no-access-log",
            "--workers",
            str(workers),
            "--timeout-worker-healthcheck",
            str(healthcheck_s),
        ],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base, proc, workers=workers)
    except BaseException:
        proc.kill()
        raise
    return proc, base


def run(
    data_dir: Path,
    enterprises: int,
    workers: int,
    clients: int,
    duration: float,
    warmup: float,
    encoder: str | None,
    seed: int,
    healthcheck_s: int = 5,
) -> dict[str, Any]:
    from scripts.load_world import prepare

    t0 = time.perf_counter()
    world = prepare(data_dir, enterprises, seed, encoder)
    prepared_s = round(time.perf_counter() - t0, 1)
    url, var = world.pop("url"), Path(world.pop("var"))
    with psycopg.connect(url, row_factory=dict_row) as c:
        counted: Any = c.execute("SELECT count(*) AS n FROM enterprises").fetchone()
    log = data_dir / f"server-{time.strftime('%Y%m%dT%H%M%S')}.log"
    t0 = time.perf_counter()
    proc, base = start_service(url, var, encoder, workers, clients + 4, log, healthcheck_s)
    try:
        start_s = round(time.perf_counter() - t0, 1)
        figures = soak(
            base, url, proc.pid, duration=duration, warmup=warmup, clients=clients, seed=seed
        )
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    from models.encoder import resolve_name

    # "Child process [pid] died": the supervisor killed a worker (no answer to its ping within
    # --timeout-worker-healthcheck) and started a new one, which loads its engine from scratch
    restarts = [line for line in log.read_text(errors="replace").splitlines() if " died" in line]
    return {
        "enterprises_generated": enterprises,
        "enterprises_at_start": counted["n"],
        "workers": workers,
        "encoder": resolve_name(encoder),
        "prepare_s": prepared_s,
        "prepared": world,
        "service_start_s": start_s,
        "worker_healthcheck_s": healthcheck_s,
        "server_log": str(log),
        "worker_restarts": restarts,
        **figures,
    }


def print_table(figures: dict[str, Any]) -> None:
    table = Table(
        "endpoint",
        "requests",
        "errors",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        title=f"{figures['requests']} requests, {figures['errors']} errors, "
        f"{figures['throughput_rps']} req/s",
    )
    for label, v in figures["endpoints"].items():
        table.add_row(
            label,
            str(v["requests"]),
            str(v["errors"]),
            str(v["p50_ms"]),
            str(v["p95_ms"]),
            str(v["p99_ms"]),
        )
    console.print(table)
    m = figures["memory"]
    console.print(
        f"resident memory {m['after_warmup_mb']} MiB after warm-up → {m['end_mb']} MiB "
        f"at the end ({m['drift_pct']:+}%)"
    )
    for line in figures["examples"]:
        console.print(f"[yellow]{line}[/]")


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    @app.command("load")
    def load(
        enterprises: Annotated[int, typer.Option(min=100)] = 100_000,
        duration: Annotated[float, typer.Option(min=1, help="seconds of load")] = 300,
        warmup: Annotated[float, typer.Option(min=0, help="first seconds not timed")] = 60,
        clients: Annotated[int, typer.Option(min=1, max=64)] = 6,
        workers: Annotated[int, typer.Option(min=1, max=16)] = 2,
        encoder: Annotated[
            str | None, typer.Option(help="encoder (default: the service's)")
        ] = None,
        data_dir: Annotated[
            Path, typer.Option(help="database and indexes, built once and reused")
        ] = Path("/tmp/load100k"),
        seed: int = 7,
        max_drift: Annotated[float, typer.Option(help="resident memory drift limit, %")] = 5.0,
        out: Annotated[Path | None, typer.Option(help="also write the JSON here")] = None,
        worker_healthcheck_s: Annotated[
            int | None,
            typer.Option(
                min=1,
                help="uvicorn --timeout-worker-healthcheck: a worker that misses the supervisor's "
                "ping this long is killed and replaced (default XIAOQI_WORKER_HEALTHCHECK_S, 30, "
                "what `xiaoqi serve --workers N` gets)",
            ),
        ] = None,
    ) -> None:
        """Soak the service on loopback: mixed load for --duration seconds, every answer checked;
        exits 1 on any error answer or a memory drift at or over --max-drift."""
        figures = run(
            data_dir,
            enterprises,
            workers,
            clients,
            duration,
            warmup,
            encoder,
            seed,
            worker_healthcheck_s or default_worker_healthcheck_s(),
        )
        figures["command"] = "xiaoqi " + " ".join(sys.argv[1:])
        figures["failures"] = verdict(figures, max_drift)
        figures["passed"] = not figures["failures"]
        print_table(figures)
        text = json.dumps(figures, ensure_ascii=False, indent=1)
        print(text)
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text + "\n")
        if figures["failures"]:
            console.print(f"[red]FAILED[/]: {'; '.join(figures['failures'])}")
            raise typer.Exit(1)
        console.print("[green]passed[/]")
