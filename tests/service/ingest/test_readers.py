"""File sniffing, encodings, header rows and sheets, without the database where possible."""

from __future__ import annotations

import io
from pathlib import Path

import psycopg
import pytest

from service.ingest import import_file
from service.ingest.lookups import Lookups
from service.ingest.readers import FileProblem, detect_encoding, open_table
from tests.service.ingest.conftest import credit_codes, write_xlsx


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("gbk", "gb18030"),
        ("gb18030", "gb18030"),
        ("utf-16", "utf-16"),
    ],
)
def test_detect_encoding_short_chinese(encoding: str, expected: str) -> None:
    raw = io.BytesIO("企业名称,地区\n郑州,金水\n".encode(encoding))
    assert detect_encoding(raw)[0] == expected
    assert raw.tell() == 0


def test_detect_encoding_after_long_ascii_prefix() -> None:
    tail = "郑州公司,金水区\n".encode("gbk")
    raw = io.BytesIO(b"name,region\n" + b"abc,410100\n" * 200_000 + tail)
    assert detect_encoding(raw)[0] == "gb18030"


def test_tab_separated_with_title_rows() -> None:
    text = "附件 1\n\n填报单位：_____\n\n企业名称\t统一社会信用代码\n甲\t1\n"
    table = open_table(io.BytesIO(text.encode()), "t.txt", lambda cells: "企业名称" in cells)
    assert table.header_row == 5 and list(table.rows) == [(6, ["甲", "1"])]


def test_unsupported_and_empty() -> None:
    with pytest.raises(FileProblem, match="不支持的文件类型"):
        open_table(io.BytesIO(b"abc"), "a.docx", lambda c: True)
    with pytest.raises(FileProblem, match="文件为空"):
        open_table(io.BytesIO(b""), "a.csv", lambda c: True)


def test_named_sheet(conn: psycopg.Connection, files: Path) -> None:
    import openpyxl

    path = write_xlsx(files / "two.xlsx", [["说明"], ["这一页不是数据"]], sheet="说明")
    wb = openpyxl.load_workbook(path)
    ws = wb.create_sheet("企业")
    ws.append(["企业名称", "统一社会信用代码", "所在地区"])
    ws.append(["甲公司", credit_codes(1, seed=60)[0], "郑州市"])
    wb.save(path)
    report = import_file(conn, path, "two.xlsx", "enterprises", sheet="企业")
    assert report.committed and report.inserted == 1 and report.sheet == "企业"
    report = import_file(conn, path, "two.xlsx", "enterprises", sheet="没有")
    assert not report.committed and report.errors[0].code == "no_sheet"


@pytest.mark.parametrize(
    "text", ["410105", "金水区", "郑州市金水区", "河南省郑州市金水区", "郑州金水区", "金水"]
)
def test_region_spellings(conn: psycopg.Connection, text: str) -> None:
    region_id, problem = Lookups(conn).region(text)
    assert problem is None
    assert (
        conn.execute("SELECT code FROM regions WHERE id = %s", (region_id,)).fetchone()["code"]
        == "410105"
    )


def test_utf8_after_ascii_prefix_split_at_chunk_edge() -> None:
    from service.ingest.readers import DETECT_BYTES

    prefix = b"a" * (DETECT_BYTES * 2 - 1)  # the first non-ASCII byte ends a 1 MiB chunk
    raw = io.BytesIO(prefix + "郑州".encode() + b"\n")
    assert detect_encoding(raw)[0] == "utf-8"
