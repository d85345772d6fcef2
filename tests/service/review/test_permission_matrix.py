"""The permission matrix, generated from the app's routes: every catalogue write route (create,
update, delete of each entity, partnerships included) × every role × own / in-region but not own
/ out-of-region → the status the issue's rules give. The expectations are written out here, not
read from service.auth.policy, so a policy change that breaks a rule fails this test.

(The shape of polarsource/polar's `test_not_writable_organization` tests.)
"""

from __future__ import annotations

import itertools
import re
from contextlib import ExitStack
from typing import Any

import httpx
import psycopg

from models.codes import major_catalogue
from service.config import Settings
from service.main import create_app
from tests.service.auth.helpers import login
from tests.service.catalog.helpers import credit_code
from tests.service.review import factories as f
from tests.service.review.conftest import World

ROLES = ("anonymous", "admin", "reviewer_zz", "bureau_zz", "school_zz", "ent_zz")
SITUATIONS = ("own", "in_region_not_own", "out_of_region")
REGION = {"own": "410100", "in_region_not_own": "410100", "out_of_region": "410300"}
# Variants: a mentor and a practice base hang from a school or from an enterprise.
VARIANTS = {
    "bureaus": ["bureau"],
    "parks": ["park"],
    "schools": ["school"],
    "programmes": ["programme"],
    "enterprises": ["enterprise"],
    "needs": ["need"],
    "mentors": ["mentor_s", "mentor_e"],
    "practice-bases": ["base_s", "base_e"],
    "partnerships": ["partnership"],
}
SCHOOL_OWNED = {"programme", "mentor_s", "base_s"}
ENTERPRISE_OWNED = {"need", "mentor_e", "base_e"}
SUCCESS = {"POST": 201, "PATCH": 200, "DELETE": 204}
VERB = {"POST": "create", "PATCH": "update", "DELETE": "delete"}
_n = itertools.count(1)


def expected(role: str, variant: str, method: str, situation: str) -> int:
    """The issue's rules: admins everywhere; a bureau inside its region; a school or enterprise
    account its own rows (its school / enterprise: update only); reviewers write nothing."""
    ok = SUCCESS[method]
    if role == "anonymous":
        return 401
    if role == "admin":
        return ok
    if role == "reviewer_zz":
        return 403
    if role == "bureau_zz":
        return ok if situation != "out_of_region" else 403
    owned, root = (
        (SCHOOL_OWNED, "school") if role == "school_zz" else (ENTERPRISE_OWNED, "enterprise")
    )
    if situation == "own" and (variant in owned or (variant == root and VERB[method] == "update")):
        return ok
    return 403


def write_routes() -> list[tuple[str, str]]:
    """(method, entity segment) of every catalogue write route the app serves (read from the
    app's route table, as its OpenAPI document lists it)."""
    app = create_app(Settings(database_url="postgresql://unused/none", mode="test"))
    out = set()
    for path, item in app.openapi()["paths"].items():
        for method, op in item.items():
            if "catalogue 目录" not in op.get("tags", []) or method not in (
                "post",
                "patch",
                "delete",
            ):
                continue
            m = re.fullmatch(r"/v1/([a-z-]+)(/\{row_id\})?", path)
            assert m is not None, path
            out.add((method.upper(), m.group(1)))
    return sorted(out)


