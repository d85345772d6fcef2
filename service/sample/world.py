"""The fixed part of the sample: bureaus, parks, schools with their programmes, groups.

Its size does not depend on the number of enterprises, so it is built in memory; enterprises
and everything hanging off them are streamed by service/sample/generate.py.
"""

from __future__ import annotations

import math
import random

from service.sample import catalogs as cat
from service.sample.vocab import (
    CHAINS,
    CITY_CHAINS,
    DIVISION_NAME_WORDS,
)
from service.sample.world_schools import (
    make_schools,
    pick_programmes,
    programme_row,
    school_row,
)
from service.sample.world_types import (
    AREA_CODES,
    Group,
    Park,
    School,
    World,
    brand,
    city_of,
    mobile,
    office_phone,
    person_name,
    weighted_sample,
)

__all__ = [
    "AREA_CODES",
    "Group",
    "Park",
    "School",
    "World",
    "brand",
    "city_of",
    "make_bureaus",
    "make_groups",
    "make_parks",
    "make_schools",
    "make_world",
    "mobile",
    "office_phone",
    "park_row",
    "person_name",
    "pick_programmes",
    "programme_row",
    "school_row",
    "weighted_sample",
]


def make_bureaus(rng: random.Random) -> tuple[list[dict], dict[str, str], dict[str, str]]:
    rows = [
        {
            "name": "河南省教育厅",
            "region_code": "410000",
            "contact_name": person_name(rng),
            "contact_phone": office_phone(rng, "410100"),
        }
    ]
    city_bureau: dict[str, str] = {}
    county_bureau: dict[str, str] = {}
    for city in cat.cities():
        name = f"{city.name}教育局"
        city_bureau[city.code] = name
        rows.append(
            {
                "name": name,
                "region_code": city.code,
                "contact_name": person_name(rng),
                "contact_phone": office_phone(rng, city.code),
            }
        )
        for county in cat.counties_of(city.code):
            if rng.random() < 0.45:
                # A district's bureau carries its city's name (郑州市金水区教育局).
                prefix = city.name if county.name.endswith("区") else ""
                cname = f"{prefix}{county.name}教育局"
                county_bureau[county.code] = cname
                rows.append(
                    {
                        "name": cname,
                        "region_code": county.code,
                        "contact_name": person_name(rng),
                        "contact_phone": office_phone(rng, city.code),
                    }
                )
    return rows, city_bureau, county_bureau


def _chains_for(rng: random.Random, city_code: str, k: int) -> list[str]:
    chains = list(CITY_CHAINS[city_code])
    weights = [1.0 / (i + 1) for i in range(len(chains))]
    return weighted_sample(rng, chains, weights, min(k, len(chains)))


def _park(rng: random.Random, name: str, region_code: str, k: int = 3) -> Park:
    city = city_of(region_code)
    chains = _chains_for(rng, city, rng.randint(2, k))
    divisions = list(dict.fromkeys(d for c in chains for d in CHAINS[c]))
    return Park(name, region_code, city, chains, divisions)


def make_parks(rng: random.Random) -> list[Park]:
    parks = [
        _park(rng, "郑州航空港经济综合实验区", "410184", 4),
        _park(rng, "中原科技城", "410105", 3),
        _park(rng, "中国（河南）自由贸易试验区郑州片区", "410100", 3),
    ]
    for city in cat.cities():
        counties = cat.counties_of(city.code)
        districts = [c for c in counties if c.name.endswith("区")] or [city]
        parks.append(_park(rng, f"{city.short}高新技术产业开发区", rng.choice(districts).code))
        parks.append(_park(rng, f"{city.short}经济技术开发区", rng.choice(districts).code))
        outer = [c for c in counties if not c.name.endswith("区")]
        for county in rng.sample(outer, min(len(outer), rng.randint(2, 4))):
            suffix = rng.choice(("经济技术开发区", "产业集聚区", "高新技术产业开发区"))
            # 安阳县 shortens to the city's own 安阳: keep the full county name then.
            stem = county.short if county.short != city.short else county.name
            parks.append(_park(rng, f"{stem}{suffix}", county.code))
    return parks


def park_row(p: Park, rng: random.Random) -> dict:
    region = cat.regions()[p.region_code]
    city = cat.regions()[p.city_code]
    where = city.name + ("" if region.code == city.code else region.name)
    names = "、".join(cat.industries()[d].name.strip() for d in p.divisions[:5])
    text = (
        f"{p.name}位于{where}，重点发展{'、'.join(p.chains)}产业链，"
        f"主导产业涵盖{names}等，已集聚规模以上工业企业{rng.randint(30, 400)}家。"
    )
    return {
        "name": p.name,
        "region_code": p.region_code,
        "leading_industries": p.divisions,
        "description": text,
    }


def make_groups(rng: random.Random, enterprises: int) -> list[Group]:
    n = max(8, min(400, int(math.sqrt(enterprises) * 2)))
    groups: list[Group] = []
    seen: set[str] = set()
    cities = [c.code for c in cat.cities()]
    while len(groups) < n:
        b = brand(rng)
        city = rng.choice(cities)
        chains = _chains_for(rng, city, 2)
        divisions = [d for c in chains for d in CHAINS[c] if d in DIVISION_NAME_WORDS]
        word = rng.choice(DIVISION_NAME_WORDS[divisions[0]])
        name = rng.choice(
            (
                f"河南{b}{word}集团有限公司",
                f"{cat.regions()[city].short}{b}控股集团有限公司",
                f"河南{b}实业集团股份有限公司",
            )
        )
        if name in seen:
            continue
        seen.add(name)
        groups.append(Group(name, b, city, divisions))
    return groups


def make_world(rng: random.Random, enterprises: int, max_schools: int | None = None) -> World:
    bureaus, city_bureau, county_bureau = make_bureaus(rng)
    parks, schools = make_parks(rng), make_schools(rng)
    if max_schools is not None:
        # A showcase subset: the first universities and vocational schools of the list.
        voc = [s for s in schools if s.kind == "中职"][: max_schools // 3]
        schools = [s for s in schools if s.kind != "中职"][: max_schools - len(voc)] + voc
    return World(
        bureaus,
        parks,
        schools,
        make_groups(rng, enterprises),
        city_bureau,
        county_bureau,
    )
