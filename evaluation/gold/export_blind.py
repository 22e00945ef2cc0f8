"""Export the UPR gold pairs for a blind second labelling.

    python evaluation/gold/export_blind.py [--out /tmp/links/blind.csv] [--seed 7]

The file holds ONLY the pair id, the State under review, the session and the two texts, in a
shuffled order: no label, no reason, no cosine, no model score, so a second reader labels every
pair from the texts alone. Texts stay outside the repository (corpus licence); the script refuses
an output path inside it.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
UPR = ROOT.parent / "shared" / "corpora" / "upr-info" / "upr_info_sessions01-18.csv"


def export(gold: Path, corpus: Path, out: Path, seed: int = 7) -> int:
    from nrtd_nlp.ingest.readers import read_file

    if out.resolve().is_relative_to(ROOT):
        raise SystemExit(f"refusing to write texts inside the repository: {out}")
    _, recs = read_file(corpus)
    by = {r.external_id: r.text for r in recs}
    rows = list(csv.DictReader(open(gold, encoding="utf-8")))
    random.Random(seed).shuffle(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["pair_id", "state_under_review", "session", "text_a", "text_b"])
        for r in rows:
            w.writerow([r["pair_id"], r["state_under_review"], r["session"], by[r["id_a"]], by[r["id_b"]]])
    return len(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("/tmp/links/blind.csv"))
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    n = export(HERE / "upr_pairs.csv", UPR, args.out, args.seed)
    print(f"{n} pairs -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
