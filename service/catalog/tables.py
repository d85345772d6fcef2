"""The SQL side of each catalogue table: what a row looks like when read (joins), which columns a
client may write, how each list filter and sort key is expressed (builders in table_spec.py).
repository.py runs these.
"""

from __future__ import annotations

from psycopg import sql

from models import vocab as V
from service.catalog.table_spec import (
    Dependent,
    ForeignKey,
    Fragment,
    TableSpec,
    array_has,
    array_overlaps,
    contains,
    eq,
    host_ref,
    in_region,
    party_ref,
    party_type,
    sorts,
    starts_with,
    via_region,
)

__all__ = ["PARTY_TABLES", "Fragment", "TableSpec"]

STAMPS = ("id", "created_at", "updated_at")

PARTY_TABLES = V.PARTY_TABLES


def party_name(side: str) -> sql.Composable:
    branches = sql.SQL(" ").join(
        sql.SQL("WHEN {} THEN (SELECT x.name FROM {} x WHERE x.id = t.{})").format(
            sql.Literal(ptype), sql.Identifier(table), sql.Identifier(f"{side}_id")
        )
        for ptype, table in PARTY_TABLES.items()
    )
    return sql.SQL("CASE t.{} {} END AS {}").format(
        sql.Identifier(f"{side}_type"), branches, sql.Identifier(f"{side}_name")
    )


REGION_JOIN = "JOIN regions r ON r.id = t.region_id"
REGION_COLS = "r.code AS region_code, r.name AS region_name"


REGIONS = TableSpec(
    table="regions",
    select=sql.SQL(
        "SELECT t.id, t.code, t.name, t.level, t.parent_id, p.code AS parent_code, t.path,"
        " t.lat, t.lon FROM regions t LEFT JOIN regions p ON p.id = t.parent_id"
    ),
    filters={
        "level": eq("level"),
        "parent": lambda path: (
            sql.SQL("t.parent_id = (SELECT id FROM regions WHERE path = %s)"),
            [path],
        ),
        "within": lambda path: (sql.SQL("t.path LIKE %s"), [f"{path}%"]),
        "q": contains("name"),
    },
    sort_keys=sorts("id", "code", "name", "level", "path"),
    has_updated_at=False,
)

BUREAUS = TableSpec(
    table="bureaus",
    select=sql.SQL(f"SELECT t.*, {REGION_COLS} FROM bureaus t {REGION_JOIN}"),
    filters={"region": in_region(), "q": contains("name")},
    sort_keys=sorts(*STAMPS, "name"),
    writable=("name", "region_id", "contact_name", "contact_phone"),
    fks=(ForeignKey("region_id", "regions", "行政区划"),),
    unique_messages={"bureaus_name_key": "同名的教育行政部门已存在"},
)

PARKS = TableSpec(
    table="parks",
    select=sql.SQL(f"SELECT t.*, {REGION_COLS} FROM parks t {REGION_JOIN}"),
    filters={
        "region": in_region(),
        "industry": array_overlaps("leading_industries"),
        "q": contains("name"),
    },
    sort_keys=sorts(*STAMPS, "name"),
    writable=("name", "region_id", "leading_industries", "description"),
    fks=(ForeignKey("region_id", "regions", "行政区划"),),
    # ON DELETE SET NULL: the enterprises stay, they just leave the park.
    dependents=(Dependent("enterprises", "park_id", "家企业（将移出园区）"),),
    unique_messages={"parks_name_key": "同名的产业园区已存在"},
)

SCHOOLS = TableSpec(
    table="schools",
    select=sql.SQL(f"SELECT t.*, {REGION_COLS} FROM schools t {REGION_JOIN}"),
    filters={
        "region": in_region(),
        "kind": eq("kind"),
        "tag": array_has("tags"),
        "q": contains("name"),
    },
    sort_keys=sorts(*STAMPS, "name", "code", "kind"),
    writable=(
        "code",
        "name",
        "kind",
        "region_id",
        "tags",
        "description",
        "contact_name",
        "contact_phone",
    ),
    fks=(ForeignKey("region_id", "regions", "行政区划"),),
    dependents=(
        Dependent("programmes", "school_id", "个专业", "programme"),
        Dependent("mentors", "school_id", "位导师", "mentor"),
        Dependent("practice_bases", "host_school_id", "个实践基地", "practice_base"),
    ),
    unique_messages={
        "schools_code_key": "该院校代码已存在",
        "schools_name_key": "同名的学校已存在",
    },
)

PROGRAMMES = TableSpec(
    table="programmes",
    select=sql.SQL(
        "SELECT t.*, s.name AS school_name, r.code AS region_code, r.name AS region_name"
        " FROM programmes t JOIN schools s ON s.id = t.school_id"
        " JOIN regions r ON r.id = s.region_id"
    ),
    filters={
        "school_id": eq("school_id"),
        "major_code": starts_with("major_code"),
        "level": eq("level"),
        "region": via_region("school_id", "schools"),
        "industry": array_overlaps("industries"),
        "q": contains("name"),
    },
    sort_keys=sorts(*STAMPS, "name", "major_code", "capacity", "school_id"),
    writable=("school_id", "major_code", "name", "level", "description", "industries", "capacity"),
    fks=(ForeignKey("school_id", "schools", "学校"),),
    unique_messages={"programmes_school_id_major_code_key": "该学校已开设此专业代码的专业"},
)

