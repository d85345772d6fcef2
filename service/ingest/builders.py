"""The catalogue import kinds, in the order an import of several files applies them. Each kind
(its columns, Chinese headers first, then the English DB name, and how a row becomes a record)
lives in its own module under service/ingest/catalogue/."""

from __future__ import annotations

from service.ingest.catalogue.enterprises import ENTERPRISES
from service.ingest.catalogue.mentors import MENTORS
from service.ingest.catalogue.needs import NEEDS
from service.ingest.catalogue.parks import PARKS
from service.ingest.catalogue.partnerships import PARTNERSHIP_TARGET, PARTNERSHIPS, canonical
from service.ingest.catalogue.practice_bases import PRACTICE_BASES
from service.ingest.catalogue.programmes import PROGRAMMES
from service.ingest.catalogue.schools import SCHOOLS

KINDS = (SCHOOLS, PROGRAMMES, ENTERPRISES, NEEDS, MENTORS, PRACTICE_BASES, PARKS, PARTNERSHIPS)

__all__ = ["KINDS", "PARTNERSHIP_TARGET", "canonical"]
