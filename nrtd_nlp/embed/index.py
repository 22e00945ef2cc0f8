"""A FAISS vector index over recommendation ids, persisted beside the database.

Exact inner product (vectors are L2-normalised, so this is cosine). Updated incrementally
(add / remove by id); filtered search uses an id selector so filters never cost recall.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np


def id_checksum(ids: np.ndarray) -> int:
    """Order-free fingerprint of a set of ids, to tell whether the saved index is in step."""
    ids = np.asarray(ids, dtype=np.int64)
    return int(np.bitwise_xor.reduce(ids * 2654435761 % (2**61 - 1))) if len(ids) else 0


def _safe(model_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in model_id)


class VectorIndex:
    def __init__(self, dim: int, model_id: str, directory: Path):
        import faiss

        self.dim = dim
        self.model_id = model_id
        self.directory = Path(directory)
        self._faiss = faiss
        self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        from .centering import LanguageCentering

        self.centering = LanguageCentering()  # fitted on the stored vectors when the index is built

    # -- persistence ---------------------------------------------------------
    @property
    def path(self) -> Path:
        return self.directory / f"{_safe(self.model_id)}.faiss"

    @property
    def meta_path(self) -> Path:
        return self.directory / f"{_safe(self.model_id)}.json"

    def save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".faiss.tmp")
        self._faiss.write_index(self.index, str(tmp))
        os.replace(tmp, self.path)
        meta = {"model_id": self.model_id, "dim": self.dim, "count": int(self.index.ntotal),
                "checksum": self.checksum(), "centering": self.centering.to_dict()}
        self.meta_path.write_text(json.dumps(meta))

    @classmethod
    def load(cls, dim: int, model_id: str, directory: Path) -> "VectorIndex":
        """Load the saved index, or an empty one when there is none (or it is unreadable)."""
        vi = cls(dim, model_id, directory)
        if vi.path.exists():
            try:
                idx = vi._faiss.read_index(str(vi.path))
                if idx.d == dim:
                    vi.index = idx
            except RuntimeError:
                pass  # a damaged file: the caller rebuilds from the cached vectors
        if vi.meta_path.exists():
            from .centering import LanguageCentering

            try:
                vi.centering = LanguageCentering.from_dict(json.loads(vi.meta_path.read_text()).get("centering") or {})
            except (ValueError, TypeError):
                vi.index = vi._faiss.IndexIDMap2(vi._faiss.IndexFlatIP(dim))  # unreadable meta: rebuild
        return vi

    # -- content -------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.index.ntotal)

    def ids(self) -> np.ndarray:
        if self.index.ntotal == 0:
            return np.zeros(0, dtype=np.int64)
        return self._faiss.vector_to_array(self.index.id_map).astype(np.int64)

    def checksum(self) -> int:
        return id_checksum(self.ids())

    def upsert(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0:
            return
        self.remove(ids)
        self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)

    def remove(self, ids: np.ndarray) -> int:
        ids = np.asarray(ids, dtype=np.int64)
        if len(ids) == 0 or self.index.ntotal == 0:
            return 0
        return int(self.index.remove_ids(self._faiss.IDSelectorBatch(ids)))

    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None):
        """Top-k (scores, ids) per query row; ``allowed`` restricts the candidates exactly."""
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if self.index.ntotal == 0 or k <= 0:
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        k = min(k, int(self.index.ntotal))
        if allowed is None:
            scores, ids = self.index.search(q, k)
        else:
            allowed = np.asarray(allowed, dtype=np.int64)
            if len(allowed) == 0:
                return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
            sel = self._faiss.IDSelectorBatch(allowed)
            params = self._faiss.SearchParameters(sel=sel)
            scores, ids = self.index.search(q, min(k, len(allowed)), params=params)
        return scores, ids
