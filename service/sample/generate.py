"""Generate the realistic Henan sample: one import file per kind, streamed row by row.

Everything that scales with the number of enterprises (enterprises, their needs, industry
professors, practice bases and partnerships) is written as it is made; memory holds only the
fixed world (schools, programmes, parks, groups) and the names of practice bases (which must be
unique). Deterministic for a given seed.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.codes import CREDIT_ALPHABET, CREDIT_WEIGHTS
from service.sample import catalogs as cat
from service.sample import formats as fmt
from service.sample.leading import rows as leading_rows
from service.sample.mess import fullwidth, name_variant, pdf_spaces
from service.sample.vocab import (
    ACADEMIC_TITLES,
    CHAINS,
    CITY_CHAINS,
    DIVISION_NAME_WORDS,
    INDUSTRY_TITLES,
)
from service.sample.world import (
    Park,
    School,
    World,
    brand,
    make_world,
    mobile,
    park_row,
    person_name,
    programme_row,
    school_row,
)
from service.sample.writers import Sink, open_sink

# Enterprise share per city (roughly by economic weight; Zhengzhou dominates).
CITY_WEIGHTS = {
    "410100": 25,
    "410200": 4,
    "410300": 9,
    "410400": 4,
    "410500": 5,
    "410600": 2,
    "410700": 6,
    "410800": 4,
    "410900": 3,
    "411000": 5,
    "411100": 3,
    "411200": 3,
    "411300": 7,
    "411400": 5,
    "411500": 5,
    "411600": 5,
    "411700": 5,
    "419001": 2,
}
SIZES = ("大型", "中型", "小型", "微型")
SIZE_WEIGHTS = (3, 17, 50, 30)
NEED_KINDS = ("talent", "technology", "training", "practice_base", "mentor")
NEED_WEIGHTS = (45, 15, 15, 12, 13)
CREDIT_SPACE = 31**8 * 10
CREDIT_STEP = 5_271_156_497_961  # ≈ golden ratio of the space, coprime: a scattered bijection
PROGRESS_NOTES = (
    "已签订校企合作协议，共建订单班{n}个",
    "联合开展技术攻关项目{n}项",
    "共建实训室{n}个，年接收实习学生{m}人",
    "企业技术骨干{n}人到校兼职授课",
    "双方定期召开对接会，已完成需求调研",
    "已挂牌共建产业学院",
    "联合申报省级产教融合项目{n}项",
    "",
)
EXTRAS = (
    "通过ISO9001质量管理体系认证。",
    "拥有省级工程技术研究中心。",
    "为国家高新技术企业。",
    "入选河南省专精特新中小企业名单。",
    "产品销往全国{n}个省区市。",
    "建有博士后创新实践基地。",
)

POLICIES = (
    "建立月度对接会商机制，设立校企合作专项经费",
    "出台教育助企“一地一策”实施方案",
    "组织专业带头人进园区开展技术服务",
    "落实产业教授选聘和教师企业实践制度",
    "",
)
PARTY_LABELS = {
    "bureau": "教育行政部门",
    "park": "产业园区",
    "school": "学校",
    "enterprise": "企业",
}
STATUS_LABELS = {"active": "在营", "inactive": "注销"}
MENTOR_LABELS = {"academic": "学术导师", "research": "科研导师", "industry_professor": "产业教授"}
ProgressFn = Callable[[int], None]
_CREDIT_VALUE = {ch: i for i, ch in enumerate(CREDIT_ALPHABET)}
_SIZE_CUM = tuple(sum(SIZE_WEIGHTS[: i + 1]) for i in range(len(SIZE_WEIGHTS)))
_NEED_CUM = tuple(sum(NEED_WEIGHTS[: i + 1]) for i in range(len(NEED_WEIGHTS)))


@dataclass
class Manifest:
    seed: int
    enterprises: int
    counts: dict[str, int] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False, indent=2)


def credit_code(index: int, region_code: str, offset: int) -> str:
    """A checksum-valid code whose 9-char body is unique per index (a bijection of the index)."""
    x = (index * CREDIT_STEP + offset) % CREDIT_SPACE
    digit = x % 10
    x //= 10
    body = []
    for _ in range(8):
        x, r = divmod(x, 31)
        body.append(CREDIT_ALPHABET[r])
    first17 = "91" + region_code + "".join(body) + str(digit)
    total = sum(_CREDIT_VALUE[ch] * w for ch, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return first17 + CREDIT_ALPHABET[(31 - total % 31) % 31]


def party(kind: str, key: str) -> tuple[str, str]:
    return kind, key


def _date(rng: random.Random, start: dt.date, days: int) -> str:
    return (start + dt.timedelta(days=rng.randrange(days))).isoformat()


class Generator:
    def __init__(
        self, out_dir: Path, enterprises: int, seed: int, max_schools: int | None = None
    ) -> None:
        self.out_dir, self.n, self.seed = out_dir, enterprises, seed
        self.rng = random.Random(f"xiaoqi-sample:{seed}")
        self.world: World = make_world(random.Random(f"world:{seed}"), enterprises, max_schools)
        self.sinks: dict[str, Sink] = {}
        self.base_names: set[str] = set()
        self.mentor_seq = 0
        self._index()

    # -- lookups over the fixed world -------------------------------------------------------
    def _index(self) -> None:
        w = self.world
        self.city_codes = list(CITY_WEIGHTS)
        cum, total = [], 0
        for c in self.city_codes:
            total += CITY_WEIGHTS[c]
            cum.append(total)
        self.city_cum = cum
        self.parks_by_city: dict[str, list[Park]] = {}
        for p in w.parks:
            self.parks_by_city.setdefault(p.city_code, []).append(p)
        self.counties = {c.code: cat.counties_of(c.code) or [c] for c in cat.cities()}
        self.schools_by_city: dict[str, list[School]] = {}
        by_div: dict[str, dict[str, School]] = {}
        self.programmes_by_div: dict[str, list[tuple[School, cat.Major]]] = {}
        for s in w.schools:
            self.schools_by_city.setdefault(s.city_code, []).append(s)
            for m in s.programmes:
                for d in m.industries:
                    self.programmes_by_div.setdefault(d, []).append((s, m))
                    by_div.setdefault(d, {})[s.code] = s
        self.schools_by_div = {d: list(v.values()) for d, v in by_div.items()}
        self._local: dict[tuple[str, str], list[School]] = {}
        self.classes = cat.classes_by_division()
        self.occ_by_div = cat.occupations_by_division()
        self.occ_fallback = cat.production_occupations()
        self.offset = self.rng.randrange(CREDIT_SPACE)
        self.hub_cap = max(5, self.n // 2000)
        self.hubs = 0

    # -- output -----------------------------------------------------------------------------
    def write(self, spec: fmt.FileSpec, row: dict) -> None:
        self.sinks[spec.kind].write(row)

    def _note(self) -> str:
        rng = self.rng
        return rng.choice(PROGRESS_NOTES).format(n=rng.randint(1, 5), m=rng.randint(10, 120))

    def partnership(self, a: tuple[str, str], b: tuple[str, str]) -> None:
        """A 结对包联 pair in the generic 甲方/乙方 table (types written in Chinese)."""
        self.write(
            fmt.PARTNERSHIPS,
            {
                "a_type": PARTY_LABELS[a[0]],
                "a_key": a[1],
                "b_type": PARTY_LABELS[b[0]],
                "b_key": b[1],
                "kind": "结对包联",
                "since": _date(self.rng, dt.date(2019, 1, 1), 2490),
                "progress": self._note(),
            },
        )

    def co_built(self, school: School, major: cat.Major, credit_code: str) -> None:
        """Programme ↔ enterprise (共建专业); some of them ended."""
        rng = self.rng
        self.write(
            fmt.PROGRAMME_PARTNERSHIPS,
            {
                "school_code": school.code,
                "major_code": major.code,
                "credit_code": credit_code,
                "kind": "共建专业",
                "status": "ended" if rng.random() < 0.08 else "active",
                "since": _date(rng, dt.date(2019, 1, 1), 2490),
                "progress": self._note(),
            },
        )

    def pairing_row(self, unit: str, counterparts: list[str], need: str) -> None:
        """One row of the seed 002 Annex 1 table: a bureau or school and what it pairs with."""
        rng = self.rng
        self.write(
            fmt.PAIRING_TABLE,
            {
                "unit": unit,
                "counterparts": counterparts,
                "counterpart_contact": f"{person_name(rng)} {mobile(rng)}",
                "unit_contact": f"{person_name(rng)} {mobile(rng)}",
                "need": need,
                "policies": rng.choice(POLICIES),
                "progress": self._note(),
                "deadline": rng.choice(("2025年12月", "2026年6月", "2026-12-31", "长期")),
            },
        )

    def run(self, progress: ProgressFn | None = None) -> Manifest:
        start = time.perf_counter()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for spec in fmt.ALL:
            self.sinks[spec.kind] = open_sink(self.out_dir, spec)
        try:
            self._fixed()
            self._enterprises(progress)
        finally:
            for sink in self.sinks.values():
                sink.close()
        manifest = Manifest(self.seed, self.n, seconds=round(time.perf_counter() - start, 2))
        for spec in fmt.ALL:
            manifest.counts[spec.kind] = self.sinks[spec.kind].count
            manifest.files[spec.kind] = spec.filename
        (self.out_dir / "manifest.json").write_text(manifest.to_json(), encoding="utf-8")
        return manifest

    # -- the fixed world and what hangs off schools and parks -------------------------------
    def _fixed(self) -> None:
        rng, w = self.rng, self.world
        for b in w.bureaus:
            self.write(fmt.BUREAUS, b)
        for li in leading_rows():
            self.write(fmt.LEADING_INDUSTRIES, li)
        for p in w.parks:
            self.write(fmt.PARKS, park_row(p, rng))
        for s in w.schools:
            self.write(fmt.SCHOOLS, school_row(s, rng))
            for m in s.programmes:
                self.write(fmt.PROGRAMMES, programme_row(s, m, rng))
        for s in w.schools:
            self._school_mentors(s)
            if s.programmes and rng.random() < 0.35:
                m = rng.choice(s.programmes)
                self._base(
                    f"{s.name}{m.name}实训基地",
                    s.region_code,
                    [m.name, m.class_name],
                    host_school=s.code,
                )
        # Annex 1 rows: each bureau (province, city, county) and some schools with their parks.
        units: dict[str, list[Park]] = {}
        for p in w.parks:
            units.setdefault(w.city_bureau[p.city_code], []).append(p)
            county = w.county_bureau.get(p.region_code)
            if county:
                units.setdefault(county, []).append(p)
            if p.name.startswith(("郑州航空港", "中原科技城")):
                units.setdefault("河南省教育厅", []).append(p)
            near = self.schools_by_city.get(p.city_code, [])
            for s in rng.sample(near, min(len(near), rng.randint(1, 3))):
                units.setdefault(s.name, []).append(p)
        for unit, parks in units.items():
            self.pairing_row(unit, [p.name for p in parks], self._park_need(parks[0]))

    def _park_need(self, p: Park) -> str:
        rng = self.rng
        occs = self._occupation_names(rng.choice(p.divisions), 2)
        return (
            f"园区{p.chains[0]}企业急需{'、'.join(occs)}等技术技能人才；"
            f"希望共建{p.chains[0]}产业学院和实习实训基地，开展订单培养。"
        )

    def _school_mentors(self, s: School) -> None:
        rng = self.rng
        n = {"双一流": 8, "本科": 5, "职教本科": 4, "高职专科": 3, "中职": 1}[s.kind]
        names: set[str] = set()
        for _ in range(rng.randint(1, n)):
            name = person_name(rng)
            if name in names or not s.programmes:
                continue
            names.add(name)
            majors = rng.sample(s.programmes, min(2, len(s.programmes)))
            kind = (
                "research" if s.kind in ("双一流", "本科") and rng.random() < 0.35 else "academic"
            )
            fields = [m.name for m in majors]
            title = rng.choice(ACADEMIC_TITLES)
            text = (
                f"{name}，{s.name}{title}，长期从事{'、'.join(fields)}方向的教学与研究，"
                f"主持横向课题{rng.randint(1, 12)}项。"
            )
            self._mentor(name, kind, fields, title, text, school=s.code)

    def _mentor(
        self,
        name: str,
        kind: str,
        fields: list[str],
        title: str,
        text: str,
        school: str | None = None,
        enterprise: str | None = None,
    ) -> None:
        self.mentor_seq += 1
        self.write(
            fmt.MENTORS,
            {
                "name": name,
                "kind": kind,
                "kind_label": MENTOR_LABELS[kind],
                "school_code": school,
                "credit_code": enterprise,
                "title": title,
                "fields": [as_field(f) for f in fields],
                "description": text,
                "capacity": self.rng.randint(1, 6),
                "contact_email": f"mentor{self.mentor_seq:07d}@example.cn",
            },
        )

    def _base(
        self,
        name: str,
        region_code: str,
        fields: list[str],
        host_school: str | None = None,
        host_enterprise: str | None = None,
    ) -> None:
        if name in self.base_names:
            return
        self.base_names.add(name)
        rng = self.rng
        text = (
            f"{name}面向{'、'.join(fields)}等方向，提供岗位实习、跟岗实训和教师实践岗位，"
            f"配备专职指导人员{rng.randint(2, 20)}名。"
        )
        self.write(
            fmt.PRACTICE_BASES,
            {
                "name": name,
                "host_credit_code": host_enterprise,
                "host_school_code": host_school,
                "region_code": region_code,
                "fields": [as_field(f) for f in fields],
                "description": text,
                "slots_per_term": rng.randint(2, 16) * 5,
            },
        )

    # -- enterprises, streamed ---------------------------------------------------------------
    def _enterprises(self, progress: ProgressFn | None) -> None:
        done = 0
        while done < self.n:
            dup = done + 1 < self.n and self.rng.random() < 0.02
            # Record number (1-based) → credit code: a twin takes the next number.
            for row, meta in self._enterprise(done + 1, dup):
                self.write(fmt.ENTERPRISES, row)
                self._children(row, meta)
                done += 1
                if progress and done % 1000 == 0:
                    progress(1000)
        if progress and done % 1000:
            progress(done % 1000)

    def _enterprise(self, index: int, dup: bool) -> list[tuple[dict, dict]]:
        rng = self.rng
        city = self.city_codes[_bisect(self.city_cum, rng.random() * self.city_cum[-1])]
        park: Park | None = None
        parks = self.parks_by_city.get(city)
        if parks and rng.random() < 0.55:
            park = rng.choice(parks)
            region = park.region_code
            division = rng.choice(park.divisions)
        else:
            region = rng.choice(self.counties[city]).code
            if rng.random() < 0.7:
                division = rng.choice(CHAINS[rng.choice(CITY_CHAINS[city])])
            else:
                division = rng.choice(tuple(DIVISION_NAME_WORDS))
        group = None
        if rng.random() < 0.08:
            group = rng.choice(self.world.groups)
            division = rng.choice(group.divisions)
        size = rng.choices(SIZES, cum_weights=_SIZE_CUM)[0]
        if group and size in ("小型", "微型") and rng.random() < 0.6:
            size = "中型"
        word = rng.choice(DIVISION_NAME_WORDS.get(division, ("科技",)))
        core = group.brand if group else brand(rng)
        if dup:
            prefix = "河南"
        else:
            r = rng.random()
            prefix = (
                cat.regions()[city].short
                if r < 0.6
                else "河南"
                if r < 0.85
                else cat.regions()[region].short
            )
        suffix = rng.choices(("有限公司", "股份有限公司", "有限责任公司"), (75, 15, 10))[0]
        name = f"{prefix}{core}{word}{suffix}"
        codes = self._industry_codes(division)
        meta: dict[str, Any] = {
            "division": division,
            "city": city,
            "region": region,
            "size": size,
            "classes": [cat.industries()[c].name for c in codes if c in cat.industries()],
        }
        status = "inactive" if rng.random() < 0.03 else "active"
        row: dict[str, Any] = {
            "credit_code": credit_code(index, region, self.offset),
            "name": name,
            "industry_codes": codes,
            "region_code": region,
            "park": park.name if park else None,
            "size": size,
            "group_name": group.name if group else None,
            "description": self._description(name, meta, park),
            "contact_name": person_name(rng),
            "contact_phone": mobile(rng),
            "status": status,
            "status_label": STATUS_LABELS[status],
        }
        out = [(row, meta)]
        if dup:
            # The same company registered again under a variant name, with another code.
            variant = name_variant(core, "河南", word, rng)
            twin = {
                **row,
                "credit_code": credit_code(index + 1, region, self.offset),
                "name": variant,
                "contact_name": person_name(rng),
                "description": self._description(variant, meta, park),
            }
            out.append((twin, {**meta, "size": size, "twin": True}))
        return out

    def _industry_codes(self, division: str) -> list[str]:
        rng = self.rng
        classes = self.classes.get(division)
        if not classes:
            return [division]
        picks = rng.sample(classes, min(len(classes), rng.choice((1, 1, 2, 2, 3))))
        return [c.code for c in picks]

    def _description(self, name: str, meta: dict, park: Park | None) -> str:
        rng = self.rng
        region = cat.regions()[meta["region"]]
        where = (
            park.name
            if park
            else (
                cat.regions()[meta["city"]].name + ("" if region.level == "city" else region.name)
            )
        )
        text = (
            f"{name}成立于{rng.randint(1993, 2023)}年，位于{where}，主要从事"
            f"{'、'.join(meta['classes']) or '相关'}等业务，属{meta['size']}企业，"
            f"现有员工约{_staff(rng, meta['size'])}人。"
        )
        if rng.random() < 0.5:
            text += rng.choice(EXTRAS).format(n=rng.randint(5, 30))
        r = rng.random()
        if r < 0.05:
            text = fullwidth(text)
        elif r < 0.12:
            text = pdf_spaces(text, rng)
        return text

    # -- what hangs off one enterprise -----------------------------------------------------
    def _children(self, row: dict, meta: dict) -> None:
        rng = self.rng
        code, size, division = row["credit_code"], meta["size"], meta["division"]
        big = size == "大型"
        self._needs(row, meta)
        if rng.random() < (0.3 if big else 0.04):
            names: set[str] = set()
            for _ in range(rng.randint(1, 2 if not big else 3)):
                self._industry_professor(row, meta, names)
        if rng.random() < (0.25 if big else 0.03):
            field_name = rng.choice(meta["classes"] or ["综合"])
            self._base(
                f"{row['name']}{field_name}实践教学基地",
                row["region_code"],
                [field_name, *self._occupation_names(division, 1)],
                host_enterprise=code,
            )
        if meta.get("twin"):
            return  # duplicates are what the product must detect: no partnerships of their own
        me = party("enterprise", code)
        if big and self.hubs < self.hub_cap and rng.random() < 0.3:
            # A hub: a large enterprise many schools have already paired with (skew).
            self.hubs += 1
            for s in self._schools_for(meta, rng.randint(8, 30), anywhere=True):
                self.partnership(party("school", s.code if rng.random() < 0.5 else s.name), me)
        elif rng.random() < (0.3 if big else 0.12 if size == "中型" else 0.04):
            for s in self._schools_for(meta, rng.randint(1, 2)):
                self.partnership(party("school", s.code if rng.random() < 0.5 else s.name), me)
        if rng.random() < (0.4 if big else 0.04):
            pool = self.programmes_by_div.get(division, [])
            for s, m in rng.sample(pool, min(len(pool), rng.randint(1, 3))):
                self.co_built(s, m, code)
        if rng.random() < 0.01:
            bureau = (
                self.world.county_bureau.get(meta["region"]) or self.world.city_bureau[meta["city"]]
            )
            occ = rng.choice(self._occupations(division))
            need = f"急需{occ.name}{rng.randint(2, 20)}名；希望对接职业院校开展订单培养。"
            self.pairing_row(bureau, [code], need)

    def _schools_for(self, meta: dict, k: int, anywhere: bool = False) -> list[School]:
        """k distinct schools: teaching for the division (in the same city unless `anywhere`),
        topped up with other schools of the city."""
        city, division = meta["city"], meta["division"]
        pool = self.schools_by_div.get(division, [])
        if anywhere:
            return self.rng.sample(pool, min(k, len(pool)))
        local = self._local.get((city, division))
        if local is None:
            near = [s for s in pool if s.city_code == city]
            codes = {s.code for s in near}
            near += [s for s in self.schools_by_city.get(city, []) if s.code not in codes]
            local = self._local[(city, division)] = near
        return self.rng.sample(local, min(k, len(local)))

    def _occupations(self, division: str) -> list[cat.Occupation]:
        return self.occ_by_div.get(division) or self.occ_fallback

    def _occupation_names(self, division: str, k: int) -> list[str]:
        occs = self._occupations(division)
        return [o.name for o in self.rng.sample(occs, min(k, len(occs)))]

    def _needs(self, row: dict, meta: dict) -> None:
        rng = self.rng
        r = rng.random()
        n = 0 if r < 0.4 else 1 if r < 0.75 else 2 if r < 0.92 else 3
        titles: set[str] = set()
        for _ in range(n):
            kind = rng.choices(NEED_KINDS, cum_weights=_NEED_CUM)[0]
            occ = rng.choice(self._occupations(meta["division"]))
            title, text, headcount = self._need_text(kind, occ, meta)
            if title in titles:
                continue
            titles.add(title)
            if rng.random() < 0.12:
                text = pdf_spaces(text, rng)
            self.write(
                fmt.NEEDS,
                {
                    "credit_code": row["credit_code"],
                    "kind": kind,
                    "title": title,
                    "description": text,
                    "headcount": headcount,
                    "deadline": _date(rng, dt.date(2025, 3, 1), 640)
                    if rng.random() < 0.85
                    else None,
                    "status": rng.choices(("open", "matched", "closed"), (75, 15, 10))[0],
                },
            )

    def _need_text(self, kind: str, occ: cat.Occupation, meta: dict) -> tuple[str, str, int | None]:
        rng = self.rng
        field_name = rng.choice(meta["classes"] or [occ.name])
        if kind == "talent":
            n = rng.choice((1, 2, 2, 3, 5, 8, 10, 20))
            title = f"招聘{occ.name}"
            if rng.random() < 0.3:
                count = str(n)
                title += f"{fullwidth(count) if rng.random() < 0.4 else count}名"
            text = f"岗位职责：{occ.definition}主要工作任务：{occ.tasks}"
            return title, text, n
        if kind == "technology":
            title = f"{field_name}关键技术合作研发"
            text = (
                f"企业在{field_name}领域存在工艺优化与产品升级需求，拟与高校联合攻关，"
                f"涉及{occ.name}相关工作：{occ.tasks}"
            )
            return title, text, rng.choice((None, 2, 3, 5))
        if kind == "training":
            title = f"{occ.name}岗位技能提升培训"
            text = (
                f"为在岗员工开展{occ.name}技能培训。该职业{occ.definition}培训内容包括：{occ.tasks}"
            )
            return title, text, rng.randint(2, 40) * 5
        if kind == "practice_base":
            title = f"共建{field_name}实践教学基地"
            text = (
                f"拟与院校共建{field_name}方向实践教学基地，每学期接收实习学生，"
                f"岗位包括{occ.name}：{occ.definition}"
            )
            return title, text, rng.randint(2, 12) * 5
        title = f"聘请{field_name}方向校外导师"
        text = (
            f"希望聘请高校{field_name}方向导师担任技术顾问，并推荐企业{occ.name}骨干"
            f"担任产业教授，共同指导学生。{occ.definition}"
        )
        return title, text, rng.randint(1, 4)

    def _industry_professor(self, row: dict, meta: dict, used: set[str]) -> None:
        rng = self.rng
        name = person_name(rng)
        if name in used:  # (name, enterprise) is a mentor's natural key
            return
        used.add(name)
        fields = list(
            dict.fromkeys([*meta["classes"][:2], *self._occupation_names(meta["division"], 1)])
        )
        title = rng.choice(INDUSTRY_TITLES)
        text = (
            f"{name}，{row['name']}{title}，从事{'、'.join(fields)}相关工作"
            f"{rng.randint(8, 30)}年，受聘为产业教授，可指导学生实习与毕业设计。"
        )
        self._mentor(name, "industry_professor", fields, title, text, enterprise=row["credit_code"])


def as_field(name: str) -> str:
    """A name usable as one item of a list cell (the importer splits cells on 、，; and spaces)."""
    return name.replace("、", "和").replace(" ", "")


def _staff(rng: random.Random, size: str) -> int:
    lo, hi = {"大型": (1000, 20000), "中型": (300, 999), "小型": (20, 299), "微型": (3, 19)}[size]
    return rng.randint(lo, hi)


def _bisect(cum: list[int], x: float) -> int:
    lo, hi = 0, len(cum) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] > x:
            hi = mid
        else:
            lo = mid + 1
    return lo


def generate(
    out_dir: Path,
    enterprises: int = 3000,
    seed: int = 7,
    progress: ProgressFn | None = None,
    *,
    max_schools: int | None = None,
) -> Manifest:
    """Write the sample files for `enterprises` enterprise records (duplicates included).
    `max_schools` keeps only a subset of schools (for the small committed showcase)."""
    if enterprises < 1:
        raise ValueError("enterprises must be at least 1")
    return Generator(out_dir, enterprises, seed, max_schools).run(progress)
