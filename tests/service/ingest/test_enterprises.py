"""Enterprise imports against a real PostgreSQL: formats, headers, validation, transactions."""

from __future__ import annotations

from pathlib import Path

import psycopg

from service.ingest import import_file
from tests.service.ingest.conftest import (
    add_park,
    credit_codes,
    versions,
    write_csv,
    write_jsonl,
    write_xlsx,
)

ZH = ["企业名称", "统一社会信用代码", "行业代码", "所在地区", "所属园区", "企业规模", "联系人"]


def _rows(n: int, seed: int = 1) -> list[list[str]]:
    return [
        [f"河南测试{i}有限公司", code, "C39；C38", "郑州市金水区", "", "中型", "张三"]
        for i, code in enumerate(credit_codes(n, seed))
    ]


def _count(conn: psycopg.Connection) -> int:
    return int(conn.execute("SELECT count(*) AS n FROM enterprises").fetchone()["n"])


def test_csv_utf8_chinese_headers(conn: psycopg.Connection, files: Path) -> None:
    add_park(conn)
    rows = _rows(3)
    rows[1][4] = "郑州经济技术开发区"
    path = write_csv(files / "e.csv", [ZH, *rows])
    report = import_file(conn, path, "e.csv", "enterprises")
    assert report.committed, report.errors
    assert (report.total, report.inserted, report.rejected) == (3, 3, 0)
    assert report.encoding == "utf-8"
    got = conn.execute(
        "SELECT e.name, e.industry_codes, r.name AS region, p.name AS park, e.size"
        " FROM enterprises e JOIN regions r ON r.id = e.region_id"
        " LEFT JOIN parks p ON p.id = e.park_id ORDER BY e.name"
    ).fetchall()
    assert got[1] == {
        "name": "河南测试1有限公司",
        "industry_codes": ["C39", "C38"],
        "region": "金水区",
        "park": "郑州经济技术开发区",
        "size": "中型",
    }
    audit = conn.execute("SELECT action, entity_type, after FROM audit_log").fetchall()
    assert audit[-1]["action"] == "import" and audit[-1]["after"]["inserted"] == 3


def test_gbk_and_bom_and_english_headers(conn: psycopg.Connection, files: Path) -> None:
    rows = _rows(4, seed=2)
    gbk = write_csv(files / "gbk.csv", [ZH, *rows[:2]], encoding="gbk")
    report = import_file(conn, gbk, "gbk.csv", "enterprises")
    assert report.committed and report.encoding == "gb18030" and report.inserted == 2
    en = ["name", "credit_code", "industry_codes", "region", "park", "size", "contact_name"]
    bom = write_csv(files / "bom.csv", [en, *rows[2:]], encoding="utf-8-sig")
    report = import_file(conn, bom, "bom.csv", "enterprises")
    assert report.committed and report.encoding == "utf-8-sig" and report.inserted == 2
    assert (
        conn.execute(
            "SELECT count(*) AS n FROM enterprises WHERE name LIKE '河南测试%%'"
        ).fetchone()["n"]
        == 4
    )


def test_short_gbk_file_is_not_mistaken(conn: psycopg.Connection, files: Path) -> None:
    code = credit_codes(1, seed=3)[0]
    path = files / "tiny.csv"
    path.write_bytes(f"名称,信用代码,地区\n郑州宇通,{code},郑州\n".encode("gbk"))
    report = import_file(conn, path, "tiny.csv", "enterprises")
    assert report.committed, report.errors
    assert (
        conn.execute("SELECT name FROM enterprises WHERE credit_code = %s", (code,)).fetchone()[
            "name"
        ]
        == "郑州宇通"
    )


def test_xlsx_with_title_rows_and_jsonl(conn: psycopg.Connection, files: Path) -> None:
    rows = _rows(4, seed=4)
    xlsx = write_xlsx(
        files / "e.xlsx",
        [ZH, *rows[:2]],
        title_rows=["企业信息汇总表", "填报单位：郑州市教育局  填报人：李四"],
    )
    report = import_file(conn, xlsx, "e.xlsx", "enterprises")
    assert report.committed, report.errors
    assert (report.format, report.header_row, report.inserted) == ("xlsx", 3, 2)
    jsonl = write_jsonl(
        files / "e.jsonl",
        [
            {"name": r[0], "credit_code": r[1], "industry_codes": ["C39"], "region": "410105"}
            for r in rows[2:]
        ],
    )
    report = import_file(conn, jsonl, "e.jsonl", "enterprises")
    assert report.committed and report.inserted == 2


def test_xlsx_row_numbers_as_seen(conn: psycopg.Connection, files: Path) -> None:
    rows = _rows(3, seed=5)
    rows[1][1] = "91410100MA00000000"
    xlsx = write_xlsx(files / "bad.xlsx", [ZH, *rows], title_rows=["标题"])
    report = import_file(conn, xlsx, "bad.xlsx", "enterprises")
    assert not report.committed
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (4, "统一社会信用代码", "credit_code")
    ]


