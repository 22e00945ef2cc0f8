"""Tagging figures on real annotated data (../shared/corpora), per label, with calibration.

    python -m evaluation.tags upr-issues      # shipped bundle (sessions 1-16) on sessions 17-18
    python -m evaluation.tags action          # idem, UPR Info action category
    python -m evaluation.tags sdg             # uhri-multilingual: 5-fold, train English, test 6 languages
    python -m evaluation.tags sdg-targets     # idem, SDG targets: prototypes calibrated on English folds
    python -m evaluation.tags uhri-themes     # thematic lists: train cycle 2, test cycle 3 (+ zero-shot)
    python -m evaluation.tags affected-groups # idem
    python -m evaluation.tags all --out evaluation/results

Vectors are cached in the store under ``--home`` (default $NRTD_HOME), so re-runs embed nothing.
``--sample N`` keeps N test records (the notebook uses it to run in CI with the small test embedder).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared" / "corpora"
UPR = SHARED / "upr-info" / "upr_info_sessions01-18.csv"
UHRI = SHARED / "uhri-multilingual" / "uhri_multilingual_dev.csv"
THEMATIC = SHARED / "uhri-thematic-lists" / "slovenia_upr_c2-c3.csv"
PUBLISHED = {  # ../shared/corpora/README.md (a different, larger export with 69 issues: compare with care)
    "upr-issues": {"HURIDOCS SetFit F1": 0.760, "multilingual SetFit micro-F1": 0.810,
                   "gemini-2.5-flash micro-F1": 0.877, "BERT-large micro-F1": 0.902,
                   "issue baseline TF-IDF + LR (8k train)": 0.849, "issue baseline TF-IDF ⊕ e5": 0.869},
    "action": {"SetFit accuracy": 0.895, "BERT-base F1": 0.904, "issue baseline TF-IDF": 0.833,
               "issue baseline TF-IDF ⊕ e5": 0.838},
}


def _engine(home: str | None, embedder: str | None):
    from nrtd_nlp.config import Settings
    from nrtd_nlp.services.context import Engine

    kw = {}
    if home:
        kw["home"] = Path(home)
    if embedder:
        kw["embedder"] = embedder
    return Engine(Settings(tag_on_import=False, link_on_import=False, **kw))


def _sample(idx: list[int], n: int | None, seed: int = 0) -> list[int]:
    if not n or n >= len(idx):
        return idx
    rng = np.random.RandomState(seed)
    return sorted(rng.choice(idx, n, replace=False).tolist())


def shipped(engine, task: str, only: str, sample: int | None) -> dict:
    """The shipped (or locally trained) bundle on held-out sessions of the UPR Info export."""
    from nrtd_nlp.services.tag_training import evaluate_task

    if sample:  # evaluate on a sample: write it to a temporary file with the same header
        import csv
        import tempfile

        with open(UPR, encoding="utf-8", newline="") as f:
            r = csv.DictReader(f)
            header = r.fieldnames
            key, vals = only.split("=")
            rows = [x for x in r if x.get(key.capitalize(), x.get(key)) in vals.split(",")]
        rows = [rows[i] for i in _sample(list(range(len(rows))), sample)]
        tmp = Path(tempfile.mkdtemp()) / "sample.csv"
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=header)
            w.writeheader()
            w.writerows(rows)
        return evaluate_task(engine, task, tmp)
    return evaluate_task(engine, task, UPR, only=only)


def _fit_eval(engine, task, train, test, *, text_blocks=("word",), zero_shot=True, label_rows=True) -> dict:
    """Train a Tagger on ``train`` (Annotated subset) and report on ``test``; zero-shot alongside."""
    from nrtd_nlp.classify.labels import load_labels
    from nrtd_nlp.classify.metrics import label_matrix, tagging_report
    from nrtd_nlp.classify.reference import reference_centering
    from nrtd_nlp.classify.tagger import Tagger
    from nrtd_nlp.embed.views import preferred_view
    from nrtd_nlp.services.tag_training import TASK_PARAMS, label_text_rows, vectors_for

    labels = load_labels(task)
    view = preferred_view(engine.embedder, engine.settings.tag_view)  # the part the product's taggers read
    cen = reference_centering(view.encoder, engine.settings.cache_dir)
    det = engine.detector
    tr_texts, tr_labels, tr_langs = train
    te_texts, te_labels, te_langs = test
    tr_langs = [det.detect(t, h)[0] for t, h in zip(tr_texts, tr_langs)]
    te_langs = [det.detect(t, h)[0] for t, h in zip(te_texts, te_langs)]
    Xtr = cen.transform(view.take(vectors_for(engine, tr_texts)), tr_langs)
    Xte = cen.transform(view.take(vectors_for(engine, te_texts)), te_langs)
    ids = [lid for lid in labels.ids if any(lid in ls for ls in tr_labels)]
    names = {lab.id: lab.name() for lab in labels.labels}
    spec = TASK_PARAMS.get(task, {}).get("label_texts")  # as the product trains it
    extra = label_text_rows(engine, task, labels, ids, view, cen, spec) if label_rows else None
    model = Tagger(task, ids, text_blocks=text_blocks, max_features=20000, C_text=10.0, C_emb=4.0)
    model.fit(tr_texts, Xtr, label_matrix(tr_labels, ids), tr_langs, extra=extra)
    P = model.predict_proba(te_texts, Xte, te_langs)
    D = model.decide(P)
    D[np.arange(len(P)), P.argmax(1)] = True
    out = {"supervised": tagging_report(P, D, label_matrix(te_labels, ids), ids, names=names),
           "train_records": len(tr_texts), "test_records": len(te_texts),
           "test_labels_unseen_in_training": sum(1 for ls in te_labels if not set(ls) & set(ids)),
           "top_label": [ids[j] for j in P.argmax(1)]}
    out["supervised"]["by_language"] = _by_language(P, D, label_matrix(te_labels, ids), ids, te_langs)
    if zero_shot:
        from nrtd_nlp.classify.zeroshot import ZeroShotTagger

        zs = ZeroShotTagger(task, labels).fit(lambda t: cen.transform(view.encode(t),
                                                                      [det.detect(x)[0] for x in t]))
        Pz = zs.predict_proba(te_texts, Xte, te_langs)
        Dz = np.zeros_like(Pz, bool)
        Dz[np.arange(len(Pz)), Pz.argmax(1)] = True
        rep = tagging_report(Pz, Dz, label_matrix(te_labels, labels.ids), labels.ids, names=names)
        out["zero_shot_top1"] = {"top1_in_gold": rep["top1_in_gold"], "micro_f1": rep["micro"]["f1"],
                                 "by_language": _by_language(Pz, Dz, label_matrix(te_labels, labels.ids),
                                                             labels.ids, te_langs)}
    return out


def _by_language(P, D, Y, ids, langs) -> dict:
    from nrtd_nlp.classify.metrics import tagging_report

    out = {}
    for lang in sorted(set(langs)):
        m = np.array([x == lang for x in langs])
        r = tagging_report(P[m], D[m], Y[m], ids)
        out[lang] = {"n": r["n"], "top1_in_gold": r["top1_in_gold"], "micro_f1": r["micro"]["f1"]}
    return out


def thematic(engine, task: str, sample: int | None) -> dict:
    from nrtd_nlp.classify.datasets import load_annotated
    from nrtd_nlp.classify.labels import load_labels

    data = load_annotated(THEMATIC, task, load_labels(task))
    idx2 = [i for i, r in enumerate(data.records) if str(r.cycle).startswith("2")]
    idx3 = _sample([i for i, r in enumerate(data.records) if str(r.cycle).startswith("3")], sample)
    pick = lambda idx: ([data.texts[i] for i in idx], [data.labels[i] for i in idx],  # noqa: E731
                        [data.languages[i] for i in idx])
    out = _fit_eval(engine, task, pick(idx2), pick(idx3))
    out.pop("top_label")
    out["unknown_annotations"] = data.unknown
    return out


def sdg(engine, sample: int | None, folds: int = 5) -> dict:
    """Train on English only, test on all six language versions of the held-out records."""
    from nrtd_nlp.classify.datasets import load_annotated
    from nrtd_nlp.classify.labels import load_labels

    from .sdg_agreement import agreement, load_reading

    labels = load_labels("sdg_goal")
    data = load_annotated(UHRI, "sdg_goal", labels)
    groups = sorted({r.translation_group for r in data.records})
    groups = [groups[i] for i in _sample(list(range(len(groups))), sample)]
    rng = np.random.RandomState(0)
    fold_of = {g: f for g, f in zip(groups, rng.permutation(len(groups)) % folds)}
    per_lang: dict[str, list] = {}
    zs_lang: dict[str, list] = {}
    reports, english = [], []
    for f in range(folds):
        tr = [i for i, r in enumerate(data.records) if fold_of.get(r.translation_group, -1) not in (f, -1)
              and data.languages[i] == "en"]
        te = [i for i, r in enumerate(data.records) if fold_of.get(r.translation_group) == f]
        pick = lambda idx: ([data.texts[i] for i in idx], [data.labels[i] for i in idx],  # noqa: E731
                            [data.languages[i] for i in idx])
        res = _fit_eval(engine, "sdg_goal", pick(tr), pick(te), text_blocks=())
        reports.append(res)
        english += [(data.records[i].external_id.split(":")[0], data.records[i].mechanism, data.labels[i], top)
                    for i, top in zip(te, res.pop("top_label")) if data.languages[i] == "en"]
        for lang, v in res["supervised"]["by_language"].items():
            per_lang.setdefault(lang, []).append((v["n"], v["top1_in_gold"]))
        for lang, v in res["zero_shot_top1"]["by_language"].items():
            zs_lang.setdefault(lang, []).append((v["n"], v["top1_in_gold"]))
    wavg = lambda xs: round(sum(n * v for n, v in xs) / max(sum(n for n, _ in xs), 1), 4)  # noqa: E731
    sup = {lang: wavg(v) for lang, v in per_lang.items()}
    return {"protocol": f"{folds}-fold by record, train English, test all languages",
            "top1_in_gold_by_language": sup, "zero_shot_top1_by_language": {k: wavg(v) for k, v in zs_lang.items()},
            "max_gap_below_english": round(max(sup.get("en", 0) - v for v in sup.values()), 4),
            "records": len(groups), "second_reading_english": agreement(english, load_reading()),
            "last_fold": reports[-1]}


def sdg_targets(engine, sample: int | None, folds: int = 5) -> dict:
    """SDG targets: label-text prototypes calibrated on English records of 4 folds, with out-of-fold goal
    probabilities as an input, tested on all six language versions of the fifth, whose goal probabilities
    come from a goal tagger trained on the English goal annotations of the 4 folds (as ``nrtd train
    sdg_target`` builds the shipped model and as the goal bundle answers). ``without_goal`` reports the
    calibration on the prototypes alone (the shipped model before the goal input)."""
    from nrtd_nlp.classify.datasets import load_annotated
    from nrtd_nlp.classify.labels import load_labels
    from nrtd_nlp.classify.metrics import label_matrix, tagging_report
    from nrtd_nlp.services.tag_parent import fit_parent, oof_parent_probabilities
    from nrtd_nlp.services.tag_training import parent_inputs, vectors_for
    from nrtd_nlp.services.tags import fit_zero_shot

    labels = load_labels("sdg_target")
    data = load_annotated(UHRI, "sdg_target", labels)
    goals = load_annotated(UHRI, "sdg_goal", load_labels("sdg_goal"))
    zs, cen, view = fit_zero_shot(engine, "sdg_target", labels)  # as `nrtd train sdg_target` builds it
    zs.parent_task = "sdg_goal"
    det = engine.detector
    langs = [det.detect(t, h)[0] for t, h in zip(data.texts, data.languages)]
    X = cen.transform(view.take(vectors_for(engine, data.texts)), langs)
    Y = label_matrix(data.labels, labels.ids)
    groups = sorted({r.translation_group for r in data.records})
    groups = [groups[i] for i in _sample(list(range(len(groups))), sample)]
    fold_of = {g: f for g, f in zip(groups, np.random.RandomState(0).permutation(len(groups)) % folds)}
    fold = np.array([fold_of.get(r.translation_group, -1) for r in data.records])
    en = np.array([x == "en" for x in data.languages])
    g_en = [i for i, x in enumerate(goals.languages) if x == "en"]
    g_rows = ([goals.texts[i] for i in g_en], [goals.labels[i] for i in g_en], ["en"] * len(g_en))
    ids, _, Xg, params, extra = parent_inputs(engine, "sdg_goal", labels, view, cen, [], [], [], g_rows)
    g_fold = np.array([fold_of.get(goals.records[i].translation_group, -1) for i in g_en])
    out = {}
    for variant in ("with_goal", "without_goal"):
        P = np.zeros(Y.shape, np.float32)
        D = np.zeros(Y.shape, bool)
        for f in range(folds):
            tr, te = (fold != f) & (fold >= 0) & en, fold == f
            zs.calibrated_ = False
            if variant == "without_goal":
                zs.calibrate(X[tr], Y[tr])
                P[te] = zs.predict_proba(None, X[te], None)
            else:
                gk = np.flatnonzero(g_fold != f)  # the goal annotations a model of this fold may learn from
                rows = tuple([col[i] for i in gk] for col in g_rows)
                itr = np.flatnonzero(tr)
                oof = oof_parent_probabilities("sdg_goal", ids, [data.texts[i] for i in itr], X[tr],
                                               [langs[i] for i in itr], rows, Xg[gk], params, extra)
                zs.calibrate(X[tr], Y[tr], parent=(ids, oof))
                goal = fit_parent("sdg_goal", ids, rows[0], Xg[gk], rows[1], rows[2], params, extra)
                ite = np.flatnonzero(te)
                pg = goal.predict_proba([data.texts[i] for i in ite], X[te], [langs[i] for i in ite])
                P[te] = zs.predict_proba(None, X[te], None, parent=(ids, pg))
            D[te] = zs.decide(P[te])
        keep = fold >= 0
        D[np.arange(len(P)), P.argmax(1)] |= keep  # the best target is always shown
        names = {lab.id: lab.name() for lab in labels.labels}
        rep = tagging_report(P[keep], D[keep], Y[keep], labels.ids, names=names)
        by_lang = _by_language(P[keep], D[keep], Y[keep], labels.ids,
                               [x for x, k in zip(data.languages, keep) if k])
        out[variant] = {"top1_in_gold_by_language": {k: v["top1_in_gold"] for k, v in by_lang.items()},
                        "micro_f1_by_language": {k: v["micro_f1"] for k, v in by_lang.items()}, **rep}
    return {"protocol": f"{folds}-fold by record: calibrate on English, test all languages",
            "records": int((fold >= 0).sum() // 6), **out["with_goal"],
            "without_goal": {k: v for k, v in out["without_goal"].items() if k != "per_label"}}


def run(protocol: str, engine, sample: int | None) -> dict:
    if protocol == "upr-issues":
        res = shipped(engine, "upr_issue", "session=17,18", sample)
    elif protocol == "action":
        res = shipped(engine, "action_category", "session=17,18", sample)
    elif protocol == "sdg":
        res = sdg(engine, sample)
    elif protocol == "sdg-targets":
        res = sdg_targets(engine, sample)
    elif protocol == "uhri-themes":
        res = thematic(engine, "uhri_theme", sample)
    elif protocol == "affected-groups":
        res = thematic(engine, "affected_group", sample)
    else:
        raise SystemExit(f"unknown protocol {protocol}")
    if protocol in PUBLISHED:
        res["published"] = PUBLISHED[protocol]
    return res


def summary_line(protocol: str, res: dict) -> str:
    if protocol == "sdg":
        r = res["second_reading_english"]
        return (f"sdg: top-1 in gold {res['top1_in_gold_by_language']} (zero-shot "
                f"{res['zero_shot_top1_by_language']}), max gap below English {res['max_gap_below_english']}; "
                f"English, a second reading of the texts {r.get('second_reading')} vs the model {r.get('model')} "
                f"(both miss {r.get('both_miss')}, n={r['n']})")
    if protocol == "sdg-targets":
        w = res["without_goal"]
        return (f"sdg-targets: top-1 in gold {res['top1_in_gold_by_language']}, micro-F1 {res['micro']['f1']}, ECE "
                f"{res['calibration']['ece']} (without the goal input: {w['top1_in_gold_by_language']}, "
                f"micro-F1 {w['micro']['f1']})")
    if "supervised" in res:
        s = res["supervised"]
        return (f"{protocol}: supervised micro-F1 {s['micro']['f1']} macro-F1 {s['macro_f1']} top-1 "
                f"{s['top1_in_gold']} (n={s['n']}); zero-shot top-1 {res['zero_shot_top1']['top1_in_gold']}")
    extra = f" accuracy {res['accuracy']}" if "accuracy" in res else ""
    return (f"{protocol}: {res['model']} micro-F1 {res['micro']['f1']} macro-F1 {res['macro_f1']}{extra} "
            f"ECE {res['calibration']['ece']} (n={res['n']})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("protocol", choices=["upr-issues", "action", "sdg", "sdg-targets", "uhri-themes", "affected-groups",
                                           "all"])
    ap.add_argument("--home", help="store that caches the vectors (default $NRTD_HOME)")
    ap.add_argument("--embedder", help="embedder (default NRTD_EMBEDDER)")
    ap.add_argument("--sample", type=int, help="keep N test records")
    ap.add_argument("--out", type=Path, help="folder for <protocol>.json")
    a = ap.parse_args(argv)
    if not SHARED.exists():
        print("../shared/corpora is not present", file=sys.stderr)
        return 2
    engine = _engine(a.home, a.embedder)
    protocols = (["upr-issues", "action", "sdg", "sdg-targets", "uhri-themes", "affected-groups"]
                 if a.protocol == "all" else [a.protocol])
    for p in protocols:
        res = run(p, engine, a.sample)
        print(summary_line(p, res), flush=True)
        if a.out:
            a.out.mkdir(parents=True, exist_ok=True)
            (a.out / f"tags_{p}.json").write_text(json.dumps(res, indent=1, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
