"""A cross-encoder that reads both texts of a pair at once, for the pairs the feature scorer is unsure of.

The pair scorer (scorer.py) reads features computed from each text apart: cosines, the actions, instruments
and groups each names, TF-IDF overlap. Its errors on unseen groups are pairs in near-identical words where
one side adds an object or a step ("a specific law for domestic violence" / "... on violence against
women"). This head feeds the two texts to e5-small as one sequence ("query: A</s></s>query: B") and tunes
its top 4 layers and a 3-way output (different / duplicate / related) on the labelled pairs, in both orders;
a pair is scored in both orders and the two answers averaged.

Its probabilities are averaged into the scorer's at ``weight`` (0.25), and only where that can change the
duplicate decision: a pair whose scorer P(duplicate) lies in the ``band`` [(t - w) / (1 - w), t / (1 - w)]
around the threshold t (PairScorer.band_rows). Elsewhere the scorer's answer stands, so the cost is a
transformer pass per uncertain pair (~60 ms on 2 cores), not per candidate pair; the answers are kept in the
store (pair_reads.py). Measured before it shipped (a cross-encoder trained as this one, the weight fixed
before the test files were scored): on the 720 pairs of the two unseen test files, duplicate precision at
recall 0.90 0.756 -> 0.796 averaged in everywhere (average precision 0.906 -> 0.927).

Trained on English UPR pairs only, it refines pairs in ``languages`` (English) and leaves other languages,
pairs across languages and follow-ups across cycles to the scorer. Estimator style: arguments in
``__init__``, work in ``fit``, learned state in attributes ending in ``_``; torch loads on first use.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import InputError
from .scorer import CLASSES

# what joins the two texts, per backbone (the encoder head adds the first text's prefix itself)
SEPARATORS = {"e5-small": "</s></s>query: ", "minilm-test": " [SEP] "}
CHUNK = 512  # pairs scored at a time (~100 MB of float16 lower-layer states)


class PairEncoder:
    """``fit(texts_a, texts_b, labels)``; ``predict_proba(texts_a, texts_b) -> (n, 3)`` in CLASSES order."""

    def __init__(self, backbone: str = "e5-small", layers: int = 4, epochs: int = 4, lr: float = 1e-4,
                 head_lr: float = 2e-3, batch_size: int = 16, max_length: int = 192, weight: float = 0.25,
                 languages: tuple[str, ...] = ("en",), random_state: int = 0, threads: int | None = None):
        self.backbone = backbone
        self.layers = layers
        self.epochs = epochs
        self.lr = lr
        self.head_lr = head_lr
        self.batch_size = batch_size
        self.max_length = max_length
        self.weight = weight
        self.languages = languages
        self.random_state = random_state
        self.threads = threads

    def _join(self, a: str, b: str) -> str:
        return f"{a}{SEPARATORS.get(self.backbone, ' [SEP] ')}{b}"

    def fit(self, texts_a: Sequence[str], texts_b: Sequence[str], labels: Sequence[str],
            progress=None) -> "PairEncoder":
        from ..classify.encoder_head import EncoderHead

        if not 0.0 < self.weight < 1.0:
            raise InputError("the pair encoder's weight must lie between 0 and 1", field="weight")
        labels = np.asarray(labels)
        unknown = sorted(set(labels) - set(CLASSES))
        if unknown or not (len(texts_a) == len(texts_b) == len(labels)):
            raise InputError(f"pair labels must be {', '.join(CLASSES)}, one per pair"
                             + (f" (found {unknown[0]!r})" if unknown else ""), field="label")
        y = np.asarray([CLASSES.index(v) for v in labels])
        both = ([self._join(a, b) for a, b in zip(texts_a, texts_b)]
                + [self._join(b, a) for a, b in zip(texts_a, texts_b)])
        head = EncoderHead(backbone=self.backbone, layers=self.layers, epochs=self.epochs, lr=self.lr,
                           head_lr=self.head_lr, batch_size=self.batch_size, max_length=self.max_length,
                           multilabel=False, n_labels=len(CLASSES), random_state=self.random_state,
                           threads=self.threads, keep_lower=False)
        self.head_ = head.fit(both, np.concatenate([y, y]), progress=progress)
        self.n_pairs_ = int(len(y))
        return self

    def predict_proba(self, texts_a: Sequence[str], texts_b: Sequence[str], progress=None) -> np.ndarray:
        out = np.zeros((len(texts_a), len(CLASSES)))
        for start in range(0, len(texts_a), CHUNK):  # bounded memory: the lower layers' states of CHUNK pairs
            a, b = texts_a[start:start + CHUNK], texts_b[start:start + CHUNK]
            ab = self.head_.predict_proba([self._join(x, y) for x, y in zip(a, b)])
            ba = self.head_.predict_proba([self._join(y, x) for x, y in zip(a, b)])
            out[start:start + len(a)] = (ab + ba) / 2
            if progress:
                progress(start + len(a), len(texts_a))
        return out

    def band(self, P: np.ndarray, thresholds: dict[str, Sequence[float]]) -> np.ndarray:
        """Rows where averaging in this head (at ``weight``) could move a class's probability across one of
        its thresholds: ``P[k]`` within [(t - w) / (1 - w), t / (1 - w)] for some threshold t of class k."""
        w = self.weight
        mask = np.zeros(len(P), bool)
        for cls, ts in thresholds.items():
            p = P[:, CLASSES.index(cls)]
            for t in ts:
                mask |= (p >= (t - w) / (1 - w)) & (p <= t / (1 - w))
        return mask

    def refine(self, P: np.ndarray, texts_a: Sequence[str], texts_b: Sequence[str], progress=None) -> np.ndarray:
        """``P`` (n, 3) of the scorer for these pairs, averaged with this head's at ``weight``."""
        return self.blend(P, self.predict_proba(texts_a, texts_b, progress))

    def blend(self, P: np.ndarray, C: np.ndarray) -> np.ndarray:
        """The scorer's probabilities ``P`` averaged with this head's ``C`` at ``weight``."""
        return (1 - self.weight) * P + self.weight * C

    # -- bundle state ----------------------------------------------------------------------------
    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        meta, arrays = self.head_.to_state()
        return {"encoder": meta, "weight": self.weight, "languages": list(self.languages),
                "n_pairs": self.n_pairs_, "input": "query: A" + SEPARATORS.get(self.backbone, " [SEP] ") + "B, "
                "both orders averaged"}, arrays

    @classmethod
    def from_state(cls, meta: dict, arrays, cache_dir=None) -> "PairEncoder":
        from ..classify.encoder_head import EncoderHead

        enc = meta["encoder"]
        pe = cls(backbone=enc["backbone"], layers=enc["layers"], epochs=enc.get("epochs", 4),
                 max_length=enc.get("max_length", 192), weight=float(meta["weight"]),
                 languages=tuple(meta.get("languages", ("en",))))
        pe.head_ = EncoderHead.from_state(enc, arrays, cache_dir=cache_dir)
        pe.head_.keep_lower = False
        pe.n_pairs_ = int(meta.get("n_pairs", 0))
        return pe
