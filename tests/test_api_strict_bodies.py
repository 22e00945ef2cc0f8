"""Request bodies and filters the API used to take silently (audit of 2026-11-25): each is now a 4xx in the
documented shape naming the field, and a refused request writes nothing."""

import pytest
from sqlalchemy import func, select

from nrtd_nlp.store.models import AuditEvent, Institution, Recommendation
from tests.test_api_input_edges import client, seeded  # noqa: F401 - the fixtures: a seeded store, an admin


def _writes(engine) -> tuple[int, int, int]:
    with engine.db.session() as s:
        return tuple(s.scalar(select(func.count(m.id))) for m in (Recommendation, Institution, AuditEvent))


def _refused(r, status: int, field: str) -> str:
    assert r.status_code == status, r.text
    d = r.json()["detail"]
    assert d["field"] == field, d
    return d["message"]


def test_malformed_json_is_a_400_bad_request(client, seeded):
    before = _writes(seeded)
    r = client.post("/v1/reviews", content=b'{"decision": "accept",', headers={"content-type": "application/json"})
    msg = _refused(r, 400, "body")
    assert r.json()["detail"]["code"] == "bad_request" and "not valid JSON" in msg
    assert _writes(seeded) == before


@pytest.mark.parametrize("path,body,field", [
    ("/v1/reviews", {"decision": "accept", "suggestion_id": 1, "expected": 3}, "expected"),
    ("/v1/reviews/bulk", {"task": "sdg_goal", "min_score": 0.99, "dry_run": True}, "dry_run"),
    ("/v1/tag", {"text": "Ratify the Convention against Torture", "task": "sdg_goal"}, "task"),
    ("/v1/institutions", {"name": "Ministry of Justice", "mandate": "courts"}, "mandate"),
    ("/v1/keys", {"name": "someone", "role": "reader", "expires": "2027"}, "expires"),
])
def test_an_unknown_field_is_a_422_naming_it_not_dropped(client, seeded, path, body, field):
    before = _writes(seeded)
    msg = _refused(client.post(path, json=body), 422, field)
    assert "extra" in msg.lower() or "not permitted" in msg.lower()
    assert _writes(seeded) == before


def test_values_that_would_be_lost_are_refused(client, seeded):
    before = _writes(seeded)
    r = client.post("/v1/institutions", json={"name": "Ministry of Justice", "names": {"xx": "Justiz"}})
    assert "'xx'" in _refused(r, 422, "names")
    r = client.post("/v1/institutions", json={"name": "Ministry of Justice",
                                              "keywords_by_language": {"klingon": ["court"]}})
    assert "'klingon'" in _refused(r, 422, "keywords_by_language")
    r = client.post("/v1/recommendations", content=b'{"items": [{"id": "n1", "text": "Ratify the Convention.", '
                    b'"extra": {"n": NaN}}]}', headers={"content-type": "application/json"})
    assert "NaN" in _refused(r, 422, "items.0.extra")
    assert client.post("/v1/tag", json={"text": "Ratify the Convention", "tasks": []}).status_code == 422
    r = client.post("/v1/recommendations", json={"items": [{"id": "n2", "text": "132.90 (New Zealand);"}]})
    assert "no recommendation text" in _refused(r, 422, "text")
    assert _writes(seeded) == before


def test_filters_with_a_typo_are_a_422_not_an_empty_answer(client, seeded):
    _refused(client.get("/v1/recommendations", params={"follow_up_status": "bogus"}), 422, "follow_up_status")
    assert client.get("/v1/recommendations", params={"follow_up_status": "open,implemented"}).status_code == 200
    _refused(client.get("/v1/reviews", params={"task": "bogus"}), 422, "task")
    _refused(client.post("/v1/reviews/bulk", json={"rec_ids": [999999], "min_score": 0.5}), 404, "rec_ids")


def test_cluster_search_treats_percent_and_underscore_as_text(client, seeded):
    from nrtd_nlp.store.models import Cluster

    with seeded.db.session() as s:
        s.add_all([Cluster(id="c-pct", label="Women 50%_quota"), Cluster(id="c-edu", label="Education")])
    assert client.get("/v1/clusters").json()["count"] == 2
    found = client.get("/v1/clusters", params={"q": "%_"}).json()
    assert found["count"] == 1 and found["data"][0]["id"] == "c-pct"
    assert client.get("/v1/clusters", params={"q": "_"}).json()["count"] == 1


def test_export_names_in_a_language_labels_have_or_a_422(client):
    r = client.get("/v1/export", params={"format": "csv", "names": "xx"})
    assert "no names in 'xx'" in _refused(r, 422, "names")
    assert client.get("/v1/export", params={"format": "csv", "names": "es-ES"}).status_code == 200


def test_a_json_route_sent_text_or_a_form_is_415(client, seeded):
    before = _writes(seeded)
    r = client.post("/v1/reviews", content=b"decision=accept", headers={"content-type": "text/plain"})
    assert "application/json, not text/plain" in _refused(r, 415, "body")
    r = client.post("/v1/reviews", data={"decision": "accept"})
    assert r.status_code == 415 and r.json()["detail"]["code"] == "unsupported_media_type"
    assert _writes(seeded) == before
