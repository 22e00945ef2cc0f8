from typing import Optional

from fastapi import APIRouter, Depends, Query

from ...ingest.normalise import normalise_recommendation
from ...ingest.records import RawRecord
from ...services.imports import import_records
from ...services.search import Filters, get_recommendation, list_recommendations
from ..deps import get_engine
from ..schemas import MAX_INT, BatchIn, DbId, ImportOut, Page

router = APIRouter(tags=["recommendations"])


@router.get("/recommendations", response_model=Page)
def list_recs(
    engine=Depends(get_engine),
    q: Optional[str] = Query(None, max_length=20_000, description="semantic search, any language"),
    language: Optional[str] = None, mechanism: Optional[str] = None, country: Optional[str] = None,
    source: Optional[str] = None, cycle: Optional[str] = None, session: Optional[str] = None,
    response: Optional[str] = None, follow_up_status: Optional[str] = None,
    recommending_state: Optional[str] = None,
    limit: int = Query(50, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_INT),
):
    """Filter (comma-separated values allowed) and, with ``q``, rank by meaning."""
    f = Filters(language=language, mechanism=mechanism, country=country, source=source, cycle=cycle,
                session=session, response=response, follow_up_status=follow_up_status,
                recommending_state=recommending_state)
    data, count = list_recommendations(engine, filters=f, q=q, limit=limit, offset=offset)
    return {"data": data, "count": count}


@router.get("/recommendations/{rec_id}")
def get_rec(rec_id: DbId, engine=Depends(get_engine)) -> dict:
    """One recommendation with its sub-items, translations, suggestions, reviews and links."""
    return get_recommendation(engine, rec_id)


@router.post("/recommendations", response_model=ImportOut, status_code=201)
def post_recs(batch: BatchIn, engine=Depends(get_engine)):
    """Add or update a batch (idempotent by ``source`` + ``id``)."""
    records = []
    for i, item in enumerate(batch.items):
        text, para, state = normalise_recommendation(item.text, upr=(item.mechanism or "").upper() == "UPR")
        records.append(RawRecord(
            source=batch.source, external_id=item.id, text=text, mechanism=item.mechanism, body=item.body,
            country=item.country, recommending_state=item.recommending_state or state, cycle=item.cycle,
            session=item.session, date=item.date, response=item.response, paragraph=item.paragraph or para,
            language=item.language, extra=item.extra or {}, row=i + 1,
        ))
    return import_records(engine, records, fmt="json", filename=None, actor="api").to_dict()
