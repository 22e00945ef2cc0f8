"""Responsible institutions: cold start and simulated learning on the hand-labelled gold set.

    python -m evaluation.institutions [--embedder e5-use] [--background 1000] [--uhri] [--json OUT]

What exists: no labelled ministry-assignment data is in ../shared. The ``institutions`` column of
upr-info/v1_testing3 lists treaties (CRPD, OP, ICMW …), not responsible bodies, so it cannot be used.
evaluation/gold/institutions.csv holds 150 UPR Info recommendations (sampled over 50 issues, seed
fixed, see its README) labelled by one person with 1–3 responsible institutions from the shipped
mandate file, lead institution first. Real data — a country's own past assignments — is missing;
the "warm" figures below simulate it with half of the gold set.

Measures (a record's gold = its labelled institutions):
  top-1       the first suggestion is one of the gold institutions
  lead@1      the first suggestion is the gold lead institution
  any@3       at least one gold institution is among the first three suggestions
  P / R / F1  micro-averaged over suggestions among the first three whose score >= threshold
  abstain     share of records with no suggestion >= threshold
Variants: cold start (mandate similarity + keywords), similarity only, keywords only, without
language centring; warm = half the gold as confirmed assignments, tested on the other half (both
ways, averaged), against the cold start on the same halves.
"""

from __future__ import annotations

import argparse
import collections
import csv
import hashlib
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "evaluation" / "gold" / "institutions.csv"
CORPUS = ROOT.parent / "shared" / "corpora" / "upr-info" / "upr_info_sessions01-18.csv"
SEED = 20261123


def load_gold(corpus: Path = CORPUS):
    from nrtd_nlp.ingest.readers import read_file

    if not corpus.exists():
        sys.exit(f"{corpus} is not present: the evaluation reads the UPR Info corpus from ../shared")
    _, recs = read_file(str(corpus))
    by_id = {r.external_id: r for r in recs}
    rows, bad = [], []
    with open(GOLD, encoding="utf-8") as f:
        for g in csv.DictReader(f):
            r = by_id.get(g["upr_external_id"])
            if r is None or hashlib.sha1(r.text.encode("utf-8")).hexdigest()[:12] != g["text_sha1"]:
                bad.append(g["upr_external_id"])
                continue
            rows.append((r.text, g["institutions"].split("|")))
    if bad:
        print(f"warning: {len(bad)} gold rows not found or changed in the corpus: {bad[:5]}")
    return rows, recs


def metrics(S: np.ndarray, keys: list[str], gold: list[list[str]], threshold: float) -> dict:
    top1 = lead1 = any3 = abst = tp = fp = 0
    n_gold = sum(len(g) for g in gold)
    per = collections.defaultdict(lambda: [0, 0, 0])  # tp, fp, fn
    for row, g in zip(S, gold):
        order = [keys[j] for j in np.argsort(-row, kind="stable")[:3]]
        kept = [k for k, j in zip(order, np.argsort(-row, kind="stable")[:3]) if row[j] >= threshold]
        top1 += order[0] in g
        lead1 += order[0] == g[0]
        any3 += bool(set(order) & set(g))
        abst += not kept
        for k in kept:
            tp += k in g
            fp += k not in g
            per[k][0 if k in g else 1] += 1
        for k in g:
            if k not in kept:
                per[k][2] += 1
    n = len(gold)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"n": n, "top1": top1 / n, "lead@1": lead1 / n, "any@3": any3 / n, "P": p, "R": r, "F1": f,
            "abstain": abst / n, "per_institution": {k: v for k, v in per.items()}}


UHRI = ROOT.parent / "shared" / "corpora" / "uhri-multilingual" / "uhri_multilingual_dev.csv"
LANGS = ("en", "fr", "es", "ar", "ru", "zh")


