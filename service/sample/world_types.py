"""The sample world's records (parks, schools, groups, the world) and the small generators every
part of it uses: people's names, phone numbers, brands, weighted picks."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from service.sample import catalogs as cat
from service.sample.vocab import (
    BRAND_SYLLABLES,
    GIVEN_CHARS,
    SURNAMES,
)

AREA_CODES = {
    "410100": "0371",
    "410200": "0371",
    "410300": "0379",
    "410400": "0375",
    "410500": "0372",
    "410600": "0392",
    "410700": "0373",
    "410800": "0391",
    "410900": "0393",
    "411000": "0374",
    "411100": "0395",
    "411200": "0398",
    "411300": "0377",
    "411400": "0370",
    "411500": "0376",
    "411600": "0394",
    "411700": "0396",
    "419001": "0391",
}


def person_name(rng: random.Random) -> str:
    given = rng.choice(GIVEN_CHARS) + (rng.choice(GIVEN_CHARS) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def office_phone(rng: random.Random, city_code: str) -> str:
    return f"{AREA_CODES.get(city_code, '0371')}-{rng.randrange(60000000, 69999999)}"


def mobile(rng: random.Random) -> str:
    return f"1{rng.choice('35789')}{rng.randrange(10**8, 10**9):09d}"


def brand(rng: random.Random) -> str:
    a, b = rng.choice(BRAND_SYLLABLES), rng.choice(BRAND_SYLLABLES)
    while b == a:
        b = rng.choice(BRAND_SYLLABLES)
    return a + b


def weighted_sample(rng: random.Random, items: list, weights: list[float], k: int) -> list:
    """k distinct items, each drawn with probability proportional to its weight."""
    keyed = sorted(
        ((rng.random() ** (1.0 / w), i) for i, w in enumerate(weights) if w > 0), reverse=True
    )
    return [items[i] for _, i in keyed[:k]]


def city_of(region_code: str) -> str:
    r = cat.regions()[region_code]
    return region_code if r.level == "city" else r.parent_code


@dataclass
class Park:
    name: str
    region_code: str
    city_code: str
    chains: list[str]
    divisions: list[str]


@dataclass
class School:
    code: str
    name: str
    kind: str
    region_code: str
    city_code: str
    private: bool = False
    programmes: list[cat.Major] = field(default_factory=list)


@dataclass
class Group:
    name: str
    brand: str
    city_code: str
    divisions: list[str]


@dataclass
class World:
    bureaus: list[dict]
    parks: list[Park]
    schools: list[School]
    groups: list[Group]
    city_bureau: dict[str, str]  # city code → bureau name
    county_bureau: dict[str, str]  # county code → bureau name

    def parks_in(self, city_code: str) -> list[Park]:
        return [p for p in self.parks if p.city_code == city_code]
