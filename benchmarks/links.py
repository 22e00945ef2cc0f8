"""Time computing every link of a store whose embeddings are already cached (2 cores).

    python benchmarks/links.py --home /path/to/store [--k 10]

Build the store first, e.g. `python benchmarks/import_upr.py --embed --home /tmp/upr36k`.
Prints the stages' times, candidate pairs, links per kind, groups, the pairs the bundle's pair encoder
re-read (`NRTD_LINK_PAIR_ENCODER=false`: none) and peak RSS; a second run
shows that group ids are stable (share of links keeping their group).

    python benchmarks/links.py --home /path/to/COPY --import-new 20

times instead an import of 20 new records into the store, as the next UPR session would bring
them: 20 session-18 rows of the UPR Info export, re-dated to a session 19 of a new cycle (same
texts, so their vectors are cached and the time is the import's own work, linking included).
It writes to the store: give it a copy (`cp -r /tmp/upr36k /tmp/copy`).
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
    ap.add_argument("--import-new", type=int, default=0, help="time an import of N new records instead")
    args = ap.parse_args()
    if args.import_new:
        import_new(Path(args.home), args.import_new)
        return
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
          f"{'groups':>7} {'re-read':>7} {'read now':>8} {'seconds':>8} {'peak RSS MB':>11}")
    before = None
    for run in ("first", "again"):
        r = compute_links(engine, k=args.k)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{run:6} {r.records:8d} {r.candidates:10d} {r.duplicate:9d} {r.follows_up:10d} {r.related:8d} "
              f"{r.groups:7d} {r.refined:7d} {r.read_now:8d} {r.seconds:8.1f} {rss:11.0f}")
        with engine.db.session() as s:
            groups = {(a, b, k): g for a, b, k, g in s.execute(select(Link.rec_a, Link.rec_b, Link.kind, Link.group_id))
                      if g}
        if before is not None:
            same = sum(1 for key, g in groups.items() if before.get(key) == g)
            print(f"group ids kept between runs: {same}/{len(groups)} links")
        before = groups


def import_new(home: Path, n: int) -> None:
    import csv
    import tempfile

    from nrtd_nlp.config import Settings, get_settings
    from nrtd_nlp.services.context import Engine
    from nrtd_nlp.services.imports import import_file

    upr = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "upr-info" / "upr_info_sessions01-18.csv"
    with open(upr, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        header, rows = reader.fieldnames, [r for r in reader if r["Session"] == "18"]
    step = max(1, len(rows) // n)
    t0 = time.perf_counter()
    engine = Engine(Settings(home=home, cache_dir=get_settings().cache_dir))
    n_index = len(engine.index)
    print(f"store of {n_index} vectors opened in {time.perf_counter() - t0:.1f} s")
    for run in range(2):  # the first import may fit the store's TF-IDF state; the second reuses it
        picked = [dict(r) for r in rows[run::step][:n]]
        for r in picked:
            r["Session"], r["cycle"] = "19", str(int(r["cycle"] or 3) + 1)
        path = Path(tempfile.mkdtemp(prefix="nrtd-links-")) / "upr_session19.csv"
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=header)
            w.writeheader()
            w.writerows(picked)
        t0 = time.perf_counter()
        res = import_file(engine, path, source="upr-info")
        total = time.perf_counter() - t0
        lk = res.links or {}
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"import {run + 1}: {res.rows_read} new records ({res.created} created, {res.embedded} embedded): "
              f"{total:.1f} s in all, linking {lk.get('seconds', float('nan')):.1f} s ({lk.get('candidates')} "
              f"candidate pairs, {lk.get('refined', 0)} re-read by the pair encoder "
              f"({lk.get('read_now', 0)} read now), "
              f"{lk.get('duplicate')} duplicate, {lk.get('follows_up')} follows_up, "
              f"{lk.get('related')} related); peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
