"""Embedding throughput and peak memory on real UPR recommendations (2 cores).

    python benchmarks/embed.py [--n 2000] [--embedders e5-small,e5-small-int8] [--threads 2]

Prints a table: texts/s, mean tokens, peak RSS, and agreement of each embedder with the first one
(mean / min cosine on the same texts), so a faster variant is only used where quality holds.
Reads ../shared/corpora/upr-info (real texts); falls back to the shipped demo corpus.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
UPR = ROOT.parent / "shared" / "corpora" / "upr-info" / "upr_info_sessions01-18.csv"


def load_texts(n: int) -> list[str]:
    if UPR.exists():
        from nrtd_nlp.ingest.readers import read_file

        _, recs = read_file(UPR)
        step = max(1, len(recs) // n)
        return [r.text for r in recs[::step][:n]]
    with open(ROOT / "nrtd_nlp/corpora/demo/demo_recommendations.csv", encoding="utf-8") as f:
        texts = [r["text"] for r in csv.DictReader(f)]
    return (texts * (n // len(texts) + 1))[:n]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--embedders", default="e5-small,e5-small-int8")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    from nrtd_nlp.embed.base import get_embedder

    texts = load_texts(args.n)
    rows, ref = [], None
    for name in args.embedders.split(","):
        t0 = time.perf_counter()
        emb = get_embedder(name, threads=args.threads)
        load_s = time.perf_counter() - t0
        emb.encode(texts[:16])  # warm-up
        t0 = time.perf_counter()
        v = emb.encode(texts)
        dt = time.perf_counter() - t0
        toks = np.mean([len(emb.model.tokenizer(emb.prefix + t)["input_ids"]) for t in texts[:500]])
        if ref is None:
            ref, agree = v, (1.0, 1.0)
        else:
            c = (ref * v).sum(1)
            agree = (float(c.mean()), float(c.min()))
        rows.append((name, emb.model_id, len(texts), dt, len(texts) / dt, toks, load_s, peak_rss_mb(), *agree))
        del emb
    print(f"{'embedder':16} {'texts':>6} {'seconds':>8} {'texts/s':>8} {'tokens':>7} {'load s':>7} "
          f"{'peak RSS MB':>11} {'cos mean':>9} {'cos min':>8}")
    for name, _mid, n, dt, tps, toks, load_s, rss, cm, cmin in rows:
        print(f"{name:16} {n:6d} {dt:8.1f} {tps:8.1f} {toks:7.1f} {load_s:7.1f} {rss:11.0f} {cm:9.4f} {cmin:8.4f}")
    print(f"threads={args.threads} python={sys.version.split()[0]} (peak RSS is cumulative across rows)")


if __name__ == "__main__":
    main()
