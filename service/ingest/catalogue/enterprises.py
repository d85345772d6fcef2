"""The enterprises import: columns and how a row becomes an enterprise."""

from __future__ import annotations

from functools import partial

from service.ingest.catalogue.fields import (
    CONTACTS,
    ENTERPRISE_STATUS,
    SIZES,
    name_text,
    optional,
    parse_credit_code,
)
from service.ingest.headers import Column as C
from service.ingest.kinds import Kind, Target
from service.ingest.row import Row
from service.ingest.values import (
    as_text,
    parse_enum,
    parse_industry_codes,
    parse_text,
)

ENTERPRISE_COLUMNS = (
    C("credit_code", ("统一社会信用代码", "信用代码", "社会信用代码", "企业信用代码"), True),
    C("name", ("企业名称", "名称", "单位名称", "企业"), True),
    C(
        "industry_codes",
        ("行业代码", "所属行业", "行业", "国民经济行业代码"),
        aliases=("industries",),
    ),
    C(
        "region",
        ("所在地区", "地区", "区划代码", "所在地", "行政区划", "注册地"),
        aliases=("region_id", "region_code"),
    ),
    C("park", ("所属园区", "产业园区", "园区"), aliases=("park_id", "park_name")),
    C("size", ("企业规模", "规模")),
    C("group_name", ("所属集团", "上级单位", "集团", "母公司")),
    C("description", ("企业简介", "简介", "描述", "主营业务")),
    C("contact_name", ("联系人",)),
    C("contact_phone", ("联系电话", "联系方式", "电话")),
    C("status", ("经营状态", "状态")),
)


def build_enterprise(r: Row) -> None:
    code = r.get("credit_code", parse_credit_code, required=True, code="credit_code")
    name = r.get("name", name_text, required=True)
    region = r.region("region")
    if region is None and code and not r.errors and as_text(r.raw("region")[0]) is None:
        region = r.ctx.lookups.region_of_credit_code(code)
        if region is None:
            r.error("region", None, "所在地区为空，且无法从统一社会信用代码推断", "region")
    rec = {"credit_code": code, "name": name, "region_id": region}
    if r.has("park"):
        park = r.ref("park", r.ctx.lookups.park)
        rec["park_id"] = park.id if park else None
    optional(
        r,
        rec,
        {
            "industry_codes": (parse_industry_codes, []),
            "size": (partial(parse_enum, labels=SIZES), "中型"),
            "group_name": (name_text, None),
            "description": (parse_text, ""),
            **CONTACTS,
            "status": (partial(parse_enum, labels=ENTERPRISE_STATUS), "active"),
        },
    )
    if code:
        r.emit("enterprises", rec, code, code)


ENTERPRISES = Kind(
    "enterprises",
    "企业",
    ENTERPRISE_COLUMNS,
    (
        Target(
            "enterprises",
            ("{t}credit_code",),
            {
                "credit_code": None,
                "name": None,
                "region_id": None,
                "park_id": "park",
                "industry_codes": "industry_codes",
                "size": "size",
                "group_name": "group_name",
                "description": "description",
                "contact_name": "contact_name",
                "contact_phone": "contact_phone",
                "status": "status",
            },
            ("credit_code",),
        ),
    ),
    build_enterprise,
)
