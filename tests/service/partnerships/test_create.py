"""partnerships.create: each rule on its own, checked on real PostgreSQL rows, plus migration
0010's move of contact lines out of `progress`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from models import quotas as Q
from service.auth.policy import HISTORY, SYSTEM
from service.config import REPO_ROOT
from service.errors import Forbidden, InvalidInput, Unauthorized
from service.partnerships import service as partnerships
from service.partnerships.service import GuardRefused
from tests.service.review import factories as f


@pytest.fixture
def conn(clean_db: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(clean_db, row_factory=dict_row) as c:
        yield c
        c.rollback()


def _refused(reason: str, conn: psycopg.Connection[Any], *args: Any, **kw: Any) -> str:
    with pytest.raises(GuardRefused) as info, conn.transaction():
        partnerships.create(conn, SYSTEM, *args, **kw)
    assert info.value.reason == reason and info.value.status_code == 409
    assert f"({reason})" in info.value.detail
    return info.value.detail


def test_creates_active_with_source_and_audit(conn: psycopg.Connection[Any]) -> None:
    s, e = f.school(conn, "甲职业学院"), f.enterprise(conn, "乙精密机械有限公司")
    row = partnerships.create(
        conn, SYSTEM, ("enterprise", e), ("school", s), "import:表.xlsx",
        contacts={("school", s): "张老师 13900001111"},
    )  # fmt: skip
    assert (row["a_type"], row["b_type"], row["status"], row["source"]) == (
        "enterprise", "school", "active", "import:表.xlsx",
    )  # fmt: skip
    assert row["b_contact"] == "张老师 13900001111" and row["a_contact"] is None
    audit = conn.execute(
        "SELECT action, region_paths FROM audit_log WHERE entity_id = %s", (row["id"],)
    ).fetchone()
    assert audit["action"] == "partnership.create" and audit["region_paths"]
    _refused("already_partnered", conn, ("school", s), ("enterprise", e), "manual")


def test_school_side_duplicate_record_and_group(conn: psycopg.Connection[Any]) -> None:
    s = f.school(conn, "丙职业技术学院")
    prog = f.programme(conn, s)
    e1 = f.enterprise(conn, "河南中原智能装备股份有限公司")
    dup = f.enterprise(conn, "中原智能装备有限公司")  # the same company, another record
    g1, g2 = f.enterprise(conn, "宇通客车有限公司"), f.enterprise(conn, "郑州新材料科技公司")
    conn.execute("UPDATE enterprises SET group_name = '宇通集团' WHERE id = ANY(%s)", ([g1, g2],))
    partnerships.create(conn, SYSTEM, ("programme", prog), ("enterprise", e1), "manual")
    _refused("already_partnered", conn, ("school", s), ("enterprise", e1), "manual")
    _refused("duplicate_record_partnered", conn, ("school", s), ("enterprise", dup), "manual")
    partnerships.create(conn, SYSTEM, ("school", s), ("enterprise", g1), "manual")
    _refused("group_partnered", conn, ("school", s), ("enterprise", g2), "manual")


def test_pending_capacity_and_quotas(conn: psycopg.Connection[Any]) -> None:
    s = f.school(conn, "丁职业学院")
    e = [f.enterprise(conn, n) for n in ("一号轴承公司", "二号传感器厂", "三号化工集团公司")]
    prog = f.programme(conn, s)
    conn.execute("UPDATE programmes SET capacity = 1 WHERE id = %s", (prog,))
    user = conn.execute(
        "INSERT INTO users (username, password_hash, role) VALUES ('user1', '!', 'school')"
        " RETURNING id"
    ).fetchone()["id"]
    item = f.recommendation(conn, ("school", s), ("enterprise", e[0]), submitted_by=user)
    _refused("pending_review", conn, ("school", s), ("enterprise", e[0]), "manual")
    # approving that very item is not blocked by its own pending state
    partnerships.create(
        conn, SYSTEM, ("school", s), ("enterprise", e[0]), f"review:{item}",
        recommendation_id=item,
    )  # fmt: skip
    partnerships.create(conn, SYSTEM, ("programme", prog), ("enterprise", e[1]), "manual")
    detail = _refused("no_capacity", conn, ("programme", prog), ("enterprise", e[2]), "manual")
    assert "容量 1" in detail
    # quotas: a school serving its 1 allowed industry may not add another division
    conn.execute("UPDATE enterprises SET industry_codes = '{C3411}' WHERE id = %s", (e[1],))
    conn.execute("UPDATE enterprises SET industry_codes = '{C2614}' WHERE id = %s", (e[2],))
    other = f.school(conn, "戊职业学院")
    partnerships.create(conn, SYSTEM, ("school", other), ("enterprise", e[1]), "m", quotas=(1, 9))
    _refused(
        "quota_school_industries", conn, ("school", other), ("enterprise", e[2]), "m",
        quotas=(1, 9),
    )  # fmt: skip
    # …the same division is fine; a loaded record of existing pairs is not held to limits
    partnerships.create(conn, HISTORY, ("school", other), ("enterprise", e[2]), "m", quotas=(1, 9))


def test_schools_per_leading_industry_are_counted_in_the_school_city(
    conn: psycopg.Connection[Any],
) -> None:
    """Seed 004's 5–10 schools per leading industry count the schools of the industry's city
    (models/quotas.py), as the planner does: another city's school does not fill the quota."""
    firms = [f.enterprise(conn, n) for n in ("一号汽车零部件公司", "二号车桥厂", "三号车灯公司")]
    conn.execute("UPDATE enterprises SET industry_codes = '{C3670}' WHERE id = ANY(%s)", (firms,))
    cap = (3, 1)  # at most one school per industry
    zhengzhou = f.school(conn, "郑州子职业学院", "410102")  # a county of 郑州
    partnerships.create(
        conn, SYSTEM, ("school", zhengzhou), ("enterprise", firms[0]), "m", quotas=cap
    )
    second = f.school(conn, "郑州丑职业学院", "410100")
    _refused(
        "quota_industry_schools", conn, ("school", second), ("enterprise", firms[1]), "m",
        quotas=cap,
    )  # fmt: skip
    # through a programme the school is still 郑州's second
    _refused(
        "quota_industry_schools", conn, ("programme", f.programme(conn, second)),
        ("enterprise", firms[2]), "m", quotas=cap,
    )  # fmt: skip
    luoyang = f.school(conn, "洛阳寅职业学院", "410300")
    row = partnerships.create(
        conn, SYSTEM, ("school", luoyang), ("enterprise", firms[1]), "m", quotas=cap
    )
    assert row["status"] == "active"
    # the planner's key for those industries: one per city
    assert Q.industry_key(Q.city_of("410000.410100.410102"), "36") == "410100:36"
    assert Q.city_of("410000") == "410000"


