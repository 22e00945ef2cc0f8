"""A fixed, parallel reference corpus for language centring of tagger inputs.

Taggers must not depend on what happens to be in a store, so their language means come from the
shipped SDG goals and targets, the same texts in six languages (``corpora/sdg``, MIT): with parallel
texts the per-language means differ only by each language's offset, not by topic. Portuguese and
other languages without reference texts fall back to the mean of all languages. The means are fitted
once per embedder and kept in the cache folder; bundles store the means they were trained with.
"""

from __future__ import annotations

import csv
from importlib.resources import files
from pathlib import Path

import numpy as np

from ..embed.centering import LanguageCentering

_COLS = {"en": "en", "es": "es", "fr": "fr", "ar": "ar", "ru": "ru", "zh": "zh-Hans"}


def reference_texts() -> tuple[list[str], list[str]]:
    base = Path(str(files("nrtd_nlp") / "corpora" / "sdg"))
    texts, langs = [], []
    with open(base / "sdg_goals.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            for lang, col in _COLS.items():
                for key in (f"short_{col}", f"title_{col}"):
                    if row.get(key):
                        texts.append(row[key])
                        langs.append(lang)
    with open(base / "sdg_targets.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            for lang, col in _COLS.items():
                if row.get(f"text_{col}"):
                    texts.append(row[f"text_{col}"])
                    langs.append(lang)
    # the opening words carry a text's language as well as the whole text does, at a fraction of the cost
    texts = [_head(t) for t in texts]
    return texts, langs


def _head(text: str, limit: int = 90) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut[: cut.rfind(" ")] if " " in cut[20:] else cut


def _texts_key(texts: list[str]) -> str:
    import hashlib

    return hashlib.sha256("\x1f".join(texts).encode()).hexdigest()[:16]


_MEMO: dict[str, LanguageCentering] = {}


def reference_centering(embedder, cache_dir: Path | None = None) -> LanguageCentering:
    """Language means of ``embedder`` on the reference corpus (cached per model id, on disk and in memory)."""
    if embedder.model_id not in _MEMO:
        _MEMO[embedder.model_id] = _reference_centering(embedder, cache_dir)
    return _MEMO[embedder.model_id]


def _reference_centering(embedder, cache_dir: Path | None) -> LanguageCentering:
    texts, langs = reference_texts()
    path = None
    if cache_dir is not None:
        safe = "".join(c if c.isalnum() else "_" for c in embedder.model_id)
        path = Path(cache_dir) / "reference" / f"{safe}.npz"
        if path.is_file():
            z = np.load(path)
            if "key" in z.files and str(z["key"]) == _texts_key(texts):
                c = LanguageCentering(min_count=30, min_total=200)
                c.n_fit_ = int(z["n"])
                c.global_mean_ = z["global"]
                c.means_ = {k[5:]: z[k] for k in z.files if k.startswith("lang_")}
                return c
    V = embedder.encode(texts)
    c = LanguageCentering(min_count=30, min_total=200).fit(V, langs)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, n=len(texts), key=_texts_key(texts), **{"global": c.global_mean_}, **{f"lang_{k}": v for k, v in c.means_.items()})
    return c
