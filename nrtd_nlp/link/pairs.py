"""Turn pairs of texts (with their vectors) into feature rows, shared by training and linking."""

from __future__ import annotations

import numpy as np

from .asks import Asks, clauses, parse
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
                       tcos, clause_coverage(tfidf, texts_a, texts_b))


def clause_coverage(tfidf, texts_a: list[str], texts_b: list[str]) -> np.ndarray:
    """Per pair: the worst-covered clause's best TF-IDF cosine to the other side's clauses (low when
    one side adds an ask the other lacks), and the difference in clause counts. (n, 2).
    Vectorised over all (clause of a, clause of b) combinations of all pairs at once."""
    n = len(texts_a)
    out = np.zeros((n, 2))
    if not n:
        return out
    uniq = sorted(set(texts_a) | set(texts_b))
    cuts = [clauses(t) for t in uniq]
    size = np.asarray([len(c) for c in cuts])
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    M = tfidf.transform([c for cs in cuts for c in cs]).tocsr()
    pos = {t: k for k, t in enumerate(uniq)}
    ia = np.asarray([pos[t] for t in texts_a])
    ib = np.asarray([pos[t] for t in texts_b])
    a0, na, b0, nb = start[ia], size[ia], start[ib], size[ib]
    ncomb = na * nb
    pair = np.repeat(np.arange(n), ncomb)
    off = np.arange(int(ncomb.sum())) - np.repeat(np.cumsum(ncomb) - ncomb, ncomb)
    i_loc, j_loc = off // nb[pair], off % nb[pair]
    sims = np.asarray(M[a0[pair] + i_loc].multiply(M[b0[pair] + j_loc]).sum(1)).ravel()

    def worst(order, inner_first, outer_count):
        s = sims[order]
        # best match of each clause (max over the other side), then the worst clause (min)
        row_best = np.maximum.reduceat(s, np.flatnonzero(inner_first[order]))
        return np.minimum.reduceat(row_best, np.concatenate([[0], np.cumsum(outer_count)[:-1]]))

    by_a = np.arange(len(sims))  # combos are ordered pair, i, j: A's clauses with B's inside
    by_b = np.lexsort((i_loc, j_loc, pair))
    wa = worst(by_a, j_loc == 0, na)
    wb = worst(by_b, i_loc == 0, nb)
    out[:, 0] = np.minimum(wa, wb)
    out[:, 1] = np.abs(na - nb)
    return out
