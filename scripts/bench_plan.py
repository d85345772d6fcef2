"""`xiaoqi bench plan`: the planner against greedy top-k and deferred acceptance, one run, two
instances, every method scored by the same functions (models.planner.violations,
models.planner_baselines.blocking_pairs).

* province: the generated Henan sample (all its vocational schools, `enterprises` firms, every
  city's leading industries) in a throwaway PostgreSQL, pair fits from the real engine
  (retrieval → guards → features → ranker) through service.plans.candidates.build;
* scaled: 500 schools × 30 industries × 50,000 enterprises, generated here; pair features come
  from models.features (industry overlap, distance, kind fit, load) plus synthetic embeddings
  for the dense channel, scored by the default Ranker — the same scorer, synthetic inputs.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from psycopg.rows import dict_row
from rich.table import Table

from models import features as F
from models import planner as P
from models.planner_baselines import blocking_pairs, deferred_acceptance, greedy_top_k
from models.ranker import Ranker

POOL, KEEP = 100, 15  # candidates retrieved per (school, industry); kept for the MIP


def objective(p: P.Problem, chosen: list[P.Candidate]) -> float:
    """Fit plus the school–industry term, as the MIP counts it, for any method's pairs."""
    new = {(c.school, c.industry) for c in chosen if c.industry not in p.served.get(c.school, ())}
    return sum(c.fit for c in chosen) + p.quotas.industry_weight * sum(
        p.industry_value.get(si, 0.0) for si in new
    )


def _score(p: P.Problem, chosen: list[P.Candidate], runtime: float, best: float,
           floor: int) -> dict[str, Any]:  # fmt: skip
    v = P.violations(p, chosen)
    total = sum(v.values())
    obj = objective(p, chosen)
    return {
        "pairs": len(chosen),
        "total_fit": round(sum(c.fit for c in chosen), 4),
        "objective": round(obj, 4),
        "violations": total,
        "violations_beyond_minimum": total - floor,
        "violations_by_kind": {k: n for k, n in v.items() if n},
        "blocking_pairs": blocking_pairs(p, chosen),
        "gap_to_optimum": round((best - obj) / best, 6) if best else None,
        "runtime_s": round(runtime, 3),
    }


def evaluate(p: P.Problem, full: P.Problem, *, cpsat: bool, limit_s: float = 120) -> dict:
    out: dict[str, Any] = {
        "schools": len(p.schools),
        "industries": len(p.industries),
        "candidates": len(p.candidates),
        "candidates_retrieved": len(full.candidates),
    }
    sol = P.solve(p, allow_shortfall=True, time_limit_s=limit_s)
    floor = sum(s.amount for s in sol.shortfalls if s.kind in P.violations(p, []))
    out["status"] = sol.status
    out["minimal_shortfall"] = floor
    out["shortfalls"] = [
        {"kind": s.kind, "subject": s.subject, "required": s.required, "reachable": s.reachable}
        for s in sol.shortfalls[:30]
    ]
    best = objective(p, sol.chosen)
    methods: dict[str, Any] = {}
    methods["xiaoqi_highs"] = _score(p, sol.chosen, sol.runtime_s, best, floor)
    methods["xiaoqi_highs"]["solver_gap"] = round(sol.gap, 9)
    if cpsat:
        # one CP-SAT worker against single-threaded HiGHS, half the time
        cp = P.solve(p, solver="cpsat", allow_shortfall=True, time_limit_s=limit_s / 2)
        methods["xiaoqi_cpsat"] = _score(p, cp.chosen, cp.runtime_s, best, floor)
        methods["xiaoqi_cpsat"]["solver_gap"] = round(cp.gap, 9)
        methods["xiaoqi_cpsat"]["status"] = cp.status
    for name, fn in (("greedy_top_k", greedy_top_k), ("deferred_acceptance", deferred_acceptance)):
        t0 = time.perf_counter()
        chosen = fn(p)
        methods[name] = _score(p, chosen, time.perf_counter() - t0, best, floor)
    out["methods"] = methods
    if len(full.candidates) > len(p.candidates):
        t0 = time.perf_counter()
        lp = P.solve(full, relax=True, allow_shortfall=True, time_limit_s=limit_s)
        # infeasible: the LP of the best plan within the unpruned problem's minimal shortfall
        upper = lp.objective if lp.status != "infeasible" or lp.chosen else None
        out["pruning"] = {
            "kept_per_school_industry": KEEP,
            "retrieved_per_school_industry": POOL,
            "lp_bound_unpruned": round(upper, 4) if upper is not None else None,
            "fit_lost_at_most": round(max(0.0, upper - best), 4) if upper is not None else None,
            "runtime_s": round(time.perf_counter() - t0, 3),
        }
    return out


