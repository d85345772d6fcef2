"""A snapshot's rows persisted column by column, loaded by memory map, so a restart reads no
catalogue row from PostgreSQL and every worker process shares one copy in the page cache.

One folder per snapshot (``<index>/snapshot/``): per column ``c.<name>.*.npy`` (integers and
floats as arrays, strings as UTF-8 bytes + offsets, anything else — lists — as JSON text), a
null mask where a column has None, named arrays ``a.<name>.npy`` (ids, coordinates, text
hashes), the profile texts, and named position groups ``g.<name>.*`` (key → positions, stored
as keys + CSR). ``snapshot.json`` (indexing/artefacts.py) lists every file with its size and
blake2b beside the caller's meta (entity, schema key, change-log position, data versions); it
is checked before anything is mapped. A row is rebuilt as a dict only when it is read.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np
import orjson

from indexing.artefacts import Damaged, Mismatch, folder_lock, read_manifest, write_manifest
from indexing.lazy_row import LazyRow

SNAPSHOT_MANIFEST = "snapshot.json"
STORE_VERSION = 1
TEXTS = "texts"


class Unstorable(Exception):
    """Rows this layout cannot represent (keys differing between rows, values JSON cannot
    hold): the snapshot is simply not persisted."""


class StringColumn(Sequence[str]):
    """UTF-8 strings in one byte array, cut by ``offsets`` (n + 1); decoded when read."""

    def __init__(self, offsets: np.ndarray, data: np.ndarray) -> None:
        self.offsets, self.data = offsets, data
        # a memoryview slices without copying the bytes twice (ndarray slice, then bytes())
        self._bytes = memoryview(np.ascontiguousarray(data).data).cast("B")

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        # ndarray.item(i): a Python int directly (offsets[i] builds a numpy scalar first)
        offsets = self.offsets
        return str(self._bytes[offsets.item(i) : offsets.item(i + 1)], "utf-8")

    def __iter__(self) -> Iterator[str]:
        blob, cuts = self.data.tobytes(), self.offsets.tolist()
        return (blob[a:b].decode("utf-8") for a, b in zip(cuts, cuts[1:], strict=False))


def _strings(values: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    encoded = [v.encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return offsets, np.frombuffer(b"".join(encoded), dtype=np.uint8)


def _json_value(text: str) -> Any:
    """orjson reads the lists a column holds several times faster; json for what it refuses
    (integers beyond 64 bits)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


class Column:
    """One stored column: ``get(i)`` gives the value the row dict held."""

    def __init__(self, kind: str, arrays: Mapping[str, np.ndarray]) -> None:
        self.kind = kind
        self.null = arrays.get("null")
        if kind in ("str", "json"):
            self.strings: StringColumn | None = StringColumn(arrays["offsets"], arrays["data"])
            self.values: np.ndarray | None = None
        else:
            self.strings, self.values = None, arrays["values"]

    def __len__(self) -> int:
        return len(self.strings) if self.strings is not None else len(self.values)  # type: ignore[arg-type]

    def get(self, i: int) -> Any:
        if self.null is not None and self.null.item(i):
            return None
        if self.strings is not None:
            text = self.strings[i]
            return _json_value(text) if self.kind == "json" else text
        return self.values.item(i)  # type: ignore[union-attr]

    def all(self) -> list[Any]:
        if self.strings is not None:
            out: list[Any] = list(self.strings)
            if self.kind == "json":
                out = [json.loads(t) for t in out]
        else:
            out = self.values.tolist()  # type: ignore[union-attr]
        if self.null is not None:
            for i in np.flatnonzero(self.null).tolist():
                out[i] = None
        return out


def _encode_column(values: list[Any]) -> tuple[str, dict[str, np.ndarray]]:
    null = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    kinds = {type(v) for v in values if v is not None}
    arrays: dict[str, np.ndarray] = {"null": null} if null.any() else {}
    if kinds == {int}:
        try:
            arrays["values"] = np.array([0 if v is None else v for v in values], dtype=np.int64)
            return "int", arrays
        except OverflowError:
            pass
    if kinds == {float}:
        arrays["values"] = np.array([0.0 if v is None else v for v in values], dtype=np.float64)
        return "float", arrays
    if kinds == {str}:
        arrays["offsets"], arrays["data"] = _strings(["" if v is None else v for v in values])
        return "str", arrays
    try:
        texts = [json.dumps(v, ensure_ascii=False) for v in values]
    except (TypeError, ValueError) as exc:
        raise Unstorable(f"a value JSON cannot hold: {exc}") from exc
    arrays.pop("null", None)  # JSON says null itself
    arrays["offsets"], arrays["data"] = _strings(texts)
    return "json", arrays


class StoredTable:
    """A loaded snapshot folder: columns, named arrays, texts and groups, memory-mapped."""

    def __init__(
        self,
        meta: dict[str, Any],
        columns: dict[str, Column],
        arrays: dict[str, np.ndarray],
        texts: StringColumn,
        groups: dict[str, dict[Any, np.ndarray]],
    ) -> None:
        self.meta, self.columns, self.arrays = meta, columns, arrays
        self.texts, self.groups = texts, groups
        self.count = int(meta["count"])

    def row(self, i: int) -> dict[str, Any]:
        """Row ``i``: its columns are decoded when first read (see LazyRow)."""
        return LazyRow(self.columns, i)

    def values(self, key: str) -> list[Any]:
        """Every row's ``key`` (None where the rows have no such key)."""
        col = self.columns.get(key)
        return col.all() if col is not None else [None] * self.count


