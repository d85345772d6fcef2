"""Read-only access to the shipped reference data the sample generator draws from."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from service.config import REPO_ROOT
from service.sample.vocab import DIVISION_OCCUPATION_WORDS, industries_for_class

DATA = REPO_ROOT / "data"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: str
    parent_code: str

    @property
    def short(self) -> str:
        """郑州市 → 郑州, 中牟县 → 中牟, 管城回族区 → 管城 (for names built from the region)."""
        name = self.name.replace("回族区", "区")
        return name[:-1] if len(name) > 2 and name[-1] in "市县区" else name


@lru_cache(maxsize=1)
def regions() -> dict[str, Region]:
    return {
        r["code"]: Region(r["code"], r["name"], r["level"], r["parent_code"])
        for r in _rows(DATA / "reference" / "regions.csv")
    }


def cities() -> list[Region]:
    return [r for r in regions().values() if r.level == "city"]


def counties_of(city_code: str) -> list[Region]:
    return [r for r in regions().values() if r.parent_code == city_code]


@dataclass(frozen=True)
class Industry:
    code: str
    name: str
    level: str
    parent_code: str


@lru_cache(maxsize=1)
def industries() -> dict[str, Industry]:
    return {
        r["code"]: Industry(r["code"], r["name"], r["level"], r["parent_code"])
        for r in _rows(DATA / "reference" / "industries.csv")
    }


@lru_cache(maxsize=1)
def classes_by_division() -> dict[str, list[Industry]]:
    """Division (2 digits) → its 4-digit classes."""
    out: dict[str, list[Industry]] = {}
    for ind in industries().values():
        if ind.level == "class":
            out.setdefault(ind.code[:2], []).append(ind)
    return out


@dataclass(frozen=True)
class Major:
    code: str
    name: str
    level: str  # 本科 / 职教本科 / 高职专科 / 中职
    class_name: str
    industries: tuple[str, ...]  # GB/T 4754 divisions it serves
    profile: str  # description text from the catalogue


@lru_cache(maxsize=1)
def majors() -> dict[str, list[Major]]:
    """Level → majors of that level, with profile text built from the real catalogue."""
    out: dict[str, list[Major]] = {}
    for r in _rows(DATA / "catalogs" / "vocational_majors.csv"):
        profile = "".join(
            p
            for p in (
                r["career_orientation"],
                r["training_goal"],
                f"主要能力：{r['abilities']}" if r["abilities"] else "",
                f"核心课程：{r['core_courses']}" if r["core_courses"] else "",
            )
            if p
        )
        out.setdefault(r["level"], []).append(
            Major(
                r["major_code"],
                r["major_name"],
                r["level"],
                r["class_name"],
                industries_for_class(r["class_name"], r["major_name"]),
                profile,
            )
        )
    for r in _rows(DATA / "catalogs" / "undergrad_majors.csv"):
        profile = (
            f"{r['major_name']}专业属{r['discipline']}门类{r['class_name']}，"
            f"学制{r['years']}，授予{r['degree']}学士学位。"
        )
        out.setdefault("本科", []).append(
            Major(
                r["major_code"],
                r["major_name"],
                "本科",
                r["class_name"],
                industries_for_class(r["class_name"], r["major_name"]),
                profile,
            )
        )
    return out


@dataclass(frozen=True)
class University:
    code: str
    name: str
    city: str
    level: str  # 本科 / 专科
    remarks: str


@lru_cache(maxsize=1)
def universities() -> list[University]:
    return [
        University(r["code"], r["name"], r["city"], r["level"], r["remarks"])
        for r in _rows(DATA / "catalogs" / "henan_universities.csv")
    ]


@dataclass(frozen=True)
class Occupation:
    code: str
    name: str
    definition: str
    tasks: str


@lru_cache(maxsize=1)
def occupations() -> list[Occupation]:
    return [
        Occupation(r["code"], r["name"], r["definition"], r["tasks"])
        for r in _rows(DATA / "catalogs" / "occupations.csv")
    ]


@lru_cache(maxsize=1)
def occupations_by_division() -> dict[str, list[Occupation]]:
    """Division → occupations whose name or definition mentions the division's words."""
    occs = occupations()
    out: dict[str, list[Occupation]] = {}
    for division, words in DIVISION_OCCUPATION_WORDS.items():
        hits = [o for o in occs if any(w in o.name or w in o.definition for w in words)]
        if hits:
            out[division] = hits
    return out


def production_occupations() -> list[Occupation]:
    """Fallback for divisions without a keyword match: production and technical occupations."""
    return [o for o in occupations() if o.code.startswith(("6-", "2-02"))]
