"""The last step of every journey: re-check the scope, store the run with its items (one
statement), and render the response (a response sent is a run stored)."""

from __future__ import annotations

from typing import Any

import psycopg

from service.recommendations import access
from service.recommendations import repository as repo
from service.recommendations import schemas as S
from service.recommendations.engine import Engine
from service.recommendations.pipeline import Scored, Subject, Timer

Actor = Any  # service.auth's User (id, role, region_path); None for internal callers


# What a response shows of each kind of candidate (built once, not per item).
_VIEW_KEYS: dict[str, tuple[str, ...]] = {
    "enterprise": (
        "id",
        "name",
        "credit_code",
        "industry_codes",
        "size",
        "park_id",
        "park_name",
        "group_name",
        "region_code",
        "region_name",
        "city_name",
    ),
    "programme": (
        "id",
        "name",
        "major_code",
        "level",
        "school_id",
        "school_name",
        "school_kind",
        "industries",
        "capacity",
        "capacity_left",
        "region_code",
        "region_name",
        "city_name",
    ),
    "mentor": (
        "id",
        "name",
        "kind",
        "title",
        "fields",
        "school_id",
        "enterprise_id",
        "affiliation_name",
        "capacity",
        "capacity_left",
        "region_name",
        "city_name",
    ),
    "practice_base": (
        "id",
        "name",
        "fields",
        "slots_per_term",
        "capacity_left",
        "host_enterprise_id",
        "host_school_id",
        "host_name",
        "region_code",
        "region_name",
        "city_name",
    ),
}


def _candidate_view(engine: Engine, entity: str, row: dict[str, Any]) -> dict[str, Any]:
    keys = _VIEW_KEYS[entity]
    view = {"type": entity, **{k: row.get(k) for k in keys}}
    if "capacity_left" in keys:
        view["capacity_left"] = engine.capacity_left(entity, row)
    return view


def _store_and_render(
    conn: psycopg.Connection,
    engine: Engine,
    *,
    kind: str,
    entity: str,
    actor: Actor,
    request: dict[str, Any],
    per_subject: list[tuple[Subject, list[Scored], dict[str, int]]],
    region: dict[str, Any] | None,
    timer: Timer,
    store: bool = True,
    notices: dict[int, str] | None = None,
) -> S.RecommendationResponse:
    per_subject = access.keep_in_scope(per_subject, region, entity, kind)
    versions = engine.versions()
    run_id = None
    stored_ids: list[list[int | None]] = [[None] * len(items) for _, items, _ in per_subject]
    if store:
        rank_no = 0
        flat = []
        for subject, items, _ in per_subject:
            for it in items:
                rank_no += 1
                flat.append(
                    {
                        "rank": rank_no,
                        "subject_type": subject.node[0] if subject.node else "text",
                        "subject_id": subject.node[1] if subject.node else None,
                        "candidate_type": entity,
                        "candidate_id": int(it.row["id"]),
                        "score": it.score,
                        "features": it.features,
                        "explanation": it.reasons,
                        "region_id": (region["id"] if region else subject.region_id),
                    }
                )
        run_id, item_ids = repo.insert_run(
            conn,
            kind=kind,
            requester_id=getattr(actor, "id", None),
            request=request,
            versions=versions,
            timings_ms=dict(timer.ms),
            items=flat,
        )
        ids = iter(item_ids)
        stored_ids = [[next(ids) for _ in items] for _, items, _ in per_subject]
        timer.lap("store")
    results = []
    for n, ((subject, items, excluded), rec_ids) in enumerate(
        zip(per_subject, stored_ids, strict=True)
    ):
        # the items as plain data, validated into their models by pydantic's core in one pass
        # (cheaper than building an Item and its Reasons one Python call at a time)
        results.append(
            S.SubjectResult.model_validate(
                {
                    "subject": subject.label,
                    "items": [
                        {
                            "rank": i + 1,
                            "recommendation_id": rid,
                            "candidate": _candidate_view(engine, entity, it.row),
                            "score": it.score,
                            "features": it.features,
                            "reasons": it.reasons,
                        }
                        for i, (it, rid) in enumerate(zip(items, rec_ids, strict=True))
                    ],
                    "excluded": excluded,
                    "notice": (notices or {}).get(n),
                }
            )
        )
    return S.RecommendationResponse(
        run_id=run_id, kind=kind, results=results, versions=versions, timings_ms=dict(timer.ms)
    )
