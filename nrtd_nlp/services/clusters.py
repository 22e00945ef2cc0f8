"""Thematic clusters: reading, human curation (audited), incremental attachment, re-clustering.

People's decisions win: confirming, renaming, merging, splitting or moving a member pins the
cluster(s) concerned and writes their members as ``by="human"``; a re-clustering run never moves
a pinned cluster's members nor changes its name. Between full runs new records are attached to the nearest
cluster; a pinned one takes them as suggested members (``by="model"``), its human members unchanged. Every curation takes the write lock on its clusters before it reads
what it checks (``store.locks.lock_clusters``), so of two concurrent decisions the second sees the first's
result (and gets a Conflict where that result makes it impossible).
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import delete, func, insert, select, update

from ..errors import Conflict, InputError, NotFound
from ..store.locks import lock_clusters, lock_recommendations
from ..store.models import AuditEvent, Cluster, ClusterMember, ModelRun, Recommendation
from .context import Engine

STATUSES = ("active", "merged", "split", "retired")


def _brief(r: Recommendation) -> dict:
    return {"id": r.id, "text": r.text, "language": r.language, "mechanism": r.mechanism, "country": r.country,
            "cycle": r.cycle, "session": r.session}


def _summary(s, c: Cluster, size: int, agents: dict[int, str]) -> dict:
    top = s.execute(select(Recommendation).join(ClusterMember, ClusterMember.rec_id == Recommendation.id)
                    .where(ClusterMember.cluster_id == c.id)
                    .order_by(ClusterMember.score.desc().nulls_last(), Recommendation.id).limit(1)).scalars().first()
    langs = dict(s.execute(select(Recommendation.language, func.count())
                           .join(ClusterMember, ClusterMember.rec_id == Recommendation.id)
                           .where(ClusterMember.cluster_id == c.id).group_by(Recommendation.language)).all())
    return {"id": c.id, "label": c.label, "labels": c.labels or {}, "keywords": c.keywords or {}, "pinned": c.pinned,
            "status": c.status, "size": size, "languages": {k or "und": v for k, v in langs.items()},
            "typical": _brief(top) if top else None, "agent": agents.get(c.run_id) if c.run_id else None,
            "run_id": c.run_id, "updated_at": c.updated_at}


def _agents(s, run_ids) -> dict[int, str]:
    run_ids = [r for r in set(run_ids) if r is not None]
    if not run_ids:
        return {}
    return dict(s.execute(select(ModelRun.id, ModelRun.agent).where(ModelRun.id.in_(run_ids))).all())


def list_clusters(engine: Engine, *, status: str = "active", pinned: bool | None = None, q: str | None = None,
                  limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    """Clusters, largest first, each with its size, labels per language and most typical member."""
    if status not in STATUSES:
        raise InputError(f"unknown status {status!r}; choose one of {', '.join(STATUSES)}", field="status")
    if not 1 <= limit <= 1000:
        raise InputError("limit must be 1..1000", field="limit")
    if offset < 0:
        raise InputError("offset must be 0 or more", field="offset")
    size = func.count(ClusterMember.id).label("size")
    base = (select(Cluster, size).outerjoin(ClusterMember, ClusterMember.cluster_id == Cluster.id)
            .where(Cluster.status == status).group_by(Cluster.id))
    if pinned is not None:
        base = base.where(Cluster.pinned.is_(pinned))
    if q:
        base = base.where(func.lower(Cluster.label).contains(q.lower(), autoescape=True))  # % and _ are text
    with engine.db.session() as s:
        total = s.scalar(select(func.count()).select_from(base.subquery()))
        rows = s.execute(base.order_by(size.desc(), Cluster.id).limit(limit).offset(offset)).all()
        agents = _agents(s, [c.run_id for c, _ in rows])
        return [_summary(s, c, n, agents) for c, n in rows], int(total or 0)


def get_cluster(engine: Engine, cluster_id: str, *, member_limit: int = 100, member_offset: int = 0) -> dict:
    if not 1 <= member_limit <= 5000:  # the API's bounds (routes/clusters.py)
        raise InputError("limit must be 1..5000", field="limit")
    if member_offset < 0:
        raise InputError("offset must be 0 or more", field="offset")
    with engine.db.session() as s:
        c = s.get(Cluster, cluster_id)
        if c is None:
            raise NotFound(f"no cluster {cluster_id!r}", field="cluster_id")
        n = s.scalar(select(func.count()).where(ClusterMember.cluster_id == c.id)) or 0
        out = _summary(s, c, int(n), _agents(s, [c.run_id]))
        rows = s.execute(select(Recommendation, ClusterMember.score, ClusterMember.by)
                         .join(ClusterMember, ClusterMember.rec_id == Recommendation.id)
                         .where(ClusterMember.cluster_id == c.id)
                         .order_by(ClusterMember.score.desc().nulls_last(), Recommendation.id)
                         .limit(member_limit).offset(member_offset)).all()
        out["members"] = [{**_brief(r), "score": score, "by": by} for r, score, by in rows]
        out["members_digest"] = members_digest(_members(s, c.id))
        return out


def members_digest(rec_ids) -> str:
    """A short fingerprint of a cluster's member set: a client sends back the one it saw, and a confirmation
    of a cluster that changed since (a re-clustering run, another person) is refused (409)."""
    import hashlib

    return hashlib.sha1(",".join(map(str, sorted(int(r) for r in rec_ids))).encode()).hexdigest()[:16]


def cluster_of(engine: Engine, rec_id: int) -> list[dict]:
    """The active cluster(s) a recommendation belongs to: id, label, score, by."""
    with engine.db.session() as s:
        rows = s.execute(select(Cluster.id, Cluster.label, Cluster.pinned, ClusterMember.score, ClusterMember.by)
                         .join(ClusterMember, ClusterMember.cluster_id == Cluster.id)
                         .where(ClusterMember.rec_id == rec_id, Cluster.status == "active")).all()
        return [{"id": i, "label": lab, "pinned": p, "score": sc, "by": by} for i, lab, p, sc, by in rows]


def _active(s, cluster_id: str, field: str = "cluster_id") -> Cluster:
    """The cluster as committed now (re-read: call it after ``_locked``), or NotFound / Conflict."""
    c = s.get(Cluster, cluster_id, populate_existing=True)
    if c is None:
        raise NotFound(f"no cluster {cluster_id!r}", field=field)
    if c.status != "active":
        raise Conflict(f"cluster {cluster_id} is {c.status}, not active", field=field)
    return c


def _locked(s, cluster_ids: list[str], field: str = "cluster_id") -> list[Cluster]:
    """Take the write lock on these clusters first, then read them: a concurrent decision on any of them either
    committed before (and is seen here) or waits for this one (and then sees its result)."""
    lock_clusters(s, cluster_ids)
    return [_active(s, cid, field) for cid in cluster_ids]


def _pin(s, c: Cluster) -> None:
    """A person's decision on a cluster: it is pinned and its members count as human-confirmed."""
    c.pinned = True
    s.execute(update(ClusterMember).where(ClusterMember.cluster_id == c.id).values(by="human"))


