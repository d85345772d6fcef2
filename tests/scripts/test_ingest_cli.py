"""`xiaoqi import` through typer's CliRunner against the test database."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
import typer
from psycopg.rows import dict_row
from typer.testing import CliRunner

from scripts.ingest_cli import register
from service.config import get_settings
from tests.service.ingest.conftest import credit_codes, write_csv


def _app() -> typer.Typer:
    app, bench = typer.Typer(), typer.Typer()
    app.add_typer(bench, name="bench")
    register(app, bench)
    return app


@pytest.fixture(autouse=True)
def _settings_point_at_the_test_database(clean_db: str, monkeypatch: pytest.MonkeyPatch):
    # Settings are cached per process: a test that read them before the test database existed
    # would send the CLI to the embedded default server instead.
    monkeypatch.setenv("XIAOQI_DATABASE_URL", clean_db)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_import_command_json_and_exit_codes(clean_db: str, tmp_path: Path) -> None:
    a, b = credit_codes(2, seed=50)
    good = write_csv(
        tmp_path / "e.csv",
        [
            ["企业名称", "统一社会信用代码", "所在地区"],
            ["甲公司", a, "郑州市"],
            ["乙公司", b, "郑州市"],
        ],
    )
    runner = CliRunner()
    result = runner.invoke(_app(), ["import", str(good), "--kind", "enterprises", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["inserted"] == 2 and report["committed"]
    with psycopg.connect(clean_db, row_factory=dict_row) as c:
        assert c.execute("SELECT count(*) AS n FROM enterprises").fetchone()["n"] == 2

    bad = write_csv(
        tmp_path / "bad.csv",
        [["企业名称", "统一社会信用代码", "所在地区"], ["丙公司", "123", "郑州市"]],
    )
    result = runner.invoke(_app(), ["import", str(bad), "--kind", "enterprises"])
    assert result.exit_code == 1
    assert "统一社会信用代码应为18位" in result.output
    result = runner.invoke(_app(), ["import", str(bad), "--kind", "nonsense"])
    assert result.exit_code == 2
