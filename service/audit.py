"""The audit log: who changed what, before and after. Append-only (enforced by a trigger).

Each entry records the regions of the row it describes (`region_paths`, resolved in SQL by
entity_region_paths() unless the caller knows them, e.g. for a row it just deleted), so the
access policy can show bureaus and reviewers the trail of their own region only.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    region_paths: Sequence[str | None] | None = None,
) -> None:
    known = [p for p in region_paths or () if p]
    conn.execute(
        """INSERT INTO audit_log (actor_id, action, entity_type, entity_id, before, after,
                                  region_paths)
           VALUES (%s, %s, %s, %s, %s, %s,
                   coalesce(%s::text[], entity_region_paths(%s, %s), '{}'))""",
        (
            actor_id,
            action,
            entity_type,
            entity_id,
            Jsonb(before, dumps=_dumps) if before is not None else None,
            Jsonb(after, dumps=_dumps) if after is not None else None,
            known if region_paths is not None else None,
            entity_type,
            entity_id,
        ),
    )


def _dumps(obj: Any) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False, default=str)
