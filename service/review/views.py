"""The review queue, one item and its history, with the evidence a reviewer sees (existing
partnerships of both parties, up to MAX_LINKS each)."""

from datetime import UTC, datetime
from typing import Any

import psycopg

from service.auth import policy
from service.auth.schemas import User
from service.errors import DomainError, InvalidInput, NotFound
from service.review import repository as repo
from service.review.access import check_can_view, pair_of
from service.review.pairs import Pair, Party

MAX_LINKS = 50  # partnerships shown per party as evidence


def _party(t: str, i: int | None, names: dict[tuple[str, int], str]) -> dict[str, Any]:
    return {"type": t, "id": i, "name": names.get((t, i)) if i is not None else None}


def describe(
    conn: psycopg.Connection, rows: list[dict[str, Any]], states: dict[int, str]
) -> list[dict[str, Any]]:
    """Items with their evidence: names of both parties and their current partnerships."""
    pairs: dict[int, Pair | None] = {}
    for r in rows:
        try:
            pairs[r["id"]] = pair_of(conn, r)
        except DomainError:
            pairs[r["id"]] = None
    parties = {p for pair in pairs.values() if pair for p in pair}
    links = repo.partnerships_of(conn, parties)
    wanted: set[tuple[str, int | None]] = set(parties)
    for r in rows:
        wanted |= {(r["subject_type"], r["subject_id"]), (r["candidate_type"], r["candidate_id"])}
    for p in links:
        wanted |= {(p["a_type"], p["a_id"]), (p["b_type"], p["b_id"])}
    names = repo.names(conn, wanted)

    def links_of(party: Party) -> list[dict[str, Any]]:
        out = []
        for p in links:
            ends = [Party(p["a_type"], p["a_id"]), Party(p["b_type"], p["b_id"])]
            if party in ends:
                other = ends[1] if ends[0] == party else ends[0]
                out.append(
                    {
                        "id": p["id"],
                        "kind": p["kind"],
                        "since": p["since"],
                        "source": p["source"],
                        "other": _party(*other, names),
                    }
                )
        return out[:MAX_LINKS]

    now = datetime.now(UTC)
    items = []
    for r in rows:
        pair = pairs[r["id"]]
        items.append(
            {
                "id": r["id"],
                "run_id": r["run_id"],
                "rank": r["rank"],
                "score": r["score"],
                "state": states.get(r["id"], "draft"),
                "subject": _party(r["subject_type"], r["subject_id"], names),
                "candidate": _party(r["candidate_type"], r["candidate_id"], names),
                "party_a": _party(*pair.a, names) if pair else None,
                "party_b": _party(*pair.b, names) if pair else None,
                "kind": pair.kind if pair else None,
                "region_code": r["region_code"],
                "region_name": r["region_name"],
                "submitted_at": r["submitted_at"],
                "submitted_by": r["submitted_by_username"],
                "age_days": round((now - r["submitted_at"]).total_seconds() / 86400, 3)
                if r["submitted_at"]
                else None,
                "evidence": {
                    "features": r["features"],
                    "explanation": r["explanation"],
                    "partnerships_a": links_of(pair.a) if pair else [],
                    "partnerships_b": links_of(pair.b) if pair else [],
                },
            }
        )
    return items


def queue(
    conn: psycopg.Connection,
    user: User,
    *,
    region: str | None,
    candidate_type: str | None,
    min_score: float | None,
    max_age_days: float | None,
    sort: str,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    filters: dict[str, Any] = {
        "scope": policy.region_scope(user),
        "candidate_type": candidate_type,
        "min_score": min_score,
        "max_age_days": max_age_days,
    }
    if region is not None:
        filters["region"] = repo.region_path(conn, region)
        if filters["region"] is None:
            raise InvalidInput(
                f"行政区划代码 {region} 不存在",
                errors=[{"row": None, "column": "region", "reason": "未知代码"}],
            )
    total, rows = repo.queue(conn, filters, sort, limit, offset)
    items = describe(conn, rows, {r["id"]: "pending" for r in rows})
    return {"total": total, "limit": limit, "offset": offset, "items": items}


def item(conn: psycopg.Connection, user: User, rec_id: int) -> dict[str, Any]:
    rec = repo.get(conn, rec_id)
    if rec is None:
        raise NotFound(f"推荐 {rec_id} 不存在")
    check_can_view(user, rec)
    return describe(conn, [rec], repo.states(conn, [rec_id]))[0]


def history(conn: psycopg.Connection, user: User, rec_id: int) -> dict[str, Any]:
    rec = repo.get(conn, rec_id)
    if rec is None:
        raise NotFound(f"推荐 {rec_id} 不存在")
    check_can_view(user, rec)
    return {
        "recommendation_id": rec_id,
        "state": repo.states(conn, [rec_id])[rec_id],
        "submitted_at": rec["submitted_at"],
        "submitted_by": rec["submitted_by_username"],
        "decisions": repo.history(conn, rec_id),
    }
