"""Checked artefacts: every file an index folder caches is listed in a JSON manifest with its
size and blake2b checksum, written after the files (atomically, by rename), and verified before
anything is loaded. A folder whose manifest is missing, unreadable or disagrees with any file
(missing, truncated, corrupt) is reported as damaged; the caller rebuilds it from PostgreSQL and
``repairs()`` keeps the event (also logged) for /health and the run versions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CHECKED_FORMAT = 2
_CHUNK = 1 << 22
_repairs: deque[dict[str, Any]] = deque(maxlen=100)
_repairs_lock = threading.Lock()


def file_digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def write_manifest(
    directory: Path, name: str, files: Iterable[str], meta: dict[str, Any]
) -> dict[str, Any]:
    """Record ``files`` (names inside ``directory``, already written) with their sizes and
    checksums under ``meta``; the manifest is replaced atomically."""
    listed = {
        f: {"bytes": (directory / f).stat().st_size, "blake2b": file_digest(directory / f)}
        for f in files
    }
    body = {**meta, "format": CHECKED_FORMAT, "files": listed}
    # a temporary name of this writer's own: uvicorn's workers open (and so rewrite) the same
    # index at the same moment, and a shared name made one's rename fail (engine "failed")
    tmp = directory / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
    tmp.write_text(json.dumps(body, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, directory / name)
    return body


class Damaged(Exception):
    """A cached artefact that cannot be trusted; the message says which file and why."""


class Mismatch(Exception):
    """An intact manifest written for something else (another encoder, other rows)."""


def read_manifest(directory: Path, name: str, expect: dict[str, Any]) -> dict[str, Any] | None:
    """The manifest when every listed file is intact and ``expect`` matches it; None when there
    is no manifest (nothing cached yet). Raises Mismatch when ``expect`` differs (checked before
    any file is read) and Damaged when a file or the manifest itself cannot be trusted."""
    path = directory / name
    if not path.exists():
        return None
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise Damaged(f"{path}: unreadable manifest ({exc})") from exc
    if not isinstance(body, dict) or body.get("format") != CHECKED_FORMAT:
        raise Damaged(f"{path}: not a format-{CHECKED_FORMAT} manifest")
    for key, want in expect.items():
        if body.get(key) != want:
            raise Mismatch(f"{path}: {key} is {body.get(key)!r}, expected {want!r}")
    for f, facts in (body.get("files") or {}).items():
        fp = directory / f
        if not fp.exists():
            raise Damaged(f"{fp}: missing")
        size = fp.stat().st_size
        if size != facts.get("bytes"):
            raise Damaged(f"{fp}: {size} bytes, the manifest says {facts.get('bytes')} (truncated)")
        if file_digest(fp) != facts.get("blake2b"):
            raise Damaged(f"{fp}: checksum mismatch (corrupt)")
    return body


def record_repair(kind: str, directory: Path, reason: str) -> None:
    """Log a damaged artefact that is being rebuilt, and keep the event."""
    log.warning(
        "damaged %s artefact in %s (%s): rebuilding it from PostgreSQL", kind, directory, reason
    )
    with _repairs_lock:
        _repairs.append(
            {
                "kind": kind,
                "directory": str(directory),
                "reason": reason,
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )


def repairs() -> list[dict[str, Any]]:
    """The artefacts rebuilt because they were damaged, oldest first (this process)."""
    with _repairs_lock:
        return list(_repairs)


@contextmanager
def folder_lock(directory: Path, name: str = ".lock") -> Iterator[None]:
    """An exclusive advisory lock on ``directory`` across processes (fcntl; a no-op where
    there is none): writers and loaders of one folder's artefacts take turns. ``name``: the
    lock file, for a second lock on the same folder."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with (directory / name).open("a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
