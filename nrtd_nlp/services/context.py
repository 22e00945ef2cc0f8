"""The running engine: settings, database, embedder and vector index, each built once and lazily."""

from __future__ import annotations

import threading

import numpy as np
from sqlalchemy import select

from ..config import Settings, get_settings
from ..embed.base import Embedder, get_embedder
from ..store.db import Database
from ..store.models import EmbeddingCache, Recommendation


class Engine:
    """Holds the heavy objects. Pass ``embedder=`` to swap the model (tests pass a small one)."""

    def __init__(self, settings: Settings | None = None, *, embedder: Embedder | None = None,
                 database: Database | None = None):
        self.settings = settings or get_settings()
        self.settings.ensure_dirs()
        self.db = database or Database(self.settings.db_url)
        self._embedder = embedder
        self._index = None
        self._detector = None
        self._segmenter = None
        self.lock = threading.RLock()  # guards the in-memory index between API workers

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder(self.settings.embedder)
        return self._embedder

    @property
    def detector(self):
        if self._detector is None:
            from ..ingest.language import LanguageDetector

            self._detector = LanguageDetector()
        return self._detector

    @property
    def segmenter(self):
        if self._segmenter is None:
            from ..ingest.segment import Segmenter

            self._segmenter = Segmenter()
        return self._segmenter

    @property
    def index(self):
        """The FAISS index for the active embedder, rebuilt from cached vectors if out of step."""
        with self.lock:
            if self._index is None:
                from ..embed.index import VectorIndex, id_checksum

                emb = self.embedder
                idx = VectorIndex.load(emb.dim, emb.model_id, self.settings.index_dir)
                ids, vecs = self.stored_vectors()
                if len(idx) != len(ids) or idx.checksum() != id_checksum(ids):
                    idx = VectorIndex(emb.dim, emb.model_id, self.settings.index_dir)
                    idx.upsert(ids, vecs)
                    idx.save()
                self._index = idx
            return self._index

    def stored_vectors(self, rec_ids: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of recommendations whose text has a cached vector for the active model."""
        emb = self.embedder
        stmt = (
            select(Recommendation.id, EmbeddingCache.vector)
            .join(EmbeddingCache, EmbeddingCache.text_hash == Recommendation.text_hash)
            .where(EmbeddingCache.model_id == emb.model_id)
        )
        ids, vecs = [], []
        with self.db.session() as s:
            if rec_ids is not None:
                for start in range(0, len(rec_ids), 900):
                    chunk = rec_ids[start : start + 900]
                    for rid, blob in s.execute(stmt.where(Recommendation.id.in_(chunk))):
                        ids.append(rid)
                        vecs.append(np.frombuffer(blob, dtype=np.float32))
            else:
                for rid, blob in s.execute(stmt):
                    ids.append(rid)
                    vecs.append(np.frombuffer(blob, dtype=np.float32))
        if not ids:
            return np.zeros(0, np.int64), np.zeros((0, emb.dim), np.float32)
        return np.asarray(ids, np.int64), np.vstack(vecs).astype(np.float32)

    def close(self) -> None:
        self.db.dispose()

