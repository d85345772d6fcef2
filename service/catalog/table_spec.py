"""What a catalogue table's SQL is made of: the TableSpec record, and the builders of its list
filters and sort keys. Every query aliases the main table as `t`; filters only refer to `t`, so
the count query needs no joins. Filter values always travel as parameters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

Fragment = tuple[sql.Composable, list[Any]]
FilterSQL = Callable[[Any], Fragment]


@dataclass(frozen=True)
class ForeignKey:
    column: str
    table: str
    label: str  # what the referenced row is called in messages (学校, 企业 …)


@dataclass(frozen=True)
class Dependent:
    """Rows of another table that hang off this one (deleted or unlinked along with it)."""

    table: str
    column: str
    label: str
    party_type: str | None = None  # set if such rows can be partnership parties
    blocking: bool = False  # True: the reference cannot be forced away (no cascade in the schema)


@dataclass(frozen=True)
class TableSpec:
    table: str
    select: sql.Composable  # SELECT … FROM <table> t [JOIN …]
    filters: Mapping[str, FilterSQL]
    sort_keys: Mapping[str, sql.Composable]
    default_sort: str = "id"
    writable: tuple[str, ...] = ()
    nullable_sort: frozenset[str] = frozenset()
    fks: tuple[ForeignKey, ...] = ()
    dependents: tuple[Dependent, ...] = ()
    # unique constraint (or index) name → the 409 message when a write would duplicate a row
    unique_messages: Mapping[str, str] = field(default_factory=dict)
    has_updated_at: bool = True


def col(name: str) -> sql.Composable:
    return sql.Identifier("t", name)


def eq(column: str) -> FilterSQL:
    return lambda v: (sql.SQL("{} = %s").format(col(column)), [v])


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(column: str) -> FilterSQL:
    # ILIKE '%q%' can use the trigram index where one exists (enterprises.name).
    return lambda v: (sql.SQL("{} ILIKE %s").format(col(column)), [f"%{escape_like(v)}%"])


def starts_with(column: str) -> FilterSQL:
    return lambda v: (sql.SQL("{} LIKE %s").format(col(column)), [f"{escape_like(v)}%"])


def array_has(column: str) -> FilterSQL:
    return lambda v: (sql.SQL("{} @> ARRAY[%s]::text[]").format(col(column)), [v])


def array_overlaps(column: str) -> FilterSQL:
    """Any element is one of the given codes (`&&`: the GIN index on enterprises serves it).
    The service expands an industry prefix into the full list of codes under it."""
    return lambda codes: (sql.SQL("{} && %s::text[]").format(col(column)), [list(codes)])


def in_region(column: str = "region_id") -> FilterSQL:
    """The value is a region path (resolved from the code by the service): the region and below.
    Codes are fixed-width, so a plain prefix cannot match a sibling."""
    return lambda path: (
        sql.SQL("{} IN (SELECT id FROM regions WHERE path LIKE %s)").format(col(column)),
        [f"{path}%"],
    )


def via_region(column: str, table: str) -> FilterSQL:
    """Region of a referenced row (a programme's school, a need's enterprise)."""
    return lambda path: (
        sql.SQL(
            "{} IN (SELECT x.id FROM {} x JOIN regions r ON r.id = x.region_id"
            " WHERE r.path LIKE %s)"
        ).format(col(column), sql.Identifier(table)),
        [f"{path}%"],
    )


def party_ref(value: str) -> Fragment:
    ptype, _, pid = value.partition(":")
    return (
        sql.SQL("((t.a_type = %s AND t.a_id = %s) OR (t.b_type = %s AND t.b_id = %s))"),
        [ptype, int(pid), ptype, int(pid)],
    )


def party_type(value: str) -> Fragment:
    return sql.SQL("(t.a_type = %s OR t.b_type = %s)"), [value, value]


def host_ref(value: str) -> Fragment:
    htype, _, hid = value.partition(":")
    return eq("host_enterprise_id" if htype == "enterprise" else "host_school_id")(int(hid))


def sorts(*names: str, **exprs: sql.Composable) -> dict[str, sql.Composable]:
    return {n: col(n) for n in names} | exprs
