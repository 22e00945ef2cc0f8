"""Reference document frequencies for the link scorer's TF-IDF overlap features (``tfidf_cos``,
``clause_coverage``), shipped in the scorer's bundle as ``idf.json.gz``.

Why: the scorer was trained with IDF weights from the 36k-record UPR Info corpus. A national store
holds a few hundred recommendations, and IDF fitted on those alone is another scale: words such as
"ensure" and "children" become rare, the few terms left weigh heavily, and unrelated asks look
alike ("Ensure that all children are registered at birth" / "Ensure access to inclusive education
for children with disabilities": TF-IDF cosine 0.61 on the demo store against 0.03 on the corpus,
and P(related) 0.99). On the UPR gold pairs, IDF fitted on each State's own records (69-438 texts)
lowered related precision from 0.83 to 0.78 (README).

So the store's IDF pools the reference with the store, per language: for a term of language L,
``idf = ln((1 + N_ref(L) + N_store(L)) / (1 + df_ref(L) + df_store(L))) + 1`` (scikit-learn's smooth
IDF over both collections together), keeping terms seen in at least two documents of the pool. A
store's own words (a national law's name) join with their store counts; as the store grows its own
statistics weigh more. A term spelt the same in several languages ("national", "violence") takes the
IDF of the language whose store records use it most (else of the largest pool, English for the
shipped bundle): one vectorizer serves the whole store.

The file holds, per language, the number of documents and each term's document frequency (no
text). English comes from the corpus the scorer was trained on; other languages from whatever
corpora `nrtd train-links --idf-corpus` was given (the shipped bundle: UHRI's six languages).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FILE = "idf.json.gz"


def lang_key(language: str | None) -> str:
    """``zh-Hans`` and ``zh`` pool together; records of no known language form their own pool."""
    return (language or "und").split("-")[0].lower() or "und"


def _analyzer():
    from .idf import make_vectorizer

    return make_vectorizer().build_analyzer()


def document_frequencies(texts, analyzer=None) -> Counter:
    """How many of ``texts`` contain each term (the link vectorizer's own analyzer: words and bigrams,
    English stop words left out)."""
    analyzer = analyzer or _analyzer()
    df: Counter = Counter()
    for t in texts:
        df.update(set(analyzer(t or "")))
    return df


@dataclass
class Reference:
    documents: dict[str, int]  # language -> number of documents
    df: dict[str, dict[str, int]]  # language -> term -> document frequency
    sha256: str
    sources: list

    @property
    def terms(self) -> int:
        return sum(len(d) for d in self.df.values())


def build(texts_by_language: dict[str, list[str]], sources: list | None = None) -> dict:
    """The file's body from texts grouped by language; terms seen in one document only are left out
    (they never make two texts alike, and the pool counts them again when the store has them)."""
    from .idf import PARAMS

    analyzer = _analyzer()
    langs = {}
    for lang, texts in sorted(texts_by_language.items()):
        df = document_frequencies(texts, analyzer)
        kept = sorted((t, n) for t, n in df.items() if n >= 2)
        langs[lang_key(lang)] = {"documents": len(texts), "terms": [t for t, _ in kept], "df": [n for _, n in kept]}
    return {"params": PARAMS, "languages": langs, "sources": sources or []}


def encode(body: dict) -> bytes:
    """The file's bytes: the same body always gives the same bytes (gzip header without a time)."""
    data = json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return gzip.compress(data, mtime=0)


def save(body: dict, folder: Path, data: bytes | None = None) -> str:
    """Write ``idf.json.gz`` into ``folder`` (atomically); returns the file's SHA-256."""
    data = encode(body) if data is None else data
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return hashlib.sha256(data).hexdigest()


def from_body(body: dict, sha256: str = "") -> Reference:
    langs = body.get("languages") or {}
    return Reference({k: int(v["documents"]) for k, v in langs.items()},
                     {k: dict(zip(v["terms"], map(int, v["df"]))) for k, v in langs.items()},
                     sha256, body.get("sources") or [])


_CACHE: dict[tuple, Reference | None] = {}


def load(folder: Path | None) -> Reference | None:
    """The bundle's reference, or None when it has none (a bundle trained before it existed: the store's
    own IDF is used, per language). Kept in memory per file version."""
    if folder is None:
        return None
    path = Path(folder) / FILE
    try:
        st = path.stat()
    except OSError:
        return None
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key not in _CACHE:
        from .idf import PARAMS

        raw = path.read_bytes()
        body = json.loads(gzip.decompress(raw).decode("utf-8"))
        ok = body.get("params") == PARAMS
        _CACHE[key] = from_body(body, hashlib.sha256(raw).hexdigest()) if ok else None
    return _CACHE[key]


def pooled_idf(reference: Reference | None, texts: list[str], languages: list[str | None],
               min_df: int = 2) -> tuple[dict[str, int], np.ndarray]:
    """(vocabulary, idf) over the reference and the store's ``texts`` pooled per language; an empty
    vocabulary when no term reaches ``min_df`` in any language."""
    analyzer = _analyzer()
    by_lang: dict[str, list[str]] = {}
    for t, lang in zip(texts, languages):
        by_lang.setdefault(lang_key(lang), []).append(t)
    ref_docs = reference.documents if reference else {}
    ref_df = reference.df if reference else {}
    best: dict[str, tuple[int, int, float]] = {}  # term -> (store df, pool size, idf) of the language kept
    for lang in sorted(set(by_lang) | set(ref_docs)):
        store_df = document_frequencies(by_lang.get(lang, ()), analyzer)
        rdf = ref_df.get(lang, {})
        n = ref_docs.get(lang, 0) + len(by_lang.get(lang, ()))
        for t in set(rdf) | set(store_df):
            d = rdf.get(t, 0) + store_df.get(t, 0)
            if d < min_df:
                continue
            cand = (store_df.get(t, 0), n, float(np.log((1 + n) / (1 + d)) + 1.0))
            if t not in best or cand[:2] > best[t][:2]:
                best[t] = cand
    terms = sorted(best)
    return {t: i for i, t in enumerate(terms)}, np.asarray([best[t][2] for t in terms], dtype=np.float64)
