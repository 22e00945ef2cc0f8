"""Batch jobs: start a re-clustering in the background, follow its progress, resume it after a kill."""

from typing import Optional

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from ...services.jobs import create_job, get_job, list_jobs, resume_job, start_job
from ..deps import get_engine, get_principal
from ..schemas import MAX_INT

router = APIRouter(tags=["jobs"])


class ReclusterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n_clusters: Optional[int] = Field(None, ge=2, le=10_000, description="target number of clusters")
    min_cluster_size: Optional[int] = Field(None, ge=2, le=100_000)
    seed: Optional[int] = Field(None, ge=0, le=2**32 - 1)
    attach_threshold: Optional[float] = Field(None, ge=-1, lt=1, description="default: set by max_unclustered")
    max_unclustered: Optional[float] = Field(None, ge=0, lt=1, description="share left unclustered at most (0.10)")


@router.post("/jobs/recluster", status_code=202)
def post_recluster(body: ReclusterIn = ReclusterIn(), engine=Depends(get_engine),
                   principal=Depends(get_principal)) -> dict:
    """Start re-clustering in the background; poll ``GET /v1/jobs/{id}``. The current clusters stay
    visible until the new ones are committed in one transaction."""
    job = create_job(engine, "recluster", body.model_dump(exclude_none=True), who=principal.name)
    start_job(engine, job["id"])
    return job


@router.get("/jobs/{job_id}")
def job(job_id: str, engine=Depends(get_engine)) -> dict:
    """Status (queued | running | done | failed), progress 0-1, stage, result or error."""
    return get_job(engine, job_id)


@router.get("/jobs")
def jobs(engine=Depends(get_engine), kind: Optional[str] = None, limit: int = Query(20, ge=1, le=200),
         offset: int = Query(0, ge=0, le=MAX_INT)) -> dict:
    data, count = list_jobs(engine, kind=kind, limit=limit, offset=offset)
    return {"data": data, "count": count}


@router.post("/jobs/{job_id}/resume", status_code=202)
def resume(job_id: str, engine=Depends(get_engine)) -> dict:
    """Carry on a killed or failed job from its last checkpoint, in the background."""
    resume_job(engine, job_id, background=True)
    return get_job(engine, job_id)
