"""Tagging: SDG goals and targets, UPR Info issues and action category, UHRI themes, affected groups,
and any task a country adds as a label file.

``TagModels`` loads each task's bundle once (a country's own in ``$NRTD_HOME/models/taggers`` first,
then the shipped one). A bundle made for another embedder cannot read this engine's vectors, and a
task without a bundle has only its labels: both get a zero-shot tagger built from the label texts
(and cached under ``$NRTD_HOME/models/taggers``), so every task answers on day one.
``tag_texts`` is stateless (``POST /v1/tag``); ``suggest_records`` stores the same tags as
suggestions, each naming the model that made it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import delete, select

from ..classify.bundle import load_bundle, read_manifest, save_bundle, shipped_dir
from ..classify.labels import LabelSet, available_tasks, load_labels
from ..classify.reference import reference_centering
from ..classify.zeroshot import ZeroShotTagger
from ..embed.views import EmbeddingView, preferred_view, view_for
from ..errors import InputError, NotFound, NrtdError
from ..store.models import ModelRun, Recommendation, Review, Suggestion, utcnow

DEFAULT_TASKS = ("sdg_goal", "sdg_target", "upr_issue", "uhri_theme", "affected_group", "action_category")
SINGLE_LABEL = {"action_category"}
MAX_TEXTS = 256


@dataclass
class LoadedTagger:
    task: str
    model: object
    centering: object
    manifest: dict
    labels: LabelSet
    view: EmbeddingView  # the part of the engine's embedding the model reads

    @property
    def agent(self) -> str:
        return f"{self.manifest.get('name', self.task + '-tagger')}@{self.manifest.get('version', '0')}"

    @property
    def calibrated(self) -> bool:
        return self.model.kind == "supervised" or bool(getattr(self.model, "calibrated_", False))


def local_dir(engine) -> Path:
    return engine.settings.home / "models" / "taggers"


def fit_zero_shot(engine, task: str, labels: LabelSet, view: EmbeddingView | None = None):
    """(model, centering, view): label-text prototypes in ``view`` (default: the taggers' preferred
    part of the engine's embedding), language-centred with the reference means."""
    view = view or preferred_view(engine.embedder, engine.settings.tag_view)
    centering = reference_centering(view.encoder, engine.settings.cache_dir)
    det = engine.detector
    model = ZeroShotTagger(task, labels, multilabel=task not in SINGLE_LABEL).fit(
        lambda texts: centering.transform(view.encode(texts), [det.detect(t)[0] for t in texts]))
    return model, centering, view


class TagModels:
    def __init__(self, engine):
        self.engine = engine
        self._loaded: dict[str, LoadedTagger] = {}
        self._stamps: dict[str, tuple[float, int | None]] = {}  # task -> (last checked, local manifest mtime)
        self._lock = threading.Lock()
        self._tasks: tuple | None = None
        self._checked = 0.0

    def tasks(self) -> list[str]:
        """Shipped tasks plus the country's label files; re-read only when that folder changes (a file
        added or removed), since listing it on every call cost 6 ms a request; the folder itself is
        looked at no more than once a second (its stat was 4 % of the tag server's CPU)."""
        now = time.monotonic()
        if self._tasks is not None and now - self._checked < 1.0:
            return list(self._tasks[1])
        self._checked = now
        local = self.engine.settings.home / "labels"
        try:
            key = local.stat().st_mtime_ns
        except OSError:
            key = None
        if self._tasks is None or self._tasks[0] != key:
            names = available_tasks(self.engine.settings.home)
            self._tasks = (key, [t for t in DEFAULT_TASKS if t in names] + [t for t in names if t not in DEFAULT_TASKS])
        return list(self._tasks[1])

    def invalidate(self, task: str | None = None) -> None:
        with self._lock:
            self._tasks = None  # a new or changed label file is seen at once
            if task is None:
                self._loaded.clear()
            else:
                self._loaded.pop(task, None)

    def _local_stamp(self, task: str):
        """The country's bundle of ``task`` as it is on disk (a retrain by another process swaps it in)."""
        try:
            return (local_dir(self.engine) / task / "manifest.json").stat().st_mtime_ns
        except OSError:
            return None

    def get(self, task: str) -> LoadedTagger:
        """The task's tagger, loaded once; a bundle that ``nrtd retrain``/``nrtd train`` wrote into the store's
        model folder since (another process: the CLI beside a running server) is picked up within a second."""
        now = time.monotonic()
        with self._lock:
            held = self._loaded.get(task)
            if held is not None and now - self._stamps.get(task, (0.0, None))[0] >= 1.0:
                stamp = self._local_stamp(task)
                if stamp != self._stamps[task][1]:
                    held = None
                else:
                    self._stamps[task] = (now, stamp)
            if held is None:
                stamp = self._local_stamp(task)
                held = self._loaded[task] = self._load(task)
                self._stamps[task] = (now, stamp)
            return held

    def _load(self, task: str) -> LoadedTagger:
        if task not in available_tasks(self.engine.settings.home):
            raise NotFound(f"unknown task {task!r}; known: {', '.join(self.tasks())}", field="tasks")
        labels = load_labels(task, self.engine.settings.home)
        emb = self.engine.embedder
        for folder in (local_dir(self.engine) / task, shipped_dir() / task):
            if not (folder / "manifest.json").is_file():
                continue
            meta = read_manifest(folder)
            view = view_for(emb, meta.get("embedder"))
            if view is None:
                continue  # made for another embedder (not this one nor a part of it): cannot read its vectors
            if meta["kind"] == "zero-shot" and meta.get("labels_fingerprint") != labels.fingerprint():
                continue  # the label file changed since: rebuild the prototypes
            if not set(meta["labels"]) <= set(labels.ids):
                continue  # labels were removed from the file since training
            model, centering, meta = load_bundle(folder, labels)
            return LoadedTagger(task, model, centering, meta, labels, view)
        return self._build_zero_shot(task, labels)

    def _build_zero_shot(self, task: str, labels: LabelSet) -> LoadedTagger:
        model, centering, view = fit_zero_shot(self.engine, task, labels)
        manifest = {"name": f"{task}-zeroshot", "version": labels.fingerprint()[:8], "embedder": view.model_id,
                    "engine_embedder": self.engine.embedder.model_id,
                    "labels_fingerprint": labels.fingerprint(), "label_files": labels.origin,
                    "training": {"kind": "label texts only (no annotated data)"}}
        folder = save_bundle(model, centering, local_dir(self.engine) / task, manifest)
        model, centering, meta = load_bundle(folder, labels)
        return LoadedTagger(task, model, centering, meta, labels, view)


def describe_taggers(engine) -> list[dict]:
    """Which model answers each task, with its training and validation figures."""
    out = []
    for task in engine.taggers.tasks():
        lt = engine.taggers.get(task)
        m = lt.manifest
        out.append({"task": task, "model": lt.agent, "kind": m["kind"], "calibrated": lt.calibrated,
                    "labels": len(m["labels"]), "embedder": m.get("embedder"), "training": m.get("training"),
                    "validation": {k: v for k, v in (m.get("validation") or {}).items() if k != "calibration"},
                    **(_other_languages(m) if m["kind"] == "supervised" else {}),
                    # a fine-tuned encoder head answers (text languages only) where the fast heads are unsure
                    **({"encoder": {k: m["encoder"].get(k) for k in ("backbone_id", "layers", "refine_below")}}
                       if m.get("encoder") else {})})
    return out


def _other_languages(m: dict) -> dict:
    """How a supervised bundle reads languages its text heads were not trained on, and how well that path did on
    the validation part (the manifest's ``embedding_only``)."""
    other = m.get("embedding_only") or {}
    return {"text_languages": m.get("text_languages", []),
            "other_languages": {"reads": "cues + embedding" if m.get("cues") else "embedding",
                                "validation": other.get("validation")}}


def _check_tasks(models: TagModels, tasks: list[str] | None) -> list[str]:
    known = models.tasks()
    if not tasks:
        return known
    bad = [t for t in tasks if t not in known]
    if bad:
        raise InputError(f"unknown task(s) {', '.join(bad)}; known: {', '.join(known)}", field="tasks")
    return list(dict.fromkeys(tasks))


def parent_tagger(engine, lt: LoadedTagger) -> LoadedTagger | None:
    """The tagger whose probabilities ``lt``'s calibration reads (an SDG target's goal tagger), or None."""
    if getattr(lt.model, "parent_of_", None) is None:
        return None
    try:
        return engine.taggers.get(lt.model.parent_task)
    except NrtdError:  # the parent task is gone: its calibration input takes its mean value
        return None


def has_encoder(lt: LoadedTagger) -> bool:
    return getattr(lt.model, "encoder_head_", None) is not None


def probabilities(lt: LoadedTagger, texts: list[str], vectors: np.ndarray, languages: list[str],
                  parent=None, refine: bool = True) -> np.ndarray:
    """``lt``'s probabilities for raw embeddings in its view; ``parent``: (the parent task's label ids, its
    probabilities) when ``lt`` reads them (an SDG target's goal); ``refine=False``: without the encoder head."""
    X = lt.centering.transform(vectors, languages) if lt.centering.fitted else vectors
    if parent is not None:
        return lt.model.predict_proba(texts, X, languages, parent=parent)
    if not refine and has_encoder(lt):
        return lt.model.predict_proba(texts, X, languages, refine=False)
    return lt.model.predict_proba(texts, X, languages)


def batch_probabilities(loaded: list[LoadedTagger], parents: list, texts: list[str], vectors_of,
                        languages: list[str], refine: bool = True) -> list[np.ndarray]:
    """Each tagger's probabilities for one batch of texts (``vectors_of(lt)``: raw vectors in ``lt``'s view).
    A parent task's (an SDG target's goal) are computed once, whether or not it was asked for itself."""
    memo: dict[str, np.ndarray] = {}

    def probs(lt, parent=None):
        if lt.task not in memo:
            memo[lt.task] = probabilities(lt, texts, vectors_of(lt), languages, parent, refine)
        return memo[lt.task]

    out = []
    for lt, plt in zip(loaded, parents):
        reads = plt is not None and getattr(lt.model, "parent_of_", None) is not None
        out.append(probs(lt, (list(plt.model.label_ids), probs(plt)) if reads else None))
    return out


def engine_probabilities(engine, lt: LoadedTagger, texts: list[str], raw: np.ndarray, languages: list[str]):
    """``lt``'s probabilities from the engine's whole vectors ``raw``, its parent's included."""
    return batch_probabilities([lt], [parent_tagger(engine, lt)], texts, lambda m: m.view.take(raw), languages)[0]


def predict(lt: LoadedTagger, texts: list[str], vectors: np.ndarray | None, languages: list[str],
            top_k: int = 3, parent=None, P: np.ndarray | None = None) -> list[dict]:
    """Per text: {tags: [{id, name, score, asserted}], abstain}. ``vectors`` are raw embeddings in
    the tagger's view (``lt.view.take`` of the engine's vectors, or ``lt.view.encode``); ``parent``: as in
    ``probabilities``; ``P``: the probabilities, when already computed (``batch_probabilities``)."""
    model = lt.model
    if P is None:
        P = probabilities(lt, texts, vectors, languages, parent)
    D = model.decide(P, languages)
    out = []
    for i, lang in enumerate(languages):
        order = np.argsort(-P[i])
        asserted = [j for j in order if D[i, j]]
        shown = list(dict.fromkeys(asserted + list(order[:top_k])))[:max(top_k, len(asserted))]
        tags = [{"id": model.label_ids[j], "name": lt.labels.by_id[model.label_ids[j]].name(lang)
                 if model.label_ids[j] in lt.labels.by_id else model.label_ids[j],
                 "score": round(float(P[i, j]), 4), "asserted": bool(D[i, j])} for j in shown]
        out.append({"tags": tags, "abstain": not asserted})
    return out


def check_tag_request(engine, texts: list[str], tasks: list[str] | None, top_k: int) -> list[str]:
    """Validate a tagging request; returns the tasks to run."""
    if not texts:
        raise InputError("give at least one text", field="texts")
    if len(texts) > MAX_TEXTS:
        raise InputError(f"at most {MAX_TEXTS} texts per call", field="texts")
    for i, t in enumerate(texts):
        if not isinstance(t, str) or not t.strip():
            raise InputError(f"text {i} is empty", field=f"texts.{i}")
        if len(t) > engine.settings.max_text_chars:
            raise InputError(f"text {i} is longer than {engine.settings.max_text_chars} characters", field=f"texts.{i}")
    if not 1 <= top_k <= 20:
        raise InputError("top_k must be between 1 and 20", field="top_k")
    return _check_tasks(engine.taggers, tasks)


def view_vectors(engine, loaded: list[LoadedTagger], texts: list[str],
                 vectors: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Each tagger's input vectors, keyed by view model id. Given the engine's ``vectors``, views are
    cut out of them; otherwise only the encoders the taggers need are run (the USE-m3 part alone
    when every tagger reads it: ~5 ms for one text instead of ~100 ms with e5)."""
    needed = {lt.view.model_id: lt.view for lt in loaded}
    if vectors is None and any(v.whole for v in needed.values()):
        vectors = engine.embedder.encode(texts)
    out = {}
    for mid, view in needed.items():
        out[mid] = view.take(vectors) if vectors is not None else view.encode(texts)
    return out


def tag_validated(engine, texts: list[str], langs: list[str], tasks: list[str], top_k: int,
                  vectors: np.ndarray | None = None, refine: bool = True) -> list[dict]:
    """Tags for checked input (``check_tag_request``); languages already known. ``refine=False`` (the server's
    ``POST /v1/tag`` unless ``NRTD_TAG_REFINE=always``): no encoder head; such answers say ``refined: false``."""
    loaded = [engine.taggers.get(t) for t in tasks]
    parents = [parent_tagger(engine, lt) for lt in loaded]
    V = view_vectors(engine, loaded + [p for p in parents if p is not None], texts, vectors)
    results = [{"language": lang, "tags": {}} for lang in langs]
    probs = batch_probabilities(loaded, parents, texts, lambda m: V[m.view.model_id], langs, refine)
    for task, lt, P in zip(tasks, loaded, probs):
        extra = {"refined": refine} if has_encoder(lt) else {}
        for r, p in zip(results, predict(lt, texts, None, langs, top_k, P=P)):
            r["tags"][task] = {**p, "model": lt.agent, "calibrated": lt.calibrated, **extra}
    return results


def warm_taggers(engine, tasks: list[str]) -> None:
    """Load every task's bundle (and its encoder) with one small call, before the first request. With
    ``NRTD_TAG_REFINE=always`` an encoder head's backbone (classify/encoder_head.py, ~2 s, ~0.5 GB) loads too;
    otherwise only an import or a command that needs it loads it."""
    tag_validated(engine, ["Ratify the Convention against Torture"], ["en"], list(tasks), 3, refine=False)
    if engine.settings.tag_refine != "always":
        return
    for task in tasks:
        enc = getattr(engine.taggers.get(task).model, "encoder_head_", None)
        if enc is not None:
            enc.predict_proba(["Ratify the Convention against Torture"])


def prepare_texts(texts: list[str]) -> list[str]:
    """Texts from outside the store read as an import reads them: the paragraph number ("45.119"), the
    recommending-State suffix ("(Chile);") and a trailing ";" are dropped (``normalise_recommendation``).
    The taggers learnt on such normalised texts, and the embedding head that answers every language
    but English is not robust to them: pasted from a UPR report with its ";", 158 of 210 Spanish UHRI
    recommendations were tagged "2 Continuing action" against 28 without it."""
    from ..ingest.normalise import normalise_recommendation

    out = []
    for t in texts:
        clean = normalise_recommendation(t, upr=True)[0]
        out.append(clean if clean.strip() else t)
    return out


def detect_languages(engine, texts: list[str], languages: list[str | None] | None) -> list[str]:
    return [(languages[i] if languages and languages[i] else engine.detector.detect(t)[0])
            for i, t in enumerate(texts)]


def tag_texts(engine, texts: list[str], *, tasks: list[str] | None = None, languages: list[str | None] | None = None,
              top_k: int = 3, vectors: np.ndarray | None = None) -> list[dict]:
    """Stateless tagging: texts in, tags out (nothing is stored). ``vectors``: the engine's
    embeddings of ``texts``, when the caller has them."""
    tasks = check_tag_request(engine, texts, tasks, top_k)
    if vectors is None:  # the engine's vectors belong to stored texts, already normalised on import
        texts = prepare_texts(texts)
    return tag_validated(engine, texts, detect_languages(engine, texts, languages), tasks, top_k, vectors)


def suggest_records(engine, rec_ids: list[int] | None = None, *, tasks: list[str] | None = None, top_k: int = 3,
                    actor: str = "cli", batch: int = 512, progress=None) -> dict:
    """Tag stored records and keep the tags as suggestions (replacing older machine suggestions that no
    person has decided on; decided ones stay, since reviews point to them)."""
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or not 1 <= top_k <= 20:
        raise InputError("top_k must be between 1 and 20", field="top_k")
    models = engine.taggers
    tasks = _check_tasks(models, tasks)
    ids, vecs, _ = engine.stored_vectors(rec_ids)
    if rec_ids is not None and len(ids) < len(set(rec_ids)):
        with engine.db.session() as s:
            known = set(s.scalars(select(Recommendation.id).where(Recommendation.id.in_(sorted(set(rec_ids))))))
        if len(known) < len(set(rec_ids)):
            raise NotFound(f"no recommendation {sorted(set(rec_ids) - known)[:10]}", field="rec_ids")
        missing = len(set(rec_ids)) - len(ids)
        raise InputError(f"{missing} record(s) have no vector yet; run `nrtd embed` first", field="rec_ids")
    with engine.db.session() as s:
        meta = {}
        for i in range(0, len(ids), 900):
            for rid, text, lang in s.execute(select(Recommendation.id, Recommendation.text, Recommendation.language)
                                             .where(Recommendation.id.in_([int(x) for x in ids[i:i + 900]]))):
                meta[rid] = (text, lang)
    counts = {t: 0 for t in tasks}
    loaded = {t: models.get(t) for t in tasks}
    parents = {t: parent_tagger(engine, lt) for t, lt in loaded.items()}
    total = len(ids)
    with engine.db.session() as s:
        runs = {}
        for t, lt in loaded.items():
            run = ModelRun(task=t, agent=lt.agent, params={"top_k": top_k, "records": total, "actor": actor})
            s.add(run)
            s.flush()
            runs[t] = run.id
        for start in range(0, total, batch):
            chunk = [int(x) for x in ids[start:start + batch]]
            texts = [meta[r][0] for r in chunk]
            langs = [meta[r][1] or "und" for r in chunk]
            V = vecs[start:start + batch]
            probs = dict(zip(loaded, batch_probabilities(list(loaded.values()), [parents[t] for t in loaded], texts,
                                                         lambda m: m.view.take(V), langs)))
            reviewed = set(s.scalars(select(Review.suggestion_id).where(Review.rec_id.in_(chunk),
                                                                         Review.suggestion_id.is_not(None))))
            for t, lt in loaded.items():
                old = s.scalars(select(Suggestion.id).where(Suggestion.rec_id.in_(chunk), Suggestion.task == t)).all()
                drop = [x for x in old if x not in reviewed]
                for j in range(0, len(drop), 900):
                    s.execute(delete(Suggestion).where(Suggestion.id.in_(drop[j:j + 900])))
                for rid, p in zip(chunk, predict(lt, texts, None, langs, top_k, P=probs[t])):
                    for tag in p["tags"]:
                        s.add(Suggestion(rec_id=rid, task=t, value=tag["id"], score=tag["score"], agent=lt.agent,
                                         asserted=bool(tag["asserted"]),
                                         run_id=runs[t]))
                        counts[t] += 1
            if progress:
                progress("tag", min(start + batch, total), total)
        for run_id in runs.values():
            s.get(ModelRun, run_id).finished_at = utcnow()
    return {"records": total, "suggestions": counts, "models": {t: lt.agent for t, lt in loaded.items()}}


def suggest_on_import(engine, rec_ids: list[int], actor: str) -> dict | None:
    """Tags for newly imported records; a failure here never undoes the committed import."""
    if not getattr(engine.settings, "tag_on_import", True) or not rec_ids:
        return None
    try:
        return suggest_records(engine, rec_ids, actor=actor)
    except Exception as e:  # reported in the import result; `nrtd suggest` can be re-run
        return {"error": f"{type(e).__name__}: {e}"}
