"""The record every reader yields, before it is stored."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field


@dataclass
class RawRecord:
    source: str
    external_id: str
    text: str
    mechanism: str | None = None
    body: str | None = None
    country: str | None = None
    recommending_state: str | None = None
    cycle: str | None = None
    session: str | None = None
    date: dt.date | None = None
    response: str | None = None
    paragraph: str | None = None
    language: str | None = None  # a hint from the file (e.g. the UHRI column); verified by detection
    translation_group: str | None = None
    extra: dict = field(default_factory=dict)
    row: int | None = None  # 1-based row in the file, for error messages


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
