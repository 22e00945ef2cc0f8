"""The fast TF-IDF path and the cached transposed head weights give what scikit-learn gives; SVM heads,
the stacked single-label tagger and threshold shrinking."""

import numpy as np
from scipy import sparse

from nrtd_nlp.classify.features import TextFeatures
from nrtd_nlp.classify.heads import LinearHead
from nrtd_nlp.classify.tagger import Tagger

TEXTS = [
    "Ratify the Optional Protocol to the Convention against Torture",
    "Ensure access to education for all children, including girls in rural areas",
    "Adopt a comprehensive law against domestic violence and marital rape",
    "Continue its efforts to combat trafficking in persons, especially women and children",
    "Establish a national preventive mechanism in line with OP-CAT",
    "Guarantee freedom of expression and protect journalists and human rights defenders",
    "Take further steps to ensure access to education for children with disabilities",
    "Consider ratifying the Convention on the Rights of Persons with Disabilities",
] * 3


def test_fast_tfidf_matches_sklearn():
    for blocks in (("word", "char"), ("word", "lead"), ("word",)):
        f = TextFeatures(blocks, 5000).fit(TEXTS)
        queries = TEXTS[:5] + ["", "zzzz qqq", "Ratificar la Convención contra la Tortura",
                               "  Ratify\tthe  CAT\n\nand the CAT  ", "a I", "批准《禁止酷刑公约》", "ratify RATIFY Ratify"]
        f.transform(queries[::-1])  # char blocks remember words: the second pass reads them back
        fast = f.transform(queries)
        ref = sparse.hstack([f.vectorizers_[k].transform(f._input(k, queries)) for k in blocks]).tocsr()
        assert fast.shape == ref.shape and fast.dtype == np.float32
        assert fast.nnz == ref.nnz
        assert abs(fast - ref).max() < 1e-6
        assert f.transform([]).shape == (0, ref.shape[1])


def test_state_round_trip_keeps_features():
    f = TextFeatures(("word", "char"), 5000).fit(TEXTS)
    meta, arrays = f.to_state()
    g = TextFeatures.from_state(meta, arrays)
    assert abs(f.transform(TEXTS) - g.transform(TEXTS)).max() < 1e-6


def test_head_transposed_weights_follow_refit():
    rng = np.random.RandomState(0)
    X = sparse.csr_matrix(rng.rand(40, 12).astype(np.float32))
    Y = (rng.rand(40, 3) > 0.5).astype(np.int8)
    h = LinearHead(1.0, multilabel=True).fit(X, Y)
    before = h.decision_function(X)
    np.testing.assert_allclose(before, X.toarray() @ h.coef_.T + h.intercept_, rtol=1e-5, atol=1e-5)
    h.fit(X, 1 - Y)  # refitted: the cached transpose must not be reused
    np.testing.assert_allclose(h.decision_function(X), X.toarray() @ h.coef_.T + h.intercept_, rtol=1e-5, atol=1e-5)


def _toy(n=240, seed=0):
    """Texts whose class follows the opening verb, with an embedding that half knows it."""
    rng = np.random.RandomState(seed)
    verbs = ["continue", "consider", "ratify", "strengthen"]
    topics = ["education", "torture", "women", "prisons", "journalists", "water"]
    y = rng.randint(0, 4, n)
    texts = [f"{verbs[k]} the work on {topics[rng.randint(6)]} and {topics[rng.randint(6)]}" for k in y]
    X = rng.randn(n, 8).astype(np.float32)
    X[np.arange(n), y] += 1.0
    return texts, X, y


def test_hinge_head_scores_follow_its_margins():
    texts, X, y = _toy()
    h = LinearHead(0.5, multilabel=False, loss="hinge").fit(X, y)
    Z = h.decision_function(X)
    P = h.predict_proba(X)
    assert np.allclose(P.sum(1), 1, atol=1e-5) and (P.argmax(1) == Z.argmax(1)).all()
    g = LinearHead.from_arrays(h.to_arrays("t"), "t", multilabel=False, loss="hinge")
    np.testing.assert_allclose(g.predict_proba(X), P, atol=1e-6)


def test_stacked_tagger_round_trips_through_a_bundle(tmp_path):
    from nrtd_nlp.classify.bundle import load_bundle, save_bundle
    from nrtd_nlp.embed.centering import LanguageCentering

    texts, X, y = _toy()
    langs = ["en"] * len(texts)
    ids = ["c0", "c1", "c2", "c3"]
    t = Tagger("toy", ids, multilabel=False, text_blocks=("word", "lead"), extra_heads=(("hinge", 0.3),),
               stack_C=0.1).fit(texts, X, y, langs)
    assert t.stacker_ is not None and len(t.extra_heads_) == 1
    assert t.validation_["stacked"].startswith("out-of-fold") and t.validation_["accuracy"] > 0.9
    P = t.predict_proba(texts[:20], X[:20], langs[:20])
    assert np.allclose(P.sum(1), 1, atol=1e-5) and (P.argmax(1) == y[:20]).mean() > 0.9
    # another language: the embedding head alone, never the stacker over text heads
    Q = t.predict_proba(texts[:5], X[:5], ["xx"] * 5)
    np.testing.assert_allclose(Q, t.calibration_emb_.transform(t.emb_head_.predict_proba(X[:5])) /
                               t.calibration_emb_.transform(t.emb_head_.predict_proba(X[:5])).sum(1, keepdims=True),
                               atol=1e-6)
    folder = save_bundle(t, LanguageCentering(), tmp_path / "toy", {"name": "toy", "version": "1"})
    u, _, meta = load_bundle(folder, None)
    assert meta["params"]["extra_heads"] == [["hinge", 0.3]] and u.stacker_ is not None
    np.testing.assert_allclose(u.predict_proba(texts[:20], X[:20], langs[:20]), P, atol=2e-3)  # fp16 text heads


def test_threshold_shrink_pulls_per_label_thresholds_to_the_shared_one():
    texts, X, y = _toy(seed=1)
    Y = np.zeros((len(y), 4), np.int8)
    Y[np.arange(len(y)), y] = 1
    Y[np.arange(0, len(y), 3), (y[::3] + 1) % 4] = 1  # a second label now and then
    a = Tagger("toy", ["a", "b", "c", "d"], text_blocks=("word",)).fit(texts, X, Y, ["en"] * len(y))
    b = Tagger("toy", ["a", "b", "c", "d"], text_blocks=("word",), threshold_shrink=0.5).fit(
        texts, X, Y, ["en"] * len(y))
    np.testing.assert_allclose(b.thresholds_, 0.5 * a.thresholds_ + 0.5 * a.shared_threshold_, atol=1e-6)
