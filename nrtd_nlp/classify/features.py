"""Sparse text features for the supervised taggers: word and character TF-IDF, and the lead words.

The lead words ("L0_continue L1_its") carry most of the UPR Info action category, which is defined
by the verb a recommendation opens with. All blocks are saved as plain JSON + arrays (no pickle).
"""

from __future__ import annotations

import re
import threading
from collections import Counter, OrderedDict
from itertools import chain, repeat

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


class _Block:
    """One fitted TF-IDF block applied without scikit-learn's per-call validation (which cost ~4 ms per
    call for one text): the vectorizer's own analyzer, its vocabulary and idf, sublinear tf, l2 norm.
    Gives the same matrix as ``TfidfVectorizer.transform`` (tested).

    Tokens are counted in C (``Counter``) and only distinct ones are looked up; blocks of the same kind
    in different taggers (four taggers read word n-grams) share one analysis per text through a small
    cache, since their analyzers are built from the same settings. Together: 1.5 -> 0.5 ms per text for
    the shipped taggers' blocks (``POST /v1/tag``)."""

    def __init__(self, vectorizer, kind: str | None = None):
        self.analyze = vectorizer.build_analyzer()
        self.kind = kind
        self.vocab = vectorizer.vocabulary_
        self.idf = np.asarray(vectorizer.idf_, np.float64)
        self.size = len(self.vocab)
        self._words = None
        if kind == "char":  # char_wb n-grams never cross a word: each distinct word is looked up once
            self._words: dict[str, np.ndarray] | None = {}
            self._pre = vectorizer.build_preprocessor()
            self._ws = vectorizer._white_spaces
            self._word_ngrams = vectorizer._char_wb_ngrams  # on one word: that word's n-grams

    _WORDS_MAX = 50_000  # distinct words remembered per char block (~10 MB)

    def _word_ids(self, word: str) -> np.ndarray:
        ids = self._words.get(word)
        if ids is None:
            grams = self._word_ngrams(word)
            ids = np.fromiter(map(self.vocab.get, grams, repeat(-1, len(grams))), np.int64, len(grams))
            ids = ids[ids >= 0]
            if len(self._words) < self._WORDS_MAX:
                self._words[word] = ids
        return ids

    def batch(self, docs: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The block's rows for a batch of texts as (row, column, value) triples, sorted by row then column:
        sublinear tf times idf, l2-normalised per row. Each step runs once over every text's tokens, not
        once per text (a per-text pass cost ~20 small numpy calls; ``POST /v1/tag`` batches hold ~5
        texts: the four shipped feature sets for 5 new texts took 3.9 ms, now 2.4 ms, same matrices)."""
        n = len(docs)
        if self._words is not None:  # char_wb: each distinct word's ids, remembered
            per_doc = []
            for doc in docs:
                words = self._ws.sub(" ", self._pre(doc)).split()
                per_doc.append(np.concatenate([self._word_ids(w) for w in words]) if words
                               else np.empty(0, np.int64))
            sizes = np.fromiter(map(len, per_doc), np.int64, n)
            ids = np.concatenate(per_doc) if n else np.empty(0, np.int64)
            keys, tf = np.unique(np.repeat(np.arange(n, dtype=np.int64), sizes) * self.size + ids,
                                 return_counts=True)  # sorted by (row, column)
            row, col = np.divmod(keys, self.size)
            tf = tf.astype(np.float64)
        else:
            counts = [self._counts(doc) for doc in docs]
            sizes = np.fromiter(map(len, counts), np.int64, n)
            total = int(sizes.sum())
            col = np.fromiter(map(self.vocab.get, chain.from_iterable(counts), repeat(-1, total)), np.int64, total)
            tf = np.fromiter(chain.from_iterable(c.values() for c in counts), np.float64, total)
            row = np.repeat(np.arange(n, dtype=np.int64), sizes)
            keep = col >= 0
            row, col, tf = row[keep], col[keep], tf[keep]
            order = np.lexsort((col, row))
            row, col, tf = row[order], col[order], tf[order]
        val = (np.log(tf) + 1.0) * self.idf[col]
        norm = np.sqrt(np.bincount(row, weights=val * val, minlength=n))
        return row, col, val / norm[row]

    def _counts(self, doc):
        if self.kind is None:
            return Counter(self.analyze(doc))
        return _shared_counts(self.kind, self.analyze, doc)


_SHARED: "OrderedDict[tuple[str, str], Counter]" = OrderedDict()
_SHARED_LOCK = threading.Lock()
_SHARED_SIZE = 1024  # texts x kinds: a whole micro-batch of POST /v1/tag stays in


def _shared_counts(kind: str, analyze, doc: str) -> Counter:
    """Token counts of ``doc`` under ``kind``'s analyzer, computed once for every block of that kind."""
    key = (kind, doc)
    with _SHARED_LOCK:
        hit = _SHARED.get(key)
        if hit is not None:
            _SHARED.move_to_end(key)
            return hit
    counts = Counter(analyze(doc))
    with _SHARED_LOCK:
        _SHARED[key] = counts
        if len(_SHARED) > _SHARED_SIZE:
            _SHARED.popitem(last=False)
    return counts


def _shareable(kind: str, vectorizer) -> str | None:
    """The cache key for blocks whose analyzer is fully given by ``kind`` (built by ``_vectorizer``);
    None, so nothing is shared, for a vectorizer with other analysis settings."""
    ref = _vectorizer(kind, 1)
    keys = ("analyzer", "ngram_range", "lowercase", "token_pattern", "preprocessor", "tokenizer",
            "strip_accents", "stop_words")
    same = all(getattr(vectorizer, k, None) == getattr(ref, k, None) for k in keys)
    return kind if same else None


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
        """CSR (n, n_features_) float32: the blocks side by side, each l2-normalised."""
        from scipy import sparse

        texts = list(texts)
        blocks = self.__dict__.get("_blocks")
        if blocks is None or blocks[0] is not self.vectorizers_:
            blocks = self.__dict__["_blocks"] = (self.vectorizers_,
                                                 [_Block(self.vectorizers_[k], _shareable(k, self.vectorizers_[k]))
                                                  for k in self.blocks])
        n_cols = sum(b.size for b in blocks[1])
        if not texts:
            return sparse.csr_matrix((0, n_cols), dtype=np.float32)
        rows, cols, vals, offset = [], [], [], 0
        for k, b in zip(self.blocks, blocks[1]):
            r, c, v = b.batch(self._input(k, texts))
            rows.append(r)
            cols.append(c + offset)
            vals.append(v)
            offset += b.size
        row = np.concatenate(rows)
        order = np.argsort(row, kind="stable")  # by row; within a row the blocks keep their order
        indptr = np.zeros(len(texts) + 1, np.int64)
        np.cumsum(np.bincount(row, minlength=len(texts)), out=indptr[1:])
        return sparse.csr_matrix((np.concatenate(vals)[order].astype(np.float32),
                                  np.concatenate(cols)[order].astype(np.int32), indptr),
                                 shape=(len(texts), n_cols))

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
