"""Training and evaluating taggers: ``nrtd train`` (annotated file), ``nrtd retrain`` (the people's
confirmations in the store, with or without a file) and ``nrtd evaluate`` (figures on a file the
model was not trained on). Vectors come from the store's cache; missing ones are embedded once and
cached, so a retrain after the first costs only the heads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
from sqlalchemy import select

from ..classify.bundle import check_bundle_folder, save_bundle, sha256_file
from ..classify.cue_head import cue_fingerprint
from ..classify.cues import load_cues
from ..classify.datasets import check_filters, field_filter, load_annotated
from ..classify.labels import load_labels
from ..classify.metrics import label_matrix, tagging_report
from ..classify.reference import reference_centering
from ..classify.tagger import Tagger
from ..embed.views import preferred_view
from ..errors import InputError
from ..ingest.records import text_hash
from ..store.models import AuditEvent, EmbeddingCache, Recommendation, Review
from .tag_parent import derived_parent_rows, oof_parent_probabilities
from .tags import SINGLE_LABEL, engine_probabilities, fit_zero_shot, local_dir


# Per-task feature choices. Character n-grams help issues (+0.8 micro-F1, sessions 1-14 -> 15-16);
# the opening words carry the action category (+2.5 accuracy; that exploratory run looked at sessions
# 17-18, the test sessions, so the action figure is slightly optimistic).
# Action: a logistic and a linear-SVM text head plus the embedding head, stacked by a multinomial
# logistic regression fitted on validation (train sessions 1-14, validation 15-16, 5-fold within
# validation: accuracy 0.913 -> 0.919). Issues: a linear-SVM text head (C 0.3) instead of the
# logistic one, and per-label thresholds pulled half-way to the shared one (same protocol: micro-F1
# 0.900 -> 0.908). Through `train_task` (train 1-14 tuned on 13-14, scored on 15-16): issues 0.909,
# action 0.913 -> 0.918. Test sessions 17-18 were looked at once, for the shipped bundles (README).
TASK_PARAMS = {
    # Texts in other languages than the text heads' also read the action cues (``classify/cues.py``), stacked
    # with the embedding head: the cue head alone is right 0.881 of the time on English validation
    # (embedding head 0.783), and reads "Seguir …", "Continuer …", "مواصلة …" as "Continue …".
    # The encoder head (classify/encoder_head.py) fine-tunes e5-small's top 4 layers; it answers for the texts
    # whose fast stacked answer is below 0.9 (26 % on sessions 15-16: accuracy 0.918 -> 0.932, all texts 0.934).
    "action_category": {"text_blocks": ("word", "lead"), "extra_heads": (("hinge", 0.3),), "stack_C": 0.1,
                        "cues": "action_cues.csv", "encoder": {"layers": 4, "epochs": 3}, "refine_below": 0.9},
    # The encoder head refines the texts with a label between 0.1 and 0.9 (58 % on sessions 15-16), its weight
    # against the fast heads chosen on validation (micro-F1 at the best shared threshold 0.910 -> 0.920).
    "upr_issue": {"text_blocks": ("word", "char"), "text_loss": "hinge", "C_text": 0.3, "threshold_shrink": 0.5,
                  "encoder": {"layers": 4, "epochs": 3}, "refine_below": 0.9},
    # SDG goals are trained on English and must answer alike in every language: the embedding head
    # only, plus the goal and target texts in six languages as training rows at weight 0.3 (5-fold
    # on UHRI, USE part: English top-1 0.675 -> 0.708, lowest language 0.649 -> 0.667; weights 0.1,
    # 0.3 and 1.0 were tried on those same folds, so the gain is slightly optimistic)
    "sdg_goal": {"text_blocks": (), "label_texts": {"weight": 0.3, "children": ("sdg_target",)}},
    # 169 targets and a few hundred annotated records: the label-text prototypes, calibrated on the
    # annotated records (P(right | cosine, gap to the best, rank)), rather than a head per target
    "sdg_target": {"zero_shot": True, "parent": "sdg_goal"},
    "uhri_theme": {"text_blocks": ("word",)},
    "affected_group": {"text_blocks": ("word",)},
}


def vectors_for(engine, texts: list[str], progress=None) -> np.ndarray:
    """Raw embeddings for ``texts`` from the cache; the missing ones are embedded and cached."""
    emb = engine.embedder
    hashes = [text_hash(t) for t in texts]
    have: dict[str, np.ndarray] = {}
    uniq = list(dict.fromkeys(hashes))
    with engine.db.session() as s:
        for i in range(0, len(uniq), 900):
            for h, blob in s.execute(select(EmbeddingCache.text_hash, EmbeddingCache.vector).where(
                    EmbeddingCache.model_id == emb.model_id, EmbeddingCache.text_hash.in_(uniq[i:i + 900]))):
                have[h] = np.frombuffer(blob, np.float32)
    todo = [h for h in uniq if h not in have]
    if todo:
        by_hash = dict(zip(hashes, texts))
        done = 0

        def tick(n):
            nonlocal done
            done += n
            if progress:
                progress("embed", done, len(todo))

        V = emb.encode([by_hash[h] for h in todo], progress=tick)
        with engine.db.session() as s:
            for h, v in zip(todo, V):
                blob = np.ascontiguousarray(v, np.float32).tobytes()
                s.merge(EmbeddingCache(text_hash=h, model_id=emb.model_id, dim=len(blob) // 4, vector=blob))
                have[h] = np.frombuffer(blob, np.float32)
    return np.vstack([have[h] for h in hashes]).astype(np.float32)


def _detect(engine, texts, hints):
    det = engine.detector
    return [det.detect(t, h)[0] for t, h in zip(texts, hints)]


def label_text_rows(engine, task: str, labels, ids: list[str], view, centering, spec: dict | None,
                    multilabel: bool = True) -> tuple | None:
    """Training rows made of the label texts (each label's names, keywords and description in every
    language its file gives, and those of child labels in ``spec['children']`` tasks, e.g. SDG
    targets for goals), for ``Tagger.fit(extra=...)``. None when the task's params ask for none."""
    if not spec:
        return None
    col = {lid: j for j, lid in enumerate(ids)}
    texts, owner = [], []
    sets = [labels] + [load_labels(t, engine.settings.home) for t in spec.get("children", ())]
    for k, ls in enumerate(sets):
        for lab in ls.labels:
            target = lab.id if k == 0 else lab.parent
            if target in col:
                for t in lab.prototype_texts():
                    texts.append(t)
                    owner.append(col[target])
    if not texts:
        return None
    langs = [engine.detector.detect(t)[0] for t in texts]
    X = centering.transform(view.encode(texts), langs)
    owner = np.asarray(owner)
    if multilabel:
        Y = np.zeros((len(texts), len(ids)), np.int8)
        Y[np.arange(len(texts)), owner] = 1
    else:
        Y = owner
    return texts, X, Y, float(spec.get("weight", 0.3))


