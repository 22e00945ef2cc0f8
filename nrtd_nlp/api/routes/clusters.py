"""Thematic clusters: list, read and curate (every curation is audited and pins the cluster)."""

from typing import Optional

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...services.clusters import (confirm_cluster, get_cluster, list_clusters, merge_clusters, move_member,
                                  rename_cluster, split_cluster)
from ..deps import get_engine, get_principal
from ..schemas import MAX_INT, DbId, StrictIn

router = APIRouter(tags=["clusters"])


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Rename(Body):
    label: str = Field(..., min_length=1, max_length=300)


class Merge(Body):
    ids: list[str] = Field(..., min_length=1, description="clusters merged into the one in the path")
    label: Optional[str] = Field(None, min_length=1, max_length=300)


class Split(Body):
    k: Optional[int] = Field(None, ge=2, le=20, description="number of parts; default: found by HDBSCAN")
    rec_ids: Optional[list[DbId]] = Field(None, min_length=1, description="split these members off instead")

    @model_validator(mode="after")
    def _not_both(self):
        if self.k is not None and self.rec_ids is not None:
            raise ValueError("give k (sub-cluster) or rec_ids (split these off), not both")
        return self


class Move(Body):
    rec_id: DbId
    from_cluster: Optional[str] = Field(None, max_length=64, description="the cluster the person saw the record in "
                                        "(\"\" for none): 409 if it has moved since")


@router.get("/clusters")
def clusters(engine=Depends(get_engine), status: str = "active", pinned: Optional[bool] = None,
             q: Optional[str] = Query(None, max_length=200), limit: int = Query(50, ge=1, le=1000),
             offset: int = Query(0, ge=0, le=MAX_INT)) -> dict:
    """Clusters, largest first: labels and keywords per language, size, languages, most typical member."""
    data, count = list_clusters(engine, status=status, pinned=pinned, q=q, limit=limit, offset=offset)
    return {"data": data, "count": count}


@router.get("/clusters/{cluster_id}")
def cluster(cluster_id: str, engine=Depends(get_engine), member_limit: int = Query(100, ge=1, le=5000),
            member_offset: int = Query(0, ge=0, le=MAX_INT)) -> dict:
    """One cluster with its members (best-scored first)."""
    return get_cluster(engine, cluster_id, member_limit=member_limit, member_offset=member_offset)


class Confirm(StrictIn):
    expected_digest: Optional[str] = Field(None, max_length=40, description="members_digest of the cluster as you "
                                                                            "saw it: 409 if its members changed")


@router.post("/clusters/{cluster_id}/confirm")
def confirm(cluster_id: str, body: Optional[Confirm] = None, engine=Depends(get_engine),
            principal=Depends(get_principal)) -> dict:
    """A person accepts the cluster as it is: pinned, members human-confirmed."""
    return confirm_cluster(engine, cluster_id, principal.name, expected_digest=body.expected_digest if body else None)


@router.post("/clusters/{cluster_id}/rename")
def rename(cluster_id: str, body: Rename, engine=Depends(get_engine), principal=Depends(get_principal)) -> dict:
    return rename_cluster(engine, cluster_id, body.label, principal.name)


@router.post("/clusters/{cluster_id}/merge")
def merge(cluster_id: str, body: Merge, engine=Depends(get_engine), principal=Depends(get_principal)) -> dict:
    """Merge the clusters in ``ids`` into this one (they become ``merged``)."""
    return merge_clusters(engine, [cluster_id, *body.ids], principal.name, label=body.label)


@router.post("/clusters/{cluster_id}/split")
def split(cluster_id: str, body: Split = Split(), engine=Depends(get_engine),
          principal=Depends(get_principal)) -> dict:
    """Split by sub-clustering the members (or split ``rec_ids`` off); returns the resulting clusters."""
    parts = split_cluster(engine, cluster_id, principal.name, k=body.k, rec_ids=body.rec_ids)
    return {"data": parts, "count": len(parts)}


@router.post("/clusters/{cluster_id}/members")
def move(cluster_id: str, body: Move, engine=Depends(get_engine), principal=Depends(get_principal)) -> dict:
    """Move a recommendation into this cluster (out of any other)."""
    return move_member(engine, body.rec_id, cluster_id, principal.name, expected_from=body.from_cluster)
