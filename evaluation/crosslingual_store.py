"""The same cross-lingual check through the product itself: import the UHRI file into a fresh
store (language detection, segmentation, embedding, centring, FAISS), then run ``search`` with
each English record as the query and ``language`` as the filter, as a user of ``nrtd search`` would.

    python -m evaluation.crosslingual_store [--embedder e5-use]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from .crosslingual import LANGS, UHRI, load_misaligned, same_text


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--embedder", default="e5-use")
    ap.add_argument("--home", default=None, help="reuse a store folder (vectors cached there)")
    args = ap.parse_args()
    from sqlalchemy import select

    from nrtd_nlp.config import Settings, get_settings
    from nrtd_nlp.services.context import Engine
    from nrtd_nlp.services.imports import import_file
    from nrtd_nlp.services.search import Filters, search
    from nrtd_nlp.store.models import Recommendation

    home = Path(args.home or tempfile.mkdtemp(prefix="nrtd-xl-"))
    engine = Engine(Settings(home=home, cache_dir=get_settings().cache_dir, embedder=args.embedder))
    t0 = time.perf_counter()
    res = import_file(engine, UHRI)
    print(f"imported {res.rows_read} rows ({res.children} sub-items), {res.embedded} embedded in "
          f"{time.perf_counter() - t0:.0f} s; store {home}")
    with engine.db.session() as s:
        recs = s.scalars(select(Recommendation).where(Recommendation.parent_id.is_(None),
                                                      Recommendation.source == "uhri")).all()
        by: dict[str, dict[str, Recommendation]] = {}
        for r in recs:
            by.setdefault(r.translation_group, {})[r.external_id.rsplit(":", 1)[1]] = r
    misaligned = load_misaligned()
    print(f"{'lang':5} {'pairs':>6} {'top-1':>7} {'dup-aware':>10} {'clean':>7}")
    for lang in LANGS:
        n = hit = dup = clean_n = clean_hit = 0
        for g, d in by.items():
            if "en" not in d or lang not in d or d[lang].language != lang or d["en"].language != "en":
                continue
            top = search(engine, d["en"].text, k=1, filters=Filters(language=lang, source="uhri"))
            got = top[0]["translation_group"] if top else None
            ok = got == g
            okd = ok or (got in by and same_text(d["en"].text, by[got].get("en").text if by[got].get("en") else None))
            n, hit, dup = n + 1, hit + ok, dup + okd
            if (g.removeprefix("uhri:"), lang) not in misaligned:
                clean_n, clean_hit = clean_n + 1, clean_hit + okd
        print(f"{lang:5} {n:6d} {hit / n:7.3f} {dup / n:10.3f} {clean_hit / clean_n:7.3f}")


if __name__ == "__main__":
    main()
