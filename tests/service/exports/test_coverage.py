"""The coverage report (seed-004 quotas per region) as XLSX and PNG."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import openpyxl
import psycopg
from psycopg.rows import dict_row

from service.exports import coverage
from service.ingest import import_file
from tests.service.ingest.annex1 import merged_sheet, world
from tests.service.ingest.conftest import region_id


def _world(conn: psycopg.Connection, tmp_path: Path) -> None:
    ids = world(conn)
    path = merged_sheet(tmp_path / "附件1.xlsx")
    assert import_file(conn, path, path.name, "pairing-table").committed
    # 郑州大学 is partnered with three enterprises: two of division 34, one of 26
    conn.execute("UPDATE enterprises SET industry_codes = '{C3411}' WHERE id = %s", (ids["ent1"],))
    conn.execute("UPDATE enterprises SET industry_codes = '{C3421}' WHERE id = %s", (ids["ent2"],))
    conn.execute("UPDATE enterprises SET industry_codes = '{C2614}' WHERE id = %s", (ids["ent3"],))
    zz = region_id(conn, "410100")
    for rank, (code, name) in enumerate((("34", "通用设备制造业"), ("39", "电子信息"))):
        conn.execute(
            "INSERT INTO leading_industries (region_id, code, name, rank) VALUES (%s, %s, %s, %s)",
            (zz, code, name, rank),
        )


def test_report_counts_and_statuses(conn: psycopg.Connection, tmp_path: Path) -> None:
    _world(conn, tmp_path)
    path = conn.execute("SELECT path FROM regions WHERE code = '410100'").fetchone()["path"]
    report = coverage.build(conn, path, "郑州市", max_schools=10, max_industries=3)
    by_code = {i["code"]: i for i in report.industries}
    assert by_code["34"]["schools"] == 1 and by_code["34"]["status"] == "under"
    assert by_code["39"]["schools"] == 0
    (school,) = [s for s in report.schools if s["name"] == "郑州大学"]
    assert school["divisions"] == ["26", "34"] and school["status"] == "ok"
    ws = openpyxl.load_workbook(io.BytesIO(coverage.xlsx(report))).active
    assert ws["A1"].value == "郑州市"
    assert [c.value for c in ws[3]] == [
        "地区",
        "产业代码",
        "主导产业",
        "服务学校数",
        "配额",
        "状态",
    ]
    values = [[c.value for c in row] for row in ws.iter_rows(min_row=4)]
    assert ["郑州市", "34", "通用设备制造业", 1, "5–10", "不足"] in values
    assert ["郑州市", "郑州大学", 2, "26、34", "2–3", "达标"] in values
    image = coverage.png(report)
    assert image.startswith(b"\x89PNG") and len(image) > 2000


def test_http_coverage(api: httpx.Client, clean_db: str, tmp_path: Path) -> None:
    with psycopg.connect(clean_db, row_factory=dict_row) as c:
        _world(c, tmp_path)
        c.commit()
    r = api.get("/v1/exports/coverage.png", params={"region": "410100"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    r = api.get("/v1/exports/coverage.xlsx", params={"region": "410100"})
    assert r.status_code == 200
    assert api.get("/v1/exports/coverage.xlsx", params={"region": "000"}).status_code == 422
