from typing import Optional

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from ...services.export import export_matrix
from ...services.search import Filters
from ..deps import get_engine

router = APIRouter(tags=["export"])

MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv; charset=utf-8"}


@router.get("/export", response_class=Response,
            responses={200: {"content": {MEDIA["xlsx"]: {}, MEDIA["csv"]: {}}}})
def get_export(
    engine=Depends(get_engine),
    format: str = Query("xlsx", pattern="^(xlsx|csv)$"),
    language: Optional[str] = None, mechanism: Optional[str] = None, country: Optional[str] = None,
    source: Optional[str] = None, cycle: Optional[str] = None, session: Optional[str] = None,
    response: Optional[str] = None, follow_up_status: Optional[str] = None,
    recommending_state: Optional[str] = None,
    names: Optional[str] = Query(None, description="a language (es, fr…): label names instead of ids"),
):
    """The implementation matrix (filters as on /v1/recommendations); reviewed values win over suggestions."""
    f = Filters(language=language, mechanism=mechanism, country=country, source=source, cycle=cycle,
                session=session, response=response, follow_up_status=follow_up_status,
                recommending_state=recommending_state)
    data, n = export_matrix(engine, format, filters=f, names=names)
    return Response(data, media_type=MEDIA[format], headers={
        "Content-Disposition": f'attachment; filename="implementation-matrix.{format}"', "X-Rows": str(n)})
