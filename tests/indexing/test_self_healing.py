"""Damaged cached artefacts (vectors, BM25, the index manifest) are detected at load, logged as
repairs and rebuilt, and the rebuilt index answers exactly like a fresh one."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from indexing import artefacts
from indexing.hybrid import HybridIndex, open_hybrid_index
from models.encoder import load_encoder

TEXTS = [
    "数控机床维修与数控编程",
    "软件开发与测试",
    "食品加工与包装设备运维",
    "工业机器人系统集成",
    "新能源汽车电池检测",
]
IDS = np.arange(101, 106, dtype=np.int64)


def _open(directory: Path) -> HybridIndex:
    return open_hybrid_index(
        directory,
        entity="enterprise",
        ids=IDS,
        texts=TEXTS,
        encoder=load_encoder("hash-64"),
        data_version="1",
    )


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF  # inside the payload: the header still parses
    path.write_bytes(bytes(data))


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00not an artefact\x00" * 7)


DAMAGE: dict[str, Callable[[Path], None]] = {
    "missing": lambda p: p.unlink(),
    "truncated": _truncate,
    "corrupt": _flip,
    "garbage": _garbage,
}
FILES = {
    "vectors": ["vectors.npy", "ids.npy", "hashes.npy", "vectors.json"],
    "bm25": [
        "bm25/data.csc.index.npy",
        "bm25/indices.csc.index.npy",
        "bm25/indptr.csc.index.npy",
        "bm25/vocab.index.json",
        "bm25/manifest.json",
    ],
    "manifest": ["manifest.json"],
}


def _answers(index: HybridIndex) -> list[tuple[int, float]]:
    q = load_encoder("hash-64").encode_queries(["数控编程 软件"])[0]
    return [
        (h.position, round(h.fused, 6)) for h in index.search(q, ["数控", "软件"], mask=None, k=5)
    ]


@pytest.mark.parametrize("how", sorted(DAMAGE))
@pytest.mark.parametrize(
    ("kind", "name"), [(kind, name) for kind, names in FILES.items() for name in names]
)
def test_each_damaged_artefact_is_detected_logged_and_rebuilt(
    tmp_path: Path, kind: str, name: str, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    fresh = _open(tmp_path)
    expected = _answers(fresh)
    before = len(artefacts.repairs())
    DAMAGE[how](tmp_path / name)
    healed = _open(tmp_path)
    assert _answers(healed) == expected
    events = artefacts.repairs()[before:]
    if kind != "manifest" or how != "missing":  # no manifest yet is a first build, not damage
        assert events, f"{how} {name} went unnoticed"
        assert any(name.split("/")[-1] in e["reason"] or how == "garbage" for e in events)
        assert "rebuilding" in caplog.text
    # and the folder is whole again: a third open repairs nothing and encodes nothing
    after = len(artefacts.repairs())
    again = _open(tmp_path)
    assert len(artefacts.repairs()) == after
    assert again.manifest["reencoded"] == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert set(manifest["files"]) == {"vectors.json", "bm25/manifest.json"}


def test_vectors_are_memory_mapped_after_load(tmp_path: Path) -> None:
    _open(tmp_path)
    again = _open(tmp_path)
    assert isinstance(again.vectors, np.memmap) or isinstance(again.vectors.base, np.memmap)


def _open_ivf(directory: Path) -> HybridIndex:
    rng = np.random.default_rng(3)
    words = ["数控", "软件", "食品", "机器人", "电池", "检测", "运维", "包装"]
    texts = ["".join(rng.choice(words, size=4)) for _ in range(2600)]
    return open_hybrid_index(
        directory,
        entity="enterprise",
        ids=np.arange(1, 2601, dtype=np.int64),
        texts=texts,
        encoder=load_encoder("hash-64"),
        data_version="1",
        ann_threshold=1000,  # IVF above this: persisted as dense.faiss, read back by mmap
    )


@pytest.mark.parametrize("how", sorted(DAMAGE))
@pytest.mark.parametrize("name", ["dense.faiss", "dense.json"])
def test_a_damaged_ivf_file_is_rebuilt_and_a_whole_one_is_mapped(
    tmp_path: Path, name: str, how: str
) -> None:
    from indexing.dense_index import ExactDense

    fresh = _open_ivf(tmp_path)
    assert not isinstance(fresh.dense, ExactDense) and (tmp_path / "dense.faiss").exists()
    expected = _answers(fresh)
    # the damage happens to a file no live index maps: truncating a file in place under a live
    # mapping makes the next touch of its lost pages a SIGBUS (the service itself only ever
    # replaces files by renaming new ones, so a mapping taken earlier keeps its own inode)
    del fresh
    gc.collect()
    before = len(artefacts.repairs())
    DAMAGE[how](tmp_path / name)
    healed = _open_ivf(tmp_path)
    assert _answers(healed) == expected
    events = artefacts.repairs()[before:]
    if not (name == "dense.json" and how == "missing"):  # no manifest: a first build
        assert any(e["kind"] == "dense" for e in events), f"{how} {name} went unnoticed"
    after = len(artefacts.repairs())
    assert _answers(_open_ivf(tmp_path)) == expected and len(artefacts.repairs()) == after


def test_flat_search_reads_the_mapped_vectors_without_a_copy(tmp_path: Path) -> None:
    from indexing.dense_index import ExactDense

    _open(tmp_path)
    again = _open(tmp_path)
    assert isinstance(again.dense, ExactDense) and again.dense.vectors is again.vectors
    q = load_encoder("hash-64").encode_queries(["数控编程"])[0]
    scores, pos = again.dense.search(q[None, :], 8)
    assert pos[0, :5].tolist() == np.argsort(-(np.asarray(again.vectors) @ q))[:5].tolist()
    assert pos[0, 5:].tolist() == [-1, -1, -1]  # padded like FAISS
