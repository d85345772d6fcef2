"""Small SQL factories: catalogue rows and recommendation rows as the recommender writes them."""

from __future__ import annotations

import itertools
import json
from typing import Any

import psycopg

_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
_seq = itertools.count(1)


def credit_code(n: int, region: str = "410100") -> str:
    """A GB 32100 code with a correct check character (made up, not a real company)."""
    body = f"91{region}{n:09d}"
    total = sum(_ALPHABET.index(ch) * w for ch, w in zip(body, _WEIGHTS, strict=True))
    return body + _ALPHABET[(31 - total % 31) % 31]


def _id(conn: psycopg.Connection[Any], query: str, params: Any) -> int:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return int(row[0] if isinstance(row, tuple) else next(iter(row.values())))


def region(conn: psycopg.Connection[Any], code: str) -> int:
    return _id(conn, "SELECT id FROM regions WHERE code = %s", (code,))


def school(conn: psycopg.Connection[Any], name: str, region_code: str = "410100") -> int:
    n = next(_seq)
    return _id(
        conn,
        """INSERT INTO schools (code, name, kind, region_id)
                        VALUES (%s, %s, '高职专科', %s) RETURNING id""",
        (f"T{n:06d}", name, region(conn, region_code)),
    )


def programme(conn: psycopg.Connection[Any], school_id: int, name: str = "机电一体化技术") -> int:
    n = next(_seq)
    return _id(
        conn,
        """INSERT INTO programmes (school_id, major_code, name, level)
                        VALUES (%s, %s, %s, '高职专科') RETURNING id""",
        (school_id, f"{460000 + n}", name),
    )


def enterprise(conn: psycopg.Connection[Any], name: str, region_code: str = "410100") -> int:
    n = next(_seq)
    return _id(
        conn,
        """INSERT INTO enterprises (credit_code, name, region_id)
                        VALUES (%s, %s, %s) RETURNING id""",
        (credit_code(n, region_code), name, region(conn, region_code)),
    )


def need(conn: psycopg.Connection[Any], enterprise_id: int, title: str = "数控技术人才") -> int:
    return _id(
        conn,
        """INSERT INTO needs (enterprise_id, kind, title)
                        VALUES (%s, 'talent', %s) RETURNING id""",
        (enterprise_id, title),
    )


def mentor(conn: psycopg.Connection[Any], enterprise_id: int, name: str = "王工") -> int:
    return _id(
        conn,
        """INSERT INTO mentors (name, kind, enterprise_id)
                        VALUES (%s, 'industry_professor', %s) RETURNING id""",
        (name, enterprise_id),
    )


def recommendation(
    conn: psycopg.Connection[Any],
    subject: tuple[str, int | None],
    candidate: tuple[str, int],
    *,
    region_code: str | None = "410100",
    score: float = 0.5,
    run_id: int | None = None,
    rank: int = 1,
    submitted_by: int | None = None,
) -> int:
    """A recommendation row; with `submitted_by` it is also marked submitted (as the API would,
    pair columns included), for tests that start from a pending item."""
    if run_id is None:
        run_id = _id(
            conn,
            """INSERT INTO recommendation_runs (kind, request)
                              VALUES ('partner_enterprises', %s) RETURNING id""",
            (json.dumps({"subject": list(subject)}),),
        )
    rid = region(conn, region_code) if region_code else None
    features = {"semantic": score, "same_city": 1.0}
    explanation = [{"reason": "行业匹配", "detail": "通用设备制造业"}]
    rec = _id(
        conn,
        """INSERT INTO recommendations
                         (run_id, rank, subject_type, subject_id, candidate_type, candidate_id,
                          score, features, explanation, region_id)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (
            run_id,
            rank,
            subject[0],
            subject[1],
            candidate[0],
            candidate[1],
            score,
            json.dumps(features),
            json.dumps(explanation, ensure_ascii=False),
            rid,
        ),
    )
    if submitted_by is not None:
        a, b = sorted([subject, candidate])
        conn.execute(
            """UPDATE recommendations SET submitted_at = clock_timestamp(),
                            submitted_by = %s, pair_a_type = %s, pair_a_id = %s,
                            pair_b_type = %s, pair_b_id = %s WHERE id = %s""",
            (submitted_by, a[0], a[1], b[0], b[1], rec),
        )
    return rec
