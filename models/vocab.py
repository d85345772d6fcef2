"""The project's vocabularies, each once: codes as stored in PostgreSQL, with their Chinese labels.

Everything that names a party type, school kind, programme level, enterprise size or status,
need or mentor kind, partnership kind / status / source, review state or decision imports it
from here: the catalogue's request types, the web pages' labels, the importers' parsers, the
sample generator. The migrations' CHECK constraints list the same codes; tests/test_vocab.py
compares them with the migrated database and fails when a second copy of a list appears in the
tree. Pure: no FastAPI, no psycopg (models/ may import it too).
"""

from __future__ import annotations

from typing import Final, Literal, get_args

# ---- parties ----------------------------------------------------------------------------------
# The seven kinds of row a partnership may join (partnerships.a_type / b_type).
PartyType = Literal[
    "bureau", "park", "school", "programme", "enterprise", "mentor", "practice_base"
]
PARTY_TYPES: Final[tuple[str, ...]] = get_args(PartyType)
PARTY_LABELS: Final[dict[str, str]] = {
    "bureau": "教育行政部门",
    "park": "产业园区",
    "school": "学校",
    "programme": "专业",
    "enterprise": "企业",
    "mentor": "导师",
    "practice_base": "实践基地",
}
# The catalogue table of each party type (the SQL function party_exists says the same).
PARTY_TABLES: Final[dict[str, str]] = {
    "bureau": "bureaus",
    "park": "parks",
    "school": "schools",
    "programme": "programmes",
    "enterprise": "enterprises",
    "mentor": "mentors",
    "practice_base": "practice_bases",
}
# Rows that are not parties but are named beside them: a need (its enterprise is the party) and
# a recommendation asked for a free text.
NEED_LABEL: Final = "需求"
TEXT_LABEL: Final = "文字描述"
SUBJECT_LABELS: Final[dict[str, str]] = {
    **PARTY_LABELS,
    "need": NEED_LABEL,
    "text": TEXT_LABEL,
}

# ---- schools and programmes ---------------------------------------------------------------------
# The stored value is the Chinese name itself (schools.kind, programmes.level).
SchoolKind = Literal["双一流", "本科", "职教本科", "高职专科", "中职", "中学"]
SCHOOL_KINDS: Final[tuple[str, ...]] = get_args(SchoolKind)
ProgrammeLevel = Literal["本科", "职教本科", "高职专科", "中职"]
PROGRAMME_LEVELS: Final[tuple[str, ...]] = get_args(ProgrammeLevel)
# 职业院校 (seed 004): the schools the leading-industry quotas and pairing plans are about.
VOCATIONAL_KINDS: Final[tuple[str, ...]] = ("高职专科", "中职", "职教本科")

# ---- enterprises ------------------------------------------------------------------------------
EnterpriseSize = Literal["大型", "中型", "小型", "微型"]
ENTERPRISE_SIZES: Final[tuple[str, ...]] = get_args(EnterpriseSize)
DEFAULT_ENTERPRISE_SIZE: Final = "中型"
EnterpriseStatus = Literal["active", "inactive"]
ENTERPRISE_STATUSES: Final[tuple[str, ...]] = get_args(EnterpriseStatus)
ENTERPRISE_STATUS_LABELS: Final[dict[str, str]] = {"active": "在营", "inactive": "注销"}

# ---- needs and mentors ------------------------------------------------------------------------
NeedKind = Literal["talent", "technology", "training", "practice_base", "mentor"]
NEED_KINDS: Final[tuple[str, ...]] = get_args(NeedKind)
NEED_KIND_LABELS: Final[dict[str, str]] = {
    "talent": "人才",
    "technology": "技术",
    "training": "培训",
    "practice_base": "实践基地",
    "mentor": "导师",
}
NeedStatus = Literal["open", "matched", "closed"]
NEED_STATUSES: Final[tuple[str, ...]] = get_args(NeedStatus)
NEED_STATUS_LABELS: Final[dict[str, str]] = {
    "open": "开放",
    "matched": "已对接",
    "closed": "已关闭",
}
MentorKind = Literal["academic", "research", "industry_professor"]
MENTOR_KINDS: Final[tuple[str, ...]] = get_args(MentorKind)
MENTOR_KIND_LABELS: Final[dict[str, str]] = {
    "academic": "学术导师",
    "research": "科研导师",
    "industry_professor": "产业教授",
}

