"""The practice-bases import: columns and how a row becomes a practice base."""

from __future__ import annotations

from functools import partial

from service.ingest.catalogue.fields import (
    affiliation,
    name_text,
    optional,
)
from service.ingest.headers import Column as C
from service.ingest.kinds import Kind, Target
from service.ingest.row import Row
from service.ingest.values import (
    as_text,
    parse_int,
    parse_list,
    parse_text,
)

BASE_COLUMNS = (
    C("name", ("基地名称", "实践基地名称", "实践基地", "名称"), True),
    C("host", ("依托单位", "共建单位", "承建单位", "所在单位"), aliases=("host_name",)),
    C("host_school", ("依托学校", "学校"), aliases=("host_school_id",)),
    C("host_enterprise", ("依托企业", "企业", "统一社会信用代码"), aliases=("host_enterprise_id",)),
    C("region", ("所在地区", "地区", "区划代码"), aliases=("region_id", "region_code")),
    C("fields", ("实践领域", "专业领域", "领域", "方向")),
    C("description", ("基地简介", "简介", "描述")),
    C("slots_per_term", ("每学期接纳人数", "每学期可接纳人数", "接纳人数", "名额", "容量")),
)


def build_base(r: Row) -> None:
    name = r.get("name", name_text, required=True)
    host = affiliation(r, ("host", "host_school", "host_enterprise"))
    region = r.region("region") if as_text(r.raw("region")[0]) is not None else None
    if region is None and host is not None and not r.errors:
        region = host.region_id
    rec = {
        "name": name,
        "host_school_id": host.id if host and host.type == "school" else None,
        "host_enterprise_id": host.id if host and host.type == "enterprise" else None,
        "region_id": region,
    }
    optional(
        r,
        rec,
        {
            "fields": (parse_list, []),
            "description": (parse_text, ""),
            "slots_per_term": (partial(parse_int, maximum=100_000), 20),
        },
    )
    if name and host:
        r.emit("practice_bases", rec, name, name)


PRACTICE_BASES = Kind(
    "practice-bases",
    "实践基地",
    BASE_COLUMNS,
    (
        Target(
            "practice_bases",
            ("{t}name",),
            {
                "name": None,
                "host_school_id": None,
                "host_enterprise_id": None,
                "region_id": None,
                "fields": "fields",
                "description": "description",
                "slots_per_term": "slots_per_term",
            },
            ("name",),
        ),
    ),
    build_base,
    enterprise_refs=("host", "host_enterprise"),
    one_of=(("host", "host_school", "host_enterprise"),),
)
