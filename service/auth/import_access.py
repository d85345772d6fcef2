"""The access policy applied to an import, row by row, before anything is upserted.

Every staged record of a catalogue table is checked as the write it would be: a create (no row
with its natural key yet) or an update of the existing row, which must be writable both before
and after (a bureau cannot move a row out of its region by importing it). Partnerships go
through service.partnerships.imports (scope, then `create` for pairs not active yet). Refused
rows come back as row errors with code 'forbidden' (→ 403, nothing written) or 'rule' (409).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from models.vocab import PARTY_TABLES, SUBJECT_LABELS
from service.auth import policy, targets
from service.auth import repository as repo
from service.ingest.kinds import Target as ImportTarget
from service.ingest.repository import Stage
from service.ingest.row import RowError
from service.partnerships import imports as partnership_imports

KIND_OF_TABLE = {**{table: kind for kind, table in PARTY_TABLES.items()}, "needs": "need"}
_LABELS = SUBJECT_LABELS


@dataclass
class Guarded:
    errors: list[RowError] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)  # table → rows created here


def check_and_create(
    conn: psycopg.Connection,
    actor: Any,
    import_targets: Sequence[ImportTarget],
    stages: Mapping[str, Stage],
) -> Guarded:
    out = Guarded()
    for target in import_targets:
        kind = KIND_OF_TABLE.get(target.table)
        if kind is None or policy.allowed(actor, "catalogue.write", targets.Target(kind, (None,))):
            continue  # partnerships below; admins (and the CLI) write everywhere
        out.errors += _catalogue_scope(conn, actor, kind, target, stages[target.table])
    stage = stages.get("partnerships")
    if stage is not None:
        result = partnership_imports.create_staged(conn, actor, stage.name, stage.columns)
        out.created["partnerships"] = result.created
        out.errors += [RowError(r.row, None, r.value, r.reason, r.code) for r in result.refused]
    return out


def _catalogue_scope(
    conn: psycopg.Connection, actor: Any, kind: str, target: ImportTarget, stage: Stage
) -> list[RowError]:
    rows = repo.staged_with_existing(conn, stage.name, target.table, target.key, target.match)
    before = targets.of_values_many(
        conn, kind, [(r["existing"] or {}, r["existing_id"]) for r in rows]
    )
    after = targets.of_values_many(
        conn,
        kind,
        [
            ({**(r["existing"] or {}), **{c: r["staged"].get(c) for c in stage.columns}},
             r["existing_id"])
            for r in rows
        ],
    )  # fmt: skip
    errors = []
    for r, was, will in zip(rows, before, after, strict=True):
        verb = "create" if r["existing_id"] is None else "update"
        ok = policy.allowed(actor, "catalogue.write", will, verb=verb) and (
            verb == "create" or policy.allowed(actor, "catalogue.write", was, verb=verb)
        )
        if not ok:
            errors.append(
                RowError(
                    r["_row"],
                    None,
                    r["_keyval"],
                    f"{_LABELS[kind]}「{r['_keyval']}」不在您的辖区或本单位范围内，无权导入",
                    "forbidden",
                )
            )
    return errors
