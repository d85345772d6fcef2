"""Incremental freshness against a real database, with the engine refreshing in the background
(a pool) as the service does: a created, edited or deleted enterprise, programme, mentor or
practice base shows in recommendations within 2 s, without rebuilding the snapshot's base or
re-encoding unchanged rows; a partnership change shows in the very next request (< 1 s)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from models.codes import make_credit_code
from service.config import Settings
from service.recommendations import schemas as S
from service.recommendations import service as svc
from service.recommendations.engine import Engine
from tests.service.recommendations.actors import province_admin
from tests.service.recommendations.world import build, partner

FRESH_S = 2.0
PARTNERSHIP_S = 1.0


class Live:
    """The engine under test, a pool, a writer connection and a counter of encoded texts."""

    def __init__(self, url: str, tmp: Path) -> None:
        self.url = url
        self.w = build(url)
        self.admin = province_admin(url)
        self.settings = Settings(database_url=url, mode="test")
        self.pool = ConnectionPool(url, min_size=1, max_size=4, kwargs={"row_factory": dict_row})
        with self.pool.connection() as conn:
            self.engine = Engine.load(
                conn,
                encoder_name="hash-64",
                index_dir=tmp / "idx",
                ranker_dir=tmp / "r",
                pool=self.pool,
            )
        self.encoded: list[str] = []
        encode = self.engine.encoder.encode_documents

        def counting(texts: Any, **kw: Any) -> np.ndarray:
            self.encoded.extend(texts)
            return encode(texts, **kw)

        self.engine.encoder.encode_documents = counting  # type: ignore[method-assign]
        self.db = psycopg.connect(url, row_factory=dict_row, autocommit=True)

    def sql(self, query: str, *params: Any) -> Any:
        cur = self.db.execute(query, params)
        return cur.fetchone() if cur.description else None

    def ask(self, call: Callable[[psycopg.Connection[Any]], Any]) -> list[dict[str, Any]]:
        with self.pool.connection() as conn:
            res = call(conn)
        return [item.candidate for r in res.results for item in r.items]

    def until(
        self, call: Callable[[psycopg.Connection[Any]], Any], ok: Callable[[Any], bool]
    ) -> float:
        """Seconds from now until a request's candidates satisfy ``ok`` (fails past FRESH_S)."""
        t0 = time.perf_counter()
        while True:
            got = self.ask(call)
            if ok(got):
                return time.perf_counter() - t0
            if time.perf_counter() - t0 > FRESH_S:
                pytest.fail(f"not fresh within {FRESH_S} s: {[c.get('name') for c in got]}")
            time.sleep(0.05)

    def close(self) -> None:
        # the encoder is the process-wide cached instance: leave it as other tests expect it
        del self.engine.encoder.encode_documents
        self.db.close()
        self.pool.close()


@pytest.fixture
def live(clean_db: str, tmp_path: Path) -> Iterator[Live]:
    it = Live(clean_db, tmp_path)
    yield it
    it.close()


def _names(cands: list[dict[str, Any]]) -> set[str]:
    return {str(c.get("name")) for c in cands}


def test_enterprise_created_edited_deleted_is_fresh_without_rebuilding(live: Live) -> None:
    base = live.engine.latest.candidates["enterprise"].index
    zz = live.sql("SELECT id FROM regions WHERE code = '410100'")["id"]
    req = S.PartnerEnterprisesRequest(subject=S.SubjectRef(type="school", id=live.w["S1"]), k=20)

    def ask(conn: psycopg.Connection[Any]) -> Any:
        return svc.partner_enterprises(conn, live.engine, live.settings, req, live.admin)

    new_id = live.sql(
        """INSERT INTO enterprises (credit_code, name, industry_codes, region_id, description)
           VALUES (%s, '郑州新鲜数控科技有限公司', '{C3421}', %s,
                   '数控机床编程、数控设备维护与数控加工') RETURNING id""",
        make_credit_code(random.Random(3), "410100"),
        zz,
    )["id"]
    created = live.until(ask, lambda c: "郑州新鲜数控科技有限公司" in _names(c))
    assert live.encoded == [live.encoded[0]] and "新鲜数控" in live.encoded[0]  # one row encoded

    live.encoded.clear()
    live.sql("UPDATE enterprises SET name = '郑州更名数控科技有限公司' WHERE id = %s", new_id)
    edited = live.until(
        ask,
        lambda c: (
            "郑州更名数控科技有限公司" in _names(c) and "郑州新鲜数控科技有限公司" not in _names(c)
        ),
    )
    live.encoded.clear()
    live.sql("UPDATE enterprises SET size = '小型' WHERE id = %s", new_id)  # text unchanged
    live.until(ask, lambda c: any(x.get("size") == "小型" for x in c if x["id"] == new_id))
    assert live.encoded == []  # an unchanged profile text is not encoded again

    live.sql("DELETE FROM enterprises WHERE id = %s", new_id)
    deleted = live.until(ask, lambda c: all(x["id"] != new_id for x in c))
    assert max(created, edited, deleted) < FRESH_S
    after = live.engine.latest.candidates["enterprise"]
    assert after.index.bm25 is base.bm25 and after.index.dense is base.dense  # base kept
    assert after.index.delta is not None and len(after.index.delta) == 3
    assert live.engine.versions()["indexes"]["enterprise"]["delta_rows"] == 3