def test_missing_required_columns(conn: psycopg.Connection, files: Path) -> None:
    path = write_csv(files / "m.csv", [["企业名称", "所在地区"], ["甲公司", "郑州市"]])
    report = import_file(conn, path, "m.csv", "enterprises")
    assert not report.committed and report.total == 0
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (1, "统一社会信用代码", "missing_column")
    ]


def test_bad_row_in_middle_writes_nothing(conn: psycopg.Connection, files: Path) -> None:
    before = (_count(conn), versions(conn))
    rows = _rows(5, seed=6)
    rows[2][1] = rows[2][1][:-1] + ("0" if rows[2][1][-1] != "0" else "1")  # wrong check char
    rows[3][3] = "火星市"
    rows[4][5] = "巨型"
    path = write_csv(files / "bad.csv", [ZH, *rows])
    report = import_file(conn, path, "bad.csv", "enterprises")
    assert not report.committed
    assert (report.total, report.rejected, report.inserted) == (5, 3, 0)
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (4, "统一社会信用代码", "credit_code"),
        (5, "所在地区", "region"),
        (6, "企业规模", "invalid"),
    ]
    assert "校验位" in report.errors[0].reason
    assert (_count(conn), versions(conn)) == before


def test_skip_invalid_commits_the_valid_part(conn: psycopg.Connection, files: Path) -> None:
    rows = _rows(4, seed=7)
    rows[1][0] = ""
    path = write_csv(files / "s.csv", [ZH, *rows])
    report = import_file(conn, path, "s.csv", "enterprises", skip_invalid=True)
    assert report.committed and (report.inserted, report.rejected) == (3, 1)
    assert report.errors[0].row == 3 and report.errors[0].code == "required"


def test_reimport_is_idempotent(conn: psycopg.Connection, files: Path) -> None:
    path = write_csv(files / "r.csv", [ZH, *_rows(50, seed=8)])
    first = import_file(conn, path, "r.csv", "enterprises")
    assert first.committed and first.inserted == 50
    stamp = conn.execute("SELECT max(updated_at) AS t FROM enterprises").fetchone()["t"]
    before = versions(conn)
    again = import_file(conn, path, "r.csv", "enterprises")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 50)
    assert versions(conn) == before
    assert conn.execute("SELECT max(updated_at) AS t FROM enterprises").fetchone()["t"] == stamp
    rows = _rows(50, seed=8)
    rows[0][6] = "王五"
    changed = write_csv(files / "r2.csv", [ZH, *rows])
    third = import_file(conn, changed, "r2.csv", "enterprises")
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 49)


def test_duplicate_key_names_first_row(conn: psycopg.Connection, files: Path) -> None:
    rows = _rows(3, seed=9)
    rows[2][1] = rows[0][1]
    path = write_csv(files / "d.csv", [ZH, *rows])
    report = import_file(conn, path, "d.csv", "enterprises")
    assert not report.committed
    assert [(e.row, e.code) for e in report.errors] == [(4, "duplicate")]
    assert "第 2 行" in report.errors[0].reason
    report = import_file(conn, path, "d.csv", "enterprises", skip_invalid=True)
    assert report.committed and report.inserted == 2 and report.rejected == 1


def test_region_from_credit_code_when_absent(conn: psycopg.Connection, files: Path) -> None:
    code = credit_codes(1, seed=10)[0]  # region 410100 inside the code
    path = write_csv(files / "n.csv", [["企业名称", "统一社会信用代码"], ["乙公司", code]])
    report = import_file(conn, path, "n.csv", "enterprises")
    assert report.committed, report.errors
    row = conn.execute(
        "SELECT r.code FROM enterprises e JOIN regions r ON r.id = e.region_id"
        " WHERE credit_code = %s",
        (code,),
    ).fetchone()
    assert row["code"] == "410100"


def test_partial_columns_keep_other_values(conn: psycopg.Connection, files: Path) -> None:
    rows = _rows(2, seed=11)
    full = write_csv(files / "full.csv", [[*ZH, "企业简介"], *[[*r, "简介"] for r in rows]])
    assert import_file(conn, full, "full.csv", "enterprises").inserted == 2
    slim = write_csv(files / "slim.csv", [ZH[:4], *[r[:4] for r in rows]])
    report = import_file(conn, slim, "slim.csv", "enterprises")
    assert (report.updated, report.unchanged) == (0, 2)
    assert {
        r["description"]
        for r in conn.execute("SELECT description FROM enterprises WHERE name LIKE '河南测试%%'")
    } == {"简介"}


def test_nul_characters_are_row_errors(conn: psycopg.Connection, files: Path) -> None:
    a, b = credit_codes(2, seed=12)
    path = write_jsonl(
        files / "nul.jsonl",
        [
            {"name": "甲\u0000公司", "credit_code": a, "region": "郑州市"},
            {"name": "乙公司", "credit_code": b, "region": "郑州市", "description": "好\u0000"},
            {"name": "丙公司", "credit_code": credit_codes(3, seed=12)[2], "region": "郑州市"},
        ],
    )
    report = import_file(conn, path, "nul.jsonl", "enterprises", skip_invalid=True)
    assert report.committed and report.inserted == 1
    assert [(e.row, e.column) for e in report.errors] == [(1, "name"), (2, "description")]