def parent_inputs(engine, parent: str, labels, view, centering, texts, lists, langs, parent_rows=None):
    """What ``tag_parent`` needs to train the parent task as the product does: (ids, rows, X of the rows,
    params, label-text rows). ``parent_rows`` (texts, label lists, languages) default to the parents of
    the child labels."""
    plabels = load_labels(parent, engine.settings.home)
    rows = parent_rows or derived_parent_rows(labels, texts, lists, langs)
    params = {k: v for k, v in TASK_PARAMS.get(parent, {}).items() if k not in ("label_texts", "zero_shot", "parent")}
    X = centering.transform(view.take(vectors_for(engine, rows[0])), rows[2])
    extra = label_text_rows(engine, parent, plabels, plabels.ids, view, centering,
                            TASK_PARAMS.get(parent, {}).get("label_texts"))
    return plabels.ids, rows, X, params, extra


def _calibrate_zero_shot(engine, task, labels, texts, label_lists, langs, V, *, training: dict,
                         out: Path | None, view, parent: str | None = None, parent_rows=None) -> dict:
    """A zero-shot tagger (label-text prototypes) whose scores are calibrated on annotated records; with a
    ``parent`` task, on its out-of-fold probabilities too (``tag_parent``)."""
    model, centering, view = fit_zero_shot(engine, task, labels, view)
    model.parent_task = parent
    X = centering.transform(view.take(V), langs)
    scores = None
    if parent:
        ids, rows, Xp, params, extra = parent_inputs(engine, parent, labels, view, centering, texts, label_lists,
                                                     langs, parent_rows)
        try:
            scores = (ids, oof_parent_probabilities(parent, ids, texts, X, langs, rows, Xp, params, extra))
            training = {**training, "parent": {"task": parent, "records": len(rows[0]), "scores": "5-fold out of fold",
                                               "source": "the file's annotations" if parent_rows else "the child labels"}}
        except InputError as e:  # too few records to train the parent in folds: calibrated on the prototypes alone
            training = {**training, "parent_skipped": f"{parent}: {e}"}
    model.calibrate(X, label_matrix(label_lists, labels.ids), parent=scores)
    digest = training.get("sha256") or hashlib.sha256("\n".join(texts).encode()).hexdigest()
    version = f"{labels.fingerprint()[:8]}.{digest[:8]}"
    if scores is not None:  # calibrated another way: another model
        version += "." + hashlib.sha256(json.dumps(training["parent"], sort_keys=True).encode()).hexdigest()[:4]
    fit = {k: v for k, v in model.validation_.items()}
    manifest = {"name": f"{task}-zeroshot", "version": version, "embedder": view.model_id,
                "engine_embedder": engine.embedder.model_id, "labels_fingerprint": labels.fingerprint(),
                "label_files": labels.origin,
                "training": {**training, "kind": "label texts; scores calibrated on the annotated records",
                             "records": len(texts)},
                "calibration_fit": fit}
    folder = save_bundle(model, centering, out or (local_dir(engine) / task), manifest)
    engine.taggers.invalidate(task)
    return {"task": task, "model": f"{task}-zeroshot@{version}", "folder": str(folder), "records": len(texts),
            "validation": {"n": fit["n"], "note": "calibration fitted on these records (in-sample)"},
            "ece_validation": fit["calibration"]["ece"]}


