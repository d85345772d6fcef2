from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.dedup import EnterpriseRecord, duplicate_clusters, name_core
from models.diversity import cap_exposure, collapse
from models.features import FEATURE_NAMES, haversine_km, industry_overlap
from models.ranker import Ranker


def test_name_core_strips_region_and_legal_form() -> None:
    assert name_core("河南中原智能装备股份有限公司") == "中原智能装备"
    assert name_core("中原智能装备（河南）有限公司") == "中原智能装备"
    assert name_core("郑州市华信科技有限公司") == "华信科技"
    assert name_core("河 南 中 原 智 能 装 备 有 限 公 司") == "中原智能装备"  # PDF spaces


def test_duplicate_clusters() -> None:
    records = [
        EnterpriseRecord(1, "河南中原智能装备股份有限公司", "A", "410100"),
        EnterpriseRecord(2, "中原智能装备（河南）有限公司", "B", "410100"),
        EnterpriseRecord(3, "中原智能装备有限公司", "C", "410300"),  # another city: another firm
        EnterpriseRecord(4, "河南中原食品有限公司", "D", "410100"),
        EnterpriseRecord(5, "完全不同的名字有限公司", "A", "410500"),  # same credit code as 1
    ]
    assert duplicate_clusters(records) == [[1, 2, 5]]


def test_collapse_and_exposure_cap() -> None:
    assert collapse([1, 2, 3, 4], key=lambda x: x % 2) == [1, 2]
    lists = [["a", "b", "c"], ["a", "b", "d"], ["a", "e", "f"]]
    out = cap_exposure(lists, key=lambda x: x, cap=2, k=2)
    flat = [x for lst in out for x in lst]
    assert flat.count("a") == 2 and flat.count("b") <= 2
    assert all(len(lst) == 2 for lst in out)
    assert out[0][0] == "a" and out[1][0] == "a" and out[2] == ["e", "f"]


def test_features() -> None:
    share, shared = industry_overlap(["C3411", "I65"], ["C34", "C36"])
    assert shared == ["34"] and share == 0.5
    assert 600 < haversine_km(34.7466, 113.6253, 39.9042, 116.4074) < 700  # 郑州–北京


def test_default_ranker_orders_by_relevance_and_round_trips(tmp_path: Path) -> None:
    r = Ranker.default()
    good = np.zeros(len(FEATURE_NAMES))
    bad = np.zeros(len(FEATURE_NAMES))
    good[FEATURE_NAMES.index("dense")] = 0.8
    bad[FEATURE_NAMES.index("dense")] = 0.2
    s = r.score(np.stack([good, bad]))
    assert s[0] > s[1]
    r.save(tmp_path)
    again = Ranker.load(tmp_path)
    assert again.version == r.version
    np.testing.assert_allclose(again.score(np.stack([good, bad])), s)


def test_trained_ranker_learns_a_signal() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((400, len(FEATURE_NAMES)))
    y = (x[:, FEATURE_NAMES.index("industry_match")] > 0.5).astype(int)
    r = Ranker.fit(x, y)
    assert r.auc(x, y) > 0.9
    assert r.weights()["industry_match"] > 1.0
    with pytest.raises(ValueError):
        Ranker.fit(x, np.ones(400, dtype=int))
