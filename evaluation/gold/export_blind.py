"""Export the UPR gold pairs for a blind second labelling.

    python evaluation/gold/export_blind.py [--gold upr_pairs.csv] [--out /tmp/links/blind.csv] [--seed 7]
        [--ids u001-u120]

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


def export(gold: Path, corpus: Path, out: Path, seed: int = 7, ids: tuple[str, str] | None = None) -> int:
    from nrtd_nlp.ingest.readers import read_file

    if out.resolve().is_relative_to(ROOT):
        raise SystemExit(f"refusing to write texts inside the repository: {out}")
    _, recs = read_file(corpus)
    by = {r.external_id: r.text for r in recs}
    rows = list(csv.DictReader(open(gold, encoding="utf-8")))
    if ids is not None:
        rows = [r for r in rows if ids[0] <= r["pair_id"] <= ids[1]]
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
    ap.add_argument("--gold", default="upr_pairs.csv", help="a pair file in evaluation/gold/")
    ap.add_argument("--out", type=Path, default=Path("/tmp/links/blind.csv"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--ids", default=None, help="an inclusive pair-id range, e.g. u001-u120")
    args = ap.parse_args()
    ids = tuple(args.ids.split("-", 1)) if args.ids else None
    n = export(HERE / args.gold, UPR, args.out, args.seed, ids)
    print(f"{n} pairs -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
