"""Who may edit a region's leading industries, run its plans, send them to review, decide.

Thin wrappers over service.auth.policy (the one authorisation module), with the region as the
target; no rule is written here.
"""

from __future__ import annotations

from typing import Any

from service.auth import policy


def _region(region_path: str) -> policy.Target:
    return policy.Target("region", (region_path,))


def require(actor: Any, action: str, region_path: str, what: str) -> None:
    """403 unless `actor` may do `action` on something in the region at `region_path`."""
    policy.require(actor, action, _region(region_path), what)


def require_decide(actor: Any, region_path: str, submitted_by: int | None, what: str) -> None:
    """Four eyes: a decider of the region, never on their own submission."""
    policy.require_decide(actor, _region(region_path), submitted_by, what)
