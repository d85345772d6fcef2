"""Preview, then confirm exactly what was previewed (the web import page).

The preview keeps the uploaded file under var/import-previews/<sha256> and hands back a token
`<file sha256>.<database fingerprint>`. Confirming re-reads the kept file: if its hash is not the
token's, the file changed; if the fingerprint of data_versions (bumped by every write to any
catalogue table) differs, the database changed since the preview, and the page says so and
previews again instead of importing. Same file, same database, same checks: the import writes
what the preview showed. The token authorises nothing by itself; the import is checked again.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import time
from pathlib import Path
from typing import IO, Any

import psycopg

from service.ingest import repository

KEEP_SECONDS = 24 * 3600
_TOKEN = re.compile(r"^([0-9a-f]{64})\.([0-9a-f]{16})$")


def db_fingerprint(conn: psycopg.Connection[Any]) -> str:
    return hashlib.sha256(repository.data_state(conn).encode()).hexdigest()[:16]


def _dir(var_dir: Path) -> Path:
    path = var_dir / "import-previews"
    path.mkdir(parents=True, exist_ok=True)
    return path


def keep(var_dir: Path, source: IO[bytes]) -> tuple[str, Path]:
    """Store the upload by its hash (and drop previews older than a day)."""
    folder = _dir(var_dir)
    now = time.time()
    for old in folder.glob("*.upload"):
        if now - old.stat().st_mtime > KEEP_SECONDS:
            old.unlink(missing_ok=True)
    digest = hashlib.sha256()
    tmp = folder / f".{time.time_ns()}.part"
    source.seek(0)
    with tmp.open("wb") as out:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
            out.write(chunk)
    source.seek(0)
    sha = digest.hexdigest()
    final = folder / f"{sha}.upload"
    shutil.move(tmp, final)
    return sha, final


def token(sha: str, conn: psycopg.Connection[Any]) -> str:
    return f"{sha}.{db_fingerprint(conn)}"


def check(var_dir: Path, value: str, conn: psycopg.Connection[Any]) -> tuple[Path | None, str]:
    """(the kept file, "") when file and database are as previewed; else (file or None, why)."""
    m = _TOKEN.match(value or "")
    if not m:
        return None, "预览令牌无效，请重新上传并预览"
    sha, fingerprint = m.groups()
    path = _dir(var_dir) / f"{sha}.upload"
    if not path.exists():
        return None, "预览已过期或文件已不存在，请重新上传并预览"
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    if digest.hexdigest() != sha:
        return None, "文件自预览后已变化，请重新上传并预览"
    if db_fingerprint(conn) != fingerprint:
        return path, "数据库自预览后已变化（其他人写入了数据），已按当前数据重新预览，请再次确认"
    return path, ""


def discard(path: Path) -> None:
    path.unlink(missing_ok=True)
