"""Request and response bodies (pydantic)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import annotated_types as at
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..store.models import MAX_INT

MAX_TEXT = 20_000
# ids and offsets are bounded by the database's INTEGER: a larger one is a 422 naming the field, not a 500
DbId = Annotated[int, at.Interval(ge=-MAX_INT, le=MAX_INT)]


class StrictIn(BaseModel):
    """A request body: a field the route does not know is a 422 naming it, never silently dropped."""
    model_config = ConfigDict(extra="forbid")


class RecommendationIn(StrictIn):
    id: str = Field(..., min_length=1, max_length=200, description="your id; re-posting it updates the record")
    text: str = Field(..., min_length=1, max_length=MAX_TEXT)
    language: str | None = Field(None, max_length=8, description="a hint; the language is always detected")
    mechanism: str | None = Field(None, max_length=40)
    body: str | None = Field(None, max_length=100)
    country: str | None = Field(None, max_length=100)
    recommending_state: str | None = Field(None, max_length=300)
    cycle: str | None = Field(None, max_length=20)
    session: str | None = Field(None, max_length=20)
    date: dt.date | None = None
    response: str | None = Field(None, max_length=40)
    paragraph: str | None = Field(None, max_length=40)
    extra: dict[str, Any] | None = None

    @field_validator("extra")
    @classmethod
    def _plain_json(cls, v):
        import json

        try:  # NaN and Infinity are not JSON: stored, they would make the row unreadable elsewhere
            json.dumps(v, allow_nan=False)
        except ValueError:
            raise ValueError("extra must be plain JSON: NaN and Infinity are not allowed") from None
        return v


class BatchIn(StrictIn):
    source: str = Field("api", min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.:-]+$")
    items: list[RecommendationIn] = Field(..., min_length=1, max_length=5000)


class ImportOut(BaseModel):
    import_id: int
    format: str
    source: str
    rows_read: int
    created: int
    updated: int
    unchanged: int
    children: int
    embedded: int
    seconds: float
    languages: dict[str, int]
    links: dict[str, Any] | None = None
    orphaned_sub_items: dict[str, list[int]] | None = None  # sub-items a changed paragraph no longer has


class Page(BaseModel):
    data: list[dict[str, Any]]
    count: int
