"""What the catalogue import kinds share: the vocabularies' parser labels, code and e-mail
parsers, optional columns and contact columns. Blank optional cells take the column's default
(or NULL where nullable)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import partial

from models import vocab as V
from models.codes import credit_code_problem, major_code_problem
from service.ingest.lookups import Ref
from service.ingest.row import Row
from service.ingest.values import (
    Cell,
    Parsed,
    as_text,
    enum_labels,
    fold,
    parse_text,
)


def _vocab(labels: Mapping[str, str], aliases: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Parser labels of a vocabulary (models/vocab.py): each code's label, then the other names
    spreadsheets use for it. Aliases of a code the vocabulary lacks are a bug, caught here."""
    unknown = set(aliases) - set(labels)
    assert not unknown, f"aliases for codes not in the vocabulary: {unknown}"
    return enum_labels({code: (label, *aliases.get(code, ())) for code, label in labels.items()})


def _named(codes: tuple[str, ...]) -> dict[str, str]:
    """A vocabulary whose stored value is its Chinese name (school kinds, sizes)."""
    return {c: c for c in codes}


SIZES = _vocab(
    _named(V.ENTERPRISE_SIZES),
    {
        "大型": ("大", "large"),
        "中型": ("中", "medium"),
        "小型": ("小", "small"),
        "微型": ("微", "micro"),
    },
)
SCHOOL_KINDS = _vocab(
    _named(V.SCHOOL_KINDS),
    {
        "双一流": ("双一流建设高校", "一流大学建设高校", "一流学科建设高校"),
        "本科": ("普通本科", "本科院校", "undergraduate"),
        "职教本科": ("职业本科", "本科层次职业学校", "职业技术大学"),
        "高职专科": ("专科", "高职", "高职高专", "高职(专科)", "高等职业学校"),
        "中职": ("中等职业学校", "中专", "技工学校", "职业高中"),
        "中学": ("普通中学", "高中", "初中", "普通高中"),
    },
)
LEVELS = _vocab(
    _named(V.PROGRAMME_LEVELS),
    {
        "本科": ("普通本科",),
        "职教本科": ("职业本科",),
        "高职专科": ("专科", "高职", "高职(专科)"),
        "中职": ("中专", "中等职业教育"),
    },
)
NEED_KINDS = _vocab(
    V.NEED_KIND_LABELS,
    {
        "talent": ("人才需求", "招聘", "用工", "人才引进"),
        "technology": ("技术需求", "技术攻关", "研发", "技术合作"),
        "training": ("员工培训", "职工培训", "培训需求"),
        "practice_base": ("实习基地", "实训基地", "实习实训", "基地"),
        "mentor": ("导师需求",),
    },
)
NEED_STATUS = _vocab(
    V.NEED_STATUS_LABELS,
    {
        "open": ("待对接", "未对接", "进行中"),
        "matched": ("已匹配", "已结对"),
        "closed": ("关闭", "已完成", "结束"),
    },
)
MENTOR_KINDS = _vocab(
    V.MENTOR_KIND_LABELS,
    {"academic": ("学业导师",), "industry_professor": ("产业导师", "企业导师")},
)
ENTERPRISE_STATUS = _vocab(
    V.ENTERPRISE_STATUS_LABELS,
    {"active": ("存续", "正常", "开业"), "inactive": ("吊销", "停业", "歇业", "迁出")},
)
# The generic partnerships table names its two parties' types in Chinese (four of the seven).
PARTY_TYPES = _vocab(
    {t: V.PARTY_LABELS[t] for t in ("bureau", "park", "school", "enterprise")},
    {"bureau": ("教育局",), "park": ("园区",), "school": ("高校", "院校"), "enterprise": ("公司",)},
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


def optional(r: Row, rec: dict, spec: dict[str, tuple]) -> None:
    """Copy optional columns present in the file: {column: (parser, default)}."""
    for col, (parse, default) in spec.items():
        if r.has(col):
            rec[col] = r.get(col, parse, default=default)


CONTACTS = {"contact_name": (name_text, None), "contact_phone": (name_text, None)}


def affiliation(r: Row, cols: tuple[str, str, str]) -> Ref | None:
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
