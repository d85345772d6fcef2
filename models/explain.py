"""Explanations: every recommended item carries its reasons, in Chinese, with machine codes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from models import graph as G

GUARD_TEXT: dict[str, str] = {
    G.ALREADY_PARTNERED: "双方已建立合作关系",
    G.DUPLICATE_PARTNERED: "该企业的另一条重复记录已与对方合作",
    G.GROUP_PARTNERED: "同一集团的其他企业已与该校合作",
    G.PENDING_REVIEW: "该配对正在审核中",
    G.NO_CAPACITY: "名额/容量已满",
    G.QUOTA_SCHOOL_INDUSTRIES: "该校服务的主导产业已达上限",
    G.QUOTA_INDUSTRY_SCHOOLS: "该产业对接的学校已达上限",
}

GUARDS_CHECKED = "未与对方结对；无重复记录或同集团企业已结对；未在审核中；容量与配额未超限"


# Words that match almost every profile in Henan and explain nothing on their own: place names
# (distance has its own reason) and profile boilerplate.
_UNINFORMATIVE = frozenset(
    word
    for line in (
        "河南 河南省 郑州 开封 洛阳 平顶山 安阳 鹤壁 新乡 焦作",
        "濮阳 许昌 漯河 三门峡 南阳 商丘 信阳 周口 驻马店 济源",
        "位于 现有 企业 公司 有限 有限公司 学校 学院 专业 需要",
        "需求 相关 主要 我们 面向 方向 从事 希望 进行 工作",
        "能够 具有 以及 提供",
    )
    for word in line.split()
)


def display_terms(terms: Sequence[str], limit: int = 8) -> list[str]:
    """Matched terms worth showing: in the given order (most specific first), without place names
    and boilerplate, and without fragments of a longer matched term (jieba's search mode also
    emits 算机 inside 计算机)."""
    kept = [t for t in dict.fromkeys(terms) if t not in _UNINFORMATIVE and len(t) > 1]
    out = [t for t in kept if not any(t != o and t in o for o in kept)]
    return out[:limit]


def reason(code: str, text: str, **data: Any) -> dict[str, Any]:
    return {"code": code, "text": text, **data}


def explain(
    *,
    features: Mapping[str, float],
    matched_terms: Sequence[str],
    shared_industries: Sequence[tuple[str, str]],
    same_city: str | None,
    distance_km: float | None,
    capacity_left: int | None,
    peer_partners: int,
    load: int,
) -> list[dict[str, Any]]:
    """Reasons for one item, strongest first, always ending with the guards it passed."""
    out: list[dict[str, Any]] = []
    dense = features.get("dense", 0.0)
    if dense > 0:
        out.append(
            reason(
                "semantic_match",
                f"需求与画像语义相近（相似度 {dense:.2f}）",
                similarity=round(dense, 4),
            )
        )
    terms = display_terms(matched_terms)
    if terms:
        out.append(reason("matched_terms", "共同关键词：" + "、".join(terms), terms=terms))
    if shared_industries:
        names = [f"{code} {name}".strip() for code, name in shared_industries]
        out.append(
            reason(
                "shared_industry",
                "同属行业：" + "、".join(names),
                industries=[c for c, _ in shared_industries],
            )
        )
    if same_city:
        out.append(reason("same_city", f"同在{same_city}", city=same_city))
    elif distance_km is not None:
        out.append(reason("distance", f"相距约 {distance_km:.0f} 公里", km=round(distance_km, 1)))
    if capacity_left is not None:
        out.append(reason("capacity", f"剩余名额 {capacity_left}", left=capacity_left))
    if peer_partners:
        out.append(
            reason(
                "graph_peers", f"已与 {peer_partners} 所合作伙伴相近的院校合作", count=peer_partners
            )
        )
    out.append(reason("graph_load", f"当前合作关系 {load} 个", count=load))
    out.append(reason("guards_passed", GUARDS_CHECKED))
    return out
