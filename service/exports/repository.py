"""SQL of the exports (read-only)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

_SIDE = """
    LEFT JOIN bureaus {s}_bu ON p.{s}_type = 'bureau' AND {s}_bu.id = p.{s}_id
    LEFT JOIN schools {s}_sc ON p.{s}_type = 'school' AND {s}_sc.id = p.{s}_id
    LEFT JOIN parks {s}_pk ON p.{s}_type = 'park' AND {s}_pk.id = p.{s}_id
    LEFT JOIN enterprises {s}_en ON p.{s}_type = 'enterprise' AND {s}_en.id = p.{s}_id
    LEFT JOIN regions {s}_r ON {s}_r.id = coalesce({s}_bu.region_id, {s}_sc.region_id,
                                                 {s}_pk.region_id, {s}_en.region_id)
"""
_NAME = "coalesce({s}_bu.name, {s}_sc.name, {s}_pk.name, {s}_en.name)"
_INSIDE = "({s}_r.path = %(path)s OR {s}_r.path LIKE %(path)s || '.%%')"
UNIT_TYPES = ("bureau", "school")
COUNTERPART_TYPES = ("park", "enterprise")


def region(conn: psycopg.Connection[Any], code: str) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT id, code, name, path FROM regions WHERE code = %s", (code,)
        ).fetchone()


def pairing_rows(conn: psycopg.Connection[Any], path: str | None) -> list[dict[str, Any]]:
    """Active partnerships between a bureau or school and a park or enterprise, either party
    inside the region (`path` None: all), with both parties' names and region paths."""
    where = "" if path is None else f" AND ({_INSIDE.format(s='a')} OR {_INSIDE.format(s='b')})"
    query = f"""
        SELECT p.id, p.a_type, p.a_id, p.b_type, p.b_id, p.progress, p.a_contact, p.b_contact,
               {_NAME.format(s="a")} AS a_name, {_NAME.format(s="b")} AS b_name,
               a_r.path AS a_path, b_r.path AS b_path
        FROM partnerships p
        {_SIDE.format(s="a")}
        {_SIDE.format(s="b")}
        WHERE p.status = 'active'
          AND ((p.a_type IN ('bureau', 'school') AND p.b_type IN ('park', 'enterprise'))
            OR (p.b_type IN ('bureau', 'school') AND p.a_type IN ('park', 'enterprise'))){where}
        ORDER BY p.id"""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, {"path": path}).fetchall()


def names(conn: psycopg.Connection[Any], table: str, ids: list[int]) -> dict[int, str]:
    """id → name in one of the fixed party tables (never a name from the request)."""
    query = sql.SQL("SELECT id, name FROM {} WHERE id = ANY(%s)").format(sql.Identifier(table))
    with conn.cursor(row_factory=dict_row) as cur:
        return {r["id"]: r["name"] for r in cur.execute(query, (ids,)).fetchall()}


def school_industries(conn: psycopg.Connection[Any], path: str | None) -> list[dict[str, Any]]:
    """Every school inside the region, with the industry codes of the enterprises it (or one of
    its programmes) is actively partnered with: one row per school × partner enterprise."""
    query = """
        WITH links AS (
            SELECT CASE WHEN p.a_type = 'enterprise' THEN p.b_type ELSE p.a_type END AS t,
                   CASE WHEN p.a_type = 'enterprise' THEN p.b_id ELSE p.a_id END AS id,
                   CASE WHEN p.a_type = 'enterprise' THEN p.a_id ELSE p.b_id END AS enterprise_id
            FROM partnerships p
            WHERE p.status = 'active'
              AND ((p.a_type = 'enterprise' AND p.b_type IN ('school', 'programme'))
                OR (p.b_type = 'enterprise' AND p.a_type IN ('school', 'programme'))))
        SELECT s.id, s.name, r.path, r.name AS region_name, e.industry_codes
        FROM schools s
        JOIN regions r ON r.id = s.region_id
        LEFT JOIN programmes pr ON pr.school_id = s.id
        LEFT JOIN links l ON (l.t = 'school' AND l.id = s.id)
                          OR (l.t = 'programme' AND l.id = pr.id)
        LEFT JOIN enterprises e ON e.id = l.enterprise_id
        WHERE %(path)s::text IS NULL OR r.path = %(path)s OR r.path LIKE %(path)s || '.%%'
        ORDER BY s.id"""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, {"path": path}).fetchall()


def leading_industries(conn: psycopg.Connection[Any], path: str | None) -> list[dict[str, Any]]:
    """Leading industries of the region, its ancestors (the province's list applies to every
    city) and its sub-regions."""
    query = """
        SELECT r.code AS region_code, r.name AS region_name, r.path, li.code, li.name, li.rank
        FROM leading_industries li JOIN regions r ON r.id = li.region_id
        WHERE %(path)s::text IS NULL OR r.path = %(path)s OR r.path LIKE %(path)s || '.%%'
           OR %(path)s LIKE r.path || '.%%'
        ORDER BY length(r.path), r.code, li.rank, li.code"""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, {"path": path}).fetchall()
