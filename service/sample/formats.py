"""How each kind is written: file name, format, encoding, and the header of every field.

Field names are the generator's (mostly the DB column names of 0001_core.sql; references to other
rows by natural key: region_code, school_code, credit_code, park ...). Headers are what lands in
the file: Chinese ones as in the seed tables, or English ones (= field names) for JSON Lines.
All headers are ones the importer's alias tables (service/ingest/builders.py, pairing.py)
accept; kinds it has no importer for (bureaus, programme partnerships) are loaded by
service/sample/repository.py.
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
    preamble: tuple[str, ...] = ()  # title lines above the header (as bureaus' forms have)

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
        ("region_code", "所在地区"),
        ("leading_industries", "主导产业代码"),
        ("description", "园区简介"),
    ),
    encoding="utf-8-sig",
    crlf=True,
)

# GBK, CRLF: what a bureau's older Excel "save as CSV" produces. Regions written by name.
SCHOOLS = FileSpec(
    "schools",
    "schools.csv",
    "csv",
    (
        ("code", "学校代码"),
        ("name", "学校名称"),
        ("kind", "办学类型"),
        ("region_name", "所在地区"),
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
        ("region_code", "所在地区"),
        ("park", "所属园区"),
        ("size", "企业规模"),
        ("group_name", "所属集团"),
        ("description", "企业简介"),
        ("contact_name", "联系人"),
        ("contact_phone", "联系电话"),
        ("status_label", "经营状态"),
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
        ("kind_label", "导师类型"),
        ("school_code", "学校代码"),
        ("credit_code", "统一社会信用代码"),
        ("title", "职称"),
        ("fields", "研究方向"),
        ("description", "个人简介"),
        ("capacity", "指导名额"),
        ("contact_email", "电子邮箱"),
    ),
)

PRACTICE_BASES = FileSpec(
    "practice-bases",
    "practice-bases.xlsx",
    "xlsx",
    (
        ("name", "基地名称"),
        ("host_credit_code", "依托企业"),
        ("host_school_code", "依托学校"),
        ("region_code", "所在地区"),
        ("fields", "实践领域"),
        ("description", "基地简介"),
        ("slots_per_term", "每学期接纳人数"),
    ),
    sheet="实践基地",
)

# Seed 002 Annex 1 as bureaus fill it in: title lines, PDF-broken headers, several parks per row.
PAIRING_TABLE = FileSpec(
    "pairing-table",
    "pairing-table.csv",
    "csv",
    (
        ("unit", "教育行政部 门(学校)"),
        ("counterparts", "包联产业园区 (企业) 名称"),
        ("counterpart_contact", "产业园区 (企业)联系人及联系 方式"),
        ("unit_contact", "教育行政部 门(学校) 包保负责人 及联系方式"),
        ("need", "产业园区 (企业) 需求"),
        ("policies", "出台政策和 工作举措"),
        ("progress", "工作推进情况"),
        ("deadline", "完成时限"),
    ),
    encoding="gbk",
    list_sep="、",
    crlf=True,
    preamble=(
        "附件1",
        "各地（校）结对包联情况汇总表",
        "填报单位：河南省教育厅（公章）  填报人及联系方式：略",
    ),
)

# Other pairings (school / bureau ↔ enterprise): 甲方 and 乙方 by name or code, typed.
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
        ("since", "开始日期"),
        ("progress", "工作推进情况"),
    ),
)

# Programme ↔ enterprise (共建专业): the importer has no programme party, see repository.py.
PROGRAMME_PARTNERSHIPS = FileSpec(
    "programme-partnerships",
    "programme-partnerships.csv",
    "csv",
    (
        ("school_code", "学校代码"),
        ("major_code", "专业代码"),
        ("credit_code", "统一社会信用代码"),
        ("kind", "合作类型"),
        ("status", "状态"),
        ("since", "开始日期"),
        ("progress", "工作推进情况"),
    ),
)

# Each city's and the province's leading industries (issue 13; service/sample/leading.py).
LEADING_INDUSTRIES = FileSpec(
    "leading_industries",
    "leading_industries.csv",
    "csv",
    (("region_code", "行政区划代码"), ("code", "产业代码"), ("name", "主导产业名称")),
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
    PAIRING_TABLE,
    PARTNERSHIPS,
    PROGRAMME_PARTNERSHIPS,
    LEADING_INDUSTRIES,
)
# Loaded by the sample's own SQL, not through the importer.
DIRECT: frozenset[str] = frozenset(
    {BUREAUS.kind, PROGRAMME_PARTNERSHIPS.kind, LEADING_INDUSTRIES.kind}
)
