"""The catalogue kinds: columns (Chinese headers first, then the English DB name) and how a row
becomes a record. Blank optional cells take the column's default (or NULL where nullable)."""

from __future__ import annotations

import re
from datetime import date
from functools import partial

from models.codes import credit_code_problem, major_catalogue, major_code_problem
from service.ingest.headers import Column as C
from service.ingest.kinds import Kind, Target
from service.ingest.lookups import Ref
from service.ingest.row import Row
from service.ingest.values import (
    Cell,
    Parsed,
    as_text,
    enum_labels,
    fold,
    parse_date,
    parse_enum,
    parse_industry_codes,
    parse_int,
    parse_list,
    parse_text,
)

SIZES = enum_labels(
    {
        "大型": ("大", "large"),
        "中型": ("中", "medium"),
        "小型": ("小", "small"),
        "微型": ("微", "micro"),
    }
)
SCHOOL_KINDS = enum_labels(
    {
        "双一流": ("双一流建设高校", "一流大学建设高校", "一流学科建设高校"),
        "本科": ("普通本科", "本科院校", "undergraduate"),
        "职教本科": ("职业本科", "本科层次职业学校", "职业技术大学"),
        "高职专科": ("专科", "高职", "高职高专", "高职(专科)", "高等职业学校"),
        "中职": ("中等职业学校", "中专", "技工学校", "职业高中"),
        "中学": ("普通中学", "高中", "初中", "普通高中"),
    }
)
LEVELS = enum_labels(
    {
        "本科": ("普通本科",),
        "职教本科": ("职业本科",),
        "高职专科": ("专科", "高职", "高职(专科)"),
        "中职": ("中专", "中等职业教育"),
    }
)
NEED_KINDS = enum_labels(
    {
        "talent": ("人才", "人才需求", "招聘", "用工", "人才引进"),
        "technology": ("技术", "技术需求", "技术攻关", "研发", "技术合作"),
        "training": ("培训", "员工培训", "职工培训", "培训需求"),
        "practice_base": ("实践基地", "实习基地", "实训基地", "实习实训", "基地"),
        "mentor": ("导师", "导师需求"),
    }
)
NEED_STATUS = enum_labels(
    {
        "open": ("开放", "待对接", "未对接", "进行中"),
        "matched": ("已对接", "已匹配", "已结对"),
        "closed": ("已关闭", "关闭", "已完成", "结束"),
    }
)
MENTOR_KINDS = enum_labels(
    {
        "academic": ("学术导师", "学业导师"),
        "research": ("科研导师",),
        "industry_professor": ("产业教授", "产业导师", "企业导师"),
    }
)
ENTERPRISE_STATUS = enum_labels(
    {
        "active": ("在营", "存续", "正常", "开业"),
        "inactive": ("注销", "吊销", "停业", "歇业", "迁出"),
    }
)
PARTY_TYPES = enum_labels(
    {
        "bureau": ("教育行政部门", "教育局"),
        "park": ("产业园区", "园区"),
        "school": ("学校", "高校", "院校"),
        "enterprise": ("企业", "公司"),
    }
)
_SCHOOL_CODE = re.compile(r"^[0-9A-Z]{4,12}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

name_text = partial(parse_text, max_len=200)
short_text = partial(parse_text, max_len=500)


def parse_credit_code(cell: Cell) -> Parsed:
    text = fold(as_text(cell) or "").upper()
    problem = credit_code_problem(text)
    return (None, problem) if problem else (text, None)


def parse_major_code(cell: Cell) -> Parsed:
    text = fold(as_text(cell) or "").upper()
    problem = major_code_problem(text)
    return (None, problem) if problem else (text, None)


def parse_school_code(cell: Cell) -> Parsed:
    text = fold(as_text(cell) or "").upper()
    if not _SCHOOL_CODE.match(text):
        return None, "学校代码应为4–12位数字或大写字母（如教育部院校代码 4141010459）"
    return text, None


def parse_email(cell: Cell) -> Parsed:
    text = fold(as_text(cell) or "")
    return (text, None) if _EMAIL.match(text) and len(text) <= 200 else (None, "邮箱格式错误")


def _optional(r: Row, rec: dict, spec: dict[str, tuple]) -> None:
    """Copy optional columns present in the file: {column: (parser, default)}."""
    for col, (parse, default) in spec.items():
        if r.has(col):
            rec[col] = r.get(col, parse, default=default)


CONTACTS = {"contact_name": (name_text, None), "contact_phone": (name_text, None)}

# ---------------------------------------------------------------- enterprises

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
    _optional(
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

# ---------------------------------------------------------------- schools

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
    _optional(r, rec, {"tags": (parse_list, []), "description": (parse_text, ""), **CONTACTS})
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

# ---------------------------------------------------------------- programmes

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
    _optional(
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

# ---------------------------------------------------------------- parks

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
    _optional(
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

# ---------------------------------------------------------------- needs

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
    _optional(
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

# ---------------------------------------------------------------- mentors

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


def _affiliation(r: Row, cols: tuple[str, str, str]) -> Ref | None:
    """One of: a combined column (school or enterprise), a school column, an enterprise column."""
    either, school, enterprise = cols
    lk = r.ctx.lookups
    for col, find in (
        (either, lk.school_or_enterprise),
        (school, lk.school),
        (enterprise, lk.enterprise),
    ):
        if as_text(r.raw(col)[0]) is not None:
            return r.ref(col, find)
    present = [c for c in cols if r.has(c)]
    r.error(
        present[0] if present else None,
        None,
        f"「{r.header(present[0]) if present else '所在单位'}」为空",
        "required",
    )
    return None


def build_mentor(r: Row) -> None:
    name = r.get("name", name_text, required=True)
    kind = r.get("kind", partial(parse_enum, labels=MENTOR_KINDS), required=True, code="enum")
    org = _affiliation(r, ("affiliation", "school", "enterprise"))
    if org is not None and kind == "industry_professor" and org.type != "enterprise":
        r.error("kind", r.raw("kind")[0], "产业教授须由企业人员担任（所在单位应为企业）", "invalid")
    school_id = org.id if org and org.type == "school" else None
    enterprise_id = org.id if org and org.type == "enterprise" else None
    rec = {"name": name, "kind": kind, "school_id": school_id, "enterprise_id": enterprise_id}
    _optional(
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

# ---------------------------------------------------------------- practice bases

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
    host = _affiliation(r, ("host", "host_school", "host_enterprise"))
    region = r.region("region") if as_text(r.raw("region")[0]) is not None else None
    if region is None and host is not None and not r.errors:
        region = host.region_id
    rec = {
        "name": name,
        "host_school_id": host.id if host and host.type == "school" else None,
        "host_enterprise_id": host.id if host and host.type == "enterprise" else None,
        "region_id": region,
    }
    _optional(
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

# ---------------------------------------------------------------- partnerships

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
        "kind": r.get("kind", name_text, default="结对包联"),
        "source": f"import:{r.ctx.filename}"[:200],
    }
    _optional(r, rec, {"since": (parse_date, None), "progress": (parse_text, "")})
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

KINDS = (SCHOOLS, PROGRAMMES, ENTERPRISES, NEEDS, MENTORS, PRACTICE_BASES, PARKS, PARTNERSHIPS)
