from typing import Optional

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from ...services import reviews as svc
from ...services.review_sessions import list_sessions, queue
from ..deps import get_engine, get_principal
from ..schemas import MAX_INT, DbId, StrictIn

router = APIRouter(tags=["reviews"])


class DecisionIn(StrictIn):
    decision: str = Field(..., pattern="^(accept|reject|add)$")
    suggestion_id: Optional[DbId] = Field(None, description="the suggestion decided on (accept/reject)")
    rec_id: Optional[DbId] = Field(None, description="with task and value, instead of suggestion_id (and for add)")
    task: Optional[str] = Field(None, max_length=40)
    value: Optional[str] = Field(None, max_length=200)
    expected_review_id: Optional[DbId] = Field(
        None, description="the slot's current review as you saw it (null: undecided); 409 when it changed")
    comment: Optional[str] = Field(None, max_length=2000)


class BulkIn(StrictIn):
    decision: str = Field("accept", pattern="^(accept|reject)$")
    min_score: float = Field(0.9, ge=0, le=1)
    max_score: float = Field(1.0, ge=0, le=1)
    task: Optional[str] = Field(None, max_length=40)
    session: Optional[str] = Field(None, max_length=300, description="review session key")
    cluster_id: Optional[str] = Field(None, max_length=40)
    rec_ids: Optional[list[DbId]] = Field(None, max_length=5000)


class FollowUpIn(StrictIn):
    status: str = Field(..., description="open | in_progress | partially_implemented | implemented | not_implemented")
    rec_ids: Optional[list[DbId]] = Field(None, min_length=1, max_length=5000)
    group_id: Optional[str] = Field(None, min_length=1, max_length=40,
                                    description="a duplicate group: every current member gets the status")
    expected: Optional[str] = Field(None, description="the status you read: 409 if someone changed it since")
    note: Optional[str] = Field(None, max_length=2000)


class RevertManyIn(StrictIn):
    review_ids: list[DbId] = Field(..., min_length=1, max_length=5000)


@router.get("/review-sessions")
def get_sessions(engine=Depends(get_engine)) -> dict:
    """Review sessions (mechanism + cycle/session, or mechanism + year) with their sizes."""
    data = list_sessions(engine)
    return {"data": data, "count": len(data)}


@router.get("/review-queue")
def get_queue(session: str = Query(..., max_length=300), limit: int = Query(300, ge=1, le=1000),
              offset: int = Query(0, ge=0, le=MAX_INT), engine=Depends(get_engine)) -> dict:
    """A session's recommendations with suggestions and current decisions, most uncertain first."""
    return queue(engine, session, limit=limit, offset=offset)


@router.get("/reviews")
def get_reviews(rec_id: Optional[DbId] = None, task: Optional[str] = None, reviewer: Optional[str] = None,
                limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_INT),
                engine=Depends(get_engine)) -> dict:
    """Decisions, newest first, reverted ones included (flagged)."""
    data, count = svc.list_reviews(engine, rec_id=rec_id, task=task, reviewer=reviewer, limit=limit, offset=offset)
    return {"data": data, "count": count}


@router.post("/reviews", status_code=201)
def post_review(body: DecisionIn, engine=Depends(get_engine), principal=Depends(get_principal)) -> dict:
    """Accept, reject or add one value; 409 if the slot's current decision is not ``expected_review_id``."""
    return svc.decide(engine, decision=body.decision, reviewer=principal.name, suggestion_id=body.suggestion_id,
                      rec_id=body.rec_id, task=body.task, value=body.value,
                      expected_review_id=body.expected_review_id, comment=body.comment)


@router.post("/reviews/bulk", status_code=201)
def post_bulk(body: BulkIn, engine=Depends(get_engine), principal=Depends(get_principal)) -> dict:
    """Accept (or reject) every undecided suggestion with a score in range, in a session, cluster, task or list."""
    return svc.bulk_decide(engine, decision=body.decision, reviewer=principal.name, min_score=body.min_score,
                           max_score=body.max_score, task=body.task, rec_ids=body.rec_ids, session=body.session,
                           cluster_id=body.cluster_id)


@router.delete("/reviews/{review_id}")
def delete_review(review_id: DbId, engine=Depends(get_engine), principal=Depends(get_principal)) -> dict:
    """Revert a decision (kept and flagged, never deleted); the slot falls back to the one before."""
    return svc.revert(engine, review_id, principal.name)


@router.post("/reviews/revert")
def post_revert_many(body: RevertManyIn, engine=Depends(get_engine), principal=Depends(get_principal)) -> dict:
    """Revert several decisions at once (undo of a bulk action): all or nothing."""
    return svc.revert_many(engine, body.review_ids, principal.name)


@router.get("/audit")
def get_audit(entity: Optional[str] = None, entity_id: Optional[str] = None, who: Optional[str] = None,
              limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_INT),
              engine=Depends(get_engine)) -> dict:
    """The append-only audit trail, newest first; ``count`` is the number of events matching the filters."""
    data = svc.list_audit(engine, entity=entity, entity_id=entity_id, who=who, limit=limit, offset=offset)
    return {"data": data, "count": svc.count_audit(engine, entity=entity, entity_id=entity_id, who=who)}


@router.post("/follow-up")
def post_follow_up(body: FollowUpIn, engine=Depends(get_engine), principal=Depends(get_principal)) -> dict:
    """Set the follow-up status of recommendations, or of every member of a duplicate group (audited)."""
    from ...services.follow_up import set_status

    return set_status(engine, body.status, principal.name, rec_ids=body.rec_ids, group_id=body.group_id,
                      expected=body.expected, note=body.note)
