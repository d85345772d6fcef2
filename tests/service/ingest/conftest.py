"""Fixtures for import tests: a rolled-back connection with a few reference rows, file writers."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest

from models.codes import make_credit_code


def credit_codes(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [make_credit_code(rng) for _ in range(n)]


def write_csv(
    path: Path, rows: Sequence[Sequence[Any]], encoding: str = "utf-8", delimiter: str = ","
) -> Path:
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def write_xlsx(
    path: Path, rows: Sequence[Sequence[Any]], title_rows: Sequence[str] = (), sheet: str = "Sheet1"
) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    for t in title_rows:
        ws.append([t])
    for r in rows:
        ws.append(list(r))
    wb.save(path)
    return path


def write_jsonl(path: Path, objects: Sequence[Any]) -> Path:
    path.write_text(
        "\n".join(json.dumps(o, ensure_ascii=False) for o in objects) + "\n", encoding="utf-8"
    )
    return path


def region_id(conn: psycopg.Connection, code: str) -> int:
    return int(conn.execute("SELECT id FROM regions WHERE code = %s", (code,)).fetchone()["id"])


def add_park(
    conn: psycopg.Connection, name: str = "郑州经济技术开发区", code: str = "410100"
) -> int:
    return int(
        conn.execute(
            "INSERT INTO parks (name, region_id) VALUES (%s, %s) RETURNING id",
            (name, region_id(conn, code)),
        ).fetchone()["id"]
    )


def add_school(
    conn: psycopg.Connection, code: str = "4141010459", name: str = "郑州大学", kind: str = "本科"
) -> int:
    return int(
        conn.execute(
            "INSERT INTO schools (code, name, kind, region_id) VALUES (%s, %s, %s, %s)"
            " RETURNING id",
            (code, name, kind, region_id(conn, "410100")),
        ).fetchone()["id"]
    )


def add_bureau(conn: psycopg.Connection, name: str = "郑州市教育局", code: str = "410100") -> int:
    return int(
        conn.execute(
            "INSERT INTO bureaus (name, region_id) VALUES (%s, %s) RETURNING id",
            (name, region_id(conn, code)),
        ).fetchone()["id"]
    )


def add_enterprise(conn: psycopg.Connection, code: str, name: str) -> int:
    return int(
        conn.execute(
            "INSERT INTO enterprises (credit_code, name, region_id) VALUES (%s, %s, %s)"
            " RETURNING id",
            (code, name, region_id(conn, "410100")),
        ).fetchone()["id"]
    )


def versions(conn: psycopg.Connection) -> dict[str, int]:
    return {
        r["entity_type"]: r["version"]
        for r in conn.execute("SELECT entity_type, version FROM data_versions")
    }


@pytest.fixture
def files(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


@pytest.fixture(scope="module", autouse=True)
def _start_clean(module_starts_empty: None) -> None:
    """The `conn` tests count rows: start each module empty whatever ran before on this worker."""


@pytest.fixture(autouse=True)
def _leave_clean(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests that commit through `clean_db` leave the database empty for the `conn` tests."""
    yield
    if "clean_db" in request.fixturenames:
        from tests.conftest import truncate_all

        truncate_all(request.getfixturevalue("pg_url"))