def crosslingual(emb, mandates, protos, threshold: float) -> dict:
    """No gold in other languages: agreement of the cold start across the six parallel UHRI versions
    of the same 424 texts (the same recommendation should get the same institutions in every language)."""
    from nrtd_nlp.classify.institutions import InstitutionSuggester
    from nrtd_nlp.embed.centering import LanguageCentering

    with open(UHRI, encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if all((r.get(lang) or "").strip() for lang in LANGS)]
    texts = {lang: [r[lang] for r in rows] for lang in LANGS}
    flat = [p for ps in protos for p in ps]
    V = emb.encode([t for lang in LANGS for t in texts[lang]] + [t for t, _ in flat])
    n = len(rows)
    langs = [lang for lang in LANGS for _ in range(n)]
    centring = LanguageCentering().fit(V[: n * len(LANGS)], langs)
    X = centring.transform(V[: n * len(LANGS)], langs)
    P = centring.transform(V[n * len(LANGS) :], [lang for _, lang in flat])
    sug = InstitutionSuggester(threshold=threshold).fit(mandates, np.split(P, np.cumsum([len(p) for p in protos])[:-1]))
    keys = [m.key for m in mandates]
    tops = {}
    out = {"records": n}
    for i, lang in enumerate(LANGS):
        S = sug.scores(X[i * n : (i + 1) * n], texts[lang])
        order = np.argsort(-S, axis=1, kind="stable")[:, :3]
        tops[lang] = order
        out[lang] = {"abstain": float((S.max(1) < threshold).mean()),
                     "top1_distribution": collections.Counter(keys[j] for j in order[:, 0]).most_common(3)}
    for lang in LANGS[1:]:
        out[lang]["top1_same_as_en"] = float((tops[lang][:, 0] == tops["en"][:, 0]).mean())
        out[lang]["top3_jaccard_with_en"] = float(np.mean([len(set(a) & set(b)) / len(set(a) | set(b))
                                                           for a, b in zip(tops[lang], tops["en"])]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--embedder", default="e5-use")
    ap.add_argument("--background", type=int, default=1000, help="UPR texts embedded to fit the centring")
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--uhri", action="store_true", help="also: cross-language agreement on the UHRI parallel texts")
    args = ap.parse_args()

    from nrtd_nlp.classify.institutions import InstitutionSuggester, Mandate
    from nrtd_nlp.embed.base import get_embedder
    from nrtd_nlp.embed.centering import LanguageCentering
    from nrtd_nlp.services.institutions import _theme_names, default_mandates_path, read_mandates

    t0 = time.time()
    gold_rows, recs = load_gold()
    texts = [t for t, _ in gold_rows]
    gold = [g for _, g in gold_rows]
    items = read_mandates(default_mandates_path())
    mandates = [Mandate.from_dict(x) for x in items]
    keys = [m.key for m in mandates]
    assert all(k in keys for g in gold for k in g), "gold uses an institution missing from the mandate file"
    protos = [m.prototypes(_theme_names()) for m in mandates]
    flat = [p for ps in protos for p in ps]

    emb = get_embedder(args.embedder)
    rng = random.Random(SEED)
    gold_set = set(texts)
    bg = rng.sample([r.text for r in recs if r.text not in gold_set], args.background)
    V = emb.encode(texts + bg + [t for t, _ in flat])
    Xg, Xb, P = V[: len(texts)], V[len(texts) : len(texts) + len(bg)], V[len(texts) + len(bg) :]
    centring = LanguageCentering().fit(np.vstack([Xg, Xb]), ["en"] * (len(Xg) + len(Xb)))
    p_langs = [lang for _, lang in flat]
    splits = np.cumsum([len(ps) for ps in protos])[:-1]

    def fitted(center: bool = True, **kw):
        pv = centring.transform(P, p_langs) if center else P
        return InstitutionSuggester(threshold=args.threshold, **kw).fit(mandates, np.split(pv, splits))

    Xc = centring.transform(Xg, ["en"] * len(Xg))
    results: dict[str, dict] = {}
    variants = {"cold start (similarity + keywords)": (True, {}),
                "similarity only": (True, {"keyword_weight": 0.0}),
                "keywords only": (True, {"sim_weight": 0.0}),
                "cold start without centring": (False, {})}
    for name, (center, kw) in variants.items():
        sug = fitted(center, **kw)
        results[name] = metrics(sug.scores(Xc if center else Xg, texts), keys, gold, args.threshold)

    # simulated learning: half the gold as confirmed assignments, the other half as test, both ways
    idx = list(range(len(texts)))
    random.Random(SEED).shuffle(idx)
    halves = [idx[: len(idx) // 2], idx[len(idx) // 2 :]]
    Y = np.array([[k in g for k in keys] for g in gold], np.float32)
    warm_parts, cold_parts, calib = [], [], []
    for a, b in (halves, halves[::-1]):
        cold = fitted()
        warm = InstitutionSuggester(threshold=args.threshold).fit(
            mandates, np.split(centring.transform(P, p_langs), splits), Xc[a], Y[a], [texts[i] for i in a])
        Sw = warm.scores(Xc[b], [texts[i] for i in b])
        warm_parts.append(metrics(Sw, keys, [gold[i] for i in b], args.threshold))
        cold_parts.append(metrics(cold.scores(Xc[b], [texts[i] for i in b]), keys, [gold[i] for i in b],
                                  args.threshold))
        calib.append({"score_kind": warm.score_kind_, "linear_heads": [keys[j] for j in warm.heads_],
                      "cv": warm.calibration_,
                      "brier_test": float(np.mean((Sw - Y[b]) ** 2))})
    # learning curve: the first n of each training half as confirmations (fixed mix below 40, stacked above)
    curve = {}
    for n_conf in (10, 20, 40):
        parts = []
        for a, b in (halves, halves[::-1]):
            a = a[:n_conf]
            warm = InstitutionSuggester(threshold=args.threshold).fit(
                mandates, np.split(centring.transform(P, p_langs), splits), Xc[a], Y[a], [texts[i] for i in a])
            parts.append(metrics(warm.scores(Xc[b], [texts[i] for i in b]), keys, [gold[i] for i in b],
                                 args.threshold))
        curve[f"warm: {n_conf} confirmations ({warm.score_kind_})"] = parts
    # cold-start weights tuned on one half (grid, objective F1 at the threshold then any@3), tested on the other
    tuned_parts, chosen = [], []
    grid = [(sw, kw, b) for sw in (0.4, 0.6, 0.8, 1.2) for kw in (2.0, 3.0, 4.0) for b in (-3.5, -3.0, -2.5, -2.0)]
    for a, b in (halves, halves[::-1]):
        def objective(w):
            m = metrics(fitted(sim_weight=w[0], keyword_weight=w[1], bias=w[2]).scores(
                Xc[a], [texts[i] for i in a]), keys, [gold[i] for i in a], args.threshold)
            return (round(m["F1"], 3), m["any@3"])
        best = max(grid, key=objective)
        chosen.append(best)
        tuned_parts.append(metrics(fitted(sim_weight=best[0], keyword_weight=best[1], bias=best[2]).scores(
            Xc[b], [texts[i] for i in b]), keys, [gold[i] for i in b], args.threshold))
    print("cold-start weights (sim_weight, keyword_weight, bias) chosen on each half:", chosen)
    for name, parts in (("cold start on the test halves", cold_parts),
                        ("cold start, weights tuned on the other half", tuned_parts), *curve.items(),
                        ("warm: 75 confirmations (half)", warm_parts)):
        results[name] = {k: float(np.mean([p[k] for p in parts])) for k in ("top1", "lead@1", "any@3", "P", "R",
                                                                             "F1", "abstain")}
        results[name]["n"] = sum(p["n"] for p in parts)

    print(f"\ngold: {len(texts)} UPR Info recommendations, {sum(map(len, gold))} labels "
          f"({sum(map(len, gold)) / len(gold):.2f} per record); {len(keys)} institutions; embedder {emb.model_id}; "
          f"threshold {args.threshold}")
    print("\n| variant | n | top-1 | lead@1 | any@3 | P@thr | R@thr | F1@thr | abstain |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, m in results.items():
        print(f"| {name} | {m['n']} | {m['top1']:.3f} | {m['lead@1']:.3f} | {m['any@3']:.3f} | {m['P']:.3f} | "
              f"{m['R']:.3f} | {m['F1']:.3f} | {m['abstain']:.3f} |")
    print("\nwarm runs:", json.dumps(calib))
    main_name = "cold start (similarity + keywords)"
    per = results[main_name]["per_institution"]
    support = collections.Counter(k for g in gold for k in g)
    print(f"\nper institution, {main_name} (at threshold, first three suggestions):")
    print("| institution | gold | suggested | P | R | F1 |\n|---|---:|---:|---:|---:|---:|")
    for k in sorted(keys, key=lambda k: -support[k]):
        tp, fp, fn = per.get(k, [0, 0, 0])
        p = tp / (tp + fp) if tp + fp else float("nan")
        r = tp / (tp + fn) if tp + fn else float("nan")
        f = 2 * p * r / (p + r) if tp else 0.0
        print(f"| {k} | {support[k]} | {tp + fp} | {p:.2f} | {r:.2f} | {f:.2f} |")
    xl = None
    if args.uhri:
        xl = crosslingual(emb, mandates, protos, args.threshold)
        print(f"\ncross-language agreement of the cold start on {xl['records']} parallel UHRI texts "
              "(no gold: the same text in six languages should get the same institutions):")
        print("| language | top-1 = English top-1 | top-3 Jaccard with English | abstain | most frequent top-1 |")
        print("|---|---:|---:|---:|---|")
        for lang in LANGS:
            m = xl[lang]
            print(f"| {lang} | {m.get('top1_same_as_en', 1.0):.3f} | {m.get('top3_jaccard_with_en', 1.0):.3f} | "
                  f"{m['abstain']:.3f} | {', '.join(f'{k} {c}' for k, c in m['top1_distribution'])} |")
    print(f"\n{time.time() - t0:.0f}s")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "warm_runs": calib, "crosslingual": xl},
                                        indent=1, default=str))


if __name__ == "__main__":
    main()
