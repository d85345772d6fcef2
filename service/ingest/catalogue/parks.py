"""The parks import: columns and how a row becomes an industrial park."""

from __future__ import annotations

from service.ingest.catalogue.fields import (
    name_text,
    optional,
)
from service.ingest.headers import Column as C
from service.ingest.kinds import Kind, Target
from service.ingest.row import Row
from service.ingest.values import (
    parse_industry_codes,
    parse_text,
)

PARK_COLUMNS = (
    C("name", ("园区名称", "产业园区", "产业园区名称", "名称"), True),
    C(
        "region",
        ("所在地区", "地区", "所在地", "区划代码", "行政区划"),
        True,
        aliases=("region_id", "region_code"),
    ),
    C("leading_industries", ("主导产业", "主导产业代码", "行业代码")),
    C("description", ("园区简介", "简介", "描述")),
)


def build_park(r: Row) -> None:
    name = r.get("name", name_text, required=True)
    rec = {"name": name, "region_id": r.region("region", required=True)}
    optional(
        r, rec, {"leading_industries": (parse_industry_codes, []), "description": (parse_text, "")}
    )
    if name:
        r.emit("parks", rec, name, name)


PARKS = Kind(
    "parks",
    "产业园区",
    PARK_COLUMNS,
    (
        Target(
            "parks",
            ("{t}name",),
            {
                "name": None,
                "region_id": None,
                "leading_industries": "leading_industries",
                "description": "description",
            },
            ("name",),
        ),
    ),
    build_park,
)
