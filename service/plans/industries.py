"""Each region's leading industries (主导产业): read, replace, import from CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import psycopg
from pydantic import ValidationError

from models.profiles import industry_label
from service.errors import InvalidInput
from service.plans import access
from service.plans import repository as repo
from service.plans.schemas import (
    LeadingIndustriesIn,
    LeadingIndustry,
    LeadingIndustryIn,
    RegionIndustries,
)
from service.plans.service import region_or_404

CODE_HEADERS = ("code", "代码", "产业代码", "行业代码", "国民经济行业代码")
NAME_HEADERS = ("name", "名称", "产业名称", "主导产业", "行业名称")


def get(conn: psycopg.Connection, code: str) -> RegionIndustries:
    region = region_or_404(conn, code)
    rows = repo.leading_industries(conn, [region["id"]])
    return RegionIndustries(
        region=region["code"],
        region_name=region["name"],
        industries=[LeadingIndustry(code=r["code"], name=r["name"], rank=r["rank"]) for r in rows],
    )


def replace(
    conn: psycopg.Connection, code: str, body: LeadingIndustriesIn, actor: Any
) -> RegionIndustries:
    region = region_or_404(conn, code)
    if region["level"] == "county":
        raise InvalidInput("主导产业清单按省、市设置，区县不单独设置")
    access.require(actor, "catalogue.write", region["path"], f"{region['name']}的主导产业")
    repo.replace_leading_industries(
        conn, region["id"], [(i.code, i.name) for i in body.industries], getattr(actor, "id", None)
    )
    return get(conn, code)


def parse_csv(data: bytes) -> LeadingIndustriesIn:
    """Rows of (code, name); a missing name is the GB/T 4754 label. Errors by row and column."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("gb18030", errors="replace")
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    code_col = next((n for n, h in enumerate(header) if h in CODE_HEADERS), None)
    name_col = next((n for n, h in enumerate(header) if h in NAME_HEADERS), None)
    if code_col is None:
        raise InvalidInput(f"缺少产业代码列（可用列名：{'、'.join(CODE_HEADERS)}）")
    items: list[LeadingIndustryIn] = []
    errors: list[dict[str, Any]] = []
    for n, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        code = row[code_col].strip() if code_col < len(row) else ""
        name = row[name_col].strip() if name_col is not None and name_col < len(row) else ""
        try:
            item = LeadingIndustryIn(code=code, name=name or industry_label(code) or code)
        except ValidationError as exc:
            msg = exc.errors()[0]["msg"].removeprefix("Value error, ")
            errors.append({"row": n, "column": header[code_col], "message": msg, "value": code})
            continue
        items.append(item)
    if errors:
        raise InvalidInput(f"主导产业文件有 {len(errors)} 行错误", errors=errors)
    try:
        return LeadingIndustriesIn(industries=items)
    except ValidationError as exc:
        raise InvalidInput(exc.errors()[0]["msg"].removeprefix("Value error, ")) from exc
