"""End to end: a generated sample goes through the real importer into PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from service.sample.generate import generate
from service.sample.load import load_dir

TABLES = (
    "bureaus",
    "parks",
    "schools",
    "programmes",
    "enterprises",
    "needs",
    "mentors",
    "practice_bases",
    "partnerships",
)


def _count(conn: psycopg.Connection[dict[str, Any]], table: str) -> int:
    row = conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()
    assert row is not None
    return int(row["n"])


def test_sample_loads_into_every_table(clean_db: str, tmp_path: Path) -> None:
    manifest = generate(tmp_path, 200, seed=11, max_schools=40)
    with psycopg.connect(clean_db, row_factory=dict_row) as conn:
        load_dir(conn, tmp_path)
        counts = {t: _count(conn, t) for t in TABLES}
        assert all(n > 0 for n in counts.values()), counts
        assert counts["enterprises"] == manifest.counts["enterprises"] == 200
        assert counts["schools"] == manifest.counts["schools"]
        assert counts["programmes"] == manifest.counts["programmes"]
        kinds = {r["kind"] for r in conn.execute("SELECT DISTINCT kind FROM partnerships")}
        assert {"结对包联", "共建专业"} <= kinds
        types = {
            (r["a_type"], r["b_type"])
            for r in conn.execute("SELECT DISTINCT a_type, b_type FROM partnerships")
        }
        assert {("bureau", "park"), ("enterprise", "school"), ("enterprise", "programme")} <= types
        # Loading the same files again changes nothing (idempotent upserts).
        load_dir(conn, tmp_path)
        again = {t: _count(conn, t) for t in TABLES}
        assert again == counts, {t: (counts[t], again[t]) for t in TABLES if counts[t] != again[t]}
