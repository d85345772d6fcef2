"""Passwords (argon2), sessions and API tokens. Services never commit."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from service import audit
from service.auth import repository as repo
from service.auth.schemas import MIN_PASSWORD, ROLES, User, UserCreate
from service.errors import Conflict, InvalidInput, NotFound, Unauthorized

SESSION_COOKIE = "xiaoqi_session"
SESSION_TTL = timedelta(hours=12)
TOKEN_PREFIX = "xq_"


@lru_cache
def _hasher() -> PasswordHasher:
    # argon2id at OWASP's recommended minimum (19 MiB, t=2, p=1): ~30–60 ms on a 2-core box,
    # where the library default (64 MiB, t=3, p=4) takes ~0.5 s and makes login a DoS lever.
    # Older hashes are upgraded on the next login (check_needs_rehash).
    return PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


@lru_cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_hex(16))


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def digest(secret: str) -> str:
    """What the database stores for a cookie or token: its SHA-256, never the secret itself."""
    return hashlib.sha256(secret.encode()).hexdigest()


def authenticate(conn: psycopg.Connection, username: str, password: str) -> User:
    row = repo.user_by_username(conn, username)
    if row is None:
        verify_password(_dummy_hash(), password)  # same cost whether or not the user exists
        raise Unauthorized("用户名或密码错误 (invalid_credentials)")
    if not verify_password(row["password_hash"], password) or not row["active"]:
        raise Unauthorized("用户名或密码错误 (invalid_credentials)")
    if _hasher().check_needs_rehash(row["password_hash"]):
        repo.set_password_hash(conn, row["id"], hash_password(password))
    return repo.to_user(row)


def start_session(conn: psycopg.Connection, user: User) -> tuple[str, datetime]:
    """A new random cookie value (returned once) and its expiry; the db keeps only the hash."""
    token = secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + SESSION_TTL
    repo.delete_expired_sessions(conn, user.id)
    repo.insert_session(conn, digest(token), user.id, expires)
    audit.record(
        conn,
        actor_id=user.id,
        action="auth.login",
        entity_type="user",
        entity_id=user.id,
        after={"expires_at": expires.isoformat()},
    )
    return token, expires


def end_session(conn: psycopg.Connection, cookie: str) -> None:
    user_id = repo.delete_session(conn, digest(cookie))
    if user_id is not None:
        audit.record(
            conn, actor_id=user_id, action="auth.logout", entity_type="user", entity_id=user_id
        )


def user_for_session(conn: psycopg.Connection, cookie: str) -> User | None:
    row = repo.user_by_session(conn, digest(cookie))
    return None if row is None else repo.to_user(row)


def user_for_token(conn: psycopg.Connection, token: str) -> User | None:
    row = repo.user_by_token(conn, digest(token))
    return None if row is None else repo.to_user(row)


def create_token(conn: psycopg.Connection, user: User, name: str = "") -> dict[str, Any]:
    """Create an API token for `user`. The plain token is in the result and nowhere else."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = repo.insert_token(conn, user.id, digest(token), name)
    audit.record(
        conn,
        actor_id=user.id,
        action="auth.token.create",
        entity_type="api_token",
        entity_id=row["id"],
        after={"user_id": user.id, "name": name},
    )
    return {**row, "token": token}


def list_tokens(conn: psycopg.Connection, user: User) -> list[dict[str, Any]]:
    return repo.list_tokens(conn, user.id)


def revoke_token(conn: psycopg.Connection, user: User, token_id: int) -> None:
    if not repo.revoke_token(conn, user.id, token_id):
        raise NotFound(f"令牌 {token_id} 不存在或已撤销")
    audit.record(
        conn,
        actor_id=user.id,
        action="auth.token.revoke",
        entity_type="api_token",
        entity_id=token_id,
    )


def create_user(conn: psycopg.Connection, data: UserCreate, *, actor_id: int | None) -> User:
    """Validate the role's ties (region / school / enterprise) and insert the account."""
    errors: list[dict[str, Any]] = []

    def bad(column: str, reason: str) -> None:
        errors.append({"row": None, "column": column, "reason": reason})

    if data.role not in ROLES:
        bad("role", f"未知角色 {data.role}")
    if len(data.password) < MIN_PASSWORD:
        bad("password", f"密码至少 {MIN_PASSWORD} 个字符")
    region_id = school_id = enterprise_id = None
    if data.region:
        region_id = repo.region_id_by_code(conn, data.region)
        if region_id is None:
            bad("region", f"行政区划代码 {data.region} 不存在")
    elif data.role in ("reviewer", "bureau"):
        bad("region", f"{data.role} 角色必须指定辖区 (region)")
    if data.school_code:
        school_id = repo.school_id_by_code(conn, data.school_code)
        if school_id is None:
            bad("school_code", f"学校代码 {data.school_code} 不存在")
    elif data.role == "school":
        bad("school_code", "school 角色必须指定学校 (school_code)")
    if data.enterprise_credit_code:
        enterprise_id = repo.enterprise_id_by_credit_code(conn, data.enterprise_credit_code)
        if enterprise_id is None:
            bad("enterprise_credit_code", f"统一社会信用代码 {data.enterprise_credit_code} 不存在")
    elif data.role == "enterprise":
        bad("enterprise_credit_code", "enterprise 角色必须指定企业 (enterprise_credit_code)")
    if errors:
        raise InvalidInput("用户信息无效", errors=errors)
    if repo.user_by_username(conn, data.username) is not None:
        raise Conflict(f"用户名 {data.username} 已存在")
    user_id = repo.insert_user(
        conn,
        username=data.username,
        display_name=data.display_name,
        password_hash=hash_password(data.password),
        role=data.role,
        region_id=region_id,
        school_id=school_id,
        enterprise_id=enterprise_id,
    )
    row = repo.user_by_id(conn, user_id)
    assert row is not None
    user = repo.to_user(row)
    audit.record(
        conn,
        actor_id=actor_id,
        action="user.create",
        entity_type="user",
        entity_id=user_id,
        after=_public(user),
    )
    return user


def _public(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "role": user.role,
        "region_code": user.region_code,
        "school_id": user.school_id,
        "enterprise_id": user.enterprise_id,
    }
