"""A parent task's probabilities as an input of a child task's calibration: an SDG target's goal.

SDG targets are 169 label-text prototypes calibrated on a few hundred annotated records; the goal
tagger is trained on every goal-annotated record and is right far more often (top-1 in gold 0.70
against 0.39). Giving the target calibration the goal tagger's probability of each target's goal
keeps a target whose goal is ruled out from being asserted for its words alone ("ratify the
Convention" had met 3.a, the tobacco convention) and lifts top-1 (``python -m evaluation.tags
sdg-targets``, figures in the README).

The calibration must see the goal probabilities it will meet on new texts, not those of a goal
model that trained on the same records, so they are computed out of fold: each fold's goal model
is trained without the calibration records of that fold. At tagging time the parent task's own
bundle supplies them (``tags.batch_probabilities``).
"""

from __future__ import annotations

import numpy as np

from ..classify.metrics import label_matrix
from ..classify.tagger import Tagger
from ..errors import InputError
from ..ingest.records import text_hash


def derived_parent_rows(labels, texts, lists, langs) -> tuple[list, list, list]:
    """Parent annotations read off the child labels (target 3.a -> goal 3), for data that has no
    parent column of its own (a store's reviews)."""
    out = ([], [], [])
    for t, ls, lang in zip(texts, lists, langs):
        known = [labels.by_id[x] for x in ls if x in labels.by_id]
        parents = list(dict.fromkeys(lab.parent for lab in known if lab.parent))
        if parents:
            out[0].append(t)
            out[1].append(parents)
            out[2].append(lang)
    return out


def fit_parent(task: str, ids: list[str], texts, X: np.ndarray, lists, langs, params: dict, extra) -> Tagger:
    """The parent tagger as the product trains it (``params``: its ``TASK_PARAMS`` without the label-text
    spec; ``extra``: its label-text rows)."""
    model = Tagger(task, ids, **params)
    model.fit(list(texts), X, label_matrix(lists, ids), list(langs), extra=extra)
    return model


def oof_parent_probabilities(task: str, ids: list[str], cal_texts, X_cal: np.ndarray, cal_langs,
                             parent_rows: tuple, X_parent: np.ndarray, params: dict, extra, *,
                             folds: int = 5, seed: int = 0) -> np.ndarray:
    """(n_cal, len(ids)) parent probabilities for the calibration records, each from a parent model that
    never saw its text. ``parent_rows`` = (texts, label lists, languages) with vectors ``X_parent``."""
    p_texts, p_lists, p_langs = parent_rows
    if len(cal_texts) < folds:
        raise InputError(f"{task}: too few records ({len(cal_texts)}) for out-of-fold parent scores", field="data")
    fold = np.random.RandomState(seed).permutation(len(cal_texts)) % folds
    cal_hash = np.array([text_hash(t) for t in cal_texts])
    p_hash = np.array([text_hash(t) for t in p_texts])
    P = np.zeros((len(cal_texts), len(ids)), np.float32)
    for f in range(folds):
        held = np.flatnonzero(fold == f)
        keep = np.flatnonzero(~np.isin(p_hash, cal_hash[held]))
        model = fit_parent(task, ids, [p_texts[i] for i in keep], X_parent[keep], [p_lists[i] for i in keep],
                           [p_langs[i] for i in keep], params, extra)
        P[held] = model.predict_proba([cal_texts[i] for i in held], X_cal[held], [cal_langs[i] for i in held])
    return P
