"""The clusters view of the review page: clusters with their members, bulk acceptance per cluster, and the
curation actions of ``nrtd_nlp.services.clusters`` (confirm, rename, merge, split, move a member)."""

from __future__ import annotations

from typing import Optional

from fastapi import Depends, Form, Query, Request
from sqlalchemy import func, select

from ...errors import InputError, NotFound, NrtdError
from ...services.serialize import rec_to_dict
from ...store.models import Cluster, ClusterMember, Recommendation
from ..deps import get_engine
from ..schemas import MAX_INT, DbId


def _service():
    try:
        from ...services import clusters
    except ImportError:
        return None
    return clusters


def list_cluster_rows(engine, *, limit: int, offset: int) -> tuple[list[dict], int]:
    with engine.db.session() as s:
        n = func.count(ClusterMember.id)
        q = (select(Cluster, n).outerjoin(ClusterMember, ClusterMember.cluster_id == Cluster.id)
             .where(Cluster.status == "active").group_by(Cluster.id))
        total = s.scalar(select(func.count(Cluster.id)).where(Cluster.status == "active"))
        rows = s.execute(q.order_by(n.desc(), Cluster.id).limit(limit).offset(offset)).all()
        return [{"id": c.id, "label": c.label, "pinned": c.pinned, "size": size} for c, size in rows], int(total or 0)


def cluster_detail(engine, cluster_id: str) -> dict:
    with engine.db.session() as s:
        c = s.get(Cluster, cluster_id)
        if c is None:
            raise NotFound(f"cluster {cluster_id} does not exist", field="cluster_id")
        members = s.execute(select(ClusterMember, Recommendation)
                            .join(Recommendation, Recommendation.id == ClusterMember.rec_id)
                            .where(ClusterMember.cluster_id == cluster_id)
                            .order_by(ClusterMember.score.desc(), Recommendation.id)).all()
        others = s.execute(select(Cluster.id, Cluster.label).where(Cluster.status == "active", Cluster.id != c.id)
                           .order_by(Cluster.id).limit(500)).all()
        from ...services.clusters import members_digest

        return {"id": c.id, "label": c.label, "pinned": c.pinned, "status": c.status, "keywords": c.keywords,
                "members": [{**rec_to_dict(r), "score": m.score, "by": m.by} for m, r in members],
                "members_digest": members_digest(r.id for _, r in members),
                "others": [{"id": i, "label": lab} for i, lab in others]}


ACTIONS = ("confirm", "rename", "merge", "split", "move")


def curate(engine, action: str, cluster_id: str, who: str, *, label: Optional[str] = None,
           other_id: Optional[str] = None, rec_ids: Optional[list[int]] = None, digest: Optional[str] = None):
    """Dispatch a curation action to the clusters service."""
    svc = _service()
    if svc is None:
        raise InputError("cluster curation needs nrtd_nlp.services.clusters, which is not installed", field="action")
    if action == "confirm":
        return svc.confirm_cluster(engine, cluster_id, who, expected_digest=digest or None)
    if action == "rename":
        if not label or not label.strip():
            raise InputError("a new label is required", field="label")
        return svc.rename_cluster(engine, cluster_id, label.strip(), who)
    if action == "merge":
        if not other_id:
            raise InputError("choose the cluster to merge into this one", field="other_id")
        return svc.merge_clusters(engine, [cluster_id, other_id], who)
    if action == "split":
        if not rec_ids:
            raise InputError("tick the members to split off", field="rec_ids")
        return svc.split_cluster(engine, cluster_id, who, rec_ids=rec_ids)
    if action == "move":
        if not rec_ids or not other_id:
            raise InputError("tick members and choose where to move them", field="other_id")
        # all or nothing; the ticked members were seen in this cluster: one moved since is a 409
        return svc.move_members(engine, rec_ids, other_id, who, expected_from=cluster_id)
    raise InputError(f"unknown action {action!r}; choose one of {', '.join(ACTIONS)}", field="action")


def register(router, render, ctx, fail, done) -> None:
    @router.get("/clusters")
    def clusters(request: Request, offset: int = Query(0, ge=0, le=MAX_INT), engine=Depends(get_engine)):
        rows, total = list_cluster_rows(engine, limit=100, offset=offset)
        return render("clusters.html", request, clusters=rows, total=total, offset=offset, **ctx(request))

    @router.get("/clusters/{cluster_id}")
    def cluster(request: Request, cluster_id: str, engine=Depends(get_engine)):
        try:
            c = cluster_detail(engine, cluster_id)
        except NrtdError as e:
            return fail(request, e)
        return render("cluster.html", request, c=c, curation=_service() is not None, **ctx(request))

    @router.post("/clusters/{cluster_id}/curate")
    def cluster_curate(request: Request, cluster_id: str, action: str = Form(...),
                       label: Optional[str] = Form(None, max_length=300), other_id: Optional[str] = Form(None),
                       rec_ids: list[DbId] = Form([]), members_digest: Optional[str] = Form(None, max_length=40),
                       engine=Depends(get_engine)):
        p = request.state.page["principal"]
        try:
            res = curate(engine, action, cluster_id, p.name, label=label, other_id=other_id, rec_ids=rec_ids,
                         digest=members_digest)
        except NrtdError as e:
            return fail(request, e)
        return done(request, {"action": action, "result": res if isinstance(res, (dict, list)) else str(res)})
