"""Dump the database to one file and restore it: PostgreSQL's own pg_dump / pg_restore.

- `dump` writes the custom format (`pg_dump -Fc`: compressed, every table, sequences, the
  schema and the migration record) to `FILE.partial`, reads its table of contents back and only
  then renames it to FILE, so a failed or interrupted dump never leaves a FILE that looks good.
- `restore` refuses a target that already holds data (anything beyond what `xiaoqi db
  migrate` puts in an empty database) unless forced, and runs as ONE transaction: a restore
  that fails (a corrupt or truncated file, a lock held by a running service) changes nothing.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from service.backup import repository
from service.backup.tools import BackupError, list_archive, run, without_password

# What a freshly migrated, empty database already holds (reference data, bookkeeping).
REFERENCE_TABLES = frozenset({"schema_migrations", "regions", "data_versions"})

Progress = Callable[[int, int, str], None]  # tables done, tables in all, the current table
_TABLE = re.compile(r'(?:dumping contents of|processing data for) table "(?:public\.)?([^"]+)"')


# What the usual pg_restore failures mean, for the person running the restore.
_HINTS = {
    "end of file": "；备份文件不完整（可能被截断），请换用完整的备份",
    "lock timeout": "；数据库正被使用，请先停止 xiaoqi serve",
    "could not uncompress": "；备份文件内容已损坏",
}


class NotEmpty(BackupError):
    """The restore target already holds data and the caller did not say --force."""


@dataclass(frozen=True)
class DumpResult:
    path: Path
    bytes: int
    tables: int
    seconds: float


@dataclass(frozen=True)
class RestoreResult:
    path: Path
    tables: int
    rows: int
    seconds: float
    replaced: bool  # the target had tables that were dropped and re-created
    counts: dict[str, int] = field(default_factory=dict)


def _connect(url: str) -> psycopg.Connection:
    try:
        return psycopg.connect(url, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise BackupError(f"无法连接数据库：{str(exc).strip().splitlines()[0]}") from exc


def _reason(lines: list[str]) -> str:
    errors = [line for line in lines if "error:" in line or "FATAL" in line or "ERROR" in line]
    text = (errors or [line for line in lines if line.strip()] or ["未知错误"])[-1]
    return text.removeprefix("pg_dump: ").removeprefix("pg_restore: ")


def _on_table(total: int, progress: Progress | None) -> Callable[[str], None]:
    done = 0

    def on_line(line: str) -> None:
        nonlocal done
        match = _TABLE.search(line)
        if match and progress is not None:
            done += 1
            progress(done, total, match.group(1))

    return on_line


def dump(url: str, path: Path, progress: Progress | None = None) -> DumpResult:
    """Write the database at `url` to `path` (custom format)."""
    path = path.expanduser()
    if path.is_dir():
        raise BackupError(f"{path} 是一个目录：请给出备份文件的路径，例如 {path / 'xiaoqi.dump'}")
    if not path.parent.is_dir():
        raise BackupError(f"目录不存在：{path.parent}")
    with _connect(url) as conn:
        total = len(repository.tables(conn))
    partial = path.with_name(f".{path.name}.partial")
    started = time.perf_counter()
    dsn, env = without_password(url)
    status, lines = run(
        "pg_dump",
        ["--format=custom", "--verbose", f"--file={partial}", f"--dbname={dsn}"],
        _on_table(total, progress),
        env,
    )
    try:
        if status != 0:
            raise BackupError(f"备份失败（pg_dump 退出码 {status}）：{_reason(lines)}")
        list_archive(partial)  # what was written reads back as an archive
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return DumpResult(path, path.stat().st_size, total, time.perf_counter() - started)


def _describe(counts: dict[str, int]) -> str:
    biggest = sorted(counts.items(), key=lambda kv: -kv[1])[:4]
    shown = "、".join(f"{name} {n:,} 行" for name, n in biggest)
    return shown + (f" 等 {len(counts)} 张表" if len(counts) > len(biggest) else "")


def restore(
    url: str, path: Path, *, force: bool = False, progress: Progress | None = None
) -> RestoreResult:
    """Restore `path` into the database at `url`, replacing what is there only when forced."""
    path = path.expanduser()
    if not path.exists():
        raise BackupError(f"备份文件不存在：{path}")
    if not path.is_file():
        raise BackupError(f"不是文件：{path}")
    toc = list_archive(path)
    total = sum(1 for line in toc if " TABLE DATA " in line)
    with _connect(url) as conn:
        existing = repository.tables(conn)
        data = {
            name: n
            for name, n in repository.row_counts(conn, existing).items()
            if n and name not in REFERENCE_TABLES
        }
    if data and not force:
        raise NotEmpty(
            f"目标数据库不是空的（{_describe(data)}）。恢复会删除这些数据并换成备份中的内容；"
            "确认无误后加 --force（或 --clean）重试"
        )
    # Comments on extensions need the extension's owner, which a restoring user often is not.
    wanted = [line for line in toc if " COMMENT - EXTENSION " not in line]
    with tempfile.NamedTemporaryFile("w", suffix=".list", encoding="utf-8", delete=False) as lst:
        lst.write("\n".join(wanted) + "\n")
    dsn, env = without_password(url)
    args = ["--verbose", "--single-transaction", "--exit-on-error", "--no-owner"]
    args += ["--no-privileges", f"--use-list={lst.name}", f"--dbname={dsn}"]
    if existing:
        args += ["--clean", "--if-exists"]  # drop what the dump re-creates, in the transaction
    started = time.perf_counter()
    try:
        status, lines = run("pg_restore", [*args, str(path)], _on_table(total, progress), env)
    finally:
        os.unlink(lst.name)
    if status != 0:
        reason = _reason(lines)
        hints = [text for key, text in _HINTS.items() if key in reason]
        raise BackupError(f"恢复失败，数据库未作任何改动：{reason}" + "".join(hints))
    with _connect(url) as conn:
        counts = repository.row_counts(conn)
    return RestoreResult(
        path,
        len(counts),
        sum(counts.values()),
        time.perf_counter() - started,
        bool(existing),
        counts,
    )
