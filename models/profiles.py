"""Profile texts: what each entity 'says' to the encoder and the keyword index."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from models.text import normalize

INDUSTRIES_CSV = Path(__file__).resolve().parent.parent / "data" / "reference" / "industries.csv"

NEED_KIND_ZH = {
    "talent": "人才需求",
    "technology": "技术需求",
    "training": "培训需求",
    "practice_base": "实践基地需求",
    "mentor": "导师需求",
}


@lru_cache(maxsize=1)
def industry_names() -> dict[str, str]:
    """GB/T 4754 code → name (sections, divisions, groups, classes)."""
    if not INDUSTRIES_CSV.exists():
        return {}
    with INDUSTRIES_CSV.open(encoding="utf-8") as f:
        return {r["code"]: r["name"] for r in csv.DictReader(f)}


def industry_label(code: str) -> str:
    names = industry_names()
    digits = "".join(ch for ch in code if ch.isdigit())
    for key in (code, digits, digits[:3], digits[:2]):
        if key and key in names:
            return names[key]
    return ""


def _industries(codes: Iterable[str]) -> str:
    return "、".join(n for n in (industry_label(c) for c in codes or []) if n)


def _join(*parts: str | None) -> str:
    return normalize("。".join(p.strip() for p in parts if p and p.strip()))


def enterprise_text(row: Mapping[str, Any], needs: Iterable[str] = ()) -> str:
    return _join(
        row.get("name"),
        _industries(row.get("industry_codes") or []),
        row.get("description"),
        "；".join(needs),
    )


def programme_text(row: Mapping[str, Any]) -> str:
    return _join(
        row.get("name"),
        row.get("school_name"),
        row.get("level"),
        _industries(row.get("industries") or []),
        row.get("description"),
    )


def mentor_text(row: Mapping[str, Any]) -> str:
    return _join(
        row.get("name"),
        row.get("title"),
        "、".join(row.get("fields") or []),
        row.get("description"),
        row.get("affiliation_name"),
    )


def practice_base_text(row: Mapping[str, Any]) -> str:
    return _join(
        row.get("name"),
        "、".join(row.get("fields") or []),
        row.get("description"),
        row.get("host_name"),
    )


def need_text(row: Mapping[str, Any]) -> str:
    return _join(
        NEED_KIND_ZH.get(str(row.get("kind")), ""), row.get("title"), row.get("description")
    )


def school_query_text(school: Mapping[str, Any], programmes: Iterable[Mapping[str, Any]]) -> str:
    """A school asks with its programmes' names and industries (its strengths)."""
    progs = list(programmes)
    names = "、".join(str(p["name"]) for p in progs[:30])
    inds = _industries(sorted({c for p in progs for c in (p.get("industries") or [])})[:12])
    return _join(school.get("name"), names, inds, school.get("description"))


def park_query_text(park: Mapping[str, Any]) -> str:
    return _join(
        park.get("name"), _industries(park.get("leading_industries") or []), park.get("description")
    )
