"""The re-clustering batch run: vectors -> reduce -> cluster -> labels -> one committing transaction.

Checkpointed for resumption after a kill: the reduced vectors (and the fitted reduction) are saved
under ``$NRTD_HOME/jobs/<job id>/`` once computed, then the clustering; the job row's checkpoint
names the last stage done, and a resumed run starts after it. Nothing is visible to readers until
the final transaction commits, so the previous clusters stay in place while a run works.
Members of pinned clusters are left out of the run and never moved.
"""

from __future__ import annotations

import shutil
import time
import uuid
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Protocol

import numpy as np
from sqlalchemy import delete, func, insert, select

from ..errors import InputError
from ..store.locks import lock_clusters
from ..store.models import AuditEvent, Cluster, ClusterMember, ModelRun, Recommendation, utcnow
from .labels import ClusterLabeler, main_label
from .model import Reducer, ThemeClusterer
from .stable import StableIds

AGENT = "theme-clusters@1"


@dataclass
class ReclusterParams:
    """Measured defaults (see the README): PCA 128 d, HDBSCAN on its first 8, 3 centroid steps."""

    min_cluster_size: int = 25
    n_clusters: int | None = None
    seed: int = 0
    n_components: int = 128
    density_components: int = 8
    refine_iter: int = 3
    attach_threshold: float | None = None  # None: set so that at most max_unclustered stay out
    max_unclustered: float = 0.10

    @classmethod
    def from_dict(cls, d: dict | None) -> "ReclusterParams":
        d = {k: v for k, v in (d or {}).items() if v is not None}
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise InputError(f"unknown parameter(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
        p = cls(**d)
        if not 2 <= int(p.min_cluster_size) <= 100_000:
            raise InputError("min_cluster_size must be between 2 and 100000", field="min_cluster_size")
        if p.n_clusters is not None and not 2 <= int(p.n_clusters) <= 10_000:
            raise InputError("clusters must be between 2 and 10000", field="n_clusters")
        if p.attach_threshold is not None and not -1.0 <= float(p.attach_threshold) < 1.0:
            raise InputError("attach_threshold must be in [-1, 1)", field="attach_threshold")
        if not 0.0 <= float(p.max_unclustered) < 1.0:
            raise InputError("max_unclustered must be in [0, 1)", field="max_unclustered")
        if not 2 <= int(p.density_components) <= int(p.n_components) <= 512:
            raise InputError("need 2 <= density_components <= n_components <= 512", field="n_components")
        return p

    def to_dict(self) -> dict:
        return asdict(self)


class RunContext(Protocol):
    """What a run needs from its job: a folder, the last checkpoint, and ways to report."""

    workdir: Path
    checkpoint: dict

    def save_checkpoint(self, checkpoint: dict) -> None: ...

    def progress(self, stage: str, fraction: float) -> None: ...


def new_cluster_id() -> str:
    return "c" + uuid.uuid4().hex[:10]


def pinned_member_ids(s) -> set[int]:
    q = (select(ClusterMember.rec_id).join(Cluster, Cluster.id == ClusterMember.cluster_id)
         .where(Cluster.status == "active", Cluster.pinned.is_(True)))
    return set(s.scalars(q))


def centred_vectors(engine, rec_ids: list[int] | None = None) -> tuple[np.ndarray, np.ndarray, list]:
    """Stored vectors with the index's per-language centring (otherwise languages cluster apart)."""
    ids, vecs, langs = engine.stored_vectors(rec_ids)
    return ids, engine.index.centering.transform(vecs, langs), langs


def reducer_path(engine, run_id: int) -> Path:
    return engine.settings.home / "clusters" / f"reducer-{run_id}.npz"


def save_reducer(red: Reducer, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, mean=red.pca_.mean_.astype(np.float32), components=red.pca_.components_.astype(np.float32))


def load_projection(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """(mean, components) of a saved reduction, or None when the file is gone."""
    if not Path(path).exists():
        return None
    with np.load(path) as z:
        return z["mean"], z["components"]


def project(X: np.ndarray, proj: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    mean, comps = proj
    Z = (np.asarray(X, np.float32) - mean) @ comps.T
    n = np.linalg.norm(Z, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return Z / n


def make_clusterer(params: ReclusterParams, dim: int) -> ThemeClusterer:
    return ThemeClusterer(params.min_cluster_size, density_components=min(params.density_components, dim),
                          attach_threshold=params.attach_threshold, max_unclustered=params.max_unclustered,
                          n_clusters=params.n_clusters,
                          refine_iter=params.refine_iter)


def fit_labels(X: np.ndarray, params: ReclusterParams) -> ThemeClusterer:
    """The run's reduce + cluster stages in memory (evaluation: seeds, parameters)."""
    Z = Reducer(params.n_components, random_state=params.seed).fit_transform(X)
    return make_clusterer(params, Z.shape[1]).fit(Z)


def run_recluster(engine, params: ReclusterParams, ctx: RunContext, who: str = "cli") -> dict:
    t0 = time.perf_counter()
    ck = dict(ctx.checkpoint or {})
    wd = ctx.workdir
    wd.mkdir(parents=True, exist_ok=True)
    resumed_from = ck.get("stage")
    red_file, cl_file = wd / "reduced.npz", wd / "clusters.npz"
    if ck.get("stage") in ("reduced", "clustered") and red_file.exists():
        with np.load(red_file, allow_pickle=False) as z:
            ids, Z, langs = z["ids"], z["Z"], z["langs"].tolist()
    else:
        resumed_from = None
        ctx.progress("vectors", 0.05)
        with engine.db.session() as s:
            fixed = pinned_member_ids(s)
        ids, X, langs = centred_vectors(engine)
        keep = np.asarray([int(i) not in fixed for i in ids], bool)
        ids, X, langs = ids[keep], X[keep], [lang for lang, k in zip(langs, keep) if k]
        if len(ids) < 2:
            raise InputError("fewer than 2 embedded recommendations outside pinned clusters; nothing to cluster",
                             field="recommendations")
        ctx.progress("reduce", 0.15)
        red = Reducer(params.n_components, random_state=params.seed).fit(X)
        Z = red.transform(X)
        save_reducer(red, wd / "reducer.npz")
        np.savez(red_file, ids=ids, Z=Z, langs=np.asarray([lang or "und" for lang in langs]))
        ck = {"stage": "reduced", "n": int(len(ids))}
        ctx.save_checkpoint(ck)
    if ck.get("stage") == "clustered" and cl_file.exists():
        with np.load(cl_file) as z:
            labels, scores, C, noise = z["labels"], z["scores"], z["centroids"], float(z["noise"])
            threshold = float(z["threshold"])
    else:
        ctx.progress("cluster", 0.35)
        tc = make_clusterer(params, Z.shape[1]).fit(Z)
        labels, scores, C, noise, threshold = tc.labels_, tc.scores_, tc.centroids_, tc.noise_share_, tc.threshold_
        np.savez(cl_file, labels=labels, scores=scores, centroids=C, noise=np.float64(noise),
                 threshold=np.float64(threshold))
        ck = {"stage": "clustered", "n": int(len(ids)), "clusters": int(len(C))}
        ctx.save_checkpoint(ck)
    labels, scores = harmonise_translations(Z, C, labels, scores, _translation_groups(engine, ids), threshold)
    ctx.progress("labels", 0.7)
    texts = _texts(engine, ids)
    lab = ClusterLabeler().fit([texts.get(int(i), "") for i in ids], langs, labels)
    ctx.progress("commit", 0.85)
    if not len(C):  # a run that found nothing must not retire the themes people are working with
        with engine.db.session() as s:
            current = s.scalar(select(func.count(Cluster.id)).where(Cluster.status == "active",
                                                                    Cluster.pinned.is_(False))) or 0
        if current:
            shutil.rmtree(wd, ignore_errors=True)
            raise InputError(f"{zero_clusters_hint(int(len(ids)), int(params.min_cluster_size))}; the current "
                             f"{current} clusters are kept", field="min_cluster_size")
    result = commit_run(engine, ids, langs, labels, scores, C, lab, params, who=who, reducer_file=wd / "reducer.npz",
                        threshold=threshold, Z=Z)
    result["outside_run_attached"] = _attach_orphans(engine, result.pop("orphans"), who)
    if not result["clusters"]:
        result["hint"] = zero_clusters_hint(int(len(ids)), int(params.min_cluster_size))
    result.update(resumed_from=resumed_from, hdbscan_noise_share=round(noise, 4),
                  seconds=round(time.perf_counter() - t0, 2))
    shutil.rmtree(wd, ignore_errors=True)
    ctx.progress("done", 1.0)
    return result


def zero_clusters_hint(n_records: int, min_cluster_size: int) -> str:
    """What to try when a run found no cluster (HDBSCAN keeps only groups of min_cluster_size similar records,
    and never one group of everything)."""
    head = f"no cluster found among {n_records} records with min_cluster_size {min_cluster_size}"
    if min_cluster_size > 2:
        n = max(2, min(min_cluster_size - 1, round(n_records / 15)))
        return f"{head}; try a smaller minimum, e.g. --min-size {n} (API: min_cluster_size {n})"
    return f"{head}: too few records, or all of one theme (the clustering needs at least two distinct groups)"


def _attach_orphans(engine, orphans: list[int], who: str) -> int:
    """Records imported while the run worked whose cluster the run retired: attached as on import."""
    if not orphans:
        return 0
    from ..services.clusters import attach_new

    return int(attach_new(engine, orphans, who=who).get("attached", 0))


def _translation_groups(engine, ids: np.ndarray) -> list[list[int]]:
    """Row positions of records the source names as translations of one another (UHRI)."""
    pos = {int(i): k for k, i in enumerate(ids)}
    groups: dict[str, list[int]] = {}
    with engine.db.session() as s:
        for rid, tg in s.execute(select(Recommendation.id, Recommendation.translation_group)
                                 .where(Recommendation.translation_group.is_not(None))):
            if rid in pos:
                groups.setdefault(tg, []).append(pos[rid])
    return [g for g in groups.values() if len(g) > 1]


def harmonise_translations(Z: np.ndarray, C: np.ndarray, labels: np.ndarray, scores: np.ndarray,
                           groups: list[list[int]], threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """The language versions of one text go to one cluster: the nearest to their mean vector
    (or all stay unclustered when that mean does not reach the threshold)."""
    labels, scores = np.array(labels), np.array(scores, dtype=np.float32)
    if not len(C):
        return labels, scores
    for g in groups:
        m = Z[g].mean(0)
        m = m / (np.linalg.norm(m) or 1.0)
        sims = C @ m
        best = int(sims.argmax())
        labels[g] = best if sims[best] >= threshold else -1
        scores[g] = Z[g] @ C[best]
    return labels, scores


def _texts(engine, ids: np.ndarray) -> dict[int, str]:
    out: dict[int, str] = {}
    idl = [int(i) for i in ids]
    with engine.db.session() as s:
        for start in range(0, len(idl), 900):
            out.update(s.execute(select(Recommendation.id, Recommendation.text)
                                 .where(Recommendation.id.in_(idl[start : start + 900]))).all())
    return out


def commit_run(engine, ids, langs, labels, scores, C, lab: ClusterLabeler, params: ReclusterParams, *,
               who: str, reducer_file: Path, threshold: float, Z: np.ndarray | None = None) -> dict:
    """Write the run in one transaction: matched clusters keep their ids, unmatched old ones retire.

    The write lock is taken before anything is read, so a person's decision committed before this
    transaction is seen (its cluster is pinned: left alone) and one arriving meanwhile waits for it.
    Only the memberships of the run's input records are replaced: records it did not cluster (imported
    while it ran) keep their cluster, or, when that cluster retires, are listed under ``orphans`` for
    attachment to the new clusters. ``Z`` (the run's reduced vectors) puts the old clusters' centroids
    in the new space for matching; without it the stored ones are used."""
    ids = np.asarray(ids, np.int64)
    labels = np.asarray(labels)
    with engine.db.session() as s:
        lock_clusters(s)  # before any read: the pins and members below are the committed ones
        active = s.scalars(select(Cluster).where(Cluster.status == "active")
                           .execution_options(populate_existing=True)).all()
        member_rows = s.execute(select(ClusterMember.cluster_id, ClusterMember.rec_id, ClusterMember.score,
                                       ClusterMember.by).where(ClusterMember.cluster_id.in_([c.id for c in active]))
                                ).all() if active else []
        pinned_ids = {c.id for c in active if c.pinned}
        fixed = {row.rec_id for row in member_rows if row.cluster_id in pinned_ids}
        alive = set(s.scalars(select(Recommendation.id)))
        ok = (labels >= 0) & np.asarray([int(i) in alive and int(i) not in fixed for i in ids], bool)
        k = len(C)
        groups = [np.flatnonzero(ok & (labels == c)) for c in range(k)]
        order = [c for c in range(k) if len(groups[c])]
        old = [c for c in active if not c.pinned]
        st = _match_old(old, member_rows, ids, Z, [groups[c] for c in order], C[order] if order else None)
        run = ModelRun(task="cluster", agent=AGENT, params={**params.to_dict(), "records": int(len(ids)),
                                                            "attach_threshold": round(float(threshold), 6)},
                       finished_at=utcnow())
        s.add(run)
        s.flush()
        final_reducer = reducer_path(engine, run.id)
        run.params = {**run.params, "reducer": final_reducer.name}
        if old:
            s.execute(delete(ClusterMember).where(ClusterMember.cluster_id.in_([c.id for c in old])))
        by_id = {c.id: c for c in old}
        kept, created, rows = [], [], []
        for j, c in enumerate(order):
            cid = st.mapping_.get(j)
            lang_sizes: dict[str, int] = {}
            for i in groups[c]:
                lang_sizes[langs[i] or "und"] = lang_sizes.get(langs[i] or "und", 0) + 1
            fields_ = dict(labels=lab.labels_.get(c) or {}, keywords=lab.keywords_.get(c) or {},
                           label=main_label(lab.labels_.get(c), lang_sizes), run_id=run.id,
                           centroid=np.ascontiguousarray(C[c], np.float32).tobytes(), status="active")
            if cid is None:
                cid = new_cluster_id()
                s.add(Cluster(id=cid, **fields_))
                created.append(cid)
            else:
                cl = by_id[cid]
                for f, v in fields_.items():
                    setattr(cl, f, v)
                kept.append(cid)
            rows.extend({"cluster_id": cid, "rec_id": int(ids[i]), "score": float(scores[i]), "by": "model"}
                        for i in groups[c])
        retired = [c.id for c in old if c.id not in set(kept)]
        for cid in retired:
            by_id[cid].status = "retired"
        outside, orphans = _outside_run(member_rows, set(by_id), set(kept), set(ids.tolist()), alive)
        rows.extend(outside)
        s.flush()
        for start in range(0, len(rows), 5000):
            s.execute(insert(ClusterMember), rows[start : start + 5000])
        result = {"run_id": run.id, "agent": AGENT, "records": int(len(ids)), "clusters": len(order),
                  "clustered": len(rows) - len(outside), "unclustered": int(len(ids) - len(rows) + len(outside)),
                  "kept_ids": len(kept), "new_ids": len(created), "retired": len(retired),
                  "pinned_untouched": len(pinned_ids), "attach_threshold": round(float(threshold), 4),
                  "outside_run_kept": len(outside)}
        s.add(AuditEvent(who=who, action="recluster", entity="clusters", entity_id=str(run.id),
                         before={"active": len(active)}, after={**result, "outside_run_orphaned": len(orphans)}))
        final_reducer.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(reducer_file, final_reducer)
    return {**result, "orphans": orphans}


def _match_old(old: list[Cluster], member_rows, ids: np.ndarray, Z: np.ndarray | None, new_groups: list[np.ndarray],
               new_centroids: np.ndarray | None) -> StableIds:
    """Stable ids: the old unpinned clusters against the new ones, on the run's input records only (the run
    cannot have placed the others), with the old centroids recomputed in the new space when ``Z`` is given."""
    pos = {int(r): i for i, r in enumerate(ids)}
    old_members: dict[str, set[int]] = {c.id: set() for c in old}
    for row in member_rows:
        if row.cluster_id in old_members and row.rec_id in pos:
            old_members[row.cluster_id].add(row.rec_id)
    dim = new_centroids.shape[1] if new_centroids is not None else 0
    if Z is not None and dim == Z.shape[1]:
        old_cent = [_mean_direction(Z, [pos[r] for r in old_members[c.id]], dim) for c in old]
    else:
        old_cent = [np.frombuffer(c.centroid, np.float32) if c.centroid else np.zeros(dim, np.float32) for c in old]
    old_cent_arr = np.stack(old_cent) if old and all(len(v) == dim for v in old_cent) else None
    return StableIds().fit([c.id for c in old], [old_members[c.id] for c in old],
                           [set(ids[g].tolist()) for g in new_groups], old_cent_arr, new_centroids)


def _mean_direction(Z: np.ndarray, rows: list[int], dim: int) -> np.ndarray:
    if not rows:
        return np.zeros(dim, np.float32)
    m = Z[rows].mean(0)
    return (m / (np.linalg.norm(m) or 1.0)).astype(np.float32)


def _outside_run(member_rows, old_ids: set[str], kept: set[str], input_ids: set[int], alive: set[int]
                 ) -> tuple[list[dict], list[int]]:
    """Old memberships of records the run did not cluster: re-inserted rows for clusters that keep their id,
    and the records whose cluster retired (to attach to the new clusters)."""
    rows, orphans = [], []
    for row in member_rows:
        if row.cluster_id not in old_ids or row.rec_id in input_ids or row.rec_id not in alive:
            continue
        if row.cluster_id in kept:
            rows.append({"cluster_id": row.cluster_id, "rec_id": row.rec_id, "score": row.score, "by": row.by})
        else:
            orphans.append(row.rec_id)
    return rows, sorted(set(orphans))


def latest_run(s) -> ModelRun | None:
    return s.scalars(select(ModelRun).where(ModelRun.task == "cluster", ModelRun.agent == AGENT)
                     .order_by(ModelRun.id.desc()).limit(1)).first()

