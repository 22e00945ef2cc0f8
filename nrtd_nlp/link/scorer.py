"""A calibrated pair scorer: multinomial logistic regression over the pair features, giving
P(duplicate), P(related), P(different). Stored as plain JSON (no pickle) in a model bundle with a
manifest: version, embedder id, training-data hash, library versions, thresholds, CV figures.

Heads: ``full`` for pairs in the same language (all features) and ``cross`` for pairs in
different languages (the embedding cosines only: word and TF-IDF overlap mean nothing there);
``followup`` for same-State pairs across cycles; and ``duplicate``, a binary duplicate-vs-rest
model over the same features whose P(duplicate) replaces the ``full`` head's (related and
different keep their ratio): it ranks duplicates better than the 3-class softmax (duplicate
precision at recall 0.90 on the adjudicated UPR pairs, 5 x 5-fold: 0.890 -> 0.910; README); since v6
its P(duplicate) is averaged with boosted trees' over the same features (``trees.py``; 0.910 -> 0.952).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np

from ..errors import ModelUnavailable
from .features import FEATURES
from .trees import BoostedTrees

CLASSES = ("different", "duplicate", "related")
PAIR_ENCODER_FILE = "pair_encoder.npz"  # the cross-encoder's tuned layers (pair_encoder.py), float16
CROSS_FEATURES = ("cos_1", "cos_2")


@dataclass
class Head:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # (n_classes, n_features)
    intercept: np.ndarray
    classes: tuple[str, ...] = CLASSES

    def proba(self, X: np.ndarray) -> np.ndarray:
        Z = (X - self.mean) / self.scale
        logits = Z @ self.coef.T + self.intercept
        logits -= logits.max(1, keepdims=True)
        e = np.exp(logits)
        return e / e.sum(1, keepdims=True)

    def to_dict(self) -> dict:
        return {"features": list(self.features), "classes": list(self.classes), "mean": self.mean.tolist(),
                "scale": self.scale.tolist(), "coef": self.coef.tolist(), "intercept": self.intercept.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Head":
        return cls(tuple(d["features"]), np.asarray(d["mean"]), np.asarray(d["scale"]), np.asarray(d["coef"]),
                   np.asarray(d["intercept"]), tuple(d["classes"]))


def fit_head(X: np.ndarray, y: np.ndarray, features: tuple[str, ...], C: float = 1.0,
             classes: tuple[str, ...] = CLASSES) -> Head:
    """Logistic regression on standardised features. With two ``classes`` it is the binary model,
    stored as a softmax with a zero first row (the same probabilities)."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = X.mean(0), X.std(0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=C, max_iter=5000).fit((X - mean) / scale, y)
    if len(classes) == 2:
        assert list(lr.classes_) == sorted(classes)
        sign = 1.0 if lr.classes_[1] == classes[1] else -1.0
        coef = np.vstack([np.zeros_like(lr.coef_[0]), sign * lr.coef_[0]])
        return Head(features, mean, scale, coef, np.asarray([0.0, sign * lr.intercept_[0]]), tuple(classes))
    order = [list(lr.classes_).index(c) for c in classes]
    return Head(features, mean, scale, lr.coef_[order], lr.intercept_[order], tuple(classes))


DUP_CLASSES = ("other", "duplicate")


def fit_duplicate_head(X: np.ndarray, y: np.ndarray, features: tuple[str, ...]) -> Head:
    """Duplicate against everything else (related and different together)."""
    return fit_head(X, np.where(y == "duplicate", "duplicate", "other"), features, classes=DUP_CLASSES)


def duplicate_probability(head: Head, trees: BoostedTrees | None, weight: float, X: np.ndarray) -> np.ndarray:
    """P(duplicate) of the binary head, averaged with the boosted trees' at ``weight`` when there are any."""
    p = head.proba(X)[:, 1]
    if trees is None or weight <= 0:
        return p
    return (1.0 - weight) * p + weight * trees.proba(X)[:, 1]


def with_duplicate_head(P: np.ndarray, p_dup: np.ndarray) -> np.ndarray:
    """The 3-class probabilities with P(duplicate) from the binary head; related and different keep
    their ratio and share the rest."""
    rest = P[:, [CLASSES.index("different"), CLASSES.index("related")]]
    rest = rest / np.maximum(rest.sum(1, keepdims=True), 1e-12)
    out = np.empty_like(P)
    out[:, CLASSES.index("duplicate")] = p_dup
    out[:, CLASSES.index("different")] = (1 - p_dup) * rest[:, 0]
    out[:, CLASSES.index("related")] = (1 - p_dup) * rest[:, 1]
    return out


