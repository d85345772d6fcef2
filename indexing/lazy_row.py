"""A persisted snapshot's row as the dict it was saved from, its columns decoded when read
(indexing/snapshot_store.py hands these out). Kept apart from the store's layout: editing this
file does not make stored snapshots stale (builders.schema_key hashes the layout's files)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any


class LazyRow(dict[str, Any]):
    """One stored row as the dict it was saved from, each column decoded when first read: the
    ranking reads a few of a row's columns for each of a pool's candidates, a response shows a
    dozen for its top k, and the long ones (description, need texts) are rarely read at all.

    ``row[key]``, ``get``, ``in`` and writes act on single columns; anything that lists the row
    (iteration, keys, items, values, len, copy, ==, repr, pickling, json) decodes it whole
    first, in the stored column order, so the row is indistinguishable from the plain dict.
    (orjson reads a dict subclass's storage directly: give it ``row.copy()``.)"""

    __slots__ = ("_columns", "_i", "_whole")

    def __init__(self, columns: Mapping[str, Any], i: int) -> None:
        super().__init__()
        self._columns, self._i, self._whole = columns, i, False
        # never empty underneath: C code that checks a dict's size directly before asking for
        # its items (json's encoder does) would otherwise take the row for {}
        for name, col in columns.items():
            dict.__setitem__(self, name, col.get(i))
            break

    def __missing__(self, key: str) -> Any:
        col = self._columns.get(key) if not self._whole else None
        if col is None:
            raise KeyError(key)
        value = col.get(self._i)
        dict.__setitem__(self, key, value)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        if not self._whole and key in self._columns:
            return self[key]  # dict's own lookup; __missing__ decodes it the first time
        return dict.get(self, key, default)

    def __contains__(self, key: object) -> bool:
        if not self._whole and key in self._columns:
            return True
        return dict.__contains__(self, key)

    def whole(self) -> LazyRow:
        """Decode every column not read yet (keys in the stored order, then any added)."""
        if not self._whole:
            read = dict(dict.items(self))
            dict.clear(self)
            for name, col in self._columns.items():
                dict.__setitem__(self, name, read.pop(name) if name in read else col.get(self._i))
            dict.update(self, read)
            self._whole = True
        return self

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key in self:
            return self[key]
        dict.__setitem__(self, key, default)
        return default

    def pop(self, key: str, *default: Any) -> Any:
        return dict.pop(self.whole(), key, *default)

    def __delitem__(self, key: str) -> None:
        dict.__delitem__(self.whole(), key)

    def popitem(self) -> tuple[str, Any]:
        return dict.popitem(self.whole())

    def __iter__(self) -> Iterator[str]:
        return dict.__iter__(self.whole())

    def __reversed__(self) -> Iterator[str]:
        return dict.__reversed__(self.whole())

    def __len__(self) -> int:
        return dict.__len__(self.whole())

    def keys(self) -> Any:
        return dict.keys(self.whole())

    def values(self) -> Any:
        return dict.values(self.whole())

    def items(self) -> Any:
        return dict.items(self.whole())

    def copy(self) -> dict[str, Any]:
        return dict(dict.items(self.whole()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyRow):
            other.whole()
        return dict.__eq__(self.whole(), other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None

    def __or__(self, other: Any) -> Any:
        return self.copy() | other

    def __repr__(self) -> str:
        return dict.__repr__(self.whole())

    def __reduce__(self) -> Any:
        return (dict, (self.copy(),))
