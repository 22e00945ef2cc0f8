"""Responsible institutions: which ministry or body should act on a recommendation.

Two sources of evidence, blended by the amount of data (``InstitutionSuggester``):

* **cold start** (day one, no data): each institution's *mandate* — its names in several
  languages, the themes it covers (UPR Info issues, SDG goals) and keywords, from an editable file
  (``corpora/institutions/mandates.csv``). The recommendation's vector is compared with the
  mandate's prototype vectors (language-centred like the index); the similarity is standardised
  across institutions (how much more this institution fits than the others) and combined with
  keyword hits into a *relevance* in [0, 1] by a fixed logistic map. It is not a probability. The
  map's weights (``sim_weight``, ``keyword_weight``, ``bias``) were chosen on the hand-labelled gold
  set (evaluation/institutions.py reports them tuned on one half and tested on the other).
* **warm** (the country's own history): the nearest recommendations among those a person assigned
  (``Assignment.by == "human"``) vote with similarity weights, and a one-vs-rest logistic head is
  trained for every institution with at least ``min_per_label`` confirmations. The warm score gets
  weight N / (N + prior_strength), N = the number of confirmed records (a record confirmed for one
  institution is also evidence against the others); the cold start keeps the rest. With the default
  ``prior_strength == min_calibration`` the warm part never outweighs the cold start before there is
  enough data to learn the mix (below).

With at least ``min_calibration`` confirmed records (and ``min_per_label`` positives for some label),
the fixed blend is replaced by a learned one: a logistic regression over (cold start, neighbour vote,
linear head) fitted on out-of-fold predictions for the confirmed assignments (cross-validation), so
the mix follows what the data support and the output is a calibrated probability
(``score_kind_ == "probability"``). Below that, the score is a relevance, not a probability.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

VERSION = "1"
N_PROTOTYPE_KEYWORDS = 30  # keywords spelled out in a prototype text (the first ones of the file)
# languages whose name prototype carries that language's keywords. Measured (evaluation/institutions.py --uhri):
# es/fr keywords raise es/fr agreement with English; adding ar/ru/zh (few keywords, Russian ones stems) lowered the
# ru and zh agreement, so their names stay alone
ENRICH_LANGS = frozenset({"es", "fr", "pt"})
_CJK_OR_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


@dataclass(frozen=True)
class Mandate:
    """One institution as the suggester sees it. ``key`` is stable; suggestions carry it.

    ``keywords`` holds every keyword of every language, for matching (a French text can quote an English
    acronym). ``keywords_by_language`` (language -> keywords; "en" for the English ones), when the mandate
    file has per-language keyword columns, says which keyword belongs to which prototype text; without it
    (old files) the English description takes the ASCII keywords.
    """

    key: str
    name: str
    names: dict = field(default_factory=dict)  # language -> name
    themes: tuple = ()
    keywords: tuple = ()
    keywords_by_language: dict = field(default_factory=dict)  # language -> tuple of keywords

    @classmethod
    def from_dict(cls, x: dict) -> "Mandate":
        """From a stored or read institution (``services.institutions.read_mandates`` / ``list_institutions``)."""
        by_lang = {lang: tuple(ks) for lang, ks in (x.get("keywords_by_language") or {}).items() if ks}
        return cls(x["key"], x["name"], dict(x.get("names") or {}), tuple(x.get("themes") or ()),
                   tuple(x.get("keywords") or ()), by_lang)

    def english_keywords(self) -> list[str]:
        """The keywords spelled out in the English description: the English column when the file has
        per-language columns, else the ASCII ones (old files mix languages in one column)."""
        if self.keywords_by_language:
            return list(self.keywords_by_language.get("en", ()))
        return [k for k in self.keywords if k.isascii()]

    def prototypes(self, theme_names: dict | None = None, *, name_keywords=None) -> list[tuple[str, str]]:
        """(text, language) pairs to embed: an English description, and each name in its language, followed by
        that language's keywords for the languages in ``name_keywords`` (default ``ENRICH_LANGS``), e.g.
        "Ministerio de Salud. salud, mortalidad materna"."""
        name_keywords = ENRICH_LANGS if name_keywords is None else name_keywords
        themes = [(theme_names or {}).get(t, t) for t in self.themes]
        latin = [k.rstrip("*") for k in self.english_keywords()][:N_PROTOTYPE_KEYWORDS]
        desc = self.name
        if themes:
            desc += ". Responsible for: " + ", ".join(themes)
        if latin:
            desc += ". " + ", ".join(latin)
        out = [(desc, "en")]
        for lang, n in sorted(self.names.items()):
            if not n or n == self.name:
                continue
            kws = [k.rstrip("*") for k in self.keywords_by_language.get(lang, ())][:N_PROTOTYPE_KEYWORDS]
            out.append((f"{n}. {', '.join(kws)}" if lang in name_keywords and kws else n, lang))
        return out


def keyword_pattern(keywords) -> re.Pattern | None:
    """One case-insensitive pattern for a keyword list.

    A keyword matches as a word with an optional plural ending (``worker`` matches "workers"); a
    trailing ``*`` makes it a stem (``educat*`` matches "education", "educational"); keywords in
    Arabic or CJK scripts match anywhere (no spaces or attached prefixes to respect). A typographic
    apostrophe is a plain one, in keywords and in texts (``keyword_hits``).
    """
    words, anywhere = [], []
    for k in keywords:
        k = k.strip()
        if not k:
            continue
        body = re.escape(k.rstrip("*").lower().replace("’", "'"))
        if _CJK_OR_ARABIC.search(k):
            anywhere.append(body)
        elif k.endswith("*"):
            words.append(rf"{body}\w*")
        else:
            words.append(rf"{body}(?:s|es|'s)?(?!\w)")
    # the word-start check is factored out of the alternation: mid-word positions fail at once
    parts = ([rf"(?<!\w)(?:{'|'.join(words)})"] if words else []) + anywhere
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


def keyword_hits(texts, mandates) -> np.ndarray:
    """(n, m) count of distinct keyword forms of each mandate found in each text."""
    pats = [keyword_pattern(m.keywords) for m in mandates]
    H = np.zeros((len(texts), len(mandates)), np.float32)
    for i, t in enumerate(texts):
        low = (t or "").lower().replace("’", "'")  # "l’homme" (UHRI's typographic apostrophe) is "l'homme"
        for j, p in enumerate(pats):
            if p is not None:
                H[i, j] = len({m.group(0) for m in p.finditer(low)})
    return H


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p):
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


class InstitutionSuggester:
    """Estimator (sklearn style): arguments here, work in :meth:`fit`, learned attributes end in ``_``.

    ``fit(mandates, prototype_vectors, X=None, Y=None, texts=None)``: ``prototype_vectors[j]`` is a
    (p_j, d) array for mandate j; ``X`` (n, d) the vectors of recommendations with confirmed
    assignments, ``Y`` (n, m) their 0/1 labels over the mandates, ``texts`` their texts (for the
    keyword part of their cold scores, needed for calibration). All vectors L2-normalised and
    centred the same way.
    """

    def __init__(self, *, top_k: int = 3, threshold: float = 0.5, n_neighbors: int = 10, tau: float = 0.05,
                 min_per_label: int = 5, min_calibration: int = 40, prior_strength: float = 40.0,
                 sim_weight: float = 0.5, keyword_weight: float = 4.0, bias: float = -2.0,
                 cv_folds: int = 5, random_state: int = 0):
        self.top_k = top_k
        self.threshold = threshold
        self.n_neighbors = n_neighbors
        self.tau = tau
        self.min_per_label = min_per_label
        self.min_calibration = min_calibration
        self.prior_strength = prior_strength
        self.sim_weight = sim_weight
        self.keyword_weight = keyword_weight
        self.bias = bias
        self.cv_folds = cv_folds
        self.random_state = random_state

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, mandates, prototype_vectors, X=None, Y=None, texts=None) -> "InstitutionSuggester":
        if len(mandates) != len(prototype_vectors):
            raise ValueError("one prototype array per mandate is needed")
        self.mandates_ = list(mandates)
        self.keys_ = [m.key for m in self.mandates_]
        self.proto_ = np.vstack(prototype_vectors).astype(np.float32) if mandates else np.zeros((0, 0), np.float32)
        self.proto_owner_ = np.concatenate([np.full(len(v), j) for j, v in enumerate(prototype_vectors)]) \
            if mandates else np.zeros(0, int)
        m = len(self.mandates_)
        self.X_ = np.zeros((0, self.proto_.shape[1] if m else 0), np.float32)
        self.Y_ = np.zeros((0, m), np.float32)
        self.n_confirmed_ = np.zeros(m, int)
        self.heads_: dict[int, object] = {}
        self.calibration_: dict | None = None
        self.score_kind_ = "relevance"
        if X is not None and len(X):
            X = np.asarray(X, np.float32)
            Y = np.asarray(Y, np.float32)
            self.X_, self.Y_ = X, Y
            self.n_confirmed_ = Y.sum(0).astype(int)
            self.heads_ = self._fit_heads(X, Y)
            if texts is not None and self._can_calibrate(Y):
                self._calibrate(X, Y, list(texts))
        return self

    def _fit_heads(self, X, Y) -> dict:
        from sklearn.linear_model import LogisticRegression

        heads = {}
        for j in range(Y.shape[1]):
            pos = int(Y[:, j].sum())
            if pos >= self.min_per_label and len(Y) - pos >= self.min_per_label:
                heads[j] = LogisticRegression(C=1.0, max_iter=2000).fit(X, Y[:, j])
        return heads

    def _can_calibrate(self, Y) -> bool:
        return len(Y) >= self.min_calibration and bool((Y.sum(0) >= self.min_per_label).any())

    def _calibrate(self, X, Y, texts) -> None:
        """Learn how to combine cold start, neighbours and heads, as a probability, from out-of-fold
        predictions on the confirmed records (a logistic regression over the three scores)."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import KFold

        cold = self.cold_scores(X, texts)
        knn, lin = np.zeros_like(Y), np.zeros_like(Y)
        folds = KFold(min(self.cv_folds, len(Y)), shuffle=True, random_state=self.random_state)
        for tr, te in folds.split(X):
            knn[te], lin[te] = self._warm(X[te], X[tr], Y[tr], self._fit_heads(X[tr], Y[tr]))
        y = Y.reshape(-1)
        if len(set(y.tolist())) < 2:
            return
        F = self._features(cold, knn, lin)
        fixed = self._mix(cold, knn, lin, len(X)).reshape(-1)
        stack = LogisticRegression(C=1.0, max_iter=1000).fit(F, y)
        p = stack.predict_proba(F)[:, 1]
        self.stack_ = stack
        self.score_kind_ = "probability"
        self.calibration_ = {"records": int(len(Y)), "folds": folds.get_n_splits(),
                             "weights": {k: round(float(w), 3) for k, w in
                                         zip(("cold", "neighbours", "linear"), stack.coef_[0])},
                             "brier_fixed_mix": round(float(np.mean((fixed - y) ** 2)), 4),
                             "brier_stacked": round(float(np.mean((p - y) ** 2)), 4)}

    @staticmethod
    def _features(cold, knn, lin) -> np.ndarray:
        return np.column_stack([_logit(cold).reshape(-1), knn.reshape(-1), lin.reshape(-1)])

    # -- scoring ---------------------------------------------------------------------------------
    def similarities(self, X) -> np.ndarray:
        """(n, m): best cosine between each text and each mandate's prototypes."""
        S = np.asarray(X, np.float32) @ self.proto_.T
        out = np.full((len(S), len(self.mandates_)), -1.0, np.float32)
        for j in range(len(self.mandates_)):
            cols = self.proto_owner_ == j
            if cols.any():
                out[:, j] = S[:, cols].max(1)
        return out

    def cold_scores(self, X, texts) -> np.ndarray:
        """Relevance in [0, 1] from mandate similarity (standardised across institutions) and keywords."""
        sims = self.similarities(X)
        z = (sims - sims.mean(1, keepdims=True)) / (sims.std(1, keepdims=True) + 1e-6)
        kw = 1.0 - 0.5 ** keyword_hits(texts, self.mandates_)
        return _sigmoid(self.sim_weight * z + self.keyword_weight * kw + self.bias)

    def _neighbours(self, X, Xc, Yc) -> np.ndarray:
        if not len(Xc):
            return np.zeros((len(X), Yc.shape[1]), np.float32)
        S = np.asarray(X, np.float32) @ Xc.T
        k = min(self.n_neighbors, len(Xc))
        idx = np.argpartition(-S, k - 1, axis=1)[:, :k]
        s = np.take_along_axis(S, idx, 1)
        w = np.exp((s - s.max(1, keepdims=True)) / self.tau)
        w /= w.sum(1, keepdims=True)
        return np.einsum("nk,nkm->nm", w, Yc[idx])

    def _warm(self, X, Xc, Yc, heads) -> tuple[np.ndarray, np.ndarray]:
        """Neighbour votes, and the linear heads' probabilities (neighbour votes where no head)."""
        knn = self._neighbours(X, Xc, Yc)
        lin = knn.copy()
        for j, head in heads.items():
            lin[:, j] = head.predict_proba(X)[:, 1]
        return knn, lin

    def _mix(self, cold, knn, lin, n) -> np.ndarray:
        lam = n / (n + self.prior_strength)
        return lam * 0.5 * (knn + lin) + (1 - lam) * cold

    def scores(self, X, texts) -> np.ndarray:
        """(n, m) final scores: probabilities when calibrated, relevances otherwise."""
        cold = self.cold_scores(X, texts)
        if not len(self.X_):
            return cold
        knn, lin = self._warm(X, self.X_, self.Y_, self.heads_)
        if self.score_kind_ == "probability":
            return self.stack_.predict_proba(self._features(cold, knn, lin))[:, 1].reshape(cold.shape)
        return self._mix(cold, knn, lin, len(self.X_))

    def suggest(self, X, texts, exclude: list[set] | None = None) -> list[dict]:
        """Per text: the top-k institutions (key, score, above threshold) and whether to abstain."""
        S = self.scores(X, texts)
        out = []
        for i, row in enumerate(S):
            skip = exclude[i] if exclude else set()
            order = [j for j in np.argsort(-row, kind="stable") if self.keys_[j] not in skip][: self.top_k]
            items = [{"institution": self.keys_[j], "score": round(float(row[j]), 4),
                      "above_threshold": bool(row[j] >= self.threshold)} for j in order]
            out.append({"candidates": items, "abstain": not any(c["above_threshold"] for c in items)})
        return out

    def describe(self) -> dict:
        return {"version": VERSION, "institutions": len(self.keys_), "confirmed_records": int(len(self.X_)),
                "linear_heads": sorted(self.keys_[j] for j in self.heads_), "score_kind": self.score_kind_,
                "threshold": self.threshold, "calibration": self.calibration_}
