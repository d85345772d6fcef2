"""Duplicate enterprise records: the same company entered twice under name variants.

Two records are one entity when they share a credit code, or when their names reduce to the same
core (region prefixes, legal-form suffixes and bracketed regions removed) and the full names are
near-identical by rapidfuzz. Records are blocked by core name, so this stays linear at 1M rows.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz

from models.text import normalize

_LEGAL_FORMS = re.compile(
    r"(股份有限公司|有限责任公司|有限公司|集团公司|集团|股份公司|公司|厂|合作社|研究院|研究所)$"
)
_BRACKETED = re.compile(r"[（(][^（()）]{1,12}[)）]")
_PROVINCE = re.compile(r"^(河南省|河南)")
_CITY = re.compile(r"^[\u4e00-\u9fff]{2,3}(市|县|区)")


def name_core(name: str) -> str:
    """'河南中原智能装备股份有限公司' → '中原智能装备'; '中原智能装备（河南）有限公司' → same."""
    s = normalize(name).replace(" ", "")
    s = _BRACKETED.sub("", s)
    for _ in range(2):
        s = _LEGAL_FORMS.sub("", s)
    s = _PROVINCE.sub("", s)
    s = _CITY.sub("", s)
    return s


@dataclass(frozen=True)
class EnterpriseRecord:
    id: int
    name: str
    credit_code: str
    city: str = ""  # city region code: different cities with the same core name are different firms


def duplicate_clusters(
    records: Iterable[EnterpriseRecord], threshold: float = 90.0, max_block: int = 60
) -> list[list[int]]:
    """Groups of ids (size ≥ 2, each sorted; the smallest id is the canonical record).

    Same credit code → same entity. Otherwise records are blocked by (city, first two characters
    of the core name) and compared by rapidfuzz ratio of the cores; oversized blocks fall back to
    exact core equality so the cost stays linear.
    """
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    by_code: dict[str, int] = {}
    blocks: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for r in records:
        if r.credit_code in by_code:
            union(by_code[r.credit_code], r.id)
        else:
            by_code[r.credit_code] = r.id
        core = name_core(r.name)
        if len(core) >= 2:
            blocks[(r.city, core[:2])].append((r.id, core))
    for members in blocks.values():
        if len(members) < 2:
            continue
        if len(members) > max_block:
            by_core: dict[str, int] = {}
            for rid, core in members:
                if core in by_core:
                    union(by_core[core], rid)
                else:
                    by_core[core] = rid
            continue
        for i, (id_a, core_a) in enumerate(members):
            for id_b, core_b in members[i + 1 :]:
                if core_a == core_b or fuzz.ratio(core_a, core_b) >= threshold:
                    union(id_a, id_b)
    clusters: dict[int, list[int]] = defaultdict(list)
    for x in list(parent):
        clusters[find(x)].append(x)
    return sorted(sorted(c) for c in clusters.values() if len(c) > 1)
