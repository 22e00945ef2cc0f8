"""Taggers that read one part of a concatenated embedding (the USE-m3 part of e5-use by default), and
the micro-batching of concurrent tagging requests."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from nrtd_nlp.embed.composite import ConcatEmbedder
from nrtd_nlp.embed.views import preferred_view, view_for, views
from nrtd_nlp.errors import NotFound
from nrtd_nlp.services.tag_batching import TagBatcher, _Job
from nrtd_nlp.services.tag_training import train_task
from nrtd_nlp.services.tags import predict, tag_texts

from .conftest import head_rows, shared_file, write_csv

TEXTS = ["Continue its efforts to combat poverty", "Ratify the Convention against Torture",
         "Garantizar el acceso a la educación de todas las niñas", "Adopt a law against domestic violence"]


class Counting:
    """An embedder that counts its calls (to show which encoders a request runs)."""

    def __init__(self, inner):
        self.inner, self.model_id, self.dim, self.calls = inner, inner.model_id, inner.dim, 0

    def encode(self, texts, *, progress=None):
        self.calls += 1
        return self.inner.encode(texts, progress=progress)


@pytest.fixture(scope="module")
def use_part():
    from nrtd_nlp.embed.base import get_embedder

    return get_embedder("use-m3", threads=2)


@pytest.fixture()
def concat_engine(settings, test_embedder, use_part):
    from nrtd_nlp.services.context import Engine

    first = Counting(test_embedder)
    e = Engine(settings, embedder=ConcatEmbedder([first, use_part]))
    e.first_part = first
    yield e
    e.close()


def test_views_cut_parts_out_of_the_whole(test_embedder, use_part):
    emb = ConcatEmbedder([test_embedder, use_part])
    V = emb.encode(TEXTS)
    vs = views(emb)
    assert [v.model_id for v in vs] == [emb.model_id, test_embedder.model_id, use_part.model_id]
    use_view = preferred_view(emb, "use-multilingual-v3")
    assert not use_view.whole and use_view.dim == 512
    cos = (use_view.take(V) * use_part.encode(TEXTS)).sum(1)
    assert cos.min() > 0.9999  # the stored vectors hold the part exactly
    assert preferred_view(emb, "whole").whole and preferred_view(test_embedder, "use-multilingual-v3").whole
    assert view_for(emb, "no-such-model@1") is None and view_for(emb, use_part.model_id).columns == slice(384, 896)


@pytest.fixture(scope="module")
def upr_slice(tmp_path_factory):
    header, rows = head_rows(shared_file("upr-info/upr_info_sessions01-18.csv"), 4000)
    return write_csv(tmp_path_factory.mktemp("upr") / "upr240.csv", header, rows[::16][:240])


def test_tagger_on_the_use_part_needs_only_that_encoder(concat_engine, upr_slice, use_part):
    res = train_task(concat_engine, "action_category", upr_slice, params={"max_features": 3000})
    lt = concat_engine.taggers.get("action_category")
    assert lt.manifest["embedder"] == use_part.model_id and lt.agent == res["model"]
    assert lt.manifest["engine_embedder"] == concat_engine.embedder.model_id
    before = concat_engine.first_part.calls
    stateless = tag_texts(concat_engine, TEXTS, tasks=["action_category"])
    assert concat_engine.first_part.calls == before  # the e5 part (here the test model) never ran
    # the same tags from the engine's whole vectors (what imports store as suggestions)
    langs = [r["language"] for r in stateless]
    stored = predict(lt, TEXTS, lt.view.take(concat_engine.embedder.encode(TEXTS)), langs, 3)
    for a, b in zip(stateless, stored):
        assert [t["id"] for t in a["tags"]["action_category"]["tags"]] == [t["id"] for t in b["tags"]]
        np.testing.assert_allclose([t["score"] for t in a["tags"]["action_category"]["tags"]],
                                   [t["score"] for t in b["tags"]], atol=2e-3)


def test_batcher_answers_each_request_with_its_own_rows(country_engine_for_batch):
    eng = country_engine_for_batch
    expected = tag_texts(eng, TEXTS, tasks=["transition"], top_k=2)
    b = TagBatcher(eng)
    jobs = [_Job([t], [r["language"]], ("transition",), 2) for t, r in zip(TEXTS, expected)]
    jobs.append(_Job(TEXTS[:2], [expected[0]["language"], expected[1]["language"]], ("transition",), 2))
    for j in jobs:  # queued before the worker starts: they must go through as one batch
        b._queue.put(j)
    b._ensure_worker()
    got = [j.future.result(60) for j in jobs]
    assert b.batches == 1 and b.jobs == len(jobs)
    assert [g[0] for g in got[:4]] == expected and got[4] == expected[:2]
    # concurrent callers through the public API
    out: dict[int, list] = {}

    def call(i):
        out[i] = b.tag([TEXTS[i % 4]], [expected[i % 4]["language"]], ["transition"], 2)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(out[i] == [expected[i % 4]] for i in range(12))
    # a failing batch fails its requests, and the worker goes on
    with pytest.raises(NotFound):
        b.tag(["x"], ["en"], ["no_such_task"], 2)
    assert b.tag([TEXTS[0]], [expected[0]["language"]], ["transition"], 2) == [expected[0]]
    b.close()


@pytest.fixture()
def country_engine_for_batch(engine):
    d = engine.settings.home / "labels"
    d.mkdir(parents=True, exist_ok=True)
    (d / "transition.csv").write_text(
        "id,name_en,keywords_en\ntruth,Truth and reconciliation,truth commission|reparations\n"
        "water,Drinking water,drinking water|sanitation\nschool,Schooling,primary school|education\n"
        "poverty,Poverty,poverty|social protection\n", encoding="utf-8")
    return engine


@pytest.mark.slow  # embeds ~1,500 label texts and the UHRI records with the test model
def test_sdg_targets_train_as_calibrated_zero_shot(engine):
    """sdg_target has 169 labels and few annotated records: training calibrates the label-text
    prototypes' scores on the records instead of fitting a head per target."""
    uhri = shared_file("uhri-multilingual/uhri_multilingual_dev.csv")
    res = train_task(engine, "sdg_target", uhri, languages=["en"])
    lt = engine.taggers.get("sdg_target")
    assert lt.model.kind == "zero-shot" and lt.calibrated and lt.agent == res["model"]
    assert lt.manifest["training"]["records"] == res["records"] > 50
    out = tag_texts(engine, ["By 2030, eradicate extreme poverty for all people everywhere"], tasks=["sdg_target"])
    tags = out[0]["tags"]["sdg_target"]
    assert tags["calibrated"] is True and all(0.0 <= t["score"] <= 1.0 for t in tags["tags"])
    assert tags["tags"][0]["id"].startswith("1.")  # the target's own text lands in goal 1
