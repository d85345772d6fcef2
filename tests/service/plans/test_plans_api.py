"""Plans over real HTTP on a real database: leading industries, POST /v1/plans (quotas hold,
no duplicate or guard-refused pair, infeasibility named), review as one batch, partial approval."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from service.config import Settings
from service.main import create_app
from tests.conftest import truncate_all
from tests.fixtures.server import running_server
from tests.service.auth.helpers import login, make_user
from tests.service.plans.world import ANYANG, World, build

SETTINGS = {
    "schools_per_industry": {"min": 2, "max": 6},
    "industries_per_school": {"min": 2, "max": 3},
    "max_new_pairs_per_school_industry": 2,
    "enterprise_partner_limit": 2,
}


@pytest.fixture(scope="module")
def setup(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, World]]:
    truncate_all(pg_url)
    world = build(pg_url)
    make_user(pg_url, "bureau_ay", "bureau", region=ANYANG)
    make_user(pg_url, "bureau_zz", "bureau", region="410100")
    make_user(pg_url, "bureau_ay2", "bureau", region=ANYANG)  # the second pair of eyes
    make_user(pg_url, "reviewer_ay", "reviewer", region=ANYANG)
    settings = Settings(database_url=pg_url, mode="test", var_dir=tmp_path_factory.mktemp("v"))
    with running_server(create_app(settings)) as base:
        deadline = time.monotonic() + 180
        while httpx.get(f"{base}/health").json().get("engine") != "ready":
            assert time.monotonic() < deadline, "engine did not load"
            time.sleep(0.2)
        yield base, world
    truncate_all(pg_url)
    with psycopg.connect(pg_url) as c:
        c.execute("DELETE FROM leading_industries")


@pytest.fixture(scope="module")
def bureau(setup: tuple[str, World]) -> Iterator[httpx.Client]:
    c = login(setup[0], "bureau_ay")
    yield c
    c.close()


def _plan(client: httpx.Client, **settings: Any) -> dict[str, Any]:
    r = client.post("/v1/plans", json={"region": ANYANG, "settings": {**SETTINGS, **settings}})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _active_pairs(url: str) -> set[tuple[int, int]]:
    with psycopg.connect(url, row_factory=dict_row) as c:
        rows = c.execute(
            """SELECT pr.school_id, p.a_id AS enterprise_id FROM partnerships p
               JOIN programmes pr ON pr.id = p.b_id
               WHERE p.status = 'active' AND p.a_type = 'enterprise' AND p.b_type = 'programme'"""
        ).fetchall()
    return {(r["school_id"], r["enterprise_id"]) for r in rows}


def test_leading_industries_are_editable_by_the_region_only(
    setup: tuple[str, World], bureau: httpx.Client
) -> None:
    base, _ = setup
    got = httpx.get(f"{base}/v1/regions/{ANYANG}/leading-industries").json()
    assert [i["code"] for i in got["industries"]] == ["31", "34", "36", "14"]
    other = login(base, "bureau_zz")
    body = {"industries": [{"code": "C36", "name": "汽车制造业"}]}
    assert other.put(f"/v1/regions/{ANYANG}/leading-industries", json=body).status_code == 403
    one = {"industries": [{"code": "3", "name": "x"}]}
    bad = bureau.put(f"/v1/regions/{ANYANG}/leading-industries", json=one)
    assert bad.status_code == 422
    csv_bad = "代码,名称\n36,汽车制造业\nabc,坏行\n".encode()
    r = bureau.post(
        f"/v1/regions/{ANYANG}/leading-industries/import", files={"file": ("li.csv", csv_bad)}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["row"] == 3
    csv_ok = "代码,名称\n31,钢铁\nC34,通用设备\n36,汽车\n14,食品\n".encode()
    r = bureau.post(
        f"/v1/regions/{ANYANG}/leading-industries/import", files={"file": ("li.csv", csv_ok)}
    )
    assert r.status_code == 200, r.text
    assert [i["code"] for i in r.json()["industries"]] == ["31", "34", "36", "14"]


def test_plan_meets_every_quota_without_duplicates(
    setup: tuple[str, World], bureau: httpx.Client, pg_url: str
) -> None:
    body = _plan(bureau)
    assert body["status"] == "optimal", body["message"]
    assert body["gap"] < 1e-6 and body["pruning_bound"] is not None
    existing = _active_pairs(pg_url)
    pairs = [(p["school_id"], p["enterprise_id"]) for p in body["pairs"]]
    assert pairs and len(pairs) == len(set(pairs))
    assert not set(pairs) & existing  # an active partnership is never proposed again
    for cell in body["coverage"]:
        assert cell["min"] <= cell["after"] <= cell["max"], cell
    per_school: dict[int, set[str]] = {}
    per_ent: dict[int, int] = {}
    for p in body["pairs"]:
        per_school.setdefault(p["school_id"], set()).add(p["industry"])
        per_ent[p["enterprise_id"]] = per_ent.get(p["enterprise_id"], 0) + 1
        assert p["reasons"] and p["fit"] > 0
    assert all(n <= 2 for n in per_ent.values())
    assert all(len(v) <= 3 for v in per_school.values())


def test_infeasible_request_names_the_quota_and_shortfall(
    setup: tuple[str, World], bureau: httpx.Client
) -> None:
    body = _plan(bureau, schools_per_industry={"min": 12, "max": 12})
    assert body["status"] == "infeasible"
    mins = [s for s in body["shortfalls"] if s["kind"] == "industry_min_schools"]
    assert {s["subject"] for s in mins} == {f"{ANYANG}:{d}" for d in ("31", "34", "36", "14")}
    for s in mins:
        assert s["required"] == 12 and s["eligible"] < 12
        assert "安阳市" in s["message"] and "需要 12 所" in s["message"]
    assert "无法同时满足全部配额" in body["message"]


def test_outside_region_is_refused(setup: tuple[str, World]) -> None:
    other = login(setup[0], "bureau_zz")
    r = other.post("/v1/plans", json={"region": ANYANG})
    assert r.status_code == 403


def test_review_as_one_batch_and_partial_approval_keeps_quotas(
    setup: tuple[str, World], bureau: httpx.Client, pg_url: str
) -> None:
    base, _ = setup
    plan = _plan(bureau)
    pid = plan["plan_id"]
    # a plan's pairs are decided like review items: by the region's reviewer (review.decide)
    reviewer = login(base, "reviewer_ay")
    assert reviewer.post(f"/v1/plans/{pid}/approve", json={}).status_code == 409  # not submitted
    assert bureau.post(f"/v1/plans/{pid}/submit").status_code == 200
    assert bureau.post(f"/v1/plans/{pid}/submit").status_code == 409
    # submitted pairs are pending review: a new plan does not propose them again
    again = _plan(bureau, schools_per_industry={"min": 0, "max": 6},
                  industries_per_school={"min": 0, "max": 3})  # fmt: skip
    proposed = {(p["school_id"], p["enterprise_id"]) for p in plan["pairs"]}
    assert not proposed & {(p["school_id"], p["enterprise_id"]) for p in again["pairs"]}
    assert bureau.post(f"/v1/plans/{pid}/approve", json={}).status_code == 403  # four eyes
    first = plan["pairs"][0]["school_id"]
    r = reviewer.post(f"/v1/plans/{pid}/approve", json={"schools": [first]})
    assert r.status_code == 200, r.text
    got = r.json()
    mine = [p for p in plan["pairs"] if p["school_id"] == first]
    assert len(got["approved"]) + len(got["refused"]) == len(mine)
    assert got["approved"]
    active = _active_pairs(pg_url)
    for a in got["approved"]:
        item = next(p for p in plan["pairs"] if p["item_id"] == a["item_id"])
        assert (item["school_id"], item["enterprise_id"]) in active
    # the remaining part is what the unmet minimums still need
    assert got["remaining"]["industries"] or got["remaining"]["schools"]
    for need in got["remaining"]["industries"]:
        assert need["needs"] == need["min"] - need["now"] > 0
    # the rest of the plan, approved too: every maximum still holds on the live partnerships
    rest = reviewer.post(f"/v1/plans/{pid}/approve", json={})
    assert rest.status_code == 200, rest.text
    view = reviewer.get(f"/v1/plans/{pid}").json()
    assert all(i["status"] in ("approved", "proposed") for i in view["items"])
    per_ent: dict[int, int] = {}
    for _, e in _active_pairs(pg_url):
        per_ent[e] = per_ent.get(e, 0) + 1
    assert max(per_ent.values()) <= 2 + 1  # the limit, plus the one pair that predates the plan


def test_plan_page_runs_sends_and_exports(setup: tuple[str, World], bureau: httpx.Client) -> None:
    import io

    from openpyxl import load_workbook

    page = bureau.get("/plans")
    assert page.status_code == 200 and 'id="run-plan"' in page.text
    form = {"region": ANYANG, "min_schools": "2", "max_schools": "6",
            "min_industries": "2", "max_industries": "3"}  # fmt: skip
    r = bureau.post("/plans/run", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    shown = bureau.get(r.headers["location"])
    assert 'id="plan-coverage"' in shown.text and 'id="plan-pairs"' in shown.text
    assert "整批提交审核" in shown.text
    pid = int(r.headers["location"].split("=")[1])
    bad = bureau.post("/plans/run", data={**form, "min_schools": "9"}, follow_redirects=False)
    assert bad.status_code == 422 and "下限不能大于上限" in bad.text
    sent = bureau.post(f"/plans/{pid}/send", follow_redirects=False)
    assert sent.status_code == 303
    assert "已作为一批提交审核" in bureau.get(f"/plans?plan={pid}").text
    decider = login(setup[0], "bureau_ay2")
    school = bureau.get(f"/v1/plans/{pid}").json()["items"][0]["school_id"]
    part = decider.post(f"/plans/{pid}/approve", data={"scope": "school", "key": str(school)},
                        follow_redirects=False)  # fmt: skip
    assert part.status_code == 303, part.text
    after = decider.get(f"/plans?plan={pid}").text
    assert 'id="remaining"' in after and "已批准" in after
    x = bureau.get(f"/plans/{pid}.xlsx")
    assert x.status_code == 200
    wb = load_workbook(io.BytesIO(x.content))
    pairs = bureau.get(f"/v1/plans/{pid}").json()["items"]
    assert wb["结对方案"].max_row == len(pairs) + 1
    assert wb["覆盖情况"].max_row > 1


def test_export_neutralises_formula_cells() -> None:
    from service.plans.export import safe_cell

    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_cell("@SUM") == "'@SUM" and safe_cell("-1+1") == "'-1+1"
    assert safe_cell("安阳") == "安阳" and safe_cell(3) == 3


def test_cli_plan_for_a_region(
    setup: tuple[str, World], pg_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from scripts.cli import _register_all, app
    from service.config import get_settings

    monkeypatch.setenv("XIAOQI_DATABASE_URL", pg_url)
    monkeypatch.setenv("XIAOQI_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        if not any(c.name == "plan" for c in app.registered_commands):
            _register_all()
        runner = CliRunner()
        args = ["plan", "--region", ANYANG, "--min-schools", "2", "--max-schools", "6"]
        ok = runner.invoke(app, [*args, "--json", "--no-store"])
        assert ok.exit_code == 0, ok.output
        body = json.loads(ok.output.strip().splitlines()[-1])
        assert body["status"] == "optimal" and body["plan_id"] is None and body["pairs"]
        bad = runner.invoke(app, ["plan", "--region", ANYANG, "--min-schools", "12",
                                  "--max-schools", "12", "--no-store"])  # fmt: skip
        assert bad.exit_code == 2 and "需要 12 所" in bad.output
    finally:
        get_settings.cache_clear()
