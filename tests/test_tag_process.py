"""The API server's tagging process (services/tag_process.py): same answers as tagging in-process,
errors that keep their field, and a new child after one dies."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from nrtd_nlp.errors import NotFound
from nrtd_nlp.services.tag_batching import TagBatcher
from nrtd_nlp.services.tag_process import TagProcess
from nrtd_nlp.services.tags import tag_texts

from .test_tag_views import TEXTS, country_engine_for_batch  # noqa: F401  (fixture: a country's "transition" task)


def _same(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        tx, ty = x["tags"]["transition"], y["tags"]["transition"]
        assert x["language"] == y["language"] and tx["model"] == ty["model"]
        assert [t["id"] for t in tx["tags"]] == [t["id"] for t in ty["tags"]]
        np.testing.assert_allclose([t["score"] for t in tx["tags"]], [t["score"] for t in ty["tags"]], atol=2e-3)


def test_child_answers_as_this_process_does(country_engine_for_batch):
    country_engine = country_engine_for_batch
    expected = tag_texts(country_engine, TEXTS, tasks=["transition"], top_k=2)  # builds and saves the prototypes
    langs = [r["language"] for r in expected]
    tp = TagProcess(country_engine.settings)
    try:
        pid = tp.warm(["transition"])
        assert pid != os.getpid() and tp.pid == pid
        _same(tp.tag(TEXTS, langs, ["transition"], 2), expected)

        # an error raised in the child reaches the caller with its type and field
        with pytest.raises(NotFound) as err:
            tp.tag(["x"], ["en"], ["no_such_task"], 2)
        assert err.value.field == "tasks"

        # a dead child is replaced on the next call
        os.kill(pid, signal.SIGKILL)
        for _ in range(50):
            if not tp._proc.is_alive():
                break
            time.sleep(0.1)
        _same(tp.tag(TEXTS[:2], langs[:2], ["transition"], 2), expected[:2])
        assert tp.restarts == 1 and tp.pid != pid

        # the batcher hands its micro-batches to the child
        b = TagBatcher(country_engine, runner=tp)
        _same(b.tag(TEXTS[2:], langs[2:], ["transition"], 2), expected[2:])
        b.close()  # closes the child too
        assert tp._proc is None

        # the server's start-up has the child load its taggers in the background (api/warmup.py)
        from types import SimpleNamespace

        from nrtd_nlp.api.warmup import start_tagger_warm_up

        b = TagBatcher(country_engine, runner=tp)
        server = SimpleNamespace(settings=country_engine.settings, tag_batcher=b,
                                 taggers=SimpleNamespace(tasks=lambda: ["transition"]))
        thread = start_tagger_warm_up(server)
        assert thread is not None
        thread.join(120)
        assert tp._proc is not None and tp._proc.is_alive() and tp.pid != pid
        assert start_tagger_warm_up(country_engine) is None  # no child (model object given): warm_up loads here
        b.close()
    finally:
        tp.close()


def test_engine_uses_a_child_only_when_it_can_rebuild_the_model(settings, engine):
    from nrtd_nlp.services.context import Engine

    assert engine.tag_batcher.runner is None  # a model object was passed in (tests): tag in this process
    own = Engine(settings)
    try:
        assert isinstance(own.tag_batcher.runner, TagProcess)
        assert own.tag_batcher.runner._proc is None  # started on first use or by the server's warm-up
    finally:
        own.close()
    off = Engine(settings.model_copy(update={"tag_process": False}))
    try:
        assert off.tag_batcher.runner is None
    finally:
        off.close()
