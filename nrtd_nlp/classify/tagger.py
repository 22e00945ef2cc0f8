"""Supervised tagger: a text head (TF-IDF) and an embedding head, fused, calibrated and thresholded.

Fitting follows the rule "tune on validation, never on test": ``fit`` holds out a validation part
(given, or a seeded random 15 %), fits both heads on the rest, chooses the fusion weight, the
calibration and the per-label thresholds on the validation part, then refits both heads on all the
data with those choices. The text head only speaks for languages it was trained on (TF-IDF does not
cross languages); other languages get the embedding head alone, with its own calibration.

Optional: ``extra_heads`` adds text heads over the same features (e.g. ``(("hinge", 0.3),)``, a linear
SVM), and ``stack_C`` > 0 replaces the fixed-weight fusion by a stacker fitted on the validation part
(single-label: one multinomial logistic regression over the log-probabilities of every head; the
validation figures, calibration and abstain level come from its out-of-fold predictions).

Optional (single-label): ``cues``, a ``cues.CueSet``, adds a head over language-neutral cue tokens
(``cue_head.CueHead``). Texts the text heads cannot read get it stacked with the embedding head (a
multinomial logistic regression fitted on the validation part: the cues are read alike in every language,
so English validation texts stand for the others); with ``cue_in_text_stack`` the text languages' stacker
reads it too.

Optional: ``encoder`` (e.g. ``{"layers": 4, "epochs": 3}``), an ``encoder_head.EncoderHead`` that fine-tunes the
top layers of e5-small on the training part (it is not refitted on all the data: its validation answers feed
the stacker or the fusion weight). It is costly (~15 ms a text on 2 cores), so it answers only for the text
heads' languages and only where the fast heads are unsure: a single-label text whose fast top probability is
below ``refine_below``, a multi-label text with a label between ``1 - refine_below`` and ``refine_below``
(``refine_below=1`` refines every text). The validation figures are those of exactly this cascade.
"""

from __future__ import annotations

import numpy as np

from .calibration import Platt, reliability, tune_thresholds
from .cue_head import CueHead
from .features import TextFeatures
from .heads import LinearHead

WEIGHTS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0)


def _micro_f1(P, Y, th) -> float:
    pred = _decide(P, th)
    tp = float((pred & (Y == 1)).sum())
    return 2 * tp / max(float(pred.sum() + Y.sum()), 1.0)


def _best_shared_f1(P, Y) -> float:
    """Micro-F1 at the best threshold shared by every label (0.20 to 0.60): how fusion weights are judged."""
    return max(_micro_f1(P, Y, t) for t in np.arange(0.2, 0.65, 0.05))


def _decide(P: np.ndarray, th) -> np.ndarray:
    """Labels at or above their threshold; the best label is always kept (every record has one)."""
    pred = P >= th
    pred[np.arange(len(P)), P.argmax(1)] = True
    return pred


