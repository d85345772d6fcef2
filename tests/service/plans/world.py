"""A generated 安阳市 (410500) world for plan tests: vocational schools with programmes in the
city's leading industries, enterprises, existing partnerships, and the city's leading-industry
list (the sample's fixture of issue 13)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row

from models.codes import make_credit_code

ANYANG = "410500"
# The city's leading industries, as the sample gives them (service/sample: CITY_CHAINS).
LEADING = [("31", "钢铁有色：黑色金属冶炼和压延加工业"), ("34", "智能制造装备：通用设备制造业"),
           ("36", "新能源汽车：汽车制造业"), ("14", "现代食品：食品制造业")]  # fmt: skip
MAJORS = {
    "31": ("430101", "钢铁智能冶金技术", "冶金 轧钢 钢铁"),
    "34": ("460103", "数控技术", "数控 机床 加工"),
    "36": ("460701", "汽车制造与试验技术", "汽车 整车 制造"),
    "14": ("490103", "食品智能加工技术", "食品 加工 检验"),
}
CODES = {"31": "C3120", "34": "C3421", "36": "C3612", "14": "C1431"}


@dataclass
class World:
    schools: list[int] = field(default_factory=list)
    programmes: dict[int, list[int]] = field(default_factory=dict)
    enterprises: dict[str, list[int]] = field(default_factory=dict)
    region_id: int = 0


def _ins(c: psycopg.Connection[Any], table: str, **cols: Any) -> int:
    names, marks = ", ".join(cols), ", ".join(["%s"] * len(cols))
    row: Any = c.execute(
        f"INSERT INTO {table} ({names}) VALUES ({marks}) RETURNING id", list(cols.values())
    ).fetchone()
    return int(row["id"])


def build(url: str, *, schools: int = 8, per_industry: int = 12, seed: int = 3,
          only_36: int | None = None) -> World:  # fmt: skip
    """`only_36`: how many schools get a programme in industry 36 (None = as drawn)."""
    rng = random.Random(seed)
    w = World()
    with psycopg.connect(url, row_factory=dict_row) as c:
        region: Any = c.execute("SELECT id FROM regions WHERE code = %s", (ANYANG,)).fetchone()
        w.region_id = int(region["id"])
        c.execute("DELETE FROM leading_industries")
        for n, (code, name) in enumerate(LEADING):
            c.execute(
                "INSERT INTO leading_industries (region_id, code, name, rank) VALUES (%s,%s,%s,%s)",
                (w.region_id, code, name, n),
            )
        with_36 = 0
        for s in range(schools):
            sid = _ins(c, "schools", code=f"41{ANYANG}{s:02d}", name=f"安阳第{s + 1}职业技术学院",
                       kind="高职专科", region_id=w.region_id)  # fmt: skip
            w.schools.append(sid)
            mine = rng.sample(list(MAJORS), 3)
            if only_36 is not None:
                mine = [d for d in mine if d != "36"]
                if with_36 < only_36:
                    mine.append("36")
                    with_36 += 1
                else:
                    mine.append(next(d for d in MAJORS if d not in mine and d != "36"))
            w.programmes[sid] = []
            for d in mine:
                major, name, words = MAJORS[d]
                w.programmes[sid].append(
                    _ins(
                        c,
                        "programmes",
                        school_id=sid,
                        major_code=major,
                        name=name,
                        level="高职专科",
                        industries=[CODES[d]],
                        capacity=rng.randint(2, 3),
                        description=f"{name}：{words}",
                    )  # fmt: skip
                )
        n = 0
        for d, code in CODES.items():
            w.enterprises[d] = []
            for k in range(per_industry):
                n += 1
                eid = _ins(c, "enterprises", credit_code=make_credit_code(rng, ANYANG),
                           name=f"安阳{MAJORS[d][1][:2]}企业{k + 1}有限公司", industry_codes=[code],
                           region_id=w.region_id,
                           description=f"{MAJORS[d][2]}，需要{MAJORS[d][1]}人才")  # fmt: skip
                w.enterprises[d].append(eid)
        # one existing partnership: school 0's first programme with an enterprise of its industry
        p0 = w.programmes[w.schools[0]][0]
        d0 = c.execute("SELECT industries FROM programmes WHERE id = %s", (p0,)).fetchone()
        div = str(d0["industries"][0])[1:3]  # type: ignore[index]
        e0 = w.enterprises[div][0]
        c.execute(
            "INSERT INTO partnerships (a_type, a_id, b_type, b_id, kind) "
            "VALUES ('enterprise', %s, 'programme', %s, '共建专业')",
            (e0, p0),
        )
    return w
