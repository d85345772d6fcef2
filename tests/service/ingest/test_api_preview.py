"""POST /v1/imports (kind detected) and dry_run over real HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import psycopg
from psycopg.rows import dict_row

from tests.service.ingest.annex1 import PAIRS, merged_sheet, world


def _count(url: str) -> int:
    with psycopg.connect(url, row_factory=dict_row) as c:
        return int(c.execute("SELECT count(*) AS n FROM partnerships").fetchone()["n"])


def test_detected_kind_preview_then_import(
    api: httpx.Client, clean_db: str, tmp_path: Path
) -> None:
    with psycopg.connect(clean_db, row_factory=dict_row) as c:
        world(c)
        c.commit()
    body = merged_sheet(tmp_path / "附件1.xlsx").read_bytes()
    files = {"file": ("附件1.xlsx", body)}
    r = api.post("/v1/imports", files=files, params={"dry_run": "true"})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["dry_run"] and report["kind"] == "pairing-table"
    assert report["tables"]["partnerships"]["inserted"] == len(PAIRS)
    assert len([o for o in report["rows"] if o["action"] == "insert"]) >= len(PAIRS)
    assert _count(clean_db) == 0
    r = api.post("/v1/imports/partnerships", files=files)
    assert r.status_code == 200, r.text
    assert r.json()["kind"] == "pairing-table" and _count(clean_db) == len(PAIRS)
    r = api.post("/v1/imports/enterprises", files=files)
    assert r.status_code == 422
    assert r.json()["errors"][0]["code"] == "wrong_kind"