class Tagger:
    kind = "supervised"

    def __init__(self, task: str, label_ids: list[str], *, multilabel: bool = True,
                 text_blocks: tuple[str, ...] = ("word", "char"), max_features: int = 60000,
                 C_text: float = 10.0, C_emb: float = 4.0, val_share: float = 0.15,
                 abstain_precision: float = 0.9, min_language_share: float = 0.05,
                 text_loss: str = "log", extra_heads: tuple = (), stack_C: float = 0.0,
                 threshold_shrink: float = 0.0, cues=None, C_cue: float = 4.0, cue_in_text_stack: bool = False,
                 encoder: dict | None = None, refine_below: float = 1.0, random_state: int = 0, n_jobs: int = 1):
        self.task = task
        self.label_ids = list(label_ids)
        self.multilabel = multilabel
        self.text_blocks = tuple(text_blocks)
        self.max_features = max_features
        self.C_text = C_text
        self.C_emb = C_emb
        self.val_share = val_share
        self.abstain_precision = abstain_precision
        self.min_language_share = min_language_share
        self.text_loss = text_loss
        self.extra_heads = tuple((str(loss), float(c)) for loss, c in extra_heads)
        self.stack_C = stack_C
        self.threshold_shrink = threshold_shrink
        self.cues = cues
        self.C_cue = C_cue
        self.cue_in_text_stack = cue_in_text_stack
        self.encoder = dict(encoder) if encoder else None
        self.refine_below = refine_below
        self.random_state = random_state
        self.n_jobs = n_jobs

    # -- fitting ---------------------------------------------------------------------------------
    def _targets(self, Y):
        return np.asarray(Y, np.int8) if self.multilabel else np.asarray(Y, int)

    def _fit_heads(self, texts, X, Y, sw=None, langs=None):
        """(features, main text head, extra text heads, embedding head, cue head)."""
        feats = TextFeatures(self.text_blocks, self.max_features).fit(texts) if self.text_blocks else None
        th, xh = None, []
        if feats is not None:
            F = feats.transform(texts)
            for loss, C in ((self.text_loss, self.C_text), *self.extra_heads):
                h = LinearHead(C, self.multilabel, n_jobs=self.n_jobs, loss=loss)
                h.n_classes_hint = len(self.label_ids)
                xh.append(h.fit(F, Y, sw))
            th, xh = xh[0], xh[1:]
        eh = LinearHead(self.C_emb, self.multilabel, n_jobs=self.n_jobs)
        eh.n_classes_hint = len(self.label_ids)
        eh.fit(X, Y, sw)
        ch = None
        if self.cues is not None:
            ch = CueHead(self.cues, self.C_cue, self.multilabel).fit(texts, langs, Y, sw, len(self.label_ids))
        return feats, th, xh, eh, ch

    def _onehot(self, y):
        Y = np.zeros((len(y), len(self.label_ids)), np.int8)
        Y[np.arange(len(y)), y] = 1
        return Y

    def fit(self, texts: list[str], X: np.ndarray, Y, languages: list[str | None], *,
            val_mask: np.ndarray | None = None, sample_weight: np.ndarray | None = None,
            progress=None, extra: tuple | None = None) -> "Tagger":
        """``Y``: (n, L) 0/1 (multi-label) or (n,) label indices (single-label).

        ``extra``: ``(texts, X, Y, weight)``, rows that describe the labels themselves (names,
        keywords, descriptions in several languages). They join the training part only, at
        ``weight``, and never the validation part or the choice of the text head's languages."""
        texts = list(texts)
        X = np.asarray(X, np.float32)
        Y = self._targets(Y)
        n = len(texts)
        langs = np.asarray([lang or "und" for lang in languages])
        vals, counts = np.unique(langs, return_counts=True)
        self.text_languages_ = sorted(v for v, c in zip(vals, counts) if c >= self.min_language_share * n)
        if val_mask is None:  # a seeded share, and never fewer than 10 records when there are 30 or more
            rng = np.random.RandomState(self.random_state)
            k = max(int(round(self.val_share * n)), min(10, n // 3))
            val_mask = np.zeros(n, bool)
            val_mask[rng.permutation(n)[:k]] = True
        val_mask = np.asarray(val_mask, bool)
        self.n_label_rows_ = 0
        if self.cues is not None and self.multilabel:
            raise ValueError("cues are for single-label tasks")
        if extra is not None and len(extra[0]):
            e_texts, e_X, e_Y, weight = extra
            m = len(e_texts)
            base = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
            sample_weight = np.concatenate([base, np.full(m, float(weight))])
            texts = texts + list(e_texts)
            X = np.vstack([X, np.asarray(e_X, np.float32)])
            Y = np.concatenate([Y, self._targets(e_Y)])
            langs = np.concatenate([langs, np.full(m, "und")])
            val_mask = np.concatenate([val_mask, np.zeros(m, bool)])
            self.n_label_rows_ = m
        tr = ~val_mask
        if val_mask.sum() < 10 or tr.sum() < 10:
            from ..errors import InputError

            raise InputError(f"too little data to hold out a validation part: {int(val_mask.sum())} validation and "
                             f"{int(tr.sum())} training records (need 10 on each side); check --val", field="val")
        sw = None if sample_weight is None else np.asarray(sample_weight)[tr]
        say = progress or (lambda *a: None)
        say("fit heads (train part)", 0, 3)
        feats, th, xh, eh, ch = self._fit_heads([texts[i] for i in np.flatnonzero(tr)], X[tr], Y[tr], sw, langs[tr])
        vt = [texts[i] for i in np.flatnonzero(val_mask)]
        Pe = eh.predict_proba(X[val_mask])
        Pc = ch.predict_proba(vt, langs[val_mask]) if ch is not None else None
        Pt, Px = None, []
        if th is not None:
            Fv = feats.transform(vt)
            Pt, Px = th.predict_proba(Fv), [h.predict_proba(Fv) for h in xh]
        Yv = Y[val_mask] if self.multilabel else self._onehot(Y[val_mask])
        self.encoder_head_, Pf = None, None
        if self.encoder and not self.multilabel and self.stack_C <= 0:
            raise ValueError("an encoder head on a single-label task needs a stacker (stack_C > 0)")
        if self.encoder and th is not None:
            from .encoder_head import EncoderHead

            say("fine-tune the encoder head (train part)", 1, 3)
            self.encoder_head_ = EncoderHead(multilabel=self.multilabel, n_labels=len(self.label_ids),
                                             random_state=self.random_state, **self.encoder)
            self.encoder_head_.fit([texts[i] for i in np.flatnonzero(tr)], Y[tr], sw)
            Pf = self.encoder_head_.predict_proba(vt)
        say("tune on validation", 1, 3)
        self._tune(Pt, Pe, Yv, langs[val_mask], Px, Pc, Pf)
        say("refit heads (all data)", 2, 3)
        self.features_, self.text_head_, self.extra_heads_, self.emb_head_, self.cue_head_ = self._fit_heads(
            texts, X, Y, sample_weight, langs)
        self.n_train_ = n  # annotated records (label rows not counted)
        say("done", 3, 3)
        return self

    @staticmethod
    def _stack_inputs(Ps) -> np.ndarray:
        return np.hstack([np.log(np.clip(P, 1e-6, 1.0)) for P in Ps]).astype(np.float32)

    def _stacked(self, Ps) -> np.ndarray:
        return self.stacker_.predict_proba(self._stack_inputs(Ps))

    def _fit_stacker(self, G: np.ndarray, y: np.ndarray, attr: str = "stacker_") -> np.ndarray:
        """Fit a stacker (``attr``) on all of ``G`` and return its out-of-fold probabilities (5 folds)."""
        from sklearn.model_selection import KFold

        K = len(self.label_ids)
        oof = np.zeros((len(y), K), np.float32)
        C = self.stack_C if self.stack_C > 0 else 1.0  # a cue stacker without a text stacker
        for a, b in KFold(5, shuffle=True, random_state=self.random_state).split(G):
            h = LinearHead(C, multilabel=False)
            h.n_classes_hint = K
            oof[b] = h.fit(G[a], y[a]).predict_proba(G[b])
        h = LinearHead(C, multilabel=False)
        h.n_classes_hint = K
        setattr(self, attr, h.fit(G, y))
        return oof

    def _text_stack(self, Pt, Px, Pe, Pc) -> list:
        return [Pt, *Px, Pe, *([Pc] if Pc is not None and self.cue_in_text_stack else [])]

    def _uncertain(self, P: np.ndarray) -> np.ndarray:
        """Rows the encoder head should refine: the fast heads are unsure (see the module docstring)."""
        if self.multilabel:
            return ((P > 1 - self.refine_below) & (P < self.refine_below)).any(1)
        return P.max(1) < self.refine_below

    def _refine_report(self, fast, full, Yv, refine) -> None:
        served = np.where(refine[:, None], full, fast)
        if self.multilabel:
            grade = lambda P: _best_shared_f1(P, Yv)  # noqa: E731
            key = "micro_f1_at_best_shared_threshold"
        else:
            grade = lambda P: float((P.argmax(1) == Yv.argmax(1)).mean())  # noqa: E731
            key = "accuracy"
        self.refine_validation_ = {"refined_share": round(float(refine.mean()), 4), "refine_below": self.refine_below,
                                   f"fast_{key}": round(grade(fast), 4), f"full_{key}": round(grade(full), 4),
                                   f"served_{key}": round(grade(served), 4)}

    def _tune(self, Pt, Pe, Yv, vlangs, Px=(), Pc=None, Pf=None):
        """Fusion weight (or stacker), calibration, thresholds and the abstain level, all on validation."""
        textable = np.isin(vlangs, self.text_languages_)
        self.stacker_ = self.cue_stacker_ = self.stacker_full_ = None
        self.encoder_weight_, self.refine_validation_ = 0.0, None
        stack = self.stack_C > 0 and Pt is not None
        if stack and self.multilabel:
            raise ValueError("stack_C is for single-label tasks")
        score = lambda P: float((P.argmax(1) == Yv.argmax(1)).mean())  # noqa: E731  (single-label accuracy)
        if stack:
            rows = textable if textable.sum() >= 50 else np.ones(len(Yv), bool)
            fused = Pe.copy()
            G = self._stack_inputs(self._text_stack(Pt, Px, Pe, Pc))
            fused[rows] = self._fit_stacker(G[rows], Yv[rows].argmax(1))
            self.text_weight_ = 1.0
            if Pf is not None:  # the same stacker with the encoder head's answers, for the texts it refines
                Gf = self._stack_inputs(self._text_stack(Pt, Px, Pe, Pc) + [Pf])
                full = self._fit_stacker(Gf[rows], Yv[rows].argmax(1), "stacker_full_")
                refine = self._uncertain(fused[rows])
                self._refine_report(fused[rows], full, Yv[rows], refine)
                fused[rows] = np.where(refine[:, None], full, fused[rows])
        else:
            if Pt is not None and Px:  # extra heads without a stacker: their mean
                Pt = np.mean([Pt, *Px], axis=0)
            best = (-1.0, 0.0)
            for w in (WEIGHTS if Pt is not None else (0.0,)):
                P = Pe if Pt is None else w * Pt + (1 - w) * Pe
                if self.multilabel:  # thresholds matter for F1: judge each weight at its own best shared one
                    s = _best_shared_f1(P, Yv)
                else:
                    s = score(P)
                if s > best[0] + 1e-9:
                    best = (s, w)
            self.text_weight_ = best[1]
            fused = Pe if Pt is None else self.text_weight_ * Pt + (1 - self.text_weight_) * Pe
            if Pf is not None:  # the encoder head's weight against the fused fast heads, where it refines
                rows = textable if textable.any() else np.ones(len(Yv), bool)
                best = (-1.0, 0.0)
                for w in (0.0, 0.2, 0.3, 0.4, 0.5, 0.6):
                    s = _best_shared_f1((1 - w) * fused[rows] + w * Pf[rows], Yv[rows])
                    if s > best[0] + 1e-9:
                        best = (s, w)
                self.encoder_weight_ = best[1]
                full = (1 - self.encoder_weight_) * fused + self.encoder_weight_ * Pf
                refine = self._uncertain(fused) & rows
                self._refine_report(fused[rows], full[rows], Yv[rows], refine[rows])
                fused = np.where(refine[:, None], full, fused)
        # calibrate fused scores where the text head speaks, embedding-only scores elsewhere
        self.calibration_ = Platt().fit(fused[textable].ravel() if textable.any() else fused.ravel(),
                                        Yv[textable].ravel() if textable.any() else Yv.ravel())
        if Pc is not None:  # texts the text heads cannot read: the cue head stacked with the embedding head
            Pe = self._fit_stacker(self._stack_inputs([Pc, Pe]), Yv.argmax(1), "cue_stacker_")
        self.calibration_emb_ = Platt().fit(Pe.ravel(), Yv.ravel())
        C = self.calibration_.transform(fused)
        self._tune_embedding_only(Pe, Yv)
        if self.multilabel:
            th, self.shared_threshold_ = tune_thresholds(C, Yv)
            # pulled towards the shared threshold: per-label optima on a few hundred positives overfit
            self.thresholds_ = ((1 - self.threshold_shrink) * th + self.threshold_shrink * self.shared_threshold_
                                ).astype(np.float32)
            pred = _decide(C, self.thresholds_)
            tp = float((pred & (Yv == 1)).sum())
            self.validation_ = {
                "n": int(len(Yv)), "text_weight": self.text_weight_,
                **({"encoder": self.refine_validation_} if self.refine_validation_ else {}),
                "micro_f1": round(2 * tp / max(float(pred.sum() + Yv.sum()), 1.0), 4),
                "calibration": reliability(C, Yv),
            }
        else:
            top = C.max(1)
            right = C.argmax(1) == Yv.argmax(1)
            self.abstain_below_ = self._abstain_level(top, right)
            self.thresholds_ = np.full(C.shape[1], self.abstain_below_, np.float32)
            self.shared_threshold_ = self.abstain_below_
            kept = top >= self.abstain_below_
            self.validation_ = {
                "n": int(len(Yv)), "text_weight": self.text_weight_,
                **({"stacked": "out-of-fold (5 folds of the validation part)"} if stack else {}),
                **({"encoder": self.refine_validation_} if self.refine_validation_ else {}),
                "accuracy": round(float(right.mean()), 4),
                "abstain_below": self.abstain_below_,
                "answered_share": round(float(kept.mean()), 4),
                "accuracy_when_answered": round(float(right[kept].mean()) if kept.any() else 0.0, 4),
                "calibration": reliability(top, right.astype(int)),
            }

    def _tune_embedding_only(self, Pe: np.ndarray, Yv: np.ndarray) -> None:
        """Thresholds (abstain level) for texts only the embedding head reads: every language but the text
        head's. Tuned, as the fused ones, on the validation part, here through the embedding head alone; the
        shared thresholds had been tuned on fused scores and let that weaker head assert as much (the
        action category never abstained in Spanish, French, Arabic or Russian)."""
        Ce = self.calibration_emb_.transform(Pe)
        if self.multilabel:
            th, shared = tune_thresholds(Ce, Yv)
            self.emb_thresholds_ = ((1 - self.threshold_shrink) * th + self.threshold_shrink * shared
                                    ).astype(np.float32)
            self.validation_emb_ = {"micro_f1": round(_micro_f1(Ce, Yv, self.emb_thresholds_), 4)}
        else:
            Ce = Ce / Ce.sum(1, keepdims=True)  # as predict_proba answers
            top, right = Ce.max(1), Ce.argmax(1) == Yv.argmax(1)
            level = self._abstain_level(top, right)
            self.emb_thresholds_ = np.full(Ce.shape[1], level, np.float32)
            kept = top >= level
            self.validation_emb_ = {"accuracy": round(float(right.mean()), 4), "abstain_below": level,
                                    "answered_share": round(float(kept.mean()), 4),
                                    "accuracy_when_answered": round(float(right[kept].mean()) if kept.any() else 0.0, 4)}

    def _abstain_level(self, top: np.ndarray, right: np.ndarray) -> float:
        """Lowest confidence at which the answered part still reaches ``abstain_precision``."""
        for t in np.arange(0.0, 0.96, 0.025):
            kept = top >= t
            if kept.sum() >= 10 and right[kept].mean() >= self.abstain_precision:
                return float(round(t, 3))
        return 0.95

    # -- prediction ------------------------------------------------------------------------------
    def predict_proba(self, texts: list[str], X: np.ndarray, languages: list[str | None], *,
                      refine: bool = True) -> np.ndarray:
        """Calibrated probabilities, (n, L). ``refine=False``: the fast heads alone, never the encoder head."""
        X = np.asarray(X, np.float32)
        Pe = self.emb_head_.predict_proba(X)
        langs = np.asarray([lang or "und" for lang in languages])
        texted = self.text_head_ is not None and self.text_weight_ > 0
        m = np.isin(langs, self.text_languages_) if texted else np.zeros(len(langs), bool)
        cue = getattr(self, "cue_head_", None)
        Pc = None
        if cue is not None:
            need = ~m | self.cue_in_text_stack
            Pc = np.zeros_like(Pe)
            if need.any():
                Pc[need] = cue.predict_proba([t for t, k in zip(texts, need) if k], langs[need])
        base = Pe
        if Pc is not None and (~m).any():
            base = Pe.copy()
            base[~m] = self.cue_stacker_.predict_proba(self._stack_inputs([Pc[~m], Pe[~m]]))
        out = self.calibration_emb_.transform(base)
        if texted:
            if m.any():
                F = self.features_.transform([t for t, k in zip(texts, m) if k])
                Pt = self.text_head_.predict_proba(F)
                Px = [h.predict_proba(F) for h in getattr(self, "extra_heads_", ())]
                stack = self._text_stack(Pt, Px, Pe[m], None if Pc is None else Pc[m])
                if getattr(self, "stacker_", None) is not None:
                    fused = self._stacked(stack)
                else:
                    Pt = np.mean([Pt, *Px], axis=0) if Px else Pt
                    fused = self.text_weight_ * Pt + (1 - self.text_weight_) * Pe[m]
                if refine:
                    fused = self._refine(fused, [t for t, k in zip(texts, m) if k], stack)
                out[m] = self.calibration_.transform(fused)
        if not self.multilabel:
            out = out / out.sum(1, keepdims=True)
        return out

    def _refine(self, fused: np.ndarray, texts: list[str], stack: list) -> np.ndarray:
        """The encoder head's answer for the texts the fast heads are unsure of (text languages only)."""
        enc = getattr(self, "encoder_head_", None)
        if enc is None:
            return fused
        r = self._uncertain(fused)
        if not r.any():
            return fused
        Pf = enc.predict_proba([t for t, k in zip(texts, r) if k])
        fused = fused.copy()
        if getattr(self, "stacker_full_", None) is not None:
            fused[r] = self.stacker_full_.predict_proba(self._stack_inputs([P[r] for P in stack] + [Pf]))
        else:
            fused[r] = (1 - self.encoder_weight_) * fused[r] + self.encoder_weight_ * Pf
        return fused

    def decide(self, P: np.ndarray, languages: list[str | None] | None = None) -> np.ndarray:
        """Boolean (n, L): the labels the tagger asserts (above their threshold). With ``languages``, texts the
        text head does not read are held to the embedding head's own thresholds (when the bundle has them)."""
        th = np.broadcast_to(self.thresholds_, P.shape)
        emb_th = getattr(self, "emb_thresholds_", None)
        if languages is not None and emb_th is not None and self.text_head_ is not None and self.text_weight_ > 0:
            emb_only = ~np.isin(np.asarray([lang or "und" for lang in languages]), self.text_languages_)
            th = np.where(emb_only[:, None], emb_th[None, :], th)
        elif languages is not None and emb_th is not None:
            th = np.broadcast_to(emb_th, P.shape)
        if self.multilabel:
            return P >= th
        return (P >= P.max(1, keepdims=True)) & (P >= th)
