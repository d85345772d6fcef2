"""Partnership imports (kinds `partnerships` and `pairing-table`) go through `create`.

service.ingest stages and validates the file's rows; before its upsert, `create_staged` turns
every staged pair that is not active yet into a partnership by `service.create` (each in a
savepoint, so a refused row leaves nothing), and checks that the importer may write the pairs
that already exist (their kind / progress / contacts are then updated by the upsert). A refused
row is reported by row number and removed from the stage; the importer then rolls everything
back unless it skips invalid rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

from service.auth import policy, targets
from service.errors import DomainError
from service.partnerships import repository as repo
from service.partnerships.service import create


@dataclass
class Refusal:
    row: int
    value: str | None
    reason: str
    code: str  # 'forbidden' (outside the importer's scope) or 'rule' (a partnership rule)


@dataclass
class StagedResult:
    created: int = 0
    refused: list[Refusal] = field(default_factory=list)


def create_staged(
    conn: psycopg.Connection, actor: Any, stage: str, columns: tuple[str, ...]
) -> StagedResult:
    """Create the staged pairs not active yet; report (and unstage) every refused row."""
    rows = repo.staged(conn, stage, columns)
    result = StagedResult()
    done: list[int] = []
    parties = [(r[f"{s}_type"], r[f"{s}_id"]) for r in rows for s in ("a", "b")]
    found = targets.of_rows(conn, parties)
    for r in rows:
        a, b = (r["a_type"], r["a_id"]), (r["b_type"], r["b_id"])
        if r["active"]:
            target = found[a].merged(found[b])
            if not policy.allowed(actor, "partnership.write", target):
                result.refused.append(
                    Refusal(r["_row"], r["_keyval"], "结对的一方或双方不在您的辖区内", "forbidden")
                )
                done.append(r["_seq"])
            continue
        done.append(r["_seq"])
        try:
            with conn.transaction():  # a savepoint: a refused row writes nothing
                create(
                    conn,
                    actor,
                    a,
                    b,
                    r["source"],
                    kind=r.get("kind"),
                    since=r.get("since"),
                    progress=r.get("progress") or "",
                    contacts={a: r.get("a_contact"), b: r.get("b_contact")},
                )
            result.created += 1
        except DomainError as exc:
            code = "forbidden" if exc.status_code in (401, 403) else "rule"
            result.refused.append(Refusal(r["_row"], r["_keyval"], exc.detail, code))
    # what is left in the stage are pairs already active, for the upsert to update
    repo.drop_staged(conn, stage, done)
    return result
