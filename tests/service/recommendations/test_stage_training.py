"""Fine-tuning the learned stage from review decisions (`xiaoqi ranker train`, issue 15 item 5):
reviewers with a taste the stage does not have (they approve the candidates with the more
concise profiles among those shown) teach it that taste on runs it was not trained on, and the
engine then serves the fine-tuned stage, naming it in every run's versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from psycopg.rows import dict_row

from service.config import Settings
from service.recommendations import schemas as S
from service.recommendations import service as svc
from service.recommendations import stage_training as st
from service.recommendations.engine import Engine
from service.recommendations.state import SOURCES
from service.sample.generate import generate
from service.sample.load import load_dir
from tests.service.recommendations.actors import province_admin

DECIDED_PER_RUN = 6


def _engine(conn: psycopg.Connection[Any], tmp: Path, encoder: str = "hash-64") -> Engine:
    return Engine.load(conn, encoder_name=encoder, index_dir=tmp / encoder, ranker_dir=tmp / "r")


def _decide_by_taste(conn: psycopg.Connection[Any], admin_id: int, lengths: dict[int, int]) -> int:
    """Approve the shorter half of each run's first items (by profile length), reject the rest."""
    runs: dict[int, list[dict[str, Any]]] = {}
    for r in conn.execute("SELECT id, run_id, candidate_id FROM recommendations ORDER BY id"):
        runs.setdefault(r["run_id"], []).append(r)
    decided = 0
    for items in runs.values():
        shown = items[:DECIDED_PER_RUN]
        if len(shown) < 4:
            continue
        cut = float(np.median([lengths[int(r["candidate_id"])] for r in shown]))
        for r in shown:
            decision = "approve" if lengths[int(r["candidate_id"])] < cut else "reject"
            conn.execute(
                "INSERT INTO reviews (recommendation_id, decision, reviewer_id) "
                "VALUES (%s, %s, %s)",
                (r["id"], decision, admin_id),
            )
            decided += 1
    return decided


def test_review_decisions_fine_tune_the_stage_and_the_engine_serves_it(
    clean_db: str, tmp_path: Path
) -> None:
    generate(tmp_path / "sample", 300, seed=5, max_schools=60)
    admin = province_admin(clean_db)
    settings = Settings(database_url=clean_db, mode="test")
    with psycopg.connect(clean_db, row_factory=dict_row) as conn:
        load_dir(conn, tmp_path / "sample")
        conn.commit()
        engine = _engine(conn, tmp_path)
        schools = [int(r["id"]) for r in conn.execute("SELECT id FROM schools ORDER BY id")]
        for school_id in schools[:48]:
            req = S.PartnerEnterprisesRequest(subject=S.SubjectRef(type="school", id=school_id))
            svc.partner_enterprises(conn, engine, settings, req, admin)
        loader, text_of = SOURCES["enterprise"]
        lengths = {int(r["id"]): len(text_of(r)) for r in loader(conn)}
        assert _decide_by_taste(conn, admin.id, lengths) >= 120
        conn.commit()

        data = st.replay(conn, engine, settings)
        assert len(data.groups) >= 20 and data.names
        assert data.base is None  # no shipped model fits the tests' hashing encoder
        tuned = st.fine_tune(data, holdout=0.3)
        # the served order (linear fusion) knows nothing of profile length; the tuned stage
        # learned it from older runs and applies it to the newest ones
        assert tuned.groups_test >= 6
        assert tuned.accuracy_tuned >= 0.75, tuned.as_dict()
        assert tuned.accuracy_tuned > tuned.accuracy_base + 0.15, tuned.as_dict()
        assert tuned.helps and tuned.gain_low > 0.1, tuned.as_dict()
        path = st.save_tuned(data, tuned, engine, tmp_path / "r")
        assert path == st.stage_manifest(tmp_path / "r")

        served = _engine(conn, tmp_path)
        index = served.candidates["enterprise"].index
        assert index.rerank is not None and index.rerank.model is not None
        version = index.rerank.model.manifest["version"]
        assert version.startswith("stage-")
        assert index.manifest_summary()["rerank"] == version
        req = S.PartnerEnterprisesRequest(subject=S.SubjectRef(type="school", id=schools[50]))
        res = svc.partner_enterprises(conn, served, settings, req, admin)
        assert res.results[0].items
        assert f'"rerank": "{version}"' in _json(res.versions)

        # an engine on another encoder does not take a stage trained for other vectors
        other = _engine(conn, tmp_path, "hash-32")
        assert other.candidates["enterprise"].index.rerank is None


def _json(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def test_fine_tuning_continues_the_shipped_stage_and_keeps_its_adapters() -> None:
    from models import ltr

    base = ltr.load()
    assert base is not None
    rng = np.random.default_rng(3)
    width = len(base.feature_names)
    groups = []
    for n in range(12):
        x = rng.normal(size=(6, width))
        y = (x[:, 0] > np.median(x[:, 0])).astype(float)  # taste: the first feature
        groups.append(st.Group(n, "enterprise", x, y, np.zeros(6)))
    tuned = st._fit(groups, base.feature_names, base)
    assert tuned.booster.num_trees() == base.booster.num_trees() + st.TUNE_ROUNDS
    assert len(tuned.adapters) == len(base.adapters)
    assert all(
        (a is None and b is None) or np.array_equal(a, b)
        for a, b in zip(tuned.adapters, base.adapters, strict=True)
    )
    before = st.pairwise_accuracy(groups, [base.score(g.x) for g in groups])
    after = st.pairwise_accuracy(groups, [tuned.score(g.x) for g in groups])
    assert after > before
