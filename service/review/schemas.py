"""I/O models of the review endpoints."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from models import vocab as V
from service.auth.schemas import DbText

Decision = V.ReviewDecision
State = V.ReviewState


class SubmitIn(BaseModel):
    recommendation_ids: list[int] = Field(min_length=1, max_length=500)


class SubmitResult(BaseModel):
    id: int
    status: int = Field(description="200 已提交；403 超出权限；404 不存在；409 冲突；422 无法结对")
    state: State | None = None
    detail: str = ""


class SubmitOut(BaseModel):
    submitted: int
    results: list[SubmitResult]


class DecisionIn(BaseModel):
    decision: Decision
    reason: DbText = Field(
        default="", max_length=2000, description="reject 与 return 必填：退回 / 驳回的理由"
    )


class BulkItem(DecisionIn):
    id: int


class BulkIn(BaseModel):
    items: list[BulkItem] = Field(min_length=1, max_length=200)


class DecisionOut(BaseModel):
    recommendation_id: int
    review_id: int
    decision: Decision
    reason: str
    state: State
    partnership_id: int | None
    reviewer_id: int
    created_at: datetime


class BulkOut(BaseModel):
    decided: int
    items: list[DecisionOut]


class PartyOut(BaseModel):
    type: str
    id: int | None
    name: str | None


class PartnershipBrief(BaseModel):
    id: int
    kind: str
    since: date
    source: str
    other: PartyOut


class Evidence(BaseModel):
    features: dict[str, Any]
    explanation: Any
    partnerships_a: list[PartnershipBrief] = Field(description="a 方现有的结对关系")
    partnerships_b: list[PartnershipBrief] = Field(description="b 方现有的结对关系")


class ReviewItem(BaseModel):
    id: int
    run_id: int
    rank: int
    score: float
    state: State
    subject: PartyOut
    candidate: PartyOut
    party_a: PartyOut | None
    party_b: PartyOut | None
    kind: str | None = Field(description="批准后建立的结对类型")
    region_code: str | None
    region_name: str | None
    submitted_at: datetime | None
    submitted_by: str | None
    age_days: float | None
    evidence: Evidence


class QueueOut(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[ReviewItem]


class ReviewOut(BaseModel):
    id: int
    decision: Decision
    reason: str
    reviewer_id: int
    reviewer: str
    partnership_id: int | None
    created_at: datetime


class HistoryOut(BaseModel):
    recommendation_id: int
    state: State
    submitted_at: datetime | None
    submitted_by: str | None
    decisions: list[ReviewOut]
