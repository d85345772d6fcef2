"""`xiaoqi bench restart`-style measurement (run as ``python -m scripts.bench_restart``): how
long a restart over warm caches takes, and how much memory each service worker holds, for
this tree and a baseline tree in the same run.

For each tree (its own copy of the world's ``var/`` so neither sees the other's artefacts):
one engine load in a fresh process first when that copy is new (the upgrade: it writes
whatever the tree persists),
then, alternating trees, ``--rounds`` timed restarts of each: an engine load in a fresh
process, and the service (each tree's own ``xiaoqi serve --workers N``: uvicorn's spawned workers
before service/workers.py, forked ones after) from start to every worker answering ``/health``
ready, with each worker's and the parent's RSS, PSS and USS from ``/proc/<pid>/smaps_rollup``.
With ``--probe`` (the 1,000,000-enterprise figures), each ready service is also driven over HTTP
before it stops: the freshness probe of ``xiaoqi bench serve`` (a created enterprise found by
search and in a school's top 50, a partnership respected by the next request; both rows are
deleted again afterwards, so the world can be measured again) and ``--requests`` fresh requests
of the realistic mix at each ``--concurrency`` level, every response checked. Prints JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

LOAD = """
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
import psycopg
from psycopg.rows import dict_row
from service.recommendations.engine import Engine
imported = time.perf_counter() - t0
t1 = time.perf_counter()
with psycopg.connect(sys.argv[1], row_factory=dict_row) as conn:
    engine = Engine.load(conn, encoder_name=sys.argv[3], index_dir=Path(sys.argv[2]),
                         ranker_dir=Path(sys.argv[2]).parent / "ranker")
load = time.perf_counter() - t1
mem = {}
for line in open("/proc/self/smaps_rollup"):
    parts = line.split()
    if len(parts) == 3 and parts[2] == "kB":
        mem[parts[0].rstrip(":")] = int(parts[1])
