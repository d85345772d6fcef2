"""The sample's schools: the real MoE list plus invented 中职 schools, each with programmes
picked by the school's focus and level, and their import rows."""

from __future__ import annotations

import random
from functools import lru_cache

from service.sample import catalogs as cat
from service.sample.mess import pdf_spaces
from service.sample.vocab import (
    COUNTY_SCHOOL_PATTERNS,
    DOUBLE_FIRST_CLASS,
    DOUBLE_HIGH,
    RENAMED,
    SCHOOL_FOCUS,
    VOCATIONAL_SCHOOL_PATTERNS,
)
from service.sample.world_types import (
    School,
    office_phone,
    person_name,
    weighted_sample,
)


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
