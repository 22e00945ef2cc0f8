"""Import the 36,381-row UPR Info export into a fresh store twice; print time, peak memory, rows.

    python benchmarks/import_upr.py [--embed]

Without --embed only reading, normalising, language detection and storing are timed; embedding
is measured separately by benchmarks/embed.py.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UPR = ROOT.parent / "shared" / "corpora" / "upr-info" / "upr_info_sessions01-18.csv"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--embed", action="store_true")
    ap.add_argument("--file", default=str(UPR))
    ap.add_argument("--home", default=None, help="data folder to keep (default: a new temporary one)")
    args = ap.parse_args()
    from nrtd_nlp.config import Settings
    from nrtd_nlp.services.context import Engine
    from nrtd_nlp.services.imports import import_file
    from nrtd_nlp.services.stats import stats

    home = Path(args.home) if args.home else Path(tempfile.mkdtemp(prefix="nrtd-bench-"))
    engine = Engine(Settings(home=home))
    print(f"{'run':8} {'rows':>7} {'created':>8} {'unchanged':>9} {'embedded':>8} {'seconds':>8} {'peak RSS MB':>11}")
    for run in ("first", "again"):
        t0 = time.perf_counter()
        r = import_file(engine, args.file, embed=args.embed)
        dt = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{run:8} {r.rows_read:7d} {r.created:8d} {r.unchanged:9d} {r.embedded:8d} {dt:8.1f} {rss:11.0f}")
    st = stats(engine, with_index=False)
    print(f"stored: {st['recommendations']} recommendations; languages: {st['by_language']}")
    print(f"database: {(home / 'nrtd.db').stat().st_size / 1e6:.1f} MB at {home}")


if __name__ == "__main__":
    main()