def _who(who: str) -> str:
    if not isinstance(who, str) or not who.strip() or len(who) > 100:
        raise InputError("who must name the person (1-100 characters)", field="who")
    return who.strip()


def _members(s, cluster_id: str) -> list[int]:
    return list(s.scalars(select(ClusterMember.rec_id).where(ClusterMember.cluster_id == cluster_id)))


def _audit(s, who: str, action: str, cluster_id: str, before: dict | None, after: dict | None) -> None:
    s.add(AuditEvent(who=who, action=action, entity="cluster", entity_id=cluster_id, before=before, after=after))


def confirm_cluster(engine: Engine, cluster_id: str, who: str, *, expected_digest: str | None = None) -> dict:
    """A person accepts the cluster as it is: pinned, members marked as human-confirmed. ``expected_digest``
    (``members_digest`` of the members the person saw): 409 when the members changed since."""
    who = _who(who)
    with engine.db.session() as s:
        (c,) = _locked(s, [cluster_id])
        if expected_digest is not None and members_digest(_members(s, c.id)) != expected_digest:
            raise Conflict(f"cluster {cluster_id} changed since you saw it ({len(_members(s, c.id))} members now): "
                           "reload it and confirm again", field="expected_digest")
        before = {"pinned": c.pinned, "label": c.label}
        _pin(s, c)
        _audit(s, who, "cluster_confirm", c.id, before, {"pinned": True, "label": c.label,
                                                          "members": len(_members(s, c.id))})
    return get_cluster(engine, cluster_id)


