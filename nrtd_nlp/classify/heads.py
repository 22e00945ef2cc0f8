"""Linear heads fitted with scikit-learn and kept as plain arrays (fast to load, no pickle).

``LinearHead`` is one-vs-rest logistic regression for multi-label tasks (a sigmoid per label) or
multinomial logistic regression for single-label tasks (a softmax). Labels with no positive training
example get a constant, very low score instead of failing the fit. ``loss="hinge"`` fits a linear SVM
instead (one-vs-rest); its margins go through the same sigmoid / softmax at a fixed scale
(``HINGE_SCALE``), which is no probability: such a head is meant to feed a stacker that learns the
real scale on validation data (``Tagger(extra_heads=..., stack_C=...)``).
"""

from __future__ import annotations

import numpy as np

HINGE_SCALE = 4.0
LOSSES = ("log", "hinge")


class LinearHead:
    def __init__(self, C: float = 4.0, multilabel: bool = True, solver: str = "auto", n_jobs: int = 1,
                 loss: str = "log"):
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, not {loss!r}")
        self.C = C
        self.multilabel = multilabel
        self.solver = solver
        self.n_jobs = n_jobs
        self.loss = loss

    def _estimator(self, solver: str, max_iter: int):
        if self.loss == "hinge":
            from sklearn.svm import LinearSVC

            return LinearSVC(C=self.C, max_iter=max_iter)
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.C, solver=solver, max_iter=max_iter)

    def _solver(self, X) -> str:
        if self.solver != "auto":
            return self.solver
        from scipy import sparse

        return "liblinear" if sparse.issparse(X) and self.multilabel else "lbfgs"

    def fit(self, X, Y: np.ndarray, sample_weight: np.ndarray | None = None) -> "LinearHead":
        """``Y``: (n, L) 0/1 for multi-label, (n,) class indices for single-label."""
        d = X.shape[1]
        solver = self._solver(X)
        if self.multilabel:
            Y = np.asarray(Y)
            L = Y.shape[1]
            W = np.zeros((L, d), np.float32)
            b = np.full(L, -9.0, np.float32)

            def one(j):
                y = Y[:, j]
                if y.min() == y.max():
                    return j, None
                m = self._estimator(solver, 2000)
                m.fit(X, y, sample_weight=sample_weight)
                return j, m

            if self.n_jobs > 1:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(self.n_jobs) as ex:
                    fitted = list(ex.map(one, range(L)))
            else:
                fitted = [one(j) for j in range(L)]
            for j, m in fitted:
                if m is None:
                    b[j] = 9.0 if Y[0, j] == 1 else -9.0
                else:
                    W[j], b[j] = m.coef_[0], m.intercept_[0]
            self.coef_, self.intercept_ = W, b
            self.n_classes_ = L
        else:
            y = np.asarray(Y).astype(int)
            self.n_classes_ = int(max(y.max() + 1, getattr(self, "n_classes_hint", 0)))
            m = self._estimator("lbfgs", 3000)
            m.fit(X, y, sample_weight=sample_weight)
            W = np.zeros((self.n_classes_, d), np.float32)
            b = np.full(self.n_classes_, -30.0, np.float32)
            if len(m.classes_) == 2:  # sklearn keeps one row for two classes
                W[m.classes_[1]], b[m.classes_[1]] = m.coef_[0], m.intercept_[0]
                b[m.classes_[0]] = 0.0
            else:
                for row, c in enumerate(m.classes_):
                    W[c], b[c] = m.coef_[row], m.intercept_[row]
            self.coef_, self.intercept_ = W, b
        return self

    @property
    def weights_T_(self) -> np.ndarray:
        """``coef_.T`` kept C-contiguous: a sparse matrix times a transposed view makes scipy copy the
        whole weight matrix on every call (13 MB for the UPR issue head; 2 ms per call)."""
        cached = self.__dict__.get("_wt")
        if cached is None or cached[0] is not self.coef_:  # refitted or replaced since
            cached = self.__dict__["_wt"] = (self.coef_, np.ascontiguousarray(self.coef_.T))
        return cached[1]

    def decision_function(self, X) -> np.ndarray:
        Z = X @ self.weights_T_
        return np.asarray(Z, np.float32) + self.intercept_

    def predict_proba(self, X) -> np.ndarray:
        Z = self.decision_function(X)
        if self.loss == "hinge":
            Z = Z * HINGE_SCALE
        if self.multilabel:
            return (1.0 / (1.0 + np.exp(-np.clip(Z, -30, 30)))).astype(np.float32)
        Z = Z - Z.max(1, keepdims=True)
        E = np.exp(Z)
        return (E / E.sum(1, keepdims=True)).astype(np.float32)

    def to_arrays(self, prefix: str, *, half: bool = False) -> dict[str, np.ndarray]:
        W = self.coef_.astype(np.float16) if half else self.coef_
        return {f"{prefix}_coef": W, f"{prefix}_intercept": self.intercept_}

    @classmethod
    def from_arrays(cls, arrays, prefix: str, *, multilabel: bool, C: float = 0.0,
                    loss: str = "log") -> "LinearHead":
        h = cls(C=C, multilabel=multilabel, loss=loss)
        h.coef_ = np.asarray(arrays[f"{prefix}_coef"], np.float32)
        h.intercept_ = np.asarray(arrays[f"{prefix}_intercept"], np.float32)
        h.n_classes_ = h.coef_.shape[0]
        return h
