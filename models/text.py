"""Text normalisation and tokenisation for Chinese-first retrieval.

``normalize`` repairs what PDF extraction and mixed keyboards do to Chinese text: full-width
ASCII is folded (NFKC), punctuation variants are unified, and spaces that sit between CJK
characters are removed (``从事 体 育 学`` → ``从事体育学``), while spaces between Latin words stay.

``tokenize`` produces keyword-search terms: jieba search-mode words (with a domain user dictionary
of majors, occupations and industries shipped in ``data/retrieval/userdict.txt``), lower-cased and
Snowball-stemmed Latin words, and stop words / punctuation dropped.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import jieba

USERDICT_PATH = Path(__file__).resolve().parent.parent / "data" / "retrieval" / "userdict.txt"

_CJK = (
    r"\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
)
_CJK_PUNCT = r"\u3001-\u3003\u3008-\u3011\u3014-\u301f\uff01-\uff65\u2026\u00b7"
_SPACE = r"[ \t\u00a0]+"
_NEIGHBOUR = rf"[{_CJK}{_CJK_PUNCT}()\"]"
# A space between a CJK character and CJK/punctuation (either order) is PDF-extraction noise.
_CJK_SPACE_L = re.compile(rf"(?<=[{_CJK}{_CJK_PUNCT}]){_SPACE}(?={_NEIGHBOUR})")
_CJK_SPACE_R = re.compile(rf"(?<={_NEIGHBOUR}){_SPACE}(?=[{_CJK}{_CJK_PUNCT}])")
_WS = re.compile(r"\s+")
# ASCII clause marks after CJK text take the Chinese form (NFKC made them all ASCII first).
_ZH_PUNCT = re.compile(rf"(?<=[{_CJK}\)]) ?([,;:!?])(?![0-9])")
_TO_ZH = {",": "，", ";": "；", ":": "：", "!": "！", "?": "？"}

# Variants that NFKC keeps apart, mapped to one form each.
_PUNCT_MAP = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u300c": '"',
        "\u300d": '"',
        "\u300e": '"',
        "\u300f": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
        "\u3010": "(",
        "\u3011": ")",
        "\u3014": "(",
        "\u3015": ")",
        "\u3016": "(",
        "\u3017": ")",
        "\u2022": "·",
        "\u30fb": "·",
        "\uff61": "。",
        "\uff64": "、",
        "\u3000": " ",
    }
)


def normalize(text: str) -> str:
    """Return ``text`` normalised for display, embedding and keyword search.

    NFKC folds full-width ASCII (``ＡＩ１２３`` → ``AI123``); quotes, dashes and brackets are
    unified (``【】`` → ``()``, ``“”`` → ``"``, ``——`` → ``--``); ``,;:!?`` following Chinese text
    take the Chinese form; whitespace is collapsed and removed next to CJK characters and
    punctuation, but kept between Latin words. Idempotent.
    """
    if not text:
        return ""
    s = unicodedata.normalize("NFKC", text).translate(_PUNCT_MAP)
    s = _WS.sub(" ", s)
    s = _ZH_PUNCT.sub(lambda m: _TO_ZH[m.group(1)], s)
    s = _CJK_SPACE_L.sub("", s)
    s = _CJK_SPACE_R.sub("", s)
    return s.strip()


# --------------------------------------------------------------------------- tokenisation

_STOP_ZH = frozenset(
    [
        "的",
        "了",
        "和",
        "与",
        "及",
        "以及",
        "或",
        "等",
        "在",
        "对",
        "为",
        "是",
        "并",
        "其",
        "将",
        "从",
        "由",
        "于",
        "把",
        "被",
        "向",
        "中",
        "上",
        "下",
        "内",
        "之",
        "各",
        "所",
        "有",
        "这",
        "该",
        "此",
        "其他",
        "等等",
        "进行",
        "相关",
        "有关",
        "一定",
        "能够",
        "具有",
        "具备",
        "主要",
        "包括",
        "方面",
        "工作",
        "人员",
    ]
)
_STOP_EN = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "to",
        "was",
        "were",
        "which",
        "with",
        "such",
        "may",
        "other",
        "these",
        "this",
        "those",
        "also",
        "including",
        "includes",
        "e.g",
        "i.e",
        "etc",
    ]
)
_TOKEN_OK = re.compile(rf"[0-9A-Za-z{_CJK}]")
_LATIN_WORD = re.compile(r"^[0-9a-z][0-9a-z.+#\-']*$")

_jieba_lock = threading.Lock()
_jieba_ready = False


def _init_jieba() -> None:
    global _jieba_ready
    if _jieba_ready:
        return
    with _jieba_lock:
        if _jieba_ready:
            return
        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        if USERDICT_PATH.exists():
            jieba.load_userdict(str(USERDICT_PATH))
        _jieba_ready = True


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return _stemmer().stemWord(word)


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def _clean_tokens(raw: Iterable[str]) -> list[str]:
    out: list[str] = []
    for tok in raw:
        t = tok.strip().lower()
        if not t or not _TOKEN_OK.search(t):
            continue
        if _LATIN_WORD.match(t):
            t = t.strip(".'-")
            if not t or t in _STOP_EN or len(t) < 2 and not t.isdigit():
                continue
            out.append(_stem(t))
        elif t not in _STOP_ZH:
            out.append(t)
    return out


def tokenize(text: str, *, normalized: bool = False) -> list[str]:
    """Keyword-search terms of ``text`` (mixed Chinese/English).

    Chinese: jieba search mode with the domain dictionary, so ``计算机网络技术`` yields the whole
    name and its in-dictionary parts (``计算机``, ``网络``, ``技术`` …). English: lower-cased,
    stop words dropped, Snowball-stemmed (``Programs`` → ``program``). Punctuation is dropped.
    """
    return list(_tokenize_normalized(text if normalized else normalize(text)))


@lru_cache(maxsize=8192)
def _tokenize_normalized(s: str) -> tuple[str, ...]:
    # memoised: the same profile or query text is often tokenised twice (index + baseline)
    _init_jieba()
    return tuple(_clean_tokens(jieba.cut_for_search(s, HMM=True)))


def tokenize_many(texts: Iterable[str], *, normalized: bool = False) -> list[list[str]]:
    """``tokenize`` over many texts."""
    return [tokenize(t, normalized=normalized) for t in texts]


def char_ngrams(text: str, n: int = 2) -> list[str]:
    """Overlapping CJK character n-grams of ``text`` (Latin runs are skipped).

    Used as extra keyword terms: they match where word segmentation disagrees between query
    and document (``数控加工`` vs ``数控 加工``).
    """
    grams: list[str] = []
    for run in re.findall(rf"[{_CJK}]+", text):
        grams.extend(run[i : i + n] for i in range(len(run) - n + 1))
    return grams