# ---- partnerships -----------------------------------------------------------------------------
PartnershipStatus = Literal["active", "ended"]
PARTNERSHIP_STATUSES: Final[tuple[str, ...]] = get_args(PartnershipStatus)
PARTNERSHIP_STATUS_LABELS: Final[dict[str, str]] = {"active": "有效", "ended": "已结束"}
# partnerships.kind is free text (an import may bring its own); these are the kinds the service
# itself writes, chosen by the pair of party types (`partnership_kind`).
KIND_PAIRING: Final = "结对包联"
KIND_PROGRAMME: Final = "共建专业"
KIND_PRACTICE_BASE: Final = "实践基地"
KIND_MENTOR: Final = "导师"
PARTNERSHIP_KINDS: Final[tuple[str, ...]] = (
    KIND_PAIRING,
    KIND_PROGRAMME,
    KIND_PRACTICE_BASE,
    KIND_MENTOR,
)
_KIND_OF_PAIR: Final[dict[frozenset[str], str]] = {
    frozenset({"school", "enterprise"}): KIND_PAIRING,
    frozenset({"park", "enterprise"}): KIND_PAIRING,
    frozenset({"bureau", "enterprise"}): KIND_PAIRING,
    frozenset({"programme", "enterprise"}): KIND_PROGRAMME,
    frozenset({"programme", "mentor"}): KIND_MENTOR,
    frozenset({"school", "mentor"}): KIND_MENTOR,
    frozenset({"enterprise", "mentor"}): KIND_MENTOR,
    frozenset({"programme", "practice_base"}): KIND_PRACTICE_BASE,
    frozenset({"school", "practice_base"}): KIND_PRACTICE_BASE,
}


def partnership_kind(a_type: str, b_type: str) -> str:
    """The kind of a new partnership between these party types (other pairs: 结对包联)."""
    return _KIND_OF_PAIR.get(frozenset({a_type, b_type}), KIND_PAIRING)


# partnerships.source: where a row came from. 'manual' (API / web form), 'import:<file name>',
# 'review:<recommendation id>', 'plan:<plan id>'; at most 200 characters.
SOURCE_MANUAL: Final = "manual"
SOURCE_MAX: Final = 200


def import_source(filename: str) -> str:
    return f"import:{filename}"[:SOURCE_MAX]


def review_source(recommendation_id: int) -> str:
    return f"review:{recommendation_id}"


def plan_source(plan_id: int) -> str:
    return f"plan:{plan_id}"


# ---- review -----------------------------------------------------------------------------------
# A recommendation's state is derived from its append-only decisions (view review_state).
ReviewState = Literal["draft", "pending", "returned", "approved", "rejected"]
REVIEW_STATES: Final[tuple[str, ...]] = get_args(ReviewState)
REVIEW_STATE_LABELS: Final[dict[str, str]] = {
    "draft": "草稿",
    "pending": "待审核",
    "returned": "已退回",
    "approved": "已批准",
    "rejected": "已驳回",
}
ReviewDecision = Literal["approve", "reject", "return"]
REVIEW_DECISIONS: Final[tuple[str, ...]] = get_args(ReviewDecision)
REVIEW_DECISION_LABELS: Final[dict[str, str]] = {
    "approve": "批准",
    "reject": "驳回",
    "return": "退回",
}
STATE_AFTER: Final[dict[str, str]] = {
    "approve": "approved",
    "reject": "rejected",
    "return": "returned",
}
# A plan's items are decided as a batch (plan_decisions.decision).
PlanDecision = Literal["approved", "rejected"]
PLAN_DECISIONS: Final[tuple[str, ...]] = get_args(PlanDecision)

# ---- regions ----------------------------------------------------------------------------------
RegionLevel = Literal["province", "city", "county"]
REGION_LEVELS: Final[tuple[str, ...]] = get_args(RegionLevel)