def _fit_and_save(engine, task, labels, texts, label_lists, langs, V, *, val_mask, training: dict,
                  out: Path | None, progress=None, params: dict | None = None, gate=None, parent_rows=None) -> dict:
    """Fit, then save the bundle; ``gate(model, ids)`` may refuse the new model before anything is written
    (it raises) or return figures for the manifest."""
    multilabel = task not in SINGLE_LABEL
    params = {**TASK_PARAMS.get(task, {}), **(params or {})}
    view = preferred_view(engine.embedder, params.pop("view", None) or engine.settings.tag_view)
    if params.pop("zero_shot", False):
        return _calibrate_zero_shot(engine, task, labels, texts, label_lists, langs, V, training=training,
                                    out=out, view=view, parent=params.pop("parent", None), parent_rows=parent_rows)
    ids = [lid for lid in labels.ids if any(lid in ls for ls in label_lists)]
    if len(ids) < 2:
        raise InputError(f"{task}: the training data uses fewer than two labels", field="data")
    Y = label_matrix(label_lists, ids)
    if not multilabel:
        Y = Y.argmax(1)
    spec = params.pop("label_texts", None)
    centering = reference_centering(view.encoder, engine.settings.cache_dir)
    X = centering.transform(view.take(V), langs)
    extra = label_text_rows(engine, task, labels, ids, view, centering, spec, multilabel)
    if params.get("encoder"):  # the backbone is the installation's choice (tests: a small English one)
        backbone = engine.settings.tag_encoder
        params["encoder"] = None if backbone == "none" else {**params["encoder"], "backbone": backbone}
    cue_name = params.pop("cues", None)
    cues = load_cues(cue_name, engine.settings.home) if cue_name else None
    model = Tagger(task, ids, multilabel=multilabel, cues=cues, **params)
    model.fit(texts, X, Y, langs, val_mask=val_mask, progress=progress, extra=extra)
    compared = gate(model, ids) if gate is not None else None
    if compared:
        training = {**training, "compared_with_previous": compared}
    if extra is not None:
        training = {**training, "label_text_rows": len(extra[0]), "label_text_weight": extra[3]}
    digest = training.get("sha256") or hashlib.sha256("\n".join(texts).encode()).hexdigest()
    # the model's settings join the version: the same data trained another way is another model
    if cues is not None:
        params["cues"] = cue_fingerprint(cues.rows)
    setting = hashlib.sha256(json.dumps({**params, "view": view.model_id, "split": training.get("val")},
                                        sort_keys=True, default=str).encode()).hexdigest()
    version = f"{dt.date.today():%Y%m%d}.{digest[:8]}.{setting[:4]}"
    manifest = {"name": f"{task}-tagger", "version": version, "embedder": view.model_id,
                "engine_embedder": engine.embedder.model_id,
                "labels_fingerprint": labels.fingerprint(), "label_files": labels.origin,
                "training": {**training, "records": len(texts), "labels_used": len(ids)},
                "validation": model.validation_}
    folder = save_bundle(model, centering, out or (local_dir(engine) / task), manifest)
    engine.taggers.invalidate(task)
    return {"task": task, "model": f"{task}-tagger@{version}", "folder": str(folder), "records": len(texts),
            "validation": {k: v for k, v in model.validation_.items() if k != "calibration"},
            "ece_validation": model.validation_["calibration"]["ece"],
            **({"compared_with_previous": compared} if compared else {})}


