"""The catalogue's entities: each one binds a URL, its table's SQL, its schemas and its checks.
Adding an entity is one entry here (plus its schemas and TableSpec)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from models.vocab import PARTY_LABELS
from service.catalog import checks
from service.catalog import filters as f
from service.catalog import schemas as s
from service.catalog import tables as t
from service.catalog.checks import Check
from service.catalog.tables import TableSpec


@dataclass(frozen=True)
class Entity:
    path: str  # URL segment under /v1
    entity_type: str  # audit entity_type; the party type in partnerships where it is one
    label: str  # what it is called in messages
    spec: TableSpec
    filters: type[f.ListParams]
    out: type[BaseModel]
    create: type[BaseModel] | None = None  # None: read-only
    update: type[BaseModel] | None = None
    contacts: tuple[str, ...] = ()  # columns hidden from anonymous readers
    check: Check | None = None
    region_field: bool = False  # the Create body names its region by code (`region`)


REGIONS = Entity("regions", "region", "行政区划", t.REGIONS, f.RegionFilters, s.RegionOut)
AUDIT_LOG = Entity("audit-log", "audit", "审计记录", t.AUDIT_LOG, f.AuditFilters, s.AuditOut)

WRITABLE: tuple[Entity, ...] = (
    Entity(
        "bureaus",
        "bureau",
        PARTY_LABELS["bureau"],
        t.BUREAUS,
        f.BureauFilters,
        s.BureauOut,
        s.BureauCreate,
        s.BureauUpdate,
        contacts=("contact_name", "contact_phone"),
        region_field=True,
    ),
    Entity(
        "parks",
        "park",
        PARTY_LABELS["park"],
        t.PARKS,
        f.ParkFilters,
        s.ParkOut,
        s.ParkCreate,
        s.ParkUpdate,
        region_field=True,
    ),
    Entity(
        "schools",
        "school",
        PARTY_LABELS["school"],
        t.SCHOOLS,
        f.SchoolFilters,
        s.SchoolOut,
        s.SchoolCreate,
        s.SchoolUpdate,
        contacts=("contact_name", "contact_phone"),
        region_field=True,
    ),
    Entity(
        "programmes",
        "programme",
        PARTY_LABELS["programme"],
        t.PROGRAMMES,
        f.ProgrammeFilters,
        s.ProgrammeOut,
        s.ProgrammeCreate,
        s.ProgrammeUpdate,
        check=checks.programme,
    ),
    Entity(
        "enterprises",
        "enterprise",
        PARTY_LABELS["enterprise"],
        t.ENTERPRISES,
        f.EnterpriseFilters,
        s.EnterpriseOut,
        s.EnterpriseCreate,
        s.EnterpriseUpdate,
        contacts=("contact_name", "contact_phone"),
        check=checks.enterprise,
        region_field=True,
    ),
    Entity("needs", "need", "需求", t.NEEDS, f.NeedFilters, s.NeedOut, s.NeedCreate, s.NeedUpdate),
    Entity(
        "mentors",
        "mentor",
        PARTY_LABELS["mentor"],
        t.MENTORS,
        f.MentorFilters,
        s.MentorOut,
        s.MentorCreate,
        s.MentorUpdate,
        contacts=("contact_email",),
        check=checks.mentor,
    ),
    Entity(
        "practice-bases",
        "practice_base",
        PARTY_LABELS["practice_base"],
        t.PRACTICE_BASES,
        f.PracticeBaseFilters,
        s.PracticeBaseOut,
        s.PracticeBaseCreate,
        s.PracticeBaseUpdate,
        check=checks.practice_base,
        region_field=True,
    ),
    Entity(
        "partnerships",
        "partnership",
        "合作关系",
        t.PARTNERSHIPS,
        f.PartnershipFilters,
        s.PartnershipOut,
        s.PartnershipCreate,
        s.PartnershipUpdate,
        contacts=("a_contact", "b_contact"),
        check=checks.partnership,
    ),
)

BY_TYPE: dict[str, Entity] = {e.entity_type: e for e in (REGIONS, *WRITABLE)}
CONTACT_FIELDS = frozenset(c for e in WRITABLE for c in e.contacts)
