"""Turning scores into probabilities, and choosing per-label thresholds — always on held-out data.

``Platt`` maps a raw score (a fused probability, or a zero-shot cosine margin) to P(label is right)
with a two-parameter logistic fit over all (record, label) pairs of a validation set. Thresholds are
chosen per label on the same validation data, by F1, falling back to a shared threshold for labels
with too few validation positives.
"""

from __future__ import annotations

import numpy as np


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


class Platt:
    """p = sigmoid(a * f(s) + b), f = logit for probabilities, identity for raw scores."""

    def __init__(self, on_logit: bool = True):
        self.on_logit = on_logit

    def _f(self, s):
        s = np.asarray(s, np.float64)
        return _logit(s) if self.on_logit else s

    def fit(self, scores: np.ndarray, y: np.ndarray) -> "Platt":
        from sklearn.linear_model import LogisticRegression

        x = self._f(scores).reshape(-1, 1)
        y = np.asarray(y).reshape(-1)
        if len(np.unique(y)) < 2:
            self.a_, self.b_ = 1.0, 0.0
            return self
        m = LogisticRegression(C=100.0, max_iter=1000).fit(x, y)
        self.a_, self.b_ = float(m.coef_[0, 0]), float(m.intercept_[0])
        return self

    def transform(self, scores: np.ndarray) -> np.ndarray:
        z = self.a_ * self._f(scores) + self.b_
        return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)

    def to_dict(self) -> dict:
        return {"on_logit": self.on_logit, "a": self.a_, "b": self.b_}

    @classmethod
    def from_dict(cls, d: dict) -> "Platt":
        c = cls(d.get("on_logit", True))
        c.a_, c.b_ = float(d["a"]), float(d["b"])
        return c


def f1_at(p: np.ndarray, y: np.ndarray, t: float) -> float:
    pred = p >= t
    tp = float((pred & (y == 1)).sum())
    fp = float((pred & (y == 0)).sum())
    fn = float((~pred & (y == 1)).sum())
    return 2 * tp / max(2 * tp + fp + fn, 1.0)


def tune_thresholds(P: np.ndarray, Y: np.ndarray, *, min_pos: int = 8,
                    grid: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Per-label F1-best thresholds; labels with fewer than ``min_pos`` positives get the shared one."""
    grid = np.arange(0.10, 0.91, 0.025) if grid is None else grid
    shared = float(grid[int(np.argmax([f1_at(P.ravel(), Y.ravel(), t) for t in grid]))])
    th = np.full(P.shape[1], shared, np.float32)
    for j in range(P.shape[1]):
        if Y[:, j].sum() >= min_pos:
            th[j] = grid[int(np.argmax([f1_at(P[:, j], Y[:, j], t) for t in grid]))]
    return th, shared


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 10) -> dict:
    """Expected calibration error and the per-bin table behind a reliability plot."""
    p, y = np.asarray(p).ravel(), np.asarray(y).ravel()
    edges = np.linspace(0, 1, bins + 1)
    rows, ece = [], 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (p >= lo) & (p < hi) if hi < 1 else (p >= lo) & (p <= hi)
        if m.sum() == 0:
            continue
        conf, acc = float(p[m].mean()), float(y[m].mean())
        ece += m.sum() / len(p) * abs(conf - acc)
        rows.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": int(m.sum()), "mean_score": round(conf, 4),
                     "observed": round(acc, 4)})
    return {"ece": round(float(ece), 4), "bins": rows}
