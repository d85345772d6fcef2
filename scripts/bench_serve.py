"""`xiaoqi bench serve`: recommendation latency over real HTTP at N enterprises.

One run: a throwaway embedded PostgreSQL, the Henan sample with N enterprises, indexes built
cold (timed) and loaded again from their caches (the restart, timed), the same requests
answered in-process by the ANN engine and by an exact brute-force engine (the realistic mix,
and province-wide requests, where the scope is large enough for the ANN path to run), the
service started on loopback in a subprocess, each load level driven by concurrent clients with
requests drawn fresh from a seeded generator (subjects not asked before), every response
checked (bench_checks.ResponseChecker) and the runs stored counted, then the freshness probes
(a created enterprise, a new partnership) timed over HTTP.
"""

from __future__ import annotations

import gc
import json
import os
import secrets
import shutil
import tempfile
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

from indexing.hybrid import EXACT_SUBSET
from scripts.bench_checks import RequestGenerator, ResponseChecker, freshness_probe, stored_runs
from scripts.bench_http import (
    _a_b,
    _cold_service,
    _drive,
    _pct,
    _serve,
    _wait,
    free_port,
    load_average,
)

__all__ = ["_load_engine", "_wait", "free_port", "register_bench", "run"]  # load*.py import them

console = Console(stderr=True)


def _admin_row(conn: psycopg.Connection[Any]) -> Any:
    return conn.execute(
        "SELECT u.*, r.code AS region_code, r.name AS region_name, r.path AS region_path "
        "FROM users u LEFT JOIN regions r ON r.id = u.region_id WHERE u.username = 'bench_admin'"
    ).fetchone()


def _compare(
    url: str, var: Path, engine: Any, reqs: list[tuple[str, dict[str, Any]]]
) -> dict[str, Any]:
    """The same requests in-process by the ANN engine and by the same engine with every dense
    index swapped for exact brute force: agreement (overlap@k) and the speed ratio."""
    ann_top, ann_ms = _in_process(url, var, engine, reqs)
    exact_top, exact_ms = _in_process(url, var, engine.exact_copy(), reqs)
    overlaps = [
        len(set(a) & set(b)) / max(1, len(b)) for a, b in zip(ann_top, exact_top, strict=True) if b
    ]
    return {
        "requests": len(reqs),
        "overlap_at_k": round(float(np.mean(overlaps)), 4) if overlaps else None,
        "ann_in_process_p50_ms": _pct(ann_ms, 50),
        "ann_in_process_p99_ms": _pct(ann_ms, 99),
        "exact_in_process_p50_ms": _pct(exact_ms, 50),
        "exact_in_process_p99_ms": _pct(exact_ms, 99),
        "speed_ratio_exact_over_ann": round(_pct(exact_ms, 50) / max(_pct(ann_ms, 50), 1e-9), 2),
    }


def _token(url: str) -> str:
    from service.auth.service import digest, hash_password

    token = "xq_bench_" + secrets.token_urlsafe(16)
    with psycopg.connect(url, row_factory=dict_row) as c:
        row: Any = c.execute(
            """INSERT INTO users (username, password_hash, role)
                           VALUES ('bench_admin', %s, 'province_admin')
                           ON CONFLICT (username) DO UPDATE SET role = 'province_admin'
                           RETURNING id""",
            (hash_password(secrets.token_hex(8)),),
        ).fetchone()
        uid = row["id"]
        c.execute(
            "INSERT INTO api_tokens (user_id, token_hash, name) VALUES (%s, %s, 'bench')",
            (uid, digest(token)),
        )
    return token


def _load_engine(url: str, var: Path, encoder: str | None) -> Any:
    """The engine the service would load (building and caching every index on first use)."""
    from service.recommendations.engine import Engine

    with psycopg.connect(url, row_factory=dict_row) as conn:
        return Engine.load(
            conn,
            encoder_name=encoder,
            index_dir=var / "indexes",
            ranker_dir=var / "ranker",
            progress=True,
        )


def _in_process(
    url: str, var: Path, engine: Any, reqs: list[tuple[str, dict[str, Any]]]
) -> tuple[list[list[int]], list[float]]:
    """Answer the requests in this process (nothing stored); top ids and milliseconds each."""
    from service.config import Settings
    from service.recommendations import schemas as S
    from service.recommendations import service as svc

    settings = Settings(database_url=url, var_dir=var, mode="test")
    calls: dict[str, tuple[Any, Any]] = {
        "partner-enterprises": (svc.partner_enterprises, S.PartnerEnterprisesRequest),
        "programmes": (svc.programmes, S.ProgrammesRequest),
        "mentors": (svc.mentors, S.MentorsRequest),
        "practice-bases": (svc.practice_bases, S.PracticeBasesRequest),
    }
    tops: list[list[int]] = []
    times: list[float] = []
    with psycopg.connect(url, row_factory=dict_row) as conn:
        from service.auth.repository import to_user

        actor = to_user(_admin_row(conn))
        for kind, body in reqs:
            fn, model = calls[kind]
            t0 = time.perf_counter()
            res = fn(conn, engine, settings, model(**body), actor)
            times.append((time.perf_counter() - t0) * 1000)
            conn.rollback()  # do not store the baseline's runs
            tops.append([it.candidate["id"] for r in res.results for it in r.items])
    return tops, times


