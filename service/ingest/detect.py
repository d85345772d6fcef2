"""Which import kind a header row is: the kind whose required columns are all there and that
recognises the most columns (ties: the kind with the fewest columns left unrecognised)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from service.ingest.headers import fold_header, recognised
from service.ingest.kinds import Kind

# A file sent as the first kind whose header is clearly the second is read as the second.
READ_AS = {("partnerships", "pairing-table")}


def fits(kind: Kind, headers: Sequence[object]) -> bool:
    names = {kind.aliases.get(fold_header(h)) for h in headers}
    groups_ok = all(any(n in names for n in group) for group in kind.one_of)
    return all(c.name in names for c in kind.required) and groups_ok


def detect(kinds: Mapping[str, Kind], headers: Sequence[object]) -> Kind | None:
    best: tuple[int, int, str] | None = None
    for name, kind in kinds.items():
        if not fits(kind, headers):
            continue
        found = recognised(headers, kind.aliases)
        key = (found, -len(kind.columns), name)
        if best is None or key > best:
            best = key
    return kinds[best[2]] if best else None


def any_header(kinds: Mapping[str, Kind]) -> Callable[[Sequence[object]], bool]:
    """is_header for a file of unknown kind: the row that is a header for any kind."""
    specs = list(kinds.values())

    def is_header(cells: Sequence[object]) -> bool:
        return any(k.is_header(cells) for k in specs)

    return is_header
