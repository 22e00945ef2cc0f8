"""Tagging: ``POST /v1/tag`` (stateless, for other NRTD systems; readers may call it),
``GET /v1/taggers`` (which model answers each task), ``POST /v1/suggest`` (admin: store tags for
stored records as suggestions)."""

from __future__ import annotations

import asyncio
from typing import Optional

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import Field, model_validator

from ...services.tags import (MAX_TEXTS, check_tag_request, describe_taggers, detect_languages, prepare_texts,
                              suggest_records)
from ..deps import get_engine, get_principal
from ..schemas import DbId, StrictIn

router = APIRouter(tags=["tags"])
admin_router = APIRouter(tags=["tags"])


class TagIn(StrictIn):
    text: Optional[str] = Field(None, description="one text (or use texts)")
    texts: Optional[list[str]] = Field(None, max_length=MAX_TEXTS, description=f"up to {MAX_TEXTS} texts")
    tasks: Optional[list[str]] = Field(None, min_length=1, description="default (left out): every task "
                                       "(GET /v1/taggers)")
    language: Optional[str] = Field(None, max_length=8, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,4})?$",
                                    description="skip detection: the texts' language (ISO 639-1 code, e.g. es)")
    top_k: int = Field(3, ge=1, le=20)

    @model_validator(mode="after")
    def _one_of(self):
        if (self.text is None) == (self.texts is None):
            raise ValueError("give either text or texts")
        return self


class SuggestIn(StrictIn):
    rec_ids: Optional[list[DbId]] = Field(None, max_length=10000, description="default: every embedded record")
    tasks: Optional[list[str]] = None
    top_k: int = Field(3, ge=1, le=20)


@router.post("/tag")
async def post_tag(body: TagIn, engine=Depends(get_engine)):
    """Suggested tags with calibrated scores; ``asserted`` marks those above the label's threshold and
    ``abstain`` says the model is not sure of any. Nothing is stored. Concurrent requests are
    tagged together in micro-batches (services.tag_batching)."""
    texts = [body.text] if body.text is not None else list(body.texts or [])
    tasks = check_tag_request(engine, texts, body.tasks, body.top_k)
    texts = prepare_texts(texts)  # as an import reads them: no paragraph number, State suffix or ";"
    langs = detect_languages(engine, texts, [body.language] * len(texts) if body.language else None)
    # awaited, not blocking a worker thread: the batcher's thread does the work
    data = await asyncio.wait_for(asyncio.wrap_future(engine.tag_batcher.submit(texts, langs, tasks, body.top_k)), 120)
    return JSONResponse({"data": data, "count": len(data)})  # plain JSON types already: no re-encoding


@router.get("/taggers")
def get_taggers(engine=Depends(get_engine)) -> dict:
    """The model answering each task (model@version, kind, calibration, training and validation figures)."""
    out = describe_taggers(engine)
    return {"data": out, "count": len(out)}


@admin_router.post("/suggest")
def post_suggest(body: SuggestIn, engine=Depends(get_engine), principal=Depends(get_principal)) -> dict:
    """Tag stored records and keep the tags as suggestions (decided suggestions are kept)."""
    return suggest_records(engine, body.rec_ids, tasks=body.tasks, top_k=body.top_k, actor=principal.name)
