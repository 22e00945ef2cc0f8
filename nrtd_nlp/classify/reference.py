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
    return texts, langs


def reference_centering(embedder, cache_dir: Path | None = None) -> LanguageCentering:
    """Language means of ``embedder`` on the reference corpus (cached per model id)."""
    texts, langs = reference_texts()
    path = None
    if cache_dir is not None:
        safe = "".join(c if c.isalnum() else "_" for c in embedder.model_id)
        path = Path(cache_dir) / "reference" / f"{safe}.npz"
        if path.is_file():
            z = np.load(path)
            if int(z["n"]) == len(texts):
                c = LanguageCentering(min_count=30, min_total=200)
                c.n_fit_ = int(z["n"])
                c.global_mean_ = z["global"]
                c.means_ = {k[5:]: z[k] for k in z.files if k.startswith("lang_")}
                return c
    V = embedder.encode(texts)
    c = LanguageCentering(min_count=30, min_total=200).fit(V, langs)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, n=len(texts), **{"global": c.global_mean_}, **{f"lang_{k}": v for k, v in c.means_.items()})
    return c
