"""The fast TF-IDF path and the cached transposed head weights give what scikit-learn gives."""

import numpy as np
from scipy import sparse

from nrtd_nlp.classify.features import TextFeatures
from nrtd_nlp.classify.heads import LinearHead

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
        queries = TEXTS[:5] + ["", "zzzz qqq", "Ratificar la Convención contra la Tortura"]
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
