"""Inputs at the edges of the API (found by an adversarial audit): every one answers a 4xx in the documented
shape naming the field, and a refused request changes nothing."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from nrtd_nlp.api.deps import get_engine
from nrtd_nlp.api.main import create_app
from nrtd_nlp.errors import Conflict, InputError
from nrtd_nlp.services import reviews as svc
from nrtd_nlp.services.review_sessions import list_sessions, queue
from nrtd_nlp.store.models import AuditEvent, Recommendation, Review, Suggestion
from tests.conftest import act_as
from tests.review_data import seed

HUGE = 10**20  # beyond the database's INTEGER


@pytest.fixture()
def seeded(engine, demo_csv):
    seed(engine, demo_csv)
    return engine


@pytest.fixture()
def client(seeded):
    app = act_as(create_app(engine=seeded), "admin", "audit")
    app.dependency_overrides[get_engine] = lambda: seeded
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _counts(engine) -> tuple[int, int]:
    with engine.db.session() as s:
        return s.scalar(select(func.count(Review.id))), s.scalar(select(func.count(AuditEvent.id)))


def _first_sug(engine, **where) -> Suggestion:
    with engine.db.session() as s:
        q = select(Suggestion)
        for k, v in where.items():
            q = q.where(getattr(Suggestion, k) == v)
        return s.scalars(q.order_by(Suggestion.id)).first()


@pytest.mark.parametrize("method,path,kw,field", [
    ("get", f"/v1/recommendations/{HUGE}", {}, "rec_id"),
    ("get", "/v1/recommendations", {"params": {"offset": HUGE}}, "offset"),
    ("get", "/v1/reviews", {"params": {"rec_id": HUGE}}, "rec_id"),
    ("delete", f"/v1/reviews/{HUGE}", {}, "review_id"),
    ("post", "/v1/reviews", {"json": {"decision": "accept", "suggestion_id": HUGE}}, "suggestion_id"),
    ("post", "/v1/reviews/revert", {"json": {"review_ids": [1, HUGE]}}, "review_ids.1"),
    ("post", "/v1/reviews/bulk", {"json": {"rec_ids": [HUGE]}}, "rec_ids.0"),
    ("post", f"/v1/keys/{HUGE}/revoke", {}, "key_id"),
    ("get", "/v1/audit", {"params": {"offset": HUGE}}, "offset"),
])
def test_numbers_beyond_the_database_are_a_422_naming_the_field(client, seeded, method, path, kw, field):
    before = _counts(seeded)
    r = getattr(client, method)(path, **kw)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["field"] == field
    assert _counts(seeded) == before


def test_framework_errors_and_defects_use_the_documented_shape(client, monkeypatch):
    r = client.get("/v1/nope")
    assert r.status_code == 404 and r.json()["detail"]["code"] == "not_found"
    r = client.put("/v1/reviews")
    assert r.status_code == 405 and r.json()["detail"]["field"] == "method"
    from nrtd_nlp.api.routes import recommendations

    def boom(*a, **k):
        raise RuntimeError("a defect")

    monkeypatch.setattr(recommendations, "get_recommendation", boom)
    r = client.get("/v1/recommendations/1")
    assert r.status_code == 500
    assert r.json()["detail"]["code"] == "internal_error" and "a defect" not in r.text  # no internals leak
    assert client.get("/healthz").status_code == 200


def test_a_bar_in_stored_values_does_not_break_the_session_list(seeded, client):
    with seeded.db.session() as s:
        s.add(Recommendation(source="t", external_id="bar", text="Ratify the CAT", text_hash="bar", language="en",
                             mechanism="UPR|x%7C", cycle="3|", session="4"))
    sessions = client.get("/v1/review-sessions")
    assert sessions.status_code == 200
    key = next(x["key"] for x in sessions.json()["data"] if x["label"].startswith("UPR|x%7C"))
    assert [it["text"] for it in queue(seeded, key)["data"]] == ["Ratify the CAT"]
    assert len({x["key"] for x in list_sessions(seeded)}) == len(list_sessions(seeded))
    r = client.get("/v1/review-queue", params={"session": "X|||abc"})
    assert r.status_code == 422 and r.json()["detail"]["field"] == "session"
    r = client.post("/v1/reviews/bulk", json={"session": "X|||abc"})
    assert r.status_code == 422 and r.json()["detail"]["field"] == "session"


@pytest.mark.parametrize("scope", [{"rec_ids": []}, {"session": ""}, {"cluster_id": " "}])
def test_an_empty_bulk_scope_never_widens_to_the_whole_store(client, seeded, scope):
    before = _counts(seeded)
    r = client.post("/v1/reviews/bulk", json={"decision": "reject", "min_score": 0, "task": "sdg_goal", **scope})
    assert r.status_code == 422 and r.json()["detail"]["field"] == next(iter(scope))
    assert _counts(seeded) == before


def test_a_suggestion_id_must_agree_with_the_slot_named(seeded):
    sug = _first_sug(seeded, task="sdg_goal")
    before = _counts(seeded)
    for kw, field in (({"task": "upr_issue"}, "task"), ({"rec_id": sug.rec_id + 1}, "rec_id"),
                      ({"value": "NOPE"}, "value")):
        with pytest.raises(InputError) as e:
            svc.decide(seeded, decision="accept", reviewer="ana", suggestion_id=sug.id, **kw)
        assert e.value.field == field
    with pytest.raises(InputError):  # add names a value, not a suggestion
        svc.decide(seeded, decision="add", reviewer="ana", suggestion_id=sug.id)
    assert _counts(seeded) == before
    ok = svc.decide(seeded, decision="accept", reviewer="ana", suggestion_id=sug.id, rec_id=sug.rec_id,
                    task=sug.task, value=sug.value)
    assert ok["value"] == sug.value


def test_added_values_must_be_labels_and_names_resolve_to_ids(seeded):
    rid = _first_sug(seeded).rec_id
    before = _counts(seeded)
    for task, value in (("sdg_goal", "99-not-a-goal"), ("upr_issue", "<img src=x onerror=alert(1)>"),
                        ("institution", "ministry-of-nowhere")):
        with pytest.raises(InputError) as e:
            svc.decide(seeded, decision="add", reviewer="ana", rec_id=rid, task=task, value=value)
        assert e.value.field == "value"
    assert _counts(seeded) == before
    r = svc.decide(seeded, decision="add", reviewer="ana", rec_id=rid, task="upr_issue", value="Death penalty")
    assert r["value"] == "death-penalty"


def test_undoing_a_bulk_decision_checks_every_slot_at_once(seeded):
    sug = _first_sug(seeded)
    r1 = svc.decide(seeded, decision="accept", reviewer="ana", suggestion_id=sug.id)
    r2 = svc.decide(seeded, decision="reject", reviewer="ben", suggestion_id=sug.id, expected_review_id=r1["id"])
    r3 = svc.decide(seeded, decision="accept", reviewer="ana", suggestion_id=sug.id, expected_review_id=r2["id"])
    before = _counts(seeded)
    with pytest.raises(Conflict):  # r2 would become current again between r3 and r1: name it too
        svc.revert_many(seeded, [r1["id"], r3["id"]], "ana")
    assert _counts(seeded) == before
    assert svc.revert_many(seeded, [r3["id"], r2["id"], r3["id"]], "ana") == {"reverted": [r2["id"], r3["id"]]}
    rows, _ = svc.list_reviews(seeded, rec_id=sug.rec_id, task=sug.task, limit=10)
    assert [x["id"] for x in rows if x["value"] == sug.value and not x["reverted"]] == [r1["id"]]
    with seeded.db.session() as s:
        acts = s.scalars(select(AuditEvent.action).where(AuditEvent.entity == "review")).all()
    assert acts.count("review.revert") == 2
    with pytest.raises(Conflict):
        svc.revert_many(seeded, [r2["id"]], "ana")


def test_record_route_gives_the_ids_a_decision_needs_and_audit_counts_all(client, seeded):
    sug = _first_sug(seeded)
    r = client.post("/v1/reviews", json={"decision": "accept", "suggestion_id": sug.id})
    assert r.status_code == 201
    rec = client.get(f"/v1/recommendations/{sug.rec_id}").json()
    assert sug.id in {x["id"] for x in rec["suggestions"]}
    assert [(x["id"], x["suggestion_id"]) for x in rec["reviews"]] == [(r.json()["id"], sug.id)]
    for _ in range(2):
        svc.decide(seeded, decision="add", reviewer="audit", rec_id=sug.rec_id, task="sdg_goal", value="1")
        svc.revert(seeded, svc.list_reviews(seeded, rec_id=sug.rec_id, task="sdg_goal", limit=1)[0][0]["id"], "audit")
    page = client.get("/v1/audit", params={"limit": 2}).json()
    assert len(page["data"]) == 2 and page["count"] == _counts(seeded)[1]


def _n_recs(engine) -> int:
    with engine.db.session() as s:
        return s.scalar(select(func.count(Recommendation.id)))


@pytest.mark.parametrize("body,field,words", [
    (b"[" * 100_000 + b"]" * 100_000, "file", "nested too deeply"),
    (b'{"items": [{"id": "n1", "text": {"a": 1}}]}', "text", "JSON object"),
    (b'[{"id": "d1", "text": "Protect defenders"}, {"id": "d1", "text": "Abolish the death penalty"}]', "id",
     "twice"),
    (b"not json at all", "file", "json.json"),
])
def test_bad_uploads_are_refused_whole(client, seeded, body, field, words):
    before = _n_recs(seeded)
    r = client.post("/v1/imports", files={"file": ("json.json", body)}, data={"format": "json"})
    assert r.status_code in (415, 422), r.text
    assert r.json()["detail"]["field"] == field and words in r.json()["detail"]["message"]
    assert _n_recs(seeded) == before


def test_upload_source_is_checked_and_a_repeated_row_is_kept_once(client, seeded):
    ok = b'[{"id": "d1", "text": "Protect defenders"}, {"id": "d1", "text": "Protect defenders"}]'
    r = client.post("/v1/imports", files={"file": ("a.json", ok)}, data={"source": "s" * 100})
    assert r.status_code == 422 and r.json()["detail"]["field"] == "source"
    r = client.post("/v1/imports", files={"file": ("a.json", ok)}, data={"source": "ministry-x"})
    assert r.status_code == 201 and r.json()["created"] == 1


def test_tag_language_and_split_arguments_are_checked(client):
    r = client.post("/v1/tag", json={"text": "Ratify the CAT", "language": "<script>"})
    assert r.status_code == 422 and r.json()["detail"]["field"] == "language"
    r = client.post("/v1/clusters/c1/split", json={"k": 2, "rec_ids": [1, 2]})
    assert r.status_code == 422 and "not both" in r.json()["detail"]["message"]
