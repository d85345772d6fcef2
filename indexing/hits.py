"""What a search returns: a ``Hit`` per candidate, and the query terms each hit's document
contains (for its explanation), found for the returned hits only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from indexing.hybrid import HybridIndex


class TermMatcher:
    """Which query terms each hit's document contains, for its explanation: one vectorised
    binary search per term over the hits' positions (term postings keep document positions
    ascending, in the base and in the delta segment), instead of scanning postings per hit."""

    def __init__(self, index: HybridIndex, terms: list[str], positions: list[int]) -> None:
        # rarest first: the terms that discriminate a candidate lead its explanation
        self._terms = sorted(set(terms), key=index.doc_freq)
        self._column = {p: j for j, p in enumerate(positions)}
        wanted = np.asarray(positions, dtype=np.int64)
        self._has = np.zeros((len(self._terms), len(positions)), dtype=bool)
        for row, term in enumerate(self._terms):
            for docs in index.postings_of(term):
                if len(docs):
                    at = np.minimum(np.searchsorted(docs, wanted), len(docs) - 1)
                    self._has[row] |= docs[at] == wanted

    def terms_for(self, position: int) -> list[str]:
        j = self._column.get(position)
        if j is None:
            return []
        return [self._terms[i] for i in np.flatnonzero(self._has[:, j]).tolist()]


@dataclass
class Hit:
    position: int
    dense: float
    bm25: float
    fused: float
    matcher: TermMatcher | None = None

    @property
    def matched_terms(self) -> list[str]:
        return self.matcher.terms_for(self.position) if self.matcher is not None else []
