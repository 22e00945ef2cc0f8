"""Turn pairs of texts (with their vectors) into feature rows, shared by training and linking."""

from __future__ import annotations

import numpy as np

from .asks import Asks, parse
from .features import pair_matrix, part_cosines, part_slices


def fit_tfidf(corpus: list[str]):
    """Word and bigram TF-IDF with the corpus's own IDF (rare shared words weigh more); the same
    settings as the store's persisted state (``link.idf``)."""
    from .idf import make_vectorizer

    return make_vectorizer().fit(corpus)


def featurize(embedder, tfidf, texts_a: list[str], texts_b: list[str], va: np.ndarray, vb: np.ndarray,
              asks_a: list[Asks] | None = None, asks_b: list[Asks] | None = None) -> np.ndarray:
    asks_a = asks_a or [parse(t) for t in texts_a]
    asks_b = asks_b or [parse(t) for t in texts_b]
    ta, tb = tfidf.transform(texts_a), tfidf.transform(texts_b)
    tcos = np.asarray(ta.multiply(tb).sum(1)).ravel()
    cos = part_cosines(part_slices(embedder), va, vb)
    return pair_matrix(cos, asks_a, asks_b, [len(t.split()) for t in texts_a], [len(t.split()) for t in texts_b],
                       tcos)
