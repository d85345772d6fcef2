"""Which pair a review item would join, and who may submit or see it (through the access policy,
service.auth.policy)."""

from typing import Any

import psycopg

from service.auth import policy, targets
from service.auth.schemas import User
from service.errors import InvalidInput
from service.review import repository as repo
from service.review.pairs import Pair, Party, canonical


def pair_of(conn: psycopg.Connection, rec: dict[str, Any]) -> Pair:
    """The two parties approval would join. A need stands for its enterprise."""
    if rec["pair_a_type"] is not None:
        return Pair(
            Party(rec["pair_a_type"], rec["pair_a_id"]), Party(rec["pair_b_type"], rec["pair_b_id"])
        )
    s_type, s_id = rec["subject_type"], rec["subject_id"]
    if s_id is None:
        raise InvalidInput(f"推荐 {rec['id']} 的请求方是自由文本，无法建立结对 (no_subject)")
    if s_type == "need":
        ent = repo.need_enterprise(conn, s_id)
        if ent is None:
            raise InvalidInput(f"需求 {s_id} 不存在")
        s_type, s_id = "enterprise", ent
    try:
        return canonical(Party(s_type, s_id), Party(rec["candidate_type"], rec["candidate_id"]))
    except ValueError as exc:
        raise InvalidInput(f"推荐 {rec['id']}：{exc}") from exc


def item_target(conn: psycopg.Connection | None, rec: dict[str, Any]) -> policy.Target:
    """A review item for the access policy: its region, and as owners its requester's subject
    (a school account owns its school's items) and its submitter."""
    owners: set[tuple[str, int]] = set()
    if rec.get("submitted_by") is not None:
        owners.add(("user", int(rec["submitted_by"])))
    if conn is not None and rec["subject_id"] is not None and rec["subject_type"] != "text":
        subject = (rec["subject_type"], int(rec["subject_id"]))
        owners |= targets.of_rows(conn, [subject])[subject].owners
    return policy.Target("recommendation", (rec["region_path"],), frozenset(owners))


def check_can_submit(conn: psycopg.Connection, user: User, rec: dict[str, Any]) -> None:
    target = item_target(conn, {**rec, "submitted_by": None})  # owning = owning the subject
    policy.require(user, "review.submit", target, f"推荐 {rec['id']}")


def check_can_view(user: User, rec: dict[str, Any]) -> None:
    # submitters follow their items (a return comes back to them)
    policy.require(user, "review.read", item_target(None, rec), f"推荐 {rec['id']}")
