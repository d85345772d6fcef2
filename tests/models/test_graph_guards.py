from __future__ import annotations

from models import graph as G


def _graph() -> G.PartnershipGraph:
    # enterprise 1 and 2 are duplicate records; 3 and 4 belong to one group; 5 is free.
    return G.PartnershipGraph.build(
        [
            ("enterprise", 1, "school", 10),
            ("enterprise", 3, "programme", 100),
            ("enterprise", 6, "school", 11),
        ],
        duplicate_clusters=[[1, 2]],
        groups={3: "宇通集团", 4: "宇通集团"},
        programmes={100: 10, 101: 10, 110: 11},
        enterprise_industries={
            1: ["C34"],
            3: ["C36"],
            4: ["C36"],
            5: ["I65"],
            6: ["C13"],
            7: ["C39"],
        },
    )


def test_already_partnered_and_via_programme_school() -> None:
    g = _graph()
    assert G.guard_already_partnered(g, ("school", 10), ("enterprise", 1)) == G.ALREADY_PARTNERED
    # asking for programme 101 of school 10: the school's partner counts too
    assert (
        G.guard_already_partnered(g, ("programme", 101), ("enterprise", 1)) == G.ALREADY_PARTNERED
    )
    assert G.guard_already_partnered(g, ("school", 10), ("enterprise", 5)) is None


def test_duplicate_record_of_partnered_enterprise_is_blocked() -> None:
    g = _graph()
    assert G.guard_duplicate_record(g, ("school", 10), ("enterprise", 2)) == G.DUPLICATE_PARTNERED
    assert G.guard_duplicate_record(g, ("school", 11), ("enterprise", 2)) is None


def test_same_group_partnered_with_school() -> None:
    g = _graph()
    # enterprise 3 (group 宇通集团) works with programme 100 of school 10 → 4 is blocked for 10
    assert G.guard_group_partnered(g, ("school", 10), ("enterprise", 4)) == G.GROUP_PARTNERED
    assert G.guard_group_partnered(g, ("programme", 101), ("enterprise", 4)) == G.GROUP_PARTNERED
    assert G.guard_group_partnered(g, ("school", 11), ("enterprise", 4)) is None
    assert G.guard_group_partnered(g, ("school", 10), ("enterprise", 5)) is None


def test_pending_and_capacity() -> None:
    g = _graph()
    pending = {(("school", 11), ("enterprise", 1))}
    # record 2 is the same company as 1: pending under either record
    assert G.guard_pending(pending, g, ("school", 11), ("enterprise", 2)) == G.PENDING_REVIEW
    assert G.guard_pending(pending, g, ("school", 10), ("enterprise", 5)) is None
    assert G.guard_capacity(0) == G.NO_CAPACITY
    assert G.guard_capacity(2) is None
    assert G.guard_capacity(None) is None


def test_quotas() -> None:
    g = _graph()  # school 10 serves C34 and C36 (divisions 34, 36)
    kw = {"max_industries_per_school": 2, "max_schools_per_industry": 1}
    assert G.guard_quotas(g, ("school", 10), ["C3411"], **kw) is None  # already served
    assert G.guard_quotas(g, ("school", 10), ["I65"], **kw) == G.QUOTA_SCHOOL_INDUSTRIES
    # division 13 is served by school 11 already; at most 1 school per industry
    assert G.guard_quotas(g, ("school", 12), ["C13"], **kw) == G.QUOTA_INDUSTRY_SCHOOLS
    assert G.guard_quotas(g, ("school", 12), ["C39"], **kw) is None
    assert G.guard_quotas(g, ("park", 1), ["C39"], **kw) is None  # not a school pair


def test_graph_features() -> None:
    g = _graph()
    assert g.degree(("enterprise", 2)) == 1  # merged onto record 1
    assert g.industries_served_by_school(10) == {"34", "36"}
    assert G.industry_division("C3411") == "34"


def test_memoised_answers_follow_edge_changes() -> None:
    g = _graph()
    # asked once (memoised), then the graph changes: the guards must see the change at once
    assert G.guard_already_partnered(g, ("school", 11), ("enterprise", 5)) is None
    assert G.guard_group_partnered(g, ("school", 11), ("enterprise", 4)) is None
    assert g.industries_served_by_school(11) == {"13"}
    edges = g.edge_count
    g.add_edge(("enterprise", 5), ("programme", 110))
    g.add_edge(("enterprise", 3), ("school", 11))
    assert G.guard_already_partnered(g, ("school", 11), ("enterprise", 5)) == G.ALREADY_PARTNERED
    assert G.guard_group_partnered(g, ("school", 11), ("enterprise", 4)) == G.GROUP_PARTNERED
    assert g.industries_served_by_school(11) == {"13", "65", "36"}
    assert g.edge_count == edges + 2
    g.remove_edge(("enterprise", 5), ("programme", 110))
    assert G.guard_already_partnered(g, ("school", 11), ("enterprise", 5)) is None
    assert g.edge_count == edges + 1
