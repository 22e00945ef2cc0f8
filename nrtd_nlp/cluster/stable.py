"""Stable cluster ids: a new run's clusters are matched to the previous run's.

Matching is one-to-one (Hungarian, scipy's linear_sum_assignment) on member overlap (Jaccard),
with the centroid cosine as a small tie-breaker; a pair is accepted when the overlap reaches
``min_jaccard``, or when the two share members and their centroids are nearly the same direction
(``min_cosine``: a theme whose old members mostly left but which is the same theme).
"""

from __future__ import annotations

import numpy as np


class StableIds:
    """``fit(old_ids, old_members, new_members, old_centroids=None, new_centroids=None)`` ->
    ``mapping_`` {new index: old id} and ``jaccard_`` {new index: overlap with its old cluster}."""

    def __init__(self, min_jaccard: float = 0.3, min_cosine: float = 0.9):
        self.min_jaccard = min_jaccard
        self.min_cosine = min_cosine

    def fit(self, old_ids: list[str], old_members: list[set[int]], new_members: list[set[int]],
            old_centroids: np.ndarray | None = None, new_centroids: np.ndarray | None = None) -> "StableIds":
        from scipy.optimize import linear_sum_assignment

        self.mapping_: dict[int, str] = {}
        self.jaccard_: dict[int, float] = {}
        if not old_ids or not new_members:
            return self
        J = jaccard_matrix(new_members, old_members)
        cos = np.zeros_like(J)
        if old_centroids is not None and new_centroids is not None and len(old_centroids) and len(new_centroids):
            cos = np.asarray(new_centroids, np.float64) @ np.asarray(old_centroids, np.float64).T
        rows, cols = linear_sum_assignment(-(J + 0.01 * cos))
        for r, c in zip(rows, cols):
            if J[r, c] >= self.min_jaccard or (J[r, c] > 0 and cos[r, c] >= self.min_cosine):
                self.mapping_[int(r)] = old_ids[c]
                self.jaccard_[int(r)] = float(J[r, c])
        return self


def jaccard_matrix(a: list[set[int]], b: list[set[int]]) -> np.ndarray:
    """|A_i & B_j| / |A_i | B_j| for every pair, via one label array over the union of ids."""
    owner: dict[int, int] = {}
    for j, members in enumerate(b):
        for rid in members:
            owner[rid] = j
    inter = np.zeros((len(a), len(b)), np.float64)
    for i, members in enumerate(a):
        hits = [owner[r] for r in members if r in owner]
        if hits:
            inter[i] += np.bincount(hits, minlength=len(b))
    sa = np.asarray([len(m) for m in a], np.float64)[:, None]
    sb = np.asarray([len(m) for m in b], np.float64)[None, :]
    union = sa + sb - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
