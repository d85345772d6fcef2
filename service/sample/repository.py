"""SQL the sample loader needs beyond the importer: bureaus (they have no import kind)."""

from __future__ import annotations

import csv
from pathlib import Path

import psycopg


def upsert_bureaus(conn: psycopg.Connection, path: Path) -> int:
    """Insert or update the bureaus of a sample bureaus.csv (name is the natural key)."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))[1:]
    with conn.cursor() as cur:
        for name, region_code, contact_name, contact_phone in rows:
            cur.execute(
                """INSERT INTO bureaus (name, region_id, contact_name, contact_phone)
                   SELECT %s, id, %s, %s FROM regions WHERE code = %s
                   ON CONFLICT (name) DO UPDATE SET region_id = EXCLUDED.region_id,
                       contact_name = EXCLUDED.contact_name,
                       contact_phone = EXCLUDED.contact_phone, updated_at = now()""",
                (name, contact_name or None, contact_phone or None, region_code),
            )
    return len(rows)
