"""USE-m3's forward pass at the batch sizes ``POST /v1/tag`` sees, with and without the token table.

    python benchmarks/use_forward.py [--n 600] [--warm 4000] [--slots 8192] [--repeats 3]

Micro-batches of 1, 5, 10 and 64 texts, one BLAS thread (as the tagging process runs them). For each
size: CPU ms per text with the package's own forward pass, with the token table (``NRTD_USE_TOKEN_CACHE``,
embed/use_token_cache.py) empty at the start (a fresh server), and after ``--warm`` other texts filled it;
the best of ``--repeats`` runs (CPU time, so other processes on the machine disturb it less). Also prints
how far the vectors are from the package's (max |difference|, min cosine), the table's fill and memory.
Texts: evenly spaced rows of ../shared/corpora/upr-info, else the demo corpus.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from embed import load_texts  # noqa: E402  (benchmarks/embed.py: the same real texts)


def per_text_ms(encode, texts: list[str], batch: int) -> float:
    t = time.process_time()
    for i in range(0, len(texts), batch):
        encode(texts[i:i + batch])
    return (time.process_time() - t) / len(texts) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=600, help="texts timed per batch size")
    ap.add_argument("--warm", type=int, default=4000, help="other texts that fill the table first")
    ap.add_argument("--slots", type=int, default=8192)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()

    from nrtd_nlp.embed.composite import USEEmbedder

    pool = load_texts(a.n + a.warm)
    texts, warm = pool[:a.n], pool[a.n:]
    plain = USEEmbedder(threads=1, token_cache=0)
    plain.encode(texts[:2])  # load the weights outside the timings
    ref = plain.encode(texts)

    rows = []
    for batch in (1, 5, 10, 64):
        base = min(per_text_ms(plain.encode, texts, batch) for _ in range(a.repeats))
        cold = []
        for _ in range(a.repeats):  # a fresh table each time: what a just-started server pays
            fresh = USEEmbedder(threads=1, token_cache=a.slots)
            fresh.encode(["x"])
            cold.append(per_text_ms(fresh.encode, texts, batch))
        warmed = USEEmbedder(threads=1, token_cache=a.slots)
        for i in range(0, len(warm), 64):
            warmed.encode(warm[i:i + 64])
        hot = min(per_text_ms(warmed.encode, texts, batch) for _ in range(a.repeats))
        rows.append((batch, base, min(cold), hot))

    got = warmed.encode(texts)
    cos = (got * ref).sum(1)
    c = warmed.token_cache
    print(f"{len(texts)} texts timed, {len(warm)} warm-up texts; one BLAS thread; CPU ms per text, best of {a.repeats}\n")
    print("| batch | package | token table, empty at start | token table, warmed | speed-up (warmed) |")
    print("|---|---|---|---|---|")
    for batch, base, cold, hot in rows:
        print(f"| {batch} | {base:.2f} | {cold:.2f} | {hot:.2f} | {base / hot:.2f}x |")
    hit = c.hits / max(c.hits + c.misses, 1)
    print(f"\nvectors vs the package: max |diff| {np.abs(got - ref).max():.1e}, min cosine {cos.min():.7f}; "
          f"table {c.size}/{c.capacity} token ids ({c.size * (c.X.shape[1] + c.P.shape[1]) * 4 / 2**20:.0f} MB), "
          f"distinct-token hit rate {hit:.3f}")


if __name__ == "__main__":
    main()
