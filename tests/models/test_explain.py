from models.explain import GUARDS_CHECKED, display_terms, explain


def test_display_terms_drops_places_boilerplate_and_fragments() -> None:
    terms = ["数控", "郑州", "计算机", "算机", "计算", "位于", "机器人", "数控", "人"]
    assert display_terms(terms) == ["数控", "计算机", "机器人"]
    assert display_terms(["焊接", "铸造", "锻压", "热处理"], limit=3) == ["焊接", "铸造", "锻压"]


def test_explain_lists_reasons_and_ends_with_guards() -> None:
    reasons = explain(
        features={"dense": 0.5},
        matched_terms=["郑州", "焊接"],
        shared_industries=[("3411", "金属结构制造")],
        same_city="郑州市",
        distance_km=None,
        capacity_left=2,
        peer_partners=0,
        load=1,
    )
    codes = [r["code"] for r in reasons]
    assert codes[:3] == ["semantic_match", "matched_terms", "shared_industry"]
    assert reasons[1]["terms"] == ["焊接"]
    assert "same_city" in codes and "capacity" in codes
    assert reasons[-1]["text"] == GUARDS_CHECKED
