"""The fixed part of the sample: bureaus, parks, schools with their programmes, groups.

Its size does not depend on the number of enterprises, so it is built in memory; enterprises
and everything hanging off them are streamed by service/sample/generate.py.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from functools import lru_cache

from service.sample import catalogs as cat
from service.sample.mess import pdf_spaces
from service.sample.vocab import (
    BRAND_SYLLABLES,
    CHAINS,
    CITY_CHAINS,
    COUNTY_SCHOOL_PATTERNS,
    DIVISION_NAME_WORDS,
    DOUBLE_FIRST_CLASS,
    DOUBLE_HIGH,
    GIVEN_CHARS,
    RENAMED,
    SCHOOL_FOCUS,
    SURNAMES,
    VOCATIONAL_SCHOOL_PATTERNS,
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


def _school_kind(u: cat.University) -> str:
    if u.name in DOUBLE_FIRST_CLASS:
        return "双一流"
    return "本科" if u.level == "本科" else "高职专科"


def _focus(name: str) -> list[str]:
    words: list[str] = []
    for key, focus in SCHOOL_FOCUS:
        if key in name:
            words.extend(focus)
            if len(words) >= 6:
                break
    return words


PROGRAMME_COUNTS = {
    "双一流": (20, 25),
    "本科": (10, 22),
    "职教本科": (10, 18),
    "高职专科": (8, 20),
    "中职": (5, 10),
}
LEVEL_POOLS = {
    "双一流": "本科",
    "本科": "本科",
    "职教本科": "职教本科",
    "高职专科": "高职专科",
    "中职": "中职",
}


COMMON_LANGUAGES = ("英语", "日语", "俄语", "翻译", "商务英语", "法语", "德语")
# Classes that most schools of a level offer (fill-up majors come mostly from these).
COMMON_CLASSES = (
    "计算机",
    "机械",
    "电气",
    "电子信息",
    "自动化",
    "土木",
    "土建",
    "工商管理",
    "中国语言",
    "数学",
    "教育",
    "设计",
    "经济",
    "金融",
    "财务会计",
    "会计",
    "化工",
    "材料",
    "管理科学",
    "体育",
    "美术",
    "音乐",
    "新闻",
    "法学",
    "物流",
    "电子商务",
    "护理",
    "汽车",
    "机电",
    "旅游",
    "农业",
    "药学",
    "餐饮",
    "建筑",
)


@lru_cache(maxsize=4096)
def _commonness(m: cat.Major) -> float:
    """How often a major is offered: rare languages, special (T) majors, niche classes less."""
    if m.class_name == "外国语言文学类" and m.name not in COMMON_LANGUAGES:
        return 0.02
    weight = 1.0 if any(w in m.class_name for w in COMMON_CLASSES) else 0.12
    return weight * (0.3 if m.code.endswith(("T", "TK")) else 1.0)


def pick_programmes(rng: random.Random, school_name: str, kind: str) -> list[cat.Major]:
    pool = list(cat.majors()[LEVEL_POOLS[kind]])
    if kind == "职教本科":
        pool += cat.majors()["高职专科"][::3]  # a 职业本科 keeps some of its 专科 majors
    focus = _focus(school_name)
    lo, hi = PROGRAMME_COUNTS[kind]
    k = rng.randint(lo, hi)
    specialised = any(
        w in school_name
        for w in ("医", "护理", "推拿", "警", "司法", "检察", "幼儿师范", "艺术", "武术", "烹饪")
    )
    hits = [m for m in pool if any(w in m.class_name or w in m.name for w in focus)]
    # A school's name says what it is strong in: most of its majors come from there.
    k_focus = min(len(hits), round(k * (0.85 if specialised else 0.6))) if hits else 0
    chosen = weighted_sample(rng, hits, [_commonness(m) for m in hits], k_focus)
    taken = {m.code for m in chosen}
    rest = [m for m in pool if m.code not in taken]
    chosen += weighted_sample(rng, rest, [_commonness(m) for m in rest], k - k_focus)
    # The same code can appear on two levels only via the 职教本科 mix: keep one per school.
    return list({m.code: m for m in chosen}.values())


def _vocational_schools(rng: random.Random) -> list[School]:
    out: list[School] = []
    seen: set[str] = set()
    for city in cat.cities():
        counties = cat.counties_of(city.code)
        districts = [c for c in counties if c.name.endswith("区")] or [city]
        n_city = rng.randint(2, 5) if city.code != "410100" else 8
        for pattern in rng.sample(VOCATIONAL_SCHOOL_PATTERNS, n_city):
            region = rng.choice(districts)
            out.append(School("", pattern.format(c=city.short), "中职", region.code, city.code))
        outer = [c for c in counties if not c.name.endswith("区")]
        for county in rng.sample(outer, min(len(outer), rng.randint(1, 4))):
            pattern = rng.choice(COUNTY_SCHOOL_PATTERNS)
            out.append(School("", pattern.format(c=county.name), "中职", county.code, city.code))
    unique = []
    serial: dict[str, int] = {}
    for s in out:
        if s.name in seen:
            continue
        seen.add(s.name)
        serial[s.region_code] = serial.get(s.region_code, 0) + 1
        # Made-up codes: "Z" + region + serial, clearly apart from the MoE's 10-digit codes.
        s.code = f"Z{s.region_code}{serial[s.region_code]:02d}"
        unique.append(s)
    return unique


def make_schools(rng: random.Random) -> list[School]:
    by_city_name = {c.name: c.code for c in cat.cities()}
    schools: list[School] = []
    for u in cat.universities():
        name, kind = u.name, _school_kind(u)
        if name in RENAMED:
            name, kind = RENAMED[name]
        city = by_city_name[u.city]
        schools.append(School(u.code, name, kind, city, city, private=u.remarks == "民办"))
    schools += _vocational_schools(rng)
    for s in schools:
        s.programmes = pick_programmes(rng, s.name, s.kind)
    return schools


def school_row(s: School, rng: random.Random) -> dict:
    private = s.private
    tags = ["民办" if private else "公办"]
    if s.name in DOUBLE_HIGH:
        tags.append("双高")
    if "师范" in s.name:
        tags.append("师范")
    if s.kind == "中职" and rng.random() < 0.2:
        tags.append("省级示范性中等职业学校")
    region = cat.regions()[s.region_code]
    where = cat.regions()[s.city_code].name + ("" if region.level == "city" else region.name)
    classes = list(dict.fromkeys(m.class_name for m in s.programmes))[:4]
    text = (
        f"{s.name}位于{where}，"
        f"{'民办' if private else '公办'}{s.kind}院校，现有专业{len(s.programmes)}个，"
        f"优势专业集中在{'、'.join(classes)}。"
    )
    if rng.random() < 0.1:
        text = pdf_spaces(text, rng)
    return {
        "code": s.code,
        "name": s.name,
        "kind": s.kind,
        "region_code": s.region_code,
        "region_name": where,
        "tags": tags,
        "description": text,
        "contact_name": person_name(rng),
        "contact_phone": office_phone(rng, s.city_code),
    }


def programme_row(s: School, m: cat.Major, rng: random.Random) -> dict:
    served = "、".join(
        cat.industries()[d].name.strip() for d in m.industries if d in cat.industries()
    )
    text = f"{m.profile}本专业依托{s.name}办学，服务{served}等行业。"
    if rng.random() < 0.08:
        text = pdf_spaces(text, rng)
    return {
        "school_code": s.code,
        "major_code": m.code,
        "name": m.name,
        "level": m.level,
        "description": text,
        "industries": list(m.industries),
        "capacity": rng.randint(1, 5),
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
