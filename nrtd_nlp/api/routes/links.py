from typing import Optional

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from ...link.decisions import decide_link, set_canonical, split_group

from ...services.links import group_detail, list_groups, list_links
from ..deps import get_engine, get_principal
from ..schemas import MAX_INT, DbId, StrictIn

router = APIRouter(tags=["links"])


@router.get("/duplicates")
def duplicates(engine=Depends(get_engine), country: Optional[str] = None,
               limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=MAX_INT)) -> dict:
    """Duplicate groups: a canonical recommendation, its members, and every link's score and reason."""
    data, count = list_groups(engine, limit=limit, offset=offset, country=country)
    return {"data": data, "count": count}


@router.get("/duplicates/{group_id}")
def duplicate_group(group_id: str, engine=Depends(get_engine)) -> dict:
    """One duplicate group: its members (the canonical one first) and the links joining them, with their ids."""
    return group_detail(engine, group_id)


@router.get("/links")
def links(engine=Depends(get_engine), kind: Optional[str] = None,
          min_score: Optional[float] = Query(None, ge=0, le=1),
          limit: int = Query(50, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_INT)) -> dict:
    """Links best first, with explanations. By default duplicates, follow-ups and only strong related
    links; `kind=related` or a `min_score` lists the others."""
    data, count = list_links(engine, kind=kind, min_score=min_score, limit=limit, offset=offset)
    return {"data": data, "count": count}


class LinkDecision(StrictIn):
    decision: str = Field(..., pattern="^(confirm|unlink)$")
    expected_status: Optional[str] = Field(None, pattern="^(suggested|confirmed|unlinked)$",
                                           description="409 if the link's status is no longer this")
    pair: Optional[list[DbId]] = Field(None, min_length=2, max_length=2,
                                       description="the two recommendations the person saw: 409 if the link "
                                                   "now joins others (links are recomputed)")
    comment: Optional[str] = Field(None, max_length=2000)


class GroupSplit(StrictIn):
    rec_ids: list[DbId] = Field(..., min_length=1)


class GroupCanonical(StrictIn):
    rec_id: DbId


@router.post("/links/{link_id}/decision")
def post_link_decision(link_id: DbId, body: LinkDecision, engine=Depends(get_engine),
                       principal=Depends(get_principal)) -> dict:
    """Confirm or unlink a suggested link (audited under the key's name; re-runs never undo it)."""
    return decide_link(engine, link_id, body.decision, principal.name, expected_status=body.expected_status,
                       comment=body.comment, pair=tuple(body.pair) if body.pair else None)


@router.post("/duplicates/{group_id}/split")
def post_split(group_id: str, body: GroupSplit, engine=Depends(get_engine), principal=Depends(get_principal)) -> dict:
    """Take members out of a group (their links to the rest are unlinked)."""
    return split_group(engine, group_id, body.rec_ids, principal.name)


@router.post("/duplicates/{group_id}/confirm")
def post_confirm(group_id: str, body: GroupCanonical, engine=Depends(get_engine),
                 principal=Depends(get_principal)) -> dict:
    """Confirm a group with the canonical member a person chose."""
    return set_canonical(engine, group_id, body.rec_id, principal.name)
