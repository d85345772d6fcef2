"""import_file(): the one function behind `xiaoqi import`, POST /v1/imports/{kind}, sample data.

Rows are streamed from the file, validated in Python (references resolved through cached
look-ups), and the valid ones COPYed into a temporary staging table. Then, inside the same
savepoint: repeated natural keys are found in SQL, and either everything is rolled back (any bad
row, default) or the staged rows are upserted in batches by natural key, touching only rows whose
values differ (so a re-import changes nothing: no updated_at, no data_versions bump).
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg.pq import TransactionStatus

from service import audit
from service.auth import import_access, policy
from service.auth.policy import SYSTEM
from service.errors import InvalidInput
from service.ingest import detect, repository
from service.ingest.builders import KINDS as CATALOGUE_KINDS
from service.ingest.header_checks import (
    choose_kind,
    duplicate_headers,
    file_sha256,
    missing_columns,
)
from service.ingest.headers import HeaderMap, map_headers
from service.ingest.kinds import Kind
from service.ingest.lookups import Lookups
from service.ingest.pairing import PAIRING, split_names
from service.ingest.readers import BadRow, FileProblem, Table, open_table, seekable
from service.ingest.row import Context, Row, RowError
from service.ingest.schemas import ImportReport, Notice, RowErrorOut, RowOutcome, TargetCounts
from service.ingest.values import as_text
from service.ingest.xlsx import Limits

KINDS: dict[str, Kind] = {k.name: k for k in (*CATALOGUE_KINDS, PAIRING)}
CHUNK_ROWS = 5_000  # rows validated (and enterprise references fetched) per round trip
BATCH_RECORDS = 20_000  # staged records per upsert statement
MAX_ERRORS = 10_000  # row errors listed in a report (all are counted in `rejected`)
MAX_PREVIEW_ROWS = 100_000  # row outcomes listed in a preview

# progress(phase, done, total): phase "read" counts bytes (rows for XLSX), "write" records.
Progress = Callable[[str, int, int | None], None]
_DB_DATA_ERRORS = (
    psycopg.errors.IntegrityError,
    psycopg.errors.DataError,
    psycopg.errors.ProgramLimitExceeded,
)


def import_file(
    conn: psycopg.Connection[Any],
    source: Path | str | IO[bytes],
    filename: str | None = None,
    kind: str | None = "enterprises",
    *,
    skip_invalid: bool = False,
    sheet: str | None = None,
    actor_id: int | None = None,
    progress: Progress | None = None,
    actor: Any = SYSTEM,
    dry_run: bool = False,
    limits: Limits | None = None,
) -> ImportReport:
    """Import one CSV / XLSX / JSON Lines file of `kind` (see `KINDS`) and report on every row.

    All-or-nothing by default: if any row is invalid nothing is written and ``committed`` is
    False. With ``skip_invalid`` the valid rows are written and the rest reported. The function
    never commits: it works in a savepoint of the caller's transaction (opening one if the
    connection is idle), so the caller commits — or, on an autocommit connection, the savepoint
    block commits itself. Bad input never raises; an unknown `kind` raises InvalidInput.

    `actor` is whom the access policy checks every row against (HTTP: the request's user; the
    CLI: policy.SYSTEM). A row outside its scope is reported with code 'forbidden'.

    `kind=None`: recognised from the header row (see detect.py; the report says which). With
    ``dry_run`` everything runs, guards included, then is rolled back: the report says row by
    row what would be inserted, updated, left unchanged or rejected, and nothing is written.
    """
    spec = KINDS.get(kind) if kind else None
    if kind and spec is None:
        raise InvalidInput(f"未知的导入类型「{kind}」，可选：{'、'.join(KINDS)}")
    started = time.perf_counter()
    if filename is None:
        filename = Path(source).name if isinstance(source, str | Path) else "upload"
    report = ImportReport(kind=kind or "", filename=filename, dry_run=dry_run)
    with ExitStack() as stack:
        try:
            if isinstance(source, str | Path):
                try:
                    raw: IO[bytes] = stack.enter_context(Path(source).open("rb"))
                except OSError as exc:
                    raise FileProblem(f"无法打开文件：{exc.strerror}", "unreadable") from exc
            else:
                raw = seekable(source)
            if dry_run:
                report.file_sha256 = file_sha256(raw)
            any_kind, asked = detect.any_header(KINDS), spec
            table = open_table(
                raw,
                filename,
                any_kind if asked is None else lambda c: asked.is_header(c) or any_kind(c),
                sheet=sheet,
                limits=limits,
            )
            stack.callback(table.close)
            spec = choose_kind(KINDS, spec, table.headers, report)
            report.kind = spec.name
            hm = map_headers(table.headers, spec.aliases)
            report.format, report.encoding, report.sheet = table.format, table.encoding, table.sheet
            report.header_row, report.ignored_columns = table.header_row, hm.ignored
            missing = missing_columns(spec, hm, table.header_row) + duplicate_headers(
                hm, table.header_row
            )
            if missing:
                _set_errors(report, missing)
            else:
                _run(
                    conn, spec, table, hm, report, skip_invalid, actor_id, progress, actor, dry_run
                )
            report.notices += [Notice(row=r, message=m) for r, m in table.notices]
        except FileProblem as problem:
            report.committed = False
            _set_errors(report, [RowError(problem.row, None, None, problem.reason, problem.code)])
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _run(
    conn: psycopg.Connection[Any],
    spec: Kind,
    table: Table,
    hm: HeaderMap,
    report: ImportReport,
    skip_invalid: bool,
    actor_id: int | None,
    progress: Progress | None,
    actor: Any = SYSTEM,
    dry_run: bool = False,
) -> None:
    if not conn.autocommit and conn.info.transaction_status == TransactionStatus.IDLE:
        conn.execute("SELECT 1")  # join (open) the caller's transaction; we work in a savepoint
    errors: list[RowError] = []
    try:
        with conn.transaction():
            lookups = Lookups(conn, lambda path: policy.inside(actor, path))
            ctx = Context(hm, spec.by_name, lookups, report.filename)
            tag = uuid.uuid4().hex[:12]
            stages = {
                t.table: repository.create_stage(
                    conn, f"_ingest_{tag}_{i}", t.table, t.columns(hm.present)
                )
                for i, t in enumerate(spec.targets)
            }
            _stage_rows(conn, spec, table, ctx, stages, report, errors, progress)
            if report.total == 0:
                errors.append(RowError(None, None, None, "文件中没有数据行（只有表头）", "no_rows"))
                raise psycopg.Rollback()
            dup_rows = _duplicates(conn, spec, stages, hm)
            report.rejected += len(dup_rows)
            errors.extend(dup_rows.values())
            if dry_run:
                _preview(conn, spec, stages, dup_rows, report)
            if errors and not skip_invalid:
                raise psycopg.Rollback()  # all-or-nothing: not one row is written
            # scope of every row, and new partnerships through service.partnerships.create
            guarded = import_access.check_and_create(conn, actor, spec.targets, stages)
            report.rejected += len({e.row for e in guarded.errors})
            errors.extend(guarded.errors)
            if errors and not skip_invalid:
                raise psycopg.Rollback()
            for target in spec.targets:
                stage = stages[target.table]
                repository.drop_rows(conn, stage, sorted(dup_rows))
                if not target.dup_is_error:
                    repository.drop_later_duplicates(conn, stage)
                report.tables[target.table] = _upsert(conn, target, stage, progress)
            for name, created in guarded.created.items():
                report.tables[name].inserted += created
            for counts in report.tables.values():
                report.inserted += counts.inserted
                report.updated += counts.updated
                report.unchanged += counts.unchanged
            audit.record(
                conn,
                actor_id=actor_id,
                action="import",
                entity_type=spec.name,
                entity_id=None,
                after=report.summary(),
            )
            for stage in stages.values():
                repository.drop_stage(conn, stage)
            if dry_run:
                _preview(conn, spec, stages, dup_rows, report, counts_only=True)
                raise psycopg.Rollback()  # the preview ran every check; now it writes nothing
            report.committed = True
    except _DB_DATA_ERRORS as exc:  # a constraint the row checks did not foresee
        report.committed = False
        report.inserted = report.updated = report.unchanged = 0
        report.tables = {}
        diag = exc.diag.message_primary or type(exc).__name__
        detail = f"（{exc.diag.message_detail}）" if exc.diag.message_detail else ""
        errors.append(
            RowError(None, None, None, f"写入数据库失败，已全部撤销：{diag}{detail}", "database")
        )
    if dry_run:
        _preview_rejected(report, errors)
    _set_errors(report, errors)


def _preview(
    conn: psycopg.Connection[Any],
    spec: Kind,
    stages: dict[str, repository.Stage],
    dup_rows: dict[int, RowError],
    report: ImportReport,
    *,
    counts_only: bool = False,
) -> None:
    """Row-by-row outcomes and the counts they add up to, classified before anything is
    upserted (`counts_only`: restore those counts after the rolled-back trial run)."""
    if counts_only:
        tables = report.tables
        report.tables = {t: TargetCounts() for t in tables}
        for outcome in report.rows:
            if outcome.table:
                counts = report.tables.setdefault(outcome.table, TargetCounts())
                _count(counts, outcome.action)
        report.inserted = sum(c.inserted for c in report.tables.values())
        report.updated = sum(c.updated for c in report.tables.values())
        report.unchanged = sum(c.unchanged for c in report.tables.values())
        return
    report.tables = {}
    for target in spec.targets:
        counts = report.tables.setdefault(target.table, TargetCounts())
        found = repository.classify(
            conn,
            stages[target.table],
            key=target.key,
            match=target.match,
            insert_only=target.insert_only,
            first_wins=not target.dup_is_error,
        )
        for row, key, action in found:
            if row in dup_rows:
                continue
            _count(counts, action)
            if len(report.rows) < MAX_PREVIEW_ROWS:
                report.rows.append(RowOutcome(row=row, action=action, table=target.table, key=key))
            else:
                report.rows_truncated = True
    report.inserted = sum(c.inserted for c in report.tables.values())
    report.updated = sum(c.updated for c in report.tables.values())
    report.unchanged = sum(c.unchanged for c in report.tables.values())


_FIELD = {"insert": "inserted", "update": "updated", "unchanged": "unchanged"}


def _count(counts: TargetCounts, action: str) -> None:
    field = _FIELD[action]
    setattr(counts, field, getattr(counts, field) + 1)


def _preview_rejected(report: ImportReport, errors: list[RowError]) -> None:
    rejected = sorted({e.row for e in errors if e.row is not None and e.code != "missing_column"})
    bad = set(rejected)
    report.rows = [r for r in report.rows if r.row not in bad]
    report.rows += [RowOutcome(row=r, action="rejected") for r in rejected[:MAX_PREVIEW_ROWS]]
    report.rows.sort(key=lambda r: r.row)


def _stage_rows(
    conn: psycopg.Connection[Any],
    spec: Kind,
    table: Table,
    ctx: Context,
    stages: dict[str, repository.Stage],
    report: ImportReport,
    errors: list[RowError],
    progress: Progress | None,
) -> None:
    seq = 0
    for chunk in _chunks(table.rows, CHUNK_ROWS):
        if spec.enterprise_refs:
            ctx.lookups.prefetch_enterprises(_enterprise_refs(chunk, spec, ctx.hm))
        buffers: dict[str, list[tuple[Any, ...]]] = {name: [] for name in stages}
        for number, cells in chunk:
            report.total += 1
            if isinstance(cells, BadRow):
                report.rejected += 1
                _keep(errors, [RowError(number, None, cells.value, cells.reason, "parse")])
                continue
            row = Row(ctx, number, cells)
            spec.build(row)
            if row.errors:
                report.rejected += 1
                _keep(errors, row.errors)
                continue
            for rec in row.records:
                seq += 1
                columns = stages[rec.table].columns
                buffers[rec.table].append(
                    (seq, number, rec.key, rec.shown, *[rec.values.get(c) for c in columns])
                )
        for name, rows in buffers.items():
            if rows:
                repository.copy_rows(conn, stages[name], rows)
        if progress:
            progress("read", table.done(), table.total)


def _duplicates(
    conn: psycopg.Connection[Any], spec: Kind, stages: dict[str, repository.Stage], hm: HeaderMap
) -> dict[int, RowError]:
    """Later rows repeating a natural key: rejected, naming the first row."""
    found: dict[int, RowError] = {}
    for target in spec.targets:
        if not target.dup_is_error:
            continue
        shown_cols = [
            hm.headers[hm.positions[c][0]] for c in target.key_columns if c in hm.positions
        ]
        column = "+".join(shown_cols) or None
        for row, shown, first in repository.duplicates(conn, stages[target.table]):
            if row != first and row not in found:
                found[row] = RowError(
                    row,
                    column,
                    shown,
                    f"与第 {first} 行重复（{column or '主键'}相同）",
                    "duplicate",
                )
    return found


def _upsert(
    conn: psycopg.Connection[Any], target: Any, stage: repository.Stage, progress: Progress | None
) -> TargetCounts:
    repository.index_stage(conn, stage)
    lo, hi, count = repository.stage_bounds(conn, stage)
    counts = TargetCounts()
    done = 0
    for start in range(lo, hi + 1, BATCH_RECORDS):
        end = min(start + BATCH_RECORDS - 1, hi)
        ins, upd, same = repository.upsert_batch(
            conn,
            stage,
            key=target.key,
            match=target.match,
            insert_only=target.insert_only,
            lo=start,
            hi=end,
        )
        counts.inserted += ins
        counts.updated += upd
        counts.unchanged += same
        done += ins + upd + same
        if progress:
            progress("write", done, count)
    return counts


def _enterprise_refs(chunk: list[tuple[int, Any]], spec: Kind, hm: HeaderMap) -> Iterator[str]:
    positions = [i for col in spec.enterprise_refs for i in hm.positions.get(col, ())]
    for _, cells in chunk:
        if isinstance(cells, BadRow):
            continue
        for i in positions:
            text = as_text(cells[i]) if i < len(cells) else None
            if text is None:
                continue
            if spec.split_refs:
                yield from split_names(text)
            else:
                yield text


def _chunks(rows: Iterable[tuple[int, Any]], size: int) -> Iterator[list[tuple[int, Any]]]:
    it = iter(rows)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _keep(errors: list[RowError], new: list[RowError]) -> None:
    # Memory stays bounded on a million bad rows; `rejected` still counts them all.
    if len(errors) < MAX_ERRORS * 2:
        errors.extend(new)


def _set_errors(report: ImportReport, errors: list[RowError]) -> None:
    errors = sorted(errors, key=lambda e: e.row or 0)
    report.errors_truncated = len(errors) > MAX_ERRORS
    report.errors = [RowErrorOut(**e.as_dict()) for e in errors[:MAX_ERRORS]]
