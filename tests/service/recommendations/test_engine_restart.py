"""Issue 11 item 4: a restart maps persisted snapshots back instead of reading every row from
PostgreSQL, replays the change log logged since, and rebuilds a damaged or stale snapshot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from indexing import artefacts
from models.encoder import load_encoder
from service.recommendations import builders, state
from service.recommendations import schemas as S
from service.recommendations import service as svc
from service.recommendations.engine import Engine
from service.recommendations.snapshot import StoredRows
from tests.service.recommendations.actors import province_admin
from tests.service.recommendations.world import build


@pytest.fixture
def full_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every whole-table read of a candidate or stored-subject loader, by name."""
    seen: list[str] = []

    def watch(name: str, loader: Any) -> Any:
        def read(conn: Any, ids: Any = None) -> Any:
            if ids is None:
                seen.append(name)
                return loader(conn)
            return loader(conn, ids)

        return read

    for entity, (loader, text_of) in list(state.SOURCES.items()):
        monkeypatch.setitem(state.SOURCES, entity, (watch(entity, loader), text_of))
    for kind, (loader, text_of, deps) in list(state.SUBJECTS.items()):
        monkeypatch.setitem(state.SUBJECTS, kind, (watch(f"subject:{kind}", loader), text_of, deps))
    yield seen


def _load(conn: psycopg.Connection[Any], idx: Path) -> Engine:
    return Engine.load(conn, encoder_name="hash-64", index_dir=idx, ranker_dir=idx.parent / "r")


def _answers(conn: psycopg.Connection[Any], engine: Engine, w: Any, url: str) -> list[list[int]]:
    from service.config import Settings

    settings = Settings(database_url=url, mode="test")
    admin = province_admin(url)
    requests: list[tuple[Any, Any]] = [
        (
            svc.partner_enterprises,
            S.PartnerEnterprisesRequest(subject=S.SubjectRef(type="school", id=w["S1"]), k=5),
        ),
        (
            svc.partner_enterprises,
            S.PartnerEnterprisesRequest(subject=S.SubjectRef(type="school", id=w["S2"]), k=5),
        ),
        (svc.programmes, S.ProgrammesRequest(need_id=w["N1"])),
        (svc.mentors, S.MentorsRequest(programme_id=w["P1"], k=5)),
        (svc.mentors, S.MentorsRequest(text="数控加工与智能制造", k=5)),
        (svc.practice_bases, S.PracticeBasesRequest(programme_id=w["P1"], k=5)),
    ]
    out = []
    for call, req in requests:
        res = call(conn, engine, settings, req, admin)
        out.append([i.candidate["id"] for r in res.results for i in r.items])
    conn.rollback()  # the runs need not be stored
    return out


def test_restart_from_persisted_snapshots_reads_no_rows_and_answers_alike(
    clean_db: str, tmp_path: Path, full_reads: list[str]
) -> None:
    w = build(clean_db)
    idx = tmp_path / "idx"
    with psycopg.connect(clean_db, row_factory=dict_row) as conn:
        first = _load(conn, idx)
        want = _answers(conn, first, w, clean_db)
        assert set(full_reads) >= set(state.SOURCES)  # the first load read everything
        full_reads.clear()
        repairs = len(artefacts.repairs())
        second = _load(conn, idx)
        assert full_reads == []  # no candidate and no stored subject read in full
        assert len(artefacts.repairs()) == repairs
        for entity, cands in second.candidates.items():
            assert isinstance(cands.snapshot.rows, StoredRows), entity
            stored, built = cands.snapshot.rows[0], first.candidates[entity].snapshot.rows[0]
            assert stored == {k: v for k, v in built.items() if not k.startswith("_")}  # caches
        assert sorted(map(sorted, second.clusters)) == sorted(map(sorted, first.clusters))
        assert second.graph.edge_count == first.graph.edge_count
        assert _answers(conn, second, w, clean_db) == want


