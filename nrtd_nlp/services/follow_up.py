"""Follow-up status of recommendations: what the State has done about each one (open, in progress,
partially implemented, implemented, not implemented).

A duplicate group answers as one: setting the status of a group sets it on every current member ("one
follow-up action answers all of them"). Every change is audited (who, before, after, note); a client that
read a status may send it as ``expected`` and gets a 409 when someone changed it since. The machine never
sets a follow-up status.
"""

from __future__ import annotations

from sqlalchemy import select

from ..errors import Conflict, InputError, NotFound, require_reviewer
from ..store.locks import lock_links, lock_recommendations
from ..store.models import AuditEvent, Link, LinkGroup, Recommendation

STATUSES = ("open", "in_progress", "partially_implemented", "implemented", "not_implemented")
MAX_RECORDS = 5000


def check_status(status: str | None, field: str = "status") -> str:
    if status not in STATUSES:
        raise InputError(f"unknown follow-up status {status!r}; choose one of {', '.join(STATUSES)}", field=field)
    return status


def _group_members(s, group_id: str) -> list[int]:
    lock_links(s, "group_id = :g", {"g": group_id})  # a concurrent split or re-run waits for this write
    if s.get(LinkGroup, group_id) is None:
        raise NotFound(f"group {group_id} does not exist", field="group_id")
    members = {x for a, b in s.execute(select(Link.rec_a, Link.rec_b).where(
        Link.group_id == group_id, Link.status != "unlinked")) for x in (a, b)}
    if not members:
        raise InputError(f"group {group_id} has no members left", field="group_id")
    return sorted(members)


def set_status(engine, status: str, who: str, *, rec_ids: list[int] | None = None, group_id: str | None = None,
               expected: str | None = None, note: str | None = None) -> dict:
    """Set the follow-up status of ``rec_ids`` or of every member of duplicate group ``group_id`` (one of the
    two), all or nothing. Records already at ``status`` are left as they are and counted."""
    check_status(status)
    if expected is not None:
        check_status(expected, "expected")
    require_reviewer(who)
    if (rec_ids is None) == (group_id is None):
        which = "both were given" if rec_ids is not None else "neither was given"
        raise InputError(f"name the recommendations (rec_ids, --rec) or a duplicate group (group_id, --group): one "
                         f"of the two; {which}", field="rec_ids")
    if rec_ids is not None and not 1 <= len(set(rec_ids)) <= MAX_RECORDS:
        raise InputError(f"rec_ids holds 1 to {MAX_RECORDS} ids", field="rec_ids")
    if note is not None and len(note) > 2000:
        raise InputError("note is at most 2000 characters", field="note")
    with engine.db.session() as s:
        ids = _group_members(s, group_id) if group_id is not None else sorted(set(rec_ids))
        lock_recommendations(s, ids)
        recs = {}
        for i in range(0, len(ids), 500):
            recs.update({r.id: r for r in s.scalars(select(Recommendation).where(Recommendation.id.in_(ids[i:i + 500]))
                                                    .execution_options(populate_existing=True))})
        missing = [i for i in ids if i not in recs]
        if missing:
            raise NotFound(f"no recommendation {', '.join(map(str, missing[:10]))}", field="rec_ids")
        if expected is not None:
            stale = [r for r in recs.values() if r.follow_up_status != expected]
            if stale:
                r = stale[0]
                raise Conflict(f"recommendation {r.id} is {r.follow_up_status} now, not {expected}: someone changed "
                               "it; reload and decide again", field="expected")
        changed = [r for r in recs.values() if r.follow_up_status != status]
        for r in changed:
            s.add(AuditEvent(who=who, action="follow_up.set", entity="recommendation", entity_id=str(r.id),
                             before={"follow_up_status": r.follow_up_status},
                             after={"follow_up_status": status, "note": note, "group_id": group_id}))
            r.follow_up_status = status
        return {"status": status, "updated": sorted(r.id for r in changed),
                "unchanged": sorted(set(ids) - {r.id for r in changed}), "group_id": group_id}
