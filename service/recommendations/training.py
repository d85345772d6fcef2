"""Learning from review decisions: labels, a held-out evaluation, and simulated reviewers.

Labels: the latest decision per recommendation, approve = 1, reject = 0 ('return' is no label).
The split is by time (the newest share of decisions is held out), as a deployed ranker would
meet them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg

from models.features import FEATURE_NAMES
from models.ranker import Ranker
from service.recommendations import training_repository as repo


@dataclass
class Evaluation:
    n_train: int
    n_test: int
    auc_default: float
    auc_trained: float
    trained: Ranker

    def as_dict(self) -> dict[str, Any]:
        return {
            "n_train": self.n_train,
            "n_test": self.n_test,
            "auc_default": round(self.auc_default, 4),
            "auc_trained": round(self.auc_trained, 4),
            "trained_beats_default": self.auc_trained > self.auc_default,
            "weights": {k: round(v, 3) for k, v in self.trained.weights().items()},
        }


def labelled(conn: psycopg.Connection[Any]) -> tuple[np.ndarray, np.ndarray]:
    """The ranker's feature rows of every approve/reject decision, oldest first, and labels."""
    rows = repo.latest_decisions(conn)
    x = np.array([[float(r["features"].get(n, 0.0)) for n in FEATURE_NAMES] for r in rows])
    y = np.array([1 if r["decision"] == "approve" else 0 for r in rows])
    return x.reshape(-1, len(FEATURE_NAMES)), y


def evaluate(x: np.ndarray, y: np.ndarray, holdout: float = 0.25) -> Evaluation:
    cut = int(len(y) * (1 - holdout))
    xtr, ytr, xte, yte = x[:cut], y[:cut], x[cut:], y[cut:]
    if len(set(yte.tolist())) < 2:
        raise ValueError("留出评估的审核决定需要同时包含通过与驳回")
    trained = Ranker.fit(xtr, ytr)
    return Evaluation(
        len(ytr), len(yte), Ranker.default().auc(xte, yte), trained.auc(xte, yte), trained
    )


def simulated_decision(features: dict[str, float], rng: random.Random) -> str:
    """A simulated reviewer for the sample data (documented in the README as such).

    It prefers same-city pairs in a shared industry and dislikes enterprises that already carry
    many partnerships — a taste the default weights only partly share — plus noise.
    """
    z = (
        2.5 * features.get("industry_match", 0)
        + 1.5 * features.get("same_city", 0)
        - 1.2 * features.get("load", 0)
        + 2.0 * features.get("dense", 0)
        + rng.gauss(0, 0.6)
        - 1.6
    )
    return "approve" if z > 0 else "reject"
