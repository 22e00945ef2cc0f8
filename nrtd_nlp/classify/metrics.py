"""Figures for a tagger on annotated data: per-label precision/recall/F1, micro and macro F1,
top-1-in-gold, accuracy (single-label), abstention, and calibration."""

from __future__ import annotations

import numpy as np

from .calibration import reliability


def label_matrix(label_lists: list[list[str]], label_ids: list[str]) -> np.ndarray:
    pos = {lid: j for j, lid in enumerate(label_ids)}
    Y = np.zeros((len(label_lists), len(label_ids)), np.int8)
    for i, labs in enumerate(label_lists):
        for lab in labs:
            if lab in pos:
                Y[i, pos[lab]] = 1
    return Y


def _prf(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def tagging_report(P: np.ndarray, D: np.ndarray, Y: np.ndarray, label_ids: list[str], *,
                   names: dict[str, str] | None = None, multilabel: bool = True) -> dict:
    """``P`` scores, ``D`` asserted (bool), ``Y`` gold 0/1, all (n, L)."""
    D = D.astype(bool)
    Yb = Y.astype(bool)
    per = []
    for j, lid in enumerate(label_ids):
        tp = int((D[:, j] & Yb[:, j]).sum())
        fp = int((D[:, j] & ~Yb[:, j]).sum())
        fn = int((~D[:, j] & Yb[:, j]).sum())
        if tp + fp + fn == 0:
            continue
        p, r, f = _prf(tp, fp, fn)
        per.append({"label": lid, "name": (names or {}).get(lid, lid), "support": int(Yb[:, j].sum()),
                    "predicted": int(D[:, j].sum()), "precision": round(p, 4), "recall": round(r, 4),
                    "f1": round(f, 4)})
    tp, fp, fn = int((D & Yb).sum()), int((D & ~Yb).sum()), int((~D & Yb).sum())
    mp, mr, mf = _prf(tp, fp, fn)
    with_support = [x for x in per if x["support"] > 0]
    top1 = P.argmax(1)
    answered = D.any(1)
    out = {
        "n": int(len(Y)),
        "micro": {"precision": round(mp, 4), "recall": round(mr, 4), "f1": round(mf, 4)},
        "macro_f1": round(float(np.mean([x["f1"] for x in with_support])) if with_support else 0.0, 4),
        "top1_in_gold": round(float(Yb[np.arange(len(Y)), top1].mean()) if len(Y) else 0.0, 4),
        "answered_share": round(float(answered.mean()) if len(Y) else 0.0, 4),
        "per_label": sorted(per, key=lambda x: -x["support"]),
    }
    if multilabel:
        out["calibration"] = reliability(P, Y)
    else:
        right = Yb[np.arange(len(Y)), top1]
        out["accuracy"] = round(float(right.mean()) if len(Y) else 0.0, 4)
        out["accuracy_when_answered"] = round(float(right[answered].mean()) if answered.any() else 0.0, 4)
        out["calibration"] = reliability(P.max(1), right.astype(int))
    return out