ENTERPRISES = TableSpec(
    table="enterprises",
    select=sql.SQL(
        f"SELECT t.*, {REGION_COLS}, p.name AS park_name FROM enterprises t {REGION_JOIN}"
        " LEFT JOIN parks p ON p.id = t.park_id"
    ),
    filters={
        "region": in_region(),
        "industry": array_overlaps("industry_codes"),
        "park_id": eq("park_id"),
        "size": eq("size"),
        "status": eq("status"),
        "credit_code": eq("credit_code"),
        "q": contains("name"),
    },
    sort_keys=sorts(*STAMPS, "name", "credit_code", "size"),
    writable=(
        "credit_code",
        "name",
        "industry_codes",
        "region_id",
        "park_id",
        "size",
        "group_name",
        "description",
        "contact_name",
        "contact_phone",
        "status",
    ),
    fks=(ForeignKey("region_id", "regions", "行政区划"), ForeignKey("park_id", "parks", "园区")),
    dependents=(
        Dependent("needs", "enterprise_id", "条需求"),
        Dependent("mentors", "enterprise_id", "位导师", "mentor"),
        Dependent("practice_bases", "host_enterprise_id", "个实践基地", "practice_base"),
    ),
    unique_messages={"enterprises_credit_code_key": "该统一社会信用代码已存在"},
)

NEEDS = TableSpec(
    table="needs",
    select=sql.SQL(
        "SELECT t.*, e.name AS enterprise_name FROM needs t"
        " JOIN enterprises e ON e.id = t.enterprise_id"
    ),
    filters={
        "enterprise_id": eq("enterprise_id"),
        "kind": eq("kind"),
        "status": eq("status"),
        "region": via_region("enterprise_id", "enterprises"),
        "q": contains("title"),
    },
    sort_keys=sorts(*STAMPS, "title", "deadline", "headcount", "kind", "status"),
    nullable_sort=frozenset({"deadline", "headcount"}),
    writable=("enterprise_id", "kind", "title", "description", "headcount", "deadline", "status"),
    fks=(ForeignKey("enterprise_id", "enterprises", "企业"),),
    unique_messages={"needs_enterprise_id_title_key": "该企业已有同名的需求"},
)

MENTORS = TableSpec(
    table="mentors",
    select=sql.SQL(
        "SELECT t.*, s.name AS school_name, e.name AS enterprise_name FROM mentors t"
        " LEFT JOIN schools s ON s.id = t.school_id"
        " LEFT JOIN enterprises e ON e.id = t.enterprise_id"
    ),
    filters={
        "kind": eq("kind"),
        "school_id": eq("school_id"),
        "enterprise_id": eq("enterprise_id"),
        "field": array_has("fields"),
        "q": contains("name"),
    },
    sort_keys=sorts(*STAMPS, "name", "capacity", "kind"),
    writable=(
        "name",
        "kind",
        "school_id",
        "enterprise_id",
        "title",
        "fields",
        "description",
        "capacity",
        "contact_email",
    ),
    fks=(
        ForeignKey("school_id", "schools", "学校"),
        ForeignKey("enterprise_id", "enterprises", "企业"),
    ),
    unique_messages={"mentors_natural_key": "同一单位已有同名的导师"},
)

PRACTICE_BASES = TableSpec(
    table="practice_bases",
    select=sql.SQL(
        f"SELECT t.*, {REGION_COLS}, coalesce(e.name, s.name) AS host_name"
        f" FROM practice_bases t {REGION_JOIN}"
        " LEFT JOIN enterprises e ON e.id = t.host_enterprise_id"
        " LEFT JOIN schools s ON s.id = t.host_school_id"
    ),
    filters={
        "region": in_region(),
        "host": host_ref,
        "field": array_has("fields"),
        "q": contains("name"),
    },
    sort_keys=sorts(*STAMPS, "name", "slots_per_term"),
    writable=(
        "name",
        "host_enterprise_id",
        "host_school_id",
        "region_id",
        "fields",
        "description",
        "slots_per_term",
    ),
    fks=(
        ForeignKey("region_id", "regions", "行政区划"),
        ForeignKey("host_enterprise_id", "enterprises", "企业"),
        ForeignKey("host_school_id", "schools", "学校"),
    ),
    unique_messages={"practice_bases_name_key": "同名的实践基地已存在"},
)

PARTNERSHIPS = TableSpec(
    table="partnerships",
    select=sql.SQL("SELECT t.*, {}, {} FROM partnerships t").format(
        party_name("a"), party_name("b")
    ),
    filters={
        "party": party_ref,
        "party_type": party_type,
        "status": eq("status"),
        "kind": eq("kind"),
    },
    sort_keys=sorts(*STAMPS, "since", "kind", "status"),
    writable=(
        "a_type",
        "a_id",
        "b_type",
        "b_id",
        "kind",
        "status",
        "since",
        "source",
        "progress",
        "a_contact",
        "b_contact",
    ),
    # reviews.partnership_id has no ON DELETE: an approved pairing's record must stay.
    dependents=(Dependent("reviews", "partnership_id", "条审核记录", blocking=True),),
    unique_messages={
        "partnerships_one_active_pair": "这两方之间已有进行中的合作关系，不能重复建立"
    },
)


def _audit_scope(path: str) -> Fragment:
    """Set by the service from the access policy, never by the client: entries whose every
    region lies inside `path` (an entry without a known region is for province admins)."""
    return (
        sql.SQL(
            "(cardinality(t.region_paths) > 0 AND NOT EXISTS (SELECT 1 FROM"
            " unnest(t.region_paths) rp WHERE NOT (rp = %s OR rp LIKE %s)))"
        ),
        [path, f"{path}.%"],
    )


AUDIT_LOG = TableSpec(
    table="audit_log",
    select=sql.SQL("SELECT t.* FROM audit_log t"),
    filters={
        "policy_scope": _audit_scope,
        "entity_type": eq("entity_type"),
        "entity_id": eq("entity_id"),
        "action": eq("action"),
        "actor_id": eq("actor_id"),
    },
    sort_keys=sorts("id", "at"),
    default_sort="-id",
    has_updated_at=False,
)