def rename_cluster(engine: Engine, cluster_id: str, label: str, who: str) -> dict:
    who = _who(who)
    label = (label or "").strip()
    if not label or len(label) > 300:
        raise InputError("label must be 1-300 characters", field="label")
    with engine.db.session() as s:
        (c,) = _locked(s, [cluster_id])
        before = {"label": c.label, "pinned": c.pinned}
        c.label = label
        _pin(s, c)
        _audit(s, who, "cluster_rename", c.id, before, {"label": label, "pinned": True})
    return get_cluster(engine, cluster_id)


def _mean_centroid(clusters: list[Cluster], sizes: list[int]) -> bytes | None:
    vecs = [np.frombuffer(c.centroid, np.float32) for c in clusters if c.centroid]
    if len(vecs) != len(clusters) or len({len(v) for v in vecs}) != 1:
        return None
    m = sum(v * max(n, 1) for v, n in zip(vecs, sizes))
    return np.ascontiguousarray(m / (np.linalg.norm(m) or 1.0), np.float32).tobytes()


def merge_clusters(engine: Engine, cluster_ids: list[str], who: str, label: str | None = None) -> dict:
    """Merge into the first id; the others become ``merged`` (their ids stay readable)."""
    who = _who(who)
    ids = list(dict.fromkeys(cluster_ids or []))
    if len(ids) < 2:
        raise InputError("give at least two different cluster ids to merge", field="ids")
    if label is not None and (not label.strip() or len(label) > 300):
        raise InputError("label must be 1-300 characters", field="label")
    with engine.db.session() as s:
        clusters = _locked(s, ids, "ids")
        target, others = clusters[0], clusters[1:]
        members = {c.id: _members(s, c.id) for c in clusters}
        before = {"clusters": {c.id: {"label": c.label, "pinned": c.pinned, "size": len(members[c.id])}
                               for c in clusters}}
        target.centroid = _mean_centroid(clusters, [len(members[c.id]) for c in clusters]) or target.centroid
        moved = sorted({r for c in others for r in members[c.id]} - set(members[target.id]))
        s.execute(delete(ClusterMember).where(ClusterMember.cluster_id.in_([c.id for c in others])))
        s.execute(update(ClusterMember).where(ClusterMember.cluster_id == target.id).values(by="human"))
        if moved:
            s.execute(insert(ClusterMember), [{"cluster_id": target.id, "rec_id": r, "score": None, "by": "human"}
                                              for r in moved])
        for c in others:
            c.status = "merged"
            _audit(s, who, "cluster_merged_into", c.id, {"status": "active"}, {"status": "merged",
                                                                              "merged_into": target.id})
        target.pinned = True
        if label:
            target.label = label.strip()
        _audit(s, who, "cluster_merge", target.id, before,
               {"label": target.label, "merged": [c.id for c in others], "size": len(members[target.id]) + len(moved)})
    return get_cluster(engine, ids[0])


