from __future__ import annotations

import hashlib
from collections.abc import Iterator

import psycopg
import pytest
import typer
from typer.testing import CliRunner

from scripts import users_cli
from service.auth.service import verify_password
from service.config import get_settings
from tests.service.auth.helpers import one, rows


@pytest.fixture
def cli(clean_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[typer.Typer]:
    monkeypatch.setenv("XIAOQI_DATABASE_URL", clean_db)
    monkeypatch.delenv("XIAOQI_MODE", raising=False)
    get_settings.cache_clear()
    app = typer.Typer()
    users_cli.register(app, typer.Typer())
    yield app
    get_settings.cache_clear()


def test_user_add_and_token(cli: typer.Typer, clean_db: str) -> None:
    runner = CliRunner()
    r = runner.invoke(
        cli,
        [
            "user",
            "add",
            "rev_ly",
            "--role",
            "reviewer",
            "--region",
            "410300",
            "--password",
            "long-enough-1",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "rev_ly" in r.output and "洛阳市" in r.output
    row = one(clean_db, "SELECT role, password_hash FROM users WHERE username = 'rev_ly'")
    assert row["role"] == "reviewer" and verify_password(row["password_hash"], "long-enough-1")

    r = runner.invoke(cli, ["user", "token", "rev_ly", "--name", "批处理"])
    assert r.exit_code == 0, r.output
    token = r.output.strip().splitlines()[-1]
    stored = one(clean_db, "SELECT token_hash, name FROM api_tokens")
    assert stored == {"token_hash": hashlib.sha256(token.encode()).hexdigest(), "name": "批处理"}


def test_user_add_prompts_for_password(cli: typer.Typer, clean_db: str) -> None:
    r = CliRunner().invoke(
        cli,
        ["user", "add", "admin2", "--role", "province_admin"],
        input="a-secret-pass\na-secret-pass\n",
    )
    assert r.exit_code == 0, r.output
    row = one(clean_db, "SELECT password_hash FROM users WHERE username = 'admin2'")
    assert verify_password(row["password_hash"], "a-secret-pass")
    assert "a-secret-pass" not in r.output


def test_user_add_rejects_bad_input_and_writes_nothing(cli: typer.Typer, clean_db: str) -> None:
    runner = CliRunner()
    cases = [
        ["user", "add", "b1", "--role", "bureau", "--password", "long-enough-1"],  # no region
        [
            "user",
            "add",
            "b2",
            "--role",
            "bureau",
            "--region",
            "419999",
            "--password",
            "long-enough-1",
        ],
        [
            "user",
            "add",
            "s1",
            "--role",
            "school",
            "--school-code",
            "NOPE",
            "--password",
            "long-enough-1",
        ],
        ["user", "add", "x1", "--role", "root", "--password", "long-enough-1"],
        ["user", "add", "x2", "--role", "province_admin", "--password", "short"],
    ]
    for args in cases:
        r = runner.invoke(cli, args)
        assert r.exit_code == 1, (args, r.output)
        assert "错误" in r.output
    assert rows(clean_db, "SELECT username FROM users") == []
    r = runner.invoke(cli, ["user", "token", "ghost"])
    assert r.exit_code == 1


def test_duplicate_username_is_refused(cli: typer.Typer, clean_db: str) -> None:
    runner = CliRunner()
    args = ["user", "add", "dup", "--role", "province_admin", "--password", "long-enough-1"]
    assert runner.invoke(cli, args).exit_code == 0
    r = runner.invoke(cli, args)
    assert r.exit_code == 1 and "已存在" in r.output


def test_demo_users_only_in_demo_mode(
    cli: typer.Typer, clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(users_cli.DemoModeRequired):
        users_cli.ensure_demo_users()
    assert CliRunner().invoke(cli, ["user", "demo"]).exit_code == 1
    assert rows(clean_db, "SELECT username FROM users") == []

    from tests.service.review import factories as f

    with psycopg.connect(clean_db) as c:
        f.school(c, "演示学校")
        f.enterprise(c, "演示企业")
    monkeypatch.setenv("XIAOQI_MODE", "demo")
    get_settings.cache_clear()
    first = users_cli.ensure_demo_users()
    names = [u for u, _, _ in first]
    assert names == [
        "admin",
        "reviewer_zz",
        "bureau_zz",
        "bureau_ly",
        "school_demo",
        "enterprise_demo",
    ]
    assert users_cli.ensure_demo_users() == first  # idempotent
    users = {
        r["username"]: r
        for r in rows(
            clean_db,
            """
        SELECT u.username, u.role, u.password_hash, g.code, u.school_id, u.enterprise_id
        FROM users u LEFT JOIN regions g ON g.id = u.region_id""",
        )
    }
    assert len(users) == 6
    assert users["reviewer_zz"]["code"] == "410100" and users["bureau_ly"]["code"] == "410300"
    assert users["school_demo"]["school_id"] and users["enterprise_demo"]["enterprise_id"]
    for username, password, _ in first:
        assert verify_password(users[username]["password_hash"], password)
