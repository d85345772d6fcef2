"""The needs import: columns and how a row becomes an enterprise's need."""

from __future__ import annotations

from functools import partial

from service.ingest.catalogue.fields import (
    NEED_KINDS,
    NEED_STATUS,
    name_text,
    optional,
)
from service.ingest.headers import Column as C
from service.ingest.kinds import Kind, Target
from service.ingest.row import Row
from service.ingest.values import (
    as_text,
    parse_date,
    parse_enum,
    parse_int,
    parse_text,
)

NEED_COLUMNS = (
    C(
        "enterprise",
        ("企业", "企业名称", "需求单位", "统一社会信用代码", "信用代码"),
        True,
        aliases=("enterprise_id", "credit_code", "enterprise_name"),
    ),
    C("kind", ("需求类型", "类型", "类别"), True),
    C("title", ("需求标题", "需求名称", "标题", "名称"), True),
    C("description", ("需求描述", "需求内容", "详细说明", "内容", "描述")),
    C("headcount", ("需求人数", "人数", "数量")),
    C("deadline", ("截止日期", "截止时间", "完成时限", "期限")),
    C("status", ("状态", "需求状态")),
)


def build_need(r: Row) -> None:
    ent = r.ref("enterprise", r.ctx.lookups.enterprise, required=True)
    kind = r.get("kind", partial(parse_enum, labels=NEED_KINDS), required=True, code="enum")
    title = r.get("title", name_text, required=True)
    rec = {"enterprise_id": ent.id if ent else None, "kind": kind, "title": title}
    optional(
        r,
        rec,
        {
            "description": (parse_text, ""),
            "headcount": (parse_int, None),
            "deadline": (parse_date, None),
            "status": (partial(parse_enum, labels=NEED_STATUS), "open"),
        },
    )
    if ent and title:
        ent_text = as_text(r.raw("enterprise")[0]) or ""
        r.emit("needs", rec, f"{ent.id}|{title}", f"{ent_text} / {title}")


NEEDS = Kind(
    "needs",
    "企业需求",
    NEED_COLUMNS,
    (
        Target(
            "needs",
            ("{t}enterprise_id", "{t}title"),
            {
                "enterprise_id": None,
                "kind": None,
                "title": None,
                "description": "description",
                "headcount": "headcount",
                "deadline": "deadline",
                "status": "status",
            },
            ("enterprise", "title"),
        ),
    ),
    build_need,
    enterprise_refs=("enterprise",),
)
