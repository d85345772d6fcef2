"""The README's "who may do what" table is the access policy's: README.md and
docs/notes/issue-10.md hold exactly what service.auth.policy.rules_markdown() prints."""

from __future__ import annotations

import re

import pytest

from service.auth import policy
from service.config import REPO_ROOT


@pytest.mark.parametrize("doc", ["README.md", "docs/notes/issue-10.md"])
def test_documented_table_is_the_policy(doc: str) -> None:
    text = (REPO_ROOT / doc).read_text(encoding="utf-8")
    m = re.search(r"<!-- policy-table:start -->\n(.*?)\n<!-- policy-table:end -->", text, re.S)
    assert m is not None, "policy table markers missing"
    assert m.group(1).strip() == policy.rules_markdown().strip()


def test_every_role_and_action_has_a_rule() -> None:
    for action, per_role in policy.RULES.items():
        assert set(per_role) == set(policy.ROLE_ORDER), action
        assert set(per_role.values()) <= set(policy.SCOPE_LABELS), action
        assert action in policy.ACTION_LABELS


def test_fail_closed() -> None:
    from service.auth.schemas import User

    bureau = User(1, "b", "", "bureau", 2, "410100", "郑州市", "410000.410100", None, None)
    lost = User(2, "l", "", "bureau", None, None, None, None, None, None)
    row = policy.Target("school", ("410000.410100.410102",))
    nowhere = policy.Target("school", (None,))
    assert policy.allowed(bureau, "catalogue.write", row)
    assert not policy.allowed(bureau, "catalogue.write", nowhere)  # no region: admins only
    assert not policy.allowed(lost, "catalogue.write", row)  # an account without a region
    assert not policy.allowed(bureau, "catalogue.write", policy.Target("school", ()))
    assert policy.allowed(policy.SYSTEM, "catalogue.write", nowhere)
    assert not policy.allowed(None, "catalogue.write", row)
    # a sibling whose code starts with the same digits is not inside
    assert not policy.inside(bureau, "410000.4101000")
