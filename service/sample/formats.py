"""How each kind is written: file name, format, encoding, and the header of every field.

Field names are the generator's (mostly the DB column names of 0001_core.sql; references to other
rows by natural key: region_code, school_code, credit_code, park ...). Headers are what lands in
the file: Chinese ones as in the seed tables, or English ones (= field names) for JSON Lines.
All headers must be ones the importer (service/ingest) accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class FileSpec:
    kind: str  # importer kind
    filename: str
    format: Literal["csv", "jsonl", "xlsx"]
    columns: tuple[tuple[str, str], ...]  # (field, header)
    encoding: str = "utf-8"
    list_sep: str = "；"
    crlf: bool = False
    sheet: str | None = None

    @property
    def fields(self) -> list[str]:
        return [f for f, _ in self.columns]

    @property
    def headers(self) -> list[str]:
        return [h for _, h in self.columns]


def _english(*fields: str) -> tuple[tuple[str, str], ...]:
    return tuple((f, f) for f in fields)


BUREAUS = FileSpec(
    "bureaus",
    "bureaus.csv",
    "csv",
    (
        ("name", "教育行政部门名称"),
        ("region_code", "行政区划代码"),
        ("contact_name", "联系人"),
        ("contact_phone", "联系电话"),
    ),
)

PARKS = FileSpec(
    "parks",
    "parks.csv",
    "csv",
    (
        ("name", "园区名称"),
        ("region_code", "行政区划代码"),
        ("leading_industries", "主导产业代码"),
        ("description", "园区简介"),
    ),
    encoding="utf-8-sig",
    crlf=True,
)

# GBK, CRLF: what a bureau's older Excel "save as CSV" produces.
SCHOOLS = FileSpec(
    "schools",
    "schools.csv",
    "csv",
    (
        ("code", "学校代码"),
        ("name", "学校名称"),
        ("kind", "办学类型"),
        ("region_code", "行政区划代码"),
        ("tags", "标签"),
        ("description", "学校简介"),
        ("contact_name", "联系人"),
        ("contact_phone", "联系电话"),
    ),
    encoding="gbk",
    list_sep="、",
    crlf=True,
)

PROGRAMMES = FileSpec(
    "programmes",
    "programmes.jsonl",
    "jsonl",
    _english("school_code", "major_code", "name", "level", "description", "industries", "capacity"),
)

ENTERPRISES = FileSpec(
    "enterprises",
    "enterprises.csv",
    "csv",
    (
        ("credit_code", "统一社会信用代码"),
        ("name", "企业名称"),
        ("industry_codes", "行业代码"),
        ("region_code", "行政区划代码"),
        ("park", "所在园区"),
        ("size", "企业规模"),
        ("group_name", "所属集团"),
        ("description", "企业简介"),
        ("contact_name", "联系人"),
        ("contact_phone", "联系电话"),
        ("status", "状态"),
    ),
)

NEEDS = FileSpec(
    "needs",
    "needs.jsonl",
    "jsonl",
    _english("credit_code", "kind", "title", "description", "headcount", "deadline", "status"),
)

MENTORS = FileSpec(
    "mentors",
    "mentors.csv",
    "csv",
    (
        ("name", "姓名"),
        ("kind", "导师类型"),
        ("school_code", "学校代码"),
        ("credit_code", "企业统一社会信用代码"),
        ("title", "职称"),
        ("fields", "研究领域"),
        ("description", "简介"),
        ("capacity", "可指导人数"),
        ("contact_email", "电子邮箱"),
    ),
)

PRACTICE_BASES = FileSpec(
    "practice-bases",
    "practice-bases.xlsx",
    "xlsx",
    (
        ("name", "基地名称"),
        ("host_credit_code", "依托企业统一社会信用代码"),
        ("host_school_code", "依托学校代码"),
        ("region_code", "行政区划代码"),
        ("fields", "面向领域"),
        ("description", "基地简介"),
        ("slots_per_term", "每学期接纳人数"),
    ),
    sheet="实践基地",
)

# The 结对包联 table of seed 002 Annex 1, with the parties' types and keys spelled out.
PARTNERSHIPS = FileSpec(
    "partnerships",
    "partnerships.csv",
    "csv",
    (
        ("a_type", "甲方类型"),
        ("a_key", "甲方"),
        ("b_type", "乙方类型"),
        ("b_key", "乙方"),
        ("kind", "合作类型"),
        ("status", "状态"),
        ("since", "开始日期"),
        ("progress", "工作推进情况"),
    ),
)

# Load order: referenced rows first.
ALL: tuple[FileSpec, ...] = (
    BUREAUS,
    PARKS,
    SCHOOLS,
    PROGRAMMES,
    ENTERPRISES,
    NEEDS,
    MENTORS,
    PRACTICE_BASES,
    PARTNERSHIPS,
)
