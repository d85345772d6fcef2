"""Catalogue use cases over any Entity: list, get, create, update, delete — validated, audited,
inside the request's transaction (never committed here)."""

from __future__ import annotations

import csv
from functools import lru_cache
from typing import Any

import psycopg
from fastapi import Request
from pydantic import BaseModel

from models.vocab import PARTY_LABELS, PARTY_TYPES
from service import audit
from service.auth import policy, targets
from service.catalog import repository as repo
from service.catalog.checks import problem
from service.catalog.entities import AUDIT_LOG, CONTACT_FIELDS, Entity
from service.catalog.filters import ListParams
from service.config import REPO_ROOT
from service.errors import Conflict, InvalidInput, NotFound
from service.partnerships import service as partnerships

REGION_FILTERS = ("region", "within", "parent")  # filters given as a region code
MAX_SORT_KEYS = 4
INDUSTRIES_CSV = REPO_ROOT / "data" / "reference" / "industries.csv"  # GB/T 4754-2017


def actor_of(request: Request) -> Any:
    """The request's user (None when anonymous), as the auth middleware resolved it."""
    return getattr(request.state, "user", None)


def present(row: repo.Row, *, contacts: bool) -> repo.Row:
    """A row as the reader may see it. Audit snapshots are cleaned the same way."""
    if contacts:
        return row
    shown = {k: v for k, v in row.items() if k not in CONTACT_FIELDS}
    for key in ("before", "after"):
        if isinstance(shown.get(key), dict):
            shown[key] = {k: v for k, v in shown[key].items() if k not in CONTACT_FIELDS}
    return shown


def _row_targets(
    conn: psycopg.Connection, entity: Entity, rows: list[repo.Row]
) -> list[policy.Target]:
    """Policy targets of listed rows, in one look-up (a partnership: both parties)."""
    if entity.entity_type == "partnership":
        parties = [(r[f"{s}_type"], r[f"{s}_id"]) for r in rows for s in ("a", "b")]
        found = targets.of_rows(conn, parties)
        return [
            found[(r["a_type"], r["a_id"])].merged(found[(r["b_type"], r["b_id"])]) for r in rows
        ]
    found = targets.of_rows(conn, [(entity.entity_type, r["id"]) for r in rows])
    return [found[(entity.entity_type, r["id"])] for r in rows]


def present_rows(
    conn: psycopg.Connection, actor: Any, entity: Entity, rows: list[repo.Row]
) -> list[repo.Row]:
    """Rows as `actor` may see them: contact fields only where the policy allows
    (`contacts.read`: admins, the region's bureau, the row's owners)."""
    if entity is AUDIT_LOG:
        return [present(r, contacts=policy.allowed(actor, "audit.contacts", _ANY)) for r in rows]
    if not entity.contacts or actor is None:
        return [present(r, contacts=False) for r in rows]
    if policy.allowed(actor, "contacts.read", _ANY):
        return rows
    return [
        present(r, contacts=policy.allowed(actor, "contacts.read", t))
        for r, t in zip(rows, _row_targets(conn, entity, rows), strict=True)
    ]


_ANY = policy.Target("any", (None,))  # a target only an `everywhere` rule admits


def _authorise(
    conn: psycopg.Connection,
    actor: Any,
    entity: Entity,
    columns: dict[str, Any],
    verb: str,
    row_id: int | None = None,
) -> policy.Target:
    action = "partnership.write" if entity.entity_type == "partnership" else "catalogue.write"
    target = targets.of_values(conn, entity.entity_type, columns, row_id)
    what = entity.label + (f" {row_id}" if row_id is not None else "")
    policy.require(actor, action, target, what, verb=verb)
    return target


# ---- reading ---------------------------------------------------------------------------------


def parse_sort(entity: Entity, text: str | None) -> list[repo.SortKey]:
    spec = entity.spec
    keys: list[repo.SortKey] = []
    for raw in (text or spec.default_sort).split(","):
        part = raw.strip()
        if not part:
            continue
        descending = part.startswith("-")
        name = part[1:] if descending or part.startswith("+") else part
        if name not in spec.sort_keys:
            raise InvalidInput(
                f"不支持按「{name}」排序",
                errors=[problem("sort", f"可用的排序字段：{', '.join(spec.sort_keys)}")],
            )
        if all(k.name != name for k in keys):
            keys.append(repo.SortKey(name, descending))
    if len(keys) > MAX_SORT_KEYS:
        raise InvalidInput(
            f"排序字段最多 {MAX_SORT_KEYS} 个", errors=[problem("sort", "排序字段过多")]
        )
    if all(k.name != "id" for k in keys):
        keys.append(repo.SortKey("id", False))  # a total order, so pages never overlap
    return keys


