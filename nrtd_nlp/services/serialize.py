"""Plain-dict views of stored rows, shared by the API and the CLI's --json."""

from __future__ import annotations

from ..store.models import Recommendation

REC_FIELDS = ("id", "source", "external_id", "text", "language", "mechanism", "body", "country",
              "recommending_state", "cycle", "session", "date", "response", "paragraph", "parent_id",
              "translation_group", "follow_up_status")


def rec_to_dict(r: Recommendation, *, full: bool = False) -> dict:
    d = {f: getattr(r, f) for f in REC_FIELDS}
    if d["date"] is not None:
        d["date"] = d["date"].isoformat()
    if full:
        d["language_score"] = r.language_score
        d["extra"] = r.extra or {}
        d["created_at"] = r.created_at.isoformat() if r.created_at else None
        d["updated_at"] = r.updated_at.isoformat() if r.updated_at else None
    return d
