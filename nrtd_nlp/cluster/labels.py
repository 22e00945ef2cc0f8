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
    in a cluster get no label for that cluster."""

    def __init__(self, n_keywords: int = 8, n_label_terms: int = 3, min_docs: int = 2):
        self.n_keywords = n_keywords
        self.n_label_terms = n_label_terms
        self.min_docs = min_docs

    def fit(self, texts: list[str], languages: list[str | None], labels: np.ndarray) -> "ClusterLabeler":
        labels = np.asarray(labels)
        langs = np.asarray([lang or "und" for lang in languages])
        self.keywords_: dict[int, dict[str, list[str]]] = {}
        self.labels_: dict[int, dict[str, str]] = {}
        for lang in sorted(set(langs.tolist())):
            idx = np.flatnonzero((langs == lang) & (labels >= 0))
            if len(idx) == 0:
                continue
            self._fit_language(lang, [texts[i] for i in idx], labels[idx])
        return self

    def _vectorizer(self, lang: str, n_docs: int, min_df: int = 2):
        from sklearn.feature_extraction.text import CountVectorizer

        if lang in _CHAR_LANGS:
            return CountVectorizer(analyzer="char", ngram_range=(2, 2), min_df=min(min_df, n_docs),
                                   preprocessor=lambda t: "".join(ch for ch in t if ch.isalnum()))
        return CountVectorizer(ngram_range=(1, 3), min_df=min(min_df, n_docs), lowercase=True,
                               token_pattern=r"(?u)\b[^\W\d_][^\W\d_]+\b")

    def _fit_language(self, lang: str, texts: list[str], labels: np.ndarray) -> None:
        import scipy.sparse as sp

        classes, inverse = np.unique(labels, return_inverse=True)
        import warnings

        D = None
        for min_df in (2, 1):  # a small cluster may share no term twice: then any term
            try:
                cv = self._vectorizer(lang, len(texts), min_df)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # spaCy's list holds contractions ("'ll")
                    D = cv.fit_transform(texts)
                break
            except ValueError:  # nothing left after stop words
                continue
        if D is None:
            return
        terms = cv.get_feature_names_out()
        sw = stop_words(lang)
        if sw:  # stop words may sit inside a phrase ("pena de muerte"), never at its edges
            if lang in _CHAR_LANGS:
                keep = np.asarray([t not in sw for t in terms])
            else:
                keep = np.asarray([not (t.split(" ", 1)[0] in sw or t.rsplit(" ", 1)[-1] in sw) for t in terms])
            D, terms = D[:, keep], terms[keep]
        onehot = sp.csr_matrix((np.ones(len(texts)), (inverse, np.arange(len(texts)))),
                               shape=(len(classes), len(texts)))
        counts = (onehot @ D).toarray().astype(np.float64)
        docs_per_class = np.bincount(inverse, minlength=len(classes))
        per_class = counts.sum(1, keepdims=True)
        per_class[per_class == 0] = 1
        tf = counts / per_class
        idf = np.log(1 + per_class.mean() / np.maximum(counts.sum(0), 1))
        W = tf * idf
        for ci, c in enumerate(classes):
            if docs_per_class[ci] < self.min_docs:
                continue
            order = np.argsort(-W[ci])
            chosen: list[str] = []
            for j in order:
                if W[ci, j] <= 0 or len(chosen) >= self.n_keywords:
                    break
                t = str(terms[j])
                if any(t in c2 for c2 in chosen):  # "death" after "death penalty": nothing new
                    continue
                inside = [i for i, c2 in enumerate(chosen) if c2 in t]
                if inside:  # "death penalty" after "death" (and "penalty"): the phrase replaces them
                    chosen[inside[0]] = t
                    chosen = [c2 for i, c2 in enumerate(chosen) if i not in inside[1:]]
                else:
                    chosen.append(t)
            if chosen:
                self.keywords_.setdefault(int(c), {})[lang] = chosen
                self.labels_.setdefault(int(c), {})[lang] = " · ".join(chosen[: self.n_label_terms])


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
