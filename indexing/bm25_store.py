"""BM25 of one entity's profile texts, persisted beside its vectors (``<index>/bm25/``) and
reloaded by memory map when built from the very same (id, text) rows; jieba tokenisation, the
slowest part of a large load, is spread over one process per core."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import bm25s
import numpy as np

from indexing.artefacts import Damaged, Mismatch, read_manifest, record_repair, write_manifest
from models.text import tokenize, tokenize_many

BM25_VERSION = "bm25s-lucene-k1.5-b0.75/models.text.tokenize/v1"


BM25_MANIFEST = "manifest.json"
BM25_FILES = (
    "data.csc.index.npy",
    "indices.csc.index.npy",
    "indptr.csc.index.npy",
    "vocab.index.json",
    "params.index.json",
)


def load_or_build_bm25(
    directory: Path, ids: np.ndarray, hashes: np.ndarray, texts: Sequence[str]
) -> tuple[bm25s.BM25, float]:
    """BM25 over the texts, reloaded from disk (by memory map) when built from the very same
    (id, text) rows in the same order: jieba tokenisation is the slowest part of loading a large
    snapshot. The folder's manifest keys it and checksums every file; a damaged one is rebuilt.
    Returns the index and its average document length (in tokens), which the delta segment
    needs to weigh fresh rows like the base's."""
    key = hashlib.blake2b(
        BM25_VERSION.encode() + ids.astype(np.int64).tobytes() + hashes.tobytes(), digest_size=16
    ).hexdigest()
    if texts:
        try:
            found = read_manifest(directory, BM25_MANIFEST, {"key": key})
            if found is not None:
                loaded = bm25s.BM25.load(str(directory), mmap=True, show_progress=False)
                return sorted_postings(loaded), float(found.get("avg_doc_len") or 1.0)
        except Mismatch:
            pass  # built from other rows: rebuild below
        except Damaged as exc:
            record_repair("bm25", directory, str(exc))
        except Exception as exc:  # listed files intact but unreadable by bm25s
            record_repair("bm25", directory, f"{type(exc).__name__}: {exc}")
    bm25 = bm25s.BM25()
    if not texts:
        bm25.vocab_dict = {}
        bm25.scores = {"data": np.zeros(0), "indices": np.zeros(0), "indptr": np.zeros(1)}
        return bm25, 1.0
    tokens = [t or [""] for t in _tokenize_all(list(texts))]
    avg_len = float(np.mean([len(t) for t in tokens]))
    bm25.index(tokens, show_progress=False)
    sorted_postings(bm25)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / BM25_MANIFEST).unlink(missing_ok=True)  # no manifest vouches for half a save
    bm25.save(str(directory), show_progress=False)
    (directory / "key.txt").unlink(missing_ok=True)  # the older layout's key file
    meta = {"key": key, "version": BM25_VERSION, "avg_doc_len": avg_len}
    write_manifest(directory, BM25_MANIFEST, BM25_FILES, meta)
    return bm25, avg_len


def sorted_postings(bm25: bm25s.BM25) -> bm25s.BM25:
    """TermMatcher binary-searches each term's document ids: make sure they are ascending
    (bm25s builds them so; this checks it in one vectorised pass and repairs it otherwise)."""
    s = bm25.scores
    # plain ndarrays over the mapped files: np.memmap's indexing (a memmap scalar per item,
    # __array_finalize__ per slice) costs more than the read itself, term by term per query
    for name in ("data", "indices", "indptr"):
        s[name] = np.asarray(s[name])
    indptr, indices = s["indptr"], s["indices"]
    if len(indices) < 2:
        return bm25
    step_down = np.diff(indices) <= 0
    step_down[indptr[1:-1][indptr[1:-1] > 0] - 1] = False  # a new term may start lower
    if step_down.any():
        s["indices"], s["data"] = np.array(s["indices"]), np.array(s["data"])  # writable copies
        for t in range(len(indptr) - 1):
            lo, hi = indptr[t], indptr[t + 1]
            order = np.argsort(indices[lo:hi], kind="stable")
            s["indices"][lo:hi] = indices[lo:hi][order]
            s["data"][lo:hi] = np.asarray(s["data"])[lo:hi][order]
    return bm25


PARALLEL_TOKENIZE_FROM = 50_000  # texts; below this a process pool costs more than it saves
TOKENIZE_CHUNK = 5_000


def _tokenize_all(texts: list[str]) -> list[list[str]]:
    """jieba is single-threaded and pure Python: large corpora are split across one process per
    core (spawned, so a server's threads are not forked)."""
    workers = min(os.cpu_count() or 1, 8)
    if len(texts) < PARALLEL_TOKENIZE_FROM or workers < 2:
        return [tokenize(t) for t in texts]
    chunks = [texts[i : i + TOKENIZE_CHUNK] for i in range(0, len(texts), TOKENIZE_CHUNK)]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return [tokens for part in pool.map(tokenize_many, chunks) for tokens in part]
