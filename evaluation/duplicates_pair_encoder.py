"""The pair encoder (nrtd_nlp/link/pair_encoder.py) on the gold pairs (b), out of fold.

For each fold of the shipped CV (stratified 5-fold, seeds 0, 1, ...: the same splits as
``python -m evaluation.duplicates``), the scorer's recipe and a pair encoder are both trained on the
fold's gold training part plus the training pair files, and the fold's gold pairs are scored three ways:
the scorer alone, the scorer with the encoder averaged in where it can change a decision (as links are
computed), and averaged in everywhere. Duplicate precision at recall 0.90, average precision, and per-kind
P/R/F1 at the shipped thresholds. The unseen test files are scored with the shipped bundle by
``python -m evaluation.duplicates`` (b').

    python -m evaluation.duplicates_pair_encoder [--repeats 1] [--epochs 4] [--backbone e5-small] [--json]

Costly: a pair encoder per fold, ~7 minutes each on 2 cores (35 minutes a repeat).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from .duplicates import GOLD, UPR


def run(repeats: int = 1, epochs: int = 4, weight: float = 0.25, backbone: str = "e5-small", log=print) -> dict:
    from sklearn.metrics import average_precision_score
    from sklearn.model_selection import StratifiedKFold

    from nrtd_nlp.embed.base import get_embedder
    from nrtd_nlp.link.pair_encoder import PairEncoder
    from nrtd_nlp.link.pairs import featurize, fit_tfidf
    from nrtd_nlp.link.scorer import CLASSES, PairScorer
    from nrtd_nlp.link.train import (DUPLICATE_HEAD, FEATURES, TRAINING_PAIR_FILES, TREES_WEIGHT, cv_probabilities,
                                     load_gold, load_pairs, p_at_recall, per_class)

    from .crosslingual import cached_encode

    embedder = get_embedder("e5-use")
    shipped = PairScorer.load()
    ta, tb, y, corpus = load_gold(GOLD / "upr_pairs.csv", UPR)
    tfidf = fit_tfidf(corpus)
    X = featurize(embedder, tfidf, ta, tb, cached_encode(embedder, ta), cached_encode(embedder, tb))
    ea, eb, ye = load_pairs([GOLD / f for f in TRAINING_PAIR_FILES], UPR)
    Xe = featurize(embedder, tfidf, ea, eb, cached_encode(embedder, ea), cached_encode(embedder, eb))
    reps: list = []
    cv_probabilities(X, y, FEATURES, repeats, Xe, ye, reps, duplicate_head=DUPLICATE_HEAD,
                     trees_weight=TREES_WEIGHT if DUPLICATE_HEAD else 0.0)
    th = shipped.meta["thresholds"]
    isd, d = y == "duplicate", CLASSES.index("duplicate")
    names = np.asarray(CLASSES)
    out: dict = {"pairs": len(y), "training_pairs": len(ye), "weight": weight, "epochs": epochs, "backbone": backbone,
                 "thresholds": th, "repeats": []}
    t0 = time.time()
    for seed in range(repeats):
        C = np.zeros((len(y), len(CLASSES)))
        for f, (tr, te) in enumerate(StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y)):
            pe = PairEncoder(backbone=backbone, epochs=epochs, weight=weight).fit(
                [ta[i] for i in tr] + list(ea), [tb[i] for i in tr] + list(eb), np.concatenate([y[tr], ye]))
            C[te] = pe.predict_proba([ta[i] for i in te], [tb[i] for i in te])
            log(f"repeat {seed} fold {f}: {time.time() - t0:.0f} s")
        P0 = reps[seed]
        shipped.pair_encoder = pe  # the band as links are computed: the rows PairScorer.band_rows picks
        band = np.zeros(len(y), bool)
        band[shipped.band_rows(P0, np.ones(len(y), bool))] = True
        Pb = P0.copy()
        Pb[band] = (1 - weight) * P0[band] + weight * C[band]
        variants = {"scorer alone": P0, "pair encoder alone": C, "averaged in the band (as shipped)": Pb,
                    "averaged everywhere": (1 - weight) * P0 + weight * C}
        rep = {"seed": seed, "refined": int(band.sum())}
        for k, P in variants.items():
            pred = np.where(P[:, d] >= th["duplicate"], "duplicate",
                            np.where(P[:, CLASSES.index("related")] >= th["related"], "related", "different"))
            rep[k] = {"duplicate_precision_at_recall_0.90": p_at_recall(isd, P[:, d]),
                      "duplicate_average_precision": round(float(average_precision_score(isd, P[:, d])), 4),
                      "at_thresholds": per_class(y, pred), "argmax": per_class(y, names[P.argmax(1)])}
        out["repeats"].append(rep)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=4, help="the shipped encoder's 4; fewer for a quick look")
    ap.add_argument("--backbone", default="e5-small", help="e5-small (shipped); minilm-test (English, a smoke run)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    res = run(args.repeats, args.epochs, backbone=args.backbone, log=(lambda *a: None) if args.json else print)
    if args.json:
        print(json.dumps(res, indent=1))
        return
    print(f"(b) {res['pairs']} gold pairs out of fold ({res['training_pairs']} training pairs in every fold); "
          f"thresholds {res['thresholds']}")
    for rep in res["repeats"]:
        print(f"repeat {rep['seed']}: {rep['refined']} pairs in the band")
        for k, r in rep.items():
            if not isinstance(r, dict):
                continue
            at = r["at_thresholds"]
            print(f"  {k:34} P@R.90 {r['duplicate_precision_at_recall_0.90']:.4f} AP "
                  f"{r['duplicate_average_precision']:.4f} | at thresholds " + ", ".join(
                      f"{c} P {at[c]['precision']:.3f} R {at[c]['recall']:.3f}" for c in ("duplicate", "related",
                                                                                        "different")))


if __name__ == "__main__":
    main()
