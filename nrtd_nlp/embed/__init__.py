"""Embedders (text -> L2-normalised float32 vectors) and the FAISS vector index.

Nothing heavy is imported here: ``get_embedder(name)`` builds the object and imports torch lazily.
"""

from .base import Embedder, available_embedders, get_embedder

__all__ = ["Embedder", "available_embedders", "get_embedder"]
