"""Reduction and clustering of (language-centred) recommendation vectors.

Measured on the 36,381-record UPR Info store (evaluation/clusters.py; figures in the README):
HDBSCAN straight on 16-32 PCA dimensions took 57-112 s on 2 busy cores and called 76-82 % of the
records noise; on the first 8 principal components it took 14-27 s and found the same kind of dense
themes. So HDBSCAN finds the themes and their number on the leading components, and every record
is then scored against the theme centroids in the wider PCA space (cosine): a record joins its
nearest theme when that similarity reaches the attach threshold (the soft membership), the rest
stay unclustered. The threshold is either given, or set so that at most ``max_unclustered`` of
the records stay out (the score quantile), which keeps its meaning across embedders and stores.
"""

from __future__ import annotations

import numpy as np


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return x / n


class Reducer:
    """PCA to ``n_components`` (randomised SVD seeded by ``random_state``), rows L2-normalised.

    Small inputs (fewer rows than components) keep ``min(n_rows - 1, n_components)`` components.
    """

    def __init__(self, n_components: int = 64, random_state: int = 0):
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X: np.ndarray) -> "Reducer":
        from sklearn.decomposition import PCA

        X = np.asarray(X, dtype=np.float32)
        n = max(1, min(self.n_components, X.shape[0] - 1, X.shape[1]))
        solver = "randomized" if n < min(X.shape) // 2 else "full"
        self.pca_ = PCA(n, svd_solver=solver, random_state=self.random_state).fit(X)
        self.n_components_ = n
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return _normalise(self.pca_.transform(np.asarray(X, dtype=np.float32)))

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).transform(X)


class ThemeClusterer:
    """HDBSCAN on the leading ``density_components`` of reduced vectors, then centroid assignment.

    ``n_clusters`` (optional) merges the found themes by average-linkage on their centroids down
    to that many; ``refine_iter`` moves the centroids by spherical k-means steps (0 keeps the
    HDBSCAN themes, which measured more stable between seeds). Learned: ``labels_`` (-1 =
    unclustered), ``scores_`` (cosine to the assigned centroid), ``centroids_``, ``n_clusters_``,
    ``threshold_`` (the attach threshold used), ``noise_share_`` (HDBSCAN's own noise before assignment).
    """

    def __init__(self, min_cluster_size: int = 15, min_samples: int = 1, density_components: int = 8,
                 attach_threshold: float | None = None, max_unclustered: float = 0.10,
                 n_clusters: int | None = None, refine_iter: int = 0):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.density_components = density_components
        self.attach_threshold = attach_threshold
        self.max_unclustered = max_unclustered
        self.n_clusters = n_clusters
        self.refine_iter = refine_iter

    def fit(self, Z: np.ndarray) -> "ThemeClusterer":
        Z = _normalise(Z)
        n = len(Z)
        mcs = max(2, min(self.min_cluster_size, n // 2))
        lead = _normalise(Z[:, : self.density_components])
        if n >= 4:
            import hdbscan

            core = hdbscan.HDBSCAN(min_cluster_size=mcs, min_samples=min(self.min_samples, mcs),
                                   core_dist_n_jobs=1).fit(lead).labels_
        else:
            core = np.full(n, -1)
        self.noise_share_ = float((core < 0).mean()) if n else 0.0
        k = int(core.max()) + 1 if n else 0
        if k == 0:  # no dense theme at all: everything unclustered
            self.labels_, self.scores_ = np.full(n, -1), np.zeros(n, np.float32)
            self.centroids_, self.n_clusters_ = np.zeros((0, Z.shape[1]), np.float32), 0
            self.threshold_ = 1.0
            return self
        C = _normalise(np.stack([Z[core == c].mean(0) for c in range(k)]))
        if self.n_clusters and self.n_clusters < k:
            C = self._merge_centroids(C, np.bincount(core[core >= 0], minlength=k), self.n_clusters)
        for _ in range(self.refine_iter):
            a = (Z @ C.T).argmax(1)
            C = _normalise(np.stack([Z[a == c].mean(0) if (a == c).any() else C[c] for c in range(len(C))]))
        self.centroids_ = C
        if self.attach_threshold is not None:
            self.threshold_ = float(self.attach_threshold)
        else:
            best = (Z @ C.T).max(1)
            self.threshold_ = float(np.quantile(best, self.max_unclustered)) if self.max_unclustered > 0 else -1.0
        self.labels_, self.scores_ = self.assign(Z)
        self.n_clusters_ = len(C)
        return self

    def assign(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(labels, scores) of rows against the fitted centroids; below the threshold -> -1."""
        S = _normalise(Z) @ self.centroids_.T
        best = S.argmax(1)
        score = S[np.arange(len(S)), best].astype(np.float32)
        return np.where(score >= self.threshold_, best, -1), score

    @staticmethod
    def _merge_centroids(C: np.ndarray, sizes: np.ndarray, target: int) -> np.ndarray:
        from sklearn.cluster import AgglomerativeClustering

        groups = AgglomerativeClustering(n_clusters=target, metric="cosine", linkage="average").fit_predict(C)
        return _normalise(np.stack([(C[groups == g] * sizes[groups == g, None]).sum(0) for g in range(target)]))

