"""SQL for learning from review decisions (service/recommendations/training.py and
stage_training.py) and for the sample's simulated reviewer (`xiaoqi ranker simulate-reviews`)."""

from __future__ import annotations

from typing import Any

import psycopg

Row = dict[str, Any]

# The latest decision per recommendation; 'return' (sent back for more information) is no label.
_LATEST = """
    SELECT DISTINCT ON (r.id) r.id, r.run_id, r.features, r.subject_type, r.subject_id,
           r.candidate_type, r.candidate_id, v.decision, v.created_at
    FROM recommendations r JOIN reviews v ON v.recommendation_id = r.id
    ORDER BY r.id, v.created_at DESC, v.id DESC"""


def latest_decisions(conn: psycopg.Connection[Any]) -> list[Row]:
    """Approve/reject decisions (latest per recommendation), oldest first."""
    rows = conn.execute(f"SELECT * FROM ({_LATEST}) d WHERE decision IN ('approve', 'reject')")
    return sorted(rows.fetchall(), key=lambda r: (r["created_at"], r["id"]))


def decided_runs(conn: psycopg.Connection[Any]) -> list[Row]:
    """The runs behind approve/reject decisions (kind, request, requester), ordered by their
    first decision, oldest first."""
    return conn.execute(f"""
        SELECT run.id, run.kind, run.request, run.requester_id
        FROM ({_LATEST}) d JOIN recommendation_runs run ON run.id = d.run_id
        WHERE d.decision IN ('approve', 'reject')
        GROUP BY run.id
        ORDER BY min(d.created_at), run.id""").fetchall()


def first_province_admin(conn: psycopg.Connection[Any]) -> int | None:
    row = conn.execute(
        "SELECT id FROM users WHERE role = 'province_admin' ORDER BY id LIMIT 1"
    ).fetchone()
    return int(row["id"]) if row else None


SIMULATED_REVIEWER = "sim_reviewer"


def simulated_reviewer(conn: psycopg.Connection[Any]) -> int:
    """The demo database's simulated reviewer: a second province admin (the four-eyes rule
    forbids deciding one's own submission) that cannot log in (no password hash matches '!')."""
    conn.execute(
        "INSERT INTO users (username, password_hash, role, display_name) "
        "VALUES (%s, '!', 'province_admin', '模拟审核员（样例数据）') "
        "ON CONFLICT (username) DO NOTHING",
        (SIMULATED_REVIEWER,),
    )
    row = conn.execute("SELECT id FROM users WHERE username = %s", (SIMULATED_REVIEWER,)).fetchone()
    assert row is not None
    return int(row["id"])


def school_ids(conn: psycopg.Connection[Any]) -> list[int]:
    return [int(r["id"]) for r in conn.execute("SELECT id FROM schools ORDER BY id").fetchall()]


def undecided_recommendations(conn: psycopg.Connection[Any], limit: int) -> list[Row]:
    """Stored recommendations of a stored subject not yet sent to review, oldest first."""
    return conn.execute(
        """
        SELECT r.id, r.features FROM recommendations r
        WHERE r.submitted_at IS NULL AND r.subject_id IS NOT NULL
        ORDER BY r.id LIMIT %s""",
        (limit,),
    ).fetchall()
