"""A province admin for tests that call the recommendation service directly (it needs an actor:
anonymous callers are refused, and every stored run names its requester)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row


def province_admin(url: str, username: str = "engine_admin") -> Any:
    from service.auth.schemas import User

    with psycopg.connect(url, row_factory=dict_row) as c:
        c.execute(
            "INSERT INTO users (username, password_hash, role) VALUES (%s, '!', "
            "'province_admin') ON CONFLICT (username) DO NOTHING",
            (username,),
        )
        row: Any = c.execute("SELECT id FROM users WHERE username = %s", (username,)).fetchone()
    return User(
        id=int(row["id"]),
        username=username,
        display_name="",
        role="province_admin",
        region_id=None,
        region_code=None,
        region_name=None,
        region_path=None,
        school_id=None,
        enterprise_id=None,
    )
