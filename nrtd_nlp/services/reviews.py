"""Human decisions on machine suggestions: accept, reject, add, revert — single and bulk.

A *slot* is (recommendation, task, value). Its current decision is its latest non-reverted Review; its
effective state is that decision, else the machine's suggestion. Reviews live in their own table, so a model
re-run (which rewrites suggestions) never touches them.

Concurrency: every write first locks the recommendation's row (``UPDATE … SET id = id``: a row lock on
PostgreSQL, the database write lock on SQLite, taken before anything is read), then checks that the slot's
current review is the one the client saw (``expected_review_id``; ``None`` = undecided). A mismatch is a
:class:`Conflict` (HTTP 409) naming who decided first — never a lost or duplicated write. Every change adds an
append-only AuditEvent (who, action, entity, before, after, at) in the same transaction.

A single decision (:func:`decide`, the hot path of the review page) is one short transaction of a few Core
statements built once — (on SQLite) ``BEGIN IMMEDIATE``, read the suggestion, read the slot's current review,
insert the review, insert its audit event — with no ORM unit of work: about 1.5 ms of CPU instead of 6.5 ms.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

from sqlalchemy import and_, bindparam, insert, select, text

from ..errors import Conflict, InputError, NotFound, require_reviewer
from ..store.locks import lock_recommendations as _lock
from ..store.models import AuditEvent, Recommendation, Review, Suggestion, utcnow

TASKS = ("sdg_goal", "sdg_target", "upr_issue", "uhri_theme", "affected_group", "action_category", "institution")
DECISIONS = {"accept": "accepted", "reject": "rejected", "add": "added"}


def review_dict(r: Review | None) -> dict | None:
    if r is None:
        return None
    return {"id": r.id, "rec_id": r.rec_id, "task": r.task, "value": r.value, "decision": r.decision,
            "reviewer": r.reviewer, "at": r.at.isoformat(), "comment": r.comment, "suggestion_id": r.suggestion_id,
            "reverted": r.reverted_at is not None, "reverted_by": r.reverted_by}


_SQLITE_WRITERS: dict[str, threading.Lock] = {}


@contextmanager
def _writing(engine):
    """A unit of work for a decision. On SQLite, writers of this process also queue on a lock first: SQLite's
    own busy handler backs off in sleeps of up to 100 ms, which makes the tail latency under contention."""
    url = engine.db.url
    if not url.startswith("sqlite"):
        with engine.db.session() as s:
            yield s
        return
    lock = _SQLITE_WRITERS.setdefault(url, threading.Lock())
    with lock, engine.db.session() as s:
        yield s


@contextmanager
def _writing_core(engine):
    """Like :func:`_writing`, with a Core connection in one transaction (commit on success, else roll back).

    Yields ``(conn, locked)``. On SQLite the transaction is ``BEGIN IMMEDIATE``: it holds the database's write
    lock before anything is read (``locked`` is True), so writers queue (this process's lock first, then
    SQLite's busy timeout for other processes) instead of failing or retrying, and no page is written just to
    take the lock. Elsewhere the caller locks the recommendation's row (:func:`_lock`)."""
    url = engine.db.url
    if not url.startswith("sqlite"):
        with engine.db.engine.begin() as conn:
            yield conn, False
        return
    lock = _SQLITE_WRITERS.setdefault(url, threading.Lock())
    with lock, engine.db.engine.begin() as conn:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # pysqlite then sees the open transaction and commits it
        yield conn, True


_REVIEW_COLS = (Review.id, Review.rec_id, Review.task, Review.value, Review.decision, Review.reviewer, Review.at,
                Review.comment, Review.suggestion_id)


# decide()'s statements, built once (building a statement costs more than running it on SQLite)
_SUGGESTION_BY_ID = select(Suggestion.id, Suggestion.rec_id, Suggestion.task, Suggestion.value).where(
    Suggestion.id == bindparam("sid"))
_SUGGESTION_BY_SLOT = select(Suggestion.id).where(
    Suggestion.rec_id == bindparam("rec_id"), Suggestion.task == bindparam("task"),
    Suggestion.value == bindparam("value")).order_by(Suggestion.score.desc()).limit(1)
_CURRENT = select(*_REVIEW_COLS).where(
    Review.rec_id == bindparam("rec_id"), Review.task == bindparam("task"), Review.value == bindparam("value"),
    Review.reverted_at.is_(None)).order_by(Review.id.desc()).limit(1)
_OTHER_VALUES = select(*_REVIEW_COLS).where(
    Review.rec_id == bindparam("rec_id"), Review.task == bindparam("task"), Review.value != bindparam("value"),
    Review.reverted_at.is_(None)).order_by(Review.id)
_LOCK_ONE = text("UPDATE recommendations SET id = id WHERE id = :rec_id")
_REC_EXISTS = text("SELECT 1 FROM recommendations WHERE id = :rec_id")
_INSERT_REVIEW = insert(Review)
_INSERT_AUDIT = insert(AuditEvent)


def warm_statements(engine, connections: int = 5) -> None:
    """Run the review path's read statements once (nothing matches id -1) so SQLAlchemy has compiled them
    before the first decision, and leave a few connections open in the pool."""
    conns = [engine.db.engine.connect() for _ in range(connections)]
    try:
        conn = conns[0]
        conn.execute(_SUGGESTION_BY_ID, {"sid": -1}).first()
        conn.execute(_SUGGESTION_BY_SLOT, {"rec_id": -1, "task": "", "value": ""}).first()
        conn.execute(_CURRENT, {"rec_id": -1, "task": "", "value": ""}).first()
        conn.execute(_REC_EXISTS, {"rec_id": -1}).first()
    finally:
        for c in conns:
            c.close()
    list_reviews(engine, rec_id=-1, task="sdg_goal", limit=1000)


def _row_dict(row) -> dict | None:
    """review_dict for a current (not reverted) review read as a row of ``_REVIEW_COLS``."""
    if row is None:
        return None
    rid, rec, task, value, decision, reviewer, at, comment, sid = row
    return {"id": rid, "rec_id": rec, "task": task, "value": value, "decision": decision, "reviewer": reviewer,
            "at": at.isoformat(), "comment": comment, "suggestion_id": sid, "reverted": False, "reverted_by": None}


def _current(s, rec_id: int, task: str, value: str) -> Review | None:
    return s.scalars(select(Review).where(Review.rec_id == rec_id, Review.task == task, Review.value == value,
                                          Review.reverted_at.is_(None)).order_by(Review.id.desc())).first()


def _conflict(cur: dict | None, expected: int | None) -> Conflict:
    if cur is None:
        what = "is undecided now (the decision you expected was reverted)"
    else:
        at = cur["at"][:19]
        what = f"was {cur['decision']} by {cur['reviewer']} (review {cur['id']}) at {at}"
    return Conflict(f"{cur['task'] if cur else 'this'} {cur['value'] if cur else 'value'} {what}; you expected "
                    f"{'no decision' if expected is None else f'review {expected}'}: reload and decide again",
                    field="expected_review_id")


def _audit(s, who: str, action: str, before: dict | None, after: dict | None, entity_id) -> None:
    s.add(AuditEvent(who=who, action=action, entity="review", entity_id=str(entity_id), before=before, after=after))


def _check_task(task: str | None, engine=None) -> str:
    """The shipped tasks, institutions, and (with ``engine``) a country's own label sets under $NRTD_HOME/labels."""
    if task in TASKS:
        return task
    if engine is not None and isinstance(task, str):
        from ..classify.labels import available_tasks

        if task in available_tasks(engine.settings.home):
            return task
    raise InputError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}", field="task")


