"""SQL the sample loader needs beyond the importer: bureaus and programme partnerships, which
have no import kind (service/ingest has no bureau kind and no programme party)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import psycopg

from service.sample.formats import BUREAUS, PROGRAMME_PARTNERSHIPS, FileSpec


def _rows(path: Path, spec: FileSpec) -> list[dict[str, str]]:
    with path.open(encoding=spec.encoding, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        fields = dict(zip(spec.headers, spec.fields, strict=True))
        return [{fields[h]: v for h, v in zip(header, row, strict=True)} for row in reader]


def upsert_bureaus(conn: psycopg.Connection[Any], path: Path) -> int:
    """Insert or update the bureaus of a sample bureaus.csv (name is the natural key)."""
    rows = _rows(path, BUREAUS)
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO bureaus (name, region_id, contact_name, contact_phone)
               SELECT %(name)s, id, %(contact_name)s, %(contact_phone)s
               FROM regions WHERE code = %(region_code)s
               ON CONFLICT (name) DO UPDATE SET region_id = EXCLUDED.region_id,
                   contact_name = EXCLUDED.contact_name,
                   contact_phone = EXCLUDED.contact_phone, updated_at = now()""",
            rows,
        )
    return len(rows)


def insert_programme_partnerships(conn: psycopg.Connection[Any], path: Path) -> int:
    """共建专业 pairs (enterprise, programme) in canonical order ('enterprise' < 'programme').
    An active pair that already exists is left alone (the one-active-pair rule)."""
    rows = _rows(path, PROGRAMME_PARTNERSHIPS)
    source = f"sample:{path.name}"
    with conn.cursor() as cur:
        cur.execute(
            """CREATE TEMP TABLE sample_pp (school_code text, major_code text, credit_code text,
                   kind text, status text, since date, progress text) ON COMMIT DROP"""
        )
        with cur.copy("COPY sample_pp FROM STDIN") as copy:
            for r in rows:
                copy.write_row(
                    (
                        r["school_code"],
                        r["major_code"],
                        r["credit_code"],
                        r["kind"],
                        r["status"],
                        r["since"],
                        r["progress"],
                    )
                )
        cur.execute(
            """INSERT INTO partnerships (a_type, a_id, b_type, b_id, kind, status, since, source,
                                         progress)
               SELECT 'enterprise', e.id, 'programme', p.id, s.kind, s.status, s.since, %s,
                      s.progress
               FROM sample_pp s
               JOIN enterprises e ON e.credit_code = s.credit_code
               JOIN schools sc ON sc.code = s.school_code
               JOIN programmes p ON p.school_id = sc.id AND p.major_code = s.major_code
               WHERE NOT EXISTS (  -- loading the same file twice adds nothing, ended rows included
                   SELECT 1 FROM partnerships x
                   WHERE x.a_type = 'enterprise' AND x.a_id = e.id
                     AND x.b_type = 'programme' AND x.b_id = p.id
                     AND (x.status = 'active' OR (x.status = s.status AND x.since = s.since)))
               ON CONFLICT DO NOTHING""",
            (source,),
        )
        inserted = cur.rowcount
        cur.execute("DROP TABLE sample_pp")
    return inserted