class PairScorer:
    """``predict(X_full, cross_mask) -> (n, 3)`` probabilities in CLASSES order."""

    def __init__(self, full: Head, cross: Head, meta: dict, followup: Head | None = None,
                 duplicate: Head | None = None, duplicate_trees: BoostedTrees | None = None,
                 trees_weight: float = 0.0):
        self.full, self.cross, self.meta, self.followup = full, cross, meta, followup
        self.duplicate = duplicate  # binary duplicate-vs-rest head beside ``full`` (v4; older bundles: none)
        self.duplicate_trees = duplicate_trees  # boosted trees averaged with it (v6; older bundles: none)
        self.trees_weight = float(trees_weight) if duplicate_trees is not None else 0.0
        self.folder: Path | None = None  # the bundle it was loaded from (its reference IDF lives there)
        self.pair_encoder = None  # a PairEncoder for uncertain same-language pairs (v9; older bundles: none)

    @property
    def agent(self) -> str:
        return f"{self.meta['name']}@{self.meta['version']}"

    @property
    def threshold_duplicate(self) -> float:
        return float(self.meta["thresholds"]["duplicate"])

    @property
    def threshold_follows_up(self) -> float:
        return float(self.meta["thresholds"].get("follows_up", self.threshold_duplicate))

    @property
    def threshold_cross(self) -> float:
        """Duplicate threshold of the cross-lingual head (its own operating point; older bundles
        used the same-language one)."""
        return float(self.meta["thresholds"].get("cross_duplicate", self.threshold_duplicate))

    @property
    def threshold_related(self) -> float:
        return float(self.meta["thresholds"]["related"])

    def predict(self, X: np.ndarray, cross: np.ndarray | None = None,
                cross_cos: np.ndarray | None = None, cross_cycle: np.ndarray | None = None) -> np.ndarray:
        """``cross`` marks pairs in different languages; their head reads ``cross_cos`` (cosines of
        language-centred vectors, (n, 2)) when given, else the cosine columns of ``X``.
        ``cross_cycle`` marks same-State pairs from different cycles (the follow-up head)."""
        P = self.full.proba(X)
        if self.duplicate is not None and len(X):
            P = with_duplicate_head(P, duplicate_probability(self.duplicate, self.duplicate_trees,
                                                             self.trees_weight, X))
        if self.followup is not None and cross_cycle is not None and cross_cycle.any():
            idx = [FEATURES.index(f) for f in self.followup.features]  # it may read a subset
            P[cross_cycle] = self.followup.proba(X[cross_cycle][:, idx])
        if cross is not None and cross.any():
            if cross_cos is None:
                idx = [FEATURES.index(f) for f in self.cross.features]
                cross_cos = X[:, idx]
            P[cross] = self.cross.proba(np.asarray(cross_cos)[cross])
        return P

    def refine(self, P: np.ndarray, texts_a: list[str], texts_b: list[str], eligible: np.ndarray,
               progress=None) -> tuple[np.ndarray, np.ndarray]:
        """``P`` with the pair encoder averaged in for the ``eligible`` rows (same language, one of the
        encoder's languages, same cycle) whose answer it could change; (P, the rows re-read)."""
        pe = self.pair_encoder
        if pe is None or not len(P):
            return P, np.zeros(0, int)
        rows = self.band_rows(P, eligible)
        if len(rows):
            P = P.copy()
            P[rows] = pe.refine(P[rows], [texts_a[i] for i in rows], [texts_b[i] for i in rows], progress)
        return P, rows

    def band_rows(self, P: np.ndarray, eligible: np.ndarray) -> np.ndarray:
        """The eligible rows whose duplicate decision the pair encoder could change, the most uncertain first
        (nearest the threshold). Related decisions alone do not call it: on the 36k UPR store their bands hold
        80k of 237k candidate pairs, the duplicate band 10k."""
        limits = {"duplicate": [self.threshold_duplicate]}
        rows = np.flatnonzero(eligible & self.pair_encoder.band(P, limits))
        gap = np.min([np.abs(P[rows, CLASSES.index(c)] - t) for c, ts in limits.items() for t in ts], axis=0) \
            if len(rows) else np.zeros(0)
        return rows[np.argsort(gap, kind="stable")]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        heads = {"full": self.full.to_dict(), "cross": self.cross.to_dict()}
        if self.followup is not None:
            heads["followup"] = self.followup.to_dict()
        if self.duplicate is not None:
            heads["duplicate"] = self.duplicate.to_dict()
        if self.duplicate_trees is not None:
            heads["duplicate_trees"] = self.duplicate_trees.to_dict() | {"weight": self.trees_weight}
        (folder / "model.json").write_text(json.dumps(heads))
        (folder / "manifest.json").write_text(json.dumps(self.meta, indent=1))

    @classmethod
    def load(cls, folder: Path | None = None) -> "PairScorer":
        folder = Path(folder) if folder else Path(str(files("nrtd_nlp") / "models" / "link_scorer"))
        try:
            model = json.loads((folder / "model.json").read_text())
            meta = json.loads((folder / "manifest.json").read_text())
        except (FileNotFoundError, NotADirectoryError) as e:  # NRTD_LINK_MODEL_DIR names the folder
            raise ModelUnavailable(f"no link scorer at {folder} (NRTD_LINK_MODEL_DIR, or the packaged one): "
                                   "train one with `nrtd train-links`") from e
        fu = Head.from_dict(model["followup"]) if "followup" in model else None
        dup = Head.from_dict(model["duplicate"]) if "duplicate" in model else None
        trees = model.get("duplicate_trees")
        scorer = cls(Head.from_dict(model["full"]), Head.from_dict(model["cross"]), meta, followup=fu, duplicate=dup,
                     duplicate_trees=BoostedTrees.from_dict(trees) if trees else None,
                     trees_weight=float(trees["weight"]) if trees else 0.0)
        scorer.folder = folder
        if "pair_encoder" in meta and (folder / PAIR_ENCODER_FILE).exists():
            from .pair_encoder import PairEncoder

            with np.load(folder / PAIR_ENCODER_FILE) as arrays:
                scorer.pair_encoder = PairEncoder.from_state(meta["pair_encoder"], arrays)
        return scorer
