"""Deliberate mess of real-world files: PDF spaces, full-width characters, name variants.

The mess is only ever in text: every row stays valid for the importer.
"""

from __future__ import annotations

import random

_FULLWIDTH = {
    c: chr(ord(c) + 0xFEE0)
    for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
}
_FW_TABLE = str.maketrans(_FULLWIDTH)
PDF_SPAN = 160


def pdf_spaces(text: str, rng: random.Random, share: float = 0.35) -> str:
    """Spaces between some CJK characters, as text copied out of a PDF has (`智 能 制 造`)."""
    head, tail = text[:PDF_SPAN], text[PDF_SPAN:]  # a messy stretch is enough, and cheaper
    if len(head) < 2:
        return text
    gaps = rng.sample(range(1, len(head)), max(1, int((len(head) - 1) * share)))
    chars = list(head)
    for i in gaps:
        if _cjk(head[i - 1]) and _cjk(head[i]):
            chars[i] = " " + chars[i]
    return "".join(chars) + tail


def _cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def fullwidth(text: str) -> str:
    """ASCII letters and digits in their full-width forms (`ISO9001` → `ＩＳＯ９００１`)."""
    return text.translate(_FW_TABLE)


def is_messy(text: str) -> bool:
    return any("\uff10" <= c <= "\uff5a" for c in text) or any(
        "\u4e00" <= a <= "\u9fff" and b == " " and "\u4e00" <= c <= "\u9fff"
        for a, b, c in zip(text, text[1:], text[2:], strict=False)
    )


def name_variant(core: str, province: str, industry_word: str, rng: random.Random) -> str:
    """Another registration of the 'same' company: 股份 vs 有限, or （河南） moved inside."""
    pick = rng.randrange(3)
    if pick == 0:
        return f"{province}{core}{industry_word}股份有限公司"
    if pick == 1:
        return f"{core}{industry_word}（{province}）有限公司"
    return f"{province}省{core}{industry_word}有限公司"
