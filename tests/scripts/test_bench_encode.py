"""`xiaoqi bench encode`: two variants on the same texts, each in its own process, measured
from the tree it names, and their vectors compared."""

from __future__ import annotations

import subprocess
from pathlib import Path

from scripts.bench_encode import bench_encode


def test_a_baseline_tree_is_measured_from_its_own_source(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    tree = tmp_path / "base"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=root, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    got = bench_encode(40, "hash-64", seed=3, workers=1, baseline_tree=tree, rounds=1)
    runs = got["runs"]
    for path in ("one_process", "served"):
        assert [r[path]["tree"] for r in runs["baseline"]] == [str(tree.resolve())]
        assert [r[path]["tree"] for r in runs["current"]] == [str(root)]
    for label in ("enterprise_profiles", "needs"):
        assert got["texts"][label]["texts"] == 40
        assert got[label]["one_process_per_s"]["baseline"] > 0
        assert got[label]["served_per_s"]["current"] > 0
        assert got[label]["vectors_served_current_vs_baseline"]["min_cosine"] > 1 - 1e-6
        assert len(runs["current"][0]["served"][label]["load_avg_1min"]) == 2