def _check_value(engine, conn, task: str, value: str) -> str:
    """A value a person adds must be a label of the task, by id or name (the id is returned), or a known
    institution: it feeds the export and retraining."""
    if task == "institution":
        from ..store.models import Institution

        active = select(Institution.mandate).where(Institution.retired_at.is_(None))  # retired: not assignable
        keys = {(m or {}).get("key") for m in conn.execute(active).scalars()}
        if value not in keys:
            raise InputError(f"no active institution {value!r}; add it first (nrtd institutions load, POST "
                             "/v1/institutions)", field="value")
        return value
    from ..classify.labels import load_labels

    labels = load_labels(task, engine.settings.home)
    canon = value if value in labels else labels.resolve(value)
    if canon is None:
        raise InputError(f"{value!r} is not a {task} label (e.g. {', '.join(labels.ids[:5])})", field="value")
    return canon


def _check_single_value(conn, slot: dict) -> None:
    """A task with one value (the action category): accepting or adding a value while a person's accepted or
    added value stands would silently replace it (the latest one wins): 409, naming the decision to undo."""
    from .tags import SINGLE_LABEL

    if slot["task"] not in SINGLE_LABEL:
        return
    latest = {row[3]: row for row in conn.execute(_OTHER_VALUES, slot)}  # ordered by id: the last one wins
    held = [r for r in latest.values() if r[4] in ("accepted", "added")]
    if held:
        rid, _, task, value, decision, reviewer = held[-1][:6]
        raise Conflict(f"{task} of recommendation {slot['rec_id']} is already {value} ({decision} by {reviewer}, "
                       f"review {rid}) and takes one value: reject or revert review {rid} first", field="value")


