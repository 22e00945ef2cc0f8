"""Sparse text features for the supervised taggers: word and character TF-IDF, and the lead words.

The lead words ("L0_continue L1_its") carry most of the UPR Info action category, which is defined
by the verb a recommendation opens with. All blocks are saved as plain JSON + arrays (no pickle).
"""

from __future__ import annotations

import re

import numpy as np

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_LEAD_SKIP = {"the", "a", "an", "to", "that", "its", "it", "of", "and", "further", "also", "both"}


def lead_tokens(text: str, n: int = 4) -> str:
    """Positional tokens for the first words, e.g. 'L0_continue L1_efforts P_continue_efforts'."""
    words = [w.lower() for w in _WORD.findall(text[:200])]
    core = [w for w in words if w not in _LEAD_SKIP][:n]
    toks = [f"L{i}_{w}" for i, w in enumerate(words[:n])]
    toks += [f"C{i}_{w}" for i, w in enumerate(core)]
    toks += [f"P_{a}_{b}" for a, b in zip(words[:3], words[1:4])]
    return " ".join(toks)


def _vectorizer(kind: str, max_features: int, vocabulary=None):
    from sklearn.feature_extraction.text import TfidfVectorizer

    common = dict(sublinear_tf=True, dtype=np.float32, vocabulary=vocabulary)
    if kind == "word":
        return TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=max_features, **common)
    if kind == "char":
        return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, max_features=max_features, **common)
    if kind == "lead":
        return TfidfVectorizer(token_pattern=r"\S+", lowercase=False, min_df=2, **common)
    raise ValueError(kind)


class TextFeatures:
    """Concatenated TF-IDF blocks. ``blocks`` is a tuple of 'word', 'char', 'lead'."""

    def __init__(self, blocks: tuple[str, ...] = ("word",), max_features: int = 60000):
        self.blocks = tuple(blocks)
        self.max_features = max_features

    @staticmethod
    def _input(kind: str, texts):
        return [lead_tokens(t) for t in texts] if kind == "lead" else list(texts)

    def fit(self, texts) -> "TextFeatures":
        self.vectorizers_ = {}
        for kind in self.blocks:
            v = _vectorizer(kind, self.max_features)
            v.fit(self._input(kind, texts))
            self.vectorizers_[kind] = v
        return self

    def transform(self, texts):
        from scipy import sparse

        mats = [self.vectorizers_[k].transform(self._input(k, texts)) for k in self.blocks]
        return sparse.hstack(mats).tocsr() if len(mats) > 1 else mats[0].tocsr()

    @property
    def n_features_(self) -> int:
        return sum(len(v.vocabulary_) for v in self.vectorizers_.values())

    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        meta = {"blocks": list(self.blocks), "max_features": self.max_features, "vocabularies": {}}
        arrays = {}
        for k, v in self.vectorizers_.items():
            vocab = sorted(v.vocabulary_.items(), key=lambda kv: kv[1])
            meta["vocabularies"][k] = [t for t, _ in vocab]
            arrays[f"idf_{k}"] = v.idf_.astype(np.float32)
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict, arrays) -> "TextFeatures":
        self = cls(tuple(meta["blocks"]), meta["max_features"])
        self.vectorizers_ = {}
        for k in self.blocks:
            terms = meta["vocabularies"][k]
            v = _vectorizer(k, self.max_features, vocabulary={t: i for i, t in enumerate(terms)})
            v.fit(terms[:1] or [""])  # builds the analyzer; idf is replaced below
            v.idf_ = np.asarray(arrays[f"idf_{k}"], np.float64)
            self.vectorizers_[k] = v
        return self
