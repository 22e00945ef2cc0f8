"""What moves duplicate precision at recall >= 0.90 on the UPR pairs (evaluation/gold/upr_pairs.csv)?

    python -m evaluation.duplicates_ablation [--repeats 10] [--labels label|label_1] [--no-extra]

Since link-scorer@3 the scorer has its own clause coverage, instrument-set difference and verb-intent
difference (``nrtd_nlp.link.features``), and the extra training pairs (link.train.TRAINING_PAIR_FILES) join every
training fold unless --no-extra; the candidates below are measured on top of that.

Candidate features for "one side adds a second ask" (partial overlap, labelled related) and other
models, each scored the same way: R x stratified 5-fold cross-validation, and per repeat the best
precision among thresholds whose out-of-fold recall is >= 0.90 (mean and standard deviation over
repeats; the threshold is chosen on the same out-of-fold scores, so each figure is optimistic by the
same amount). Nothing here changes the shipped scorer; it records why its feature set stayed as is.

Candidate features (on top of the scorer's own, nrtd_nlp.link.features.FEATURES):
- instrument_containment: both name instruments, the sets differ and one contains the other
  ("CAT" vs "CAT and its Optional Protocol");
- word_containment: the smaller share of each side's content words found on the other side;
- clause_coverage: texts split into clauses at "; " and at "and" + an action verb; the worst-covered
  clause's best TF-IDF cosine to the other side's clauses, and the difference in clause counts.
"""

from __future__ import annotations

import argparse
import re

import numpy as np

from .duplicates import GOLD, UPR

_VERBS = ("take|ensure|adopt|establish|ratify|accede|align|implement|strengthen|continue|develop|promote|protect|"
          "guarantee|provide|allocate|review|amend|repeal|investigate|bring|prosecute|combat|eliminate|prevent|"
          "raise|conduct|create|extend|increase|improve|intensify|submit|cooperate|invite|consider|abolish|release|"
          "end|put|pursue|respect|undertake|make|step|set|incorporate|harmoni[sz]e|enact|withdraw|lift|remove|seek|"
          "facilitate|grant|support|monitor|collect|train|expedite|finali[sz]e|fully|effectively|address|reinforce|"
          "adhere|become|redouble|enhance|examine|evaluate|request|reconsider|accept|prohibit|punish|enforce|reform")
_CLAUSE = re.compile(r"\s*(?:;|:|\.\s+|,?\s+(?:and|as well as|while)\s+(?:to\s+)?(?=(?:further\s+|also\s+)?(?:"
                     + _VERBS + r")\b))\s*", re.I)


def clauses(text: str) -> list[str]:
    return [c for c in _CLAUSE.split(text) if len(c.split()) >= 2] or [text]


def candidate_features(tfidf, ta: list[str], tb: list[str]) -> dict[str, np.ndarray]:
    from nrtd_nlp.link.asks import parse

    cont, cover, clause = [], [], []
    for a_text, b_text in zip(ta, tb):
        a, b = parse(a_text), parse(b_text)
        ia, ib = set(a.instruments), set(b.instruments)
        cont.append([float(bool(ia) and bool(ib) and ia != ib and (ia <= ib or ib <= ia))])
        shared = len(a.words & b.words)
        cover.append([min(shared / max(1, len(a.words)), shared / max(1, len(b.words)))])
        ca, cb = clauses(a_text), clauses(b_text)
        S = (tfidf.transform(ca) @ tfidf.transform(cb).T).toarray()
        clause.append([min(S.max(1).min(), S.max(0).min()), abs(len(ca) - len(cb))])
    return {"instrument_containment": np.asarray(cont), "word_containment": np.asarray(cover),
            "clause_coverage": np.asarray(clause)}


def p_at_recall(is_dup: np.ndarray, score: np.ndarray, recall: float = 0.9) -> float:
    best = 0.0
    for t in np.unique(score):
        pred = score >= t
        tp = int((pred & is_dup).sum())
        if tp / is_dup.sum() >= recall:
            best = max(best, tp / pred.sum())
    return best