def test_scope_and_bad_parties(conn: psycopg.Connection[Any]) -> None:
    from service.auth import repository as auth_repo

    s, e = f.school(conn, "郑州己学院"), f.enterprise(conn, "郑州庚公司")
    ly = f.enterprise(conn, "洛阳辛公司", "410300")
    region = conn.execute("SELECT id FROM regions WHERE code = '410100'").fetchone()["id"]
    uid = conn.execute(
        "INSERT INTO users (username, password_hash, role, region_id)"
        " VALUES ('bureau1', '!', 'bureau', %s) RETURNING id",
        (region,),
    ).fetchone()["id"]
    bureau = auth_repo.to_user(auth_repo.user_by_id(conn, uid))  # type: ignore[arg-type]
    with pytest.raises(Forbidden), conn.transaction():
        partnerships.create(conn, bureau, ("school", s), ("enterprise", ly), "manual")
    with pytest.raises(Unauthorized), conn.transaction():
        partnerships.create(conn, None, ("school", s), ("enterprise", e), "manual")
    with pytest.raises(InvalidInput), conn.transaction():
        partnerships.create(conn, SYSTEM, ("school", s), ("enterprise", 999999), "manual")
    with pytest.raises(InvalidInput), conn.transaction():
        partnerships.create(conn, SYSTEM, ("school", s), ("school", s), "manual")
    assert partnerships.create(conn, bureau, ("school", s), ("enterprise", e), "manual")["id"]


def test_migration_moves_contact_lines_out_of_progress(conn: psycopg.Connection[Any]) -> None:
    b = conn.execute(
        "INSERT INTO bureaus (name, region_id) SELECT '测试局', id FROM regions"
        " WHERE code = '410100' RETURNING id"
    ).fetchone()["id"]
    e = f.enterprise(conn, "壬公司")
    progress = (
        "【需求】技能人才\n【推进情况】已签约\n【园区(企业)联系人】王主任 13800000000\n"
        "【包保负责人】李科长 0371-12345678"
    )
    pid = conn.execute(
        "INSERT INTO partnerships (a_type, a_id, b_type, b_id, progress)"
        " VALUES ('bureau', %s, 'enterprise', %s, %s) RETURNING id",
        (b, e, progress),
    ).fetchone()["id"]
    sql = (REPO_ROOT / "service" / "migrations" / "0010_partnership_contacts.sql").read_text()
    conn.execute(sql[sql.index("WITH found AS") :])  # the data move, on this row
    row = conn.execute(
        "SELECT progress, a_contact, b_contact FROM partnerships WHERE id = %s", (pid,)
    ).fetchone()
    assert row["progress"] == "【需求】技能人才\n【推进情况】已签约"
    assert row["a_contact"] == "李科长 0371-12345678"  # the bureau: 包保负责人
    assert row["b_contact"] == "王主任 13800000000"  # the enterprise: 园区(企业)联系人
