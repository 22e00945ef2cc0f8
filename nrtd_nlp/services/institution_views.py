"""What a person sees of a record's institutions: the decided ones (assignments and reviews, the latest
decision per institution), the rejected ones, and the latest run's undecided suggestions, for the record's
route (``institutions_for``) and the export's column (``export_values``)."""

from __future__ import annotations

from sqlalchemy import select

from ..errors import NotFound
from ..store.models import Institution, ModelRun, Recommendation, Suggestion
from .context import Engine
from .institutions import POSITIVE, TASK, _active_keys, _chunks, _decisions


def _names(s, rec_countries: dict[int, str | None]):
    """(institutions by id, a function (key, rec_id) -> the institution a record means by that key: the
    record's country's, else the generic one, an active one before a retired one)."""
    insts = {x.id: x for x in s.scalars(select(Institution).order_by(Institution.id))}
    by_key: dict[str, list[Institution]] = {}
    for x in insts.values():
        by_key.setdefault((x.mandate or {}).get("key"), []).append(x)

    def pick(key: str, rec_id: int) -> Institution | None:
        rows = by_key.get(key) or []
        rows = [x for x in rows if x.retired_at is None] or rows
        return next((x for x in rows if x.country == rec_countries.get(rec_id)), None) or \
            next((x for x in rows if x.country is None), None) or (rows[0] if rows else None)

    return insts, pick


def _latest_run_suggestions(s, rec_ids: list[int]) -> dict[int, list[Suggestion]]:
    """Per record, the institution suggestions of its latest run (best score first)."""
    out: dict[int, list[Suggestion]] = {}
    for chunk in _chunks(rec_ids):
        for x in s.scalars(select(Suggestion).where(Suggestion.rec_id.in_(chunk), Suggestion.task == TASK)
                           .order_by(Suggestion.run_id.desc(), Suggestion.score.desc())):
            rows = out.setdefault(x.rec_id, [])
            if not rows or rows[0].run_id == x.run_id:
                rows.append(x)
    return out


def _open_suggestions(rows: list[Suggestion], decided: dict[str, dict], active: set[str]) -> list[Suggestion]:
    """Suggestions still open: not decided (confirmed or rejected) by a person, institution not retired."""
    return [x for x in rows if x.value in active
            and (x.value not in decided or decided[x.value]["decision"] == "unassigned")]


def _decided_entry(rec_id: int, key: str, d: dict, inst: Institution | None) -> dict:
    if d["via"] == "assignment":
        return {**d["assignment"], "decision": "assigned", "via": "assignment",
                "retired": inst is not None and inst.retired_at is not None}
    return {"rec_id": rec_id, "institution": key, "institution_id": inst.id if inst else None,
            "name": inst.name if inst else None, "by": "human", "agent": None, "score": None,
            "at": d["at"].isoformat(), "decision": d["decision"], "via": "review", "review_id": d["review_id"],
            "reviewer": d["reviewer"], "retired": inst is not None and inst.retired_at is not None}


def institutions_for(engine: Engine, rec_id: int) -> dict:
    """A record's responsible institutions as people decided them (``assignments``: assignments and
    accepted or added reviews whose decision is the latest on that institution; ``rejected``: keys whose
    latest decision is a rejection) and the latest run's suggestions nobody decided, retired ones left out."""
    with engine.db.session() as s:
        rec = s.get(Recommendation, rec_id)
        if rec is None:
            raise NotFound(f"recommendation {rec_id} does not exist", field="rec_id")
        insts, pick = _names(s, {rec_id: rec.country})
        decided = _decisions(s, [rec_id]).get(rec_id, {})
        assigned = sorted((_decided_entry(rec_id, k, d, insts.get(d["assignment"]["institution_id"])
                           if d["via"] == "assignment" else pick(k, rec_id))
                           for k, d in decided.items() if d["decision"] in POSITIVE), key=lambda x: x["at"])
        rejected = sorted(k for k, d in decided.items() if d["decision"] == "rejected")
        rows = _latest_run_suggestions(s, [rec_id]).get(rec_id, [])
        latest = rows[0].run_id if rows else None
        run = s.get(ModelRun, latest) if latest else None
        threshold = (run.params or {}).get("threshold", 0.5) if run else None
        kind = (run.params or {}).get("score_kind", "relevance") if run else None
        taken = {(x["name"] or "").casefold() for x in assigned}  # a new id of a decided one: same name
        sugg = [{"institution": x.value, "name": pick(x.value, rec_id).name,
                 "score": x.score, "above_threshold": x.score is not None and x.score >= threshold,
                 "agent": x.agent, "stale": x.stale, "created_at": x.created_at.isoformat()}
                for x in _open_suggestions(rows, decided, _active_keys(s))
                if pick(x.value, rec_id).name.casefold() not in taken]
    return {"rec_id": rec_id, "assignments": assigned, "rejected": rejected, "suggestions": sugg, "score_kind": kind,
            "score_meaning": None if kind is None else (
                "probability, calibrated by cross-validation on confirmed assignments" if kind == "probability"
                else "relevance in [0, 1] from mandate similarity and keywords; not a probability"),
            "threshold": threshold, "abstain": bool(sugg) and not any(x["above_threshold"] for x in sugg)}


def export_values(s, rec_ids: list[int]) -> dict[int, list[dict]]:
    """Per record, the export's institutions: each once, by its display name, as people decided them
    ('accepted' for an assignment, or the review's 'accepted' / 'added') and then the latest run's open
    suggestions the model asserted (at or above its threshold; 'suggested'); what a person rejected is left out."""
    countries: dict[int, str | None] = {}
    for chunk in _chunks(rec_ids):
        countries.update(s.execute(select(Recommendation.id, Recommendation.country)
                                   .where(Recommendation.id.in_(chunk))).all())
    insts, pick = _names(s, countries)
    decisions, sugg, active = _decisions(s, rec_ids), _latest_run_suggestions(s, rec_ids), _active_keys(s)
    out: dict[int, list[dict]] = {}
    for rid in rec_ids:
        decided = decisions.get(rid, {})
        vals = [(insts.get(d["assignment"]["institution_id"]) if d["via"] == "assignment" else pick(k, rid),
                 "accepted" if d["via"] == "assignment" else d["decision"])
                for k, d in sorted(decided.items(), key=lambda kv: kv[1]["at"]) if d["decision"] in POSITIVE]
        vals += [(pick(x.value, rid), "suggested") for x in _open_suggestions(sugg.get(rid, []), decided, active)
                 if (x.asserted if x.asserted is not None else (x.score or 0) >= 0.5)]
        seen: set[str] = set()
        for inst, status in vals:
            name = inst.name if inst is not None else None
            if name and name.casefold() not in seen:
                seen.add(name.casefold())
                out.setdefault(rid, []).append({"value": name, "status": status})
    return out
