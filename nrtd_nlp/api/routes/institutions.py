"""Institutions (``router``: read by readers, written by admins) and a recommendation's responsible
institutions (``rec_router``: read by readers, assigned by reviewers)."""

from typing import Optional

from fastapi import APIRouter, Depends
from pydantic import Field

from ...services.institution_views import institutions_for
from ...services.institutions import add_institution, assign, list_institutions, unassign
from ..deps import get_engine, get_principal
from ..schemas import DbId, StrictIn

router = APIRouter(tags=["institutions"])
rec_router = APIRouter(tags=["institutions"])


class InstitutionIn(StrictIn):
    key: Optional[str] = Field(None, max_length=80, description="stable id (default: from the name)")
    name: str = Field(..., min_length=1, max_length=300)
    names: dict[str, str] = Field(default_factory=dict, description="language -> name (es, fr, ar, ru, zh, pt)")
    themes: list[str] = Field(default_factory=list, description="UPR Info issues, 'SDG 5' …")
    keywords: list[str] = Field(default_factory=list, description="English (or language-neutral) keywords; "
                                "'stem*' matches word starts")
    keywords_by_language: dict[str, list[str]] = Field(default_factory=dict, description="es, fr, pt, ar, ru, zh "
                                                        "-> keywords in that language (all of them match any text)")
    country: Optional[str] = Field(None, max_length=100)


class AssignmentIn(StrictIn):
    institution: str = Field(..., min_length=1, max_length=300, description="key, id or name")
    action: str = Field("assign", pattern="^(assign|unassign)$")
    comment: Optional[str] = Field(None, max_length=2000)


@router.get("/institutions")
def get_institutions(engine=Depends(get_engine), country: Optional[str] = None,
                     retired: Optional[bool] = None) -> dict:
    """Institutions with their mandate (names, themes, keywords) and whether they are retired (no longer in
    the mandate file: not suggested or assignable; their past decisions stay). ``retired=false``: the
    assignable ones only."""
    data = list_institutions(engine, country=country, retired=retired)
    return {"data": data, "count": len(data)}


@router.post("/institutions", status_code=201)
def post_institution(body: InstitutionIn, engine=Depends(get_engine), principal=Depends(get_principal)) -> dict:
    """Add or update one institution (upsert by key and country; audited)."""
    return add_institution(engine, body.model_dump(), actor=principal.name)


@rec_router.get("/recommendations/{rec_id}/institutions")
def get_rec_institutions(rec_id: DbId, engine=Depends(get_engine)) -> dict:
    """People's decisions (assignments, accepted or added reviews; the latest decision per institution wins),
    the institutions they rejected, and the latest run's undecided suggestions, with what the score means and
    whether the model abstains."""
    return institutions_for(engine, rec_id)


@rec_router.post("/recommendations/{rec_id}/assignments")
def post_assignment(rec_id: DbId, body: AssignmentIn, engine=Depends(get_engine),
                    principal=Depends(get_principal)) -> dict:
    """Assign (or unassign) a responsible institution: a human decision, audited under the key's name."""
    fn = assign if body.action == "assign" else unassign
    return fn(engine, rec_id, body.institution, principal.name, comment=body.comment)
