"""Generic SQL over a TableSpec: list, get, insert, update, delete, plus the look-ups the
catalogue's checks need. Rows come back as dicts (the pool's row factory)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from service.catalog.tables import PARTY_TABLES, Fragment, TableSpec

Row = dict[str, Any]


@dataclass(frozen=True)
class SortKey:
    name: str
    descending: bool


@dataclass
class ListResult:
    rows: list[Row]
    total: int | None


def _one(conn: psycopg.Connection, query: Any, params: Any) -> Row | None:
    # The pool's connections use dict_row; psycopg's static types cannot know that.
    return cast("Row | None", conn.execute(query, params).fetchone())


def _all(conn: psycopg.Connection, query: Any, params: Any) -> list[Row]:
    return cast("list[Row]", conn.execute(query, params).fetchall())


def _where(
    spec: TableSpec, filters: Mapping[str, Any], *extra: Fragment
) -> tuple[sql.Composable, list[Any]]:
    parts: list[sql.Composable] = []
    params: list[Any] = []
    fragments = [spec.filters[name](value) for name, value in filters.items()]
    for fragment, values in [*fragments, *extra]:
        parts.append(fragment)
        params.extend(values)
    if not parts:
        return sql.SQL(""), []
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(parts), params


def _order(spec: TableSpec, keys: Iterable[SortKey]) -> sql.Composable:
    terms = []
    for key in keys:
        direction = "DESC" if key.descending else "ASC"
        # Nulls last both ways; only on nullable keys, so not-null keys keep their index order.
        nulls = " NULLS LAST" if key.name in spec.nullable_sort else ""
        terms.append(sql.SQL("{} " + direction + nulls).format(spec.sort_keys[key.name]))
    return sql.SQL(" ORDER BY ") + sql.SQL(", ").join(terms)


def list_rows(
    conn: psycopg.Connection,
    spec: TableSpec,
    *,
    filters: Mapping[str, Any],
    sort: list[SortKey],
    limit: int,
    offset: int,
    with_total: bool,
    after_id: int | None = None,
) -> ListResult:
    """One page. `after_id` (keyset) needs `sort` to be id alone; `total` ignores it."""
    where, params = _where(spec, filters)
    page_where, page_params = where, params
    if after_id is not None:
        keyset = sql.SQL("t.id < %s" if sort[0].descending else "t.id > %s")
        page_where, page_params = _where(spec, filters, (keyset, [after_id]))
    query = spec.select + page_where + _order(spec, sort) + sql.SQL(" LIMIT %s OFFSET %s")
    rows = _all(conn, query, [*page_params, limit, offset])
    total: int | None = None
    if with_total:
        if after_id is None and len(rows) < limit and (rows or offset == 0):
            total = offset + len(rows)  # the last page: no need to count
        else:
            count = sql.SQL("SELECT count(*) AS n FROM {} t").format(sql.Identifier(spec.table))
            total = int(_one(conn, count + where, params)["n"])  # type: ignore[index]
    return ListResult(rows=rows, total=total)


def get_row(
    conn: psycopg.Connection, spec: TableSpec, row_id: int, *, lock: bool = False
) -> Row | None:
    query = spec.select + sql.SQL(" WHERE t.id = %s")
    if lock:
        query += sql.SQL(" FOR UPDATE OF t")
    return _one(conn, query, [row_id])


def _param(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, dict) else value


def insert_row(conn: psycopg.Connection, spec: TableSpec, values: Mapping[str, Any]) -> int:
    names = list(values)
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING id").format(
        sql.Identifier(spec.table),
        sql.SQL(", ").join(map(sql.Identifier, names)),
        sql.SQL(", ").join(sql.Placeholder() * len(names)),
    )
    row = _one(conn, query, [_param(values[n]) for n in names])
    return int(row["id"])  # type: ignore[index]


def update_row(
    conn: psycopg.Connection, spec: TableSpec, row_id: int, values: Mapping[str, Any]
) -> None:
    sets: list[sql.Composable] = [sql.SQL("{} = %s").format(sql.Identifier(n)) for n in values]
    if spec.has_updated_at:
        sets.append(sql.SQL("updated_at = now()"))
    query = sql.SQL("UPDATE {} SET {} WHERE id = %s").format(
        sql.Identifier(spec.table), sql.SQL(", ").join(sets)
    )
    conn.execute(query, [*(_param(v) for v in values.values()), row_id])


def delete_row(conn: psycopg.Connection, spec: TableSpec, row_id: int) -> None:
    conn.execute(
        sql.SQL("DELETE FROM {} WHERE id = %s").format(sql.Identifier(spec.table)), [row_id]
    )


def exists(conn: psycopg.Connection, table: str, row_id: int) -> bool:
    query = sql.SQL("SELECT EXISTS (SELECT 1 FROM {} WHERE id = %s) AS e").format(
        sql.Identifier(table)
    )
    return bool(_one(conn, query, [row_id])["e"])  # type: ignore[index]


def region_by_code(conn: psycopg.Connection, code: str) -> Row | None:
    return _one(conn, "SELECT id, code, name, path FROM regions WHERE code = %s", [code])


def count_referencing(conn: psycopg.Connection, table: str, column: str, row_id: int) -> int:
    query = sql.SQL("SELECT count(*) AS n FROM {} WHERE {} = %s").format(
        sql.Identifier(table), sql.Identifier(column)
    )
    return int(_one(conn, query, [row_id])["n"])  # type: ignore[index]


def ids_referencing(conn: psycopg.Connection, table: str, column: str, row_id: int) -> list[int]:
    query = sql.SQL("SELECT id FROM {} WHERE {} = %s").format(
        sql.Identifier(table), sql.Identifier(column)
    )
    return [int(r["id"]) for r in _all(conn, query, [row_id])]


def partnerships_of(conn: psycopg.Connection, parties: list[tuple[str, list[int]]]) -> list[Row]:
    """Partnerships (any status) that have one of the given parties on either side."""
    conds: list[sql.Composable] = []
    params: list[Any] = []
    for ptype, ids in parties:
        if not ids:
            continue
        conds.append(
            sql.SQL("(a_type = %s AND a_id = ANY(%s)) OR (b_type = %s AND b_id = ANY(%s))")
        )
        params += [ptype, ids, ptype, ids]
    if not conds:
        return []
    query = (
        sql.SQL("SELECT id, a_type, a_id, b_type, b_id, status FROM partnerships WHERE ")
        + sql.SQL(" OR ").join(conds)
        + sql.SQL(" ORDER BY id LIMIT 20")
    )
    return _all(conn, query, params)


def party_exists(conn: psycopg.Connection, ptype: str, pid: int) -> bool:
    return exists(conn, PARTY_TABLES[ptype], pid)
