"""Reading links and duplicate groups (the computing lives in nrtd_nlp.link.service)."""

from __future__ import annotations

from sqlalchemy import func, select

from ..errors import InputError, NotFound
from ..store.models import MAX_INT, Link, LinkGroup, Recommendation
from .context import Engine
from .serialize import rec_to_dict

KINDS = ("duplicate", "follows_up", "related")


def _brief(r: Recommendation) -> dict:
    return {"id": r.id, "text": r.text, "language": r.language, "mechanism": r.mechanism, "country": r.country,
            "recommending_state": r.recommending_state, "cycle": r.cycle, "session": r.session,
            "follow_up_status": r.follow_up_status}


STRONG_RELATED = 0.8  # fallback when the scorer's manifest names none


def strong_related(engine: Engine) -> float:
    """The score from which a related link is listed by default: the scorer's ``related_shown``
    threshold (cross-validated precision >= 0.85 when trained), else 0.8."""
    import json
    from importlib.resources import files
    from pathlib import Path

    folder = engine.settings.link_model_dir or Path(str(files("nrtd_nlp") / "models" / "link_scorer"))
    try:
        meta = json.loads((Path(folder) / "manifest.json").read_text())
        return float(meta["thresholds"].get("related_shown", STRONG_RELATED))
    except (OSError, ValueError, KeyError):
        return STRONG_RELATED


def list_links(engine: Engine, *, kind: str | None = None, min_score: float | None = None, limit: int = 50,
               offset: int = 0, translations: bool = True) -> tuple[list[dict], int]:
    """Links best first. By default (no kind, no min_score) duplicates and follow-ups, and only the
    strong related links (see ``strong_related``): the rest are listed with ``kind="related"`` or an
    explicit ``min_score``. Confirmed links are always listed."""
    if kind and kind not in KINDS:
        raise InputError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}", field="kind")
    if min_score is not None and not 0 <= min_score <= 1:
        raise InputError("min-score must be between 0 and 1", field="min_score")
    if not 1 <= limit <= 1000:
        raise InputError("limit must be 1..1000", field="limit")
    if not 0 <= offset <= MAX_INT:
        raise InputError(f"offset must be 0..{MAX_INT}", field="offset")
    q = select(Link).where(Link.status != "unlinked")
    if not translations:  # the source's translation pairs are facts, not work for a reviewer
        q = q.where(Link.agent != "source:translation")
    if kind:
        q = q.where(Link.kind == kind)
    if min_score is not None or kind:
        q = q.where((Link.score >= (min_score or 0.0)) | (Link.status == "confirmed"))
    else:
        q = q.where((Link.kind != "related") | (Link.score >= strong_related(engine)) | (Link.status == "confirmed"))
    with engine.db.session() as s:
        total = s.scalar(select(func.count()).select_from(q.subquery()))
        rows = s.scalars(q.order_by(Link.score.desc(), Link.id).limit(limit).offset(offset)).all()
        ids = {x for r in rows for x in (r.rec_a, r.rec_b)}
        recs = {r.id: r for r in s.scalars(select(Recommendation).where(Recommendation.id.in_(ids)))} if ids else {}
        return [{"id": r.id, "kind": r.kind, "score": r.score, "explanation": r.explanation, "status": r.status,
                 "group_id": r.group_id, "agent": r.agent, "a": _brief(recs[r.rec_a]), "b": _brief(recs[r.rec_b])}
                for r in rows], int(total or 0)


def list_groups(engine: Engine, *, limit: int = 50, offset: int = 0, country: str | None = None
                ) -> tuple[list[dict], int]:
    with engine.db.session() as s:
        q = select(LinkGroup).where(LinkGroup.id.in_(select(Link.group_id).where(Link.group_id.is_not(None))))
        if country:
            q = q.join(Recommendation, Recommendation.id == LinkGroup.canonical_rec_id).where(
                func.lower(Recommendation.country) == country.lower())
        total = s.scalar(select(func.count()).select_from(q.subquery()))
        groups = s.scalars(q.order_by(LinkGroup.id).limit(limit).offset(offset)).all()
        out = []
        for g in groups:
            links = s.scalars(select(Link).where(Link.group_id == g.id)).all()
            member_ids = sorted({x for link in links for x in (link.rec_a, link.rec_b)})
            recs = {r.id: r for r in s.scalars(select(Recommendation).where(Recommendation.id.in_(member_ids)))}
            out.append({
                "id": g.id, "confirmed": g.confirmed,
                "canonical": rec_to_dict(recs[g.canonical_rec_id]) if g.canonical_rec_id in recs else None,
                "members": [_brief(recs[i]) for i in member_ids],
                "links": [{"a": link.rec_a, "b": link.rec_b, "kind": link.kind, "score": link.score,
                           "explanation": link.explanation, "status": link.status} for link in links],
            })
        return out, int(total or 0)


def group_detail(engine: Engine, group_id: str) -> dict:
    """One group as ``list_groups`` gives it, the canonical member first, and its links with their ids.
    A group whose links were all unlinked or split apart still exists (its id is never reused), with no members."""
    with engine.db.session() as s:
        g = s.get(LinkGroup, group_id)
        if g is None:
            raise NotFound(f"group {group_id} does not exist", field="group_id")
        links = s.scalars(select(Link).where(Link.group_id == g.id).order_by(Link.score.desc(), Link.id)).all()
        ids = {x for link in links for x in (link.rec_a, link.rec_b)}
        recs = {r.id: r for r in s.scalars(select(Recommendation).where(Recommendation.id.in_(ids)))} if ids else {}
        order = sorted(recs, key=lambda i: (i != g.canonical_rec_id, i))
        return {"id": g.id, "confirmed": g.confirmed,
                "canonical": rec_to_dict(recs[g.canonical_rec_id]) if g.canonical_rec_id in recs else None,
                "members": [_brief(recs[i]) for i in order],
                "links": [{"id": x.id, "a": x.rec_a, "b": x.rec_b, "kind": x.kind, "score": x.score,
                           "explanation": x.explanation, "status": x.status, "agent": x.agent} for x in links]}
