"""The sample generator's shared part: weights and texts, credit codes, the manifest, and
the generator's state and row writers (service/sample/generate.py runs it)."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from models import vocab as V
from models.codes import CREDIT_ALPHABET, CREDIT_WEIGHTS
from service.sample import catalogs as cat
from service.sample import formats as fmt
from service.sample.world import (
    Park,
    School,
    World,
    make_world,
    mobile,
    person_name,
)
from service.sample.writers import Sink

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
SIZES = V.ENTERPRISE_SIZES  # the weights below follow its order
SIZE_WEIGHTS = (3, 17, 50, 30)
NEED_KINDS = V.NEED_KINDS
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
PARTY_LABELS = V.PARTY_LABELS
STATUS_LABELS = V.ENTERPRISE_STATUS_LABELS
MENTOR_LABELS = V.MENTOR_KIND_LABELS
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


class GeneratorBase:
    """The generator's state: the fixed world, its lookups, the output sinks, and the rows
    every part writes (partnerships, co-built programmes, Annex-1 rows)."""

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
                "kind": V.KIND_PAIRING,
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
                "kind": V.KIND_PROGRAMME,
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

    def _occupations(self, division: str) -> list[cat.Occupation]:
        return self.occ_by_div.get(division) or self.occ_fallback

    def _occupation_names(self, division: str, k: int) -> list[str]:
        occs = self._occupations(division)
        return [o.name for o in self.rng.sample(occs, min(k, len(occs)))]


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
