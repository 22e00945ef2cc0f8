from fastapi import APIRouter, Depends
from sqlalchemy import text

from ... import __version__
from ..deps import get_engine

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(engine=Depends(get_engine)) -> dict:
    """Liveness and readiness: the database answers and the embedder is loaded."""
    with engine.db.session() as s:
        s.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__, "embedder": engine.embedder.model_id}
