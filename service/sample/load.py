"""Load a generated sample directory through the importer, kind by kind, in reference order.

Everything goes through `service.ingest.service.import_file`, as a user's upload would; only
what has no import kind (bureaus, programme ↔ enterprise partnerships) is written directly
(service/sample/repository.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg

from service.sample import formats as fmt
from service.sample import leading, repository

# (kind, rows done so far, rows in the file) → None; called while a file is imported.
LoadProgress = Callable[[str, int, int | None], None]


class SampleLoadError(RuntimeError):
    """A sample file was rejected by the importer (which would be a bug in the generator)."""


def load_dir(
    conn: psycopg.Connection[Any], directory: Path, progress: LoadProgress | None = None
) -> dict[str, Any]:
    """Import every sample file of `directory`; commits after each file. Returns the reports."""
    from service.auth.policy import HISTORY
    from service.ingest.service import import_file

    reports: dict[str, Any] = {}
    direct = {
        fmt.BUREAUS.kind: repository.upsert_bureaus,
        fmt.PROGRAMME_PARTNERSHIPS.kind: repository.insert_programme_partnerships,
        fmt.LEADING_INDUSTRIES.kind: leading.load,
    }
    for spec in fmt.ALL:
        path = directory / spec.filename
        if not path.exists():
            continue
        if spec.kind in direct:
            reports[spec.kind] = direct[spec.kind](conn, path)
            conn.commit()
            continue
        step = None
        if progress is not None:

            def step(phase: str, done: int, total: int | None, _k: str = spec.kind) -> None:
                progress(f"{_k} ({phase})", done, total)

        with path.open("rb") as f:
            report = import_file(conn, f, spec.filename, spec.kind, progress=step, actor=HISTORY)
        if not _ok(report):
            conn.rollback()
            raise SampleLoadError(f"导入样例文件 {spec.filename} 失败：{_errors(report)}")
        conn.commit()
        reports[spec.kind] = report
    return reports


def _ok(report: Any) -> bool:
    ok = getattr(report, "ok", None)
    if ok is not None:
        return bool(ok)
    return not getattr(report, "errors", None)


def _errors(report: Any) -> str:
    errors = getattr(report, "errors", None) or []
    shown = [e.as_dict() if hasattr(e, "as_dict") else e for e in list(errors)[:5]]
    return str(shown)
