"""Who asks: a stored school, programme, park or need (read in one query each) or free text,
as the pipeline's ``Subject``."""

from __future__ import annotations

import functools
from typing import Any

import psycopg

from models.profiles import need_text, park_query_text, programme_text, school_query_text
from models.text import tokenize
from service.errors import NotFound
from service.recommendations import repository as repo
from service.recommendations import schemas as S
from service.recommendations.pipeline import Subject


def _location(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "city_code": row.get("city_code"),
        "city_name": row.get("city_name"),
        "lat": row.get("lat"),
        "lon": row.get("lon"),
        "region_id": row.get("region_id"),
    }


@functools.lru_cache(maxsize=4096)
def _major_terms(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(t for t in tokenize(" ".join(names)) if len(t) >= 2)


def load_subject(conn: psycopg.Connection, ref: S.SubjectRef) -> Subject:
    if ref.type == "school":
        school = repo.school_with_programmes(conn, ref.id)  # one round trip
        if school is None:
            raise NotFound(f"学校 {ref.id} 不存在")
        progs = school["programmes"]
        return Subject(
            node=("school", ref.id),
            label={"type": "school", "id": ref.id, "name": school["name"]},
            query_text=school_query_text(school, progs),
            industries=sorted({c for p in progs for c in (p["industries"] or [])}),
            school_kind=school["kind"],
            major_terms=_major_terms(tuple(p["name"] for p in progs)),
            query_ref=("school", ref.id),
            **_location(school),
        )
    if ref.type == "programme":
        prog = repo.programme(conn, ref.id)
        if prog is None:
            raise NotFound(f"专业 {ref.id} 不存在")
        return Subject(
            node=("programme", ref.id),
            label={
                "type": "programme",
                "id": ref.id,
                "name": prog["name"],
                "school": prog["school_name"],
            },
            query_text=programme_text(prog),
            industries=list(prog["industries"] or []),
            school_kind=prog["school_kind"],
            major_terms=_major_terms((prog["name"],)),
            query_ref=("programme", ref.id),
            **_location(prog),
        )
    park = repo.park(conn, ref.id)
    if park is None:
        raise NotFound(f"产业园区 {ref.id} 不存在")
    return Subject(
        node=("park", ref.id),
        label={"type": "park", "id": ref.id, "name": park["name"]},
        query_text=park_query_text(park),
        industries=list(park["leading_industries"] or []),
        query_ref=("park", ref.id),
        **_location(park),
    )


def _need_subject(conn: psycopg.Connection, need_id: int) -> Subject:
    need = repo.need(conn, need_id)
    if need is None:
        raise NotFound(f"需求 {need_id} 不存在")
    return Subject(
        node=("enterprise", need["enterprise_id"]),
        label={
            "type": "need",
            "id": need_id,
            "title": need["title"],
            "enterprise": need["enterprise_name"],
        },
        query_text=need_text(need),
        industries=list(need["industry_codes"] or []),
        need_kinds=[need["kind"]],
        query_ref=("need", need_id),
        **_location(need),
    )


def _text_subject(text: str) -> Subject:
    return Subject(node=None, label={"type": "text", "text": text[:200]}, query_text=text)
