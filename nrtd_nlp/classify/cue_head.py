"""A head over language-neutral cue tokens (``cues.CueSet``): trained on English texts, it reads a Spanish,
French, Arabic, Russian or Chinese text's cues the same way.

Features are TF-IDF over the cue tokens (sublinear tf, smooth idf, l2 norm), kept dense: a cue file gives
a few hundred tokens. Stored as plain JSON (the cue file's rows, the vocabulary) and arrays: a bundle
carries the cues it was trained with, so editing the file later never changes a trained model.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import numpy as np

from .cues import CueSet
from .heads import LinearHead


def cue_fingerprint(rows: list[dict]) -> str:
    return hashlib.sha256(json.dumps(rows, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:12]


class CueHead:
    def __init__(self, cues: CueSet, C: float = 4.0, multilabel: bool = False, min_df: int = 2):
        self.cues = cues
        self.C = C
        self.multilabel = multilabel
        self.min_df = min_df

    def _tokens(self, texts, languages) -> list[list[str]]:
        return [self.cues.tokens(t, lang).split() for t, lang in zip(texts, languages)]

    def fit(self, texts, languages, Y, sample_weight=None, n_classes: int | None = None) -> "CueHead":
        toks = self._tokens(texts, languages)
        df = Counter(t for ts in toks for t in set(ts))
        self.vocabulary_ = sorted(t for t, c in df.items() if c >= self.min_df)
        n = len(toks)
        self.idf_ = np.asarray([np.log((1 + n) / (1 + df[t])) + 1.0 for t in self.vocabulary_], np.float32)
        self.head_ = LinearHead(self.C, self.multilabel)
        if n_classes:
            self.head_.n_classes_hint = n_classes
        self.head_.fit(self._matrix(toks), Y, sample_weight)
        return self

    def _matrix(self, toks: list[list[str]]) -> np.ndarray:
        index = self.__dict__.get("_index")
        if index is None or index[0] is not self.vocabulary_:
            index = self.__dict__["_index"] = (self.vocabulary_, {t: i for i, t in enumerate(self.vocabulary_)})
        M = np.zeros((len(toks), len(self.vocabulary_)), np.float32)
        for r, ts in enumerate(toks):
            for t, c in Counter(ts).items():
                j = index[1].get(t)
                if j is not None:
                    M[r, j] = (1.0 + np.log(c)) * self.idf_[j]
        norms = np.linalg.norm(M, axis=1, keepdims=True)
        return M / np.maximum(norms, 1e-12)

    def transform(self, texts, languages) -> np.ndarray:
        return self._matrix(self._tokens(texts, languages))

    def predict_proba(self, texts, languages) -> np.ndarray:
        return self.head_.predict_proba(self.transform(texts, languages))

    # -- storage -------------------------------------------------------------------------------
    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        meta = {"rows": self.cues.rows, "source": self.cues.source, "fingerprint": cue_fingerprint(self.cues.rows),
                "C": self.C, "min_df": self.min_df, "vocabulary": list(self.vocabulary_)}
        return meta, {"cue_idf": self.idf_, **self.head_.to_arrays("cue")}

    @classmethod
    def from_state(cls, meta: dict, arrays, *, multilabel: bool) -> "CueHead":
        self = cls(CueSet(meta["rows"], source=meta.get("source", "")), C=meta.get("C", 0.0),
                   multilabel=multilabel, min_df=meta.get("min_df", 2))
        self.vocabulary_ = list(meta["vocabulary"])
        self.idf_ = np.asarray(arrays["cue_idf"], np.float32)
        self.head_ = LinearHead.from_arrays(arrays, "cue", multilabel=multilabel)
        return self
