"""`xiaoqi bench serve`'s HTTP side: the service started in a subprocess (this tree or a
baseline tree), waited for, driven by concurrent clients, and the A/B between two trees."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from scripts.bench_checks import ENDPOINTS


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(xs: list[float], p: float) -> float:
    return round(float(np.percentile(xs, p)), 2) if xs else float("nan")


def _wait(
    base: str, proc: subprocess.Popen[bytes], timeout: float = 1800, workers: int = 1
) -> None:
    """Until the engine answers ready; with several workers, that many times in a row per
    worker (each loads its own engine and the socket spreads new connections)."""
    deadline = time.monotonic() + timeout
    in_a_row = 0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the service exited during start")
        try:
            r = httpx.get(f"{base}/health", timeout=2)
            if r.status_code == 200 and r.json().get("engine") == "ready":
                in_a_row += 1
                if in_a_row >= 4 * workers - 3:
                    return
                continue
            in_a_row = 0
            if r.json().get("engine") == "failed":
                raise RuntimeError("the recommendation engine failed to load")
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError("service did not start")


def _drive(
    base: str, token: str, reqs: list[tuple[str, dict[str, Any]]], concurrency: int
) -> tuple[dict[str, list[float]], list[tuple[str, float, int, dict[str, Any]]], float, int]:
    headers = {"Authorization": f"Bearer {token}"}
    clients = [httpx.Client(base_url=base, headers=headers, timeout=60) for _ in range(concurrency)]

    def one(i: int) -> tuple[str, float, int, dict[str, Any]]:
        kind, body = reqs[i]
        t0 = time.perf_counter()
        r = clients[i % concurrency].post(f"/v1/recommendations/{kind}", json=body)
        ms = (time.perf_counter() - t0) * 1000
        return kind, ms, r.status_code, (r.json() if r.status_code == 200 else {})

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, range(len(reqs))))
    wall = time.perf_counter() - t0
    for c in clients:
        c.close()
    lat: dict[str, list[float]] = {k: [] for k in ENDPOINTS}
    errors = 0
    for kind, ms, status, _ in results:
        lat[kind].append(ms)
        errors += status != 200
    return lat, results, wall, errors


def _serve(
    env: dict[str, str], port: int, workers: int, cwd: Path | None
) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "uvicorn", "service.main:create_app", "--factory"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    # as `xiaoqi serve`: uvicorn's own 5 s health check kills workers busy loading a 100k world
    from scripts.load import default_worker_healthcheck_s

    cmd += ["--timeout-worker-healthcheck", str(default_worker_healthcheck_s())]
    return subprocess.Popen([*cmd, "--workers", str(workers)], env=env, cwd=cwd)


def _stats(ms: list[float], wall: float) -> dict[str, float]:
    return {
        "p50_ms": _pct(ms, 50),
        "p95_ms": _pct(ms, 95),
        "p99_ms": _pct(ms, 99),
        "throughput_rps": round(len(ms) / wall, 1) if wall else 0.0,
    }


def _cold_service(env: dict[str, str], workers: int, token: str, gen: Any) -> dict[str, Any]:
    """Start the service on empty index folders and follow /health: when it first serves
    (engine partial or ready, and a recommendation answered), when dense coverage is full."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    proc = _serve(env, port, workers, None)
    out: dict[str, Any] = {"serving_s": None, "full_dense_s": None, "first_answer": None}
    try:
        while time.perf_counter() - t0 < 3600:
            if proc.poll() is not None:
                raise RuntimeError("the service exited during a cold start")
            try:
                health = httpx.get(f"{base}/health", timeout=5).json()
            except (httpx.HTTPError, ValueError):
                time.sleep(0.5)
                continue
            state = health.get("engine")
            if state == "failed":
                raise RuntimeError("the recommendation engine failed to load")
            if state in ("partial", "ready") and out["serving_s"] is None:
                out["serving_s"] = round(time.perf_counter() - t0, 1)
                lat, results, _, errors = _drive(base, token, gen.draw(20), 1)
                out["first_answer"] = {
                    "engine": state,
                    "coverage": health.get("engine_detail", {}).get("dense", {}).get("coverage"),
                    "errors": errors,
                    "p50_ms": _pct([x for xs in lat.values() for x in xs], 50),
                    "dense_complete": [
                        r[3].get("versions", {}).get("dense_complete") for r in results
                    ][:3],
                }
            if state == "ready":
                out["full_dense_s"] = round(time.perf_counter() - t0, 1)
                out["engine_detail_dense"] = health.get("engine_detail", {}).get("dense")
                return out
            time.sleep(1.0)
        return out
    finally:
        proc.terminate()
        proc.wait(30)


def load_average() -> list[float]:
    """The machine's 1-, 5- and 15-minute load averages, printed beside every figure (a shared
    machine: absolutes are read against them)."""
    return [round(x, 2) for x in os.getloadavg()]


def _a_b(
    this: str, baseline: str, token: str, gen: Any, requests: int, levels: list[int]
) -> dict[str, Any]:
    """The same fresh requests to this service and to the baseline one, in alternating chunks
    (AB, then BA), so both see the same machine load: latency per side and the ratio."""
    out: dict[str, Any] = {}
    for level in levels:
        reqs = gen.draw(requests)
        ms: dict[str, list[float]] = {"this": [], "baseline": []}
        wall = {"this": 0.0, "baseline": 0.0}
        errors = {"this": 0, "baseline": 0}
        step = max(level * 5, 20)
        for n, lo in enumerate(range(0, len(reqs), step)):
            chunk = reqs[lo : lo + step]
            order = [("this", this), ("baseline", baseline)]
            for side, base in order if n % 2 == 0 else order[::-1]:
                lat, _, spent, errs = _drive(base, token, chunk, level)
                ms[side] += [x for xs in lat.values() for x in xs]
                wall[side] += spent
                errors[side] += errs
        block: dict[str, Any] = {
            side: {**_stats(ms[side], wall[side]), "errors": errors[side]} for side in ms
        }
        block["p50_baseline_over_this"] = round(
            block["baseline"]["p50_ms"] / max(block["this"]["p50_ms"], 1e-9), 2
        )
        block["load_average"] = load_average()
        out[f"concurrency_{level}"] = block
    return out
