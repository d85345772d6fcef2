"""The Annex-1 export: layout, merged unit cells, contacts by role, and a round trip that
changes nothing; formula neutralisation; blank templates that import as their kind."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import openpyxl
import psycopg
import pytest
from psycopg.rows import dict_row

from service.auth.policy import SYSTEM
from service.exports import pairing
from service.exports.cells import safe, unneutralise
from service.exports.templates import template
from service.exports.writer import write_table
from service.ingest import import_file
from service.ingest.service import KINDS
from tests.service.ingest.annex1 import PAIRS, merged_sheet, world
from tests.service.ingest.conftest import versions


class Viewer:
    """A logged-in account without contact rights (an enterprise user elsewhere)."""

    id = 999
    role = "enterprise"
    region_path = "410000.410200"
    school_id = None
    enterprise_id = 424242
    username = "viewer"


def _import_merged(conn: psycopg.Connection, tmp_path: Path) -> None:
    world(conn)
    path = merged_sheet(tmp_path / "附件1.xlsx")
    report = import_file(conn, path, path.name, "pairing-table")
    assert report.committed and report.tables["partnerships"].inserted == len(PAIRS)


def test_export_layout_and_round_trip(conn: psycopg.Connection, tmp_path: Path) -> None:
    _import_merged(conn, tmp_path)
    content, name = pairing.table(conn, SYSTEM, "410100", "xlsx")
    assert name.endswith(".xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(content)).active
    assert ws["A1"].value == "各地（校）结对包联情况汇总表"
    assert ws["A2"].value.startswith("填报单位：郑州市")
    assert [c.value for c in ws[3]] == list(pairing.HEADERS)
    assert len(pairing.HEADERS) == 8
    merged = {str(r) for r in ws.merged_cells.ranges}
    # 郑州市教育局 (2 pairs) and 郑州大学 (3 pairs): unit and unit-contact merged down
    assert {"A4:A5", "D4:D5", "A6:A8", "D6:D8"} <= merged, merged
    assert ws.max_row == 3 + len(PAIRS)
    assert ws["D6"].value == "周老师 0371-7654321"
    # re-importing the export changes nothing
    out = tmp_path / "export.xlsx"
    out.write_bytes(content)
    before = versions(conn)
    again = import_file(conn, out, out.name, None)
    assert again.committed and again.kind == "pairing-table", again.errors
    assert again.total == len(PAIRS)
    assert (again.inserted, again.updated) == (0, 0), again.tables
    assert again.tables["partnerships"].unchanged == len(PAIRS)
    assert versions(conn) == before


def test_contacts_only_for_roles_that_may_see_them(
    conn: psycopg.Connection, tmp_path: Path
) -> None:
    _import_merged(conn, tmp_path)
    content, _ = pairing.table(conn, Viewer(), "410100", "xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(content)).active
    contacts = [ws.cell(r, c).value for r in range(4, 4 + len(PAIRS)) for c in (3, 4)]
    assert contacts == [None] * len(contacts)
    assert ws["B4"].value  # the pairs themselves are listed


def test_unknown_region_is_422(conn: psycopg.Connection) -> None:
    from service.errors import InvalidInput

    with pytest.raises(InvalidInput):
        pairing.table(conn, SYSTEM, "999999", "xlsx")


@pytest.mark.parametrize("text", ["=1+1", "+86 138", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_every_dangerous_start_is_neutralised(text: str) -> None:
    assert safe(text) == "'" + text and unneutralise(safe(text)) == text
    for fmt in ("csv", "xlsx"):
        content = write_table(fmt, ["名称"], [[text]])
        if fmt == "csv":
            assert ("'" + text).encode() in content
        else:
            cell = openpyxl.load_workbook(io.BytesIO(content)).active["A2"]
            # (XML turns a carriage return into a line feed; the apostrophe stays first)
            assert cell.data_type == "s" and cell.value.startswith("'")
    assert safe("正常文本") == "正常文本" and safe(-2) == -2


def test_neutralised_progress_round_trips(conn: psycopg.Connection, tmp_path: Path) -> None:
    _import_merged(conn, tmp_path)
    conn.execute("UPDATE partnerships SET progress = '【推进情况】=HYPERLINK(\"x\")'")
    content, _ = pairing.table(conn, SYSTEM, None, "xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(content)).active
    assert ws["G4"].value == '\'=HYPERLINK("x")'
    out = tmp_path / "e.xlsx"
    out.write_bytes(content)
    again = import_file(conn, out, out.name, "pairing-table")
    assert again.committed and again.tables["partnerships"].unchanged == len(PAIRS)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_templates_are_recognised_as_their_kind(kind: str, tmp_path: Path) -> None:
    content, name = template(KINDS[kind], "xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(content)).active
    if kind == "pairing-table":
        assert ws["A1"].value == "各地（校）结对包联情况汇总表"
        assert ws["A2"].value.startswith("填报单位：")
        assert [c.value for c in ws[3]] == list(pairing.HEADERS)
    from service.ingest import detect
    from service.ingest.readers import open_table

    table = open_table(io.BytesIO(content), name, detect.any_header(KINDS))
    assert detect.detect(KINDS, table.headers).name == kind


def test_http_export_and_template(api: httpx.Client, clean_db: str, tmp_path: Path) -> None:
    with psycopg.connect(clean_db, row_factory=dict_row) as c:
        _import_merged(c, tmp_path)
        c.commit()
    r = api.get("/v1/exports/pairing-table.xlsx", params={"region": "410100"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    assert ws.max_row == 3 + len(PAIRS)
    r = api.get("/v1/exports/pairing-table.csv", params={"region": "410100"})
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    assert api.get("/v1/exports/pairing-table.xlsx", params={"region": "x"}).status_code == 422
    r = api.get("/v1/exports/templates/pairing-table.xlsx")
    assert r.status_code == 200
    assert api.get("/v1/exports/templates/nothing.xlsx").status_code == 404