def list_page(
    conn: psycopg.Connection, entity: Entity, params: ListParams, actor: Any = None
) -> dict[str, Any]:
    """A page of rows. The audit log is limited by the access policy: admins read all of it,
    bureaus and reviewers the entries of their region (`audit.read`)."""
    sort = parse_sort(entity, params.sort)
    filters = params.model_dump(exclude_none=True, exclude=set(ListParams.model_fields))
    if entity is AUDIT_LOG and policy.require_role(actor, "audit.read") != policy.EVERYWHERE:
        filters["policy_scope"] = policy.region_scope(actor)
    for name in REGION_FILTERS:
        if name in filters:
            filters[name] = _region(conn, filters[name], name)["path"]
    if "industry" in filters:
        filters["industry"] = industry_codes_under(filters["industry"])
    if params.after_id is not None and [k.name for k in sort] != ["id"]:
        raise InvalidInput(
            "after_id 仅可与按 id 排序（sort=id 或 sort=-id）同用",
            errors=[problem("after_id", "请改用 offset，或按 id 排序")],
        )
    result = repo.list_rows(
        conn,
        entity.spec,
        filters=filters,
        sort=sort,
        limit=params.limit,
        offset=params.offset,
        with_total=params.with_total,
        after_id=params.after_id,
    )
    return {
        "items": result.rows,
        "total": result.total,
        "limit": params.limit,
        "offset": params.offset,
    }


@lru_cache(maxsize=1)
def _industry_codes() -> tuple[dict[str, str], tuple[str, ...]]:
    """Section of each division, and every code: divisions, groups, classes (the catalogue lists
    every class but not every group, so groups are also derived from the classes)."""
    section_of: dict[str, str] = {}
    codes: set[str] = set()
    with INDUSTRIES_CSV.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            code = row["code"]
            if row["level"] == "division":
                section_of[code] = row["parent_code"]
            if code.isdigit():
                codes.add(code)
                if len(code) == 4:
                    codes.add(code[:3])
    return section_of, tuple(sorted(codes))


@lru_cache(maxsize=512)
def industry_codes_under(code: str) -> tuple[str, ...]:
    """The code itself and every GB/T 4754 code below it: 39 → 39, 391, 3911 …; a section letter
    → the letter and all codes of its divisions. Exact set, so `&&` can use the GIN index."""
    section_of, codes = _industry_codes()
    if code.isdigit():
        return (code, *(c for c in codes if c.startswith(code) and c != code))
    divisions = tuple(d for d, s in section_of.items() if s == code)
    return (code, *(c for c in codes if c[:2] in divisions))


def get(conn: psycopg.Connection, entity: Entity, row_id: int, *, lock: bool = False) -> repo.Row:
    row = repo.get_row(conn, entity.spec, row_id, lock=lock)
    if row is None:
        raise NotFound(f"{entity.label} {row_id} 不存在")
    return row


def _region(conn: psycopg.Connection, code: str, column: str) -> repo.Row:
    region = repo.region_by_code(conn, code)
    if region is None:
        raise InvalidInput(
            f"行政区划代码 {code} 不存在", errors=[problem(column, f"未知的行政区划代码 {code}")]
        )
    return region


# ---- writing ---------------------------------------------------------------------------------


def _prepare(
    conn: psycopg.Connection, entity: Entity, values: dict[str, Any], before: repo.Row | None
) -> dict[str, Any]:
    """API values → column values, checked; raises InvalidInput listing every problem found."""
    problems: list[dict[str, Any]] = []
    if entity.region_field and "region" in values:
        code = values.pop("region")
        region = repo.region_by_code(conn, code)
        if region is None:
            problems.append(problem("region", f"未知的行政区划代码 {code}"))
        else:
            values["region_id"] = region["id"]
    if entity.check is not None:
        values = entity.check(conn, values, before, problems)
    for fk in entity.spec.fks:
        value = values.get(fk.column)
        if fk.column == "region_id":
            continue  # resolved from the code above
        if value is not None and not repo.exists(conn, fk.table, value):
            problems.append(problem(fk.column, f"{fk.label} {value} 不存在"))
    if problems:
        raise InvalidInput(
            f"{entity.label}数据有误：" + "；".join(p["reason"] for p in problems), errors=problems
        )
    unknown = set(values) - set(entity.spec.writable)
    assert not unknown, f"{entity.entity_type}: not writable {unknown}"  # a schema/spec mismatch
    return values


def _unique_conflict(entity: Entity, exc: psycopg.errors.UniqueViolation) -> Conflict:
    name = exc.diag.constraint_name or ""
    message = entity.spec.unique_messages.get(name, f"{entity.label}已存在相同的记录")
    return Conflict(message)


