"""The schools import: columns and how a row becomes a school."""

from __future__ import annotations

from functools import partial

from service.ingest.catalogue.fields import (
    CONTACTS,
    SCHOOL_KINDS,
    name_text,
    optional,
    parse_school_code,
)
from service.ingest.headers import Column as C
from service.ingest.kinds import Kind, Target
from service.ingest.row import Row
from service.ingest.values import (
    parse_enum,
    parse_list,
    parse_text,
)

SCHOOL_COLUMNS = (
    C("code", ("学校代码", "院校代码", "学校标识码", "学校编码", "代码"), True),
    C("name", ("学校名称", "院校名称", "学校", "名称"), True),
    C("kind", ("办学类型", "学校类型", "办学层次", "类型", "层次"), True, aliases=("level",)),
    C(
        "region",
        ("所在地区", "地区", "所在地", "所在城市", "区划代码", "城市", "行政区划"),
        True,
        aliases=("region_id", "region_code", "city"),
    ),
    C("tags", ("标签", "学校标签", "特色标签")),
    C("description", ("学校简介", "简介", "描述", "办学特色")),
    C("contact_name", ("联系人",)),
    C("contact_phone", ("联系电话", "联系方式", "电话")),
)


def build_school(r: Row) -> None:
    code = r.get("code", parse_school_code, required=True, code="school_code")
    name = r.get("name", name_text, required=True)
    kind = r.get("kind", partial(parse_enum, labels=SCHOOL_KINDS), required=True, code="enum")
    region = r.region("region", required=True)
    if code and name:
        same_name, _ = r.ctx.lookups.school(name, suggest=False)
        same_code, _ = r.ctx.lookups.school(code, suggest=False)
        if same_name is not None and (same_code is None or same_code.id != same_name.id):
            r.error("name", name, f"学校名称「{name}」已被另一学校代码使用", "conflict")
    rec = {"code": code, "name": name, "kind": kind, "region_id": region}
    optional(r, rec, {"tags": (parse_list, []), "description": (parse_text, ""), **CONTACTS})
    if code:
        r.emit("schools", rec, code, code)


SCHOOLS = Kind(
    "schools",
    "学校",
    SCHOOL_COLUMNS,
    (
        Target(
            "schools",
            ("{t}code",),
            {
                "code": None,
                "name": None,
                "kind": None,
                "region_id": None,
                "tags": "tags",
                "description": "description",
                "contact_name": "contact_name",
                "contact_phone": "contact_phone",
            },
            ("code",),
        ),
    ),
    build_school,
)
