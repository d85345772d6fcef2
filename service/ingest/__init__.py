"""Imports from the bureaus' spreadsheets (CSV / XLSX / JSON Lines) with a report per row.

Public entry point: ``service.ingest.service.import_file`` (re-exported here).
"""

from service.ingest.schemas import ImportReport
from service.ingest.service import KINDS, import_file

__all__ = ["KINDS", "ImportReport", "import_file"]
