"""The sample gives every city (and the province) a leading-industry list, loadable as written."""

from __future__ import annotations

from pathlib import Path

import psycopg

from service.sample import leading
from service.sample.formats import LEADING_INDUSTRIES
from service.sample.writers import open_sink


def test_every_city_has_a_realistic_list(conn: psycopg.Connection, tmp_path: Path) -> None:
    rows = leading.rows()
    cities = {
        r["code"] for r in conn.execute("SELECT code FROM regions WHERE level = 'city'").fetchall()
    }
    by_region: dict[str, list[dict]] = {}
    for r in rows:
        by_region.setdefault(r["region_code"], []).append(r)
    assert cities <= set(by_region)
    for region, items in by_region.items():
        assert 3 <= len(items) <= 12, region
        assert all(len(i["code"]) == 2 and i["code"].isdigit() for i in items)
        assert len({i["code"] for i in items}) == len(items)
    names = " ".join(r["name"] for r in rows)
    for chain in ("电子信息", "智能制造装备", "新材料", "生物医药", "新能源"):
        assert chain in names
    sink = open_sink(tmp_path, LEADING_INDUSTRIES)
    for r in rows:
        sink.write(r)
    sink.close()
    assert leading.load(conn, tmp_path / LEADING_INDUSTRIES.filename) == len(rows)
    got = conn.execute(
        """SELECT r.code, count(*) AS n FROM leading_industries li
           JOIN regions r ON r.id = li.region_id GROUP BY r.code"""
    ).fetchall()
    assert {g["code"]: g["n"] for g in got} == {k: len(v) for k, v in by_region.items()}
