"""In-memory snapshots of each candidate type: metadata arrays for fast filters and features.

A snapshot is built from PostgreSQL once (and again at compaction) and persisted column by
column (indexing/snapshot_store.py): a restart maps it back (``Snapshot.load``) instead of
reading the rows again, each row rebuilt as a dict only when it is read. Changed rows are applied by
``with_changes``, which returns a new snapshot: edited and created rows are appended, the
positions they supersede (and deleted rows) are tombstoned in ``live``, and every mask leaves
tombstoned positions out. Positions match the hybrid index's (base, then delta segment). A
published snapshot is never changed (the lazily built inverted indexes are caches).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import numpy as np

from indexing.snapshot_store import StoredTable, load_table, save_table
from models.features import divisions

Row = dict[str, Any]


class StoredRows(Sequence[Row]):
    """A persisted snapshot's rows (each decoded from the mapped columns when read), then the
    rows appended since as plain dicts."""

    CACHED = 8192  # rows kept decoded (hot candidates; callers cache per-row facts in them)

    def __init__(
        self, table: StoredTable, extra: Sequence[Row] = (), cache: dict[int, Row] | None = None
    ) -> None:
        self.table, self.extra = table, list(extra)
        self._cache: dict[int, Row] = {} if cache is None else cache

    def _row(self, i: int) -> Row:
        row = self._cache.get(i)
        if row is None:
            if len(self._cache) >= self.CACHED:
                self._cache.clear()
            row = self._cache[i] = self.table.row(i)
        return row

    def __len__(self) -> int:
        return self.table.count + len(self.extra)

    @overload
    def __getitem__(self, i: int) -> Row: ...
    @overload
    def __getitem__(self, i: slice) -> list[Row]: ...
    def __getitem__(self, i: int | slice) -> Row | list[Row]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        base = self.table.count
        if not 0 <= i < base + len(self.extra):
            raise IndexError(i)
        return self._row(i) if i < base else self.extra[i - base]

    def __iter__(self) -> Iterator[Row]:
        # whole columns decoded at once: far cheaper than a dict per row from the arrays
        keys = list(self.table.columns)
        columns = [self.table.values(k) for k in keys]
        yield from (dict(zip(keys, values, strict=True)) for values in zip(*columns, strict=True))
        yield from self.extra

    def __add__(self, more: Sequence[Row]) -> StoredRows:
        return StoredRows(self.table, [*self.extra, *more], self._cache)  # same base rows

    def values(self, key: str) -> list[Any]:
        return self.table.values(key) + [r.get(key) for r in self.extra]


def _values(rows: Sequence[Row], key: str) -> list[Any]:
    if isinstance(rows, StoredRows):
        return rows.values(key)
    return [r.get(key) for r in rows]


@dataclass
class Snapshot:
    entity: str
    rows: Sequence[Row]  # a list, or StoredRows for a persisted snapshot
    ids: np.ndarray
    pos: dict[int, int]
    lat: np.ndarray
    lon: np.ndarray
    by_region: dict[str, np.ndarray]  # region code (any level) → positions
    by_division: dict[str, np.ndarray]  # GB/T 4754 division → positions
    version: int = 0
    texts: Sequence[str] = field(default_factory=list)
    live: np.ndarray | None = None  # False = tombstoned position; None = all live
    hashes: np.ndarray | None = None  # the base texts' hashes, when loaded from disk
    _inverted: dict[str, dict[Any, np.ndarray]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(
        cls, entity: str, rows: Iterable[dict[str, Any]], text_of: Any, version: int = 0
    ) -> Snapshot:
        kept: list[dict[str, Any]] = []
        texts: list[str] = []
        regions: dict[str, list[int]] = defaultdict(list)
        divs: dict[str, list[int]] = defaultdict(list)
        for i, row in enumerate(rows):
            row["divisions"] = sorted(divisions(_industries(row)))
            kept.append(row)
            texts.append(text_of(row))
            for code in str(row.get("region_path") or "").split("."):
                if code:
                    regions[code].append(i)
            for d in row["divisions"]:
                divs[d].append(i)
        ids = np.array([r["id"] for r in kept], dtype=np.int64)
        return cls(
            entity=entity,
            rows=kept,
            ids=ids,
            pos={int(x): i for i, x in enumerate(ids)},
            lat=np.array([r.get("lat") or np.nan for r in kept], dtype=np.float64),
            lon=np.array([r.get("lon") or np.nan for r in kept], dtype=np.float64),
            by_region={k: np.array(v, dtype=np.int64) for k, v in regions.items()},
            by_division={k: np.array(v, dtype=np.int64) for k, v in divs.items()},
            version=version,
            texts=texts,
        )

    def save(
        self, directory: Path, meta: dict[str, Any], hashes: np.ndarray, clusters: Any = None
    ) -> None:
        """Persist this base snapshot (built from PostgreSQL, texts still held) beside
        ``meta`` (its change-log position and data versions; see builders.py)."""
        groups: dict[str, Any] = {"region": self.by_region, "division": self.by_division}
        if clusters is not None:
            groups["clusters"] = clusters
        arrays = {"ids": self.ids, "lat": self.lat, "lon": self.lon, "hashes": hashes}
        save_table(
            directory, rows=self.rows, texts=self.texts, arrays=arrays, groups=groups, meta=meta
        )

    @classmethod
    def load(
        cls, directory: Path, entity: str, expect: dict[str, Any]
    ) -> tuple[Snapshot, dict[str, Any], list[list[int]] | None] | None:
        """A persisted snapshot (memory-mapped), its meta and stored clusters; None when none
        is stored. Raises snapshot_store's Mismatch (stale) or Damaged."""
        table = load_table(directory, {"entity": entity, **expect})
        if table is None:
            return None
        arrays, groups = table.arrays, table.groups
        ids = np.asarray(arrays["ids"])
        snap = cls(
            entity=entity,
            rows=StoredRows(table),
            ids=ids,
            pos=dict(zip(ids.tolist(), range(len(ids)), strict=True)),
            lat=np.asarray(arrays["lat"]),
            lon=np.asarray(arrays["lon"]),
            by_region={str(k): v for k, v in groups["region"].items()},
            by_division={str(k): v for k, v in groups["division"].items()},
            version=int(table.meta.get("version", 0)),
            texts=table.texts,
            hashes=np.asarray(arrays["hashes"]),
        )
        found = groups.get("clusters")
        clusters = None if found is None else [v.tolist() for v in found.values()]
        return snap, table.meta, clusters

    def __len__(self) -> int:
        return len(self.rows)

    def values(self, key: str) -> list[Any]:
        """Every position's ``key`` (tombstoned positions included)."""
        return _values(self.rows, key)

    def live_values(self, *keys: str) -> list[list[Any]]:
        """``keys``' values of the live rows (one list per key, aligned): whole columns without
        building a dict per row."""
        live = None if self.live is None else np.flatnonzero(self.live).tolist()
        out = []
        for key in keys:
            values = self.values(key)
            out.append(values if live is None else [values[i] for i in live])
        return out

    @property
    def live_count(self) -> int:
        return len(self.rows) if self.live is None else int(self.live.sum())

    def with_changes(
        self, rows: list[dict[str, Any]], deleted: Iterable[int], text_of: Any, version: int
    ) -> tuple[Snapshot, list[int], list[str]]:
        """A new snapshot with ``rows`` (created or edited) appended and ``deleted`` ids gone.
        Returns it, the positions it tombstones and the appended rows' profile texts."""
        start = len(self.rows)
        fresh = Snapshot.build(self.entity, rows, text_of)
        gone = {int(i) for i in deleted} | {int(i) for i in fresh.ids.tolist()}
        dead = [self.pos[i] for i in gone if i in self.pos]
        live = self.live.copy() if self.live is not None else np.ones(start, dtype=bool)
        live[dead] = False
        pos = dict(self.pos)
        for i in gone:
            pos.pop(i, None)
        pos.update((int(i), start + n) for n, i in enumerate(fresh.ids.tolist()))
        inverted = {}
        for key, index in self._inverted.items():  # extend the caches already built
            extra = fresh._inverted_for(key)
            inverted[key] = _merged(index, extra, start)
        snap = Snapshot(
            entity=self.entity,
            rows=_concat(self.rows, fresh.rows),
            ids=np.concatenate([self.ids, fresh.ids]),
            pos=pos,
            lat=np.concatenate([self.lat, fresh.lat]),
            lon=np.concatenate([self.lon, fresh.lon]),
            by_region=_merged(self.by_region, fresh.by_region, start),
            by_division=_merged(self.by_division, fresh.by_division, start),
            version=version,
            live=np.concatenate([live, np.ones(len(fresh.rows), dtype=bool)]),
            _inverted=inverted,
        )
        return snap, dead, list(fresh.texts)

    def live_rows(self) -> list[dict[str, Any]]:
        if self.live is None:
            return list(self.rows)
        return [self.rows[i] for i in np.flatnonzero(self.live).tolist()]

    # ----------------------------------------------------------------- masks
    def _alive(self, mask: np.ndarray) -> np.ndarray:
        if self.live is not None:
            mask &= self.live
        return mask

    def all(self) -> np.ndarray:
        return self._alive(np.ones(len(self.rows), dtype=bool))

    def in_region(self, code: str) -> np.ndarray:
        mask = np.zeros(len(self.rows), dtype=bool)
        mask[self.by_region.get(code, np.zeros(0, dtype=np.int64))] = True
        return self._alive(mask)

    def in_divisions(self, codes: Iterable[str]) -> np.ndarray:
        mask = np.zeros(len(self.rows), dtype=bool)
        for d in divisions(codes):
            mask[self.by_division.get(d, np.zeros(0, dtype=np.int64))] = True
        return self._alive(mask)

    def _inverted_for(self, key: str) -> dict[Any, np.ndarray]:
        """Positions by value of `key` (built on first use, then kept)."""
        index = self._inverted.get(key)
        if index is None:
            lists: dict[Any, list[int]] = defaultdict(list)
            for i, value in enumerate(self.values(key)):
                lists[_hashable(value)].append(i)
            index = {k: np.array(v, dtype=np.int64) for k, v in lists.items()}
            self._inverted[key] = index
        return index

    def where(self, key: str, allowed: Iterable[Any]) -> np.ndarray:
        """Rows whose `key` is one of `allowed` (an inverted index per key, built on first use)."""
        index = self._inverted_for(key)
        mask = np.zeros(len(self.rows), dtype=bool)
        for value in allowed:
            if value in index:
                mask[index[value]] = True
        return self._alive(mask)

    def within_km(self, lat: float, lon: float, km: float) -> np.ndarray:
        p1, p2 = np.radians(lat), np.radians(self.lat)
        dp, dl = p2 - p1, np.radians(self.lon - lon)
        a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
        dist = 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
        return self._alive(np.nan_to_num(dist, nan=np.inf) <= km)


def _merged(
    base: dict[Any, np.ndarray], extra: dict[Any, np.ndarray], offset: int
) -> dict[Any, np.ndarray]:
    """Position lists of ``base`` with ``extra``'s (shifted by ``offset``) appended per key; the
    base's arrays are shared, not copied, where a key gained nothing."""
    out = dict(base)
    for key, positions in extra.items():
        shifted = positions + offset
        out[key] = np.concatenate([base[key], shifted]) if key in base else shifted
    return out


def _concat(rows: Sequence[Row], more: Sequence[Row]) -> Sequence[Row]:
    if isinstance(rows, StoredRows):
        return rows + more
    return [*rows, *more]


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _industries(row: dict[str, Any]) -> list[str]:
    for key in ("industry_codes", "industries", "leading_industries"):
        if row.get(key):
            return list(row[key])
    return []