def decide(engine, *, decision: str, reviewer: str, suggestion_id: int | None = None, rec_id: int | None = None,
           task: str | None = None, value: str | None = None, expected_review_id: int | None = None,
           comment: str | None = None) -> dict:
    """Record one decision. ``accept``/``reject`` name a suggestion (its id, or rec+task+value); ``add`` a value."""
    if decision not in DECISIONS:
        raise InputError(f"unknown decision {decision!r}; choose one of {', '.join(DECISIONS)}", field="decision")
    require_reviewer(reviewer)
    with _writing_core(engine) as (conn, locked):
        if suggestion_id is not None:
            sug = conn.execute(_SUGGESTION_BY_ID, {"sid": suggestion_id}).first()
            if sug is None:
                raise NotFound(f"suggestion {suggestion_id} does not exist", field="suggestion_id")
            for name, given, real in (("rec_id", rec_id, sug[1]), ("task", task, sug[2]), ("value", value, sug[3])):
                if given is not None and given != real:  # never record a decision on another slot than named
                    raise InputError(f"suggestion {suggestion_id} is {sug[2]}={sug[3]} of recommendation {sug[1]}, "
                                     f"not {name} {given!r}", field=name)
            if decision == "add":
                raise InputError("add names a value (rec_id + task + value), not a suggestion", field="suggestion_id")
            _, rec_id, task, value = sug
        else:
            if rec_id is None:
                raise InputError("name a suggestion_id, or rec_id + task + value", field="rec_id")
            _check_task(task, engine)
            value = (value or "").strip()
            if not value or len(value) > 200:
                raise InputError("value must be 1 to 200 characters", field="value")
            sug = conn.execute(_SUGGESTION_BY_SLOT, {"rec_id": rec_id, "task": task, "value": value}).first()
            if sug is None:  # a label's name or id, or a known institution; never free text
                canon = _check_value(engine, conn, task, value)
                if canon != value:
                    value = canon
                    sug = conn.execute(_SUGGESTION_BY_SLOT, {"rec_id": rec_id, "task": task, "value": value}).first()
            if sug is None and decision != "add":
                raise InputError(f"nothing was suggested for {task}={value}; use decision=add", field="value")
        slot = {"rec_id": rec_id, "task": task, "value": value}
        if locked:  # a suggestion's recommendation exists (foreign key); a value added needs the check
            exists = sug is not None or conn.execute(_REC_EXISTS, {"rec_id": rec_id}).first() is not None
        else:
            exists = conn.execute(_LOCK_ONE, {"rec_id": rec_id}).rowcount > 0
        if not exists:
            raise NotFound(f"recommendation {rec_id} does not exist", field="rec_id")
        cur = _row_dict(conn.execute(_CURRENT, slot).first())
        if (cur["id"] if cur else None) != expected_review_id:
            raise _conflict(cur, expected_review_id)
        if decision != "reject":
            _check_single_value(conn, slot)
        at = utcnow()
        row = {**slot, "decision": DECISIONS[decision], "reviewer": reviewer, "comment": comment,
               "suggestion_id": sug[0] if sug else None, "at": at}
        new_id = conn.execute(_INSERT_REVIEW, row).inserted_primary_key[0]
        out = _row_dict((new_id, rec_id, task, value, row["decision"], reviewer, at, comment, row["suggestion_id"]))
        conn.execute(_INSERT_AUDIT, {"who": reviewer, "action": f"review.{decision}", "entity": "review",
                                     "entity_id": str(new_id), "before": cur, "after": out, "at": at})
        return out


