"""Who may do what: the one authorisation module. Every router and service asks it.

A decision is role × region × ownership:

* region: every region the target touches (a partnership touches both parties' regions) must lie
  inside the actor's region. A target without a region is for province admins only (fail closed),
  and so is an account that has lost its region.
* ownership: a school account owns its school and what hangs from it (programmes, its mentors,
  the practice bases it hosts); an enterprise account owns its enterprise, its needs, mentors and
  hosted practice bases; every account owns what it requested or submitted (runs, review items).

`RULES` is the table the README's "who may do what" is generated from (`rules_markdown`), and
`allowed` reads nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from service.errors import Forbidden, Unauthorized

ADMIN = "province_admin"
ANONYMOUS = "anonymous"
ROLE_ORDER = (ADMIN, "reviewer", "bureau", "school", "enterprise", ANONYMOUS)

# How a role's permission for an action is limited.
EVERYWHERE = "everywhere"  # any row
REGION = "region"  # rows whose regions all lie inside the actor's region
OWN = "own"  # rows the actor owns (see module docstring)
REGION_OR_OWN = "region_or_own"
NEVER = "never"

_NONE = dict.fromkeys(ROLE_ORDER, NEVER)

RULES: dict[str, dict[str, str]] = {
    # the published catalogue (without contacts) is open
    "catalogue.read": dict.fromkeys(ROLE_ORDER, EVERYWHERE),
    # create / update / delete / import of bureaus, parks, schools, programmes, enterprises,
    # needs, mentors, practice bases
    "catalogue.write": {**_NONE, ADMIN: EVERYWHERE, "bureau": REGION, "school": OWN,
                        "enterprise": OWN},
    # declaring (filing), editing, ending or importing partnerships; the recommender's proposals
    # become partnerships only through review.decide
    "partnership.write": {**_NONE, ADMIN: EVERYWHERE, "bureau": REGION},
    # contact names, phones and e-mails of catalogue rows and partnerships
    "contacts.read": {**_NONE, ADMIN: EVERYWHERE, "bureau": REGION, "school": OWN,
                      "enterprise": OWN},
    "audit.read": {**_NONE, ADMIN: EVERYWHERE, "reviewer": REGION, "bureau": REGION},
    # contact fields inside audit snapshots
    "audit.contacts": {**_NONE, ADMIN: EVERYWHERE},
    "run.read": {**_NONE, ADMIN: EVERYWHERE, "reviewer": REGION_OR_OWN, "bureau": REGION_OR_OWN,
                 "school": OWN, "enterprise": OWN},
    # asking for recommendations for a stored subject (free text: any account)
    "recommend": {**_NONE, ADMIN: EVERYWHERE, "reviewer": REGION, "bureau": REGION,
                  "school": OWN, "enterprise": OWN},
    "review.submit": {**_NONE, ADMIN: EVERYWHERE, "reviewer": REGION, "bureau": REGION,
                      "school": OWN, "enterprise": OWN},
    # deciding someone else's submission (four eyes: never one's own, see `require_decide`)
    "review.decide": {**_NONE, ADMIN: EVERYWHERE, "reviewer": REGION, "bureau": REGION},
    "review.read": {**_NONE, ADMIN: EVERYWHERE, "reviewer": REGION_OR_OWN,
                    "bureau": REGION_OR_OWN, "school": OWN, "enterprise": OWN},
    "user.create": {**_NONE, ADMIN: EVERYWHERE},
}  # fmt: skip

# Root rows an own-scoped account may update but neither create nor delete.
_ROOTS = {"school": "school", "enterprise": "enterprise"}

ACTION_LABELS = {
    "catalogue.read": "读取公开目录（不含联系方式）",
    "catalogue.write": "新建、修改、删除、导入目录数据",
    "partnership.write": "登记、修改、结束、导入结对关系",
    "contacts.read": "查看联系人与联系方式",
    "audit.read": "查看审计记录",
    "audit.contacts": "查看审计快照中的联系方式",
    "run.read": "查看推荐记录",
    "recommend": "为学校、专业、园区、需求请求推荐",
    "review.submit": "提交推荐进入审核",
    "review.decide": "审核决定（不能决定本人提交的）",
    "review.read": "查看审核项及其历史",
    "user.create": "创建账号",
}
SCOPE_LABELS = {
    EVERYWHERE: "全部",
    REGION: "本辖区",
    OWN: "本单位 / 本人",
    REGION_OR_OWN: "本辖区或本人",
    NEVER: "—",
}
ROLE_LABELS = {
    ADMIN: "省级管理员",
    "reviewer": "审核员",
    "bureau": "教育行政部门",
    "school": "学校",
    "enterprise": "企业",
    ANONYMOUS: "未登录",
}


@dataclass(frozen=True)
class Target:
    """What the policy needs to know about a row: the regions it touches (region paths such as
    '410000.410100') and who owns it, as ('school', id), ('enterprise', id) or ('user', id)."""

    kind: str
    regions: tuple[str | None, ...] = ()
    owners: frozenset[tuple[str, int]] = field(default_factory=frozenset)

    def merged(self, other: Target) -> Target:
        return Target(self.kind, self.regions + other.regions, self.owners | other.owners)


@dataclass(frozen=True)
class SystemActor:
    """Trusted local callers (the `xiaoqi` CLI, sample loading): a province admin with no
    account. HTTP handlers never pass it; they pass the request's user (None = anonymous)."""

    id: None = None
    # Loading a record of partnerships that already exist (the generated sample world): the
    # capacity and quota limits, which govern new pairings, are not applied to it.
    historical: bool = False
    username: str = "system"
    role: str = ADMIN
    region_path: None = None
    school_id: None = None
    enterprise_id: None = None