def split_cluster(engine: Engine, cluster_id: str, who: str, k: int | None = None, *,
                  rec_ids: list[int] | None = None) -> list[dict]:
    """Split by sub-clustering the members (k-means on their vectors when ``k`` is given, else
    HDBSCAN, falling back to two parts); the parts are new pinned clusters, the old one ``split``.
    With ``rec_ids``, those members are split off into one new pinned cluster and the cluster keeps
    the rest (pinned too)."""
    from ..cluster.labels import ClusterLabeler, main_label
    from ..cluster.run import centred_vectors, new_cluster_id

    who = _who(who)
    if k is not None and not 2 <= int(k) <= 20:
        raise InputError("k must be between 2 and 20", field="k")
    if rec_ids is not None:
        return _split_off(engine, cluster_id, who, rec_ids)
    with engine.db.session() as s:
        c = _active(s, cluster_id)
        members = sorted(_members(s, c.id))
    ids, X, langs = centred_vectors(engine, members)
    need = max(int(k or 2), 2) * 2
    if len(ids) < need:
        raise Conflict(f"cluster {cluster_id} has {len(ids)} embedded members; splitting needs at least {need}",
                       field="cluster_id")
    parts = _sub_labels(X, k)
    with engine.db.session() as s:
        (c,) = _locked(s, [cluster_id])
        if sorted(_members(s, c.id)) != members:
            raise Conflict(f"cluster {cluster_id} changed while it was being split; try again", field="cluster_id")
        texts = dict(s.execute(select(Recommendation.id, Recommendation.text)
                               .where(Recommendation.id.in_(members))).all())
        lab = ClusterLabeler(min_docs=1).fit([texts[int(i)] for i in ids], langs, parts)
        no_vector = sorted(set(members) - set(ids.tolist()))
        s.execute(delete(ClusterMember).where(ClusterMember.cluster_id == c.id))
        before = {"label": c.label, "pinned": c.pinned, "size": len(members)}
        c.status = "split"
        new_ids = []
        for p in range(int(parts.max()) + 1):
            sel = parts == p
            cent = X[sel].mean(0)
            cid = new_cluster_id()
            new_ids.append(cid)
            sizes = {}
            for lang in np.asarray(langs, dtype=object)[sel]:
                sizes[lang or "und"] = sizes.get(lang or "und", 0) + 1
            s.add(Cluster(id=cid, label=main_label(lab.labels_.get(p), sizes) or f"{c.label or cid} ({p + 1})",
                          labels=lab.labels_.get(p) or {}, keywords=lab.keywords_.get(p) or {}, pinned=True,
                          status="active", run_id=c.run_id, centroid=None, parent_id=None))
            s.flush()
            rows = [{"cluster_id": cid, "rec_id": int(r), "score": float(cent @ x / (np.linalg.norm(cent) or 1)),
                     "by": "human"} for r, x in zip(ids[sel], X[sel])]
            if p == 0:
                rows += [{"cluster_id": cid, "rec_id": r, "score": None, "by": "human"} for r in no_vector]
            s.execute(insert(ClusterMember), rows)
        _audit(s, who, "cluster_split", c.id, before, {"status": "split", "into": new_ids, "k": len(new_ids)})
    return [get_cluster(engine, cid, member_limit=10) for cid in new_ids]


def _split_off(engine: Engine, cluster_id: str, who: str, rec_ids: list[int]) -> list[dict]:
    from ..cluster.labels import ClusterLabeler, main_label
    from ..cluster.run import new_cluster_id

    chosen = sorted(set(int(r) for r in rec_ids))
    with engine.db.session() as s:
        (c,) = _locked(s, [cluster_id])
        members = set(_members(s, c.id))
        outside = [r for r in chosen if r not in members]
        if not chosen or outside:
            raise InputError(f"not members of cluster {cluster_id}: {outside[:10]}", field="rec_ids")
        if len(chosen) == len(members):
            raise Conflict("splitting off every member leaves nothing behind; rename the cluster instead",
                           field="rec_ids")
        recs = s.execute(select(Recommendation.id, Recommendation.text, Recommendation.language)
                         .where(Recommendation.id.in_(chosen))).all()
        lab = ClusterLabeler(min_docs=1).fit([t for _, t, _ in recs], [lang for _, _, lang in recs],
                                             np.zeros(len(recs), int))
        sizes: dict[str, int] = {}
        for _, _, lang in recs:
            sizes[lang or "und"] = sizes.get(lang or "und", 0) + 1
        new_id = new_cluster_id()
        s.add(Cluster(id=new_id, label=main_label(lab.labels_.get(0), sizes) or f"{c.label or c.id} (part)",
                      labels=lab.labels_.get(0) or {}, keywords=lab.keywords_.get(0) or {}, pinned=True,
                      status="active", run_id=c.run_id))
        s.flush()
        s.execute(update(ClusterMember).where(ClusterMember.cluster_id == c.id, ClusterMember.rec_id.in_(chosen))
                  .values(cluster_id=new_id, by="human"))
        s.execute(update(ClusterMember).where(ClusterMember.cluster_id == c.id).values(by="human"))
        before = {"pinned": c.pinned, "size": len(members)}
        c.pinned = True
        _audit(s, who, "cluster_split", c.id, before, {"split_off": chosen, "into": new_id,
                                                      "size": len(members) - len(chosen)})
    return [get_cluster(engine, cluster_id, member_limit=10), get_cluster(engine, new_id, member_limit=10)]