def revert(engine, review_id: int, reviewer: str) -> dict:
    """Undo a decision: the slot falls back to the decision before it, else to the suggestion.

    Only a slot's current decision can be reverted (a later one would otherwise be silently undone): 409.
    """
    require_reviewer(reviewer)
    with _writing(engine) as s:
        r = s.get(Review, review_id)
        if r is None:
            raise NotFound(f"review {review_id} does not exist", field="review_id")
        _lock(s, [r.rec_id])
        s.refresh(r)
        if r.reverted_at is not None:
            raise Conflict(f"review {review_id} was already reverted by {r.reverted_by}", field="review_id")
        cur = _current(s, r.rec_id, r.task, r.value)
        if cur is not None and cur.id != r.id:
            raise Conflict(f"review {review_id} is no longer the current decision: {cur.reviewer} "
                           f"{cur.decision} it later (review {cur.id})", field="review_id")
        before = review_dict(r)
        r.reverted_at, r.reverted_by = utcnow(), reviewer
        s.flush()
        now = _current(s, r.rec_id, r.task, r.value)
        _audit(s, reviewer, "review.revert", before, {**review_dict(r), "now_current": now.id if now else None},
               r.id)
        return {"reverted": review_id, "current": review_dict(now)}


def revert_many(engine, review_ids: list[int], reviewer: str) -> dict:
    """Undo a bulk decision; each one is checked like :func:`revert` (all or nothing). The checks read every
    slot's current decision in a few queries and the undo is one UPDATE, so a large undo holds the write lock
    briefly (other reviewers wait on it)."""
    require_reviewer(reviewer)
    if not review_ids:
        raise InputError("name at least one review", field="review_ids")
    ids = sorted(set(review_ids))
    with _writing(engine) as s:
        rec_of: dict[int, int] = {}
        for i in range(0, len(ids), 500):
            rec_of.update(s.execute(select(Review.id, Review.rec_id).where(Review.id.in_(ids[i:i + 500]))).all())
        missing = set(ids) - set(rec_of)
        if missing:
            raise NotFound(f"reviews {sorted(missing)[:20]} do not exist", field="review_ids")
        recs = sorted(set(rec_of.values()))
        _lock(s, recs)  # then read the reviews as they are now
        rows = []
        for i in range(0, len(ids), 500):
            rows += s.scalars(select(Review).where(Review.id.in_(ids[i:i + 500]))).all()
        gone = [r for r in rows if r.reverted_at is not None]
        if gone:
            raise Conflict(f"review {gone[0].id} was already reverted by {gone[0].reverted_by}", field="review_ids")
        live: dict[tuple, list[int]] = {}  # slot -> its non-reverted reviews
        for i in range(0, len(recs), 500):
            for rid, t, v, n in s.execute(select(Review.rec_id, Review.task, Review.value, Review.id).where(
                    Review.rec_id.in_(recs[i:i + 500]), Review.reverted_at.is_(None))):
                live.setdefault((rid, t, v), []).append(n)
        mine = set(ids)
        for r in sorted(rows, key=lambda x: -x.id):  # as if undone newest first, each must be current in turn
            later = [n for n in live.get((r.rec_id, r.task, r.value), ()) if n > r.id and n not in mine]
            if later:
                raise Conflict(f"review {r.id} is no longer the current decision (review {max(later)} is)",
                               field="review_ids")
        at = utcnow()
        befores = {r.id: review_dict(r) for r in rows}
        for i in range(0, len(ids), 500):
            s.execute(Review.__table__.update().where(Review.id.in_(ids[i:i + 500]))
                      .values(reverted_at=at, reverted_by=reviewer))
        s.add_all([AuditEvent(who=reviewer, action="review.revert", entity="review", entity_id=str(r.id),
                              before=befores[r.id], after={**befores[r.id], "reverted": True, "reverted_by": reviewer},
                              at=at) for r in sorted(rows, key=lambda x: -x.id)])
        return {"reverted": ids}


