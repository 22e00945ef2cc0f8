"""Time re-clustering a store whose embeddings are already cached (2 cores), through the job path.

    python benchmarks/cluster.py --home /path/to/scratch-copy [--runs 2] [--params '{"n_clusters": 27}']

The store is written to (clusters, members, a job row): use a copy, e.g. of the 36,381-record
UPR Info store. Prints each stage's time (vectors, reduce, cluster, labels, commit), clusters,
unclustered records, ids kept from the previous run, and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True)
    ap.add_argument("--runs", type=int, default=2, help="the second run shows id stability and the warm time")
    ap.add_argument("--params", default=None, help="JSON parameters, e.g. '{\"min_cluster_size\": 15}'")
    args = ap.parse_args()

    from nrtd_nlp.config import Settings, get_settings
    from nrtd_nlp.services.clusters import recluster
    from nrtd_nlp.services.context import Engine

    t0 = time.perf_counter()
    engine = Engine(Settings(home=Path(args.home), cache_dir=get_settings().cache_dir))
    n = len(engine.index)
    print(f"index: {n} vectors loaded in {time.perf_counter() - t0:.1f} s ({engine.embedder.model_id})")
    stages = ("vectors", "reduce", "cluster", "labels", "commit")
    print(f"{'run':4} {'records':>8} " + " ".join(f"{s:>8}" for s in stages)
          + f" {'total s':>8} {'clusters':>8} {'unclust.':>8} {'ids kept':>8} {'peak RSS MB':>11}")
    for run in range(1, args.runs + 1):
        marks: list[tuple[str, float]] = []
        start = time.perf_counter()
        job = recluster(engine, json.loads(args.params or "{}"), who="benchmark",
                        on_progress=lambda stage, _f: marks.append((stage, time.perf_counter())))
        total = time.perf_counter() - start
        times = {}
        for (stage, t), (_, t_next) in zip(marks, marks[1:]):
            times[stage] = times.get(stage, 0.0) + (t_next - t)
        r = job["result"]
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{run:4d} {r['records']:8d} " + " ".join(f"{times.get(s, 0.0):8.1f}" for s in stages)
              + f" {total:8.1f} {r['clusters']:8d} {r['unclustered']:8d} {r['kept_ids']:8d} {rss:11.0f}")


if __name__ == "__main__":
    main()
