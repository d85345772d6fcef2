"""The sample's leading industries (主导产业) per city and for the province (issue 13).

Each city's list is its first chains in vocab.CITY_CHAINS (the cities' published priorities),
each chain contributing its first one or two GB/T 4754 divisions, named '<chain>·<division>'.
The province's list is the chains that lead in at least three cities.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg

from models.profiles import industry_label
from service.sample.formats import LEADING_INDUSTRIES
from service.sample.vocab import CHAINS, CITY_CHAINS

PROVINCE = "410000"


def _items(chains: tuple[str, ...], per_chain: int) -> list[tuple[str, str]]:
    seen: set[str] = set()
    out = []
    for chain in chains:
        for d in CHAINS[chain][:per_chain]:
            if d not in seen:
                seen.add(d)
                out.append((d, f"{chain}·{industry_label(d) or d}"))
    return out


def rows() -> list[dict[str, Any]]:
    out = []
    for city, chains in CITY_CHAINS.items():
        for code, name in _items(chains[:5], 2)[:8]:
            out.append({"region_code": city, "code": code, "name": name})
    leading = Counter(c for chains in CITY_CHAINS.values() for c in chains[:4])
    province = tuple(c for c, n in leading.most_common() if n >= 3)
    for code, name in _items(province, 1):
        out.append({"region_code": PROVINCE, "code": code, "name": name})
    return out


def load(conn: psycopg.Connection[Any], path: Path) -> int:
    """Replace the lists of the regions in the file (rank = order in the file)."""
    with path.open(encoding=LEADING_INDUSTRIES.encoding, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        fields = dict(zip(LEADING_INDUSTRIES.headers, LEADING_INDUSTRIES.fields, strict=True))
        items = [{fields[h]: v for h, v in zip(header, r, strict=True)} for r in reader]
    regions = sorted({i["region_code"] for i in items})
    conn.execute(
        """DELETE FROM leading_industries WHERE region_id IN
           (SELECT id FROM regions WHERE code = ANY(%s))""",
        (regions,),
    )
    rank: Counter[str] = Counter()
    with conn.cursor() as cur:
        for i in items:
            cur.execute(
                """INSERT INTO leading_industries (region_id, code, name, rank)
                   SELECT id, %s, %s, %s FROM regions WHERE code = %s""",
                (i["code"], i["name"], rank[i["region_code"]], i["region_code"]),
            )
            rank[i["region_code"]] += 1
    return len(items)
