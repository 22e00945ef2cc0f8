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
    """Encode through a per-text cache (one .npz per model id), so re-runs embed only what changed."""
    import hashlib

    from nrtd_nlp.config import get_settings

    safe = "".join(c if c.isalnum() else "_" for c in embedder.model_id)
    path = get_settings().cache_dir / "eval" / f"{safe}.npz"
    cache = dict(np.load(path)) if path.exists() else {}
    keys = [hashlib.sha256(t.encode()).hexdigest()[:32] for t in texts]
    todo = sorted({k: t for k, t in zip(keys, texts) if k not in cache}.items())
    if todo:
        new = embedder.encode([t for _, t in todo])
        cache.update({k: v for (k, _), v in zip(todo, new)})
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **cache)
    return np.stack([cache[k] for k in keys]).astype(np.float32)


AUDIT = Path(__file__).parent / "audits" / "uhri_misaligned.csv"


def load_misaligned() -> set[tuple[str, str]]:
    """Pairs read by a person and found to hold different recommendations in the source."""
    import csv

    with open(AUDIT, encoding="utf-8") as f:
        return {(r["annotation_id"], r["language"]) for r in csv.DictReader(f) if r["verdict"] == "misaligned"}


def same_text(a: str | None, b: str | None, threshold: float = 0.8) -> bool:
    """Lexical near-identity of two English texts (word-set Jaccard), independent of any model."""
    import re

    if not a or not b:
        return False
    wa, wb = set(re.findall(r"\w+", a.lower())), set(re.findall(r"\w+", b.lower()))
    return len(wa & wb) / max(1, len(wa | wb)) >= threshold


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

    misaligned = load_misaligned()
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
        pool_groups = [keys[i][0] for i in pool]
        for name, V in (("raw", vecs), ("centred", centred)):
            sims = V[[pos[(g, "en")] for g in gs]] @ V[pool].T
            top = sims.argmax(1)
            hits = top == gold
            row[f"top1_{name}"] = round(float(hits.mean()), 4)
            if name == "centred":
                # the same paragraph published in several records (CED's paragraph on women and
                # enforced disappearance is in four) is a right answer whichever copy comes first
                dup = np.array([hits[i] or same_text(by[gs[i]].get("en"), by[pool_groups[top[i]]].get("en"))
                                for i in range(len(gs))])
                keep = np.array([(gs[i].removeprefix("uhri:"), lang) not in misaligned for i in range(len(gs))])
                row["top1_duplicate_aware"] = round(float(dup.mean()), 4)
                row["top1_clean"] = round(float(dup[keep].mean()), 4)
                row["audited_misaligned"] = int((~keep).sum())
                row["misses"] = [gs[i].removeprefix("uhri:") for i in np.where(~dup & keep)[0]][:10]
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
    print(f"{'lang':5} {'pairs':>6} {'wrong lang':>10} {'top-1 raw':>10} {'centred':>8} {'dup-aware':>10} "
          f"{'misaligned':>10} {'clean':>7}")
    for lang, r in res["languages"].items():
        print(f"{lang:5} {r['pairs']:6d} {r['dropped_mislabelled']:10d} {r['top1_raw']:10.3f} {r['top1_centred']:8.3f} "
              f"{r['top1_duplicate_aware']:10.3f} {r['audited_misaligned']:10d} {r['top1_clean']:7.3f}")
    print("raw: cosine; centred: per-language mean removed (the product's search); dup-aware: a retrieved "
          "record whose English text is the same paragraph counts; clean: dup-aware without the pairs "
          "audited as misaligned in the source (evaluation/audits/uhri_misaligned.csv)")


if __name__ == "__main__":
    main()
