"""Annex-1 pairing tables as bureaus fill them: merged cells, notes, spaced and broken headers,
bracket variants, suggestions, duplicate headers, kind detection and the preview."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import psycopg

from service.ingest import import_file
from tests.service.ingest.annex1 import EXCEL_HEADERS, PAIRS, SEED_HEADERS, merged_sheet, world


def _pairs(conn: psycopg.Connection) -> int:
    return int(conn.execute("SELECT count(*) AS n FROM partnerships").fetchone()["n"])


def test_merged_cells_and_footnotes_import_every_pair(
    conn: psycopg.Connection, files: Path
) -> None:
    ids = world(conn)
    path = merged_sheet(files / "附件1.xlsx")
    report = import_file(conn, path, path.name, "pairing-table")
    assert report.committed, report.errors
    assert report.header_row == 4 and report.total == len(PAIRS)
    assert report.tables["partnerships"].inserted == len(PAIRS) == _pairs(conn)
    notes = [n.message for n in report.notices]
    assert sum("注释或合计" in m for m in notes) == 3, notes
    assert any("空行" in m for m in notes)
    # the merged unit contact reached every row of its unit (unit side of the pair)
    rows = conn.execute(
        "SELECT a_type, a_contact, b_type, b_contact FROM partnerships WHERE"
        " (a_type = 'school' AND a_id = %(s)s) OR (b_type = 'school' AND b_id = %(s)s)",
        {"s": ids["school"]},
    ).fetchall()
    assert len(rows) == 3
    for r in rows:
        unit_contact = r["a_contact"] if r["a_type"] == "school" else r["b_contact"]
        assert unit_contact == "周老师 0371-7654321"


def test_kind_is_detected_and_partnerships_read_as_pairing_table(
    conn: psycopg.Connection, files: Path
) -> None:
    world(conn)
    path = merged_sheet(files / "p.xlsx")
    report = import_file(conn, path, path.name, None, dry_run=True)
    assert report.kind == "pairing-table" and report.detected_kind == "pairing-table"
    assert any("结对包联情况汇总表" in n.message for n in report.notices)
    report = import_file(conn, path, path.name, "partnerships")
    assert report.committed and report.kind == "pairing-table", report.errors
    assert any("已按 pairing-table 读取" in n.message for n in report.notices)


def test_wrong_kind_is_refused_naming_the_right_one(conn: psycopg.Connection, files: Path) -> None:
    path = merged_sheet(files / "p.xlsx")
    report = import_file(conn, path, path.name, "enterprises")
    assert not report.committed
    assert any(e.code == "wrong_kind" and "pairing-table" in e.reason for e in report.errors)


def _sheet(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_duplicate_header_names_both_columns(conn: psycopg.Connection, files: Path) -> None:
    world(conn)
    header = list(SEED_HEADERS[:2]) + ["包联产业园区(企业)名称"]
    path = _sheet(files / "d.xlsx", header, [["郑州大学", "郑州丁新材料有限公司", "x"]])
    report = import_file(conn, path, path.name, "pairing-table")
    assert not report.committed
    (err,) = [e for e in report.errors if e.code == "duplicate_header"]
    assert err.column == "B列、C列" and "B列与C列" in err.reason


def test_spaces_brackets_and_suggestions(conn: psycopg.Connection, files: Path) -> None:
    world(conn)
    header = list(EXCEL_HEADERS)
    rows = [
        ["郑州大学 ", "河南（郑州）精密机械有限公司", "", "", "", "", "", ""],
        [" 郑州大学", "河南 (郑州) 精密机械有限公司", "", "", "", "", "", ""],
        ["郑州市教育局", "郑州经济技术开发", "", "", "", "", "", ""],
        ["郑州大 学院", "郑州丁新材料有限公司", "", "", "", "", "", ""],
    ]
    path = _sheet(files / "s.xlsx", header, rows)
    report = import_file(conn, path, path.name, "pairing-table")
    by_row = {e.row: e for e in report.errors}
    assert 2 not in by_row and 3 not in by_row or by_row[3].code == "duplicate"
    assert "最接近的名称：郑州经济技术开发区" in by_row[4].reason
    assert "郑州大学" in by_row[5].reason.split("最接近的名称：")[1]


def test_dry_run_reports_every_row_and_writes_nothing(
    conn: psycopg.Connection, files: Path
) -> None:
    world(conn)
    path = merged_sheet(files / "p.xlsx")
    preview = import_file(conn, path, path.name, "pairing-table", dry_run=True)
    assert preview.dry_run and not preview.committed, preview.errors
    assert (
        _pairs(conn) == 0 and conn.execute("SELECT count(*) AS n FROM needs").fetchone()["n"] == 0
    )
    assert preview.file_sha256 and len(preview.file_sha256) == 64
    inserts = [o for o in preview.rows if o.table == "partnerships"]
    assert [o.action for o in inserts] == ["insert"] * len(PAIRS)
    assert [o.row for o in inserts] == [5, 6, 7, 8, 9]
    assert preview.tables["partnerships"].inserted == len(PAIRS)
    done = import_file(conn, path, path.name, "pairing-table")
    assert done.tables["partnerships"].inserted == len(PAIRS)
    again = import_file(conn, path, path.name, "pairing-table", dry_run=True)
    assert {o.action for o in again.rows} == {"unchanged"}
    assert again.tables["partnerships"].unchanged == len(PAIRS)