def create(conn: psycopg.Connection, entity: Entity, body: BaseModel, *, actor: Any) -> repo.Row:
    """Create a row the actor may write (403 otherwise). An active partnership is made by
    service.partnerships.create, which checks and audits it."""
    values = _prepare(conn, entity, body.model_dump(), None)
    _authorise(conn, actor, entity, values, "create")
    if entity.entity_type == "partnership" and values["status"] == "active":
        made = partnerships.create(
            conn,
            actor,
            (values["a_type"], values["a_id"]),
            (values["b_type"], values["b_id"]),
            values["source"],
            kind=values["kind"],
            since=values["since"],
            progress=values["progress"],
            contacts={
                (values["a_type"], values["a_id"]): values.get("a_contact"),
                (values["b_type"], values["b_id"]): values.get("b_contact"),
            },
        )
        return get(conn, entity, made["id"])
    try:
        row_id = repo.insert_row(conn, entity.spec, values)
    except psycopg.errors.UniqueViolation as exc:
        raise _unique_conflict(entity, exc) from None
    row = get(conn, entity, row_id)
    audit.record(
        conn,
        actor_id=getattr(actor, "id", None),
        action="create",
        entity_type=entity.entity_type,
        entity_id=row_id,
        after=row,
    )
    return row


def update(
    conn: psycopg.Connection, entity: Entity, row_id: int, body: BaseModel, *, actor: Any
) -> repo.Row:
    """Update a row the actor may write, into a row it may still write (no moving a row out of
    one's region or ownership)."""
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise InvalidInput(
            "请求体中没有要修改的字段", errors=[problem("body", "至少提供一个要修改的字段")]
        )
    before = get(conn, entity, row_id, lock=True)
    _authorise(conn, actor, entity, before, "update", row_id)
    values = _prepare(conn, entity, changes, before)
    _authorise(conn, actor, entity, {**before, **values}, "update", row_id)
    if (
        entity.entity_type == "partnership"
        and values.get("status") == "active"
        and before["status"] != "active"
    ):  # reactivating is creating again: the same rules
        partnerships.check(
            conn,
            actor,
            partnerships.pair_of(
                (before["a_type"], before["a_id"]), (before["b_type"], before["b_id"])
            ),
        )
    try:
        repo.update_row(conn, entity.spec, row_id, values)
    except psycopg.errors.UniqueViolation as exc:
        raise _unique_conflict(entity, exc) from None
    after = get(conn, entity, row_id)
    audit.record(
        conn,
        actor_id=getattr(actor, "id", None),
        action="update",
        entity_type=entity.entity_type,
        entity_id=row_id,
        before=before,
        after=after,
    )
    return after


def delete(
    conn: psycopg.Connection, entity: Entity, row_id: int, *, force: bool, actor: Any
) -> repo.Row:
    before = get(conn, entity, row_id, lock=True)
    target = _authorise(conn, actor, entity, before, "delete", row_id)
    parties: list[tuple[str, list[int]]] = []
    if entity.entity_type in PARTY_TYPES:
        parties.append((entity.entity_type, [row_id]))
    attached: list[str] = []
    for dep in entity.spec.dependents:
        if dep.party_type:
            ids = repo.ids_referencing(conn, dep.table, dep.column, row_id)
            parties.append((dep.party_type, ids))
            n = len(ids)
        else:
            n = repo.count_referencing(conn, dep.table, dep.column, row_id)
        if n and dep.blocking:
            raise Conflict(f"{entity.label} {row_id} 仍被 {n} {dep.label}引用，不能删除")
        if n:
            attached.append(f"{n} {dep.label}")
    links = repo.partnerships_of(conn, parties)
    if links:
        shown = "、".join(
            f"{r['id']}（{PARTY_LABELS[r['a_type']]}{r['a_id']}–{PARTY_LABELS[r['b_type']]}"
            f"{r['b_id']}）"
            for r in links[:5]
        )
        raise Conflict(
            f"{entity.label} {row_id} 或其下属记录仍有合作关系：{shown}；请先删除这些合作关系"
        )
    if attached and not force:
        raise Conflict(
            f"{entity.label} {row_id} 仍关联 {'、'.join(attached)}；确认一并处理请加参数 force=true"
        )
    try:
        repo.delete_row(conn, entity.spec, row_id)
    except psycopg.errors.ForeignKeyViolation:
        raise Conflict(f"{entity.label} {row_id} 仍被其他记录引用，不能删除") from None
    audit.record(
        conn,
        actor_id=getattr(actor, "id", None),
        action="delete",
        entity_type=entity.entity_type,
        entity_id=row_id,
        before=before,
        region_paths=target.regions,  # the row is gone: SQL could not resolve them any more
    )
    return before
