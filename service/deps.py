"""Request-scoped dependencies: one transaction per request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import psycopg
from fastapi import Depends, Request


def get_conn(request: Request) -> Iterator[psycopg.Connection]:
    """Commit if the handler returns, roll back if it raises (services never commit)."""
    pool = request.app.state.pool
    with pool.connection() as conn, conn.transaction():
        yield conn


# scope="function": commit BEFORE the response is sent, so a client's next request sees its own
# write and a failed commit can never follow a 2xx.
Conn = Annotated[psycopg.Connection, Depends(get_conn, scope="function")]
