"""Embedding throughput and peak memory on real UPR recommendations (2 cores).

    python benchmarks/embed.py [--n 2000] [--embedders e5-small,e5-small-int8,use-m3,e5-use] [--threads 2]

Each embedder runs in its own process (so peak RSS is its own). Prints a table: load time,
texts/s, mean tokens (e5 tokenizer), peak RSS, and agreement with the first embedder of the same
dimension (mean / min cosine on the same texts), so a faster variant is only used where quality holds.
Reads ../shared/corpora/upr-info (real texts, evenly spaced rows); falls back to the demo corpus.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
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


def run_one(name: str, n: int, threads: int, out: Path) -> None:
    from nrtd_nlp.embed.base import get_embedder

    texts = load_texts(n)
    t0 = time.perf_counter()
    emb = get_embedder(name, threads=threads)
    load_s = time.perf_counter() - t0
    emb.encode(texts[:16])  # warm-up
    t0 = time.perf_counter()
    v = emb.encode(texts)
    secs = time.perf_counter() - t0
    tok = getattr(getattr(emb, "model", None), "tokenizer", None)
    toks = float(np.mean([len(tok(t)["input_ids"]) for t in texts[:500]])) if callable(tok) else float("nan")
    np.save(out.with_suffix(".npy"), v)
    out.write_text(json.dumps({"name": name, "model_id": emb.model_id, "n": len(texts), "secs": secs,
                               "load_s": load_s, "tokens": toks, "dim": int(v.shape[1]),
                               "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--embedders", default="e5-small,e5-small-int8,use-m3,e5-use")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        run_one(args.one, args.n, args.threads, Path(args.out))
        return
    tmp = Path(tempfile.mkdtemp(prefix="nrtd-bench-embed-"))
    rows, vecs = [], {}
    for name in args.embedders.split(","):
        out = tmp / f"{name}.json"
        subprocess.run([sys.executable, __file__, "--one", name, "--n", str(args.n), "--threads",
                        str(args.threads), "--out", str(out)], check=True)
        r = json.loads(out.read_text())
        vecs[name] = np.load(out.with_suffix(".npy"))
        rows.append(r)
    print(f"{'embedder':15} {'dim':>4} {'texts':>6} {'load s':>7} {'seconds':>8} {'texts/s':>8} {'tokens':>7} "
          f"{'peak RSS MB':>11} {'cos vs ref':>14}")
    for r in rows:
        ref = next(x["name"] for x in rows if x["dim"] == r["dim"])
        c = (vecs[ref] * vecs[r["name"]]).sum(1)
        agree = "ref" if ref == r["name"] else f"{c.mean():.4f}/{c.min():.3f}"
        print(f"{r['name']:15} {r['dim']:4d} {r['n']:6d} {r['load_s']:7.1f} {r['secs']:8.1f} "
              f"{r['n'] / r['secs']:8.1f} {r['tokens']:7.1f} {r['rss_mb']:11.0f} {agree:>14}")
    print(f"threads={args.threads}; 'cos vs ref': mean/min cosine to the first embedder of the same dimension")


if __name__ == "__main__":
    main()
