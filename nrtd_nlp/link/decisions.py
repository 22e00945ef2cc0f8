"""Human decisions on links and groups: confirm, unlink, split, choose the canonical member.

A decision changes a link's ``status`` (suggested -> confirmed | unlinked); the model never
rewrites a decided link and never suggests an unlinked pair again. Every decision is audited.
"""

from __future__ import annotations

from sqlalchemy import select

from ..errors import Conflict, InputError, NotFound, require_reviewer
from ..services.context import Engine
from ..store.locks import lock_links as _lock_links
from ..store.models import MAX_INT, AuditEvent, Link, LinkGroup, Recommendation
from .service import regroup

DECISIONS = ("confirm", "unlink")


def _link_dict(x: Link) -> dict:
    return {"id": x.id, "a": x.rec_a, "b": x.rec_b, "kind": x.kind, "status": x.status, "group_id": x.group_id,
            "score": x.score}


STATUSES = ("suggested", "confirmed", "unlinked")


def decide_link(engine: Engine, link_id: int, decision: str, reviewer: str, *, expected_status: str | None = None,
                comment: str | None = None, pair: tuple[int, int] | None = None) -> dict:
    """Confirm or unlink one link. ``expected_status``: the status the person saw (409 if it changed);
    ``pair``: the two recommendations the person saw (409 if the id now names another pair)."""
    if decision not in DECISIONS:
        raise InputError(f"unknown decision {decision!r}; choose one of {', '.join(DECISIONS)}", field="decision")
    require_reviewer(reviewer)
    if expected_status is not None and expected_status not in STATUSES:
        raise InputError(f"expected_status is one of {', '.join(STATUSES)}", field="expected_status")
    if not -MAX_INT <= int(link_id) <= MAX_INT:
        raise NotFound(f"link {link_id} does not exist", field="id")
    with engine.db.session() as s:
        _lock_links(s, "id = :id", {"id": link_id})
        link = s.get(Link, link_id, populate_existing=True)
        if link is None:
            raise NotFound(f"link {link_id} does not exist", field="id")
        if pair is not None and {link.rec_a, link.rec_b} != set(pair):
            raise Conflict(f"link {link_id} now joins {link.rec_a} and {link.rec_b}, not {pair[0]} and {pair[1]} "
                           "(links were recomputed): reload and decide again", field="id")
        if link.agent == "source:translation":
            raise InputError(f"link {link_id} is a translation named by the source, not a machine suggestion",
                             field="id")
        if expected_status and link.status != expected_status:
            last = s.scalars(select(AuditEvent).where(AuditEvent.entity == "link", AuditEvent.entity_id == str(link_id))
                             .order_by(AuditEvent.id.desc()).limit(1)).first()
            who = f" ({last.action.split('.')[-1]} by {last.who} at {last.at.isoformat()[:19]})" if last else ""
            raise Conflict(f"link {link_id} is {link.status}{who}, not {expected_status}: someone decided first",
                           field="expected_status")
        before = _link_dict(link)
        link.status = "confirmed" if decision == "confirm" else "unlinked"
        s.flush()
        regroup(s)
        after = _link_dict(link)
        s.add(AuditEvent(who=reviewer, action=f"link.{decision}", entity="link", entity_id=str(link_id),
                         before=before, after={**after, "comment": comment}))
        return after


def split_group(engine: Engine, group_id: str, rec_ids: list[int], reviewer: str) -> dict:
    """Take these members out of the group: every link between them and the rest is unlinked."""
    require_reviewer(reviewer)
    if not rec_ids:
        raise InputError("name at least one member to split off", field="rec_ids")
    with engine.db.session() as s:
        _lock_links(s, "group_id = :g", {"g": group_id})
        g = s.get(LinkGroup, group_id, populate_existing=True)
        if g is None:
            raise NotFound(f"group {group_id} does not exist", field="group_id")
        links = s.scalars(select(Link).where(Link.group_id == group_id).execution_options(
            populate_existing=True)).all()
        members = {x for link in links for x in (link.rec_a, link.rec_b)}
        out = set(rec_ids)
        if not out <= members:
            raise InputError(f"not members of {group_id}: {sorted(out - members)}", field="rec_ids")
        if out == members:
            raise InputError(f"leave at least one member in {group_id}", field="rec_ids")
        if g.confirmed and g.canonical_rec_id in out:
            raise InputError(f"{g.canonical_rec_id} is the canonical member a person chose for {group_id}: choose "
                             "another one first", field="rec_ids")
        cut = [link for link in links if (link.rec_a in out) != (link.rec_b in out)]
        for link in cut:
            link.status = "unlinked"
        s.flush()
        n = regroup(s)
        s.add(AuditEvent(who=reviewer, action="group.split", entity="link_group", entity_id=group_id,
                         before={"members": sorted(members)}, after={"split_off": sorted(out),
                                                                     "unlinked": [x.id for x in cut]}))
        return {"group_id": group_id, "unlinked": [x.id for x in cut], "groups": n}


def set_canonical(engine: Engine, group_id: str, rec_id: int, reviewer: str) -> dict:
    require_reviewer(reviewer)
    with engine.db.session() as s:
        _lock_links(s, "group_id = :g", {"g": group_id})
        g = s.get(LinkGroup, group_id, populate_existing=True)
        if g is None:
            raise NotFound(f"group {group_id} does not exist", field="group_id")
        members = {x for a, b in s.execute(select(Link.rec_a, Link.rec_b).where(Link.group_id == group_id))
                   for x in (a, b)}
        if rec_id not in members or s.get(Recommendation, rec_id) is None:
            raise InputError(f"recommendation {rec_id} is not a member of {group_id}", field="rec_id")
        before = {"canonical": g.canonical_rec_id, "confirmed": g.confirmed}
        g.canonical_rec_id, g.confirmed = rec_id, True
        s.add(AuditEvent(who=reviewer, action="group.confirm", entity="link_group", entity_id=group_id,
                         before=before, after={"canonical": rec_id, "confirmed": True}))
        return {"group_id": group_id, "canonical": rec_id, "confirmed": True}
