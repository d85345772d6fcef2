"""The mentors import: columns and how a row becomes a mentor (school or enterprise)."""

from __future__ import annotations

from functools import partial

from service.ingest.catalogue.fields import (
    MENTOR_KINDS,
    affiliation,
    name_text,
    optional,
    parse_email,
)
from service.ingest.headers import Column as C
from service.ingest.kinds import Kind, Target
from service.ingest.row import Row
from service.ingest.values import (
    as_text,
    parse_enum,
    parse_int,
    parse_list,
    parse_text,
)

MENTOR_COLUMNS = (
    C("name", ("姓名", "导师姓名", "名称"), True),
    C("kind", ("导师类型", "类型", "类别"), True),
    C("affiliation", ("所在单位", "工作单位", "单位", "所属单位"), aliases=("org",)),
    C("school", ("学校", "所在学校", "学校名称", "学校代码"), aliases=("school_id",)),
    C(
        "enterprise",
        ("企业", "所在企业", "企业名称", "统一社会信用代码"),
        aliases=("enterprise_id", "credit_code"),
    ),
    C("title", ("职称", "职务")),
    C("fields", ("研究方向", "专业领域", "领域", "方向")),
    C("description", ("个人简介", "简介", "描述")),
    C("capacity", ("指导名额", "可带学生数", "容量")),
    C("contact_email", ("邮箱", "电子邮箱", "email", "e-mail")),
)


def build_mentor(r: Row) -> None:
    name = r.get("name", name_text, required=True)
    kind = r.get("kind", partial(parse_enum, labels=MENTOR_KINDS), required=True, code="enum")
    org = affiliation(r, ("affiliation", "school", "enterprise"))
    if org is not None and kind == "industry_professor" and org.type != "enterprise":
        r.error("kind", r.raw("kind")[0], "产业教授须由企业人员担任（所在单位应为企业）", "invalid")
    school_id = org.id if org and org.type == "school" else None
    enterprise_id = org.id if org and org.type == "enterprise" else None
    rec = {"name": name, "kind": kind, "school_id": school_id, "enterprise_id": enterprise_id}
    optional(
        r,
        rec,
        {
            "title": (name_text, ""),
            "fields": (parse_list, []),
            "description": (parse_text, ""),
            "capacity": (partial(parse_int, maximum=10_000), 3),
            "contact_email": (parse_email, None),
        },
    )
    if name and org:
        org_text = next(
            (
                as_text(r.raw(c)[0])
                for c in ("affiliation", "school", "enterprise")
                if r.raw(c)[0] is not None
            ),
            "",
        )
        r.emit(
            "mentors", rec, f"{name}|{school_id or 0}|{enterprise_id or 0}", f"{name} / {org_text}"
        )


MENTORS = Kind(
    "mentors",
    "导师",
    MENTOR_COLUMNS,
    (
        Target(
            "mentors",
            ("{t}name", "coalesce({t}school_id, 0)", "coalesce({t}enterprise_id, 0)"),
            {
                "name": None,
                "kind": None,
                "school_id": None,
                "enterprise_id": None,
                "title": "title",
                "fields": "fields",
                "description": "description",
                "capacity": "capacity",
                "contact_email": "contact_email",
            },
            ("name", "affiliation"),
        ),
    ),
    build_mentor,
    enterprise_refs=("affiliation", "enterprise"),
    one_of=(("affiliation", "school", "enterprise"),),
)