def test_programme_mentor_and_base_changes_are_fresh(live: Live) -> None:
    w = live.w
    text = "氢能源燃料电池系统集成与检测"

    def programmes(conn: psycopg.Connection[Any]) -> Any:
        req = S.ProgrammesRequest(text=text, k=10)
        return svc.programmes(conn, live.engine, live.settings, req, live.admin)

    live.sql(
        """INSERT INTO programmes (school_id, major_code, name, level, industries, capacity,
                                   description)
           VALUES (%s, '460702', '氢能技术应用', '高职专科', '{C38}', 5, %s)""",
        w["S1"],
        text,
    )
    assert live.until(programmes, lambda c: "氢能技术应用" in _names(c)) < FRESH_S

    def mentors(conn: psycopg.Connection[Any]) -> Any:
        req = S.MentorsRequest(text=text, k=10)
        return svc.mentors(conn, live.engine, live.settings, req, live.admin)

    mentor = live.sql(
        """INSERT INTO mentors (name, kind, school_id, fields, capacity, description)
           VALUES ('赵教授', 'academic', %s, '{氢能}', 2, %s) RETURNING id""",
        w["S2"],
        text,
    )["id"]
    assert live.until(mentors, lambda c: "赵教授" in _names(c)) < FRESH_S
    live.sql("UPDATE mentors SET name = '赵研究员' WHERE id = %s", mentor)
    assert live.until(mentors, lambda c: _names(c) & {"赵教授", "赵研究员"} == {"赵研究员"}) < 2

    def bases(conn: psycopg.Connection[Any]) -> Any:
        req = S.PracticeBasesRequest(programme_id=w["P1"], k=10)
        return svc.practice_bases(conn, live.engine, live.settings, req, live.admin)

    base = live.sql(
        """INSERT INTO practice_bases (name, host_enterprise_id, region_id, fields,
                                       slots_per_term, description)
           VALUES ('数控新基地', %s, (SELECT region_id FROM enterprises WHERE id = %s),
                   '{数控技术}', 8, '数控机床编程与数控加工实训') RETURNING id""",
        w["E1"],
        w["E1"],
    )["id"]
    assert live.until(bases, lambda c: "数控新基地" in _names(c)) < FRESH_S
    # a school renamed: its programmes, mentors and bases are touched through the log
    live.sql("UPDATE schools SET name = '郑州智能制造职业技术大学' WHERE id = %s", w["S1"])
    assert (
        live.until(
            programmes,
            lambda c: any(x.get("school_name") == "郑州智能制造职业技术大学" for x in c),
        )
        < FRESH_S
    )
    live.sql("DELETE FROM practice_bases WHERE id = %s", base)
    assert live.until(bases, lambda c: "数控新基地" not in _names(c)) < FRESH_S


def test_partnership_change_is_respected_by_the_next_request(live: Live) -> None:
    w = live.w
    req = S.PartnerEnterprisesRequest(subject=S.SubjectRef(type="school", id=w["S1"]), k=20)

    def ids() -> set[int]:
        got = live.ask(
            lambda conn: svc.partner_enterprises(conn, live.engine, live.settings, req, live.admin)
        )
        return {int(c["id"]) for c in got}

    assert w["E8"] in ids()
    with psycopg.connect(live.url, row_factory=dict_row) as c:
        partner(c, ("school", w["S1"]), ("enterprise", w["E8"]))
    t0 = time.perf_counter()
    assert w["E8"] not in ids()  # the very next request
    assert time.perf_counter() - t0 < PARTNERSHIP_S


