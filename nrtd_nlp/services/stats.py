"""A summary of the store: counts by source, language, mechanism; embedding coverage."""

from __future__ import annotations

from sqlalchemy import func, select

from ..store.models import EmbeddingCache, ImportBatch, Recommendation
from .context import Engine


def stats(engine: Engine, *, with_index: bool = True) -> dict:
    with engine.db.session() as s:
        total = s.scalar(select(func.count(Recommendation.id))) or 0
        children = s.scalar(select(func.count(Recommendation.id)).where(Recommendation.parent_id.is_not(None)))

        def by(col, limit: int = 20) -> dict:
            rows = s.execute(select(col, func.count()).group_by(col).order_by(func.count().desc()).limit(limit))
            return {str(k) if k is not None else "unknown": int(n) for k, n in rows}

        vectors = s.execute(select(EmbeddingCache.model_id, func.count()).group_by(EmbeddingCache.model_id)).all()
        imports = s.scalar(select(func.count(ImportBatch.id))) or 0
        out = {
            "recommendations": int(total),
            "children": int(children or 0),
            "imports": int(imports),
            "by_source": by(Recommendation.source),
            "by_language": by(Recommendation.language),
            "by_mechanism": by(Recommendation.mechanism),
            "top_countries": by(Recommendation.country, 10),
            "cached_vectors": {m: int(n) for m, n in vectors},
            "database": engine.settings.db_url,
        }
    if with_index and total:
        out["index"] = {"model": engine.embedder.model_id, "vectors": len(engine.index)}
    return out
