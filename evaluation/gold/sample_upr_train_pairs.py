"""Sample extra UPR pairs for TRAINING the link scorer (never for its evaluation).

    python evaluation/gold/sample_upr_train_pairs.py [--out /tmp/links/train_candidates.csv] [--n-pairs 240]
    python evaluation/gold/sample_upr_train_pairs.py --seed 20261124 --prefix u --out /tmp/links2/candidates.csv
    python evaluation/gold/sample_upr_train_pairs.py --seed 20261125 --prefix h --out /tmp/links3/candidates.csv
    python evaluation/gold/sample_upr_train_pairs.py --seed 20261126 --prefix v --groups 90 --n-pairs 720 \
        --out /tmp/links4/candidates.csv
    python evaluation/gold/sample_upr_train_pairs.py --seed 20261127 --prefix w --groups 57 --n-pairs 480 \
        --out /tmp/links5/candidates.csv

A later draw (``--seed``, pair ids starting with ``--prefix``) also leaves out the groups of every earlier
draw (``PRIOR_DRAWS``: the files with a smaller seed), so no group is drawn twice and each draw stays
reproducible.

Same kind of pair as the gold set (``sample_upr_pairs.py``): two recommendations to the same State
under review in the same session from different recommending States. But the groups are drawn
only among the (State, session) groups that the gold set does NOT use, so no evaluation pair, and
no group the evaluation pairs come from, is ever trained on. The draw leans to the upper similarity
range, where duplicates, partial overlaps and related asks meet: by USE cosine, 35 % >= 0.85,
35 % in [0.69, 0.85), 20 % in [0.54, 0.69), 10 % below. Pairs with identical texts are skipped (the
gold set has enough of them). Each draw picks a group first, then a pair, as in the gold sampling.

Texts go to --out (outside the repository); the labels go to ``upr_pairs_train.csv`` with ids only.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from sample_upr_pairs import load_groups  # noqa: E402
from sampling import embed_use, outside_repo, quotas  # noqa: E402

SEED = 20261123
PRIOR_DRAWS = {"upr_pairs_train.csv": SEED, "upr_pairs_train2.csv": 20261124, "upr_pairs_test.csv": 20261125,
               "upr_pairs_train3.csv": 20261126, "upr_pairs_test2.csv": 20261127}
N_GROUPS = 30
EDGES = [-1.0, 0.54, 0.69, 0.85, 1.01]
SHARE = [0.10, 0.20, 0.35, 0.35]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/links/train_candidates.csv")
    ap.add_argument("--n-pairs", type=int, default=240)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--prefix", default="t", help="pair ids: PREFIX001, ...")
    ap.add_argument("--groups", type=int, default=N_GROUPS, help="(State, session) groups to draw")
    args = ap.parse_args()
    out = outside_repo(args.out)
    gold = {(r["state_under_review"], int(r["session"])) for r in csv.DictReader(open(HERE / "upr_pairs.csv"))}
    for name, seed in PRIOR_DRAWS.items():  # a later draw: not the groups of an earlier one either
        if seed < args.seed:
            gold |= {(r["state_under_review"], int(r["session"])) for r in csv.DictReader(open(HERE / name))}
    groups = {k: v for k, v in load_groups().items() if k not in gold}
    rng = random.Random(args.seed)
    picked = rng.sample(sorted(groups), args.groups)
    recs = [r for k in picked for r in groups[k]]
    vec = embed_use([r.text for r in recs])
    by_bin: list[dict[int, list]] = [{} for _ in SHARE]
    start = 0
    for gi, k in enumerate(picked):
        n = len(groups[k])
        idx = np.arange(start, start + n)
        sims = vec[idx] @ vec[idx].T
        for a in range(n):
            for b in range(a + 1, n):
                ra, rb = recs[idx[a]], recs[idx[b]]
                if ra.recommending_state == rb.recommending_state or ra.text.strip() == rb.text.strip():
                    continue
                c = float(sims[a, b])
                bi = int(np.searchsorted(EDGES, c, side="right") - 1)
                by_bin[bi].setdefault(gi, []).append((c, int(idx[a]), int(idx[b])))
        start += n
    chosen = []
    for bi, q in enumerate(quotas(args.n_pairs, SHARE)):
        pool = {g: rng.sample(v, len(v)) for g, v in sorted(by_bin[bi].items())}
        for _ in range(q):
            live = sorted(g for g, v in pool.items() if v)
            if not live:
                break
            chosen.append(pool[rng.choice(live)].pop())
    rng.shuffle(chosen)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["pair_id", "id_a", "id_b", "state_under_review", "session", "use_cosine", "text_a", "text_b"])
        for n, (c, i, j) in enumerate(chosen, 1):
            a, b = recs[i], recs[j]
            w.writerow([f"{args.prefix}{n:03d}", a.external_id, b.external_id, a.country, int(a.session), round(c, 4),
                        a.text, b.text])
    print(f"{len(groups)} groups outside the gold set; picked {args.groups}; wrote {len(chosen)} pairs to {out}")


if __name__ == "__main__":
    main()