def train_task(engine, task: str, path: Path, *, exclude: str | None = None, val: str | None = None,
               languages: list[str] | None = None, column: str | None = None, out: Path | None = None,
               fmt: str | None = None, progress=None, params: dict | None = None, actor: str = "cli") -> dict:
    """Train ``task`` on an annotated file. ``exclude``/``val``: ``FIELD=V1,V2`` filters (records held
    out entirely / used as the validation part); default validation is a seeded random 15 %."""
    if out is not None:
        check_bundle_folder(Path(out))  # before the training, not after it
    labels = load_labels(task, engine.settings.home)
    data = load_annotated(path, task, labels, column=column, languages=languages, fmt=fmt)
    # a typo in a filter (an unknown field, a value no record has) must not train on the held-out records
    check_filters(data.records, {"exclude": exclude, "val": val}, Path(path).name)
    drop, is_val = field_filter(exclude), field_filter(val)
    keep = [i for i, r in enumerate(data.records) if not drop(r)]
    if not keep:
        raise InputError(f"--exclude {exclude} leaves no training record", field="exclude")
    texts = [data.texts[i] for i in keep]
    lists = [data.labels[i] for i in keep]
    langs = _detect(engine, texts, [data.languages[i] for i in keep])
    val_mask = np.array([is_val(data.records[i]) for i in keep]) if val else None
    V = vectors_for(engine, texts, progress)
    training = {"file": Path(path).name, "sha256": sha256_file(Path(path)), "exclude": exclude, "val": val or
                "random 15 %", "languages": sorted(set(langs)), "skipped_without_labels": data.skipped,
                "unknown_annotations": dict(sorted(data.unknown.items(), key=lambda kv: -kv[1])[:20])}
    res = _fit_and_save(engine, task, labels, texts, lists, langs, V, val_mask=val_mask, training=training,
                        out=out, progress=progress, params=params,
                        parent_rows=_file_parent_rows(engine, task, path, drop, languages, column, fmt))
    with engine.db.session() as s:
        s.add(AuditEvent(who=actor, action="train", entity="model", entity_id=res["model"],
                         after={k: v for k, v in res.items() if k != "validation"}))
    return res


def _file_parent_rows(engine, task: str, path: Path, drop, languages, column, fmt):
    """The parent task's own annotations in the training file (UHRI's SDG goals, 424 records where 147 have
    targets), minus the excluded records; None when the task has no parent or the file none of its labels."""
    parent = TASK_PARAMS.get(task, {}).get("parent")
    if not parent or column:
        return None
    try:
        d = load_annotated(path, parent, load_labels(parent, engine.settings.home), languages=languages, fmt=fmt)
    except InputError:
        return None
    keep = [i for i, r in enumerate(d.records) if not drop(r)]
    if not keep:
        return None
    texts = [d.texts[i] for i in keep]
    return texts, [d.labels[i] for i in keep], _detect(engine, texts, [d.languages[i] for i in keep])


