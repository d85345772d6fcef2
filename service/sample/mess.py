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


def pdf_spaces(text: str, rng: random.Random, share: float = 0.35) -> str:
    """Spaces between some CJK characters, as text copied out of a PDF has (`智 能 制 造`)."""
    out: list[str] = []
    for i, ch in enumerate(text):
        out.append(ch)
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if "\u4e00" <= ch <= "\u9fff" and "\u4e00" <= nxt <= "\u9fff" and rng.random() < share:
            out.append(" ")
    return "".join(out)


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
