"""Cross-lingual retrieval on UHRI records published in six languages.

    python -m evaluation.crosslingual [--embedder e5-small] [--limit N] [--json]

With each English text as the query, is its own translation the top hit among all records of the
other language? Reported per language (target >= 98 %), raw cosine and after per-language mean
centring (the product's search), with the misses' ids for inspection.
Texts are normalised by the same reader the product uses (paragraph numbers and State suffixes
removed, so the match is on content). Vectors are cached in a store under NRTD_HOME.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
UHRI = ROOT.parent / "shared" / "corpora" / "uhri-multilingual" / "uhri_multilingual_dev.csv"
LANGS = ("es", "fr", "ar", "ru", "zh")


def cached_encode(embedder, texts: list[str]) -> np.ndarray:
    """Encode through a .npy cache keyed by model id and texts (evaluation re-runs are cheap)."""
    import hashlib

    from nrtd_nlp.config import get_settings

    key = hashlib.sha256((embedder.model_id + "\x00" + "\x00".join(texts)).encode()).hexdigest()[:24]
    path = get_settings().cache_dir / "eval" / f"{key}.npy"
    if path.exists():
        return np.load(path)
    vecs = embedder.encode(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vecs)
    return vecs


def evaluate(embedder, limit: int | None = None) -> dict:
    from nrtd_nlp.ingest.readers import read_file

    _, recs = read_file(UHRI)
    by = {}
    for r in recs:
        by.setdefault(r.translation_group, {})[r.language] = r.text
    groups = [g for g, d in by.items() if "en" in d][: limit or None]
    texts, keys = [], []
    for g in groups:
        for lang, t in by[g].items():
            texts.append(t)
            keys.append((g, lang))
    t0 = time.perf_counter()
    vecs = cached_encode(embedder, texts)
    secs = time.perf_counter() - t0
    pos = {k: i for i, k in enumerate(keys)}
    from nrtd_nlp.embed.centering import LanguageCentering
    from nrtd_nlp.ingest.language import LanguageDetector

    det = LanguageDetector()
    detected = [det.detect(t)[0] for t in texts]
    centred = LanguageCentering().fit(vecs, detected).transform(vecs, detected)
    out = {"embedder": embedder.model_id, "records": len(groups), "texts": len(texts),
           "embed_seconds": round(secs, 1), "languages": {}}
    for lang in LANGS:
        # the product's search: candidates are the records *detected* as this language (a UHRI cell
        # that holds French text is a French record); pairs whose gold cell is not in `lang` are dropped
        gs = [g for g in groups if lang in by[g] and detected[pos[(g, lang)]] == lang]
        pool = [i for i, d in enumerate(detected) if d == lang]
        gold = np.asarray([pool.index(pos[(g, lang)]) for g in gs])
        row = {"pairs": len(gs), "dropped_mislabelled": sum(1 for g in groups if lang in by[g]) - len(gs)}
        for name, V in (("raw", vecs), ("centred", centred)):
            sims = V[[pos[(g, "en")] for g in gs]] @ V[pool].T
            hits = sims.argmax(1) == gold
            row[f"top1_{name}"] = round(float(hits.mean()), 4)
            if name == "centred":
                row["misses"] = [gs[i].removeprefix("uhri:") for i in np.where(~hits)[0]][:10]
        out["languages"][lang] = row
    out["_by"], out["_vecs"], out["_pos"] = by, vecs, pos
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--embedder", default="e5-small")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from nrtd_nlp.embed.base import get_embedder

    res = evaluate(get_embedder(args.embedder), args.limit)
    for k in ("_by", "_vecs", "_pos"):
        res.pop(k)
    if args.json:
        print(json.dumps(res, indent=1))
        return
    print(f"embedder {res['embedder']}: {res['records']} records, {res['texts']} texts embedded in "
          f"{res['embed_seconds']} s")
    print(f"{'lang':5} {'pairs':>6} {'mislabelled':>11} {'top-1 raw':>10} {'top-1 centred':>14}")
    for lang, r in res["languages"].items():
        print(f"{lang:5} {r['pairs']:6d} {r['dropped_mislabelled']:11d} {r['top1_raw']:10.3f} {r['top1_centred']:14.3f}")


if __name__ == "__main__":
    main()
