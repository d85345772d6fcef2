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
    if kind == "partnership":
        return of_partnership(
            conn, (values["a_type"], values["a_id"]), (values["b_type"], values["b_id"])
        )
    owners: set[tuple[str, int]] = set()
    if kind in ("school", "enterprise") and row_id is not None:
        owners.add((kind, row_id))
    parents: list[tuple[str, int]] = []
    for column, owner in _OWNER_COLUMNS.items():
        if values.get(column) is not None:
            owners.add((owner, int(values[column])))
            parents.append((owner, int(values[column])))
    region: str | None = None
    if values.get("region_id") is not None:
        region = repo.region_paths(conn, [int(values["region_id"])]).get(int(values["region_id"]))
    elif (kind in _REGION_FROM or kind == "mentor") and parents:
        region = of_rows(conn, parents[:1])[parents[0]].regions[0]
    return Target(kind, (region,), frozenset(owners))
