"""Zero-shot tagging from label texts: useful on day one, in every language, with no annotated data.

Each label becomes a prototype: the mean of its names, keywords and description in every language
the label file gives, embedded and language-centred like the texts. A text's score for a label is
its cosine to the prototype. Cosines are not probabilities: ``calibrate`` fits, on annotated data
held out from anything else, P(label is right | cosine, margin to the best label, rank); without
it the scores are reported as uncalibrated relevance.

A task whose labels have parents in another task (an SDG target's goal) can be calibrated with the
parent tagger's probability of each label's parent as a fourth input (``parent_task``): a target
whose goal the goal tagger rules out is not asserted for its words alone ("ratify the Convention"
had met target 3.a, the tobacco convention).
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

    def __init__(self, task: str, labels: LabelSet, *, multilabel: bool = True, temperature: float = 0.03,
                 parent_task: str | None = None):
        self.task = task
        self.labels = labels
        self.label_ids = labels.ids
        self.multilabel = multilabel
        self.temperature = temperature
        self.parent_task = parent_task

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
        self.parent_of_ = None  # set by ``calibrate`` with a parent
        self.thresholds_ = np.full(len(self.label_ids), 0.5, np.float32)
        return self

    def similarities(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, np.float32) @ self.prototypes_.T

    def _features(self, X: np.ndarray, parent) -> np.ndarray:
        F = _pair_features(self.similarities(X))
        if getattr(self, "parent_of_", None) is None:
            return F
        return np.hstack([F, self._parent_logits(parent, len(X)).reshape(-1, 1)])

    def _parent_logits(self, parent, n: int) -> np.ndarray:
        """(n, L): logit of the parent tagger's probability of each label's parent; ``parent`` is
        (parent label ids, (n, Lp) probabilities). Without it, or for a parent it does not know, the
        mean seen in calibration stands in."""
        out = np.full((n, len(self.label_ids)), self.parent_fill_, np.float32)
        if parent is None:
            return out
        ids, P = parent
        col = {pid: j for j, pid in enumerate(ids)}
        have = [(k, col[p]) for k, p in enumerate(self.parent_of_) if p in col]
        if have:
            ks, js = (np.array(v) for v in zip(*have))
            q = np.clip(np.asarray(P, np.float32)[:, js], 1e-4, 1 - 1e-4)
            out[:, ks] = np.log(q / (1 - q))
        return out

    def calibrate(self, X: np.ndarray, Y: np.ndarray, parent=None) -> "ZeroShotTagger":
        """Fit P(right) on held-out annotated vectors ``X`` with 0/1 labels ``Y`` (n, L). ``parent``:
        (parent label ids, (n, Lp) probabilities), out-of-fold for these records, when ``parent_task`` is set."""
        from sklearn.linear_model import LogisticRegression

        self.parent_of_ = None
        if self.parent_task and parent is not None:
            self.parent_of_ = [self.labels.by_id[lid].parent if lid in self.labels.by_id else None
                               for lid in self.label_ids]
            self.parent_fill_ = 0.0
            L = self._parent_logits(parent, len(X))
            self.parent_fill_ = float(L[:, [p is not None for p in self.parent_of_]].mean())
        F = self._features(X, parent)
        y = np.asarray(Y).reshape(-1)
        m = LogisticRegression(C=10.0, max_iter=2000).fit(F, y)
        self.cal_coef_ = m.coef_[0].astype(np.float32)
        self.cal_intercept_ = float(m.intercept_[0])
        self.calibrated_ = True
        P = self.predict_proba(None, X, None, parent=parent)
        if self.multilabel:
            self.thresholds_, _ = tune_thresholds(P, np.asarray(Y), min_pos=10)
        self.validation_ = {"n": int(len(X)), "calibration": reliability(P, np.asarray(Y))}
        return self

    def predict_proba(self, texts, X: np.ndarray, languages, parent=None) -> np.ndarray:
        """``parent``: (parent label ids, (n, Lp) probabilities) from the ``parent_task`` tagger."""
        S = self.similarities(X)
        if self.calibrated_:
            z = self._features(X, parent) @ self.cal_coef_ + self.cal_intercept_
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
