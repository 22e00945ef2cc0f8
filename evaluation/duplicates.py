"""Duplicate, follow-up and translation links on real labelled data.

    python -m evaluation.duplicates [--json]

(b) UPR pairs (evaluation/gold/upr_pairs.csv, 340 pairs read by two readers independently, the
    disagreements adjudicated): cross-validated per-kind precision / recall / F1 and the duplicate
    precision-recall curve, as recorded in the scorer's manifest when it was trained (`nrtd
    train-links`); the readers' agreement and kappa; and the same repeated CV (mean ± sd over
    repeats) against the adjudicated labels AND the original single-reader labels (`label_1`).
(b') Test UPR pairs (evaluation/gold/upr_pairs_test.csv, upr_pairs_test2.csv): 240 and 480 pairs from 30 and
    57 other groups, each read blind twice, disagreements adjudicated, never trained on: the shipped scorer's
    figures, and the recipe with and without trees, against the adjudicated and the first-reading labels.
(c) Cycle 1 -> cycle 2 follow-up pairs (evaluation/gold/upr_followups.csv): the even-numbered half
    trains the follow-up head and tunes its threshold; the odd half, never seen, is scored here.
(a) UHRI translations: the share of (English, other-language) translation pairs the cross-lingual
    head calls duplicates without being told they are translations, and the share of random
    cross-lingual non-translation pairs it wrongly calls duplicates.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
UPR = CORPORA / "upr-info" / "upr_info_sessions01-18.csv"
GOLD = Path(__file__).parent / "gold"


def prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / max(1, tp + fp)
    r = tp / max(1, tp + fn)
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / max(p + r, 1e-9), 4),
            "tp": tp, "fp": fp, "fn": fn}


def agreement() -> dict:
    """The two independent readings of the UPR pairs: raw agreement and Cohen's kappa, and each
    reader against the adjudicated label; plus the adjudicated changes (old -> new label)."""
    import collections

    rows = list(csv.DictReader(open(GOLD / "upr_pairs.csv", encoding="utf-8")))

    def kappa(a: list[str], b: list[str]) -> tuple[float, float]:
        n = len(a)
        po = sum(x == y for x, y in zip(a, b)) / n
        ca, cb = collections.Counter(a), collections.Counter(b)
        pe = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / n / n
        return round(po, 4), round((po - pe) / (1 - pe), 4)

    l1, l2, adj = ([r[c] for r in rows] for c in ("label_1", "label_2", "label"))
    out = {"pairs": len(rows)}
    for name, (a, b) in {"reader1_vs_reader2": (l1, l2), "reader1_vs_adjudicated": (l1, adj),
                         "reader2_vs_adjudicated": (l2, adj)}.items():
        po, k = kappa(a, b)
        out[name] = {"agreement": po, "kappa": k}
    out["disagreements"] = sum(x != y for x, y in zip(l1, l2))
    out["changed_from_original"] = {f"{a}->{b}": n for (a, b), n in sorted(collections.Counter(
        (x, y) for x, y in zip(l1, adj) if x != y).items())}
    out["counts"] = {c: dict(collections.Counter(v)) for c, v in (("label_1", l1), ("label_2", l2), ("label", adj))}
    return out


def upr_cv(embedder, column: str, repeats: int = 5) -> dict:
    """Repeated stratified 5-fold CV of the shipped recipe (features, logistic head, extra training
    pairs in every training fold) against one label column of the UPR gold pairs."""
    from nrtd_nlp.link.pairs import featurize, fit_tfidf
    from nrtd_nlp.link.scorer import CLASSES
    from nrtd_nlp.link.train import (DUPLICATE_HEAD, FEATURES, TRAINING_PAIR_FILES, TREES_WEIGHT, cv_probabilities,
                                     load_gold, load_pairs, per_class, repeat_spread)

    from .crosslingual import cached_encode

    ta, tb, y, corpus = load_gold(GOLD / "upr_pairs.csv", UPR, column)
    tfidf = fit_tfidf(corpus)
    X = featurize(embedder, tfidf, ta, tb, cached_encode(embedder, ta), cached_encode(embedder, tb))
    Xe = ye = None
    if TRAINING_PAIR_FILES:
        ea, eb, ye = load_pairs([GOLD / f for f in TRAINING_PAIR_FILES], UPR)
        Xe = featurize(embedder, tfidf, ea, eb, cached_encode(embedder, ea), cached_encode(embedder, eb))
    reps: list = []
    P = cv_probabilities(X, y, FEATURES, repeats, Xe, ye, reps, duplicate_head=DUPLICATE_HEAD,
                         trees_weight=TREES_WEIGHT if DUPLICATE_HEAD else 0.0)
    return {"column": column, "pairs": len(y), "extra_training_pairs": 0 if ye is None else len(ye),
            "pooled_per_class_argmax": per_class(y, np.asarray(CLASSES)[P.argmax(1)]),
            "spread": repeat_spread(y, reps)}


TEST_PAIR_FILES = ("upr_pairs_test.csv", "upr_pairs_test2.csv")


def unseen_pairs(embedder, scorer) -> dict:
    """(b') Pairs from (State, session) groups that neither the gold nor the training pairs use, each read
    blind by two readers, disagreements adjudicated (evaluation/gold/upr_pairs_test*.csv); never trained on.
    Per file: the shipped scorer at its thresholds and its duplicate precision at recall 0.90; beside it,
    the recipe retrained here on the gold and training pairs (this script's TF-IDF) with and without the
    trees. Figures against the adjudicated labels (`label`) and the first reading alone (`label_1`)."""
    from nrtd_nlp.link.pairs import featurize, fit_tfidf
    from nrtd_nlp.link.scorer import CLASSES, duplicate_probability, fit_duplicate_head, fit_head, with_duplicate_head
    from nrtd_nlp.link.train import (FEATURES, TRAINING_PAIR_FILES, TREES_WEIGHT, load_gold, load_pairs, p_at_recall,
                                     per_class, read_pairs)
    from nrtd_nlp.link.trees import fit_boosted

    from .crosslingual import cached_encode

    tfidf = fit_tfidf(load_gold(GOLD / "upr_pairs.csv", UPR)[3])

    def feats(a, b):
        return featurize(embedder, tfidf, a, b, cached_encode(embedder, a), cached_encode(embedder, b))

    ta_tr, tb_tr, ytr = load_pairs([GOLD / f for f in ("upr_pairs.csv", *TRAINING_PAIR_FILES)], UPR)
    Xtr = feats(ta_tr, tb_tr)
    full, dup = fit_head(Xtr, ytr, FEATURES), fit_duplicate_head(Xtr, ytr, FEATURES)
    trees = fit_boosted(Xtr, ytr == "duplicate", FEATURES)
    res = {}
    for name in TEST_PAIR_FILES:
        path = GOLD / name
        ta, tb, y, _ = load_gold(path, UPR)
        rows = read_pairs(path, "test", ("pair_id", "label_1", "label_2"))
        y1, y2 = (np.asarray([r[c] for r in rows]) for c in ("label_1", "label_2"))
        X = feats(ta, tb)
        P0 = scorer.predict(X)
        P, reread = P0, np.zeros(0, int)
        recipe = {k: with_duplicate_head(full.proba(X), duplicate_probability(dup, trees, w, X))
                  for k, w in (("logistic only (v5)", 0.0), (f"with trees at {TREES_WEIGHT} (v6)", TREES_WEIGHT))}
        if scorer.pair_encoder is not None:
            pe = scorer.pair_encoder
            everywhere = pe.blend(P0, pe.predict_proba(ta, tb))  # every pair read once
            # as links are computed: the encoder's answer only for the pairs in its band
            reread = scorer.band_rows(P0, np.ones(len(ta), bool))
            P = P0.copy()
            P[reread] = everywhere[reread]
            recipe["scorer alone (no pair encoder)"] = P0
            recipe[f"pair encoder averaged into every pair at {pe.weight}"] = everywhere
        out = {"pairs": len(y), "readers_agreement": round(float((y1 == y2).mean()), 4), "scorer": scorer.agent,
               "refined_by_pair_encoder": int(len(reread))}
        for col, labels in (("label", y), ("label_1", y1)):
            out[col] = {"counts": {c: int((labels == c).sum()) for c in CLASSES},
                        "at_thresholds": per_class(labels, _decide(scorer, P)),
                        "duplicate_precision_at_recall_0.90": p_at_recall(labels == "duplicate",
                                                                          P[:, CLASSES.index("duplicate")]),
                        "recipe": {k: p_at_recall(labels == "duplicate", Pw[:, CLASSES.index("duplicate")])
                                   for k, Pw in recipe.items()}}
            if scorer.pair_encoder is not None:
                out[col]["at_thresholds_without_pair_encoder"] = per_class(labels, _decide(scorer, P0))
        res[name] = out
    return res


def _decide(scorer, P: np.ndarray) -> np.ndarray:
    from nrtd_nlp.link.scorer import CLASSES

    pdup, prel = P[:, CLASSES.index("duplicate")], P[:, CLASSES.index("related")]
    return np.where(pdup >= scorer.threshold_duplicate, "duplicate",
                    np.where(prel >= scorer.threshold_related, "related", "different"))


def followups(embedder, scorer) -> dict:
    from nrtd_nlp.ingest.readers import read_file
    from nrtd_nlp.link.pairs import featurize, fit_tfidf
    from nrtd_nlp.link.scorer import CLASSES

    from .crosslingual import cached_encode

    _, recs = read_file(UPR)
    by = {r.external_id: r.text for r in recs}
    from nrtd_nlp.link.train import split_followups

    _, rows = split_followups(list(csv.DictReader(open(GOLD / "upr_followups.csv", encoding="utf-8"))))
    ta = [by[r["id_cycle1"]] for r in rows]
    tb = [by[r["id_cycle2"]] for r in rows]
    va, vb = cached_encode(embedder, ta), cached_encode(embedder, tb)
    X = featurize(embedder, fit_tfidf([r.text for r in recs]), ta, tb, va, vb)
    P = scorer.predict(X, cross_cycle=np.ones(len(X), bool))
    pdup, prel = P[:, CLASSES.index("duplicate")], P[:, CLASSES.index("related")]
    pred = np.where(pdup >= scorer.threshold_follows_up, "follows_up",
                    np.where(prel >= scorer.threshold_related, "related", "different"))
    y = np.asarray([r["label"] for r in rows])
    out = {"pairs": len(rows)}
    for k in ("follows_up", "related"):
        out[k] = prf(int(((pred == k) & (y == k)).sum()), int(((pred == k) & (y != k)).sum()),
                     int(((pred != k) & (y == k)).sum()))
    errs = [{"pair": rows[i]["pair_id"], "gold": y[i], "predicted": pred[i], "p_duplicate": round(float(pdup[i]), 3),
             "reason": rows[i]["reason"]} for i in np.where((pred == "follows_up") != (y == "follows_up"))[0]]
    out["errors"] = errs[:12]
    curve = []
    for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        pr = pdup >= t
        curve.append({"threshold": t, **{k: v for k, v in prf(int((pr & (y == "follows_up")).sum()),
                     int((pr & (y != "follows_up")).sum()), int((~pr & (y == "follows_up")).sum())).items()
                     if k in ("precision", "recall", "f1")}})
    out["curve"] = curve
    return out


def translations(embedder, scorer, n_random: int = 2000, seed: int = 0) -> dict:
    from nrtd_nlp.ingest.readers import read_file
    from nrtd_nlp.link.features import FEATURES, part_cosines, part_slices
    from nrtd_nlp.link.scorer import CLASSES

    from .crosslingual import cached_encode

    _, recs = read_file(CORPORA / "uhri-multilingual" / "uhri_multilingual_dev.csv")
    by: dict[str, dict[str, str]] = {}
    for r in recs:
        by.setdefault(r.translation_group, {})[r.language] = r.text
    groups = [g for g, d in by.items() if "en" in d]
    keys = [(g, lang) for g in groups for lang in by[g]]
    from nrtd_nlp.embed.centering import LanguageCentering
    from nrtd_nlp.ingest.language import LanguageDetector

    texts = [by[g][lang] for g, lang in keys]
    V = cached_encode(embedder, texts)
    det = LanguageDetector()
    detected = [det.detect(t)[0] for t in texts]
    V = LanguageCentering().fit(V, detected).transform(V, detected)  # as the store's index does
    pos = {k: i for i, k in enumerate(keys)}
    sl = part_slices(embedder)

    def p_dup(ia, ib):
        cos = part_cosines(sl, V[ia], V[ib])
        X = np.zeros((len(ia), len(FEATURES)))
        return scorer.predict(X, np.ones(len(ia), bool), cos)[:, CLASSES.index("duplicate")]

    from .crosslingual import load_misaligned

    misaligned = load_misaligned()
    out = {}
    rng = np.random.default_rng(seed)
    for lang in ("es", "fr", "ar", "ru", "zh"):
        gs = [g for g in groups if lang in by[g]]
        found = p_dup([pos[(g, "en")] for g in gs], [pos[(g, lang)] for g in gs]) >= scorer.threshold_cross
        clean = np.array([(g.removeprefix("uhri:"), lang) not in misaligned for g in gs])
        a = rng.integers(0, len(gs), n_random)
        b = (a + rng.integers(1, len(gs), n_random)) % len(gs)
        fp = p_dup([pos[(gs[i], "en")] for i in a], [pos[(gs[j], lang)] for j in b]) >= scorer.threshold_cross
        out[lang] = {"pairs": len(gs), "found": round(float(found.mean()), 4),
                     "audited_misaligned": int((~clean).sum()), "found_clean": round(float(found[clean].mean()), 4),
                     "missed": [gs[i] for i in np.where(~found)[0]],
                     "random_pairs_called_duplicate": round(float(fp.mean()), 4)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from nrtd_nlp.embed.base import get_embedder
    from nrtd_nlp.link.scorer import PairScorer

    from .duplicates_store_scale import print_table, small_stores

    scorer = PairScorer.load()
    embedder = get_embedder("e5-use")
    res = {"scorer": scorer.agent, "b_upr_pairs_cv": scorer.meta["cv"], "b_agreement": agreement(),
           "b_by_labels": {c: upr_cv(embedder, c) for c in ("label", "label_1")},
           "b_small_stores": small_stores(embedder), "b_test": unseen_pairs(embedder, scorer),
           "c_followups": followups(embedder, scorer), "a_translations": translations(embedder, scorer)}
    if args.json:
        print(json.dumps(res, indent=1, default=str))
        return
    cv = res["b_upr_pairs_cv"]
    print(f"scorer {res['scorer']} (thresholds {scorer.meta['thresholds']})")
    print(f"\n(b) UPR pairs, {cv['scheme']}: accuracy {cv['accuracy']} (cosine-only head {cv['cosine_only_accuracy']})")
    print(f"{'kind':11} {'P':>6} {'R':>6} {'F1':>6} {'n':>4}")
    for k, r in cv["per_class_argmax"].items():
        print(f"{k:11} {r['precision']:6.3f} {r['recall']:6.3f} {r['f1']:6.3f} {r['support']:4d}")
    print(f"duplicate precision at recall >= 0.90: {cv['duplicate_precision_at_recall_0.90']}")
    print("duplicate PR curve (threshold P R F1): " + "; ".join(
        f"{r['threshold']:.2f} {r['precision']:.2f} {r['recall']:.2f} {r['f1']:.2f}" for r in cv["duplicate_pr"][::2]))
    ag = res["b_agreement"]
    print(f"\ntwo independent readings of the {ag['pairs']} pairs: agreement "
          f"{ag['reader1_vs_reader2']['agreement']:.3f}, Cohen's kappa {ag['reader1_vs_reader2']['kappa']:.3f} "
          f"({ag['disagreements']} disagreements, adjudicated); original -> adjudicated: {ag['changed_from_original']}")
    for col, r in res["b_by_labels"].items():
        sp = r["spread"]
        name = "adjudicated labels" if col == "label" else "original single-reader labels"
        pat = sp["duplicate_precision_at_recall_0.90"]
        print(f"{name} ({col}), {sp['repeats']} x 5-fold, mean ± sd over repeats: duplicate precision at recall "
              f">= 0.90: {pat['mean']:.3f} ± {pat['sd']:.3f}")
        for k in ("duplicate", "related", "different"):
            print(f"  {k:10} P {sp[k]['precision']['mean']:.3f} ± {sp[k]['precision']['sd']:.3f}  "
                  f"R {sp[k]['recall']['mean']:.3f} ± {sp[k]['recall']['sd']:.3f}  "
                  f"F1 {sp[k]['f1']['mean']:.3f} ± {sp[k]['f1']['sd']:.3f}")
    for name, ho in res["b_test"].items():
        print(f"\n(b') {name}: {ho['pairs']} pairs from unseen groups, two blind readings (agreement "
              f"{ho['readers_agreement']:.3f}), never trained on; {ho['refined_by_pair_encoder']} re-read by the "
              "pair encoder:")
        for col, label in (("label", "adjudicated"), ("label_1", "first reading only")):
            r = ho[col]
            print(f"  {label} ({r['counts']}): duplicate precision at recall >= 0.90 "
                  f"{r['duplicate_precision_at_recall_0.90']}; recipe retrained: "
                  + ", ".join(f"{k} {v}" for k, v in r["recipe"].items()))
            for k, c in r["at_thresholds"].items():
                c0 = r.get("at_thresholds_without_pair_encoder", {}).get(k)
                print(f"    {k:10} P {c['precision']:.3f} R {c['recall']:.3f} F1 {c['f1']:.3f} (n {c['support']})"
                      + (f"; without the pair encoder P {c0['precision']:.3f} R {c0['recall']:.3f}" if c0 else ""))
    print()
    print_table(res["b_small_stores"])
    fu = res["c_followups"]
    print(f"\n(c) follow-ups: {fu['pairs']} held-out pairs (odd ids; even ids trained the follow-up head, threshold "
          f"{scorer.threshold_follows_up}), never used in training:")
    for k in ("follows_up", "related"):
        r = fu[k]
        print(f"{k:11} P {r['precision']:.3f} R {r['recall']:.3f} F1 {r['f1']:.3f} (tp {r['tp']} fp {r['fp']} fn {r['fn']})")
    print("follows_up curve (threshold P R F1): " + "; ".join(
        f"{r['threshold']:.1f} {r['precision']:.2f} {r['recall']:.2f} {r['f1']:.2f}" for r in fu["curve"]))
    print("errors:")
    for e in fu["errors"][:8]:
        print(f"  {e['pair']} gold {e['gold']:10} predicted {e['predicted']:10} p={e['p_duplicate']:.2f}  {e['reason']}")
    print("\n(a) UHRI translation pairs found as duplicates by the cross-lingual head:")
    for lang, r in res["a_translations"].items():
        print(f"  en-{lang}: found {r['found']:.3f} of {r['pairs']}; without the {r['audited_misaligned']} pairs "
              f"audited as misaligned {r['found_clean']:.3f}; random pairs called duplicate "
              f"{r['random_pairs_called_duplicate']:.4f}")


if __name__ == "__main__":
    main()