def reviewed_examples(engine, task: str) -> tuple[list[str], list[list[str]], list[str], list[int]]:
    """Records a person decided on for ``task``: accepted and added labels are the truth, rejected
    ones are not. Reverted decisions do not count."""
    with engine.db.session() as s:
        rows = s.execute(select(Review.rec_id, Review.value, Review.decision, Review.at)
                         .where(Review.task == task, Review.reverted_at.is_(None)).order_by(Review.at)).all()
        state: dict[int, dict[str, bool]] = {}
        for rid, value, decision, _ in rows:  # the latest decision on a value wins
            state.setdefault(rid, {})[value] = decision in ("accepted", "added")
        ids = [rid for rid, vals in state.items() if any(vals.values())]
        recs = {}
        for i in range(0, len(ids), 900):
            for r in s.scalars(select(Recommendation).where(Recommendation.id.in_(ids[i:i + 900]))):
                recs[r.id] = (r.text, r.language or "und")
    ids = [i for i in ids if i in recs]
    return ([recs[i][0] for i in ids], [[v for v, ok in state[i].items() if ok] for i in ids],
            [recs[i][1] for i in ids], ids)


def _previous_model_gate(engine, task: str, texts, lists, langs, V, val_mask, *, force: bool):
    """The model in use is scored on the new model's validation part (distinct texts, copies once) and the
    new one replaces it only if it scores at least as well there, less 0.01 (``force`` installs it anyway):
    retraining on a few reviews alone must not silently replace a model trained on thousands of records."""
    from ..errors import NrtdError

    try:
        lt = engine.taggers.get(task)
    except NrtdError:
        return None
    seen, rows = set(), []
    for i in np.flatnonzero(val_mask):
        if text_hash(texts[i]) not in seen:
            seen.add(text_hash(texts[i]))
            rows.append(int(i))
    vt, vl, vg = [texts[i] for i in rows], [lists[i] for i in rows], [langs[i] for i in rows]
    P = engine_probabilities(engine, lt, vt, V[rows], vg)
    old_ids = list(lt.model.label_ids)

    def gate(model, ids):
        key = "micro_f1" if model.multilabel else "accuracy"
        new = float(model.validation_[key])
        if model.multilabel:  # the old model's decisions in the new model's label space
            D = lt.model.decide(P, vg)
            D[np.arange(len(P)), P.argmax(1)] = True
            pred = np.zeros((len(rows), len(ids)), bool)
            for j, lid in enumerate(ids):
                if lid in old_ids:
                    pred[:, j] = D[:, old_ids.index(lid)]
            Y = label_matrix(vl, ids).astype(bool)
            old = 2 * float((pred & Y).sum()) / max(float(pred.sum() + Y.sum()), 1.0)
        else:
            top = [old_ids[j] for j in P.argmax(1)]
            old = float(np.mean([t in ls for t, ls in zip(top, vl)]))
        out = {"metric": key, "new": round(new, 4), "previous": round(old, 4), "previous_model": lt.agent,
               "n": len(rows), "forced": bool(force and new < old - 0.01)}
        if new < old - 0.01 and not force:
            raise InputError(f"{task}: the retrained model scores {key} {new:.3f} on its validation part ({len(rows)} "
                             f"records), the model in use ({lt.agent}) {old:.3f}: kept the model in use. Add --data "
                             "FILE (the annotated data it was trained on) or review more; --force installs it anyway",
                             field="force")
        return out

    return gate


