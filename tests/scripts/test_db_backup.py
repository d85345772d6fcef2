"""`xiaoqi db dump` / `xiaoqi db restore` (typer's CliRunner, real pg_dump / pg_restore): a small
sample database with a review decision round-trips into fresh databases with the same rows in
every table and the same audit log; a database with data is refused unless --force; missing,
corrupt and truncated files fail in Chinese with a non-zero exit and change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import typer
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row
from typer.testing import CliRunner, Result

from scripts import db_cli
from service.auth import repository as auth_repo
from service.backup.repository import row_counts
from service.backup.tools import without_password
from service.config import get_settings
from service.reference import setup_database
from service.review import service as review
from service.sample.generate import generate
from service.sample.load import load_dir
from tests.service.review import factories as f


def _app() -> typer.Typer:
    app, db, bench = typer.Typer(), typer.Typer(), typer.Typer()
    app.add_typer(db, name="db")
    db_cli.register(app, bench)
    return app


def _database(pg_url: str, name: str, *, migrated: bool = False) -> str:
    """A new, empty database beside the test database (dropped first if left over)."""
    with psycopg.connect(make_conninfo(pg_url, dbname="postgres"), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    url = make_conninfo(pg_url, dbname=name)
    if migrated:
        with psycopg.connect(url, row_factory=dict_row) as c:
            setup_database(c)
    return url


def _cli(url: str, *args: str, monkeypatch: pytest.MonkeyPatch) -> Result:
    monkeypatch.setenv("XIAOQI_DATABASE_URL", url)
    get_settings.cache_clear()  # settings are cached per process
    try:
        return CliRunner().invoke(_app(), ["db", *args])
    finally:
        get_settings.cache_clear()


def _text(result: Result) -> str:
    return "".join(result.output.split())  # rich wraps long lines


def _user(c: psycopg.Connection[Any], username: str, role: str, **scope: Any) -> Any:
    c.execute(
        """INSERT INTO users (username, password_hash, role, region_id, school_id)
           VALUES (%s, '!', %s, %s, %s)""",
        (username, role, scope.get("region_id"), scope.get("school_id")),
    )
    row = auth_repo.user_by_username(c, username)
    assert row is not None
    return auth_repo.to_user(row)


@pytest.fixture(scope="module")
def source(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A demo-like database: the generated sample, an approval and a rejection (audit rows)."""
    url = _database(pg_url, "xiaoqi_backup_src", migrated=True)
    files = tmp_path_factory.mktemp("sample")
    generate(files, 150, seed=5, max_schools=30)
    with psycopg.connect(url, row_factory=dict_row) as c:
        load_dir(c, files)
        school = f.school(c, "备份测试学院")
        submitter = _user(c, "backup_school", "school", school_id=school)
        reviewer = _user(c, "backup_reviewer", "reviewer", region_id=f.region(c, "410100"))
        items = [
            f.recommendation(
                c,
                ("school", school),
                ("enterprise", f.enterprise(c, f"备份测试企业{i}")),
                submitted_by=submitter.id,
                score=0.5 + i / 10,
            )
            for i in range(2)
        ]
        c.commit()
        with c.transaction():
            review.decide(c, reviewer, items[0], "approve", "")
        with c.transaction():
            review.decide(c, reviewer, items[1], "reject", "行业不符")
    yield url


