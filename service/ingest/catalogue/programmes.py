"""The programmes import: columns and how a row becomes a school's programme."""

from __future__ import annotations

from functools import partial

from models.codes import major_catalogue
from service.ingest.catalogue.fields import (
    LEVELS,
    name_text,
    optional,
    parse_major_code,
)
from service.ingest.headers import Column as C
from service.ingest.kinds import Kind, Target
from service.ingest.row import Row
from service.ingest.values import (
    as_text,
    parse_enum,
    parse_industry_codes,
    parse_int,
    parse_text,
)

PROGRAMME_COLUMNS = (
    C(
        "school",
        ("学校", "学校名称", "学校代码", "院校名称", "院校代码", "所属学校"),
        True,
        aliases=("school_id", "school_code", "school_name"),
    ),
    C("major_code", ("专业代码", "专业编码", "代码"), True),
    C("name", ("专业名称", "专业", "名称")),
    C("level", ("培养层次", "专业层次", "层次", "办学层次")),
    C("description", ("专业简介", "专业特色", "优势特色", "简介", "描述")),
    C("industries", ("服务产业", "面向行业", "对接产业", "服务行业", "行业代码")),
    C("capacity", ("可对接企业数", "合作容量", "容量")),
)


def build_programme(r: Row) -> None:
    school = r.ref("school", r.ctx.lookups.school, required=True)
    major = r.get("major_code", parse_major_code, required=True, code="major_code")
    official = major_catalogue().get(major) if major else None
    name = r.get("name", name_text) or (official[0] if official else None)
    level = r.get("level", partial(parse_enum, labels=LEVELS), code="enum")
    if official and level and level != official[1]:
        r.error(
            "level",
            r.raw("level")[0],
            f"专业代码 {major} 属于{official[1]}专业目录，与层次「{level}」不符",
            "level",
        )
    rec = {
        "school_id": school.id if school else None,
        "major_code": major,
        "name": name,
        "level": level or (official[1] if official else None),
    }
    optional(
        r,
        rec,
        {
            "description": (parse_text, ""),
            "industries": (parse_industry_codes, []),
            "capacity": (partial(parse_int, maximum=10_000), 3),
        },
    )
    if school and major:
        school_text = as_text(r.raw("school")[0]) or ""
        r.emit("programmes", rec, f"{school.id}|{major}", f"{school_text} {major}")


PROGRAMMES = Kind(
    "programmes",
    "专业",
    PROGRAMME_COLUMNS,
    (
        Target(
            "programmes",
            ("{t}school_id", "{t}major_code"),
            {
                "school_id": None,
                "major_code": None,
                "name": None,
                "level": None,
                "description": "description",
                "industries": "industries",
                "capacity": "capacity",
            },
            ("school", "major_code"),
        ),
    ),
    build_programme,
)
