import numpy as np

from nrtd_nlp.embed.centering import LanguageCentering


def _data(n=400, d=16, seed=0):
    rng = np.random.default_rng(seed)
    topics = rng.normal(size=(n // 2, d))
    offset = {"en": rng.normal(size=d) * 3, "zh": rng.normal(size=d) * 3}
    en = topics + offset["en"] + 0.1 * rng.normal(size=topics.shape)
    zh = topics + offset["zh"] + 0.1 * rng.normal(size=topics.shape)
    X = np.vstack([en, zh]).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X, ["en"] * (n // 2) + ["zh"] * (n // 2)


def test_centring_recovers_translations_hidden_by_language_offsets():
    X, langs = _data()
    half = len(X) // 2
    raw = (X[:half] @ X[half:].T).argmax(1) == np.arange(half)
    c = LanguageCentering().fit(X, langs)
    Y = c.transform(X, langs)
    centred = (Y[:half] @ Y[half:].T).argmax(1) == np.arange(half)
    assert centred.mean() > 0.95 and centred.mean() > raw.mean()
    assert np.allclose(np.linalg.norm(Y, axis=1), 1, atol=1e-5)


def test_round_trip_small_store_and_unknown_language():
    X, langs = _data()
    c = LanguageCentering().fit(X, langs)
    c2 = LanguageCentering.from_dict(c.to_dict())
    assert np.allclose(c.transform(X[:3], ["en", "zh", "xx"]), c2.transform(X[:3], ["en", "zh", "xx"]))
    small = LanguageCentering().fit(X[:50], langs[:50])
    assert not small.fitted and np.allclose(small.transform(X[:5], langs[:5]), X[:5], atol=1e-6)
    assert LanguageCentering.from_dict(small.to_dict()).n_fit_ == 50
