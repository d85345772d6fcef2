from __future__ import annotations

import secrets

import psycopg
import pytest

from service.db import migrate

# Credit codes with valid GB 32100 check characters (computed, not real companies).
VALID = "91440300708461136T"


def _enterprise(conn: psycopg.Connection, code: str = VALID, name: str = "测试企业") -> int:
    region = conn.execute("SELECT id FROM regions WHERE code = '410100'").fetchone()["id"]
    row = conn.execute(
        "INSERT INTO enterprises (credit_code, name, region_id) VALUES (%s, %s, %s) RETURNING id",
        (code, name, region),
    ).fetchone()
    return int(row["id"])


def _school(conn: psycopg.Connection) -> int:
    region = conn.execute("SELECT id FROM regions WHERE code = '410100'").fetchone()["id"]
    # a code no earlier test left behind (this module does not truncate)
    code = f"49{secrets.randbelow(10**8):08d}"
    row = conn.execute(
        "INSERT INTO schools (code, name, kind, region_id) VALUES (%s, '测试学校', '本科', %s)"
        " RETURNING id",
        (code, region),
    ).fetchone()
    return int(row["id"])


def test_regions_loaded(conn: psycopg.Connection) -> None:
    cities = conn.execute(
        "SELECT count(*) AS n FROM regions WHERE level = 'city' AND path LIKE '410000.%'"
    ).fetchone()
    assert cities["n"] == 18  # 17 prefecture cities + 济源


def test_migrate_is_idempotent(conn: psycopg.Connection) -> None:
    assert migrate(conn) == []


def test_credit_code_checksum_enforced(conn: psycopg.Connection) -> None:
    _enterprise(conn)
    with pytest.raises(psycopg.errors.CheckViolation):
        _enterprise(conn, "91440300708461136X", "错误校验位")


def test_second_active_partnership_is_impossible(conn: psycopg.Connection) -> None:
    e, s = _enterprise(conn), _school(conn)
    conn.execute(
        "INSERT INTO partnerships (a_type, a_id, b_type, b_id)"
        " VALUES ('enterprise', %s, 'school', %s)",
        (e, s),
    )
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(
            "INSERT INTO partnerships (a_type, a_id, b_type, b_id)"
            " VALUES ('enterprise', %s, 'school', %s)",
            (e, s),
        )


def test_partnership_parties_must_exist(conn: psycopg.Connection) -> None:
    e = _enterprise(conn)
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        conn.execute(
            "INSERT INTO partnerships (a_type, a_id, b_type, b_id)"
            " VALUES ('enterprise', %s, 'school', 999999)",
            (e,),
        )


def test_reviews_are_append_only(conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("DELETE FROM audit_log")
        conn.execute("INSERT INTO audit_log (action, entity_type) VALUES ('x', 'y')")
        conn.execute("DELETE FROM audit_log")
