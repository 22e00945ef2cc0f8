"""Time computing every link of a store whose embeddings are already cached (2 cores).

    python benchmarks/links.py --home /path/to/store [--k 10]

Build the store first, e.g. `python benchmarks/import_upr.py --embed --home /tmp/upr36k`.
Prints the stages' times, candidate pairs, links per kind, groups and peak RSS; a second run
shows that group ids are stable (share of links keeping their group).
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True)
    ap.add_argument("--k", type=int, default=10)
    args = ap.parse_args()
    from sqlalchemy import select

    from nrtd_nlp.config import Settings, get_settings
    from nrtd_nlp.link.service import compute_links
    from nrtd_nlp.services.context import Engine
    from nrtd_nlp.store.models import Link

    t0 = time.perf_counter()
    engine = Engine(Settings(home=Path(args.home), cache_dir=get_settings().cache_dir))
    n = len(engine.index)
    t_index = time.perf_counter() - t0
    print(f"index: {n} vectors loaded or built in {t_index:.1f} s ({engine.embedder.model_id})")
    print(f"{'run':6} {'records':>8} {'candidates':>10} {'duplicate':>9} {'follows_up':>10} {'related':>8} "
          f"{'groups':>7} {'seconds':>8} {'peak RSS MB':>11}")
    before = None
    for run in ("first", "again"):
        r = compute_links(engine, k=args.k)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{run:6} {r.records:8d} {r.candidates:10d} {r.duplicate:9d} {r.follows_up:10d} {r.related:8d} "
              f"{r.groups:7d} {r.seconds:8.1f} {rss:11.0f}")
        with engine.db.session() as s:
            groups = {(a, b, k): g for a, b, k, g in s.execute(select(Link.rec_a, Link.rec_b, Link.kind, Link.group_id))
                      if g}
        if before is not None:
            same = sum(1 for key, g in groups.items() if before.get(key) == g)
            print(f"group ids kept between runs: {same}/{len(groups)} links")
        before = groups


if __name__ == "__main__":
    main()
