"""Which two parties a recommendation would join, in the partnerships table's canonical order."""

from __future__ import annotations

from typing import NamedTuple

from models import vocab as V

PARTY_TYPES = frozenset(V.PARTY_TYPES)


class Party(NamedTuple):
    type: str
    id: int


class Pair(NamedTuple):
    a: Party
    b: Party

    @property
    def kind(self) -> str:
        return V.partnership_kind(self.a.type, self.b.type)

    @property
    def lock_key(self) -> str:
        return f"pair:{self.a.type}:{self.a.id}:{self.b.type}:{self.b.id}"


def canonical(x: Party, y: Party) -> Pair:
    """Order the endpoints as the partnerships CHECK ((a_type, a_id) < (b_type, b_id)) wants.

    Party type names are lowercase ASCII that differ before any '_', so Python's ordering agrees
    with PostgreSQL's under any collation.
    """
    if x == y:
        raise ValueError("一个主体不能与自身结对")
    for p in (x, y):
        if p.type not in PARTY_TYPES:
            raise ValueError(f"不能结对的类型：{p.type}")
    return Pair(x, y) if x < y else Pair(y, x)
