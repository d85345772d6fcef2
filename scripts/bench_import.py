"""Import benchmark: N generated enterprises into a throwaway embedded PostgreSQL.

Phases, in one run on the same data:
  first      import_file() into an empty table (stream → validate → COPY → upsert)
  reimport   the same file again (everything unchanged: nothing written)
  baseline   TRUNCATE, then the naive way: csv.reader + executemany(INSERT …) row by row
Each phase reports seconds, rows/s and the process's peak RSS so far (ru_maxrss, monotonic).

    xiaoqi bench import --enterprises 100000 [--json]
"""

from __future__ import annotations

import csv
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from models.codes import CREDIT_ALPHABET, credit_check_char

HEADER = [
    "企业名称",
    "统一社会信用代码",
    "行业代码",
    "所在地区",
    "所属园区",
    "企业规模",
    "所属集团",
    "企业简介",
    "联系人",
    "联系电话",
]
INDUSTRIES = ["C34", "C35", "C38", "C39", "C36", "I65", "I64", "M73", "C27", "C26", "G54", "E48"]
WORDS = [
    "智能",
    "装备",
    "电子",
    "新材料",
    "生物",
    "医药",
    "数字",
    "科技",
    "制造",
    "能源",
    "物流",
    "农业",
    "食品",
    "汽车",
    "软件",
]
SIZES = ["大型", "中型", "小型", "微型"]
PARKS = [f"基准测试产业园{i:02d}" for i in range(20)]
ProgressFactory = Callable[[str], AbstractContextManager[Callable[[str, int, int | None], None]]]


def peak_rss_mib() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / (1 << 20) if sys.platform == "darwin" else kb / 1024


def credit_code(i: int, region: str) -> str:
    """A unique, checksum-valid code per index i (base-31 body), so N rows never collide."""
    body = ""
    for _ in range(8):
        i, d = divmod(i, 31)
        body = CREDIT_ALPHABET[d] + body
    first17 = "91" + region + body + "0"
    return first17 + credit_check_char(first17)


def enterprise_rows(n: int, regions: list[tuple[str, str]], seed: int = 7) -> Iterator[list[str]]:
    rng = random.Random(seed)
    for i in range(n):
        code, name = regions[i % len(regions)]
        w1, w2 = rng.sample(WORDS, 2)
        industries = "；".join(rng.sample(INDUSTRIES, rng.randint(1, 3)))
        yield [
            f"河南{w1}{w2}{i}有限公司",
            credit_code(i, code),
            industries,
            name,
            PARKS[i % len(PARKS)] if i % 3 == 0 else "",
            SIZES[rng.randrange(4)],
            f"{w1}集团" if i % 10 == 0 else "",
            f"主营{w1}{w2}相关产品的研发、生产与服务，面向{name}及周边市场。",
            f"联系人{i % 997}",
            f"0371-{6000000 + i % 999999:07d}",
        ]


def write_csv(path: Path, n: int, regions: list[tuple[str, str]], seed: int = 7) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(enterprise_rows(n, regions, seed))
    return path


def _regions(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    rows = conn.execute("SELECT code, name FROM regions WHERE level <> 'province' ORDER BY code")
    return [(r["code"], r["name"]) for r in rows]


def _phase(rows: int, seconds: float, **extra: Any) -> dict[str, Any]:
    return {
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds, 1) if seconds else 0.0,
        "peak_rss_mib": round(peak_rss_mib(), 1),
        **extra,
    }


def baseline_insert(conn: psycopg.Connection[Any], path: Path) -> int:
    """The naive loader: parse the CSV and INSERT every row (executemany), no COPY, no staging."""
    regions = {r["name"]: r["id"] for r in conn.execute("SELECT id, name FROM regions")}
    parks = {r["name"]: r["id"] for r in conn.execute("SELECT id, name FROM parks")}

    def params() -> Iterator[tuple[Any, ...]]:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            next(reader)
            for name, code, inds, region, park, size, group, desc, cname, phone in reader:
                yield (
                    code,
                    name,
                    inds.split("；"),
                    regions[region],
                    parks.get(park),
                    size,
                    group or None,
                    desc,
                    cname,
                    phone,
                )

    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO enterprises (credit_code, name, industry_codes, region_id, park_id, size,
                   group_name, description, contact_name, contact_phone)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            params(),
        )
        n = conn.execute("SELECT count(*) AS n FROM enterprises").fetchone()
    conn.commit()
    return int(n["n"]) if n else 0


def run(
    n: int, *, seed: int = 7, baseline: bool = True, progress: ProgressFactory | None = None
) -> dict[str, Any]:
    from service.embedded_pg import ensure_server, stop_server
    from service.ingest.service import import_file
    from service.reference import setup_database

    root = Path(tempfile.mkdtemp(prefix="xiaoqi-ingest-bench-"))
    os.chmod(root, 0o755)  # the embedded server may run as another user
    pgdata = root / "pgdata"
    result: dict[str, Any] = {"enterprises": n, "phases": {}}
    try:
        server = ensure_server(pgdata)
        with psycopg.connect(server.uri, autocommit=True) as admin:
            admin.execute("CREATE DATABASE xiaoqi_bench")
        url = server.uri.replace("/postgres?", "/xiaoqi_bench?")
        with psycopg.connect(url, row_factory=dict_row) as conn:
            setup_database(conn)
            parks_csv = root / "parks.csv"
            parks_csv.write_text(
                "园区名称,所在地区\n" + "".join(f"{p},郑州市\n" for p in PARKS), encoding="utf-8"
            )
            import_file(conn, parks_csv, "parks.csv", "parks")
            conn.commit()
            started = time.perf_counter()
            path = write_csv(root / "enterprises.csv", n, _regions(conn), seed)
            result["generate_seconds"] = round(time.perf_counter() - started, 3)
            result["file_mib"] = round(path.stat().st_size / (1 << 20), 2)

            for phase in ("first", "reimport"):
                started = time.perf_counter()
                if progress is None:
                    report = import_file(conn, path, path.name, "enterprises")
                else:
                    with progress(phase) as cb:
                        report = import_file(conn, path, path.name, "enterprises", progress=cb)
                conn.commit()
                seconds = time.perf_counter() - started
                if not report.committed:
                    raise RuntimeError(f"benchmark import failed: {report.errors[:3]}")
                result["phases"][phase] = _phase(
                    report.total,
                    seconds,
                    inserted=report.inserted,
                    updated=report.updated,
                    unchanged=report.unchanged,
                    notes=f"+{report.inserted} ~{report.updated} ={report.unchanged}",
                )
            if baseline:
                conn.execute("TRUNCATE enterprises CASCADE")
                conn.commit()
                started = time.perf_counter()
                rows = baseline_insert(conn, path)
                result["phases"]["baseline"] = _phase(
                    rows, time.perf_counter() - started, notes="executemany INSERT"
                )
        first = result["phases"]["first"]
        if baseline:
            base = result["phases"]["baseline"]
            result["speedup_vs_baseline"] = round(base["seconds"] / first["seconds"], 2)
    finally:
        stop_server(pgdata)
        shutil.rmtree(root, ignore_errors=True)
    return result