def save_table(
    directory: Path,
    *,
    rows: Sequence[Mapping[str, Any]],
    texts: Sequence[str],
    arrays: Mapping[str, np.ndarray],
    groups: Mapping[str, Mapping[Any, np.ndarray] | Sequence[Sequence[int]]],
    meta: dict[str, Any],
) -> None:
    """Write the folder (each file by rename under a name of this writer's own, then the
    manifest that vouches for them), holding the folder lock so a loader never sees half.
    ``groups`` map a key to positions, or are plain lists of lists (keys None). Raises
    Unstorable when the rows cannot be represented."""
    keys = list(rows[0].keys()) if rows else []
    if any(list(r.keys()) != keys for r in rows):
        raise Unstorable("rows with different keys")
    files: dict[str, np.ndarray] = {}
    columns = []
    for key in keys:
        kind, parts = _encode_column([r[key] for r in rows])
        columns.append([key, kind, sorted(parts)])
        files.update({f"c.{key}.{part}.npy": a for part, a in parts.items()})
    files.update({f"a.{name}.npy": np.ascontiguousarray(a) for name, a in arrays.items()})
    files[f"t.{TEXTS}.offsets.npy"], files[f"t.{TEXTS}.data.npy"] = _strings(list(texts))
    group_keys: dict[str, list[Any] | None] = {}
    for name, group in groups.items():
        lists: list[Any]
        if isinstance(group, Mapping):
            group_keys[name], lists = list(group.keys()), list(group.values())
        else:
            group_keys[name], lists = None, list(group)
        indptr = np.zeros(len(lists) + 1, dtype=np.int64)
        np.cumsum([len(x) for x in lists], out=indptr[1:])
        chunks = [np.asarray(x, np.int64) for x in lists]
        files[f"g.{name}.indptr.npy"] = indptr
        files[f"g.{name}.values.npy"] = np.concatenate(chunks) if chunks else np.zeros(0, np.int64)
    body = {
        **meta,
        "store": STORE_VERSION,
        "count": len(rows),
        "columns": columns,
        "arrays": sorted(arrays),
        "group_keys": group_keys,
    }
    directory.mkdir(parents=True, exist_ok=True)
    with folder_lock(directory):
        (directory / SNAPSHOT_MANIFEST).unlink(missing_ok=True)  # none vouches for half a save
        for name, array in files.items():
            tmp = directory / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
            with tmp.open("wb") as f:
                np.save(f, array, allow_pickle=False)
            os.replace(tmp, directory / name)
        write_manifest(directory, SNAPSHOT_MANIFEST, sorted(files), body)


def load_table(directory: Path, expect: dict[str, Any]) -> StoredTable | None:
    """The stored table when its manifest is intact and matches ``expect``; None when nothing
    is stored. Raises Mismatch (``expect`` differs: stale, not damage) or Damaged."""
    with folder_lock(directory) if directory.exists() else _nothing():
        body = read_manifest(directory, SNAPSHOT_MANIFEST, {**expect, "store": STORE_VERSION})
        if body is None:
            return None
        try:
            return _mapped(directory, body)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise Damaged(f"{directory}: {type(exc).__name__}: {exc}") from exc


def _mapped(directory: Path, body: dict[str, Any]) -> StoredTable:
    def load(name: str) -> np.ndarray:
        # a plain ndarray over the mapped file: np.memmap's own indexing (a memmap scalar per
        # item, __array_finalize__ per slice) costs several times a read of the value itself
        return np.asarray(np.load(directory / name, mmap_mode="r", allow_pickle=False))

    count = int(body["count"])
    columns = {}
    for key, kind, parts in body["columns"]:
        col = Column(kind, {p: load(f"c.{key}.{p}.npy") for p in parts})
        if len(col) != count:
            raise ValueError(f"column {key}: {len(col)} rows, the manifest says {count}")
        columns[key] = col
    arrays = {name: load(f"a.{name}.npy") for name in body["arrays"]}
    texts = StringColumn(load(f"t.{TEXTS}.offsets.npy"), load(f"t.{TEXTS}.data.npy"))
    if len(texts) != count:
        raise ValueError(f"{len(texts)} texts for {count} rows")
    groups: dict[str, dict[Any, np.ndarray]] = {}
    for name, keys in body["group_keys"].items():
        indptr, values = load(f"g.{name}.indptr.npy"), np.asarray(load(f"g.{name}.values.npy"))
        cuts = indptr.tolist()
        labels = keys if keys is not None else range(len(cuts) - 1)
        groups[name] = {k: values[a:b] for k, a, b in zip(labels, cuts[:-1], cuts[1:], strict=True)}
    return StoredTable(body, columns, arrays, texts, groups)


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


__all__ = [
    "SNAPSHOT_MANIFEST",
    "Damaged",
    "LazyRow",
    "Mismatch",
    "StoredTable",
    "StringColumn",
    "Unstorable",
    "load_table",
    "save_table",
]