def bulk_decide(engine, *, decision: str, reviewer: str, min_score: float = 0.0, max_score: float = 1.0,
                task: str | None = None, rec_ids: list[int] | None = None, session: str | None = None,
                cluster_id: str | None = None) -> dict:
    """Accept (or reject) every *undecided* suggestion in a scope with score in [min_score, max_score].

    The scope is a review session, a cluster, a list of recommendations and/or a task (at least one). Decided
    slots are left alone and counted: a bulk action never overwrites a person's decision. A task with one value
    (the action category) gets at most its best suggestion accepted, and none where a person accepted or
    added a value (``skipped_not_best``: the other values in scope).
    """
    from .review_sessions import session_clause

    require_reviewer(reviewer)
    if decision not in ("accept", "reject"):
        raise InputError("bulk decisions are accept or reject", field="decision")
    if not 0 <= min_score <= max_score <= 1:
        raise InputError("need 0 <= min_score <= max_score <= 1", field="min_score")
    if task is not None:
        _check_task(task, engine)
    for name, v in (("rec_ids", rec_ids), ("session", session), ("cluster_id", cluster_id)):
        if v is not None and not (v.strip() if isinstance(v, str) else v):  # empty must not widen the scope
            raise InputError(f"{name} is empty: name what to decide, or leave {name} out", field=name)
    if not (task or rec_ids or session or cluster_id):
        raise InputError("name a scope: session, cluster_id, rec_ids or task", field="session")
    from ..store.models import ClusterMember

    q = select(Suggestion).join(Recommendation, Recommendation.id == Suggestion.rec_id).where(
        Suggestion.score >= min_score, Suggestion.score <= max_score, Suggestion.stale.is_(False))
    if task:
        q = q.where(Suggestion.task == task)
    if rec_ids:
        q = q.where(Suggestion.rec_id.in_(rec_ids))
    if session:
        q = q.where(session_clause(session))
    if cluster_id:
        q = q.where(Suggestion.rec_id.in_(select(ClusterMember.rec_id).where(ClusterMember.cluster_id == cluster_id)))
    with _writing(engine) as s:
        if rec_ids:  # a typo must not look like "nothing left to decide"
            known = set()
            for i in range(0, len(rec_ids), 500):
                known.update(s.scalars(select(Recommendation.id).where(Recommendation.id.in_(rec_ids[i:i + 500]))))
            missing = sorted(set(rec_ids) - known)
            if missing:
                raise NotFound(f"no recommendation {', '.join(map(str, missing[:5]))}"
                               f"{' …' if len(missing) > 5 else ''}", field="rec_ids")
        if cluster_id:
            from ..store.models import Cluster

            if s.get(Cluster, cluster_id) is None:  # a typo must not look like "nothing left to decide"
                raise NotFound(f"cluster {cluster_id} does not exist", field="cluster_id")
        cand = s.scalars(q.order_by(Suggestion.rec_id, Suggestion.id)).all()
        _lock(s, [x.rec_id for x in cand])
        from .tags import SINGLE_LABEL

        latest: dict[tuple, str] = {}
        recs = sorted({x.rec_id for x in cand})
        for i in range(0, len(recs), 500):
            for rid, t, v, d in s.execute(select(Review.rec_id, Review.task, Review.value, Review.decision).where(
                    Review.rec_id.in_(recs[i:i + 500]), Review.reverted_at.is_(None)).order_by(Review.id)):
                latest[(rid, t, v)] = d
        decided = set(latest)
        # a task with one value: accept only its best suggestion, and none where a person holds a value
        held = {(rid, t) for (rid, t, _), d in latest.items() if t in SINGLE_LABEL and d in ("accepted", "added")}
        best: dict[tuple, int] = {}
        best_score: dict[tuple, float] = {}
        for x in cand:
            k = (x.rec_id, x.task)
            if x.task in SINGLE_LABEL and (k not in best_score or x.score > best_score[k]):
                best[k], best_score[k] = x.id, x.score
        made, skipped, not_best, seen = [], 0, 0, set()
        for sug in cand:
            slot = (sug.rec_id, sug.task, sug.value)
            if slot in seen:
                continue
            seen.add(slot)
            if slot in decided or (decision == "accept" and (sug.rec_id, sug.task) in held):
                skipped += 1
                continue
            if decision == "accept" and sug.task in SINGLE_LABEL and best[(sug.rec_id, sug.task)] != sug.id:
                not_best += 1
                continue
            r = Review(rec_id=sug.rec_id, task=sug.task, value=sug.value, decision=DECISIONS[decision],
                       reviewer=reviewer, suggestion_id=sug.id, comment=f"bulk: score >= {min_score}", at=utcnow())
            s.add(r)
            made.append(r)
        s.flush()
        for r in made:
            _audit(s, reviewer, f"review.bulk_{decision}", None, review_dict(r), r.id)
        return {"decided": len(made), "skipped_decided": skipped, "skipped_not_best": not_best,
                "review_ids": [r.id for r in made]}


