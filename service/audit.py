"""The audit log: who changed what, before and after. Append-only (enforced by a trigger)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb


def record(
    conn: psycopg.Connection,
    *,
    actor_id: int | None,
    action: str,
    entity_type: str,
    entity_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        """INSERT INTO audit_log (actor_id, action, entity_type, entity_id, before, after)
           VALUES (%s, %s, %s, %s, %s, %s)""",
        (
            actor_id,
            action,
            entity_type,
            entity_id,
            Jsonb(before, dumps=_dumps) if before is not None else None,
            Jsonb(after, dumps=_dumps) if after is not None else None,
        ),
    )


def _dumps(obj: Any) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False, default=str)
