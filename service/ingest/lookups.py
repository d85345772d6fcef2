"""Resolve references in cells (region, park, school, bureau, enterprise) to database ids.

Small tables (regions, parks, schools, bureaus) are loaded once into dicts keyed by the folded
name / code. Enterprises can number a million, so they are fetched per chunk of rows
(`prefetch_enterprises`) and cached in a bounded dict.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg

from service.ingest import repository
from service.ingest.values import fold

_SUFFIX = re.compile(r"(省|市|区|县|自治县|自治州|地区|盟|旗)$")
_BUREAU_SUFFIX = re.compile(r"(教育局|教育体育局|教体局|教育和体育局|教育委员会|教委)$")
ENTERPRISE_CACHE_MAX = 200_000
REGION_CACHE_MAX = 10_000


@dataclass(frozen=True)
class Ref:
    """A resolved party: its id, and region (used to default a practice base's region)."""

    type: str
    id: int
    region_id: int | None = None


Found = tuple[Ref | None, str | None]


class Lookups:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self._regions: dict[str, set[int]] = {}
        self._region_codes: dict[str, int] = {}
        for r in repository.regions(conn):
            self._region_codes[r["code"]] = r["id"]
            for key in _region_keys(r["names"]):
                self._regions.setdefault(key, set()).add(r["id"])
        self._parks = _index(repository.parks(conn), "park", codes=False)
        self._schools = _index(repository.schools(conn), "school", codes=True)
        self._bureaus = _index(repository.bureaus(conn), "bureau", codes=False)
        self._bureau_by_region: dict[int, set[int]] = {}
        for b in repository.bureaus(conn):
            self._bureau_by_region.setdefault(b["region_id"], set()).add(b["id"])
        self._ent_codes: dict[str, Ref] = {}
        self._ent_names: dict[str, set[Ref]] = {}
        self._ent_asked: set[str] = set()
        self._region_cache: dict[str, tuple[int | None, str | None]] = {}

    # ------------------------------------------------------------ regions
    def region(self, text: str) -> tuple[int | None, str | None]:
        found = self._region_cache.get(text)
        if found is None:
            if len(self._region_cache) > REGION_CACHE_MAX:  # a file of ever-new garbage
                self._region_cache.clear()
            found = self._region_cache[text] = self._region(text)
        return found

    def _region(self, text: str) -> tuple[int | None, str | None]:
        key = fold(text)
        if key in self._region_codes:
            return self._region_codes[key], None
        ids = self._regions.get(key)
        if not ids:
            return None, (
                f"未知地区「{text}」（可填区划代码或名称，如 410105、金水区、郑州市金水区）"
            )
        if len(ids) > 1:
            return None, f"地区「{text}」有重名，请写全称（如 河南省郑州市金水区）或区划代码"
        return next(iter(ids)), None

    def region_of_credit_code(self, code: str) -> int | None:
        """The division code inside a credit code (chars 3–8), else its city or province."""
        division = code[2:8]
        for candidate in (division, division[:4] + "00", division[:2] + "0000"):
            if candidate in self._region_codes:
                return self._region_codes[candidate]
        return None

    # ------------------------------------------------------------ small tables
    def park(self, text: str) -> Found:
        return _one(self._parks, text, "产业园区")

    def school(self, text: str) -> Found:
        return _one(self._schools, text, "学校", hint="（可填学校代码或全称）")

    def bureau(self, text: str) -> Found:
        found, problem = _one(self._bureaus, text, "教育行政部门")
        if found is not None or "重名" in (problem or ""):
            return found, problem
        # 郑州市教育局 → the one bureau of the region named 郑州市.
        stem = _BUREAU_SUFFIX.sub("", fold(text))
        if stem != fold(text):
            region_id, _ = self.region(stem)
            ids = self._bureau_by_region.get(region_id or -1, set())
            if len(ids) == 1:
                return Ref("bureau", next(iter(ids)), region_id), None
        return None, problem

    def is_park(self, text: str) -> bool:
        return fold(text) in self._parks

    def is_school(self, text: str) -> bool:
        return fold(text) in self._schools or fold(text).upper() in self._schools

    # ------------------------------------------------------------ enterprises
    def prefetch_enterprises(self, values: Iterable[str]) -> None:
        wanted = {v.strip() for v in values if v and v.strip()} - self._ent_asked
        if not wanted:
            return
        if len(self._ent_asked) > ENTERPRISE_CACHE_MAX:
            self._ent_codes.clear()
            self._ent_names.clear()
            self._ent_asked.clear()
        probes = wanted | {fold(v) for v in wanted} | {fold(v).upper() for v in wanted}
        for r in repository.enterprises_matching(self.conn, sorted(probes)):
            ref = Ref("enterprise", r["id"], r["region_id"])
            self._ent_codes[r["credit_code"]] = ref
            self._ent_names.setdefault(fold(r["name"]), set()).add(ref)
        self._ent_asked |= wanted

    def enterprise(self, text: str) -> Found:
        """By credit code or exact name; `prefetch_enterprises` must have seen `text`."""
        if text.strip() not in self._ent_asked:
            self.prefetch_enterprises([text])
        key = fold(text)
        ref = self._ent_codes.get(key.upper())
        if ref is not None:
            return ref, None
        refs = self._ent_names.get(key)
        if not refs:
            return None, f"未找到企业「{text}」（按统一社会信用代码或企业全称匹配）"
        if len(refs) > 1:
            return None, f"企业名称「{text}」对应多家企业，请改填统一社会信用代码"
        return next(iter(refs)), None

    def school_or_enterprise(self, text: str) -> Found:
        found, _ = self.school(text)
        if found is not None:
            return found, None
        found, _ = self.enterprise(text)
        if found is not None:
            return found, None
        return None, f"未找到单位「{text}」（应为已有学校或企业的全称、代码）"


def _region_keys(names: list[str]) -> set[str]:
    """Every way to write a region: 金水区, 金水, 郑州市金水区, 河南省郑州市金水区, 郑州金水区 …
    `names` runs from the province down to the region itself."""
    keys: set[str] = set()
    for start in range(len(names)):
        chain = names[start:]
        full = "".join(fold(n) for n in chain)
        short = "".join(_SUFFIX.sub("", fold(n)) or fold(n) for n in chain)
        keys |= {full, short}
        # mixed: short ancestors, full self (郑州金水区)
        keys.add("".join(_SUFFIX.sub("", fold(n)) for n in chain[:-1]) + fold(chain[-1]))
    return {k for k in keys if k}


def _index(rows: Iterable[dict], kind: str, *, codes: bool) -> dict[str, set[Ref]]:
    out: dict[str, set[Ref]] = {}
    for r in rows:
        ref = Ref(kind, r["id"], r.get("region_id"))
        out.setdefault(fold(r["name"]), set()).add(ref)
        if codes and r.get("code"):
            out.setdefault(fold(r["code"]).upper(), set()).add(ref)
    return out


def _one(index: dict[str, set[Ref]], text: str, what: str, hint: str = "") -> Found:
    key = fold(text)
    refs = index.get(key) or index.get(key.upper())
    if not refs:
        return None, f"未找到{what}「{text}」{hint}"
    if len(refs) > 1:
        return None, f"{what}「{text}」有重名，请写代码或全称"
    return next(iter(refs)), None
