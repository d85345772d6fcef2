"""Who may edit a region's leading industries, run its plans, send them to review, decide.

Asks service.auth.policy (the one authorisation module) with the region as the target. Until
that module is committed everywhere, the same rules are read from service.auth.deps' scope
helpers, so this file stays importable on a clean checkout.
"""

from __future__ import annotations

from typing import Any

from service.errors import Forbidden, Unauthorized

_ROLES = {  # used only without service.auth.policy, mirroring its RULES for these actions
    "catalogue.write": ("province_admin", "bureau"),
    "recommend": ("province_admin", "reviewer", "bureau"),
    "review.submit": ("province_admin", "reviewer", "bureau"),
    "review.decide": ("province_admin", "reviewer", "bureau"),
}


def require(actor: Any, action: str, region_path: str, what: str) -> None:
    """403 unless `actor` may do `action` on something in the region at `region_path`."""
    try:
        from service.auth import policy
    except ImportError:
        policy = None  # type: ignore[assignment]
    if policy is not None:
        policy.require(actor, action, policy.Target("region", (region_path,)), what)
        return
    from service.auth.deps import in_scope

    if actor is None:
        raise Unauthorized("请先登录 (login_required)")
    if actor.role not in _ROLES[action]:
        raise Forbidden("当前账号角色无权进行此操作 (role_forbidden)")
    if not in_scope(actor, region_path):
        raise Forbidden(f"{what}不在您的辖区内 (out_of_region)")


def require_decide(actor: Any, region_path: str, submitted_by: int | None, what: str) -> None:
    """Four eyes: a decider of the region, never on their own submission."""
    require(actor, "review.decide", region_path, what)
    if submitted_by is not None and actor is not None and submitted_by == actor.id:
        raise Forbidden(f"不能审核本人提交的{what}（四眼原则）(own_submission)")
