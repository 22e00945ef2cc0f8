from typing import Optional

from fastapi import APIRouter, Depends, Query

from ...services.links import list_groups, list_links
from ..deps import get_engine

router = APIRouter(tags=["links"])


@router.get("/duplicates")
def duplicates(engine=Depends(get_engine), country: Optional[str] = None,
               limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0)) -> dict:
    """Duplicate groups: a canonical recommendation, its members, and every link's score and reason."""
    data, count = list_groups(engine, limit=limit, offset=offset, country=country)
    return {"data": data, "count": count}


@router.get("/links")
def links(engine=Depends(get_engine), kind: Optional[str] = None, min_score: float = Query(0.0, ge=0, le=1),
          limit: int = Query(50, ge=1, le=1000), offset: int = Query(0, ge=0)) -> dict:
    """Links (duplicate, follows_up, related), best first, with explanations."""
    data, count = list_links(engine, kind=kind, min_score=min_score, limit=limit, offset=offset)
    return {"data": data, "count": count}
