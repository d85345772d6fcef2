"""What each import kind is: its columns, the tables it writes and their natural keys."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

from service.ingest.headers import Column, alias_table, fold_header, recognised
from service.ingest.row import Row


@dataclass(frozen=True)
class Target:
    """A table an import writes. `key` are SQL expressions ({t} = table alias prefix) naming the
    natural key exactly as the unique index does, so ON CONFLICT can infer it. `sources` maps each
    writable column to the file column it comes from (None: always written)."""

    table: str
    key: tuple[str, ...]
    sources: dict[str, str | None]
    key_columns: tuple[str, ...]  # file columns shown when a key repeats
    match: str = ""  # extra predicate on the existing row (partial unique index)
    insert_only: tuple[str, ...] = ()  # set on insert, never updated (e.g. since, source)
    dup_is_error: bool = True  # False: a repeated key is merged silently (first wins)

    def columns(self, present: frozenset[str]) -> list[str]:
        return [c for c, src in self.sources.items() if src is None or src in present]


@dataclass(frozen=True)
class Kind:
    name: str
    label: str  # Chinese, for messages and the audit log
    columns: tuple[Column, ...]
    targets: tuple[Target, ...]
    build: Callable[[Row], None]
    enterprise_refs: tuple[str, ...] = ()  # columns whose values name enterprises (prefetched)
    one_of: tuple[tuple[str, ...], ...] = ()  # at least one column of each group must exist
    split_refs: bool = False  # enterprise ref cells may list several names

    @cached_property
    def aliases(self) -> dict[str, str]:
        return alias_table(self.columns)

    @cached_property
    def by_name(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}

    @property
    def required(self) -> list[Column]:
        return [c for c in self.columns if c.required]

    def is_header(self, cells: Sequence[object]) -> bool:
        """A header row names at least two known columns (or all required ones)."""
        found = recognised(cells, self.aliases)
        need = {c.name for c in self.required}
        names = {self.aliases.get(fold_header(c)) for c in cells}
        return found >= 2 or (found >= 1 and bool(need) and need <= names)
