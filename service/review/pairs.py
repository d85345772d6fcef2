"""Which two parties a recommendation would join, in the partnerships table's canonical order."""

from __future__ import annotations

from typing import NamedTuple

PARTY_TYPES = frozenset(
    {"bureau", "park", "school", "programme", "enterprise", "mentor", "practice_base"}
)

# Partnership kind by the (unordered) pair of party types; other valid pairs are 结对包联.
_KINDS: dict[frozenset[str], str] = {
    frozenset({"school", "enterprise"}): "结对包联",
    frozenset({"park", "enterprise"}): "结对包联",
    frozenset({"bureau", "enterprise"}): "结对包联",
    frozenset({"programme", "enterprise"}): "共建专业",
    frozenset({"programme", "mentor"}): "导师",
    frozenset({"school", "mentor"}): "导师",
    frozenset({"enterprise", "mentor"}): "导师",
    frozenset({"programme", "practice_base"}): "实践基地",
    frozenset({"school", "practice_base"}): "实践基地",
}
DEFAULT_KIND = "结对包联"


class Party(NamedTuple):
    type: str
    id: int


class Pair(NamedTuple):
    a: Party
    b: Party

    @property
    def kind(self) -> str:
        return _KINDS.get(frozenset({self.a.type, self.b.type}), DEFAULT_KIND)

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
