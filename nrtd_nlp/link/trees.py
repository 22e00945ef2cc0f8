"""Boosted trees for P(duplicate), stored as plain JSON (no pickle) and evaluated here.

The logistic duplicate head adds its features up; trees read how they combine (a high cosine means
little when the two texts name different instruments, a low word overlap little when both ask the
same action of the same instrument). Averaged with the logistic head, they rank duplicates better:
duplicate precision at recall 0.90 on the adjudicated UPR pairs, 5 x 5-fold, 0.910 -> 0.952 (0.940 with
the settings chosen inside each fold), and on 240 held-out pairs read by others 0.888 -> 0.925 (README,
"Scorer"). Fitted with scikit-learn's ``HistGradientBoostingClassifier`` (shallow trees,
few of them: 340 + 240 labelled pairs); its node arrays are copied out so that a bundle loads and
scores with numpy alone, whatever scikit-learn version is installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PARAMS = {"max_depth": 2, "min_samples_leaf": 20, "max_iter": 100, "learning_rate": 0.05,
          "l2_regularization": 1.0}


@dataclass
class BoostedTrees:
    """Binary model: ``proba(X)`` gives (n, 2) = [P(other), P(duplicate)], like a binary ``Head``."""

    features: tuple[str, ...]
    baseline: float
    trees: list[dict] = field(default_factory=list)  # each: feature, threshold, left, right, leaf, value, nan_left
    params: dict = field(default_factory=dict)
    _stack: dict | None = field(default=None, repr=False, compare=False)

    def _stacked(self) -> dict:
        """Every tree's nodes in one (trees, nodes) array per field, so that all trees step at once."""
        if self._stack is None:
            width = max(len(t["value"]) for t in self.trees)
            st = {}
            for k in ("feature", "threshold", "left", "right", "leaf", "value", "nan_left"):
                pad = True if k == "leaf" else 0
                st[k] = np.stack([np.pad(t[k], (0, width - len(t[k])), constant_values=pad) for t in self.trees])
            st["depth"] = max(t["depth"] for t in self.trees)
            self._stack = st
        return self._stack

    def raw(self, X: np.ndarray, chunk: int = 4096) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        out = np.full(len(X), self.baseline, dtype=np.float64)
        if not self.trees or not len(X):
            return out
        st = self._stacked()
        T = len(self.trees)
        tree = np.arange(T)[None, :]
        for start in range(0, len(X), chunk):
            Xc = X[start:start + chunk]
            rows = np.arange(len(Xc))[:, None]
            node = np.zeros((len(Xc), T), dtype=np.int64)
            for _ in range(st["depth"]):
                x = Xc[rows, st["feature"][tree, node]]
                go_left = np.where(np.isnan(x), st["nan_left"][tree, node], x <= st["threshold"][tree, node])
                nxt = np.where(go_left, st["left"][tree, node], st["right"][tree, node])
                node = np.where(st["leaf"][tree, node], node, nxt)
            out[start:start + chunk] += st["value"][tree, node].sum(1)
        return out

    def proba(self, X: np.ndarray) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self.raw(X)))
        return np.stack([1.0 - p, p], axis=1)

    def to_dict(self) -> dict:
        keys = ("feature", "threshold", "left", "right", "leaf", "value", "nan_left")
        return {"kind": "boosted-trees", "features": list(self.features), "baseline": self.baseline,
                "params": self.params,
                "trees": [{k: t[k].tolist() for k in keys} | {"depth": t["depth"]} for t in self.trees]}

    @classmethod
    def from_dict(cls, d: dict) -> "BoostedTrees":
        types = {"feature": np.int64, "threshold": np.float64, "left": np.int64, "right": np.int64,
                 "leaf": bool, "value": np.float64, "nan_left": bool}
        trees = [{k: np.asarray(t[k], dtype=v) for k, v in types.items()} | {"depth": int(t["depth"])}
                 for t in d["trees"]]
        return cls(tuple(d["features"]), float(d["baseline"]), trees, dict(d.get("params", {})))


def fit_boosted(X: np.ndarray, positive: np.ndarray, features: tuple[str, ...], random_state: int = 0,
                **params) -> BoostedTrees:
    """Gradient-boosted trees on (X, positive: bool); ``params`` override ``PARAMS``."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    p = PARAMS | params
    y = np.asarray(positive, dtype=bool)
    if y.all() or not y.any():
        raise ValueError("boosted trees need both duplicates and other pairs")
    model = HistGradientBoostingClassifier(random_state=random_state, early_stopping=False, **p)
    model.fit(np.asarray(X, dtype=np.float64), y.astype(int))
    trees = []
    for (predictor,) in model._predictors:  # one tree per iteration (binary)
        n = predictor.nodes
        trees.append({"feature": n["feature_idx"].astype(np.int64), "threshold": n["num_threshold"].astype(np.float64),
                      "left": n["left"].astype(np.int64), "right": n["right"].astype(np.int64),
                      "leaf": n["is_leaf"].astype(bool), "value": n["value"].astype(np.float64),
                      "nan_left": n["missing_go_to_left"].astype(bool), "depth": int(n["depth"].max())})
    baseline = float(np.ravel(model._baseline_prediction)[0])
    return BoostedTrees(tuple(features), baseline, trees, p)
