"""`xiaoqi bench restart`-style measurement (run as ``python -m scripts.bench_restart``): how
long a restart over warm caches takes, and how much memory each service worker holds, for
this tree and a baseline tree in the same run.

For each tree (its own copy of the world's ``var/`` so neither sees the other's artefacts):
one engine load in a fresh process first when that copy is new (the upgrade: it writes
whatever the tree persists),
then, alternating trees, ``--rounds`` timed restarts of each: an engine load in a fresh
process, and the service (uvicorn, ``--workers``) from start to every worker answering
``/health`` ready, with each worker's RSS, PSS and USS from ``/proc/<pid>/smaps_rollup``.
Prints JSON.
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


def serve_once(tree: Path, url: str, var: Path, encoder: str, workers: int) -> dict[str, Any]:
    import psutil

    from scripts.bench_serve import _wait, free_port

    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "service.main:create_app", "--factory"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    cmd += ["--workers", str(workers), "--timeout-worker-healthcheck", "120"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=tree, env=_env(tree, url, var, encoder))
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
    finally:
        proc.terminate()
        proc.wait(60)
    first = mem[0]
    return {
        "ready_s": round(ready, 1),
        "workers": mem,
        "pss_total_mb": sum(m["pss_mb"] for m in mem),
        # what the second worker adds: its private pages (the rest it shares with the first)
        "second_adds_share_of_first_rss": round(min(m["uss_mb"] for m in mem) / first["rss_mb"], 3)
        if len(mem) > 1
        else None,
    }


def main(
    world: Annotated[Path, typer.Option(help="folder with pgdata/ and var/ (indexes built)")],
    baseline_tree: Annotated[Path, typer.Option(help="e.g. git archive <commit> | tar -x")],
    tree: Annotated[Path, typer.Option()] = Path("."),
    encoder: Annotated[str, typer.Option()] = "hash",
    workers: Annotated[int, typer.Option()] = 2,
    rounds: Annotated[int, typer.Option()] = 1,
    work: Annotated[Path, typer.Option(help="scratch copies of var/")] = Path("/tmp/restart/runs"),
) -> None:
    from service.embedded_pg import ensure_server

    url = ensure_server(world / "pgdata").uri
    trees = {"before": baseline_tree.resolve(), "after": tree.resolve()}
    var = {}
    result: dict[str, Any] = {"world": str(world), "encoder": encoder, "workers": workers}
    for name in trees:
        var[name] = work / name / "var"
        if not var[name].exists():
            shutil.copytree(world / "var", var[name], symlinks=True)
            # the upgrade: a first load writes what this tree persists (snapshots, IVF file)
            result.setdefault("upgrade_load", {})[name] = load_once(
                trees[name], url, var[name], encoder
            )
    for r in range(rounds):
        for name, path in trees.items():
            entry = result.setdefault(name, {"load": [], "serve": []})
            entry["load"].append(load_once(path, url, var[name], encoder))
            entry["serve"].append(serve_once(path, url, var[name], encoder, workers))
            entry["loadavg"] = os.getloadavg()
            print(f"round {r} {name}: {entry['serve'][-1]}", file=sys.stderr)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    typer.run(main)
