"""In-memory snapshots of each candidate type: metadata arrays for fast filters and features.

A snapshot is rebuilt from PostgreSQL when the table's data version moves (see engine.py); the
retrieval index beside it is built or loaded by indexing/ with a manifest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.features import divisions


@dataclass
class Snapshot:
    entity: str
    rows: list[dict[str, Any]]
    ids: np.ndarray
    pos: dict[int, int]
    lat: np.ndarray
    lon: np.ndarray
    by_region: dict[str, np.ndarray]  # region code (any level) → positions
    by_division: dict[str, np.ndarray]  # GB/T 4754 division → positions
    version: int = 0
    texts: list[str] = field(default_factory=list)
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

    def __len__(self) -> int:
        return len(self.rows)

    # ----------------------------------------------------------------- masks
    def all(self) -> np.ndarray:
        return np.ones(len(self.rows), dtype=bool)

    def in_region(self, code: str) -> np.ndarray:
        mask = np.zeros(len(self.rows), dtype=bool)
        mask[self.by_region.get(code, np.zeros(0, dtype=np.int64))] = True
        return mask

    def in_divisions(self, codes: Iterable[str]) -> np.ndarray:
        mask = np.zeros(len(self.rows), dtype=bool)
        for d in divisions(codes):
            mask[self.by_division.get(d, np.zeros(0, dtype=np.int64))] = True
        return mask

    def where(self, key: str, allowed: Iterable[Any]) -> np.ndarray:
        """Rows whose `key` is one of `allowed` (an inverted index per key, built on first use)."""
        index = self._inverted.get(key)
        if index is None:
            lists: dict[Any, list[int]] = defaultdict(list)
            for i, r in enumerate(self.rows):
                lists[r.get(key)].append(i)
            index = {k: np.array(v, dtype=np.int64) for k, v in lists.items()}
            self._inverted[key] = index
        mask = np.zeros(len(self.rows), dtype=bool)
        for value in allowed:
            if value in index:
                mask[index[value]] = True
        return mask

    def within_km(self, lat: float, lon: float, km: float) -> np.ndarray:
        p1, p2 = np.radians(lat), np.radians(self.lat)
        dp, dl = p2 - p1, np.radians(self.lon - lon)
        a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
        dist = 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
        return np.nan_to_num(dist, nan=np.inf) <= km


def _industries(row: dict[str, Any]) -> list[str]:
    for key in ("industry_codes", "industries", "leading_industries"):
        if row.get(key):
            return list(row[key])
    return []
