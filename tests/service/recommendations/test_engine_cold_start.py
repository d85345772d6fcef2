"""A cold start that serves before its dense vectors are encoded: keyword results meanwhile,
said in /health and in every run's versions, then the same answers as a full build once the
background fill completes; and the free query text reaching the index's learned stage."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
import pytest
from psycopg.rows import dict_row

from indexing.artefacts import repairs
from models.encoder import load_encoder
from service.config import Settings
from service.main import create_app
from service.recommendations import engine_health
from service.recommendations import schemas as S
from service.recommendations import service as svc
from service.recommendations.engine import Engine
from tests.fixtures.server import running_server, wait_engine_ready
from tests.service.recommendations.actors import province_admin
from tests.service.recommendations.world import build

FILL_THREAD = "xiaoqi-dense-fill"


class GatedEncoder:
    """The real hashing encoder, except that the background fill thread waits for ``gate``
    (so the test can look at the partial state for as long as it needs)."""

    def __init__(self) -> None:
        self.inner = load_encoder("hash-64")
        self.id, self.dim = self.inner.id, self.inner.dim
        self.gate = threading.Event()

    def _wait(self) -> None:
        if threading.current_thread().name == FILL_THREAD:
            assert self.gate.wait(60), "the test never opened the gate"

    def encode_queries(self, texts: Any, batch_size: int = 64) -> np.ndarray:
        self._wait()
        return self.inner.encode_queries(texts, batch_size)

    def encode_documents(self, texts: Any, batch_size: int = 64, progress: Any = None) -> Any:
        self._wait()
        return self.inner.encode_documents(texts, batch_size, progress)


def _settings(url: str) -> Settings:
    return Settings(database_url=url, mode="test")


def _search(conn: psycopg.Connection[Any], engine: Engine) -> list[tuple[str, int, float]]:
    hits = svc.search(conn, engine, "数控机床维修", ["enterprise", "programme"], 10)
    return [(h.type, h.id, h.score) for h in hits]


def test_cold_start_serves_keyword_results_then_reaches_full_dense_coverage(
    clean_db: str, tmp_path: Path
) -> None:
    w = build(clean_db)
    admin = province_admin(clean_db)
    enc = GatedEncoder()
    engine = Engine(
        encoder=enc,  # type: ignore[arg-type]
        index_dir=tmp_path / "idx",
        ranker_dir=tmp_path / "r",
        defer_encoding_from=1,  # even this small world defers every text
    )
    app = create_app(_settings(clean_db))
    with (
        psycopg.connect(clean_db, row_factory=dict_row) as conn,
        running_server(app) as base,
    ):
        engine.refresh(conn, release=True)
        assert engine_health.status(engine) == "partial"
        ent = engine.latest.candidates["enterprise"].index
        assert ent.dense_coverage == 0.0 and ent.rerank is None
        assert not (tmp_path / "idx" / "enterprise" / "manifest.json").exists()

        # serving meanwhile: keyword results, no dense similarity, the run stored and labelled
        hits = _search(conn, engine)
        assert hits and any(t == "enterprise" for t, _, _ in hits)
        req = S.PartnerEnterprisesRequest(subject=S.SubjectRef(type="school", id=w["S1"]))
        res = svc.partner_enterprises(conn, engine, _settings(clean_db), req, admin)
        items = res.results[0].items
        assert items and all(it.features["dense"] == 0.0 for it in items)
        assert res.versions["dense_complete"] is False
        assert res.versions["indexes"]["enterprise"]["dense_coverage"] == 0.0
        stored: Any = conn.execute(
            "SELECT versions FROM recommendation_runs WHERE id = %s", (res.run_id,)
        ).fetchone()
        assert stored["versions"]["dense_complete"] is False
        conn.commit()

        # /health over HTTP says so, and still answers 200 (the engine serves)
        wait_engine_ready(base)
        own = app.state.engine
        app.state.engine = engine
        try:
            r = httpx.get(f"{base}/health")
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["engine"] == "partial" and body["status"] == "ok"
            assert body["engine_detail"]["dense"]["coverage"]["enterprise"] == 0.0
            assert body["notices"] and "稠密向量" in body["notices"][0]

            enc.gate.set()  # let the background fill run
            assert engine._fill is not None
            engine._fill.join(60)
            assert not engine._fill.is_alive()
            assert engine_health.status(engine) == "ready"
            r = httpx.get(f"{base}/health")
            assert r.json()["engine"] == "ready" and r.json()["notices"] == []
            assert r.json()["engine_detail"]["dense"]["complete_after_s"] is not None
        finally:
            app.state.engine = own

        engine.refresh(conn)
        assert engine.latest.candidates["enterprise"].index.dense_coverage == 1.0
        assert all(len(s.slot) == len(s.vectors) for s in engine.latest.subjects.values())
        res = svc.partner_enterprises(conn, engine, _settings(clean_db), req, admin)
        assert res.versions["dense_complete"] is True
        conn.rollback()

        # the same answers as an engine that encoded everything before serving ...
        full = Engine.load(
            conn, encoder_name="hash-64", index_dir=tmp_path / "full", ranker_dir=tmp_path / "r"
        )
        assert _search(conn, engine) == _search(conn, full)
        # ... and the filled caches and manifests are complete: a restart encodes nothing
        before = len(repairs())
        again = Engine.load(
            conn, encoder_name="hash-64", index_dir=tmp_path / "idx", ranker_dir=tmp_path / "r"
        )
        assert len(repairs()) == before
        for cands in again.latest.candidates.values():
            assert cands.index.manifest["reencoded"] == 0 and cands.index.pending is None
        assert _search(conn, again) == _search(conn, full)


def test_free_text_reaches_the_index_search_as_qtext(
    clean_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(clean_db)
    admin = province_admin(clean_db)
    with psycopg.connect(clean_db, row_factory=dict_row) as conn:
        engine = Engine.load(
            conn, encoder_name="hash-64", index_dir=tmp_path / "idx", ranker_dir=tmp_path / "r"
        )
        index = engine.latest.candidates["programme"].index
        seen: list[str | None] = []
        search = index.search

        def recording(*args: Any, **kw: Any) -> Any:
            seen.append(kw.get("qtext"))
            return search(*args, **kw)

        monkeypatch.setattr(index, "search", recording)
        text = "需要懂数控机床维修的技术人员"
        svc.programmes(conn, engine, _settings(clean_db), S.ProgrammesRequest(text=text), admin)
        svc.search(conn, engine, text, ["programme"], 5)
        conn.rollback()
    assert seen == [text, text]
