"""Request and response shapes of the catalogue API: one Create / Update / Out per entity.

Update models are derived from the Create models (every field optional, explicit null only where
the column is nullable), so the two cannot drift apart.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    create_model,
    model_validator,
)

INT4_MAX = 2**31 - 1  # PostgreSQL `int`: larger ids cannot exist, larger counts cannot be stored


def _clean(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and lone surrogates cannot be encoded as UTF-8: both would
    # fail deep in the driver, so they are rejected here with a reason.
    if "\x00" in value:
        raise ValueError("不得包含 NUL 字符（\\x00）")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("含无法编码的字符（孤立的 UTF-16 代理项）") from None
    return value


Clean = AfterValidator(_clean)


def upper_code(pattern: str, what: str) -> AfterValidator:
    """A code given in any case with stray spaces, stored upper-case (pydantic would check a
    pattern before upper-casing, so the pattern is checked here, after)."""
    shape = re.compile(pattern)

    def check(value: str) -> str:
        value = value.strip().upper()
        if not shape.fullmatch(value):
            raise ValueError(f"{what}格式不正确")
        return value

    return AfterValidator(check)


Code = Annotated[str, StringConstraints(max_length=40), Clean]
CreditCode = Annotated[Code, upper_code(r".{1,40}", "统一社会信用代码")]  # checked in full later
SchoolCode = Annotated[Code, upper_code(r"[0-9A-Z]{4,12}", "院校代码（4–12位数字或大写字母）")]


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Clean]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), Clean]
LongText = Annotated[str, StringConstraints(max_length=20_000), Clean]
Search = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), Clean
]
Word = Annotated[str, StringConstraints(max_length=40), Clean]
Id = Annotated[int, Field(ge=1, le=INT4_MAX)]
Count = Annotated[int, Field(ge=0, le=INT4_MAX)]
RegionCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$"), Field(examples=["410102"])]
# GB/T 4754-2017: a section letter, or a 2–4 digit division / group / class code.
IndustryCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^([A-T]|[0-9]{2,4})$"),
    Field(examples=["3911"]),
]
IndustryPrefix = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^([A-Ta-t]|[0-9]{1,4})$"),
    Field(examples=["39"], description="GB/T 4754 门类字母（如 C）或代码前缀（如 39、391）"),
]
MajorCode = Annotated[Code, upper_code(r"[0-9A-Z]{1,12}", "专业代码"), Field(examples=["080901"])]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=40), AfterValidator(_clean)
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=200, pattern=r"^[^@\s]+@[^@\s]+$"),
    AfterValidator(_clean),
]

PartyType = Literal[
    "bureau", "park", "school", "programme", "enterprise", "mentor", "practice_base"
]
PARTY_TYPES: tuple[str, ...] = PartyType.__args__  # type: ignore[attr-defined]
SchoolKind = Literal["双一流", "本科", "职教本科", "高职专科", "中职", "中学"]
ProgrammeLevel = Literal["本科", "职教本科", "高职专科", "中职"]
EnterpriseSize = Literal["大型", "中型", "小型", "微型"]
NeedKind = Literal["talent", "technology", "training", "practice_base", "mentor"]
MentorKind = Literal["academic", "research", "industry_professor"]


def _party_ref(value: str) -> str:
    _, _, pid = value.partition(":")
    if int(pid) > INT4_MAX:
        raise ValueError(f"编号超出范围（最大 {INT4_MAX}）")
    return value


PartyRef = Annotated[
    str,
    StringConstraints(pattern=r"^(" + "|".join(PARTY_TYPES) + r"):[1-9][0-9]{0,9}$"),
    AfterValidator(_party_ref),
    Field(examples=["school:12"], description="类型:编号，如 school:12"),
]
HostRef = Annotated[
    str,
    StringConstraints(pattern=r"^(enterprise|school):[1-9][0-9]{0,9}$"),
    AfterValidator(_party_ref),
    Field(examples=["enterprise:5"], description="enterprise:编号 或 school:编号"),
]


class Input(BaseModel):
    # Unknown fields are an error: a misspelt field must not be silently dropped.
    model_config = ConfigDict(extra="forbid")


def patch_model(
    create: type[BaseModel], name: str, *, exclude: tuple[str, ...] = ()
) -> type[Input]:
    """The PATCH body of `create`: all fields optional; null is accepted only where it was."""
    fields: dict[str, Any] = {}
    for field_name, info in create.model_fields.items():
        if field_name in exclude:
            continue
        optional = copy.copy(info)
        optional.default = None
        optional.default_factory = None
        fields[field_name] = (info.annotation, optional)
    return create_model(name, __base__=Input, **fields)


# ---- list parameters -------------------------------------------------------------------------


class ListParams(BaseModel):
    limit: int = Field(50, ge=1, le=500, description="每页条数（1–500）")
    offset: int = Field(0, ge=0, le=10_000_000, description="跳过的条数")
    sort: Annotated[str, StringConstraints(max_length=200), AfterValidator(_clean)] | None = Field(
        None, description="排序字段，逗号分隔，前缀 - 表示降序，如 -updated_at,name"
    )
    with_total: bool = Field(True, description="是否计算总数（大表上可关闭以省时）")
    after_id: int | None = Field(
        None,
        ge=0,
        le=INT4_MAX,
        description="键集分页：只返回编号大于此值的行（sort=-id 时为小于），仅在按 id 排序时可用；"
        "取上一页最后一行的 id，深翻页时比 offset 快",
    )


class RegionFilters(ListParams):
    level: Literal["province", "city", "county"] | None = None
    parent: RegionCode | None = Field(None, description="上级区划代码")
    within: RegionCode | None = Field(None, description="该区划及其所有下级")
    q: Search | None = None


class BureauFilters(ListParams):
    region: RegionCode | None = Field(None, description="区划代码（含下级）")
    q: Search | None = None


class ParkFilters(ListParams):
    region: RegionCode | None = Field(None, description="区划代码（含下级）")
    industry: IndustryPrefix | None = None
    q: Search | None = None


class SchoolFilters(ListParams):
    region: RegionCode | None = Field(None, description="区划代码（含下级）")
    kind: SchoolKind | None = None
    tag: Name | None = None
    q: Search | None = None


class ProgrammeFilters(ListParams):
    school_id: Id | None = None
    major_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{2,7}[TK]{0,2}$")] | None = Field(
        None, description="专业代码或其前缀（如 0809 表示计算机类）"
    )
    level: ProgrammeLevel | None = None
    region: RegionCode | None = Field(None, description="学校所在区划（含下级）")
    industry: IndustryPrefix | None = None
    q: Search | None = None


class EnterpriseFilters(ListParams):
    region: RegionCode | None = Field(None, description="区划代码（含下级）")
    industry: IndustryPrefix | None = None
    park_id: Id | None = None
    size: EnterpriseSize | None = None
    status: Literal["active", "inactive"] | None = None
    credit_code: Annotated[Code, upper_code(r"[0-9A-Z]{18}", "统一社会信用代码")] | None = None
    q: Search | None = Field(None, description="名称包含")


class NeedFilters(ListParams):
    enterprise_id: Id | None = None
    kind: NeedKind | None = None
    status: Literal["open", "matched", "closed"] | None = None
    region: RegionCode | None = Field(None, description="企业所在区划（含下级）")
    q: Search | None = None


class MentorFilters(ListParams):
    kind: MentorKind | None = None
    school_id: Id | None = None
    enterprise_id: Id | None = None
    field: Name | None = Field(None, description="研究/专业领域（精确）")
    q: Search | None = None


class PracticeBaseFilters(ListParams):
    region: RegionCode | None = Field(None, description="区划代码（含下级）")
    host: HostRef | None = None
    field: Name | None = None
    q: Search | None = None


class PartnershipFilters(ListParams):
    party: PartyRef | None = Field(None, description="任一方，如 school:12")
    party_type: PartyType | None = Field(None, description="任一方的类型")
    status: Literal["active", "ended"] | None = None
    kind: Name | None = None


class AuditFilters(ListParams):
    entity_type: Word | None = None
    entity_id: Id | None = None
    action: Word | None = None
    actor_id: Id | None = None


class Problem(BaseModel):
    row: int | None = None
    column: str
    reason: str


class ErrorOut(BaseModel):
    """Every refusal: a machine code, a Chinese message, and for 422 the problems per field."""

    error: str = Field(examples=["invalid_input"])
    detail: str
    errors: list[Problem] | None = None


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int | None = Field(description="符合条件的总数；with_total=false 时为 null")
    limit: int
    offset: int


# ---- outputs ---------------------------------------------------------------------------------


class Stamped(BaseModel):
    id: int
    created_at: dt.datetime
    updated_at: dt.datetime


class Regional(BaseModel):
    region_id: int
    region_code: str
    region_name: str


class RegionOut(BaseModel):
    id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    parent_code: str | None
    path: str
    lat: float | None
    lon: float | None


class AuditOut(BaseModel):
    id: int
    actor_id: int | None
    action: str
    entity_type: str
    entity_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    at: dt.datetime


# ---- bureaus ---------------------------------------------------------------------------------


class BureauCreate(Input):
    name: Name
    region: RegionCode
    contact_name: ShortText | None = None
    contact_phone: Phone | None = None


BureauUpdate = patch_model(BureauCreate, "BureauUpdate")


class BureauOut(Stamped, Regional):
    name: str
    contact_name: str | None = None
    contact_phone: str | None = None


# ---- parks -----------------------------------------------------------------------------------


class ParkCreate(Input):
    name: Name
    region: RegionCode
    leading_industries: list[IndustryCode] = Field(default_factory=list, max_length=50)
    description: LongText = ""


ParkUpdate = patch_model(ParkCreate, "ParkUpdate")


class ParkOut(Stamped, Regional):
    name: str
    leading_industries: list[str]
    description: str


# ---- schools ---------------------------------------------------------------------------------


class SchoolCreate(Input):
    code: SchoolCode = Field(description="教育部院校代码", examples=["4141010459"])
    name: Name
    kind: SchoolKind
    region: RegionCode
    tags: list[Name] = Field(default_factory=list, max_length=50)
    description: LongText = ""
    contact_name: ShortText | None = None
    contact_phone: Phone | None = None


SchoolUpdate = patch_model(SchoolCreate, "SchoolUpdate")


class SchoolOut(Stamped, Regional):
    code: str
    name: str
    kind: str
    tags: list[str]
    description: str
    contact_name: str | None = None
    contact_phone: str | None = None


# ---- programmes ------------------------------------------------------------------------------


class ProgrammeCreate(Input):
    school_id: Id
    major_code: MajorCode
    name: Name | None = Field(None, description="缺省时取专业目录中的名称")
    level: ProgrammeLevel | None = Field(None, description="缺省时取专业目录中的层次")
    description: LongText = ""
    industries: list[IndustryCode] = Field(default_factory=list, max_length=50)
    capacity: Count = 3


ProgrammeUpdate = patch_model(ProgrammeCreate, "ProgrammeUpdate")


class ProgrammeOut(Stamped):
    school_id: int
    school_name: str
    region_code: str
    region_name: str
    major_code: str
    name: str
    level: str
    description: str
    industries: list[str]
    capacity: int


# ---- enterprises -----------------------------------------------------------------------------


class EnterpriseCreate(Input):
    credit_code: CreditCode = Field(
        description="统一社会信用代码（18位）", examples=["91440300708461136T"]
    )
    name: Name
    industry_codes: list[IndustryCode] = Field(default_factory=list, max_length=50)
    region: RegionCode
    park_id: Id | None = None
    size: EnterpriseSize = "中型"
    group_name: ShortText | None = None
    description: LongText = ""
    contact_name: ShortText | None = None
    contact_phone: Phone | None = None
    status: Literal["active", "inactive"] = "active"


EnterpriseUpdate = patch_model(EnterpriseCreate, "EnterpriseUpdate")


class EnterpriseOut(Stamped, Regional):
    credit_code: str
    name: str
    industry_codes: list[str]
    park_id: int | None
    park_name: str | None
    size: str
    group_name: str | None
    description: str
    status: str
    contact_name: str | None = None
    contact_phone: str | None = None


# ---- needs -----------------------------------------------------------------------------------


class NeedCreate(Input):
    enterprise_id: Id
    kind: NeedKind
    title: Name
    description: LongText = ""
    headcount: Count | None = None
    deadline: dt.date | None = None
    status: Literal["open", "matched", "closed"] = "open"


NeedUpdate = patch_model(NeedCreate, "NeedUpdate")


class NeedOut(Stamped):
    enterprise_id: int
    enterprise_name: str
    kind: str
    title: str
    description: str
    headcount: int | None
    deadline: dt.date | None
    status: str


# ---- mentors ---------------------------------------------------------------------------------


class MentorCreate(Input):
    name: Name
    kind: MentorKind
    school_id: Id | None = None
    enterprise_id: Id | None = None
    title: ShortText = ""
    fields: list[Name] = Field(default_factory=list, max_length=50)
    description: LongText = ""
    capacity: Count = 3
    contact_email: Email | None = None


MentorUpdate = patch_model(MentorCreate, "MentorUpdate")


class MentorOut(Stamped):
    name: str
    kind: str
    school_id: int | None
    school_name: str | None
    enterprise_id: int | None
    enterprise_name: str | None
    title: str
    fields: list[str]
    description: str
    capacity: int
    contact_email: str | None = None


# ---- practice bases --------------------------------------------------------------------------


class PracticeBaseCreate(Input):
    name: Name
    host_enterprise_id: Id | None = None
    host_school_id: Id | None = None
    region: RegionCode
    fields: list[Name] = Field(default_factory=list, max_length=50)
    description: LongText = ""
    slots_per_term: Count = 20


PracticeBaseUpdate = patch_model(PracticeBaseCreate, "PracticeBaseUpdate")


class PracticeBaseOut(Stamped, Regional):
    name: str
    host_enterprise_id: int | None
    host_school_id: int | None
    host_name: str
    fields: list[str]
    description: str
    slots_per_term: int


# ---- partnerships ----------------------------------------------------------------------------


class Party(Input):
    type: PartyType
    id: Id


class PartyOut(BaseModel):
    type: str
    id: int
    name: str | None = Field(description="该方名称；已删除时为 null")


class PartnershipCreate(Input):
    a: Party
    b: Party
    kind: Name = "结对包联"
    status: Literal["active", "ended"] = "active"
    since: dt.date = Field(default_factory=dt.date.today)
    source: Name = "manual"
    progress: LongText = ""
    a_contact: LongText | None = Field(default=None, description="甲方联系人及联系方式")
    b_contact: LongText | None = Field(default=None, description="乙方联系人及联系方式")


# The two parties are the identity of a partnership: to change them, end it and create another.
PartnershipUpdate = patch_model(PartnershipCreate, "PartnershipUpdate", exclude=("a", "b"))


class PartnershipOut(Stamped):
    a: PartyOut
    b: PartyOut
    kind: str
    status: str
    since: dt.date
    source: str
    progress: str
    # contact fields: only for those the access policy lets read contacts
    a_contact: str | None = None
    b_contact: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _nest_parties(cls, data: Any) -> Any:
        if isinstance(data, dict) and "a_type" in data:
            data = dict(data)
            for side in ("a", "b"):
                data[side] = {
                    "type": data.pop(f"{side}_type"),
                    "id": data.pop(f"{side}_id"),
                    "name": data.pop(f"{side}_name", None),
                }
        return data
