"""The `xiaoqi import` examples of docs/notes/issue-12.md, run as written (issue 12)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from tests.service.ingest.annex1 import PAIRS, merged_sheet, world

NOTES = Path(__file__).resolve().parents[3] / "docs" / "notes" / "issue-12.md"


def examples() -> list[list[str]]:
    text = NOTES.read_text(encoding="utf-8")
    return [shlex.split(m) for m in re.findall(r"^(xiaoqi import .+)$", text, re.M)]


def test_readme_import_examples_run(clean_db: str, tmp_path: Path) -> None:
    found = examples()
    assert len(found) >= 3 and any("--dry-run" in e for e in found)
    with psycopg.connect(clean_db, row_factory=dict_row) as c:
        world(c)
        c.commit()
    for args in found:
        merged_sheet(tmp_path / args[2])
    env = {**os.environ, "XIAOQI_DATABASE_URL": clean_db}
    reports = []
    for args in found:
        proc = subprocess.run(
            [sys.executable, "-m", "scripts.cli", *args[1:], "--json"],
            cwd=tmp_path,
            env={**env, "PYTHONPATH": str(NOTES.parents[2])},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, (args, proc.stderr[-2000:])
        reports.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    first, real, last = reports[0], reports[1], reports[2]
    assert first["dry_run"] and first["kind"] == "pairing-table" and first["detected_kind"]
    assert [o["action"] for o in first["rows"] if o["table"] == "partnerships"] == ["insert"] * 5
    assert real["committed"] and real["tables"]["partnerships"]["inserted"] == len(PAIRS)
    assert {o["action"] for o in last["rows"]} == {"unchanged"}
    with psycopg.connect(clean_db, row_factory=dict_row) as c:
        n = c.execute("SELECT count(*) AS n FROM partnerships").fetchone()["n"]
    assert n == len(PAIRS)
