"""Cluster quality and stability on real data, through the product's own code.

    python -m evaluation.clusters upr --home DIR    # DIR: a scratch copy of a store holding the 36,381
                                                    # UPR Info rows with cached vectors (it is written to)
    python -m evaluation.clusters uhri --home DIR   # DIR: a scratch store where uhri_multilingual_dev.csv
                                                    # was imported (nrtd import …)

upr: NMI, ARI and purity against the first UPR Info issue of each record, share unclustered;
ARI between two runs with different seeds (the seed drives the randomised PCA); then the product
path: 10 % of the records are removed, the store is re-clustered (run A), five clusters are confirmed
by a person, the 10 % are imported again (attached incrementally), and the store is re-clustered
(run B): pinned clusters must be unchanged, and the other records should keep their cluster ids.
uhri: share of records whose six language versions land in one cluster; pairwise co-membership
precision and recall against UHRI theme ids (English versions).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"
UPR = SHARED / "upr-info" / "upr_info_sessions01-18.csv"


def _engine(home: str):
    from nrtd_nlp.config import Settings, get_settings
    from nrtd_nlp.services.context import Engine

    s = Settings(home=Path(home), cache_dir=get_settings().cache_dir, link_on_import=False, tag_on_import=False)
    return Engine(s)


def label_metrics(truth: list, labels: np.ndarray) -> dict:
    """NMI/ARI/purity on the clustered records with a known label; NMI also with 'unclustered' as one group."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    truth = np.asarray(truth, dtype=object)
    known = truth != None  # noqa: E711
    t, lab = truth[known].astype(str), np.asarray(labels)[known]
    m = lab >= 0
    purity = sum(Counter(t[m & (lab == c)]).most_common(1)[0][1] for c in set(lab[m].tolist())) / max(m.sum(), 1)
    return {"records": int(known.sum()), "clusters": int(len(set(lab[m].tolist()))),
            "unclustered_share": round(float(1 - m.mean()), 4),
            "nmi": round(float(normalized_mutual_info_score(t[m], lab[m])), 4),
            "nmi_unclustered_as_group": round(float(normalized_mutual_info_score(t, lab)), 4),
            "ari": round(float(adjusted_rand_score(t[m], lab[m])), 4), "purity": round(float(purity), 4)}


def memberships(engine) -> dict[int, str]:
    from sqlalchemy import select

    from nrtd_nlp.store.models import Cluster, ClusterMember

    with engine.db.session() as s:
        return dict(s.execute(select(ClusterMember.rec_id, ClusterMember.cluster_id)
                              .join(Cluster, Cluster.id == ClusterMember.cluster_id)
                              .where(Cluster.status == "active")).all())


def _as_labels(ids, member_of: dict[int, str]) -> np.ndarray:
    codes: dict[str, int] = {}
    return np.asarray([codes.setdefault(member_of[int(i)], len(codes)) if int(i) in member_of else -1 for i in ids])


def _first_issues(engine, ids) -> list:
    from sqlalchemy import select

    from nrtd_nlp.store.models import Recommendation

    with engine.db.session() as s:
        ex = dict(s.execute(select(Recommendation.id, Recommendation.extra)).all())
    return [((ex.get(int(i)) or {}).get("upr_info_issues") or [None])[0] for i in ids]


