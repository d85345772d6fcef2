"""The catalogue's list parameters (paging, sorting, filters per entity) and the shapes every
list and refusal share."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import (
    BaseModel,
    Field,
    StringConstraints,
)

from models import vocab as V
from service.catalog.fields import (
    INT4_MAX,
    Clean,
    Code,
    EnterpriseSize,
    HostRef,
    Id,
    IndustryPrefix,
    MentorKind,
    Name,
    NeedKind,
    PartyRef,
    PartyType,
    ProgrammeLevel,
    RegionCode,
    SchoolKind,
    Search,
    Word,
    upper_code,
)

# ---- list parameters -------------------------------------------------------------------------


class ListParams(BaseModel):
    limit: int = Field(50, ge=1, le=500, description="每页条数（1–500）")
    offset: int = Field(0, ge=0, le=10_000_000, description="跳过的条数")
    sort: Annotated[str, StringConstraints(max_length=200), Clean] | None = Field(
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
    level: V.RegionLevel | None = None
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
    status: V.EnterpriseStatus | None = None
    credit_code: Annotated[Code, upper_code(r"[0-9A-Z]{18}", "统一社会信用代码")] | None = None
    q: Search | None = Field(None, description="名称包含")


class NeedFilters(ListParams):
    enterprise_id: Id | None = None
    kind: NeedKind | None = None
    status: V.NeedStatus | None = None
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
    status: V.PartnershipStatus | None = None
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
