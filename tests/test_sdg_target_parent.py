"""SDG targets calibrated with the goal tagger's probabilities (``tag_parent``): the calibration learns
from them, the bundle keeps them, and tagging passes the goal tagger's scores to the target tagger."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from nrtd_nlp.classify.bundle import load_bundle, save_bundle
from nrtd_nlp.classify.labels import load_labels
from nrtd_nlp.classify.reference import LanguageCentering
from nrtd_nlp.classify.zeroshot import ZeroShotTagger
from nrtd_nlp.services.tag_parent import derived_parent_rows, oof_parent_probabilities


def _encode(texts):
    """A stand-in encoder: a fixed random unit vector per text."""
    out = []
    for t in texts:
        rng = np.random.RandomState(int(hashlib.sha1(t.encode()).hexdigest()[:8], 16))
        v = rng.randn(32)
        out.append(v / np.linalg.norm(v))
    return np.asarray(out, np.float32)


@pytest.fixture(scope="module")
def calibrated():
    """Targets calibrated on records whose gold target is the one nearest to them, and whose goal the goal
    scores name with 0.9 (a wrong goal gets 0.02): the goal input must carry weight."""
    labels = load_labels("sdg_target")
    zs = ZeroShotTagger("sdg_target", labels, parent_task="sdg_goal").fit(_encode)
    rng = np.random.RandomState(0)
    n, L = 400, len(labels.ids)
    gold = rng.randint(0, L, n)
    X = zs.prototypes_[gold] + 0.9 * rng.randn(n, zs.prototypes_.shape[1]).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    Y = np.zeros((n, L), np.int8)
    Y[np.arange(n), gold] = 1
    goal_ids = load_labels("sdg_goal").ids
    PG = np.full((n, len(goal_ids)), 0.02, np.float32)
    PG[np.arange(n), [goal_ids.index(labels.by_id[labels.ids[g]].parent) for g in gold]] = 0.9
    zs.calibrate(X, Y, parent=(goal_ids, PG))
    return zs, X, goal_ids, gold


def test_the_goal_input_is_learnt_and_a_ruled_out_goal_lowers_its_targets(calibrated):
    zs, X, goal_ids, gold = calibrated
    assert zs.cal_coef_.shape == (4,) and zs.cal_coef_[3] > 0  # the goal's logit counts, upwards
    labels = zs.labels
    assert zs.parent_of_[labels.ids.index("3.a")] == "3"
    j = labels.ids.index("3.a")
    x = zs.prototypes_[[j]]  # a text that reads exactly like target 3.a
    yes = np.full((1, len(goal_ids)), 0.02, np.float32)
    yes[0, goal_ids.index("3")] = 0.95
    no = np.full((1, len(goal_ids)), 0.02, np.float32)
    no[0, goal_ids.index("16")] = 0.95
    p_yes = zs.predict_proba(None, x, None, parent=(goal_ids, yes))[0, j]
    p_no = zs.predict_proba(None, x, None, parent=(goal_ids, no))[0, j]
    assert p_yes > 0.5 > p_no
    # without goal scores (or with a goal tagger that knows no goal 3) the calibration's mean stands in
    p_none = zs.predict_proba(None, x, None)[0, j]
    p_unknown = zs.predict_proba(None, x, None, parent=(["16"], no[:, [goal_ids.index("16")]]))[0, j]
    assert p_no < p_none < p_yes and p_unknown == pytest.approx(p_none)


def test_the_bundle_keeps_the_goal_input(calibrated, tmp_path):
    zs, X, goal_ids, _ = calibrated
    folder = save_bundle(zs, LanguageCentering(), tmp_path / "sdg_target", {"name": "t", "version": "1"})
    back, _, meta = load_bundle(folder, zs.labels)
    assert meta["zero_shot"]["parent"]["task"] == "sdg_goal" and back.parent_task == "sdg_goal"
    PG = np.random.RandomState(1).dirichlet(np.ones(len(goal_ids)), len(X)).astype(np.float32)
    np.testing.assert_allclose(back.predict_proba(None, X, None, parent=(goal_ids, PG)),
                               zs.predict_proba(None, X, None, parent=(goal_ids, PG)), atol=1e-6)


def test_out_of_fold_goal_scores_never_come_from_a_model_that_saw_the_text():
    """Each calibration record's goal scores come from a model trained without its text: a goal model fit on
    rows that contain the text itself would score it as the text's own label (here, always)."""
    labels = load_labels("sdg_target")
    rng = np.random.RandomState(0)
    texts = [f"record {i}" for i in range(60)]
    lists = [[["1.1", "4.1", "16.3"][i % 3]] for i in range(60)]
    rows = derived_parent_rows(labels, texts, lists, ["en"] * 60)
    assert rows[1][:3] == [["1"], ["4"], ["16"]]
    X = rng.randn(60, 16).astype(np.float32)  # no signal: a model can only be right by memorising
    P = oof_parent_probabilities("sdg_goal", ["1", "4", "16"], texts, X, ["en"] * 60, rows, X,
                                 {"text_blocks": ()}, None)
    right = np.mean([P[i].argmax() == i % 3 for i in range(60)])
    assert P.shape == (60, 3) and right < 0.6


def _targets_csv(path, n_targets: int, per: int):
    """A generic annotated file: each target's own English text, reworded ``per`` times, labelled with it."""
    import csv

    labels = load_labels("sdg_target")
    picked = [lab for lab in labels.labels if lab.parent in {"1", "3", "4", "5", "16"}][:n_targets]
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "targets"])
        for lab in picked:
            for k, lead in enumerate(["", "Ensure that ", "Take measures so that ", "Continue efforts: ",
                                      "Redouble efforts so that "][:per]):
                w.writerow([f"{lead}{lab.name()}", lab.id])
    return path


@pytest.mark.slow  # embeds every SDG goal and target text with the test model (~2 min on 2 cores)
def test_train_sdg_target_with_and_without_enough_records_for_the_goal_input(engine, tmp_path):
    from nrtd_nlp.services.tag_training import train_task
    from nrtd_nlp.services.tags import tag_texts

    res = train_task(engine, "sdg_target", _targets_csv(tmp_path / "t.csv", 16, 5), column="targets")
    lt = engine.taggers.get("sdg_target")
    assert lt.agent == res["model"] and lt.model.parent_task == "sdg_goal" and lt.model.parent_of_ is not None
    assert lt.manifest["training"]["parent"] == {"task": "sdg_goal", "records": 80, "scores": "5-fold out of fold",
                                                 "source": "the child labels"}
    assert res["model"].count(".") == 2  # the goal input is part of the version
    out = tag_texts(engine, ["Ensure that all children are registered at birth"], tasks=["sdg_target"])
    assert out[0]["tags"]["sdg_target"]["model"] == res["model"]
    # too few records to train the goal tagger in folds: calibrated on the prototypes alone, and said so
    res = train_task(engine, "sdg_target", _targets_csv(tmp_path / "few.csv", 6, 4), column="targets")
    lt = engine.taggers.get("sdg_target")
    assert lt.model.parent_of_ is None and "parent_skipped" in lt.manifest["training"]
    assert res["model"].count(".") == 1
