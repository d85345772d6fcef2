from __future__ import annotations

from contextlib import closing
from typing import Any

import httpx
import pytest
from fastapi import Depends, Request

from service.auth.deps import NO_REGION, in_scope, region_scope, require_roles
from service.auth.middleware import AuthMiddleware, install
from service.auth.schemas import User
from service.config import Settings
from service.main import create_app
from service.review.pairs import Party, canonical
from tests.fixtures.server import running_server
from tests.service.auth.helpers import login, make_user


def _user(role: str, path: str | None) -> User:
    return User(
        id=1,
        username="u",
        display_name="",
        role=role,
        region_id=None,
        region_code=None,
        region_name=None,
        region_path=path,
        school_id=None,
        enterprise_id=None,
    )


def test_region_scope_and_in_scope() -> None:
    admin = _user("province_admin", None)
    zz = _user("bureau", "410000.410100")
    lost = _user("school", None)
    assert region_scope(admin) is None and in_scope(admin, "410000.410300")
    assert in_scope(admin, None)
    assert region_scope(zz) == "410000.410100"
    assert in_scope(zz, "410000.410100") and in_scope(zz, "410000.410100.410102")
    assert not in_scope(zz, "410000.410300") and not in_scope(zz, "410000")
    assert not in_scope(zz, "410000.4101000") and not in_scope(zz, None)
    assert region_scope(lost) == NO_REGION and not in_scope(lost, "410000.410100")


def test_require_roles_rejects_unknown_roles() -> None:
    with pytest.raises(ValueError):
        require_roles("root")


def test_canonical_pairs() -> None:
    s, e = Party("school", 3), Party("enterprise", 9)
    assert canonical(s, e) == canonical(e, s) == (e, s)
    assert canonical(e, s).kind == "结对包联"
    assert canonical(Party("programme", 1), Party("practice_base", 2)).kind == "实践基地"
    assert canonical(Party("practice_base", 2), Party("programme", 1)).a.type == "practice_base"
    with pytest.raises(ValueError):
        canonical(s, s)
    with pytest.raises(ValueError):
        canonical(s, Party("text", 1))


def test_middleware_sets_request_state_user(clean_db: str, pg_url: str) -> None:
    """Anonymous reads still work; request.state.user is the caller or None."""
    app = create_app(Settings(database_url=pg_url, mode="test"))
    if not any(m.cls is AuthMiddleware for m in app.user_middleware):
        install(app)

    @app.get("/_whoami")
    def whoami(request: Request) -> Any:
        user = request.state.user
        return {"user": user.username if user else None}

    @app.get("/_admins_only")
    def admins_only(user: User = Depends(require_roles("province_admin"))) -> Any:
        return {"ok": user.username}

    make_user(clean_db, "bureau_zz", "bureau", region="410100")
    with running_server(app) as base:
        assert httpx.get(f"{base}/_whoami").json() == {"user": None}
        with closing(login(base, "bureau_zz")) as c:
            assert c.get("/_whoami").json() == {"user": "bureau_zz"}
            assert c.get("/_admins_only").status_code == 403
            token = c.post("/v1/auth/tokens", json={}).json()["token"]
        bearer = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{base}/_whoami", headers=bearer).json() == {"user": "bureau_zz"}
        bad = {"Authorization": "Bearer nope"}
        assert httpx.get(f"{base}/_whoami", headers=bad).json() == {"user": None}
        assert httpx.get(f"{base}/_admins_only", headers=bad).status_code == 401
        assert httpx.get(f"{base}/_admins_only").status_code == 401
        assert httpx.get(
            f"{base}/_whoami", headers={"Cookie": "xiaoqi_session=x" * 300}
        ).json() == {"user": None}
