"""Listing with filters, and semantic search over the FAISS index (exact, filter-aware)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select

from ..errors import InputError, NotFound
from ..store.models import Recommendation
from .context import Engine
from .serialize import rec_to_dict

FILTERS = ("language", "mechanism", "country", "source", "cycle", "session", "response",
           "follow_up_status", "recommending_state")


@dataclass
class Filters:
    language: str | None = None
    mechanism: str | None = None
    country: str | None = None
    source: str | None = None
    cycle: str | None = None
    session: str | None = None
    response: str | None = None
    follow_up_status: str | None = None
    recommending_state: str | None = None

    def apply(self, stmt):
        if self.follow_up_status:  # a typo must be a 422, not an empty answer
            from .follow_up import check_status

            for x in self.follow_up_status.split(","):
                if x.strip():
                    check_status(x.strip(), field="follow_up_status")
        for f in FILTERS:
            v = getattr(self, f)
            if v:
                col = getattr(Recommendation, f)
                vals = [x.strip() for x in v.split(",") if x.strip()]
                stmt = stmt.where(func.lower(col).in_([x.lower() for x in vals]))
        return stmt

    def any(self) -> bool:
        return any(getattr(self, f) for f in FILTERS)


def search(engine: Engine, query: str, *, k: int = 10, filters: Filters | None = None) -> list[dict]:
    """The k recommendations closest in meaning to ``query`` (any language), best first."""
    query = (query or "").strip()
    if not query:
        raise InputError("the search text is empty", field="q")
    if len(query) > engine.settings.max_text_chars:
        raise InputError("the search text is too long", field="q")
    if not 1 <= k <= 1000:
        raise InputError("k must be between 1 and 1000", field="k")
    filters = filters or Filters()
    allowed = None
    if filters.any():
        with engine.db.session() as s:
            allowed = np.asarray(s.scalars(filters.apply(select(Recommendation.id))).all(), dtype=np.int64)
        if len(allowed) == 0:
            return []
    qv = engine.query_vector(query)
    with engine.lock:
        scores, ids = engine.index.search(qv, k, allowed=allowed)
    pairs = [(int(i), float(sc)) for i, sc in zip(ids[0], scores[0]) if i >= 0]
    if not pairs:
        return []
    with engine.db.session() as s:
        recs = {r.id: r for r in s.scalars(select(Recommendation).where(
            Recommendation.id.in_([p[0] for p in pairs])))}
        return [dict(rec_to_dict(recs[i]), score=round(sc, 4)) for i, sc in pairs if i in recs]


def list_recommendations(engine: Engine, *, filters: Filters | None = None, q: str | None = None,
                         limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    """A page of recommendations and the total count. With ``q``, ranked by meaning."""
    if not 1 <= limit <= 1000:
        raise InputError("limit must be between 1 and 1000", field="limit")
    if offset < 0:
        raise InputError("offset must be 0 or more", field="offset")
    filters = filters or Filters()
    if q:
        hits = search(engine, q, k=min(1000, offset + limit), filters=filters)
        return hits[offset : offset + limit], len(hits)
    with engine.db.session() as s:
        count = s.scalar(filters.apply(select(func.count(Recommendation.id))))
        recs = s.scalars(filters.apply(select(Recommendation)).order_by(Recommendation.id)
                         .limit(limit).offset(offset)).all()
        return [rec_to_dict(r) for r in recs], int(count or 0)


def get_recommendation(engine: Engine, rec_id: int) -> dict:
    from ..store.models import Link, Review, Suggestion

    with engine.db.session() as s:
        r = s.get(Recommendation, rec_id)
        if r is None:
            raise NotFound(f"recommendation {rec_id} does not exist", field="id")
        d = rec_to_dict(r, full=True)
        d["children"] = [rec_to_dict(c) for c in r.children]
        if r.translation_group:
            d["translations"] = [
                {"id": t.id, "language": t.language}
                for t in s.scalars(select(Recommendation).where(
                    Recommendation.translation_group == r.translation_group, Recommendation.id != r.id))
            ]
        d["suggestions"] = [
            {"id": x.id, "task": x.task, "value": x.value, "score": x.score, "agent": x.agent, "stale": x.stale,
             "created_at": x.created_at.isoformat()}
            for x in s.scalars(select(Suggestion).where(Suggestion.rec_id == rec_id))
        ]
        d["reviews"] = [
            {"id": x.id, "suggestion_id": x.suggestion_id, "task": x.task, "value": x.value, "decision": x.decision,
             "reviewer": x.reviewer, "at": x.at.isoformat(), "reverted": x.reverted_at is not None}
            for x in s.scalars(select(Review).where(Review.rec_id == rec_id))
        ]
        d["links"] = [
            {"other": x.rec_b if x.rec_a == rec_id else x.rec_a, "kind": x.kind, "score": x.score,
             "explanation": x.explanation, "status": x.status}
            for x in s.scalars(select(Link).where((Link.rec_a == rec_id) | (Link.rec_b == rec_id)))
        ]
        return d