def repeated_cv(X: np.ndarray, y: np.ndarray, fit, repeats: int, Xe=None, ye=None) -> tuple[float, float, float]:
    """(mean, sd) of P at R >= 0.90 over repeats, and argmax accuracy of the averaged probabilities.
    ``Xe``/``ye``: extra training pairs added to every training fold (never tested)."""
    from sklearn.model_selection import StratifiedKFold

    from nrtd_nlp.link.scorer import CLASSES

    figures, P_all = [], np.zeros((len(y), 3))
    for seed in range(repeats):
        P = np.zeros((len(y), 3))
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y):
            Xtr, ytr = (np.vstack([X[tr], Xe]), np.concatenate([y[tr], ye])) if Xe is not None else (X[tr], y[tr])
            P[te] = fit(Xtr, ytr).proba(X[te])
        figures.append(p_at_recall(y == "duplicate", P[:, CLASSES.index("duplicate")]))
        P_all += P / repeats
    acc = float((np.asarray(CLASSES)[P_all.argmax(1)] == y).mean())
    return float(np.mean(figures)), float(np.std(figures)), acc


class _Sk:
    def __init__(self, model):
        self.model = model

    def proba(self, X):
        from nrtd_nlp.link.scorer import CLASSES

        P = self.model.predict_proba(X)
        return P[:, [list(self.model.classes_).index(c) for c in CLASSES]]


def models() -> dict:
    from sklearn.base import clone
    from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier, RandomForestClassifier

    from nrtd_nlp.link.scorer import fit_head

    def lr(C):
        return lambda X, y: fit_head(X, y, tuple(range(X.shape[1])), C=C)

    def sk(m):
        return lambda X, y: _Sk(clone(m).fit(X, y))

    return {"logistic C=1 (shipped)": lr(1.0), "logistic C=0.3": lr(0.3), "logistic C=3": lr(3.0),
            "random forest": sk(RandomForestClassifier(300, min_samples_leaf=2, random_state=0, n_jobs=1)),
            "extra trees": sk(ExtraTreesClassifier(300, min_samples_leaf=2, random_state=0, n_jobs=1)),
            "gradient boosting": sk(HistGradientBoostingClassifier(max_depth=3, learning_rate=0.05, max_iter=200,
                                                                   l2_regularization=1.0))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--labels", default="label", help="label column: label (adjudicated) or label_1 (original)")
    ap.add_argument("--no-extra", action="store_true", help="leave out the extra training pairs")
    args = ap.parse_args()
    from nrtd_nlp.embed.base import get_embedder
    from nrtd_nlp.link.pairs import featurize, fit_tfidf
    from nrtd_nlp.link.train import TRAINING_PAIR_FILES, load_gold, load_pairs

    from .crosslingual import cached_encode

    embedder = get_embedder("e5-use")
    ta, tb, y, corpus = load_gold(GOLD / "upr_pairs.csv", UPR, args.labels)
    tfidf = fit_tfidf(corpus)
    X = featurize(embedder, tfidf, ta, tb, cached_encode(embedder, ta), cached_encode(embedder, tb))
    Xe = ye = None
    if not args.no_extra:
        ea, eb, ye = load_pairs([GOLD / f for f in TRAINING_PAIR_FILES], UPR)
        Xe = featurize(embedder, tfidf, ea, eb, cached_encode(embedder, ea), cached_encode(embedder, eb))
    cand = candidate_features(tfidf, ta, tb)
    sets = {"scorer features": X} | {f"+ {k}": np.hstack([X, v]) for k, v in cand.items()}
    sets["+ all three"] = np.hstack([X] + list(cand.values()))
    cand_e = candidate_features(tfidf, ea, eb) if Xe is not None else {}
    extra = {"scorer features": Xe} | ({f"+ {k}": np.hstack([Xe, v]) for k, v in cand_e.items()} if Xe is not None else {})
    if Xe is not None:
        extra["+ all three"] = np.hstack([Xe] + list(cand_e.values()))
    print(f"duplicate precision at recall >= 0.90, {args.repeats} x stratified 5-fold, mean ± sd over repeats "
          f"({len(y)} pairs, {int((y == 'duplicate').sum())} duplicate; labels {args.labels}; "
          f"{0 if Xe is None else len(Xe)} extra training pairs in every training fold)")
    print(f"{'features':28} {'model':24} {'P@R0.90':>8} {'sd':>6} {'accuracy':>8}")
    fits = models()
    for name, Xs in sets.items():
        m, sd, acc = repeated_cv(Xs, y, fits["logistic C=1 (shipped)"], args.repeats, extra.get(name), ye)
        print(f"{name:28} {'logistic C=1 (shipped)':24} {m:8.3f} {sd:6.3f} {acc:8.3f}")
    for mname, fit in fits.items():
        if mname.endswith("(shipped)"):
            continue
        for name in ("scorer features", "+ all three"):
            m, sd, acc = repeated_cv(sets[name], y, fit, args.repeats, extra.get(name), ye)
            print(f"{name:28} {mname:24} {m:8.3f} {sd:6.3f} {acc:8.3f}")


if __name__ == "__main__":
    main()
