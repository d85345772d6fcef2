"""Reference data shipped with the product (regions), loaded after migrations; idempotent."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import psycopg

from service.config import REPO_ROOT

REGIONS_CSV = REPO_ROOT / "data" / "reference" / "regions.csv"


def load_regions(conn: psycopg.Connection[Any], path: Path = REGIONS_CSV) -> int:
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    by_code = {r["code"]: r for r in rows}

    def path_of(code: str) -> str:
        parent = by_code[code]["parent_code"]
        return f"{path_of(parent)}.{code}" if parent else code

    order = {"province": 0, "city": 1, "county": 2}
    rows.sort(key=lambda r: order[r["level"]])
    with conn.cursor() as cur:
        for r in rows:
            cur.execute(
                """INSERT INTO regions (code, name, level, parent_id, path, lat, lon)
                   VALUES (%(code)s, %(name)s, %(level)s,
                           (SELECT id FROM regions WHERE code = %(parent)s), %(path)s,
                           %(lat)s, %(lon)s)
                   ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, lat = EXCLUDED.lat,
                       lon = EXCLUDED.lon""",
                {
                    "code": r["code"],
                    "name": r["name"],
                    "level": r["level"],
                    "parent": r["parent_code"] or None,
                    "path": path_of(r["code"]),
                    "lat": float(r["lat"]) if r["lat"] else None,
                    "lon": float(r["lon"]) if r["lon"] else None,
                },
            )
    conn.commit()
    return len(rows)


def setup_database(conn: psycopg.Connection[Any]) -> list[str]:
    """Migrate and load reference data: what every entry point runs before using the db."""
    from service.db import migrate

    applied = migrate(conn)
    load_regions(conn)
    return applied
