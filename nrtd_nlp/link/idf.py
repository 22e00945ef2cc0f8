"""The store's TF-IDF state for the link scorer's ``tfidf_cos`` feature, kept on the engine and
persisted beside the vector index, so linking a few new records does not refit it on every text.

The IDF pools the link scorer's reference document frequencies (``reference_idf``: the corpus the
scorer was trained on) with the store's own, per language, so a store of a few hundred records weighs
words on the scale the scorer learnt. Like the language means, it is refitted when the store has
grown by a quarter since the last fit (or when it is missing, was fitted with other settings, or
with another reference). Stored as gzipped JSON: the vocabulary in column order and the IDF weights
(no pickle).
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from ..store.models import Recommendation

FILE = "link_tfidf.json.gz"
GROWTH = 1.25
PARAMS = {"sublinear_tf": True, "min_df": 2, "ngram_range": [1, 2], "stop_words": "english",
          "cjk": "character bigrams"}

# Chinese (and Japanese kana) runs have no spaces: the word pattern read a whole clause as one term, so
# two Chinese texts shared a term only where whole clauses matched. Overlapping character bigrams are the
# usual unit there; on 424 UHRI paragraphs in six languages, the TF-IDF cosine of a pair in Chinese
# follows the same pair's in English with Spearman 0.28 as clauses, 0.79 as bigrams (French 0.79).
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}")


def _bigrams(m: re.Match) -> str:
    run = m.group()
    return " " + " ".join(run[i : i + 2] for i in range(len(run) - 1)) + " "


def preprocess(text: str) -> str:
    """Lower-case, and each run of CJK characters becomes its overlapping character bigrams."""
    return _CJK.sub(_bigrams, text.lower())


def make_vectorizer(vocabulary=None):
    from sklearn.feature_extraction.text import TfidfVectorizer

    p = {k: v for k, v in PARAMS.items() if k != "cjk"}
    p["ngram_range"] = tuple(PARAMS["ngram_range"])
    return TfidfVectorizer(**p, preprocessor=preprocess, dtype=np.float32, vocabulary=vocabulary)


def fit_vectorizer(texts, languages=None, reference=None):
    """A vectorizer with IDF pooled from ``reference`` (``reference_idf.Reference``, or None: the texts
    alone) and ``texts`` per language (``languages``: one per text, or None). Without a reference and
    in one language it is ``make_vectorizer().fit(texts)``. A store of a few texts may share no term
    twice: then every term counts; a text of stop words alone still leaves none, reported as a typed
    error."""
    from ..errors import ModelUnavailable
    from .reference_idf import pooled_idf

    texts = list(texts)
    languages = list(languages) if languages is not None else [None] * len(texts)
    vocab, idf = pooled_idf(reference, texts, languages)
    if not vocab:
        vocab, idf = pooled_idf(reference, texts, languages, min_df=1)
    if not vocab:
        raise ModelUnavailable(f"the {len(texts)} texts share no words to compare yet; links wait for more "
                               "records (nrtd link)")
    vec = make_vectorizer(vocab)
    vec.idf_ = idf
    return vec


def save(vec, n_fit: int, path: Path, reference: str | None = None) -> None:
    terms = [t for t, _ in sorted(vec.vocabulary_.items(), key=lambda kv: kv[1])]
    body = {"params": PARAMS, "reference": reference, "n_fit": int(n_fit), "terms": terms,
            "idf": [round(float(x), 6) for x in vec.idf_]}
    tmp = path.with_suffix(".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as f:
        json.dump(body, f)
    tmp.replace(path)


def load(path: Path, reference: str | None = None):
    """(vectorizer, n_fit), or None when the file is absent or was written with other settings or
    another reference (its SHA-256; None: none)."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            body = json.load(f)
    except (FileNotFoundError, OSError, ValueError):
        return None
    if body.get("params") != PARAMS or not body.get("terms") or body.get("reference") != reference:
        return None
    vec = make_vectorizer({t: i for i, t in enumerate(body["terms"])})
    vec.idf_ = np.asarray(body["idf"], dtype=np.float64)
    return vec, int(body["n_fit"])


def needs_refit(n_fit: int, n_now: int) -> bool:
    return n_fit <= 0 or n_now > GROWTH * n_fit


def store_tfidf(engine, reference_folder: Path | None = None):
    """The engine's TF-IDF vectorizer: in memory, else from the file beside the index, else fitted on
    every text in the store pooled with the reference in ``reference_folder`` (the link scorer's
    bundle; none: the store alone), and then only again once the store has grown by a quarter."""
    from .reference_idf import load as load_reference

    reference = load_reference(reference_folder)
    ref_sha = reference.sha256 if reference else None
    with engine.lock:
        with engine.db.session() as s:
            n_now = int(s.scalar(select(func.count(Recommendation.id))) or 0)
        held = getattr(engine, "_link_tfidf", None)
        if held is not None and held[2] == ref_sha and not needs_refit(held[1], n_now):
            return held[0]
        path = Path(engine.settings.index_dir) / FILE
        loaded = load(path, ref_sha)
        if loaded is None or needs_refit(loaded[1], n_now):
            with engine.db.session() as s:
                rows = s.execute(select(Recommendation.text, Recommendation.language)).all()
            vec = fit_vectorizer([r.text for r in rows], [r.language for r in rows], reference)
            loaded = (vec, len(rows))
            save(vec, len(rows), path, ref_sha)
        engine._link_tfidf = (*loaded, ref_sha)
        return loaded[0]