def _sub_labels(X: np.ndarray, k: int | None) -> np.ndarray:
    from sklearn.cluster import KMeans

    from ..cluster.model import Reducer, ThemeClusterer

    Z = Reducer(min(32, len(X) - 1), random_state=0).fit_transform(X)
    if k is None:
        tc = ThemeClusterer(min_cluster_size=max(3, len(X) // 10), density_components=min(8, Z.shape[1]),
                            max_unclustered=0.0).fit(Z)
        if tc.n_clusters_ >= 2:
            return tc.labels_
        k = 2
    return KMeans(int(k), n_init=4, random_state=0).fit_predict(Z)


def move_member(engine: Engine, rec_id: int, to_cluster_id: str, who: str, *, expected_from: str | None = None) -> dict:
    """Put a recommendation in another cluster (by a person: the target is pinned)."""
    return move_members(engine, [rec_id], to_cluster_id, who, expected_from=expected_from)[0]


def move_members(engine: Engine, rec_ids: list[int], to_cluster_id: str, who: str, *,
                 expected_from: str | None = None) -> list[dict]:
    """Move several recommendations into one cluster: all of them in one transaction, or none (an unknown
    recommendation, or one already there, leaves every membership as it was). ``expected_from``: the cluster
    the person saw them in ("" for none); a record no longer there is a 409, so of two people moving one
    record at once the second is told instead of silently undoing the first's move."""
    who = _who(who)
    out = []
    rec_ids = list(dict.fromkeys(rec_ids))
    with engine.db.session() as s:
        (target,) = _locked(s, [to_cluster_id])
        lock_recommendations(s, rec_ids)  # two moves of one record into different clusters wait for each other
        lock_clusters(s, _active_cluster_ids(s, rec_ids))
        for rec_id in rec_ids:
            if s.get(Recommendation, rec_id) is None:
                raise NotFound(f"no recommendation {rec_id}", field="rec_id")
            current = s.execute(select(ClusterMember).join(Cluster, Cluster.id == ClusterMember.cluster_id)
                                .where(ClusterMember.rec_id == rec_id, Cluster.status == "active")
                                .execution_options(populate_existing=True)).scalars().all()
            if any(m.cluster_id == target.id for m in current):
                raise Conflict(f"recommendation {rec_id} is already in cluster {target.id}", field="rec_id")
            now = sorted(m.cluster_id for m in current)
            if expected_from is not None and (expected_from not in now if expected_from else now):
                raise Conflict(f"recommendation {rec_id} is no longer in cluster {expected_from or '(none)'} but in "
                               f"{', '.join(now) or 'no cluster'}; reload it and move again", field="from_cluster")
            before = {"clusters": [m.cluster_id for m in current]}
            for m in current:
                s.delete(m)
            s.flush()
            s.add(ClusterMember(cluster_id=target.id, rec_id=rec_id, score=None, by="human"))
            _audit(s, who, "cluster_move_member", target.id, before, {"rec_id": rec_id, "cluster": target.id})
            out.append({"rec_id": rec_id, "from": before["clusters"], "to": to_cluster_id})
        s.flush()
        _pin(s, target)  # the person chose this cluster for them: it and its members are human decisions now
    return out


def _active_cluster_ids(s, rec_ids: list[int]) -> list[str]:
    return list(s.scalars(select(ClusterMember.cluster_id).join(Cluster, Cluster.id == ClusterMember.cluster_id)
                          .where(ClusterMember.rec_id.in_(rec_ids), Cluster.status == "active").distinct()))


def _pinned_centroids(engine: Engine, pinned: dict[str, list[int]], proj) -> dict[str, np.ndarray]:
    """The pinned clusters' centroids in the last run's reduced space, from their members' vectors (a pinned
    cluster keeps the centroid of the run that made it, in that run's space)."""
    from ..cluster.run import centred_vectors, project

    every = sorted({r for members in pinned.values() for r in members})
    if not every:
        return {}
    ids, X, _ = centred_vectors(engine, every)
    if not len(ids):
        return {}
    Z = project(X, proj)
    row = {int(r): i for i, r in enumerate(ids)}
    out = {}
    for cid, members in pinned.items():
        rows = [row[r] for r in members if r in row]
        if rows:
            m = Z[rows].mean(0)
            out[cid] = (m / (np.linalg.norm(m) or 1.0)).astype(np.float32)
    return out


def attach_new(engine: Engine, rec_ids: list[int], who: str = "import") -> dict:
    """Attach new records to the nearest cluster (centroid cosine in the last run's reduced space, over the
    run's threshold), instead of reshuffling everything between full runs. A theme a person confirmed takes
    new records too, as suggested members (``by="model"``): confirming a theme must not freeze it against every
    later recommendation on it; its human members never change."""
    from ..cluster.run import centred_vectors, latest_run, load_projection, project, reducer_path

    with engine.db.session() as s:
        run = latest_run(s)
        if run is None:
            return {"attached": 0, "skipped": "no clustering run yet"}
        clusters = s.execute(select(Cluster.id, Cluster.centroid).where(
            Cluster.status == "active", Cluster.pinned.is_(False), Cluster.centroid.is_not(None))).all()
        pinned: dict[str, list[int]] = {}
        for cid, rid in s.execute(select(ClusterMember.cluster_id, ClusterMember.rec_id)
                                  .join(Cluster, Cluster.id == ClusterMember.cluster_id)
                                  .where(Cluster.status == "active", Cluster.pinned.is_(True),
                                         ClusterMember.by == "human")):
            pinned.setdefault(cid, []).append(rid)
        placed = set(s.scalars(select(ClusterMember.rec_id).join(Cluster, Cluster.id == ClusterMember.cluster_id)
                               .where(Cluster.status == "active", ClusterMember.rec_id.in_(rec_ids))))
    proj = load_projection(reducer_path(engine, run.id))
    todo = sorted(set(rec_ids) - placed)
    if proj is None or not (clusters or pinned) or not todo:
        return {"attached": 0, "considered": len(todo),
                **({"skipped": "the last run's reduction file is missing"} if proj is None else {})}
    ids, X, _ = centred_vectors(engine, todo)
    if not len(ids):
        return {"attached": 0, "considered": len(todo)}
    Z = project(X, proj)
    cents = {cid: np.frombuffer(blob, np.float32) for cid, blob in clusters if len(blob) == 4 * Z.shape[1]}
    cents.update(_pinned_centroids(engine, pinned, proj))
    cids = list(cents)
    if not cids:
        return {"attached": 0, "considered": len(todo)}
    C = np.stack([cents[c] for c in cids])
    S = Z @ C.T
    best = S.argmax(1)
    score = S[np.arange(len(S)), best]
    thr = float((run.params or {}).get("attach_threshold") or 0.0)
    rows = [{"cluster_id": cids[b], "rec_id": int(r), "score": float(sc), "by": "model"}
            for r, b, sc in zip(ids, best, score) if sc >= thr]
    with engine.db.session() as s:
        if rows:
            s.execute(insert(ClusterMember), rows)
        s.add(AuditEvent(who=who, action="cluster_attach", entity="clusters", entity_id=str(run.id),
                         after={"attached": len(rows), "considered": len(todo), "threshold": thr}))
    return {"attached": len(rows), "considered": len(todo), "threshold": thr,
            "to_confirmed_themes": sum(1 for r in rows if r["cluster_id"] in pinned)}


def recluster(engine: Engine, params: dict | None = None, who: str = "cli", on_progress=None) -> dict:
    """Create a re-clustering job and run it here (the CLI's way); returns the finished job."""
    from .jobs import create_job, run_job

    job = create_job(engine, "recluster", params, who=who)
    return run_job(engine, job["id"], on_progress)
