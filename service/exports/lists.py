"""A recommendation run, and any catalogue list with its filters, as a CSV / XLSX table."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from service.catalog import service as catalog
from service.catalog.entities import Entity
from service.catalog.schemas import ListParams
from service.exports import repository as repo
from service.exports.writer import Format, write_table

MAX_ROWS = 200_000  # a list export stops here (the file says so in its title)
PAGE = 500
CANDIDATE_TABLES = {
    "enterprise": "enterprises",
    "programme": "programmes",
    "mentor": "mentors",
    "practice_base": "practice_bases",
    "school": "schools",
    "park": "parks",
}


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return "；".join("" if v is None else str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def catalogue(
    conn: psycopg.Connection[Any], entity: Entity, params: ListParams, actor: Any, fmt: Format
) -> tuple[bytes, str]:
    """Every row the list endpoint would page through with these filters (by id), shown as
    the list shows it to `actor` (contacts only where the policy allows)."""
    fields = entity.out.model_fields
    headers = [f.description or name for name, f in fields.items()]
    rows: list[list[Any]] = []
    after: int | None = None
    truncated = False
    while True:
        page_params = params.model_copy(
            update={
                "limit": PAGE,
                "offset": 0,
                "sort": "id",
                "after_id": after,
                "with_total": False,
            }
        )
        page = catalog.list_page(conn, entity, page_params, actor)
        items = catalog.present_rows(conn, actor, entity, page["items"])
        for item in items:
            rows.append([_cell(item.get(name)) for name in fields])
        if len(page["items"]) < PAGE:
            break
        after = page["items"][-1]["id"]
        if len(rows) >= MAX_ROWS:
            truncated = True
            break
    shown = {
        k: v
        for k, v in params.model_dump(exclude_none=True).items()
        if k not in ("limit", "offset", "sort", "after_id", "with_total")
    }
    filters = "；".join(f"{k}={v}" for k, v in shown.items()) or "无"
    note = f"筛选条件：{filters}；共 {len(rows)} 行" + ("（已达导出上限）" if truncated else "")
    content = write_table(
        fmt, headers, rows, title=f"{entity.label}列表", lines=[note], sheet=entity.label
    )
    return content, f"{entity.label}列表.{fmt}"


def run(
    conn: psycopg.Connection[Any], run_id: int, found: dict[str, Any], fmt: Format
) -> tuple[bytes, str]:
    """A stored recommendation run (`found`: service.recommendations.service.get_run)."""
    items = found["items"]
    names: dict[tuple[str, int], str] = {}
    by_type: dict[str, list[int]] = {}
    for it in items:
        by_type.setdefault(it["candidate_type"], []).append(it["candidate_id"])
    for ctype, ids in by_type.items():
        table = CANDIDATE_TABLES.get(ctype)
        if table is not None:
            names.update({(ctype, i): n for i, n in repo.names(conn, table, ids).items()})
    headers = ["排名", "候选类型", "候选编号", "候选名称", "得分", "推荐理由"]
    rows = [
        [
            it["rank"],
            it["candidate_type"],
            it["candidate_id"],
            names.get((it["candidate_type"], it["candidate_id"])),
            round(float(it["score"]), 4),
            _reasons(it.get("explanation")),
        ]
        for it in items
    ]
    first = items[0] if items else {}
    subject = f"{first.get('subject_type') or ''} {first.get('subject_id') or ''}".strip()
    subject = f"{found['run'].get('kind', '')}：{subject or '-'}"
    content = write_table(
        fmt,
        headers,
        rows,
        title=f"推荐记录 {run_id}",
        lines=[f"推荐对象：{subject}"],
        sheet=f"推荐记录{run_id}",
        widths=(8, 14, 10, 36, 10, 60),
    )
    return content, f"推荐记录-{run_id}.{fmt}"


def _reasons(value: Any) -> str:
    if not value:
        return ""
    if isinstance(value, list):
        parts = []
        for v in value:
            if isinstance(v, dict):
                parts.append(
                    str(v.get("text") or v.get("reason") or json.dumps(v, ensure_ascii=False))
                )
            else:
                parts.append(str(v))
        return "；".join(parts)
    return str(value)
