"""Catalogue lists (with their filters) and recommendation runs as CSV / XLSX over HTTP."""

from __future__ import annotations

import csv
import io

import httpx
import openpyxl
import psycopg
from psycopg.rows import dict_row

from tests.service.ingest.conftest import credit_codes, region_id


def _enterprises(url: str) -> list[int]:
    codes = credit_codes(3, seed=91)
    with psycopg.connect(url, row_factory=dict_row) as c:
        ids = []
        for code, name, region, phone in (
            (codes[0], "郑州甲公司", "410105", "13800000001"),
            (codes[1], '=HYPERLINK("evil")有限公司', "410105", "13800000002"),
            (codes[2], "洛阳乙公司", "410300", "13800000003"),
        ):
            ids.append(
                c.execute(
                    "INSERT INTO enterprises (credit_code, name, region_id, contact_phone)"
                    " VALUES (%s, %s, %s, %s) RETURNING id",
                    (code, name, region_id(c, region), phone),
                ).fetchone()["id"]
            )
        return ids


def test_catalogue_list_with_filter(api: httpx.Client, anon: httpx.Client, clean_db: str) -> None:
    _enterprises(clean_db)
    r = api.get("/v1/exports/catalogue/enterprises.csv", params={"region": "410100"})
    assert r.status_code == 200, r.text
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][0] == "企业列表" and "region=410100" in rows[1][0]
    body = rows[3:]
    assert len(body) == 2  # 洛阳 filtered out
    flat = [c for row in body for c in row]
    assert '\'=HYPERLINK("evil")有限公司' in flat  # neutralised
    assert "13800000001" in flat, rows  # an admin sees contacts
    r = anon.get("/v1/exports/catalogue/enterprises.xlsx", params={"region": "410100"})
    assert r.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    values = [c.value for row in ws.iter_rows(min_row=4) for c in row]
    assert "13800000001" not in values and "郑州甲公司" in values


def test_run_export(api: httpx.Client, anon: httpx.Client, clean_db: str) -> None:
    ids = _enterprises(clean_db)
    with psycopg.connect(clean_db, row_factory=dict_row) as c:
        run = c.execute(
            "INSERT INTO recommendation_runs (kind, request) VALUES ('partner_enterprises', '{}')"
            " RETURNING id"
        ).fetchone()["id"]
        for rank, ent in enumerate(ids[:2], start=1):
            c.execute(
                "INSERT INTO recommendations (run_id, rank, subject_type, subject_id,"
                " candidate_type, candidate_id, score, explanation)"
                " VALUES (%s, %s, 'school', 1, 'enterprise', %s, %s, %s)",
                (run, rank, ent, 0.9 / rank, '[{"text": "专业与行业匹配"}]'),
            )
    r = api.get(f"/v1/exports/runs/{run}.xlsx")
    assert r.status_code == 200, r.text
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert [c.value for c in ws[3]] == [
        "排名",
        "候选类型",
        "候选编号",
        "候选名称",
        "得分",
        "推荐理由",
    ]
    assert ws["D4"].value == "郑州甲公司" and ws["F4"].value == "专业与行业匹配"
    assert ws["D5"].value.startswith("'=")
    assert anon.get(f"/v1/exports/runs/{run}.xlsx").status_code == 401
