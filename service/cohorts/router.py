"""Cohort mentor assignment endpoints."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from service.auth.deps import RequiredUser
from service.cohorts import service
from service.cohorts.schemas import CohortIn, InterviewsIn, MeetingIn
from service.deps import Conn
from service.recommendations.router import engine_of

router = APIRouter(prefix="/v1/cohorts", tags=["cohorts"])


@router.post("")
def create_cohort(conn: Conn, body: CohortIn, user: RequiredUser) -> Any:
    return service.create(conn, body, user)


@router.get("/{cohort_id}")
def get_cohort(conn: Conn, cohort_id: int, user: RequiredUser) -> Any:
    return service.view(conn, cohort_id, user)


@router.post("/{cohort_id}/shortlist")
def shortlist(conn: Conn, request: Request, cohort_id: int, user: RequiredUser) -> Any:
    return service.shortlist(conn, engine_of(request), cohort_id, user)


@router.put("/{cohort_id}/interviews")
def interviews(conn: Conn, cohort_id: int, body: InterviewsIn, user: RequiredUser) -> Any:
    return service.interviews(conn, cohort_id, body, user)


@router.post("/{cohort_id}/assign")
def assign(conn: Conn, request: Request, cohort_id: int, user: RequiredUser) -> Any:
    return service.assign(conn, engine_of(request), cohort_id, user)


@router.post("/{cohort_id}/meetings")
def meeting(conn: Conn, cohort_id: int, body: MeetingIn, user: RequiredUser) -> Any:
    return service.meeting(conn, cohort_id, body, user)
