"""Diversity: exposure caps across a batch and collapsing near-duplicate candidates."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")


def collapse(items: Iterable[T], key: Callable[[T], Hashable]) -> list[T]:
    """Keep the first (best-ranked) item of each key: duplicate records and same-group firms."""
    seen: set[Hashable] = set()
    out: list[T] = []
    for item in items:
        k = key(item)
        if k in seen:
            continue
        seen.add(k)
        out.append(item)
    return out


def cap_exposure(
    ranked_lists: Sequence[Sequence[T]], key: Callable[[T], Hashable], cap: int, k: int
) -> list[list[T]]:
    """Take top-k per list, round-robin by rank, so no key appears more than `cap` times overall.

    Round-robin (rank 1 of every list, then rank 2, …) keeps the cap fair: an enterprise is given
    to the subjects that rank it highest rather than to whichever came first in the batch.
    """
    used: Counter[Hashable] = Counter()
    out: list[list[T]] = [[] for _ in ranked_lists]
    cursors = [0] * len(ranked_lists)
    active = True
    while active:
        active = False
        for i, items in enumerate(ranked_lists):
            while len(out[i]) < k and cursors[i] < len(items):
                item = items[cursors[i]]
                cursors[i] += 1
                if used[key(item)] < cap:
                    used[key(item)] += 1
                    out[i].append(item)
                    active = True
                    break
    return out