# --------------------------------------------------------------------------- province
def province(enterprises: int, seed: int) -> tuple[P.Problem, P.Problem, dict[str, Any]]:
    from service.embedded_pg import ensure_server, stop_server
    from service.plans.candidates import build
    from service.plans.schemas import PlanSettings
    from service.recommendations.engine import Engine
    from service.reference import setup_database
    from service.sample.generate import generate
    from service.sample.load import load_dir

    root = Path(tempfile.mkdtemp(prefix="xiaoqi-bench-plan-"))
    os.chmod(root, 0o755)
    info: dict[str, Any] = {"enterprises": enterprises}
    try:
        server = ensure_server(root / "pgdata")
        with psycopg.connect(server.uri, row_factory=dict_row) as conn:
            setup_database(conn)
            t0 = time.perf_counter()
            generate(root / "sample", enterprises, seed)  # quietly: --json owns stdout
            load_dir(conn, root / "sample")
            info["sample_s"] = round(time.perf_counter() - t0, 1)
            t0 = time.perf_counter()
            engine = Engine.load(conn, encoder_name=None, index_dir=root / "indexes",
                                 ranker_dir=root / "ranker")  # fmt: skip
            info["engine_load_s"] = round(time.perf_counter() - t0, 1)
            region: Any = conn.execute(
                "SELECT id, code, name, level, path FROM regions WHERE code = '410000'"
            ).fetchone()
            t0 = time.perf_counter()
            built = build(conn, engine, region, PlanSettings(candidates_per_industry=KEEP))
            info["candidates_s"] = round(time.perf_counter() - t0, 1)
        return built.problem, built.full, info
    finally:
        stop_server(root / "pgdata")
        shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------- scaled
