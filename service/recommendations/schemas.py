"""Request and response models of the recommendation endpoints."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

SubjectType = Literal["school", "programme", "park"]


class SubjectRef(BaseModel):
    type: SubjectType
    id: int = Field(ge=1, le=2_147_483_647)


class EnterpriseFilters(BaseModel):
    industry_codes: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="GB/T 4754 codes; matched by division (2 digits)",
    )
    sizes: list[Literal["大型", "中型", "小型", "微型"]] = Field(default_factory=list)
    park_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    max_distance_km: float | None = Field(default=None, gt=0, le=2000)


class PartnerEnterprisesRequest(BaseModel):
    """For one subject, or a batch (`subjects`) in which each enterprise appears at most
    `exposure_cap` times (the bureau's batch)."""

    subject: SubjectRef | None = None
    subjects: list[SubjectRef] = Field(default_factory=list, max_length=50)
    region: str | None = Field(
        default=None,
        pattern=r"^[0-9]{6}$",
        description="region code of the requesting bureau's scope "
        "(province, city or county); default: the user's",
    )
    k: int = Field(default=10, ge=1, le=100)
    filters: EnterpriseFilters = Field(default_factory=EnterpriseFilters)
    exposure_cap: int | None = Field(default=None, ge=1, le=100)

    @model_validator(mode="after")
    def _one_or_batch(self) -> PartnerEnterprisesRequest:
        if (self.subject is None) == (not self.subjects):
            raise ValueError("give exactly one of `subject` or `subjects`")
        return self

    def all_subjects(self) -> list[SubjectRef]:
        return [self.subject] if self.subject else list(self.subjects)


class ProgrammesRequest(BaseModel):
    need_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    text: str | None = Field(default=None, min_length=2, max_length=4000)
    k: int = Field(default=10, ge=1, le=100)
    levels: list[Literal["本科", "职教本科", "高职专科", "中职"]] = Field(default_factory=list)
    school_kinds: list[Literal["双一流", "本科", "职教本科", "高职专科", "中职", "中学"]] = Field(
        default_factory=list
    )
    region: str | None = Field(default=None, pattern=r"^[0-9]{6}$")

    @model_validator(mode="after")
    def _need_or_text(self) -> ProgrammesRequest:
        if (self.need_id is None) == (self.text is None):
            raise ValueError("give exactly one of `need_id` or `text`")
        return self


class MentorsRequest(BaseModel):
    programme_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    need_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    text: str | None = Field(
        default=None, min_length=2, max_length=4000, description="e.g. a student's interest"
    )
    kinds: list[Literal["academic", "research", "industry_professor"]] = Field(default_factory=list)
    region: str | None = Field(default=None, pattern=r"^[0-9]{6}$")
    k: int = Field(default=10, ge=1, le=100)

    @model_validator(mode="after")
    def _one_source(self) -> MentorsRequest:
        if sum(x is not None for x in (self.programme_id, self.need_id, self.text)) != 1:
            raise ValueError("give exactly one of `programme_id`, `need_id` or `text`")
        return self


class PracticeBasesRequest(BaseModel):
    programme_id: int = Field(ge=1, le=2_147_483_647)
    max_distance_km: float | None = Field(default=None, gt=0, le=2000)
    region: str | None = Field(default=None, pattern=r"^[0-9]{6}$")
    min_slots: int = Field(default=1, ge=1, le=10_000)
    k: int = Field(default=10, ge=1, le=100)


class Reason(BaseModel):
    code: str
    text: str
    model_config = {"extra": "allow"}


class Item(BaseModel):
    rank: int
    recommendation_id: int | None
    candidate: dict[str, Any]
    score: float
    features: dict[str, float]
    reasons: list[Reason]


class SubjectResult(BaseModel):
    subject: dict[str, Any]
    items: list[Item]
    excluded: dict[str, int] = Field(description="candidates removed by each guard / filter")
    notice: str | None = None


class RecommendationResponse(BaseModel):
    run_id: int | None
    kind: str
    results: list[SubjectResult]
    versions: dict[str, Any]
    timings_ms: dict[str, float]


class SearchHit(BaseModel):
    type: str
    id: int
    name: str
    score: float
    snippet: str
    matched_terms: list[str]
