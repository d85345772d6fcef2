"""Click through every journey of the web UI in headless Chromium against the real app and
database: bureau → review → partnership, enterprise needs, network, coverage, import."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.browser.conftest import Site

pytestmark = pytest.mark.browser
TIMEOUT_MS = 60_000


@pytest.fixture
def open_as(browser: Any, site: Site) -> Iterator[Any]:
    """open_as(username) → a logged-in page (each user in a fresh browser context)."""
    contexts = []

    def login(username: str) -> Any:
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        ctx.set_default_timeout(TIMEOUT_MS)
        contexts.append(ctx)
        page = ctx.new_page()
        page.goto(site.base + "/review")  # needs an account: sends us to the login form
        assert "/login?next=" in page.url
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", site.password)
        page.click("form.form button[type=submit]")
        page.wait_for_load_state()
        assert "/login" not in page.url, page.content()[:500]
        return page

    yield login
    for ctx in contexts:
        ctx.close()


def _db(site: Site, query: str, params: Any = None) -> list[dict[str, Any]]:
    with psycopg.connect(site.url, row_factory=dict_row) as c:
        return c.execute(query, params).fetchall()


def test_login_logout(browser: Any, site: Site) -> None:
    ctx = browser.new_context(locale="zh-CN")
    try:
        page = ctx.new_page()
        page.goto(site.base + "/login")
        page.fill("input[name=username]", "bureau_zz")
        page.fill("input[name=password]", "wrong-password")
        page.click("form.form button[type=submit]")
        assert "用户名或密码错误" in page.inner_text(".flash-err")
        page.fill("input[name=password]", site.password)
        page.click("form.form button[type=submit]")
        page.wait_for_url(site.base + "/")
        assert "教育行政部门" in page.inner_text(".who")
        assert page.locator("nav.nav a[href='/bureau']").count() == 1
        assert page.locator("nav.nav a[href='/import']").count() == 1
        page.click("text=退出")
        page.wait_for_url(site.base + "/")
        assert page.locator("a.btn-light", has_text="登录").count() == 1
        assert page.locator("nav.nav a[href='/bureau']").count() == 0
    finally:
        ctx.close()


def test_bureau_to_review_to_partnership(open_as: Any, site: Site) -> None:
    w = site.world
    bureau = open_as("bureau_zz")
    bureau.goto(site.base + "/bureau")
    assert "郑州市" in bureau.inner_text("#scope")
    options = bureau.locator("#subject option").all_inner_texts()
    assert any("郑州智能制造职业学院" in o for o in options)
    assert not any("洛阳理工学院" in o for o in options)  # outside the bureau's region
    bureau.fill("input[name=q]", "不存在的学校名")  # the live filter hides non-matching options
    assert bureau.locator("#subject option:visible").count() == 0
    bureau.fill("input[name=q]", "")
    bureau.select_option("#subject", str(w["S1"]))
    bureau.click("#get-recs")
    bureau.wait_for_selector("#results")
    cards = bureau.locator("article.rec")
    assert cards.count() >= 2
    shown = {
        int(x)
        for x in bureau.locator("article.rec").evaluate_all(
            "els => els.map(e => e.dataset.candidate)"
        )
    }
    assert w["E6"] in shown and w["E8"] in shown
    assert w["E1"] not in shown and w["E5"] not in shown  # partnered; other region
    first = bureau.locator(f"article[data-candidate='{w['E6']}']")
    assert first.locator(".chip").count() >= 1  # reasons as chips
    assert first.locator("table.features tr").count() >= 3  # key features
    assert first.locator(".score").inner_text().strip()
    rec_e6 = int(first.locator("input[name=rec]").get_attribute("value") or 0)
    second = bureau.locator(f"article[data-candidate='{w['E8']}']")
    rec_e8 = int(second.locator("input[name=rec]").get_attribute("value") or 0)
    first.locator("input[name=rec]").check()
    second.locator("input[name=rec]").check()
    bureau.click("#submit-review")
    bureau.wait_for_selector("#submit-results")
    assert "已提交 2 / 2 项" in bureau.inner_text(".flash")

    reviewer = open_as("reviewer_zz")
    reviewer.goto(site.base + "/review")
    item = reviewer.locator(f"#item-{rec_e6}")
    assert item.count() == 1 and reviewer.locator(f"#item-{rec_e8}").count() == 1
    assert item.locator(".chip").count() >= 1
    assert item.locator(".fgrid .fitem").count() >= 5
    # Evidence lists both parties' partners: (enterprise E6: none), (school S1: E1).
    partners = item.locator("ul.partners").all_inner_texts()
    assert len(partners) == 2 and "河南宇航数控机床有限公司" in partners[1]
    # Rejecting needs a reason: the page says so and nothing changes.
    reviewer.locator(f"#item-{rec_e8} button[value=reject]").click()
    assert "须说明理由" in reviewer.inner_text(".flash-err")
    reviewer.locator(f"#item-{rec_e6} button[value=approve]").click()
    assert "已建立结对关系" in reviewer.inner_text(".flash-ok")
    rows = _db(
        site,
        """SELECT id FROM partnerships WHERE status = 'active'
                        AND a_type = 'enterprise' AND a_id = %s AND b_type = 'school'
                        AND b_id = %s AND source = %s""",
        (w["E6"], w["S1"], f"review:{rec_e6}"),
    )
    assert len(rows) == 1
    reviewer.fill(f"#item-{rec_e8} input[name=reason]", "该企业与学校专业方向重合度不足")
    reviewer.locator(f"#item-{rec_e8} button[value=reject]").click()
    assert "已驳回" in reviewer.inner_text(".flash-ok")
    assert reviewer.locator("article.review-item").count() == 0
    assert not _db(
        site,
        "SELECT 1 FROM partnerships WHERE a_type = 'enterprise' AND a_id = %s"
        " AND b_type = 'school' AND b_id = %s",
        (w["E8"], w["S1"]),
    )

    reviewer.click("text=审核记录")
    history = reviewer.locator("#history")
    approved = history.locator(f"tr[data-rec='{rec_e6}']")
    assert "批准" in approved.inner_text() and str(rows[0]["id"]) in approved.inner_text()
    rejected = history.locator(f"tr[data-rec='{rec_e8}']").inner_text()
    assert "驳回" in rejected and "该企业与学校专业方向重合度不足" in rejected
    reviewer.locator(f"a[href='/review/items/{rec_e6}']").first.click()
    timeline = reviewer.inner_text("#timeline")
    assert "批准" in timeline and f"结对编号 {rows[0]['id']}" in timeline
    assert reviewer.locator("form.decide").count() == 0  # decided: no buttons any more

    # The new partnership shows in the network and the next recommendation excludes it.
    reviewer.goto(f"{site.base}/network?type=school&id={w['S1']}")
    assert reviewer.locator(f"svg a.node[data-type=enterprise][data-id='{w['E6']}']").count() == 1


def test_bulk_return(open_as: Any, site: Site) -> None:
    w = site.world
    admin = open_as("admin")
    admin.goto(site.base + "/bureau?type=programme")
    admin.select_option("#subject", str(w["P1"]))  # 郑州: the region's reviewer decides below
    admin.click("#get-recs")
    admin.wait_for_selector("#results")
    ids = admin.locator("article.rec input[name=rec]").evaluate_all("els => els.map(e => e.value)")
    assert ids
    admin.check("input[data-check-all=rec]")  # 全选
    admin.click("#submit-review")
    assert f"已提交 {len(ids)} / {len(ids)} 项" in admin.inner_text(".flash")
    # four eyes: the submitter (admin) cannot decide its own submissions; the region's reviewer
    reviewer = open_as("reviewer_zz")
    reviewer.goto(site.base + "/review")
    for rec in ids:
        reviewer.locator(f"input[name=rec][value='{rec}']").check()
    reviewer.fill("#bulk-form input[name=reason]", "请补充企业的实训条件说明")
    reviewer.click("#bulk-form button[value=return]")
    assert f"已批量退回 {len(ids)} 项" in reviewer.inner_text(".flash-ok")
    states = _db(
        site,
        "SELECT state FROM review_state WHERE recommendation_id = ANY(%s)",
        ([int(i) for i in ids],),
    )
    assert [s["state"] for s in states] == ["returned"] * len(ids)


def test_enterprise_need(open_as: Any, site: Site) -> None:
    page = open_as("ent_e8")
    page.goto(site.base + "/enterprise")
    page.fill(
        "textarea[name=text]", "我们需要数控机床维修与数控编程方向的技术人才，希望共建实训基地"
    )
    page.click("#match")
    page.wait_for_selector("#programmes")
    for section in ("#programmes", "#mentors", "#bases"):
        assert page.locator(f"{section} article.rec").count() >= 1, section
    programmes = page.inner_text("#programmes")
    assert "数控技术" in programmes or "机械设计制造及其自动化" in programmes
    assert page.locator("#programmes .chip").count() >= 1
    assert page.locator("#bases .chip").count() >= 1
    # A stored need of this enterprise: results can be sent to review from here.
    page.select_option("select[name=need_id]", str(site.world["N1"]))
    page.click("#match")
    page.wait_for_selector("#programmes")
    assert page.locator("#programmes input[name=rec]").count() >= 1


def test_network_coverage_import(open_as: Any, site: Site) -> None:
    w = site.world
    admin = open_as("admin")
    admin.goto(f"{site.base}/network?type=school&id={w['S1']}&radius=2")
    svg = admin.locator("svg.netsvg")
    assert svg.count() == 1
    assert svg.locator("a.node").count() >= 2
    assert "郑州智能制造职业学院" in svg.inner_html()
    admin.locator(f"svg a.node[data-type=enterprise][data-id='{w['E1']}']").click()
    admin.wait_for_url(f"**/network?type=enterprise&id={w['E1']}")
    assert "河南宇航数控机床有限公司" in admin.inner_text("h2")

    admin.goto(site.base + "/coverage")
    table = admin.locator("#coverage")
    assert "郑州智能制造职业学院" in table.inner_text()
    assert table.locator("td.cell-under, td.cell-ok, td.cell-over").count() >= 2

    bad = (
        "学校代码,学校名称,办学类型,所在地区\n"
        "4141099001,浏览器测试学院,本科,郑州市\n"
        "4141099002,浏览器测试职业学院,火星学校,郑州市\n"
    ).encode()
    admin.goto(site.base + "/import")
    admin.select_option("select[name=kind]", "schools")
    admin.set_input_files(
        "input[type=file]", {"name": "schools.csv", "mimeType": "text/csv", "buffer": bad}
    )
    admin.click("#upload")
    assert "未写入" in admin.inner_text("#report-status")
    errors = admin.locator("#row-errors tbody tr")
    assert errors.count() == 1
    cells = errors.first.locator("td").all_inner_texts()
    assert cells[0] == "3" and "办学类型" in cells[1] and "火星学校" in cells[2]
    assert not _db(site, "SELECT 1 FROM schools WHERE name = '浏览器测试学院'")
    admin.check("input[name=skip_invalid]")
    admin.set_input_files(
        "input[type=file]", {"name": "schools.csv", "mimeType": "text/csv", "buffer": bad}
    )
    admin.click("#upload")
    assert "已写入" in admin.inner_text("#report-status")
    assert _db(site, "SELECT 1 FROM schools WHERE name = '浏览器测试学院'")
