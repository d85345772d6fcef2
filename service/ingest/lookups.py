"""Resolve references in cells (region, park, school, bureau, enterprise) to database ids.

Small tables (regions, parks, schools, bureaus) are loaded once into dicts keyed by the folded
name / code. Enterprises can number a million, so they are fetched per chunk of rows
(`prefetch_enterprises`) and cached in a bounded dict.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from rapidfuzz import fuzz, process

from service.ingest import repository
from service.ingest.values import fold

_SUFFIX = re.compile(r"(省|市|区|县|自治县|自治州|地区|盟|旗)$")
_BUREAU_SUFFIX = re.compile(r"(教育局|教育体育局|教体局|教育和体育局|教育委员会|教委)$")
ENTERPRISE_CACHE_MAX = 200_000
REGION_CACHE_MAX = 10_000
SUGGEST_MAX = 3  # closest names offered when a name is not found
SUGGEST_CUTOFF = 55  # rapidfuzz WRatio
ENTERPRISE_SUGGEST_QUERIES = 500  # per import: a file of unknown names costs bounded queries


@dataclass(frozen=True)
class Ref:
    """A resolved party: its id, and region (used to default a practice base's region)."""

    type: str
    id: int
    region_id: int | None = None


Found = tuple[Ref | None, str | None]


class Lookups:
    def __init__(
        self, conn: psycopg.Connection[Any], in_scope: Callable[[str | None], bool] | None = None
    ) -> None:
        """`in_scope(region_path)`: which parties' names may be suggested to this importer
        (the access policy's region check; None = all)."""
        self.conn = conn
        self._in_scope = in_scope or (lambda path: True)
        self._regions: dict[str, set[int]] = {}
        self._region_codes: dict[str, int] = {}
        self._region_paths: dict[int, str] = {}
        self._names: dict[str, list[tuple[str, int | None]]] = {}  # kind → (name, region_id)
        self._suggest_queries = 0
        for r in repository.regions(conn):
            self._region_codes[r["code"]] = r["id"]
            self._region_paths[r["id"]] = r["path"]
            for key in _region_keys(r["names"]):
                self._regions.setdefault(key, set()).add(r["id"])
        parks, schools, bureaus = (
            repository.parks(conn),
            repository.schools(conn),
            repository.bureaus(conn),
        )
        for kind, rows in (("park", parks), ("school", schools), ("bureau", bureaus)):
            self._names[kind] = [(r["name"], r.get("region_id")) for r in rows]
        self._parks = _index(parks, "park", codes=False)
        self._schools = _index(schools, "school", codes=True)
        self._bureaus = _index(bureaus, "bureau", codes=False)
        self._bureau_by_region: dict[int, set[int]] = {}
        for b in bureaus:
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
    def suggest(self, text: str, kinds: Iterable[str]) -> list[str]:
        """The closest names of these kinds (park, school, bureau, enterprise) that the
        importer may see, best first."""
        pool: dict[str, str] = {}
        for kind in kinds:
            rows = self._names.get(kind, [])
            if kind == "enterprise":
                if self._suggest_queries >= ENTERPRISE_SUGGEST_QUERIES:
                    continue
                self._suggest_queries += 1
                rows = [
                    (r["name"], r["region_id"])
                    for r in repository.enterprises_like(self.conn, text)
                ]
            for name, region_id in rows:
                if self._in_scope(self._region_paths.get(region_id or -1)):
                    pool.setdefault(fold(name), name)
        found = process.extract(
            fold(text),
            list(pool),
            scorer=fuzz.WRatio,
            limit=SUGGEST_MAX,
            score_cutoff=SUGGEST_CUTOFF,
        )
        return [pool[key] for key, _, _ in found]

    def hint(self, text: str, kinds: Iterable[str]) -> str:
        names = self.suggest(text, kinds)
        return f"；最接近的名称：{'、'.join(names)}" if names else ""

    def _hinted(self, found: Found, text: str, kind: str, suggest: bool) -> Found:
        if found[0] is None and suggest and found[1] and "重名" not in found[1]:
            return None, found[1] + self.hint(text, [kind])
        return found

    def park(self, text: str, *, suggest: bool = True) -> Found:
        return self._hinted(_one(self._parks, text, "产业园区"), text, "park", suggest)

    def school(self, text: str, *, suggest: bool = True) -> Found:
        found = _one(self._schools, text, "学校", hint="（可填学校代码或全称）")
        return self._hinted(found, text, "school", suggest)

    def bureau(self, text: str, *, suggest: bool = True) -> Found:
        found, problem = self._bureau(text)
        return self._hinted((found, problem), text, "bureau", suggest)

    def _bureau(self, text: str) -> Found:
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
        folded = {fold(v) for v in wanted}
        # the same name with full-width brackets, as most registers write them
        wide = {f.replace("(", "（").replace(")", "）") for f in folded}
        probes = wanted | folded | wide | {f.upper() for f in folded}
        for r in repository.enterprises_matching(self.conn, sorted(probes)):
            ref = Ref("enterprise", r["id"], r["region_id"])
            self._ent_codes[r["credit_code"]] = ref
            self._ent_names.setdefault(fold(r["name"]), set()).add(ref)
        self._ent_asked |= wanted

    def enterprise(self, text: str, *, suggest: bool = True) -> Found:
        """By credit code or exact name; `prefetch_enterprises` must have seen `text`."""
        if text.strip() not in self._ent_asked:
            self.prefetch_enterprises([text])
        key = fold(text)
        ref = self._ent_codes.get(key.upper())
        if ref is not None:
            return ref, None
        refs = self._ent_names.get(key)
        if not refs:
            problem = f"未找到企业「{text}」（按统一社会信用代码或企业全称匹配）"
            return self._hinted((None, problem), text, "enterprise", suggest)
        if len(refs) > 1:
            return None, f"企业名称「{text}」对应多家企业，请改填统一社会信用代码"
        return next(iter(refs)), None

    def school_or_enterprise(self, text: str) -> Found:
        found, _ = self.school(text, suggest=False)
        if found is not None:
            return found, None
        found, _ = self.enterprise(text, suggest=False)
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