from indexing.artefacts import repairs
print(json.dumps({"import_s": round(imported, 2), "load_s": round(load, 2),
                  "rss_mb": mem["Rss"] // 1024, "repairs": len(repairs())}))
"""


def smaps(pid: int) -> dict[str, int]:
    """RSS, PSS and USS (private clean + dirty) of one process, in MiB."""
    mem: dict[str, int] = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                mem[parts[0].rstrip(":")] = int(parts[1])
    uss = mem["Private_Clean"] + mem["Private_Dirty"]
    return {"rss_mb": mem["Rss"] // 1024, "pss_mb": mem["Pss"] // 1024, "uss_mb": uss // 1024}


def _env(tree: Path, url: str, var: Path, encoder: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(tree),
        "XIAOQI_DATABASE_URL": url,
        "XIAOQI_VAR_DIR": str(var),
        "XIAOQI_MODE": "test",
        "XIAOQI_ENCODER": encoder,
        "MALLOC_ARENA_MAX": "2",  # as `xiaoqi serve`
    }


def load_once(tree: Path, url: str, var: Path, encoder: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", LOAD, url, str(var / "indexes"), encoder],
        cwd=tree,
        env=_env(tree, url, var, encoder),
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return {**found, "process_s": round(time.perf_counter() - t0, 2)}


def probe(base: str, url: str, requests: int, levels: list[int], seed: int) -> dict[str, Any]:
    """Freshness, then latency per concurrency level, against the running service."""
    import psycopg

    from scripts.bench_checks import RequestGenerator, ResponseChecker, freshness_probe
    from scripts.bench_http import _drive, _pct, load_average
    from scripts.bench_serve import _token

    token = _token(url)
    with psycopg.connect(url, autocommit=True) as c:
        row = c.execute("SELECT coalesce(max(id), 0) FROM partnerships").fetchone()
        last_partnership = row[0] if row else 0
    try:
        out: dict[str, Any] = {"freshness": freshness_probe(base, token, url)}
    finally:  # the probe's rows go again: the next run finds the same world
        with psycopg.connect(url, autocommit=True) as c:
            c.execute("DELETE FROM partnerships WHERE id > %s", (last_partnership,))
            c.execute("DELETE FROM enterprises WHERE name = '基准新鲜度测试企业有限公司'")
    gen = RequestGenerator(url, seed)
    _drive(base, token, gen.draw(40), max(levels))  # warm-up
    for level in levels:
        reqs = gen.draw(requests)
        checker = ResponseChecker(url)
        lat, results, wall, errors = _drive(base, token, reqs, level)
        for (kind, body), (_, _, status, data) in zip(reqs, results, strict=True):
            checker.check(kind, body, status, data)
        every = [x for xs in lat.values() for x in xs]
        out[f"concurrency_{level}"] = {
            "p50_ms": _pct(every, 50),
            "p95_ms": _pct(every, 95),
            "p99_ms": _pct(every, 99),
            "throughput_rps": round(len(every) / wall, 1),
            "errors": errors,
            "checks": checker.summary(),
            "load_average": load_average(),
        }
    return out


def serve_once(
    tree: Path, url: str, var: Path, encoder: str, workers: int, drive: dict[str, Any] | None
) -> dict[str, Any]:
    import psutil

    from scripts.bench_serve import _wait, free_port

    port = free_port()
    cmd = [sys.executable, "-m", "scripts.cli", "serve", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--workers", str(workers), "--worker-healthcheck-s", "120"]
    t0 = time.perf_counter()
    log = (var.parent / "serve.log").open("ab")  # stdout is this script's JSON
    proc = subprocess.Popen(
        cmd, cwd=tree, env=_env(tree, url, var, encoder), stdout=log, stderr=log
    )
    try:
        _wait(f"http://127.0.0.1:{port}", proc, timeout=1200, workers=workers)
        ready = time.perf_counter() - t0
        time.sleep(2)  # let the last worker's load settle
        kids = [
            p
            for p in psutil.Process(proc.pid).children()
            if "resource_tracker" not in " ".join(p.cmdline())
        ]
        mem = sorted((smaps(p.pid) for p in kids), key=lambda m: -m["rss_mb"])[:workers]
        parent = smaps(proc.pid)
        driven = probe(f"http://127.0.0.1:{port}", url, **drive) if drive else None
        if driven:  # after real requests: what each worker allocated to answer them (jieba …)
            driven["workers_after"] = sorted(
                (smaps(p.pid) for p in kids if p.is_running()), key=lambda m: -m["rss_mb"]
            )
    finally:
        proc.terminate()
        proc.wait(60)
        log.close()
    first = mem[0]
    return {
        "ready_s": round(ready, 1),
        "workers": mem,
        "parent": parent,
        "pss_total_mb": sum(m["pss_mb"] for m in mem),
        "pss_total_with_parent_mb": sum(m["pss_mb"] for m in mem) + parent["pss_mb"],
        # what the second worker adds: its private pages (the rest it shares with the first)
        "second_adds_share_of_first_rss": round(min(m["uss_mb"] for m in mem) / first["rss_mb"], 3)
        if len(mem) > 1
        else None,
        **({"probe": driven} if driven else {}),
    }


def main(
    world: Annotated[Path, typer.Option(help="folder with pgdata/ and var/ (indexes built)")],
    baseline_tree: Annotated[
        Path | None, typer.Option(help="e.g. git archive <commit> | tar -x; none: this tree only")
    ] = None,
    tree: Annotated[Path, typer.Option()] = Path("."),
    encoder: Annotated[str, typer.Option()] = "hash",
    workers: Annotated[int, typer.Option()] = 2,
    rounds: Annotated[int, typer.Option()] = 1,
    work: Annotated[Path, typer.Option(help="scratch copies of var/")] = Path("/tmp/restart/runs"),
    var_name: Annotated[str, typer.Option(help="the world's var folder")] = "var",
    load: Annotated[bool, typer.Option(help="also time an engine load in a fresh process")] = True,
    drive: Annotated[bool, typer.Option("--probe", help="freshness + latency once ready")] = False,
    requests: Annotated[int, typer.Option(help="with --probe: requests per level")] = 200,
    concurrency: Annotated[str, typer.Option(help="with --probe: client levels")] = "1,4",
    seed: int = 7,
) -> None:
    from service.embedded_pg import ensure_server

    url = ensure_server(world / "pgdata").uri
    trees = {"after": tree.resolve()}
    if baseline_tree is not None:
        trees = {"before": baseline_tree.resolve(), **trees}
    levels = [int(c) for c in concurrency.split(",")]
    driving = {"requests": requests, "levels": levels, "seed": seed} if drive else None
    var = {}
    result: dict[str, Any] = {"world": str(world), "encoder": encoder, "workers": workers}
    for name in trees:
        var[name] = work / name / "var"
        if not var[name].exists():
            shutil.copytree(world / var_name, var[name], symlinks=True)
            # the upgrade: a first load writes what this tree persists (snapshots, IVF file)
            result.setdefault("upgrade_load", {})[name] = load_once(
                trees[name], url, var[name], encoder
            )
    for r in range(rounds):
        for name, path in trees.items():
            entry = result.setdefault(name, {"load": [], "serve": []})
            if load:
                entry["load"].append(load_once(path, url, var[name], encoder))
            entry["serve"].append(serve_once(path, url, var[name], encoder, workers, driving))
            entry["loadavg"] = os.getloadavg()
            print(f"round {r} {name}: {entry['serve'][-1]}", file=sys.stderr)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    typer.run(main)
