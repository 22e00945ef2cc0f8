"""The store's TF-IDF state for the link scorer's ``tfidf_cos`` feature, kept on the engine and
persisted beside the vector index, so linking a few new records does not refit it on every text.

Like the language means, it is refitted when the store has grown by a quarter since the last fit
(or when it is missing or was fitted with other settings). Stored as gzipped JSON: the vocabulary
in column order and the IDF weights (no pickle).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from ..store.models import Recommendation

FILE = "link_tfidf.json.gz"
GROWTH = 1.25
PARAMS = {"sublinear_tf": True, "min_df": 2, "ngram_range": [1, 2], "stop_words": "english"}


def make_vectorizer(vocabulary=None):
    from sklearn.feature_extraction.text import TfidfVectorizer

    p = dict(PARAMS, ngram_range=tuple(PARAMS["ngram_range"]))
    return TfidfVectorizer(**p, dtype=np.float32, vocabulary=vocabulary)


def fit_vectorizer(texts):
    """``make_vectorizer`` fitted on ``texts``. A store of a few texts may share no term twice (min_df 2 leaves
    nothing): then every term counts; a text of stop words alone still leaves none, reported as a typed error."""
    from ..errors import ModelUnavailable

    try:
        return make_vectorizer().fit(texts)
    except ValueError:
        pass
    from sklearn.feature_extraction.text import TfidfVectorizer

    p = dict(PARAMS, ngram_range=tuple(PARAMS["ngram_range"]), min_df=1)
    try:
        return TfidfVectorizer(**p, dtype=np.float32).fit(texts)
    except ValueError:
        raise ModelUnavailable(f"the {len(texts)} texts share no words to compare yet; links wait for more "
                               "records (nrtd link)") from None


def save(vec, n_fit: int, path: Path) -> None:
    terms = [t for t, _ in sorted(vec.vocabulary_.items(), key=lambda kv: kv[1])]
    body = {"params": PARAMS, "n_fit": int(n_fit), "terms": terms, "idf": [round(float(x), 6) for x in vec.idf_]}
    tmp = path.with_suffix(".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as f:
        json.dump(body, f)
    tmp.replace(path)


def load(path: Path):
    """(vectorizer, n_fit), or None when the file is absent or was written with other settings."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            body = json.load(f)
    except (FileNotFoundError, OSError, ValueError):
        return None
    if body.get("params") != PARAMS or not body.get("terms"):
        return None
    vec = make_vectorizer({t: i for i, t in enumerate(body["terms"])})
    vec.idf_ = np.asarray(body["idf"], dtype=np.float64)
    return vec, int(body["n_fit"])


def needs_refit(n_fit: int, n_now: int) -> bool:
    return n_fit <= 0 or n_now > GROWTH * n_fit


def store_tfidf(engine):
    """The engine's TF-IDF vectorizer: in memory, else from the file beside the index, else fitted
    on every text in the store (and then only again once the store has grown by a quarter)."""
    with engine.lock:
        with engine.db.session() as s:
            n_now = int(s.scalar(select(func.count(Recommendation.id))) or 0)
        held = getattr(engine, "_link_tfidf", None)
        if held is not None and not needs_refit(held[1], n_now):
            return held[0]
        path = Path(engine.settings.index_dir) / FILE
        loaded = load(path)
        if loaded is None or needs_refit(loaded[1], n_now):
            with engine.db.session() as s:
                texts = list(s.scalars(select(Recommendation.text)))
            vec = fit_vectorizer(texts)
            loaded = (vec, len(texts))
            save(vec, len(texts), path)
        engine._link_tfidf = loaded
        return loaded[0]
