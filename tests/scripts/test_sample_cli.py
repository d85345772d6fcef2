"""`xiaoqi sample` registers on the app and writes the files (generation only here; the load
path is covered end to end in tests/service/sample/test_load.py)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from scripts import sample_cli


def _app() -> typer.Typer:
    app, bench = typer.Typer(), typer.Typer()
    sample_cli.register(app, bench)

    @app.command("version")
    def version() -> None:  # a second command keeps `sample` a named subcommand
        print("x")

    return app


def test_sample_command_generates_without_loading(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _app(),
        ["sample", "--enterprises", "120", "--seed", "3", "--out", str(tmp_path), "--no-load"],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["enterprises"] == 120 and manifest["seed"] == 3
    assert (tmp_path / "schools.csv").exists() and (tmp_path / "practice-bases.xlsx").exists()


def test_sample_command_rejects_zero_enterprises(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["sample", "-n", "0", "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert not (tmp_path / "enterprises.csv").exists()