_LIST_STATEMENTS: dict[tuple, tuple] = {}


def _list_statements(filters: tuple[str, ...]):
    """(rows, count) statements for this combination of filters, built once with bind parameters."""
    if filters not in _LIST_STATEMENTS:
        from sqlalchemy import func

        cols = {"rec_id": Review.rec_id, "task": Review.task, "reviewer": Review.reviewer}
        where = and_(*[cols[f] == bindparam(f) for f in filters]) if filters else True
        _LIST_STATEMENTS[filters] = (
            select(*_REVIEW_COLS, Review.reverted_at, Review.reverted_by).where(where)
            .order_by(Review.id.desc()).limit(bindparam("limit")).offset(bindparam("offset")),
            select(func.count(Review.id)).where(where))
    return _LIST_STATEMENTS[filters]


def list_reviews(engine, *, rec_id: int | None = None, task: str | None = None, reviewer: str | None = None,
                 limit: int = 100, offset: int = 0) -> tuple[list[dict], int]:
    if task:  # a typo must be a 422, not an empty list
        _check_task(task, engine)
    params = {k: v for k, v in (("rec_id", rec_id), ("task", task or None), ("reviewer", reviewer or None))
              if v is not None}
    rows_q, count_q = _list_statements(tuple(params))
    with engine.db.engine.connect() as conn:  # column rows, no ORM session: re-read after every 409
        rows = conn.execute(rows_q, {**params, "limit": limit, "offset": offset}).all()
        # a first page that is not full holds everything: no need to count
        total = len(rows) if offset == 0 and len(rows) < limit else conn.scalar(count_q, params)
    out = []
    for row in rows:
        d = _row_dict(row[:-2])
        d["reverted"], d["reverted_by"] = row[-2] is not None, row[-1]
        out.append(d)
    return out, int(total or 0)


def _audit_where(q, entity: str | None, entity_id: str | None, who: str | None):
    if entity:
        q = q.where(AuditEvent.entity == entity)
    if entity_id:
        q = q.where(AuditEvent.entity_id == entity_id)
    if who:
        q = q.where(AuditEvent.who == who)
    return q


def count_audit(engine, *, entity: str | None = None, entity_id: str | None = None, who: str | None = None) -> int:
    from sqlalchemy import func

    with engine.db.session() as s:
        return int(s.scalar(_audit_where(select(func.count(AuditEvent.id)), entity, entity_id, who)) or 0)


