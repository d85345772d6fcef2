"""`xiaoqi ranker simulate-reviews` and `xiaoqi ranker train` on a small sample database: the
simulated reviewer decides through the real review workflow (the four-eyes rule: it is not the
account that submitted), and training reports the ranker and the learned stage."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import typer
from psycopg.rows import dict_row
from typer.testing import CliRunner

from scripts import recommend_cli
from service.config import get_settings
from service.sample.generate import generate
from service.sample.load import load_dir
from tests.service.recommendations.actors import province_admin


@pytest.fixture
def demo_env(clean_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    generate(tmp_path / "sample", 150, seed=3, max_schools=30)
    with psycopg.connect(clean_db, row_factory=dict_row) as conn:
        load_dir(conn, tmp_path / "sample")
    province_admin(clean_db, "admin")
    for key, value in {
        "XIAOQI_DATABASE_URL": clean_db,
        "XIAOQI_MODE": "demo",
        "XIAOQI_ENCODER": "hash-64",
        "XIAOQI_VAR_DIR": str(tmp_path / "var"),
    }.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield clean_db
    get_settings.cache_clear()


def test_simulated_reviews_decide_through_the_workflow_and_train_reports_both_models(
    demo_env: str,
) -> None:
    app = typer.Typer()
    recommend_cli.register(app, typer.Typer())
    runner = CliRunner()
    out = runner.invoke(app, ["ranker", "simulate-reviews", "--n", "150", "--requests", "20"])
    assert out.exit_code == 0, out.output
    with psycopg.connect(demo_env, row_factory=dict_row) as conn:
        rows: list[Any] = conn.execute("""
            SELECT v.reviewer_id, r.submitted_by FROM reviews v
            JOIN recommendations r ON r.id = v.recommendation_id""").fetchall()
    assert len(rows) >= 40, out.output
    assert all(r["reviewer_id"] != r["submitted_by"] for r in rows)  # four eyes

    trained = runner.invoke(app, ["ranker", "train", "--json", "--no-save"])
    assert trained.exit_code == 0, trained.output
    body = json.loads(trained.output.strip().splitlines()[-1])
    assert body["n_train"] + body["n_test"] == len(rows)
    assert "auc_trained" in body or "skipped" in body
    assert "stage" in body and (
        "skipped" in body["stage"] or "pairwise_accuracy_base" in body["stage"]
    )
