"""Coverage of leading industries by schools, against the seed-004 quotas.

An industry (GB/T 4754 division) is served by a school when the school, or one of its programmes,
has an active partnership with an enterprise of that division. Quotas: each industry 5–10
schools, each school 2–3 industries (the maxima come from Settings).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from models.graph import PartnershipGraph

MIN_SCHOOLS_PER_INDUSTRY = 5
MIN_INDUSTRIES_PER_SCHOOL = 2


def status(n: int, low: int, high: int) -> str:
    return "under" if n < low else ("over" if n > high else "ok")


@dataclass
class Coverage:
    divisions: list[str]
    rows: list[dict[str, Any]]  # school, cells {division: enterprises}, industries, status
    schools_per_division: dict[str, int]  # province-wide: the quota is province-wide
    division_status: dict[str, str]
    max_cell: int
    summary: dict[str, int] = field(default_factory=dict)


def counts_by_school(g: PartnershipGraph) -> dict[int, dict[str, int]]:
    """school id → division → number of partner enterprises of that division."""
    out: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for u, v in g.graph.edges():
        for a, b in ((u, v), (v, u)):
            if a[0] != "enterprise" or b[0] not in ("school", "programme"):
                continue
            school = g.school_of(b)
            if school is None:
                continue
            for d in g.industries_of.get(a[1], frozenset()):
                out[school][d] += 1
    return out


def build(
    g: PartnershipGraph,
    schools: list[dict[str, Any]],
    *,
    max_industries: int,
    max_schools: int,
    only_active: bool = True,
) -> Coverage:
    per_school = counts_by_school(g)
    per_division: dict[str, int] = defaultdict(int)
    for served in per_school.values():
        for d in served:
            per_division[d] += 1
    rows: list[dict[str, Any]] = []
    for s in schools:
        cells: dict[str, int] = dict(per_school.get(int(s["id"]), {}))
        if only_active and not cells:
            continue
        n = len(cells)
        rows.append(
            {
                "school": s,
                "cells": cells,
                "industries": n,
                "status": status(n, MIN_INDUSTRIES_PER_SCHOOL, max_industries),
            }
        )
    divisions = sorted({d for r in rows for d in r["cells"]})
    div_status = {
        d: status(per_division[d], MIN_SCHOOLS_PER_INDUSTRY, max_schools) for d in divisions
    }
    summary = {
        "schools": len(rows),
        "schools_under": sum(r["status"] == "under" for r in rows),
        "schools_over": sum(r["status"] == "over" for r in rows),
        "divisions": len(divisions),
        "divisions_under": sum(v == "under" for v in div_status.values()),
        "divisions_over": sum(v == "over" for v in div_status.values()),
    }
    max_cell = max((c for r in rows for c in r["cells"].values()), default=0)
    return Coverage(divisions, rows, dict(per_division), div_status, max_cell, summary)
