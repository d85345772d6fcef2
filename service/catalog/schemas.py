"""Request and response shapes of the catalogue API: one Create / Update / Out per entity.

Update models are derived from the Create models (every field optional, explicit null only where
the column is nullable), so the two cannot drift apart. Field types live in
service/catalog/fields.py, list parameters in service/catalog/filters.py; both are re-exported
here, so `service.catalog.schemas` stays the one import for the API's I/O.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import (
    BaseModel,
    Field,
    model_validator,
)

from models import vocab as V
from service.catalog.fields import (
    Count,
    CreditCode,
    Email,
    EnterpriseSize,
    Id,
    IndustryCode,
    Input,
    LongText,
    MajorCode,
    MentorKind,
    Name,
    NeedKind,
    PartyType,
    Phone,
    ProgrammeLevel,
    RegionCode,
    SchoolCode,
    SchoolKind,
    ShortText,
    patch_model,
)
from service.catalog.filters import EnterpriseFilters, ListParams, SchoolFilters

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
    size: EnterpriseSize = V.DEFAULT_ENTERPRISE_SIZE
    group_name: ShortText | None = None
    description: LongText = ""
    contact_name: ShortText | None = None
    contact_phone: Phone | None = None
    status: V.EnterpriseStatus = "active"


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
    status: V.NeedStatus = "open"


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
    kind: Name = V.KIND_PAIRING
    status: V.PartnershipStatus = "active"
    since: dt.date = Field(default_factory=dt.date.today)
    source: Name = V.SOURCE_MANUAL
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


# Re-exported for the callers that take list parameters with the bodies.
__all__ = ["EnterpriseFilters", "ListParams", "SchoolFilters"]
