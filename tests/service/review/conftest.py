from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.service.auth.helpers import base_url, make_user
from tests.service.review import factories as f

__all__ = ["base_url"]


@dataclass
class World:
    url: str
    users: dict[str, int] = field(default_factory=dict)
    schools: dict[str, int] = field(default_factory=dict)
    enterprises: dict[str, int] = field(default_factory=dict)


@pytest.fixture
def world(clean_db: str) -> World:
    """郑州 and 洛阳: two schools, a few enterprises, one user per role."""
    w = World(clean_db)
    with psycopg.connect(clean_db, row_factory=dict_row) as c:
        w.schools["zz"] = f.school(c, "郑州职业技术学院", "410100")
        w.schools["ly"] = f.school(c, "洛阳职业技术学院", "410300")
        for i in range(1, 6):
            w.enterprises[f"zz{i}"] = f.enterprise(c, f"郑州装备制造有限公司{i}", "410100")
        w.enterprises["ly1"] = f.enterprise(c, "洛阳轴承有限公司", "410300")
    w.users["admin"] = make_user(clean_db, "admin", "province_admin")
    w.users["reviewer_zz"] = make_user(clean_db, "reviewer_zz", "reviewer", region="410100")
    w.users["bureau_zz"] = make_user(clean_db, "bureau_zz", "bureau", region="410100")
    w.users["bureau_ly"] = make_user(clean_db, "bureau_ly", "bureau", region="410300")
    w.users["school_zz"] = make_user(clean_db, "school_zz", "school", school_id=w.schools["zz"])
    w.users["ent_zz"] = make_user(
        clean_db, "ent_zz", "enterprise", enterprise_id=w.enterprises["zz1"]
    )
    return w
