"""A small, hand-checkable Henan world for recommendation tests, written with plain SQL."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row

from models.codes import make_credit_code

_rng = random.Random(5)


@dataclass
class World:
    ids: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, key: str) -> int:
        return self.ids[key]


def _region(c: psycopg.Connection[Any], code: str) -> int:
    row: Any = c.execute("SELECT id FROM regions WHERE code = %s", (code,)).fetchone()
    return int(row["id"])


def _ins(c: psycopg.Connection[Any], table: str, **cols: Any) -> int:
    names = ", ".join(cols)
    marks = ", ".join(["%s"] * len(cols))
    row: Any = c.execute(
        f"INSERT INTO {table} ({names}) VALUES ({marks}) RETURNING id", list(cols.values())
    ).fetchone()
    return int(row["id"])


def partner(
    c: psycopg.Connection[Any], a: tuple[str, int], b: tuple[str, int], kind: str = "结对包联"
) -> int:
    (at, ai), (bt, bi) = sorted([a, b])
    return _ins(c, "partnerships", a_type=at, a_id=ai, b_type=bt, b_id=bi, kind=kind)


def build(url: str) -> World:
    w = World()
    with psycopg.connect(url, row_factory=dict_row) as c:
        zz, jinshui, ly = _region(c, "410100"), _region(c, "410105"), _region(c, "410300")
        w.ids["S1"] = _ins(
            c,
            "schools",
            code="4141012345",
            name="郑州智能制造职业学院",
            kind="高职专科",
            region_id=jinshui,
        )
        w.ids["S2"] = _ins(
            c, "schools", code="4141054321", name="洛阳理工学院", kind="本科", region_id=ly
        )
        w.ids["P1"] = _ins(
            c,
            "programmes",
            school_id=w["S1"],
            major_code="460103",
            name="数控技术",
            level="高职专科",
            industries=["C34"],
            capacity=3,
            description="数控机床编程与操作、数控设备维护、机械加工工艺",
        )
        w.ids["P2"] = _ins(
            c,
            "programmes",
            school_id=w["S1"],
            major_code="510203",
            name="软件技术",
            level="高职专科",
            industries=["I65"],
            capacity=1,
            description="软件开发、Web 应用开发、软件测试与运维",
        )
        w.ids["P3"] = _ins(
            c,
            "programmes",
            school_id=w["S2"],
            major_code="080202",
            name="机械设计制造及其自动化",
            level="本科",
            industries=["C34"],
            capacity=2,
            description="机械设计、数控加工、智能制造装备研发",
        )
        ent = [
            (
                "E1",
                "河南宇航数控机床有限公司",
                ["C3421"],
                zz,
                None,
                "数控机床整机制造，需要数控编程与设备维护人才",
            ),
            ("E2", "宇航数控机床（河南）股份有限公司", ["C3421"], zz, None, "数控机床制造与销售"),
            (
                "E3",
                "河南智造软件科技有限公司",
                ["I6513"],
                zz,
                "中原数字集团",
                "工业软件开发，需要软件开发与测试人才",
            ),
            (
                "E4",
                "郑州云端信息技术有限公司",
                ["I6510"],
                zz,
                "中原数字集团",
                "软件开发与信息系统集成",
            ),
            (
                "E5",
                "洛阳精工数控机械有限公司",
                ["C3421"],
                ly,
                None,
                "数控机床零部件加工，需要数控技术人才",
            ),
            (
                "E6",
                "郑州新松智能装备有限公司",
                ["C3491"],
                jinshui,
                None,
                "智能制造装备、数控加工中心，招聘数控编程人员",
            ),
            ("E7", "郑州好想你食品有限公司", ["C1461"], zz, None, "食品加工与数控包装设备运维"),
            ("E8", "郑州中机数控设备有限公司", ["C3422"], zz, None, "数控设备研发与数控机床维修"),
        ]
        for key, name, codes, region, group, desc in ent:
            w.ids[key] = _ins(
                c,
                "enterprises",
                credit_code=make_credit_code(_rng, "410100"),
                name=name,
                industry_codes=codes,
                region_id=region,
                group_name=group,
                description=desc,
            )
        partner(c, ("school", w["S1"]), ("enterprise", w["E1"]))
        partner(c, ("programme", w["P2"]), ("enterprise", w["E3"]), "共建专业")
        w.ids["M1"] = _ins(
            c,
            "mentors",
            name="张工",
            kind="industry_professor",
            enterprise_id=w["E6"],
            fields=["数控技术", "智能制造"],
            capacity=1,
            description="高级工程师，数控加工中心工艺专家",
        )
        w.ids["M2"] = _ins(
            c,
            "mentors",
            name="李教授",
            kind="academic",
            school_id=w["S2"],
            fields=["机械设计", "数控技术"],
            capacity=2,
            description="机械工程教授，研究数控加工与智能制造",
        )
        w.ids["M3"] = _ins(
            c,
            "mentors",
            name="王研究员",
            kind="research",
            school_id=w["S2"],
            fields=["数控系统"],
            capacity=2,
            description="数控系统研究",
        )
        partner(c, ("mentor", w["M1"]), ("programme", w["P3"]), "导师")  # M1 now full
        w.ids["B1"] = _ins(
            c,
            "practice_bases",
            name="新松智能装备实践基地",
            host_enterprise_id=w["E6"],
            region_id=jinshui,
            fields=["数控技术", "智能制造"],
            slots_per_term=10,
            description="数控加工实训、智能产线实习",
        )
        w.ids["B2"] = _ins(
            c,
            "practice_bases",
            name="中机数控实训基地",
            host_enterprise_id=w["E8"],
            region_id=zz,
            fields=["数控技术"],
            slots_per_term=0,
            description="数控机床维修实训",
        )
        w.ids["B3"] = _ins(
            c,
            "practice_bases",
            name="洛阳精工实习基地",
            host_enterprise_id=w["E5"],
            region_id=ly,
            fields=["数控技术"],
            slots_per_term=5,
            description="数控零件加工实习",
        )
        w.ids["N1"] = _ins(
            c,
            "needs",
            enterprise_id=w["E8"],
            kind="talent",
            title="招聘数控机床维修技术员",
            description="从 事 数 控 机 床 的 安 装 调 试 与 维 修，需要数控技术专业人才",
            headcount=5,
        )
    return w