def test_compaction_folds_the_delta_into_a_new_base_without_encoding_again(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.recommendations import freshness

    monkeypatch.setattr(freshness, "COMPACT_MIN", 2)
    monkeypatch.setattr(freshness, "COMPACT_SHARE", 0.0)
    zz = live.sql("SELECT id FROM regions WHERE code = '410100'")["id"]
    base = live.engine.latest.candidates["enterprise"].index
    rng = random.Random(8)
    names = ["郑州金水精密数控有限公司", "郑州二七机床维修有限公司", "郑州惠济智能装备有限公司"]
    for name in names:
        live.sql(
            """INSERT INTO enterprises (credit_code, name, industry_codes, region_id, description)
               VALUES (%s, %s, '{C3421}', %s, '数控机床编程与数控设备维护')""",
            make_credit_code(rng, "410100"),
            name,
            zz,
        )
    req = S.PartnerEnterprisesRequest(subject=S.SubjectRef(type="school", id=live.w["S1"]), k=30)

    def ask(conn: psycopg.Connection[Any]) -> Any:
        return svc.partner_enterprises(conn, live.engine, live.settings, req, live.admin)

    live.until(ask, lambda c: set(names) <= _names(c))
    encoded = len(live.encoded)
    deadline = time.monotonic() + 20
    while live.engine.latest.candidates["enterprise"].index.base_count == base.base_count:
        assert time.monotonic() < deadline, "compaction did not finish"
        live.ask(ask)  # requests keep being served meanwhile
        time.sleep(0.1)
    after = live.engine.latest.candidates["enterprise"].index
    assert after.base_count == base.base_count + 3 and after.delta is None
    assert len(live.encoded) == encoded  # the delta rows' vectors were reused
    assert set(names) <= _names(live.ask(ask))


def test_applied_changes_are_pruned_and_an_engine_behind_the_pruning_rebuilds(
    live: Live, tmp_path: Path
) -> None:
    from service.recommendations import freshness
    from service.recommendations import repository as repo

    zz = live.sql("SELECT id FROM regions WHERE code = '410100'")["id"]
    temp = live.sql(
        """INSERT INTO enterprises (credit_code, name, industry_codes, region_id, description)
           VALUES (%s, '郑州短暂科技有限公司', '{C3421}', %s, '数控') RETURNING id""",
        make_credit_code(random.Random(1105), "410100"),
        zz,
    )["id"]
    with psycopg.connect(live.url, row_factory=dict_row) as conn:
        behind = Engine.load(
            conn, encoder_name="hash-64", index_dir=tmp_path / "b", ranker_dir=tmp_path / "r"
        )
    assert temp in behind.latest.candidates["enterprise"].snapshot.pos
    live.sql("DELETE FROM enterprises WHERE id = %s", temp)  # logged, then pruned unseen
    req = S.PartnerEnterprisesRequest(subject=S.SubjectRef(type="school", id=live.w["S1"]), k=20)

    def ask(conn: psycopg.Connection[Any]) -> Any:
        return svc.partner_enterprises(conn, live.engine, live.settings, req, live.admin)

    live.sql(
        """INSERT INTO enterprises (credit_code, name, industry_codes, region_id, description)
           VALUES (%s, '郑州修剪数控科技有限公司', '{C3421}', %s, '数控机床维修') RETURNING id""",
        make_credit_code(random.Random(1104), "410100"),
        zz,
    )
    live.until(ask, lambda c: "郑州修剪数控科技有限公司" in _names(c))
    logged = live.sql("SELECT count(*) AS n, max(seq) AS top FROM row_changes")
    assert logged["n"] > 0
    with live.pool.connection() as conn:
        assert freshness.prune(live.engine, conn, force=True) == 0  # too recent to prune
    live.sql("UPDATE row_changes SET changed_at = now() - interval '2 hours'")
    with live.pool.connection() as conn:
        assert freshness.prune(live.engine, conn, force=True) == logged["n"]
    assert live.sql("SELECT count(*) AS n FROM row_changes")["n"] == 0
    marker = live.sql("SELECT version FROM data_versions WHERE entity_type = %s", repo.PRUNED)
    assert marker["version"] == logged["top"]

    # the engine that applied them goes on with deltas ...
    live.sql(
        "UPDATE enterprises SET name = '郑州修剪后数控科技有限公司' WHERE name LIKE '郑州修剪%%'"
    )
    live.until(ask, lambda c: "郑州修剪后数控科技有限公司" in _names(c))
    # ... one loaded before them (its position below the pruned seq) rebuilds and sees both
    with psycopg.connect(live.url, row_factory=dict_row) as conn:
        assert behind.latest.change_seq < marker["version"]
        behind.refresh(conn)
        res = svc.partner_enterprises(conn, behind, live.settings, req, live.admin)
        conn.rollback()
    assert "郑州修剪后数控科技有限公司" in {it.candidate["name"] for it in res.results[0].items}
    snap = behind.latest.candidates["enterprise"].snapshot
    assert temp not in snap.pos  # the pruned delete is seen: rebuilt, not patched
    assert snap.live_count == live.sql("SELECT count(*) AS n FROM enterprises")["n"]