def retrain_task(engine, task: str, *, data: Path | None = None, column: str | None = None,
                 review_weight: int = 3, out: Path | None = None, progress=None, actor: str = "cli",
                 force: bool = False) -> dict:
    """Retrain on the confirmed reviews in the store (each counted ``review_weight`` times, so a
    person's decision outweighs an annotation of the same text), plus an annotated file if given.
    The new model replaces the one in use only if it scores as well on the validation part (``force``)."""
    if out is not None:
        check_bundle_folder(Path(out))  # before the training, not after it
    labels = load_labels(task, engine.settings.home)
    r_texts, r_lists, r_langs, r_ids = reviewed_examples(engine, task)
    r_lists = [[lab for lab in ls if lab in labels] for ls in r_lists]
    texts, lists, langs = [], [], []
    reviewed_hashes = {text_hash(t) for t in r_texts}
    if data is not None:
        d = load_annotated(data, task, labels, column=column)
        for t, ls, lg in zip(d.texts, d.labels, d.languages):
            if text_hash(t) not in reviewed_hashes:  # a person's decision replaces the file's annotation
                texts.append(t)
                lists.append(ls)
                langs.append(lg)
        langs = _detect(engine, texts, langs)
    for _ in range(review_weight):
        texts += r_texts
        lists += r_lists
        langs += r_langs
    distinct = len({text_hash(t) for t in texts})
    if distinct < 20:
        raise InputError(f"{task}: only {len(r_texts)} reviewed record(s)"
                         + (f" and {distinct - len(r_texts)} from --data" if data is not None else " and no --data")
                         + "; need at least 20 distinct records to retrain", field="data")
    # validation: a seeded 15 % of distinct texts, so copies of one reviewed record never straddle the split
    h = np.array([int(text_hash(t)[:8], 16) % 100 for t in texts])
    val_mask = h < 15
    n_val = len({text_hash(t) for t, v in zip(texts, val_mask) if v})
    if n_val < 5:
        raise InputError(f"{task}: {n_val} of the {distinct} distinct records fall in the validation part (a seeded "
                         "15 %); at least 5 are needed to check the new model: review more, or add --data FILE",
                         field="data")
    V = vectors_for(engine, texts, progress)
    training = {"file": Path(data).name if data else None, "sha256": sha256_file(Path(data)) if data else None,
                "reviews": len(r_texts), "review_weight": review_weight, "val": "15 % of distinct texts"}
    # only a model that replaces the one in use is checked against it (``out``: written elsewhere, not used)
    gate = _previous_model_gate(engine, task, texts, lists, langs, V, val_mask, force=force) if out is None else None
    res = _fit_and_save(engine, task, labels, texts, lists, langs, V, val_mask=val_mask, training=training,
                        out=out, progress=progress, gate=gate)
    with engine.db.session() as s:
        s.add(AuditEvent(who=actor, action="retrain", entity="model", entity_id=res["model"],
                         after={"reviews": len(r_texts), "records": res["records"]}))
    return res


def evaluate_task(engine, task: str, path: Path, *, only: str | None = None, languages: list[str] | None = None,
                  column: str | None = None, fmt: str | None = None, progress=None) -> dict:
    """Figures of the current model for ``task`` on an annotated file; nothing is trained or stored
    except the vectors' cache."""
    data = load_annotated(path, task, load_labels(task, engine.settings.home), column=column, languages=languages,
                          fmt=fmt)
    check_filters(data.records, {"only": only}, Path(path).name)  # before any model is loaded or built
    lt = engine.taggers.get(task)
    pick = field_filter(only)
    keep = [i for i, r in enumerate(data.records) if pick(r)] if only else list(range(len(data)))
    if not keep:
        raise InputError(f"--only {only} selects no record", field="only")
    texts = [data.texts[i] for i in keep]
    langs = _detect(engine, texts, [data.languages[i] for i in keep])
    P = engine_probabilities(engine, lt, texts, vectors_for(engine, texts, progress), langs)
    D = lt.model.decide(P, langs)
    if lt.model.multilabel:
        D[np.arange(len(P)), P.argmax(1)] = True  # the best label is always asserted, as in training
    Y = label_matrix([data.labels[i] for i in keep], lt.model.label_ids)
    names = {lab.id: lab.name() for lab in lt.labels.labels}
    rep = tagging_report(P, D, Y, lt.model.label_ids, names=names, multilabel=lt.model.multilabel)
    not_in_model = sum(1 for i in keep if not set(data.labels[i]) & set(lt.model.label_ids))
    by_lang = {}
    for lang in sorted(set(langs)):
        m = np.array([x == lang for x in langs])
        if m.sum() >= 5:
            r = tagging_report(P[m], D[m], Y[m], lt.model.label_ids, multilabel=lt.model.multilabel)
            by_lang[lang] = {"n": r["n"], "micro_f1": r["micro"]["f1"], "top1_in_gold": r["top1_in_gold"],
                             **({"accuracy": r["accuracy"]} if "accuracy" in r else {})}
    return {"task": task, "model": lt.agent, "file": Path(path).name, "only": only, **rep, "by_language": by_lang,
            "gold_outside_model_labels": not_in_model, "unknown_annotations": data.unknown}
