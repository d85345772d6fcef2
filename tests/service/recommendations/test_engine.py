"""The engine's precomputed query vectors for stored subjects, against a real database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from psycopg.rows import dict_row

from service.recommendations import schemas as S
from service.recommendations import service as svc
from service.recommendations.engine import QUERY_CHARS, Engine
from tests.service.recommendations.actors import province_admin
from tests.service.recommendations.world import build


def _no_encoding(*_: Any, **__: Any) -> np.ndarray:
    raise AssertionError("a stored subject's query was encoded at request time")


def test_stored_subjects_use_precomputed_vectors_until_their_text_changes(
    clean_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = build(clean_db)
    admin = province_admin(clean_db)
    with psycopg.connect(clean_db, row_factory=dict_row) as conn:
        engine = Engine.load(
            conn, encoder_name="hash-64", index_dir=tmp_path / "idx", ranker_dir=tmp_path / "r"
        )
        enc = engine.encoder
        subjects = [
            svc.load_subject(conn, S.SubjectRef(type="school", id=w["S1"])),
            svc.load_subject(conn, S.SubjectRef(type="programme", id=w["P1"])),
            svc._need_subject(conn, w["N1"]),
        ]
        expected = [enc.encode_queries([s.query_text[:QUERY_CHARS]])[0] for s in subjects]
        with monkeypatch.context() as m:
            m.setattr(enc, "encode_queries", _no_encoding)
            for s, want in zip(subjects, expected, strict=True):
                np.testing.assert_allclose(engine.query_vector(s.query_text, s.query_ref), want)
                # requests run end to end without encoding anything
            svc.programmes(
                conn, engine, _settings(clean_db), S.ProgrammesRequest(need_id=w["N1"]), admin
            )
        conn.rollback()

        conn.execute("UPDATE needs SET title = '工业机器人运维工程师' WHERE id = %s", (w["N1"],))
        conn.commit()
        engine.refresh(conn)  # no pool: refreshed here
        changed = svc._need_subject(conn, w["N1"])
        assert "工业机器人" in changed.query_text
        got = engine.query_vector(changed.query_text, changed.query_ref)
        np.testing.assert_allclose(got, enc.encode_queries([changed.query_text[:QUERY_CHARS]])[0])
        # a text the engine has never seen (edited after the last refresh) is encoded on demand
        stale = changed.query_text + "（补充）"
        assert engine.subjects["need"].get(w["N1"], stale) is None
        np.testing.assert_allclose(
            engine.query_vector(stale, changed.query_ref), enc.encode_queries([stale])[0]
        )


def _settings(url: str) -> Any:
    from service.config import Settings

    return Settings(database_url=url, mode="test")


def test_exact_copy_shares_data_and_answers_alike(clean_db: str, tmp_path: Path) -> None:
    w = build(clean_db)
    admin = province_admin(clean_db)
    with psycopg.connect(clean_db, row_factory=dict_row) as conn:
        engine = Engine.load(
            conn, encoder_name="hash-64", index_dir=tmp_path / "idx", ranker_dir=tmp_path / "r"
        )
        twin = engine.exact_copy()
        assert twin.exact and not engine.exact
        for entity, c in engine.candidates.items():
            t = twin.candidates[entity]
            assert t.snapshot is c.snapshot and t.index.vectors is c.index.vectors
            assert t.index.dense is not c.index.dense
        req = S.ProgrammesRequest(need_id=w["N1"])
        a = svc.programmes(conn, engine, _settings(clean_db), req, admin)
        conn.rollback()
        b = svc.programmes(conn, twin, _settings(clean_db), req, admin)
        conn.rollback()
        ids = [[it.candidate["id"] for it in r.items] for r in a.results]
        assert ids == [[it.candidate["id"] for it in r.items] for r in b.results] and ids[0]


def test_engine_loads_over_damaged_caches_and_rebuilds_them(clean_db: str, tmp_path: Path) -> None:
    """Issue 14: a corrupted vectors file used to leave the engine 'failed' after a restart."""
    from indexing import artefacts

    w = build(clean_db)
    admin = province_admin(clean_db)
    settings = _settings(clean_db)
    req = S.PartnerEnterprisesRequest(subject=S.SubjectRef(type="school", id=w["S2"]), k=5)
    with psycopg.connect(clean_db, row_factory=dict_row) as conn:
        kw = {"encoder_name": "hash-64", "index_dir": tmp_path / "idx", "ranker_dir": tmp_path}
        first = Engine.load(conn, **kw)  # type: ignore[arg-type]
        want = svc.partner_enterprises(conn, first, settings, req, admin)
        ent = tmp_path / "idx" / "enterprise"
        vectors = ent / "vectors.npy"
        vectors.write_bytes(vectors.read_bytes()[:-40] + b"\x7f" * 40)  # corrupt payload
        postings = ent / "bm25" / "indices.csc.index.npy"
        postings.write_bytes(postings.read_bytes()[:100])  # truncated
        (tmp_path / "idx" / "mentor" / "vectors.json").write_text("{")  # unreadable manifest
        before = len(artefacts.repairs())
        second = Engine.load(conn, **kw)  # type: ignore[arg-type]
        got = svc.partner_enterprises(conn, second, settings, req, admin)
        kinds = {(e["kind"], Path(e["directory"]).name) for e in artefacts.repairs()[before:]}
        assert {("vectors", "enterprise"), ("bm25", "bm25"), ("vectors", "mentor")} <= kinds
        assert [i.candidate["id"] for i in got.results[0].items] == [
            i.candidate["id"] for i in want.results[0].items
        ]
        conn.rollback()
