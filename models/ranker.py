"""The ranker: a scikit-learn logistic model over models.features.FEATURE_NAMES.

Before any review decisions exist it carries hand-set default weights (documented below); `fit`
learns from decisions (approve = 1, reject = 0). Saved with a manifest like every artefact.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from models.features import FEATURE_NAMES

# Default weights before labels: meaning first (dense + keywords), then the policy facts
# (industry, catalogue fit, proximity), with a penalty on already-busy enterprises.
DEFAULT_WEIGHTS: dict[str, float] = {
    "dense": 4.0,
    "bm25": 1.5,
    "fused": 1.0,
    "industry_match": 1.5,
    "major_fit": 1.0,
    "same_city": 0.6,
    "proximity": 0.8,
    "capacity_left": 0.4,
    "kind_fit": 0.6,
    "peer_partners": 0.3,
    "load": -0.5,
}
DEFAULT_INTERCEPT = -5.0


@dataclass
class Ranker:
    model: LogisticRegression
    version: str
    trained_on: int = 0  # number of labelled decisions; 0 = default weights

    @classmethod
    def default(cls) -> Ranker:
        model = LogisticRegression()
        model.classes_ = np.array([0, 1])
        model.coef_ = np.array([[DEFAULT_WEIGHTS[n] for n in FEATURE_NAMES]])
        model.intercept_ = np.array([DEFAULT_INTERCEPT])
        model.n_features_in_ = len(FEATURE_NAMES)
        return cls(model=model, version="default-" + _weights_digest(model))

    def score(self, x: np.ndarray) -> np.ndarray:
        """Probability of approval for each row of x (n × len(FEATURE_NAMES))."""
        if len(x) == 0:
            return np.zeros(0)
        z = x @ self.model.coef_[0] + self.model.intercept_[0]
        return 1.0 / (1.0 + np.exp(-z))  # same as predict_proba, without its per-call checks

    def weights(self) -> dict[str, float]:
        return {n: float(w) for n, w in zip(FEATURE_NAMES, self.model.coef_[0], strict=True)}

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, c: float = 1.0) -> Ranker:
        if len(set(y.tolist())) < 2:
            raise ValueError("training needs both approved and rejected decisions")
        model = LogisticRegression(C=c, max_iter=1000, class_weight="balanced")
        model.fit(x, y)
        return cls(model=model, version="trained-" + _weights_digest(model), trained_on=len(y))

    def auc(self, x: np.ndarray, y: np.ndarray) -> float:
        return float(roc_auc_score(y, self.score(x)))

    # ----------------------------------------------------------------- persistence
    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "ranker.pkl").write_bytes(pickle.dumps(self.model))
        manifest = {
            "kind": "ranker",
            "version": self.version,
            "features": list(FEATURE_NAMES),
            "weights": self.weights(),
            "intercept": float(self.model.intercept_[0]),
            "trained_on": self.trained_on,
            "created_at": datetime.now(UTC).isoformat(),
        }
        path = directory / "manifest.json"
        path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory: Path) -> Ranker:
        """The saved ranker, or the default when none is saved or its features differ."""
        manifest_path = directory / "manifest.json"
        if not manifest_path.exists():
            return cls.default()
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("features") != list(FEATURE_NAMES):
            return cls.default()  # trained on another feature set: refuse it rather than misread
        model = pickle.loads((directory / "ranker.pkl").read_bytes())
        return cls(model=model, version=manifest["version"], trained_on=manifest["trained_on"])


def _weights_digest(model: LogisticRegression) -> str:
    raw = np.concatenate([model.coef_.ravel(), model.intercept_]).round(6).tobytes()
    return hashlib.sha256(raw).hexdigest()[:10]
