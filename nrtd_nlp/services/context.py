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
        self._embedder_given = embedder is not None  # a model object (tests): a child process could not rebuild it
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
    def taggers(self):
        """The task taggers (services.tags.TagModels), each bundle loaded once on first use."""
        if getattr(self, "_taggers", None) is None:
            from .tags import TagModels

            self._taggers = TagModels(self)
        return self._taggers

    @property
    def index(self):
        """The FAISS index for the active embedder, rebuilt from cached vectors if out of step."""
        with self.lock:
            if self._index is None:
                from ..embed.index import VectorIndex, id_checksum

                emb = self.embedder
                idx = VectorIndex.load(emb.dim, emb.model_id, self.settings.index_dir)
                ids, vecs, langs = self.stored_vectors()
                if len(idx) != len(ids) or idx.checksum() != id_checksum(ids) or self._needs_refit(idx, len(ids)):
                    idx = self._build_index(ids, vecs, langs)
                self._index = idx
            return self._index

    @staticmethod
    def _needs_refit(idx, n: int) -> bool:
        """Language means are refitted when the store has grown by a quarter since the last fit."""
        c = idx.centering
        n_fit = getattr(c, "n_fit_", 0)
        if n < c.min_total:
            return False  # too small to centre: nothing to refit
        return not c.fitted or n > 1.25 * max(n_fit, 1)

    def _build_index(self, ids, vecs, langs):
        from ..embed.index import VectorIndex

        emb = self.embedder
        idx = VectorIndex(emb.dim, emb.model_id, self.settings.index_dir)
        idx.centering.fit(vecs, langs)
        idx.upsert(ids, idx.centering.transform(vecs, langs))
        idx.save()
        return idx

    def refresh_index(self, rec_ids: list[int]) -> None:
        """Add or replace the vectors of these records (after an import)."""
        with self.lock:
            if self._index is None:
                self.index  # loads, and rebuilds from the cache when out of step
                return
            idx = self._index
            ids, vecs, langs = self.stored_vectors(sorted(set(rec_ids)))
            if self._needs_refit(idx, len(idx) + len(ids)):
                self._index = self._build_index(*self.stored_vectors())
                return
            idx.upsert(ids, idx.centering.transform(vecs, langs))
            idx.save()

    def remove_from_index(self, rec_ids: list[int]) -> None:
        """Drop deleted records' vectors from the index (a re-imported paragraph's lost sub-items)."""
        with self.lock:
            if self._index is None:
                return  # loaded later from the store, which no longer has them
            if self._index.remove(np.asarray(sorted(set(rec_ids)), dtype=np.int64)):
                self._index.save()

    def query_vector(self, text: str) -> np.ndarray:
        """Embed a query and centre it with its own language's mean, like the stored vectors."""
        lang = self.detector.detect(text)[0]
        v = self.embedder.encode([text])
        return self.index.centering.transform(v, [lang])

    def stored_vectors(self, rec_ids: list[int] | None = None) -> tuple[np.ndarray, np.ndarray, list]:
        """(ids, vectors, languages) of recommendations with a cached vector for the active model."""
        emb = self.embedder
        stmt = (
            select(Recommendation.id, EmbeddingCache.vector, Recommendation.language)
            .join(EmbeddingCache, EmbeddingCache.text_hash == Recommendation.text_hash)
            .where(EmbeddingCache.model_id == emb.model_id)
        )
        ids, vecs, langs = [], [], []
        with self.db.session() as s:
            chunks = ([stmt.where(Recommendation.id.in_(rec_ids[i : i + 900])) for i in range(0, len(rec_ids), 900)]
                      if rec_ids is not None else [stmt])
            for q in chunks:
                for rid, blob, lang in s.execute(q):
                    ids.append(rid)
                    vecs.append(np.frombuffer(blob, dtype=np.float32))
                    langs.append(lang)
        if not ids:
            return np.zeros(0, np.int64), np.zeros((0, emb.dim), np.float32), []
        return np.asarray(ids, np.int64), np.vstack(vecs).astype(np.float32), langs

    @property
    def tag_batcher(self):
        """Micro-batching of concurrent ``POST /v1/tag`` requests (services.tag_batching)."""
        if getattr(self, "_tag_batcher", None) is None:
            from .tag_batching import TagBatcher

            runner = None
            if self.settings.tag_process and not self._embedder_given:
                from .tag_process import TagProcess

                runner = TagProcess(self.settings)
            self._tag_batcher = TagBatcher(self, runner=runner)
        return self._tag_batcher

    def close(self) -> None:
        if getattr(self, "_tag_batcher", None) is not None:
            self._tag_batcher.close()
        self.db.dispose()