def scaled(schools: int, industries: int, enterprises: int, seed: int
           ) -> tuple[P.Problem, P.Problem]:  # fmt: skip
    rng = np.random.default_rng(seed)
    py = random.Random(seed)
    dim = 32
    codes = [f"{10 + i:02d}" for i in range(industries)]
    centroid = rng.normal(size=(industries, dim))
    weights = 1.0 / np.arange(1, industries + 1) ** 0.6  # some industries are much larger
    ind_of = rng.choice(industries, size=enterprises, p=weights / weights.sum())
    vec = centroid[ind_of] + 0.9 * rng.normal(size=(enterprises, dim))
    vec /= np.linalg.norm(vec, axis=1, keepdims=True)
    lat = rng.uniform(31.4, 36.3, enterprises)
    lon = rng.uniform(110.4, 116.6, enterprises)
    load = rng.poisson(0.4, enterprises)
    kinds = ["talent", "training", "technology", "practice_base"]
    need = [py.sample(kinds, py.randint(1, 2)) for _ in range(enterprises)]
    members = {i: np.flatnonzero(ind_of == i) for i in range(industries)}
    ranker = Ranker.default()
    cands_full: list[P.Candidate] = []
    cands: list[P.Candidate] = []
    prog_left: dict[int, int] = {}
    served: dict[int, frozenset[str]] = {}
    value: dict[tuple[int, str], float] = {}
    for s in range(schools):
        mine = py.sample(range(industries), py.randint(2, 4))
        kind = py.choice(["高职专科", "中职", "职教本科"])
        slat, slon = py.uniform(31.4, 36.3), py.uniform(110.4, 116.6)
        q = centroid[mine].mean(axis=0) + 0.5 * rng.normal(size=dim)
        q /= np.linalg.norm(q)
        sdivs = {codes[i] for i in mine}
        top = np.concatenate(
            [  # one retrieval pool per (school, industry), as the service
                members[i][np.argsort(-(vec[members[i]] @ q))[:POOL]] for i in mine
            ]
        )
        ranks = np.concatenate([np.arange(min(POOL, len(members[i]))) for i in mine])
        rows = []
        for rank, e in zip(ranks, top, strict=True):
            dist = F.haversine_km(slat, slon, float(lat[e]), float(lon[e]))
            overlap, _ = F.industry_overlap(sdivs, [codes[ind_of[e]]])
            rows.append([float(vec[e] @ q), 0.0, 61 / (61 + rank), overlap, 0.0,
                         float(dist < 60), F.proximity(dist), F.capacity_score(None),
                         F.kind_fit(kind, need[e]), 0.0, math.log1p(int(load[e]))])  # fmt: skip
        fits = ranker.score(np.array(rows))
        for n, i in enumerate(mine):
            prog_left[s * 10 + n] = py.randint(2, 4)
            value[(s, codes[i])] = 1 / len(mine)
        for rank, e, fit in zip(ranks, top, fits, strict=True):
            n = mine.index(int(ind_of[e]))
            c = P.Candidate(s, s * 10 + n, int(e), codes[ind_of[e]], round(float(fit), 6))
            cands_full.append(c)
            if rank < KEEP:
                cands.append(c)
        if py.random() < 0.15:
            served[s] = frozenset({codes[mine[0]]})
    p = P.Problem(
        schools=list(range(schools)),
        industries=codes,
        candidates=cands,
        quotas=P.Quotas(schools_per_industry=(20, 40), industries_per_school=(2, 3)),
        served=served,
        programme_left=prog_left,
        enterprise_left={int(e): 3 - min(int(load[e]), 2) for e in range(enterprises)},
        industry_value=value,
    )
    return p, P.Problem(**{**p.__dict__, "candidates": cands_full})


def run(enterprises: int, scaled_schools: int, scaled_industries: int, scaled_enterprises: int,
        seed: int, *, cpsat: bool = True) -> dict[str, Any]:  # fmt: skip
    figures: dict[str, Any] = {}
    p, full, info = province(enterprises, seed)
    figures["province"] = {**info, **evaluate(p, full, cpsat=cpsat)}
    t0 = time.perf_counter()
    p, full = scaled(scaled_schools, scaled_industries, scaled_enterprises, seed)
    build_s = round(time.perf_counter() - t0, 1)
    figures["scaled"] = {
        "enterprises": scaled_enterprises,
        "build_s": build_s,
        **evaluate(p, full, cpsat=cpsat),
    }
    return figures


def table(figures: dict[str, Any]) -> Table:
    t = Table("instance", "method", "pairs", "total fit", "objective", "violations",
              "beyond min. shortfall", "blocking pairs", "gap", "runtime s")  # fmt: skip
    for inst, f in figures.items():
        for name, m in f["methods"].items():
            gap = m.get("solver_gap", m["gap_to_optimum"])
            gap_text = f"{gap:.2e}" if gap is not None else "-"
            t.add_row(inst, name, str(m["pairs"]), f"{m['total_fit']:.2f}",
                      f"{m['objective']:.2f}", str(m["violations"]),
                      str(m["violations_beyond_minimum"]), str(m["blocking_pairs"]),
                      gap_text, f"{m['runtime_s']:.2f}")  # fmt: skip
    return t
