"""The UPR gold pairs scored as a national store would score them: its TF-IDF fitted on the records of
one State under review (69-438 texts), not on the 36k-record corpus the scorer learnt on.

Three ways to weigh words, same cross-validation as ``evaluation.duplicates`` (the heads always train
on corpus-IDF features, as the shipped scorer did; only the tested pairs' features change):
- ``corpus``: IDF from the whole corpus (how the scorer was trained and evaluated);
- ``store_alone``: IDF from the State's own records (the product before the reference IDF);
- ``reference_pooled``: the product now, the reference pooled with the store per language, with the
  reference built from the corpus *without* that State, so the store's texts are new to it.

    python -m evaluation.duplicates_store_scale [--json]
"""

from __future__ import annotations

import argparse
import collections
import json

import numpy as np

from .duplicates import GOLD, UPR


def small_stores(embedder, repeats: int = 5) -> dict:
    from nrtd_nlp.link.features import FEATURES
    from nrtd_nlp.link.idf import fit_vectorizer
    from nrtd_nlp.link.pairs import featurize, fit_tfidf
    from nrtd_nlp.link.reference_idf import Reference, document_frequencies
    from nrtd_nlp.link.scorer import CLASSES
    from nrtd_nlp.link.train import (TRAINING_PAIR_FILES, TREES_WEIGHT, _corpus_records, cv_probabilities,
                                     load_gold, load_pairs, read_pairs, repeat_spread)

    from .crosslingual import cached_encode

    rows = read_pairs(GOLD / "upr_pairs.csv", "gold", ("pair_id", "id_a", "id_b", "state_under_review", "label"))
    ta, tb, y, corpus = load_gold(GOLD / "upr_pairs.csv", UPR)
    va, vb = cached_encode(embedder, ta), cached_encode(embedder, tb)
    X = featurize(embedder, fit_tfidf(corpus), ta, tb, va, vb)
    ea, eb, ye = load_pairs([GOLD / f for f in TRAINING_PAIR_FILES], UPR)
    Xe = featurize(embedder, fit_tfidf(corpus), ea, eb, cached_encode(embedder, ea), cached_encode(embedder, eb))

    recs = _corpus_records(UPR)
    by_state: dict[str, list[str]] = collections.defaultdict(list)
    for r in recs:
        by_state[str(r.country).lower()].append(r.text)
    full_df = document_frequencies(r.text for r in recs)
    keys = [r["state_under_review"].lower() for r in rows]
    X_alone, X_pooled = np.zeros_like(X), np.zeros_like(X)
    sizes = []
    for k in sorted(set(keys)):
        idx = [i for i, kk in enumerate(keys) if kk == k]
        store = by_state[k]
        sizes.append(len(store))
        own = document_frequencies(store)
        ref = Reference({"en": len(recs) - len(store)},
                        {"en": {t: n - own.get(t, 0) for t, n in full_df.items() if n - own.get(t, 0) >= 2}}, "", [])
        for out, reference in ((X_alone, None), (X_pooled, ref)):
            vec = fit_vectorizer(store, ["en"] * len(store), reference)
            out[idx] = featurize(embedder, vec, [ta[i] for i in idx], [tb[i] for i in idx], va[idx], vb[idx])

    def cv(X_test: np.ndarray) -> dict:
        reps: list = []
        cv_probabilities(X, y, FEATURES, repeats, Xe, ye, reps, duplicate_head=True, X_eval=X_test,
                         trees_weight=TREES_WEIGHT)
        spread = repeat_spread(y, reps)
        out = {"duplicate_precision_at_recall_0.90": {k: spread["duplicate_precision_at_recall_0.90"][k]
                                                      for k in ("mean", "sd")}}
        for c in CLASSES:
            out[c] = {m: spread[c][m]["mean"] for m in ("precision", "recall", "f1")}
        return out

    fi = FEATURES.index("tfidf_cos")
    return {"states": len(sizes), "store_sizes": [min(sizes), max(sizes)], "pairs": len(y), "repeats": repeats,
            "corpus": cv(X),
            "store_alone": {**cv(X_alone), "mean_abs_tfidf_cos_shift": round(float(np.abs(X_alone[:, fi] - X[:, fi]).mean()), 4)},
            "reference_pooled": {**cv(X_pooled),
                                 "mean_abs_tfidf_cos_shift": round(float(np.abs(X_pooled[:, fi] - X[:, fi]).mean()), 4)}}


def print_table(res: dict) -> None:
    print(f"(b) UPR pairs scored in {res['states']} one-State stores ({res['store_sizes'][0]}-{res['store_sizes'][1]} "
          f"records), {res['repeats']} x 5-fold:")
    print(f"{'IDF':18} {'dup P@R.90':>10} {'rel P':>6} {'rel R':>6} {'diff R':>6} {'|Δ tfidf_cos|':>13}")
    for name in ("corpus", "store_alone", "reference_pooled"):
        r = res[name]
        print(f"{name:18} {r['duplicate_precision_at_recall_0.90']['mean']:10.3f} {r['related']['precision']:6.3f} "
              f"{r['related']['recall']:6.3f} {r['different']['recall']:6.3f} {r.get('mean_abs_tfidf_cos_shift', 0):13.4f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from nrtd_nlp.embed.base import get_embedder

    res = small_stores(get_embedder("e5-use"))
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        print_table(res)


if __name__ == "__main__":
    main()