def upr(args) -> dict:
    from sklearn.metrics import adjusted_rand_score
    from sqlalchemy import delete, select, update

    from nrtd_nlp.cluster.run import ReclusterParams, centred_vectors, fit_labels
    from nrtd_nlp.ingest.readers import read_file
    from nrtd_nlp.services.clusters import confirm_cluster, get_cluster, list_clusters, recluster
    from nrtd_nlp.services.imports import import_records
    from nrtd_nlp.store.models import LinkGroup, Recommendation

    engine = _engine(args.home)
    out: dict = {}
    params = ReclusterParams(**json.loads(args.params or "{}"))
    ids, X, _ = centred_vectors(engine)
    truth = _first_issues(engine, ids)
    t0 = time.perf_counter()
    runs = {}
    for seed in (() if args.skip_seeds else (0, 1)):
        p = ReclusterParams(**{**params.to_dict(), "seed": seed})
        runs[seed] = fit_labels(X, p).labels_
    if runs:
        out["seconds_two_fits"] = round(time.perf_counter() - t0, 1)
        out["all_records_seed0"] = label_metrics(truth, runs[0])
        both = (runs[0] >= 0) & (runs[1] >= 0)
        out["ari_between_seeds"] = round(float(adjusted_rand_score(runs[0], runs[1])), 4)
        out["ari_between_seeds_clustered_in_both"] = round(float(adjusted_rand_score(runs[0][both],
                                                                                     runs[1][both])), 4)
        print(json.dumps(out, indent=1), flush=True)
    if args.skip_product:
        return out

    # the product path: N records, pin five clusters, add 10 %, re-cluster
    _, raw = read_file(UPR, UPR.read_bytes())
    rng = random.Random(0)
    held = rng.sample(raw, len(raw) // 10)
    held_keys = {r.external_id for r in held}
    with engine.db.session() as s:
        gone = [i for i, e in s.execute(select(Recommendation.id, Recommendation.external_id)
                                        .where(Recommendation.source == held[0].source)) if e in held_keys]
        for start in range(0, len(gone), 900):
            chunk = gone[start : start + 900]
            s.execute(update(LinkGroup).where(LinkGroup.canonical_rec_id.in_(chunk)).values(canonical_rec_id=None))
            s.execute(delete(Recommendation).where(Recommendation.id.in_(chunk)))
    engine._index = None  # the index notices the removed records and rebuilds from the cache
    t0 = time.perf_counter()
    job_a = recluster(engine, params.to_dict(), who="evaluation")
    out["run_a"] = {**job_a["result"], "wall_seconds": round(time.perf_counter() - t0, 1)}
    rows, _ = list_clusters(engine, limit=60)
    chosen = [r["id"] for r in rows[::10]][:5]
    for cid in chosen:
        confirm_cluster(engine, cid, "evaluation")
    pinned_before = {cid: (get_cluster(engine, cid, member_limit=100_000), ) for cid in chosen}
    mem_a = memberships(engine)
    res = import_records(engine, held, fmt="upr-info", actor="evaluation")
    out["added"] = {"records": res.created, "attached_on_import": res.clusters}
    t0 = time.perf_counter()
    job_b = recluster(engine, params.to_dict(), who="evaluation")
    out["run_b"] = {**job_b["result"], "wall_seconds": round(time.perf_counter() - t0, 1)}
    same = 0
    for cid, (before,) in pinned_before.items():
        after = get_cluster(engine, cid, member_limit=100_000)
        same += ({m["id"] for m in after["members"]} == {m["id"] for m in before["members"]}
                 and after["label"] == before["label"] and after["pinned"])
    out["pinned_unchanged"] = f"{same}/{len(pinned_before)}"
    mem_b = memberships(engine)
    common = sorted(set(mem_a) | {int(i) for i in ids if int(i) not in set(gone)})
    common = [i for i in common if i not in set(gone)]
    la, lb = _as_labels(common, mem_a), _as_labels(common, {i: mem_b.get(i) for i in common if i in mem_b})
    kept = [i for i in common if i in mem_a and mem_b.get(i) == mem_a[i]]
    out["n_to_n_plus_10pct"] = {
        "records_in_both": len(common),
        "ari": round(float(adjusted_rand_score(la, lb)), 4),
        "same_cluster_id_share": round(len(kept) / max(sum(i in mem_a for i in common), 1), 4)}
    ids_b, _, _ = centred_vectors(engine)
    out["product_run_b_all_records"] = label_metrics(_first_issues(engine, ids_b), _as_labels(ids_b, mem_b))
    print(json.dumps(out, indent=1), flush=True)
    return out


def uhri(args) -> dict:
    from sqlalchemy import select

    from nrtd_nlp.services.clusters import recluster
    from nrtd_nlp.store.models import Recommendation

    engine = _engine(args.home)
    params = json.loads(args.params or "{}")
    t0 = time.perf_counter()
    job = recluster(engine, params, who="evaluation")
    out: dict = {"run": {**job["result"], "wall_seconds": round(time.perf_counter() - t0, 1)}}
    mem = memberships(engine)
    with engine.db.session() as s:
        recs = s.execute(select(Recommendation.id, Recommendation.translation_group, Recommendation.language,
                                Recommendation.parent_id, Recommendation.extra)
                         .where(Recommendation.source == "uhri")).all()
    groups: dict[str, dict[str, int]] = {}
    for rid, tg, lang, parent, _ in recs:
        if tg:
            groups.setdefault(tg, {})[lang] = rid
    full = {g: m for g, m in groups.items() if len(m) == 6}
    one = sum(len({mem.get(r) for r in m.values()}) == 1 and None not in {mem.get(r) for r in m.values()}
              for m in full.values())
    out["translation_groups"] = {"groups_with_six_languages": len(full),
                                 "all_six_in_one_cluster": round(one / max(len(full), 1), 4),
                                 "top_level_only": _share_top(full, recs, mem)}
    en = [(rid, set((ex or {}).get("theme_ids") or [])) for rid, _, lang, parent, ex in recs
          if lang == "en" and parent is None]
    en = [(r, t) for r, t in en if t]
    tp = fp = fn = 0
    for i in range(len(en)):
        for j in range(i + 1, len(en)):
            (a, ta), (b, tb) = en[i], en[j]
            same_theme = bool(ta & tb)
            co = mem.get(a) is not None and mem.get(a) == mem.get(b)
            tp += same_theme and co
            fp += (not same_theme) and co
            fn += same_theme and not co
    out["theme_co_membership_en"] = {"records": len(en), "precision": round(tp / max(tp + fp, 1), 4),
                                     "recall": round(tp / max(tp + fn, 1), 4),
                                     "base_rate_same_theme": round((tp + fn) / max(len(en) * (len(en) - 1) / 2, 1), 4)}
    print(json.dumps(out, indent=1))
    return out


def _share_top(full: dict, recs, mem) -> float:
    top = {rid for rid, _, _, parent, _ in recs if parent is None}
    groups = [m for m in full.values() if set(m.values()) <= top]
    one = sum(len({mem.get(r) for r in m.values()}) == 1 and None not in {mem.get(r) for r in m.values()}
              for m in groups)
    return round(one / max(len(groups), 1), 4)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", choices=["upr", "uhri"])
    ap.add_argument("--home", required=True, help="a scratch store (it is written to)")
    ap.add_argument("--params", default=None, help='JSON, e.g. {"min_cluster_size": 15}')
    ap.add_argument("--skip-product", action="store_true", help="upr: only the in-memory quality and seeds")
    ap.add_argument("--skip-seeds", action="store_true", help="upr: only the product path")
    args = ap.parse_args()
    upr(args) if args.corpus == "upr" else uhri(args)


if __name__ == "__main__":
    main()
