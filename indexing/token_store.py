"""Keyword-search tokens of many texts, kept by text hash and persisted in one folder, loaded by
memory map (every worker process shares one copy in the page cache).

The engine keeps the tokens of every stored subject's query text here (service.recommendations
.engine), as it keeps their query vectors: jieba's segmentation is the largest single cost of a
request from a subject not asked before (about a millisecond of pure Python per text).

Layout: ``hashes.npy`` (the texts' blake2b-8 hashes, sorted), ``indptr.npy`` (CSR cuts into
``tokens.npy``), ``tokens.npy`` (int32 ids into the vocabulary), the vocabulary as UTF-8 bytes
+ offsets; ``tokens.json`` checksums them beside the tokenizer's key (its code and
dictionary): a changed tokenizer makes the store stale, never wrong.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from indexing.artefacts import Damaged, Mismatch, folder_lock, read_manifest, write_manifest
from indexing.snapshot_store import StringColumn, _strings

TOKENS_MANIFEST = "tokens.json"
FILES = ("hashes.npy", "indptr.npy", "tokens.npy", "vocab.offsets.npy", "vocab.data.npy")


def tokenizer_key() -> str:
    """What the stored tokens were produced by: models/text.py, its user dictionary, jieba."""
    import jieba

    import models.text

    h = hashlib.blake2b(digest_size=16)
    h.update(Path(str(models.text.__file__)).read_bytes())
    if models.text.USERDICT_PATH.exists():
        h.update(models.text.USERDICT_PATH.read_bytes())
    h.update(str(getattr(jieba, "__version__", "")).encode())
    return h.hexdigest()


def _key(text_hash: bytes) -> bytes:
    # numpy's fixed-width bytes drop trailing NULs: compare hashes the way the array holds them
    return text_hash.rstrip(b"\0")


class TokenStore:
    """Tokens by text hash (``get``), built from (hash, tokens) pairs or loaded from a folder."""

    def __init__(
        self, hashes: np.ndarray, indptr: np.ndarray, tokens: np.ndarray, vocab: Sequence[str]
    ) -> None:
        self.hashes, self.indptr, self.tokens = hashes, indptr, tokens
        self.vocab = list(vocab)

    def __len__(self) -> int:
        return len(self.hashes)

    def get(self, text_hash: bytes) -> list[str] | None:
        """The tokens of the text with this hash; None when it is not stored."""
        hashes = self.hashes
        probe = _key(text_hash)
        i = int(np.searchsorted(hashes, probe))
        if i >= len(hashes) or hashes[i] != probe:
            return None
        vocab = self.vocab
        return [
            vocab[t] for t in self.tokens[self.indptr.item(i) : self.indptr.item(i + 1)].tolist()
        ]

    def missing(self, hashes: np.ndarray) -> np.ndarray:
        """Which of ``hashes`` are not stored (a bool per hash)."""
        if not len(self.hashes):
            return np.ones(len(hashes), dtype=bool)
        at = np.minimum(np.searchsorted(self.hashes, hashes), len(self.hashes) - 1)
        return np.asarray(self.hashes[at] != hashes)

    def pairs(self) -> Iterable[tuple[bytes, list[str]]]:
        for i, h in enumerate(self.hashes.tolist()):
            lo, hi = self.indptr.item(i), self.indptr.item(i + 1)
            yield h, [self.vocab[t] for t in self.tokens[lo:hi].tolist()]

    @classmethod
    def build(cls, pairs: Iterable[tuple[bytes, Sequence[str]]]) -> TokenStore:
        by_hash = {_key(h): tokens for h, tokens in pairs}
        hashes = np.array(sorted(by_hash), dtype="S8") if by_hash else np.zeros(0, "S8")
        ids: dict[str, int] = {}
        flat: list[int] = []
        indptr = np.zeros(len(hashes) + 1, dtype=np.int64)
        for n, h in enumerate(hashes.tolist()):
            flat.extend(ids.setdefault(t, len(ids)) for t in by_hash[h])
            indptr[n + 1] = len(flat)
        return cls(hashes, indptr, np.array(flat, dtype=np.int32), list(ids))

    def save(self, directory: Path, key: str) -> None:
        """Write the folder (files by rename, then the manifest that vouches for them)."""
        offsets, data = _strings(self.vocab)
        parts = (self.hashes, self.indptr, self.tokens, offsets, data)
        arrays = dict(zip(FILES, parts, strict=True))
        directory.mkdir(parents=True, exist_ok=True)
        (directory / TOKENS_MANIFEST).unlink(missing_ok=True)
        for name, array in arrays.items():
            tmp = directory / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
            with tmp.open("wb") as f:
                np.save(f, array, allow_pickle=False)
            os.replace(tmp, directory / name)
        write_manifest(directory, TOKENS_MANIFEST, FILES, {"tokenizer": key, "count": len(self)})

    @classmethod
    def load(cls, directory: Path, key: str) -> TokenStore | None:
        """The stored tokens when intact and made by this tokenizer; None otherwise."""
        try:
            body = read_manifest(directory, TOKENS_MANIFEST, {"tokenizer": key})
        except (Mismatch, Damaged):
            return None
        if body is None:
            return None

        def load(name: str) -> np.ndarray:
            return np.asarray(np.load(directory / name, mmap_mode="r", allow_pickle=False))

        try:
            vocab = StringColumn(load("vocab.offsets.npy"), load("vocab.data.npy"))
            store = cls(load("hashes.npy"), load("indptr.npy"), load("tokens.npy"), list(vocab))
        except (OSError, ValueError) as exc:
            del exc
            return None
        if len(store.indptr) != len(store.hashes) + 1:
            return None
        return store


def load_or_extend(
    directory: Path,
    hashes: np.ndarray,
    texts_of: Callable[[], Iterable[tuple[bytes, str]]],
    tokenize: Callable[[str], list[str]],
) -> TokenStore:
    """The folder's store, extended with the tokens of every text among ``hashes`` it lacks:
    ``texts_of()`` (called only then) yields (hash, text) pairs to tokenize. One process
    builds while the others wait for it (the folder lock), then load what it wrote."""
    key = tokenizer_key()
    directory.mkdir(parents=True, exist_ok=True)
    with folder_lock(directory):
        store = TokenStore.load(directory, key)
        wanted = np.unique(np.asarray(hashes, dtype="S8"))
        if store is not None and not store.missing(wanted).any():
            return store
        known = dict(store.pairs()) if store is not None else {}
        need = set(wanted[TokenStore.build(known.items()).missing(wanted)].tolist())
        for h, text in texts_of():
            if (h := _key(h)) in need:
                known[h] = tokenize(text)
                need.discard(h)
        store = TokenStore.build(known.items())
        store.save(directory, key)
        return TokenStore.load(directory, key) or store
