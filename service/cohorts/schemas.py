"""Cohort I/O."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class CohortMentorIn(BaseModel):
    mentor_id: int
    subject: str = Field(min_length=1, max_length=50)
    seats: int = Field(ge=0, le=50)


class CohortStudentIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    subject: str = Field(min_length=1, max_length=50)
    interest: str = Field(default="", max_length=2000)
    choices: list[int] = Field(default_factory=list, max_length=10)


class CohortIn(BaseModel):
    region: str = Field(pattern=r"^[0-9]{6}$")
    name: str = Field(min_length=1, max_length=200)
    year: int = Field(ge=2000, le=2100)
    mentors: list[CohortMentorIn] = Field(min_length=1, max_length=2000)
    students: list[CohortStudentIn] = Field(min_length=1, max_length=20000)


class InterviewIn(BaseModel):
    student_id: int
    mentor_id: int
    passed: bool


class InterviewsIn(BaseModel):
    interviews: list[InterviewIn] = Field(min_length=1, max_length=100000)


class MeetingIn(BaseModel):
    student_id: int
    met_on: dt.date
    note: str = Field(default="", max_length=500)