def run(
    enterprises: int,
    requests: int,
    concurrency: list[int],
    encoder: str | None,
    seed: int,
    keep: bool,
    index_cache: Path | None = None,
    workers: int = 1,
    compare: int = 200,
    baseline_tree: Path | None = None,
    serve_cold: bool = False,
) -> dict[str, Any]:
    from scripts.sample_cli import generate_sample
    from service.embedded_pg import ensure_server, stop_server
    from service.reference import setup_database
    from service.sample.load import load_dir

    root = Path(tempfile.mkdtemp(prefix="xiaoqi-bench-serve-"))
    os.chmod(root, 0o755)
    pgdata, var = root / "pgdata", root / "var"
    figures: dict[str, Any] = {
        "enterprises": enterprises,
        "requests": requests,
        "concurrency": concurrency,
        "workers": workers,
    }
    if index_cache is not None:
        # Encoded vectors survive between runs (keyed by id + text hash; the sample is
        # deterministic per seed), so a rerun skips the encoding; index_build_s then excludes it.
        index_cache.mkdir(parents=True, exist_ok=True)
        var.mkdir(parents=True)
        (var / "indexes").symlink_to(index_cache.resolve(), target_is_directory=True)
        figures["index_cache"] = str(index_cache)
    proc = None
    try:
        server = ensure_server(pgdata)
        url = server.uri
        with psycopg.connect(url, row_factory=dict_row) as conn:
            setup_database(conn)
        t0 = time.perf_counter()
        generate_sample(root / "sample", enterprises, seed)
        figures["generate_s"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        with psycopg.connect(url, row_factory=dict_row) as conn:
            load_dir(conn, root / "sample")
        figures["import_s"] = round(time.perf_counter() - t0, 1)
        token = _token(url)
        env = {
            **os.environ,
            "XIAOQI_DATABASE_URL": url,
            "XIAOQI_VAR_DIR": str(var),
            "XIAOQI_MODE": "test",
            "XIAOQI_POOL_MAX_SIZE": str(max(concurrency) + 2),
        }
        if encoder:
            env["XIAOQI_ENCODER"] = encoder
        if serve_cold:  # the service itself from nothing: serving first, dense coverage later
            figures["cold_service"] = _cold_service(
                env, workers, token, RequestGenerator(url, seed)
            )
        t0 = time.perf_counter()
        engine = _load_engine(url, var, encoder)
        figures["index_build_s"] = round(time.perf_counter() - t0, 1)  # cold, unless cached
        gen = RequestGenerator(url, seed)
        n_cmp = min(requests, compare)
        _in_process(url, var, engine, gen.draw(min(n_cmp, 20)))  # warm-up
        ent = engine.latest.candidates["enterprise"]
        figures["exact_baseline"] = {
            "mix": _compare(url, var, engine, gen.draw(n_cmp)),
            # a province-wide scope masks more rows than EXACT_SUBSET: the ANN path runs there
            "province_wide": {
                **_compare(url, var, engine, gen.draw(n_cmp, province_wide=True)),
                "dense_index": ent.index.manifest.get("dense_index"),
                "ann_used": ent.index.manifest.get("dense_index") != "flat-ip"
                and ent.snapshot.live_count > EXACT_SUBSET,
            },
        }
        del engine, ent
        gc.collect()
        t0 = time.perf_counter()
        engine = _load_engine(url, var, encoder)  # every index from its checked caches
        figures["restart_in_process_s"] = round(time.perf_counter() - t0, 1)
        del engine
        gc.collect()
        port = free_port()
        t0 = time.perf_counter()
        proc = _serve(env, port, workers, None)
        base = f"http://127.0.0.1:{port}"
        _wait(base, proc, workers=workers)
        figures["service_start_s"] = round(time.perf_counter() - t0, 1)
        _drive(base, token, gen.draw(40), max(concurrency))  # warm-up
        figures["http"] = {}
        for level in concurrency:  # fresh requests at each load level, every response checked
            reqs = gen.draw(requests)
            checker = ResponseChecker(url)
            runs_before = stored_runs(url)
            lat, results, wall, errors = _drive(base, token, reqs, level)
            for (kind, body), (_, _, status, data) in zip(reqs, results, strict=True):
                checker.check(kind, body, status, data)
            every = [x for xs in lat.values() for x in xs]
            checks = checker.summary()
            figures["http"][f"concurrency_{level}"] = {
                "all": {
                    "p50_ms": _pct(every, 50),
                    "p95_ms": _pct(every, 95),
                    "p99_ms": _pct(every, 99),
                    "throughput_rps": round(len(every) / wall, 1),
                },
                **{
                    k: {"p50_ms": _pct(v, 50), "p95_ms": _pct(v, 95), "p99_ms": _pct(v, 99)}
                    for k, v in lat.items()
                },
                "errors": errors,
                "checks": checks,
                "runs_stored": stored_runs(url) - runs_before,
                "responses_ok": checks["responses"] - checks["errors"],
                "load_average": load_average(),
            }
        if baseline_tree is not None:  # another source tree, same database and caches
            other_port = free_port()
            other = _serve(env, other_port, workers, baseline_tree)
            try:
                other_base = f"http://127.0.0.1:{other_port}"
                _wait(other_base, other, workers=workers)
                _drive(other_base, token, gen.draw(40), max(concurrency))  # warm-up
                figures["a_b"] = {
                    "baseline_tree": str(baseline_tree),
                    **_a_b(base, other_base, token, gen, requests, concurrency),
                }
            finally:
                other.terminate()
                other.wait(30)
        figures["repeated_subjects"] = gen.repeats
        figures["freshness"] = freshness_probe(base, token, url)
        figures["health"] = httpx.get(f"{base}/health", timeout=10).json()
        proc.terminate()
        proc.wait(30)
        proc = None
        return figures
    finally:
        if proc is not None:
            proc.kill()
        stop_server(pgdata)
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def register_bench(bench_app: typer.Typer) -> None:
    @bench_app.command("serve")
    def bench_serve(
        enterprises: Annotated[int, typer.Option(min=100)] = 100_000,
        requests: Annotated[int, typer.Option(min=8)] = 400,
        concurrency: Annotated[
            str, typer.Option(help="concurrent clients; a comma list runs each level in turn")
        ] = "4",
        encoder: Annotated[str | None, typer.Option(help="encoder for this run")] = None,
        seed: int = 7,
        keep: bool = False,
        index_cache: Annotated[
            Path | None, typer.Option(help="keep encoded vectors here between runs")
        ] = None,
        workers: Annotated[int, typer.Option(min=1, max=16, help="uvicorn worker processes")] = 1,
        compare: Annotated[
            int, typer.Option(min=1, help="requests answered in-process by ANN and by exact search")
        ] = 200,
        as_json: Annotated[bool, typer.Option("--json")] = False,
        baseline_tree: Annotated[
            Path | None,
            typer.Option(
                help="also serve this source tree (e.g. `git archive <commit>` unpacked) on the "
                "same database and caches, and drive both with the same requests, alternating"
            ),
        ] = None,
        serve_cold: Annotated[
            bool,
            typer.Option(
                help="first start the service itself on empty indexes: seconds until it serves "
                "(keyword + ready vectors) and until full dense coverage"
            ),
        ] = False,
    ) -> None:
        """Start the service on loopback with N sample enterprises and measure p50/p95/p99."""
        try:
            levels = sorted({int(c) for c in concurrency.split(",") if c.strip()})
        except ValueError as exc:
            raise typer.BadParameter("numbers, comma-separated", param_hint="concurrency") from exc
        if not levels or min(levels) < 1 or max(levels) > 64:
            raise typer.BadParameter("between 1 and 64", param_hint="concurrency")
        figures = run(
            enterprises,
            requests,
            levels,
            encoder,
            seed,
            keep,
            index_cache,
            workers,
            compare,
            baseline_tree,
            serve_cold,
        )
        if not as_json:
            table = Table("clients", "endpoint", "p50 ms", "p95 ms", "p99 ms")
            for level, block in figures["http"].items():
                for k, v in block.items():
                    if isinstance(v, dict) and "p50_ms" in v:
                        row = (str(v["p50_ms"]), str(v["p95_ms"]), str(v["p99_ms"]))
                        table.add_row(level, k, *row)
            console.print(table)
        print(json.dumps(figures, ensure_ascii=False))

    @bench_app.command("encode")
    def bench_encode_cmd(
        profiles: Annotated[int, typer.Option(min=10, help="texts of each kind")] = 2000,
        encoder: Annotated[str | None, typer.Option(help="encoder for this run")] = None,
        seed: int = 7,
        workers: Annotated[int | None, typer.Option(min=1, help="encoding processes")] = None,
    ) -> None:
        """Cold-ingest encoding speed: profiles per second before (every text, one process) and
        after (distinct texts once, every core), same texts, same run; prints JSON."""
        from scripts.bench_index import bench_encode

        print(json.dumps(bench_encode(profiles, encoder, seed, workers), ensure_ascii=False))
