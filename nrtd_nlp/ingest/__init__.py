"""Ingestion: readers for real recommendation files, normalisation, language, segmentation."""

from .records import RawRecord

__all__ = ["RawRecord"]
