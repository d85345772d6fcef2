"""Honest training of the learned stage (scripts/eval_fit.py): a training query's adapted
cosines never come from an adapter fitted on that query, held-out queries are never fitted
on, and the hyperparameter choice reads only the training queries."""

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from scripts import eval_fit


def _capture(ids: list[str]) -> Any:
    bench = SimpleNamespace(query_ids=ids)
    return SimpleNamespace(prepared=SimpleNamespace(bench=bench), x=[np.zeros((1, 1))] * len(ids))


def test_cross_fitted_adapters_never_saw_their_query(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = [f"q{i}" for i in range(40)]
    caps = [_capture(ids), _capture(ids[:25])]  # a second benchmark sharing query ids
    fitted_on: list[frozenset[str]] = []

    def fake_fit(preps: Any, keep: Any) -> list[Any]:
        fitted_on.append(frozenset(q for q in ids if keep(q)))
        return [len(fitted_on) - 1]

    def fake_adapted(c: Any, i: int, adapters: list[Any]) -> np.ndarray:
        return np.full((1, 1), float(adapters[0]))

    monkeypatch.setattr(eval_fit, "fit_adapters", fake_fit)
    monkeypatch.setattr(eval_fit, "_adapted", fake_adapted)
    held = {q for q in ids if eval_fit.fold_of(q, 5) == 0}

    def keep(q: str) -> bool:
        return q not in held

    xs = eval_fit._cross_fitted(caps, keep, use=True)
    assert len(fitted_on) == eval_fit.INNER_FOLDS
    assert all(not (f & held) for f in fitted_on)  # held-out queries: never fitted on
    for c, rows in zip(caps, xs, strict=True):
        for qid, x in zip(c.prepared.bench.query_ids, rows, strict=True):
            if qid in held:
                assert x is c.x[0]  # untouched: the served stage scores them
            else:
                assert qid not in fitted_on[int(x[0, 0])]
    assert eval_fit._cross_fitted(caps, keep, use=False)[0][0] is caps[0].x[0]


def test_selection_reads_only_the_given_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[set[str]] = []

    class Model:
        def score(self, x: np.ndarray, rounds: int | None = None) -> np.ndarray:
            return x[:, 0] * (1.0 if rounds == 20 else -1.0)  # 20 rounds ranks right

    def fake_train(blocks: Any, names: Any, setting: Any) -> Model:
        seen.append({b[0] for b in blocks})
        return Model()

    monkeypatch.setattr(eval_fit, "_train", fake_train)
    rng = np.random.default_rng(0)
    blocks = []
    for i in range(30):
        y = (rng.random(8) > 0.6).astype(np.float32)
        y[0] = 1.0
        blocks.append((f"t{i}", (y + 0.1 * rng.random(8))[:, None], y, 1.0))
    setting, means = eval_fit.select(blocks, ["a"], [{"rounds": [10, 20]}], lambda s: None)
    assert setting["rounds"] == 20 and len(means) == 2
    assert all(s <= {b[0] for b in blocks} for s in seen) and len(seen) == eval_fit.INNER_FOLDS
