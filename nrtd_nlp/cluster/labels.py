"""Cluster labels: class-based TF-IDF keywords per language, with spaCy's stop words.

For each language, the texts of that language are counted per cluster (one "class document" per
cluster) and each term is weighted by tf(term, cluster) * log(1 + A / f(term)), with A the average
number of terms per class and f the term's count over all classes (c-TF-IDF, as in BERTopic).
A cluster holding several languages gets keywords and a label in each of them. Chinese, Japanese
and Thai, written without spaces, are counted in character bigrams.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

_CHAR_LANGS = {"zh", "ja", "th"}
_PARTICLES = frozenset("的了")  # a character bigram holding one of these is no keyword ("童的", "的儿")
_MAX_GROWN = 4  # characters a bigram may grow to ("候变" -> "气候变化")


def _alnum(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


# French (Italian, Catalan) elisions: "qu'il", "l'État", "jusqu'à" counted "qu", "l" and "jusqu" as words, and
# "qu" became a keyword of French clusters; the elided article or conjunction is dropped before counting
_ELISION_LANGS = {"fr", "it", "ca"}
_ELISION = None


def _unelide(text: str) -> str:
    global _ELISION
    if _ELISION is None:
        import re

        _ELISION = re.compile(r"(?i)\b(?:[cdjlmnst]|qu|jusqu|lorsqu|puisqu|quoiqu|presqu|quelqu|dell|all|dall|"
                              r"nell|sull|un)['’](?=\w)")
    return _ELISION.sub("", text.lower())


@lru_cache(maxsize=None)
def stop_words(lang: str) -> frozenset[str]:
    """spaCy's stop-word list for a language (no model download); empty when spaCy has none.

    Read from ``spacy/lang/<lang>/stop_words.py`` alone (a plain set, no imports): importing spaCy's
    language class took 5-8 s a language (spaCy, thinc, lookups), paid by a reviewer's first cluster split."""
    import importlib.util
    import re

    if not re.fullmatch(r"[a-z]{2,3}", lang or ""):
        return frozenset()
    try:
        spec = importlib.util.find_spec("spacy")  # finds the package without importing it
        path = Path(spec.submodule_search_locations[0]) / "lang" / lang / "stop_words.py"
        if not path.is_file():
            return frozenset()
        mod_spec = importlib.util.spec_from_file_location(f"_nrtd_stop_words_{lang}", path)
        mod = importlib.util.module_from_spec(mod_spec)
        mod_spec.loader.exec_module(mod)
        return frozenset(w.lower() for w in mod.STOP_WORDS)
    except Exception:
        return frozenset()


