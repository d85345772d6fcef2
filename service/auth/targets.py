"""Policy targets of database rows: the regions a row touches and who owns it.

The policy (service.auth.policy) decides from these; this module only looks them up, so a
router or service writes `policy.require(user, action, targets.of_row(conn, t, i), what)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import psycopg

from service.auth import repository as repo
from service.auth.policy import Target

# Columns naming an owner, by the owner type they name.
_OWNER_COLUMNS = {
    "school_id": "school",
    "host_school_id": "school",
    "enterprise_id": "enterprise",
    "host_enterprise_id": "enterprise",
}
# Rows whose region is that of the row they hang from (column → party type).
_REGION_FROM = {
    "programme": ("school_id", "school"),
    "need": ("enterprise_id", "enterprise"),
}


def _target(kind: str, scope: Mapping[str, Any] | None) -> Target:
    if scope is None or not scope["found"]:
        return Target(kind, (None,))  # unknown row: province admins only
    owners = set()
    if scope["school_id"] is not None:
        owners.add(("school", int(scope["school_id"])))
    if scope["enterprise_id"] is not None:
        owners.add(("enterprise", int(scope["enterprise_id"])))
    return Target(kind, (scope["path"],), frozenset(owners))


def of_rows(
    conn: psycopg.Connection, rows: Iterable[tuple[str, int]]
) -> dict[tuple[str, int], Target]:
    wanted = sorted(set(rows))
    scopes = repo.row_scopes(conn, wanted)
    return {r: _target(r[0], scopes.get(r)) for r in wanted}


def of_row(conn: psycopg.Connection, kind: str, row_id: int) -> Target:
    return of_rows(conn, [(kind, row_id)])[(kind, row_id)]


def of_partnership(conn: psycopg.Connection, a: tuple[str, int], b: tuple[str, int]) -> Target:
    """A partnership touches both parties' regions and is owned by both parties' owners."""
    found = of_rows(conn, [a, b])
    merged = found[a].merged(found[b])
    return Target("partnership", merged.regions, merged.owners)


def of_values(
    conn: psycopg.Connection, kind: str, values: Mapping[str, Any], row_id: int | None = None
) -> Target:
    """The target a catalogue row WILL be after a write (`values` are its column values after
    the write: region_id, school_id, enterprise_id, host_* …). Used for creates, and for updates
    so that a row cannot be moved out of the actor's region or ownership."""
    return of_values_many(conn, kind, [(values, row_id)])[0]


def of_values_many(
    conn: psycopg.Connection, kind: str, rows: list[tuple[Mapping[str, Any], int | None]]
) -> list[Target]:
    """`of_values` for many rows of one kind in two look-ups (imports check every row)."""
    if kind == "partnership":
        parties = [(v[f"{s}_type"], v[f"{s}_id"]) for v, _ in rows for s in ("a", "b")]
        found = of_rows(conn, parties)
        out = []
        for v, _ in rows:
            m = found[(v["a_type"], v["a_id"])].merged(found[(v["b_type"], v["b_id"])])
            out.append(Target("partnership", m.regions, m.owners))
        return out
    region_ids = sorted({int(v["region_id"]) for v, _ in rows if v.get("region_id") is not None})
    paths = repo.region_paths(conn, region_ids) if region_ids else {}
    shaped: list[tuple[set[tuple[str, int]], list[tuple[str, int]], str | None]] = []
    for values, row_id in rows:
        owners: set[tuple[str, int]] = set()
        if kind in ("school", "enterprise") and row_id is not None:
            owners.add((kind, row_id))
        parents = []
        for column, owner in _OWNER_COLUMNS.items():
            if values.get(column) is not None:
                owners.add((owner, int(values[column])))
                parents.append((owner, int(values[column])))
        region = (
            paths.get(int(values["region_id"])) if values.get("region_id") is not None else None
        )
        shaped.append((owners, parents, region))
    # a programme, need or mentor lies in the region of the row it hangs from
    inherit = kind in _REGION_FROM or kind == "mentor"
    parent_targets = of_rows(conn, [p[0] for _, p, _ in shaped if p]) if inherit else {}
    out = []
    for owners, parents, region in shaped:
        if inherit and region is None and parents:
            region = parent_targets[parents[0]].regions[0]
        out.append(Target(kind, (region,), frozenset(owners)))
    return out