SYSTEM = SystemActor()
HISTORY = SystemActor(historical=True)


def role_of(actor: Any) -> str:
    return ANONYMOUS if actor is None else str(actor.role)


def identities(actor: Any) -> set[tuple[str, int]]:
    if actor is None:
        return set()
    ids = {("user", int(actor.id))} if actor.id is not None else set()
    if actor.role == "school" and actor.school_id is not None:
        ids.add(("school", int(actor.school_id)))
    if actor.role == "enterprise" and actor.enterprise_id is not None:
        ids.add(("enterprise", int(actor.enterprise_id)))
    return ids


def inside(actor: Any, region_path: str | None) -> bool:
    """Does the region lie inside the actor's? Fail closed: no region → province admins only."""
    if actor is not None and actor.role == ADMIN:
        return True
    scope = getattr(actor, "region_path", None)
    if not scope or region_path is None:
        return False
    return region_path == scope or region_path.startswith(scope + ".")


def region_scope(actor: Any) -> str | None:
    """The region path prefix a listing is limited to; None = the whole province (admin).
    '-' matches no path: an account without a region sees nothing regional."""
    if actor is not None and actor.role == ADMIN:
        return None
    return getattr(actor, "region_path", None) or "-"


def _in_region(actor: Any, target: Target) -> bool:
    return bool(target.regions) and all(inside(actor, r) for r in target.regions)


def _owns(actor: Any, target: Target) -> bool:
    return bool(identities(actor) & target.owners)


def allowed(actor: Any, action: str, target: Target, *, verb: str = "") -> bool:
    """May `actor` (a User, or None when anonymous) do `action` on `target`?

    `verb` ('create', 'update', 'delete') matters for own-scoped catalogue writes: a school or
    enterprise account updates its own school / enterprise but does not create or delete it."""
    rule = RULES[action].get(role_of(actor), NEVER)
    if rule == EVERYWHERE:
        return True
    if rule == NEVER:
        return False
    if rule in (OWN, REGION_OR_OWN) and _owns(actor, target):
        if action == "catalogue.write" and _ROOTS.get(target.kind) == actor.role:
            return verb == "update"
        return True
    if rule in (REGION, REGION_OR_OWN):
        return _in_region(actor, target)
    return False


def require(actor: Any, action: str, target: Target, what: str, *, verb: str = "") -> None:
    """Raise 401 (anonymous, where an account would be needed) or 403 with the reason."""
    if allowed(actor, action, target, verb=verb):
        return
    if actor is None:
        raise Unauthorized("请先登录 (login_required)")
    rule = RULES[action].get(actor.role, NEVER)
    if rule == NEVER:
        role = ROLE_LABELS[actor.role]
        raise Forbidden(f"{role}账号无权{ACTION_LABELS[action]} (role_forbidden)")
    if rule == OWN:
        raise Forbidden(f"{what}不属于本单位，无权操作 (not_owner)")
    raise Forbidden(f"{what}不在您的辖区内 (out_of_region)")


def require_role(actor: Any, action: str) -> str:
    """The actor's rule for `action` (401 anonymous / 403 when it is NEVER). For listings that
    then narrow to `region_scope` or to owned rows."""
    rule = RULES[action].get(role_of(actor), NEVER)
    if rule == NEVER:
        if actor is None:
            raise Unauthorized("请先登录 (login_required)")
        role = ROLE_LABELS[actor.role]
        raise Forbidden(f"{role}账号无权{ACTION_LABELS[action]} (role_forbidden)")
    return rule


def require_decide(actor: Any, target: Target, submitted_by: int | None, what: str) -> None:
    """Four eyes: deciders of the item's region, never on their own submission."""
    require(actor, "review.decide", target, what)
    if submitted_by is not None and actor is not None and submitted_by == actor.id:
        raise Forbidden(f"不能审核本人提交的{what}（四眼原则）(own_submission)")


def filter_allowed(actor: Any, action: str, targets: Iterable[Target]) -> list[bool]:
    return [allowed(actor, action, t) for t in targets]


def rules_markdown() -> str:
    """The README's "who may do what" table, straight from RULES."""
    roles = [r for r in ROLE_ORDER]
    head = "| 操作 | " + " | ".join(ROLE_LABELS[r] for r in roles) + " |"
    sep = "|---|" + "---|" * len(roles)
    lines = [head, sep]
    for action, per_role in RULES.items():
        cells = [SCOPE_LABELS[per_role.get(r, NEVER)] for r in roles]
        lines.append(f"| {ACTION_LABELS[action]} (`{action}`) | " + " | ".join(cells) + " |")
    return "\n".join(lines)