class ClusterLabeler:
    """``fit(texts, languages, labels)`` -> ``keywords_`` {cluster: {lang: [terms]}} and
    ``labels_`` {cluster: {lang: "t1 · t2 · t3"}}. Languages with fewer than ``min_docs`` texts
    in a cluster get no label for that cluster, unless no language of the cluster reaches ``min_docs``
    (members spread over languages): then each of its languages is labelled from what it has."""

    def __init__(self, n_keywords: int = 8, n_label_terms: int = 3, min_docs: int = 2):
        self.n_keywords = n_keywords
        self.n_label_terms = n_label_terms
        self.min_docs = min_docs

    def fit(self, texts: list[str], languages: list[str | None], labels: np.ndarray) -> "ClusterLabeler":
        labels = np.asarray(labels)
        langs = np.asarray([lang or "und" for lang in languages])
        self.keywords_: dict[int, dict[str, list[str]]] = {}
        self.labels_: dict[int, dict[str, str]] = {}
        self._thin: dict[int, dict[str, list[str]]] = {}  # keywords of languages below min_docs in a cluster
        for lang in sorted(set(langs.tolist())):
            idx = np.flatnonzero((langs == lang) & (labels >= 0))
            if len(idx) == 0:
                continue
            self._fit_language(lang, [texts[i] for i in idx], labels[idx])
        for c, by_lang in self._thin.items():
            if c not in self.keywords_:  # a cluster of few texts in many languages: better thin than no label
                for lang, chosen in by_lang.items():
                    self._keep(c, lang, chosen)
        del self._thin
        return self

    def _keep(self, c: int, lang: str, chosen: list[str]) -> None:
        self.keywords_.setdefault(c, {})[lang] = chosen
        self.labels_.setdefault(c, {})[lang] = " · ".join(chosen[: self.n_label_terms])

    def _vectorizer(self, lang: str, n_docs: int, min_df: int = 2):
        from sklearn.feature_extraction.text import CountVectorizer

        if lang in _CHAR_LANGS:
            return CountVectorizer(analyzer="char", ngram_range=(2, 2), min_df=min(min_df, n_docs),
                                   preprocessor=_alnum)
        return CountVectorizer(ngram_range=(1, 3), min_df=min(min_df, n_docs), lowercase=True,
                               preprocessor=_unelide if lang in _ELISION_LANGS else None,
                               token_pattern=r"(?u)\b[^\W\d_][^\W\d_]+\b")

    def _fit_language(self, lang: str, texts: list[str], labels: np.ndarray) -> None:
        classes, inverse = np.unique(labels, return_inverse=True)
        docs_per_class = np.bincount(inverse, minlength=len(classes))
        fitted = self._weights(lang, texts, inverse, len(classes), (2, 1))
        if fitted is None:
            return
        W, terms, min_df = fitted
        loose = None  # every term counted: for a text alone in its language, or a cluster sharing no term twice
        corpus = "\n".join(_alnum(t) for t in texts) if lang in _CHAR_LANGS else None
        for ci, c in enumerate(classes):
            thin = docs_per_class[ci] < self.min_docs
            chosen = [] if thin and min_df > 1 else self._pick(W[ci], terms, corpus)
            if not chosen and min_df > 1:
                loose = loose or self._weights(lang, texts, inverse, len(classes), (1,))
                chosen = self._pick(loose[0][ci], loose[1], corpus) if loose else []
            if chosen and thin:
                self._thin.setdefault(int(c), {})[lang] = chosen
            elif chosen:
                self._keep(int(c), lang, chosen)

    def _weights(self, lang: str, texts: list[str], inverse: np.ndarray, n_classes: int, min_dfs: tuple[int, ...]):
        """(c-TF-IDF weights classes x terms, terms, the min_df used), trying each min_df in turn until some term
        other than a stop word is left; None when none is."""
        import scipy.sparse as sp

        for min_df in min_dfs:  # a small cluster may share no term twice: then any term
            D, terms = self._counts(lang, texts, min_df)
            if D is not None and D.shape[1]:
                break
        else:
            return None
        onehot = sp.csr_matrix((np.ones(len(texts)), (inverse, np.arange(len(texts)))),
                               shape=(n_classes, len(texts)))
        counts = (onehot @ D).toarray().astype(np.float64)
        per_class = counts.sum(1, keepdims=True)
        per_class[per_class == 0] = 1
        tf = counts / per_class
        idf = np.log(1 + per_class.mean() / np.maximum(counts.sum(0), 1))
        return tf * idf, terms, min_df

    def _counts(self, lang: str, texts: list[str], min_df: int):
        """(documents x terms counts, terms) without stop words at a term's edges; (None, None) when none is left."""
        import warnings

        try:
            cv = self._vectorizer(lang, len(texts), min_df)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # spaCy's list holds contractions ("'ll")
                D = cv.fit_transform(texts)
        except ValueError:  # nothing left after stop words
            return None, None
        terms = cv.get_feature_names_out()
        sw = stop_words(lang)
        if sw:  # stop words may sit inside a phrase ("pena de muerte"), never at its edges
            if lang in _CHAR_LANGS:
                keep = np.asarray([t not in sw and not _PARTICLES.intersection(t) for t in terms])
            else:
                keep = np.asarray([not (t.split(" ", 1)[0] in sw or t.rsplit(" ", 1)[-1] in sw) for t in terms])
            D, terms = D[:, keep], terms[keep]
        return D, terms

    def _pick(self, w: np.ndarray, terms, corpus: str | None = None) -> list[str]:
        """The best-weighted terms, a phrase standing in for the words inside it. With ``corpus`` (the language's
        texts, for languages counted in character bigrams) a bigram first grows into the word it is part of."""
        chosen: list[str] = []
        for j in np.argsort(-w):
            if w[j] <= 0 or len(chosen) >= self.n_keywords:
                break
            t = _grow(str(terms[j]), corpus) if corpus else str(terms[j])
            if any(t in c2 for c2 in chosen):  # "death" after "death penalty": nothing new
                continue
            inside = [i for i, c2 in enumerate(chosen) if c2 in t]
            if corpus and not inside and any(_overlap(t, c2) for c2 in chosen):  # "击种族主" after "种族主义"
                continue
            if inside:  # "death penalty" after "death" (and "penalty"): the phrase replaces them
                chosen[inside[0]] = t
                chosen = [c2 for i, c2 in enumerate(chosen) if i not in inside[1:]]
            else:
                chosen.append(t)
        return chosen


def _overlap(a: str, b: str) -> bool:
    """Two character-counted terms share a bigram."""
    return any(a[i : i + 2] in b for i in range(len(a) - 1))


def _grow(term: str, corpus: str, share: float = 0.7) -> str:
    """A character bigram that straddles words ("候变" of "气候变化") grows, one character at a time, while a
    character follows (or precedes) it in at least ``share`` of its occurrences in the corpus, up to
    ``_MAX_GROWN`` characters; a bigram that is a word ("儿童") is followed by many different characters and stays."""
    from collections import Counter

    while len(term) < _MAX_GROWN:
        n = corpus.count(term)
        if n < 3:  # too rare to tell a word from the one sentence it comes from
            break
        after, before = Counter(), Counter()
        start = corpus.find(term)
        while start >= 0:
            end = start + len(term)
            if end < len(corpus) and corpus[end].isalnum() and corpus[end] not in _PARTICLES:
                after[corpus[end]] += 1
            if start > 0 and corpus[start - 1].isalnum() and corpus[start - 1] not in _PARTICLES:
                before[corpus[start - 1]] += 1
            start = corpus.find(term, start + 1)
        (a, na), (b, nb) = (after.most_common(1) or [("", 0)])[0], (before.most_common(1) or [("", 0)])[0]
        if max(na, nb) < share * n or not (a or b):
            break
        term = term + a if na >= nb else b + term
    return term


def main_label(labels: dict[str, str] | None, sizes: dict[str, int] | None = None) -> str | None:
    """One display label: English when present, else the cluster's largest language."""
    if not labels:
        return None
    if "en" in labels:
        return labels["en"]
    if sizes:
        for lang, _ in sorted(sizes.items(), key=lambda kv: -kv[1]):
            if lang in labels:
                return labels[lang]
    return next(iter(labels.values()))
