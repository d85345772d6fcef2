"""Official codes: GB 32100-2015 unified social credit codes and major (专业) codes."""

from __future__ import annotations

import csv
import random
import re
from functools import lru_cache
from pathlib import Path

CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_SHAPE = re.compile(r"^[0-9A-HJ-NP-RTUW-Y]{2}[0-9]{6}[0-9A-HJ-NP-RTUW-Y]{10}$")
MAJOR_CODE_SHAPE = re.compile(r"^[0-9]{6,7}[TK]{0,2}$")
MAJORS_CSV = Path(__file__).resolve().parent.parent / "data" / "reference" / "majors.csv"


def credit_check_char(first17: str) -> str:
    total = sum(
        CREDIT_ALPHABET.index(ch) * w for ch, w in zip(first17, CREDIT_WEIGHTS, strict=True)
    )
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """None if `code` is a valid credit code, else the reason in Chinese (for row reports)."""
    if len(code) != 18:
        return f"统一社会信用代码应为18位，实际{len(code)}位"
    if not _CREDIT_SHAPE.match(code):
        return "统一社会信用代码含非法字符（不得含 I、O、S、V、Z 或小写字母）"
    if credit_check_char(code[:17]) != code[17]:
        return "统一社会信用代码校验位错误"
    return None


def is_valid_credit_code(code: str) -> bool:
    return credit_code_problem(code) is None


def make_credit_code(rng: random.Random, region_code: str = "410100") -> str:
    """An invented but checksum-valid code: 9 (enterprise) 1 (company), region, 9-char body."""
    body = "".join(rng.choice(CREDIT_ALPHABET) for _ in range(8)) + rng.choice("0123456789")
    first17 = "91" + region_code + body
    return first17 + credit_check_char(first17)


@lru_cache(maxsize=1)
def major_catalogue() -> dict[str, tuple[str, str]]:
    """Official major code → (name, level) from the shipped catalogue (本科 2024, 职教 2022)."""
    with MAJORS_CSV.open(encoding="utf-8") as f:
        return {r["major_code"]: (r["major_name"], r["level"]) for r in csv.DictReader(f)}


def major_code_problem(code: str) -> str | None:
    if not MAJOR_CODE_SHAPE.match(code):
        return "专业代码应为6位数字（本科可带T/K后缀，如 080910T）"
    if code not in major_catalogue():
        return f"专业代码 {code} 不在专业目录中"
    return None
