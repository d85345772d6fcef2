"""Where seed 004's leading-industry quota is counted: one rule for the planner and for create().

Seed 004 三、(三): "每个主导产业至少有5-10所骨干职业院校支撑服务，每所职业院校集中服务2-3个
主导产业"; 四、(四): new schools "主要服务区域主导产业". Leading industries are a region's (table
leading_industries has region_id: each city's list, the province's list for a city without one),
so the schools counted for an industry are those of the city whose industry it is, not every
school in the province: a school in 洛阳 serving division 36 does not fill 郑州's 36.

The unit is therefore (city, GB/T 4754 division). The planner keys its industries with
`industry_key`; service.partnerships counts `schools_serving` for the subject school's city.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable


def city_of(region_path: str) -> str:
    """The city code of a region path ('410000.410100.410102' → '410100'); a row registered at
    the province itself counts as the province's."""
    parts = region_path.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def industry_key(city: str, division: str) -> str:
    """The planner's name for one leading industry of one city ('410100:36')."""
    return f"{city}:{division}"


def schools_serving(rows: Iterable[tuple[int, str, str]], city: str) -> dict[str, set[int]]:
    """Division → the schools of `city` serving it, from (school id, school region path,
    division) rows of active school / programme – enterprise partnerships."""
    out: dict[str, set[int]] = defaultdict(set)
    for school, path, division in rows:
        if city_of(path) == city:
            out[division].add(school)
    return dict(out)