class Rows:
    """Fresh rows for each case: owners per situation, bodies per variant."""

    def __init__(self, world: World, admin: httpx.Client) -> None:
        self.w, self.admin = world, admin
        with psycopg.connect(world.url) as c:
            other_school = f.school(c, "郑州第二职业学院")
            other_ent = f.enterprise(c, "郑州其他科技有限公司")
        self.school = {
            "own": world.schools["zz"],
            "in_region_not_own": other_school,
            "out_of_region": world.schools["ly"],
        }
        self.ent = {
            "own": world.enterprises["zz1"],
            "in_region_not_own": other_ent,
            "out_of_region": world.enterprises["ly1"],
        }
        self.majors = iter(
            code for code, (_, level) in sorted(major_catalogue().items()) if level == "高职专科"
        )

    def body(self, variant: str, situation: str) -> dict[str, Any]:
        n, region = next(_n), REGION[situation]
        school, ent = self.school[situation], self.ent[situation]
        return {
            "bureau": {"name": f"矩阵教育局{n}", "region": region},
            "park": {"name": f"矩阵产业园{n}", "region": region},
            "school": {"code": f"M{n:07d}", "name": f"矩阵学院{n}", "kind": "高职专科",
                       "region": region},
            "programme": {"school_id": school, "major_code": next(self.majors)},
            "enterprise": {"credit_code": credit_code(region), "name": f"矩阵{n}号科技有限公司",
                           "region": region},
            "need": {"enterprise_id": ent, "kind": "talent", "title": f"矩阵需求{n}"},
            "mentor_s": {"name": f"矩阵导师{n}", "kind": "academic", "school_id": school},
            "mentor_e": {"name": f"矩阵导师{n}", "kind": "industry_professor",
                         "enterprise_id": ent},
            "base_s": {"name": f"矩阵基地{n}", "region": region, "host_school_id": school},
            "base_e": {"name": f"矩阵基地{n}", "region": region, "host_enterprise_id": ent},
            "partnership": self.fresh_pair(region),
        }[variant]  # fmt: skip

    def fresh_pair(self, region: str) -> dict[str, Any]:
        n = next(_n)
        with psycopg.connect(self.w.url) as c:
            s = f.school(c, f"矩阵结对学院{n}", region)
            e = f.enterprise(c, f"矩阵结对{n}号材料有限公司", region)
        return {"a": {"type": "school", "id": s}, "b": {"type": "enterprise", "id": e}}

    def existing(self, segment: str, variant: str, situation: str, method: str) -> int:
        """The row a PATCH / DELETE acts on. A school or enterprise account's own school or
        enterprise is the row itself (PATCH); other cases get a fresh row made by the admin."""
        if (
            method == "PATCH"
            and variant in ("school", "enterprise")
            and situation != "in_region_not_own"
        ):
            return int((self.school if variant == "school" else self.ent)[situation])
        r = self.admin.post(f"/v1/{segment}", json=self.body(variant, situation))
        assert r.status_code == 201, r.text
        return int(r.json()["id"])


PATCH_BODY = {"bureau": {"contact_name": "矩阵"}, "partnership": {"progress": "矩阵"}}


def test_every_write_route_by_role_and_situation(world: World, base_url: str) -> None:
    routes = write_routes()
    assert {s for _, s in routes} == set(VARIANTS)  # a new catalogue entity must join the matrix
    assert len(routes) == 3 * len(VARIANTS)
    failures: list[str] = []
    with ExitStack() as stack:
        clients = {"anonymous": stack.enter_context(httpx.Client(base_url=base_url, timeout=60))}
        for role in ROLES[1:]:
            clients[role] = login(base_url, role)
            stack.callback(clients[role].close)
        rows = Rows(world, clients["admin"])
        cases = 0
        for method, segment in routes:
            for variant in VARIANTS[segment]:
                for situation in SITUATIONS:
                    for role in ROLES:
                        want = expected(role, variant, method, situation)
                        c = clients[role]
                        if method == "POST":
                            r = c.post(f"/v1/{segment}", json=rows.body(variant, situation))
                        else:
                            row_id = rows.existing(segment, variant, situation, method)
                            path = f"/v1/{segment}/{row_id}"
                            body = PATCH_BODY.get(variant, {"description": "矩阵"})
                            r = c.patch(path, json=body) if method == "PATCH" else c.delete(path)
                        cases += 1
                        if r.status_code != want:
                            failures.append(
                                f"{method} /v1/{segment} [{variant}] {role} {situation}: "
                                f"{r.status_code} ≠ {want} {r.text[:120]}"
                            )
    assert not failures, "\n".join(failures)
    assert cases == sum(len(VARIANTS[s]) for _, s in routes) * len(SITUATIONS) * len(ROLES)
