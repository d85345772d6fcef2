"""Refreshes racing requests: inserts and deletes land while requests are being served, against
a real database, with the engine refreshing in the background (a pool) as the service does.

Each request pins one engine state at its start; masks, index hits, rows and the graph all come
from it, so no request may fail and no item may come from outside the requested region."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from models.codes import make_credit_code
from service.config import Settings
from service.recommendations import schemas as S
from service.recommendations import service as svc
from service.recommendations.engine import Engine
from tests.service.recommendations.actors import province_admin
from tests.service.recommendations.world import build

ZHENGZHOU, LUOYANG = "410100", "410300"
ROUNDS = 40


def _region_id(conn: psycopg.Connection[Any], code: str) -> int:
    row: Any = conn.execute("SELECT id FROM regions WHERE code = %s", (code,)).fetchone()
    return int(row["id"])


def _insert(conn: psycopg.Connection[Any], rng: random.Random, region_id: int, n: int) -> int:
    row: Any = conn.execute(
        """INSERT INTO enterprises (credit_code, name, industry_codes, region_id, description)
           VALUES (%s, %s, %s, %s, %s) RETURNING id""",
        (
            make_credit_code(rng, "410100"),
            f"竞速数控装备有限公司{n}",
            ["C3421"],
            region_id,
            "数控机床制造，需要数控编程与设备维护人才",
        ),
    ).fetchone()
    return int(row["id"])


def test_inserts_and_deletes_racing_requests_give_no_errors_and_nothing_out_of_scope(
    clean_db: str, tmp_path: Path
) -> None:
    w = build(clean_db)
    admin = province_admin(clean_db)
    rng = random.Random(11)
    settings = Settings(database_url=clean_db, mode="test")
    with psycopg.connect(clean_db, row_factory=dict_row, autocommit=True) as c:
        zz, ly = _region_id(c, ZHENGZHOU), _region_id(c, LUOYANG)
        inside = {
            r["code"]
            for r in c.execute(
                "SELECT code FROM regions WHERE path LIKE '%%' || %s || '%%'", (ZHENGZHOU,)
            )
        }
        for n in range(40):  # enough rows that a deletion shifts many positions
            _insert(c, rng, zz if n % 2 else ly, n)

    pool = ConnectionPool(clean_db, min_size=2, max_size=6, kwargs={"row_factory": dict_row})
    try:
        with pool.connection() as conn:
            engine = Engine.load(
                conn,
                encoder_name="hash-64",
                index_dir=tmp_path / "idx",
                ranker_dir=tmp_path / "r",
                pool=pool,
            )
        done = threading.Event()
        errors: list[str] = []
        outside: list[tuple[str, Any]] = []
        served = [0]
        states: set[int] = set()

        def write() -> None:
            alive: list[int] = []
            with psycopg.connect(clean_db, row_factory=dict_row, autocommit=True) as c:
                for n in range(ROUNDS):
                    alive.append(_insert(c, rng, ly, 1000 + n))  # outside the scope
                    alive.append(_insert(c, rng, zz, 2000 + n))
                    # delete low ids too: every later position shifts in a rebuilt snapshot
                    lowest: Any = c.execute("SELECT min(id) AS m FROM enterprises").fetchone()
                    victim = alive.pop(0) if n % 2 else int(lowest["m"])
                    c.execute("DELETE FROM enterprises WHERE id = %s", (victim,))
                    time.sleep(0.02)
            done.set()

        def ask(kind: int) -> None:
            while not done.is_set():
                try:
                    with pool.connection() as conn:
                        school = w["S1"] if kind == 0 else w["S2"]  # S2 is outside it
                        req = S.PartnerEnterprisesRequest(
                            subject=S.SubjectRef(type="school", id=school),
                            region=ZHENGZHOU,
                            k=10 + 10 * kind,
                        )
                        res = svc.partner_enterprises(conn, engine, settings, req, admin)
                        states.add(id(engine.state))
                    for result in res.results:
                        for item in result.items:
                            code = item.candidate.get("region_code")
                            if code not in inside:
                                outside.append((code, item.candidate.get("id")))
                    served[0] += 1
                except Exception as exc:  # counted, not raised: the test reports them all
                    errors.append(f"{type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=write)]
        threads += [threading.Thread(target=ask, args=(i % 2,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads)
        assert errors == []
        assert outside == []
        assert served[0] >= 20
        assert len(states) > 1  # the state was swapped while requests were being served
    finally:
        pool.close()
