"""Give a link-scorer bundle its pair encoder (pair_encoder.py): ``nrtd train-links --pair-encoder[-only]``.

The encoder is tuned on the same labelled pairs as the scorer's heads (the gold file and the training
files), in both orders, and written beside them as ``pair_encoder.npz`` (float16 layers, ~14 MB); the
manifest records its settings, the files it learnt from (with their hashes) and the library versions.
The scorer's heads and thresholds are untouched: the weight and the band were fixed before the test
files were scored, and ``python -m evaluation.duplicates_pair_encoder`` measures the pair.
On 2 cores: ~7 minutes for 1,540 pairs (4 epochs over 3,080 ordered pairs).
"""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

import numpy as np

from .scorer import PAIR_ENCODER_FILE
from .train import LIBS, _installed, _sha, load_pairs, read_bundle_manifest, write_bundle_manifest


def add_pair_encoder(out: Path, gold: Path, corpus: Path, extra: list[Path] | None = None, *,
                     version: str | None = None, epochs: int = 4, weight: float = 0.25, backbone: str = "e5-small",
                     progress=None) -> dict:
    from .pair_encoder import PairEncoder

    out = Path(out)
    meta = read_bundle_manifest(out, corpus)
    files = [Path(gold), *[Path(p) for p in extra or []]]
    ta, tb, y = load_pairs(files, corpus)
    pe = PairEncoder(backbone=backbone, epochs=epochs, weight=weight).fit(ta, tb, y, progress=progress)
    state, arrays = pe.to_state()
    tmp = out / (PAIR_ENCODER_FILE + ".tmp.npz")
    np.savez(tmp, **arrays)
    meta["pair_encoder"] = state | {
        "file": PAIR_ENCODER_FILE,
        "training_data": [{"file": p.name, "sha256": _sha(p)} for p in files],
        "use": "same-language pairs in its languages, same cycle, where its answer at this weight can move "
               "P(duplicate) across the duplicate threshold; its probabilities averaged with the scorer's",
        "libraries": {lib: metadata.version(lib) for lib in (*LIBS, "transformers") if _installed(lib)}
                     | {"python": platform.python_version()}}
    if version:
        meta["version"] = version
    tmp.replace(out / PAIR_ENCODER_FILE)  # the weights first: a manifest never names a file that is not there
    write_bundle_manifest(out, meta)
    return meta