def list_audit(engine, *, entity: str | None = None, entity_id: str | None = None, who: str | None = None,
               limit: int = 100, offset: int = 0) -> list[dict]:
    q = _audit_where(select(AuditEvent), entity, entity_id, who)
    with engine.db.session() as s:
        return [{"id": a.id, "who": a.who, "action": a.action, "entity": a.entity, "entity_id": a.entity_id,
                 "before": a.before, "after": a.after, "at": a.at.isoformat()}
                for a in s.scalars(q.order_by(AuditEvent.id.desc()).limit(limit).offset(offset))]


def slot_states(s, rec_ids: list[int]) -> dict[int, list[dict]]:
    """Per recommendation: every suggested or reviewed slot with its score and current decision.
    (Plain column rows, not ORM objects: a 300-recommendation page has thousands of slots.)"""
    out: dict[int, dict[tuple, dict]] = {r: {} for r in rec_ids}
    sug_cols = (Suggestion.rec_id, Suggestion.task, Suggestion.value, Suggestion.score, Suggestion.agent,
                Suggestion.id, Suggestion.stale, Suggestion.asserted)
    rev_cols = (Review.id, Review.rec_id, Review.task, Review.value, Review.decision, Review.reviewer, Review.at,
                Review.comment, Review.suggestion_id)
    for i in range(0, len(rec_ids), 500):
        chunk = rec_ids[i:i + 500]
        for rid, task, value, score, agent, sid, stale, asserted in s.execute(
                select(*sug_cols).where(Suggestion.rec_id.in_(chunk)).order_by(Suggestion.score.desc())):
            out[rid].setdefault((task, value), {"task": task, "value": value, "score": score, "agent": agent,
                                                "suggestion_id": sid, "stale": stale, "review": None,
                                                "asserted": (score or 0) >= 0.5 if asserted is None else asserted})
        for rid_, rec, task, value, decision, reviewer, at, comment, sid in s.execute(
                select(*rev_cols).where(Review.rec_id.in_(chunk), Review.reverted_at.is_(None)).order_by(Review.id)):
            slot = out[rec].setdefault((task, value), {"task": task, "value": value, "score": None, "agent": None,
                                                       "suggestion_id": None, "stale": False, "review": None,
                                                       "asserted": False})
            slot["review"] = {"id": rid_, "rec_id": rec, "task": task, "value": value, "decision": decision,
                              "reviewer": reviewer, "at": at.isoformat(), "comment": comment, "suggestion_id": sid,
                              "reverted": False, "reverted_by": None}  # ordered by id: the last one wins
    from ..classify.labels import label_name

    for slots in out.values():
        for slot in slots.values():
            slot["name"] = label_name(slot["task"], slot["value"])
    return {rid: list(slots.values()) for rid, slots in out.items()}


def effective_values(slots: list[dict], *, asserted_only: bool = False,
                     single: frozenset[str] | set[str] = frozenset()) -> dict[str, list[dict]]:
    """task -> values people accepted or added, then unreviewed suggestions; rejected values are dropped.

    ``asserted_only``: unreviewed suggestions only where the model asserted them (the top-k shown to reviewers
    holds values far below their threshold). ``single``: tasks with one value (the action category): the
    latest value a person accepted or added, else the best suggestion."""
    out: dict[str, list[dict]] = {}
    for x in slots:
        rv = x["review"]
        if rv and rv["decision"] == "rejected":
            continue
        if rv is None and asserted_only and not x.get("asserted", True):
            continue
        status = rv["decision"] if rv else "suggested"
        out.setdefault(x["task"], []).append({"value": x["value"], "status": status, "score": x["score"],
                                              "order": rv["id"] if rv else 0})
    for task, vals in out.items():
        vals.sort(key=lambda v: (v["status"] == "suggested", -(v["order"] if task in single else 0),
                                 -(v["score"] or 0)))
        if task in single:
            del vals[1:]
        for v in vals:
            del v["order"]
    return out
