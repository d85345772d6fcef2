"""Entity-specific validation run before a write: what the types alone cannot say.

A check receives the values being written (API names already turned into columns where generic,
e.g. region code → region_id), the row as it is now (None on create) and a list to append
problems to. It returns the values to write, possibly normalised or completed. It may raise
Conflict itself when the write would duplicate something (a 409, not a 422).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

from models.codes import credit_code_problem, major_catalogue, major_code_problem
from models.vocab import PARTY_LABELS
from service.catalog import repository as repo

Problems = list[dict[str, Any]]
Check = Callable[[psycopg.Connection, dict[str, Any], "repo.Row | None", Problems], dict[str, Any]]


def problem(column: str, reason: str) -> dict[str, Any]:
    return {"row": None, "column": column, "reason": reason}


def _merged(values: dict[str, Any], before: repo.Row | None) -> dict[str, Any]:
    """The row as it will be after the write (for rules that span several columns)."""
    return {**(before or {}), **values}


def enterprise(
    conn: psycopg.Connection, values: dict[str, Any], before: repo.Row | None, problems: Problems
) -> dict[str, Any]:
    code = values.get("credit_code")
    if code is not None and (reason := credit_code_problem(code)):
        problems.append(problem("credit_code", reason))
    return values


def programme(
    conn: psycopg.Connection, values: dict[str, Any], before: repo.Row | None, problems: Problems
) -> dict[str, Any]:
    code = values.get("major_code")
    if code is not None and (reason := major_code_problem(code)):
        problems.append(problem("major_code", reason))
        return values
    major = code if code is not None else before["major_code"]  # type: ignore[index]
    official = major_catalogue().get(major)
    # A null (or, on create, absent) name or level is taken from the catalogue.
    for column, index in (("name", 0), ("level", 1)):
        if column in values and values[column] is None:
            if official is None:
                problems.append(problem(column, f"专业代码 {major} 不在专业目录中，须填写{column}"))
            else:
                values[column] = official[index]
    level = values.get("level", before["level"] if before else None)
    if official and ("major_code" in values or "level" in values) and level != official[1]:
        problems.append(
            problem("level", f"专业代码 {major} 属于{official[1]}专业目录，与层次「{level}」不符")
        )
    return values


def mentor(
    conn: psycopg.Connection, values: dict[str, Any], before: repo.Row | None, problems: Problems
) -> dict[str, Any]:
    row = _merged(values, before)
    owners = [c for c in ("school_id", "enterprise_id") if row.get(c) is not None]
    if len(owners) != 1:
        problems.append(
            problem(
                "school_id", "导师须隶属于一所学校或一家企业（school_id 与 enterprise_id 恰填其一）"
            )
        )
    elif row["kind"] == "industry_professor" and row.get("enterprise_id") is None:
        problems.append(problem("kind", "产业教授须隶属于企业（请填写 enterprise_id）"))
    return values


def practice_base(
    conn: psycopg.Connection, values: dict[str, Any], before: repo.Row | None, problems: Problems
) -> dict[str, Any]:
    row = _merged(values, before)
    hosts = [c for c in ("host_enterprise_id", "host_school_id") if row.get(c) is not None]
    if len(hosts) != 1:
        problems.append(
            problem(
                "host_enterprise_id",
                "实践基地须由一家企业或一所学校承办"
                "（host_enterprise_id 与 host_school_id 恰填其一）",
            )
        )
    return values


def partnership(
    conn: psycopg.Connection, values: dict[str, Any], before: repo.Row | None, problems: Problems
) -> dict[str, Any]:
    if before is None:
        a = _party(values, "a")
        b = _party(values, "b")
        for side, (ptype, pid) in (("a", a), ("b", b)):
            if not repo.party_exists(conn, ptype, pid):
                problems.append(problem(side, f"{PARTY_LABELS[ptype]} {pid} 不存在"))
        if a == b:
            problems.append(problem("b", "合作双方不能是同一方"))
        # The schema stores (type, id) pairs in ascending order. Python and PostgreSQL agree on
        # this order for the seven type names (they differ before any '_' could matter).
        a, b = sorted((a, b))
        values.update(a_type=a[0], a_id=a[1], b_type=b[0], b_id=b[1])
    # Whether an active partnership may exist (duplicates, group, capacity, quotas, scope) is
    # decided by service.partnerships, the one way to create or reactivate one.
    return values


def _party(values: dict[str, Any], side: str) -> tuple[str, int]:
    party = values.pop(side)
    return str(party["type"]), int(party["id"])
