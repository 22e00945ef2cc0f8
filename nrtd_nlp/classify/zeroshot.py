"""Zero-shot tagging from label texts: useful on day one, in every language, with no annotated data.

Each label becomes a prototype: the mean of its names, keywords and description in every language
the label file gives, embedded and language-centred like the texts. A text's score for a label is
its cosine to the prototype. Cosines are not probabilities: ``calibrate`` fits, on annotated data
held out from anything else, P(label is right | cosine, margin to the best label, rank); without
it the scores are reported as uncalibrated relevance.
"""

from __future__ import annotations

import numpy as np

from .calibration import reliability, tune_thresholds
from .labels import LabelSet


def _pair_features(S: np.ndarray) -> np.ndarray:
    """Per (text, label): cosine, gap to the text's best label, and 1/(1+rank)."""
    rank = np.argsort(np.argsort(-S, axis=1), axis=1)
    gap = S - S.max(1, keepdims=True)
    return np.stack([S, gap, 1.0 / (1.0 + rank)], axis=-1).reshape(-1, 3)


class ZeroShotTagger:
    kind = "zero-shot"

    def __init__(self, task: str, labels: LabelSet, *, multilabel: bool = True, temperature: float = 0.03):
        self.task = task
        self.labels = labels
        self.label_ids = labels.ids
        self.multilabel = multilabel
        self.temperature = temperature

    def fit(self, encode) -> "ZeroShotTagger":
        """``encode(texts) -> centred, normalised vectors``; language detection is encode's job."""
        rows, owner = [], []
        for j, lab in enumerate(self.labels.labels):
            for t in lab.prototype_texts():
                rows.append(t)
                owner.append(j)
        V = np.asarray(encode(rows), np.float32)
        owner = np.asarray(owner)
        P = np.zeros((len(self.label_ids), V.shape[1]), np.float32)
        for j in range(len(self.label_ids)):
            P[j] = V[owner == j].mean(0)
        self.prototypes_ = P / np.maximum(np.linalg.norm(P, axis=1, keepdims=True), 1e-9)
        self.calibrated_ = False
        self.thresholds_ = np.full(len(self.label_ids), 0.5, np.float32)
        return self

    def similarities(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, np.float32) @ self.prototypes_.T

    def calibrate(self, X: np.ndarray, Y: np.ndarray) -> "ZeroShotTagger":
        """Fit P(right) on held-out annotated vectors ``X`` with 0/1 labels ``Y`` (n, L)."""
        from sklearn.linear_model import LogisticRegression

        F = _pair_features(self.similarities(X))
        y = np.asarray(Y).reshape(-1)
        m = LogisticRegression(C=10.0, max_iter=2000).fit(F, y)
        self.cal_coef_ = m.coef_[0].astype(np.float32)
        self.cal_intercept_ = float(m.intercept_[0])
        self.calibrated_ = True
        P = self.predict_proba(None, X, None)
        if self.multilabel:
            self.thresholds_, _ = tune_thresholds(P, np.asarray(Y), min_pos=10)
        self.validation_ = {"n": int(len(X)), "calibration": reliability(P, np.asarray(Y))}
        return self

    def predict_proba(self, texts, X: np.ndarray, languages) -> np.ndarray:
        S = self.similarities(X)
        if self.calibrated_:
            z = _pair_features(S) @ self.cal_coef_ + self.cal_intercept_
            return (1.0 / (1.0 + np.exp(-z))).reshape(S.shape).astype(np.float32)
        Z = (S - S.max(1, keepdims=True)) / self.temperature  # uncalibrated relevance in [0, 1]
        E = np.exp(Z)
        return (E / E.sum(1, keepdims=True)).astype(np.float32)

    def decide(self, P: np.ndarray, languages: list[str | None] | None = None) -> np.ndarray:
        """The labels asserted; one set of thresholds for every language (``languages`` is accepted for the
        supervised tagger's signature)."""
        if self.multilabel:
            return P >= self.thresholds_
        return (P >= P.max(1, keepdims=True)) & (P >= self.thresholds_)
