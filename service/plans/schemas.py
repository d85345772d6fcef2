"""Plan and leading-industry I/O."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from models.vocab import VOCATIONAL_KINDS

VOCATIONAL = list(VOCATIONAL_KINDS)


class LeadingIndustryIn(BaseModel):
    code: str = Field(description="GB/T 4754 大类 (2 位) 或中类 (3 位)，可带门类字母，如 C36")
    name: str = Field(min_length=1, max_length=100)

    @field_validator("code")
    @classmethod
    def _digits(cls, v: str) -> str:
        digits = v.strip().upper().lstrip("ABCDEFGHIJKLMNOPQRST")
        if not digits.isdigit() or len(digits) not in (2, 3):
            raise ValueError("产业代码应为 GB/T 4754 大类（2 位）或中类（3 位），如 36 或 C361")
        return digits


class LeadingIndustriesIn(BaseModel):
    industries: list[LeadingIndustryIn] = Field(max_length=60)

    @model_validator(mode="after")
    def _unique(self) -> LeadingIndustriesIn:
        codes = [i.code for i in self.industries]
        dup = sorted({c for c in codes if codes.count(c) > 1})
        if dup:
            raise ValueError(f"产业代码重复：{'、'.join(dup)}")
        return self


class LeadingIndustry(BaseModel):
    code: str
    name: str
    rank: int


class RegionIndustries(BaseModel):
    region: str
    region_name: str
    industries: list[LeadingIndustry]


class Range(BaseModel):
    min: int = Field(ge=0, le=100)
    max: int = Field(ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min > self.max:
            raise ValueError("下限不能大于上限")
        return self


class PlanSettings(BaseModel):
    """The quotas and capacities of one request (defaults: seed 004 三、(三))."""

    schools_per_industry: Range = Range(min=5, max=10)
    industries_per_school: Range = Range(min=2, max=3)
    max_new_pairs_per_school_industry: int = Field(default=2, ge=1, le=20)
    enterprise_partner_limit: int = Field(
        default=3, ge=1, le=100, description="每家企业最多结对学校数"
    )
    mentor_seats_per_pair: int = Field(
        default=0, ge=0, le=10, description="每对结对占用的企业导师名额"
    )
    practice_slots_per_pair: int = Field(
        default=0, ge=0, le=100, description="每对结对占用的实践基地名额"
    )
    industry_weight: float = Field(default=0.5, ge=0, le=10, description="学校—产业项的权重")
    candidates_per_industry: int = Field(default=15, ge=3, le=100)
    school_kinds: list[str] = Field(default_factory=lambda: list(VOCATIONAL))
    solver: str = Field(default="highs", pattern="^(highs|cpsat)$")
    time_limit_s: float = Field(default=60, gt=0, le=600)
    allow_shortfall: bool = Field(default=False, description="不可行时仍返回在最小缺口内的最优方案")


class PlanRequest(BaseModel):
    region: str = Field(pattern=r"^[0-9]{6}$")
    settings: PlanSettings | None = None  # None: the defaults


class PlanPair(BaseModel):
    item_id: int | None = None
    school_id: int
    school_name: str
    programme_id: int | None
    programme_name: str | None
    enterprise_id: int
    enterprise_name: str
    industry: str  # '<list region code>:<division>'
    industry_name: str
    fit: float
    reasons: list[dict[str, Any]] = []
    status: str = "proposed"  # proposed / approved / rejected


class ShortfallOut(BaseModel):
    kind: str
    subject: str
    subject_name: str
    required: int
    reachable: int
    eligible: int | None
    message: str


class CoverageCell(BaseModel):
    industry: str
    industry_name: str
    region_name: str
    before: int
    after: int
    min: int
    max: int


class PlanOut(BaseModel):
    plan_id: int | None
    region: str
    region_name: str
    status: str  # optimal / feasible / infeasible
    message: str
    objective: float
    fit: float
    gap: float
    runtime_s: float
    solver: str
    pruning_bound: float | None  # fit the pruning to top candidates can cost at most
    counts: dict[str, int]
    shortfalls: list[ShortfallOut]
    coverage: list[CoverageCell]
    pairs: list[PlanPair]
    submitted: bool = False


class ApproveRequest(BaseModel):
    """Approve the whole plan, or the part for some schools or some industries."""

    schools: list[int] | None = None
    industries: list[str] | None = None
    note: str = Field(default="", max_length=500)