def test_changes_logged_while_down_are_replayed_onto_the_persisted_snapshot(
    clean_db: str, tmp_path: Path, full_reads: list[str]
) -> None:
    w = build(clean_db)
    idx = tmp_path / "idx"
    with psycopg.connect(clean_db, row_factory=dict_row) as conn:
        _load(conn, idx)
        conn.execute(
            "UPDATE enterprises SET name = '河南鲲鹏数控重工有限公司' WHERE id = %s", (w["E5"],)
        )
        conn.execute("DELETE FROM mentors WHERE id = %s", (w["M3"],))
        conn.commit()
        full_reads.clear()
        second = _load(conn, idx)
        read_in_full = list(full_reads)
        fresh = _load(conn, tmp_path / "fresh")  # from PostgreSQL, for comparison
        snap = second.candidates["enterprise"].snapshot
        assert snap.rows[snap.pos[w["E5"]]]["name"] == "河南鲲鹏数控重工有限公司"
        assert w["M3"] not in second.candidates["mentor"].snapshot.pos
        assert not {"enterprise", "mentor"} & set(read_in_full)  # deltas, not full reads
        assert second.latest.change_seq == fresh.latest.change_seq
        hits = second.candidates["enterprise"].index.search(
            second.query_vector("鲲鹏数控重工"), second.query_tokens("鲲鹏数控重工"), mask=None, k=1
        )
        assert snap.ids[hits[0].position] == w["E5"]
        assert _answers(conn, second, w, clean_db) == _answers(conn, fresh, w, clean_db)


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def test_damaged_or_stale_snapshot_is_detected_and_rebuilt(
    clean_db: str, tmp_path: Path, full_reads: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    w = build(clean_db)
    idx = tmp_path / "idx"
    with psycopg.connect(clean_db, row_factory=dict_row) as conn:
        want = _answers(conn, _load(conn, idx), w, clean_db)
        _flip(idx / "enterprise" / "snapshot" / "c.name.data.npy")  # corrupt payload
        (idx / "mentor" / "snapshot" / "a.ids.npy").unlink()  # missing
        (idx / "subjects" / "need" / builders.SUBJECTS_MANIFEST).write_text("{")  # unreadable
        before = len(artefacts.repairs())
        full_reads.clear()
        second = _load(conn, idx)
        kinds = {
            (e["kind"], Path(e["directory"]).parent.name) for e in artefacts.repairs()[before:]
        }
        assert {
            ("snapshot", "enterprise"),
            ("snapshot", "mentor"),
            ("subjects", "subjects"),
        } <= kinds
        assert {"enterprise", "mentor", "subject:need"} <= set(full_reads)
        assert "programme" not in full_reads  # intact: mapped back
        assert _answers(conn, second, w, clean_db) == want
        # rebuilt and persisted again: the next restart reads and repairs nothing
        full_reads.clear()
        before = len(artefacts.repairs())
        third = _load(conn, idx)
        assert full_reads == [] and len(artefacts.repairs()) == before
        # stale (written by other code: another schema key): rebuilt, not counted as damage
        monkeypatch.setattr(builders, "schema_key", lambda: "other code")
        stale = _load(conn, idx)
        assert set(state.SOURCES) <= set(full_reads)
        assert len(artefacts.repairs()) == before
        assert _answers(conn, stale, w, clean_db) == _answers(conn, third, w, clean_db) == want


def test_the_encoder_is_checked_before_a_persisted_load(clean_db: str, tmp_path: Path) -> None:
    """Snapshots do not depend on the encoder, their vectors do: another encoder re-encodes
    over the persisted rows and answers like a fresh build with that encoder."""
    w = build(clean_db)
    idx = tmp_path / "idx"
    with psycopg.connect(clean_db, row_factory=dict_row) as conn:
        _load(conn, idx)
        other = Engine.load(conn, encoder_name="hash", index_dir=idx, ranker_dir=tmp_path / "r")
        fresh = Engine.load(
            conn, encoder_name="hash", index_dir=tmp_path / "f", ranker_dir=tmp_path / "r"
        )
        assert other.encoder.id == load_encoder("hash").id
        assert _answers(conn, other, w, clean_db) == _answers(conn, fresh, w, clean_db)
