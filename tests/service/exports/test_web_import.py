"""The web import page: preview every row, confirm exactly what was previewed, and say so when
the database changed in between; the coverage page shows the chart."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import psycopg
from psycopg.rows import dict_row

from tests.service.ingest.annex1 import PAIRS, merged_sheet, world


def _count(url: str) -> int:
    with psycopg.connect(url, row_factory=dict_row) as c:
        return int(c.execute("SELECT count(*) AS n FROM partnerships").fetchone()["n"])


def _hidden(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert m is not None, name
    return m.group(1)


def _preview(api: httpx.Client, body: bytes) -> str:
    r = api.post(
        "/import",
        data={"kind": "auto", "action": "preview"},
        files={"file": ("附件1.xlsx", body)},
    )
    assert r.status_code == 200, r.text[-2000:]
    return r.text


def test_preview_then_confirm(api: httpx.Client, clean_db: str, tmp_path: Path) -> None:
    with psycopg.connect(clean_db, row_factory=dict_row) as c:
        world(c)
        c.commit()
    body = merged_sheet(tmp_path / "附件1.xlsx").read_bytes()
    html = _preview(api, body)
    assert "预览：以下为将要发生的变化" in html and 'id="preview-rows"' in html
    assert html.count('<td class="nowrap">新增</td>') >= len(PAIRS)
    assert "结对包联情况汇总表（pairing-table）" in html
    assert _count(clean_db) == 0
    token = _hidden(html, "token")
    assert token.split(".")[0] and len(token.split(".")[0]) == 64
    form = {"token": token, "filename": "附件1.xlsx", "kind": "auto", "skip_invalid": ""}
    r = api.post("/import/confirm", data=form)
    assert r.status_code == 200 and "已写入" in r.text, r.text[-2000:]
    assert _count(clean_db) == len(PAIRS)
    # the kept file is gone once committed: the same token cannot import twice
    r = api.post("/import/confirm", data=form)
    assert "预览已过期" in r.text


def test_database_changed_since_preview(api: httpx.Client, clean_db: str, tmp_path: Path) -> None:
    with psycopg.connect(clean_db, row_factory=dict_row) as c:
        world(c)
        c.commit()
    html = _preview(api, merged_sheet(tmp_path / "附件1.xlsx").read_bytes())
    token = _hidden(html, "token")
    with psycopg.connect(clean_db, row_factory=dict_row) as c:
        c.execute(
            "UPDATE parks SET name = name || '（新）' WHERE name = '郑州航空港经济综合实验区'"
        )
    r = api.post(
        "/import/confirm",
        data={"token": token, "filename": "附件1.xlsx", "kind": "auto", "skip_invalid": ""},
    )
    assert "数据库自预览后已变化" in r.text
    assert _count(clean_db) == 0  # nothing written; the fresh preview shows the now-unknown park
    assert "未找到产业园区或企业「郑州航空港经济综合实验区」" in r.text
    bad = token.replace(token[0], "0" if token[0] != "0" else "1", 1)
    r = api.post(
        "/import/confirm",
        data={"token": bad, "filename": "附件1.xlsx", "kind": "auto", "skip_invalid": ""},
    )
    assert "请重新上传并预览" in r.text and _count(clean_db) == 0


def test_coverage_chart_is_served_to_a_session(api: httpx.Client, clean_db: str) -> None:
    r = api.get("/v1/exports/coverage.png")
    assert r.status_code == 200 and r.content.startswith(b"\x89PNG")
    html = Path(__file__).resolve().parents[3] / "service/web/templates/coverage.html"
    assert 'src="/v1/exports/coverage.png"' in html.read_text(encoding="utf-8")