@pytest.fixture(scope="module")
def dump_file(source: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("dumps") / "xiaoqi.dump"
    with pytest.MonkeyPatch.context() as mp:
        result = _cli(source, "dump", str(path), monkeypatch=mp)
    assert result.exit_code == 0, result.output
    assert "已备份" in result.output and path.stat().st_size > 0
    assert not list(path.parent.glob(".*.partial"))
    yield path


def _audit(url: str) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as c:
        return c.execute("SELECT * FROM audit_log ORDER BY id").fetchall()


def _counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as c:
        return row_counts(c)


def _same_database(source: str, copy: str) -> None:
    counts = _counts(source)
    assert counts["enterprises"] >= 150 and counts["partnerships"] > 0, counts
    assert counts["reviews"] == 2 and counts["audit_log"] > 0, counts
    assert _counts(copy) == counts  # every table, row for row
    assert _audit(copy) == _audit(source)  # the audit log, entry for entry
    with psycopg.connect(source) as a, psycopg.connect(copy) as b:
        seq = "SELECT last_value FROM audit_log_id_seq"
        assert a.execute(seq).fetchone() == b.execute(seq).fetchone()
        with pytest.raises(psycopg.Error):  # still append-only: the trigger came along
            b.execute("UPDATE audit_log SET action = 'x'")


def test_round_trip_into_a_new_database(
    pg_url: str, source: str, dump_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _database(pg_url, "xiaoqi_backup_new")
    result = _cli(target, "restore", str(dump_file), monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    assert "已恢复" in result.output
    _same_database(source, target)


def test_restore_into_a_migrated_empty_database_needs_no_force(
    pg_url: str, source: str, dump_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _database(pg_url, "xiaoqi_backup_migrated", migrated=True)  # `xiaoqi db migrate`
    result = _cli(target, "restore", str(dump_file), monkeypatch=monkeypatch)
    assert result.exit_code == 0, result.output
    _same_database(source, target)


def test_a_database_with_data_is_refused_unless_forced(
    pg_url: str, source: str, dump_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _database(pg_url, "xiaoqi_backup_busy", migrated=True)
    with psycopg.connect(target) as c:
        f.school(c, "恢复前已有的学校")
    result = _cli(target, "restore", str(dump_file), monkeypatch=monkeypatch)
    assert result.exit_code == 1, result.output
    assert "目标数据库不是空的" in _text(result) and "--force" in _text(result)
    assert _counts(target)["schools"] == 1  # untouched
    for flag in ("--force", "--clean"):
        result = _cli(target, "restore", str(dump_file), flag, monkeypatch=monkeypatch)
        assert result.exit_code == 0, result.output
        assert "已替换原有内容" in _text(result)
        _same_database(source, target)


def test_missing_corrupt_and_truncated_files_fail_in_chinese_and_change_nothing(
    pg_url: str, dump_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _database(pg_url, "xiaoqi_backup_bad")
    result = _cli(target, "restore", str(tmp_path / "nope.dump"), monkeypatch=monkeypatch)
    assert result.exit_code == 1 and "备份文件不存在" in _text(result), result.output

    garbage = tmp_path / "garbage.dump"
    garbage.write_bytes(b"PGDMP" + bytes(range(256)) * 8)
    result = _cli(target, "restore", str(garbage), monkeypatch=monkeypatch)
    assert result.exit_code == 1 and "备份文件已损坏" in _text(result), result.output

    truncated = tmp_path / "truncated.dump"
    data = dump_file.read_bytes()
    truncated.write_bytes(data[:-1000])  # the table of contents reads; the last data is cut
    result = _cli(target, "restore", str(truncated), monkeypatch=monkeypatch)
    assert result.exit_code == 1, result.output
    assert "恢复失败，数据库未作任何改动" in _text(result), result.output
    assert "备份文件不完整" in _text(result), result.output
    with psycopg.connect(target) as c:
        assert row_counts(c) == {}, "a failed restore must leave the database as it was"

    result = _cli(target, "dump", str(tmp_path / "no" / "such" / "x.dump"), monkeypatch=monkeypatch)
    assert result.exit_code == 1 and "目录不存在" in _text(result), result.output


def test_dump_of_an_unreachable_database_fails_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = f"postgresql://postgres@/nowhere?host={tmp_path}"  # no server listens there
    result = _cli(gone, "dump", str(tmp_path / "x.dump"), monkeypatch=monkeypatch)
    assert result.exit_code == 1 and "无法连接数据库" in _text(result), result.output
    assert not (tmp_path / "x.dump").exists()


def test_the_password_travels_in_the_environment_not_on_the_command_line() -> None:
    dsn, env = without_password("postgresql://xq:s3cret@db.example:5433/xiaoqi?sslmode=require")
    assert "s3cret" not in dsn and env == {"PGPASSWORD": "s3cret"}
    assert "host=db.example" in dsn and "port=5433" in dsn and "sslmode=require" in dsn
