"""The generic partnerships import (甲方 / 乙方 table): how a row becomes a partnership."""

from __future__ import annotations

from datetime import date
from functools import partial

from models import vocab as V
from service.ingest.catalogue.fields import (
    PARTY_TYPES,
    name_text,
    optional,
)
from service.ingest.headers import Column as C
from service.ingest.kinds import Kind, Target
from service.ingest.lookups import Ref
from service.ingest.row import Row
from service.ingest.values import (
    as_text,
    parse_date,
    parse_enum,
    parse_text,
)

PARTNERSHIP_COLUMNS = (
    C("party_a", ("甲方", "单位A", "结对单位", "教育行政部门(学校)"), True, aliases=("a",)),
    C("party_b", ("乙方", "单位B", "包联单位", "包联产业园区(企业)名称"), True, aliases=("b",)),
    C("a_type", ("甲方类型", "单位A类型")),
    C("b_type", ("乙方类型", "单位B类型")),
    C("kind", ("合作类型", "合作形式", "类型")),
    C("since", ("开始日期", "起始日期", "结对时间", "开始时间")),
    C("progress", ("工作进展", "工作推进情况", "进展")),
)


def find_party(r: Row, text: str, ptype: str | None) -> tuple[Ref | None, str | None]:
    """By the given type, else the first of bureau, park, school, enterprise that knows it."""
    lk = r.ctx.lookups
    finders = {
        "bureau": lk.bureau,
        "park": lk.park,
        "school": lk.school,
        "enterprise": lk.enterprise,
    }
    if ptype:
        return finders[ptype](text)
    for find in finders.values():
        found, problem = find(text)
        if found is not None or (problem and "重名" in problem):
            return found, problem
    return None, f"未找到单位「{text}」（应为已有的教育行政部门、产业园区、学校或企业）"


def canonical(a: Ref, b: Ref) -> dict[str, object]:
    """Endpoints in the table's canonical order ((a_type, a_id) < (b_type, b_id))."""
    first, second = sorted([(a.type, a.id), (b.type, b.id)])
    return {"a_type": first[0], "a_id": first[1], "b_type": second[0], "b_id": second[1]}


def build_partnership(r: Row) -> None:
    ends: list[Ref] = []
    for col, tcol in (("party_a", "a_type"), ("party_b", "b_type")):
        ptype = r.get(tcol, partial(parse_enum, labels=PARTY_TYPES), code="enum")
        cell, header = r.raw(col)
        text = as_text(cell)
        if text is None:
            r.get(col, parse_text, required=True)
            continue
        found, problem = find_party(r, text, ptype)
        if found is None:
            r.error(col, cell, problem or "未找到", "reference")
        else:
            ends.append(found)
    if len(ends) == 2 and (ends[0].type, ends[0].id) == (ends[1].type, ends[1].id):
        r.error("party_b", r.raw("party_b")[0], "结对双方不能是同一单位", "invalid")
    rec: dict[str, object] = {
        "kind": r.get("kind", name_text, default=V.KIND_PAIRING),
        "source": V.import_source(r.ctx.filename),
    }
    optional(r, rec, {"since": (parse_date, None), "progress": (parse_text, "")})
    if r.has("since") and rec.get("since") is None:
        rec["since"] = date.today()  # blank: the column default (insert-only, never updated)
    if len(ends) == 2 and not r.errors:
        rec.update(canonical(ends[0], ends[1]))
        key = f"{rec['a_type']}:{rec['a_id']}|{rec['b_type']}:{rec['b_id']}"
        shown = f"{as_text(r.raw('party_a')[0])} ↔ {as_text(r.raw('party_b')[0])}"
        r.emit("partnerships", rec, key, shown)


PARTNERSHIP_TARGET = Target(
    "partnerships",
    ("{t}a_type", "{t}a_id", "{t}b_type", "{t}b_id"),
    {
        "a_type": None,
        "a_id": None,
        "b_type": None,
        "b_id": None,
        "kind": None,
        "source": None,
        "since": "since",
        "progress": "progress",
    },
    ("party_a", "party_b"),
    match="{t}status = 'active'",
    insert_only=("source", "since"),
)

PARTNERSHIPS = Kind(
    "partnerships",
    "结对关系",
    PARTNERSHIP_COLUMNS,
    (PARTNERSHIP_TARGET,),
    build_partnership,
    enterprise_refs=("party_a", "party_b"),
)
