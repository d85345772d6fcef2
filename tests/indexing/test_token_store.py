"""Stored subjects' query tokens: kept by text hash, persisted and mapped back, equal to what
jieba gives the same text, extended (not rebuilt) when texts are added, and stale (never
wrong) when the tokenizer changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from psycopg.rows import dict_row

from indexing import token_store
from indexing.token_store import TOKENS_MANIFEST, TokenStore, load_or_extend
from indexing.vector_cache import text_hash
from models.text import tokenize

TEXTS = ["数控机床维修与保养", "Software testing and 软件开发", "", "工业机器人运维工程师"]


def _pairs(texts: list[str]) -> list[tuple[bytes, str]]:
    return [(text_hash(t), t) for t in texts]


def test_tokens_come_back_by_text_hash_exactly(tmp_path: Path) -> None:
    calls: list[int] = []

    def texts() -> list[tuple[bytes, str]]:
        calls.append(1)
        return _pairs(TEXTS)

    hashes = np.array([h for h, _ in _pairs(TEXTS)], dtype="S8")
    store = load_or_extend(tmp_path, hashes, texts, tokenize)
    assert calls == [1] and len(store) == len(TEXTS)
    for t in TEXTS:
        assert store.get(text_hash(t)) == tokenize(t)
    assert store.get(text_hash("没有存过的文本")) is None
    # a second load maps the folder back and reads no text
    again = load_or_extend(tmp_path, hashes, texts, tokenize)
    assert calls == [1] and isinstance(again.tokens.base, np.memmap)
    assert [again.get(text_hash(t)) for t in TEXTS] == [tokenize(t) for t in TEXTS]


def test_new_texts_extend_the_store_and_known_ones_are_not_tokenized_again(
    tmp_path: Path,
) -> None:
    seen: list[str] = []

    def counting(text: str) -> list[str]:
        seen.append(text)
        return tokenize(text)

    first = TEXTS[:2]
    load_or_extend(
        tmp_path, np.array([text_hash(t) for t in first], "S8"), lambda: _pairs(first), counting
    )
    assert seen == first
    seen.clear()
    more = TEXTS
    store = load_or_extend(
        tmp_path, np.array([text_hash(t) for t in more], "S8"), lambda: _pairs(more), counting
    )
    assert seen == TEXTS[2:]  # only the texts it lacked
    assert [store.get(text_hash(t)) for t in more] == [tokenize(t) for t in more]


def test_a_hash_ending_in_a_nul_byte_is_found(tmp_path: Path) -> None:
    # numpy's fixed-width bytes drop trailing NULs; the store compares hashes as it holds them
    pairs = [(b"abcdefg\x00", ["数控"]), (b"\x00" * 8, ["机器人"]), (b"zzzzzzzz", [])]
    store = TokenStore.build(pairs)
    store.save(tmp_path, "k")
    loaded = TokenStore.load(tmp_path, "k")
    assert loaded is not None
    for h, tokens in pairs:
        assert store.get(h) == tokens and loaded.get(h) == tokens
    assert not loaded.missing(np.array([h for h, _ in pairs], "S8")).any()


def test_another_tokenizer_or_a_damaged_folder_is_stale_not_wrong(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashes = np.array([text_hash(t) for t in TEXTS], "S8")
    load_or_extend(tmp_path, hashes, lambda: _pairs(TEXTS), lambda t: ["旧分词"])
    monkeypatch.setattr(token_store, "tokenizer_key", lambda: "another tokenizer")
    store = load_or_extend(tmp_path, hashes, lambda: _pairs(TEXTS), tokenize)
    assert [store.get(text_hash(t)) for t in TEXTS] == [tokenize(t) for t in TEXTS]
    (tmp_path / "tokens.npy").write_bytes(b"damaged")
    assert TokenStore.load(tmp_path, "another tokenizer") is None
    assert (tmp_path / TOKENS_MANIFEST).exists()
    store = load_or_extend(tmp_path, hashes, lambda: _pairs(TEXTS), tokenize)
    assert store.get(text_hash(TEXTS[0])) == tokenize(TEXTS[0])


def test_the_engine_answers_stored_subjects_with_stored_tokens(
    clean_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A loaded engine has every stored subject's tokens; a request from one runs no jieba,
    and the tokens are jieba's; a text it has not stored is tokenized on demand."""
    from service.recommendations import engine as engine_module
    from service.recommendations import service as svc
    from service.recommendations.engine import Engine
    from service.recommendations.state import subject_texts
    from tests.service.recommendations.world import build

    w = build(clean_db)
    with psycopg.connect(clean_db, row_factory=dict_row) as conn:
        engine = Engine.load(
            conn, encoder_name="hash-64", index_dir=tmp_path / "idx", ranker_dir=tmp_path / "r"
        )
        pairs = subject_texts(conn)
        need = svc._need_subject(conn, w["N1"])
    assert engine.subject_tokens is not None and pairs
    for h, text in pairs:
        assert engine.subject_tokens.get(h) == tokenize(text)

    def no_jieba(*_: Any, **__: Any) -> list[str]:
        raise AssertionError("a stored subject's query was tokenized at request time")

    with monkeypatch.context() as m:
        m.setattr(engine_module, "tokenize", no_jieba)
        assert engine.query_tokens(need.query_text) == tokenize(need.query_text)
    assert engine.query_tokens(need.query_text + "（补充）") == tokenize(
        need.query_text + "（补充）"
    )
