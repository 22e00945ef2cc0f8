import pytest
from fastapi.testclient import TestClient

from nrtd_nlp.api.deps import get_engine
from nrtd_nlp.api.main import create_app
from tests.conftest import act_as


@pytest.fixture()
def client(engine):
    app = act_as(create_app(engine=engine), "admin")
    app.dependency_overrides[get_engine] = lambda: engine
    with TestClient(app) as c:
        yield c


def _upload(client, name, content, **form):
    return client.post("/v1/imports", files={"file": (name, content)}, data=form)


def test_health_and_docs(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert "/v1/recommendations" in client.get("/openapi.json").json()["paths"]


def test_import_list_get_search(client, demo_csv):
    r = _upload(client, "demo.csv", demo_csv.read_bytes(), source="demo")
    assert r.status_code == 201, r.text
    assert r.json()["created"] == 44
    assert _upload(client, "demo.csv", demo_csv.read_bytes(), source="demo").json()["created"] == 0
    page = client.get("/v1/recommendations", params={"language": "es", "limit": 5}).json()
    assert page["count"] == 11 and len(page["data"]) == 5
    assert all(x["language"] == "es" for x in page["data"])
    hits = client.get("/v1/recommendations", params={"q": "death penalty", "limit": 3}).json()
    assert "death penalty" in hits["data"][0]["text"]
    rid = hits["data"][0]["id"]
    one = client.get(f"/v1/recommendations/{rid}").json()
    assert one["id"] == rid and one["suggestions"] == [] and one["reviews"] == []
    parent = client.get("/v1/recommendations", params={"mechanism": "CEDAW", "limit": 1}).json()["data"][0]
    assert len(client.get(f"/v1/recommendations/{parent['id']}").json()["children"]) == 3


def test_post_batch_is_idempotent(client):
    body = {"source": "nhri", "items": [{"id": "n1", "text": "Establish a national preventive mechanism",
                                          "mechanism": "NHRI", "country": "Paraguay"}]}
    r = client.post("/v1/recommendations", json=body)
    assert r.status_code == 201 and r.json()["created"] == 1
    assert client.post("/v1/recommendations", json=body).json()["unchanged"] == 1


@pytest.mark.parametrize("body,field", [
    ({"items": [{"id": "a", "text": ""}]}, "items.0.text"),
    ({"items": [{"id": "a", "text": "x" * 1_000_000}]}, "items.0.text"),
    ({"items": [{"text": "Ratify"}]}, "items.0.id"),
    ({"items": []}, "items"),
    ({"items": [{"id": "a", "text": "ok", "colour": 1}]}, "items.0.colour"),
])
def test_bad_batches_name_the_field(client, body, field):
    r = client.post("/v1/recommendations", json=body)
    assert r.status_code == 422
    assert r.json()["detail"]["field"] == field


def test_malformed_json_body(client):
    r = client.post("/v1/recommendations", content=b'{"items": [', headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["detail"]["code"] == "bad_request"  # as README says


@pytest.mark.parametrize("name,content,status,field", [
    ("a.csv", b"foo,bar\n1,2\n", 422, "text"),
    ("a.pdf", b"%PDF-1.4", 415, "format"),
    ("a.csv", "text\nprotecci\u00f3n\n".encode("cp1252"), 422, "file"),  # the form field; the message names the file
    ("a.csv", b"", 422, "file"),
])
def test_bad_uploads(client, name, content, status, field):
    r = _upload(client, name, content)
    assert r.status_code == status, r.text
    assert r.json()["detail"]["field"] == field
    assert client.get("/v1/recommendations").json()["count"] == 0


def test_not_found_and_bad_params(client):
    assert client.get("/v1/recommendations/999").status_code == 404
    r = client.get("/v1/recommendations", params={"limit": 0})
    assert r.status_code == 422 and r.json()["detail"]["field"] == "limit"


def test_server_shortens_the_switch_interval(engine):
    """The tag batcher's thread waits for the interpreter lock at most ``switch_interval_ms`` (api/main.py)."""
    import sys

    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        with TestClient(create_app(engine=engine)):
            assert sys.getswitchinterval() == pytest.approx(engine.settings.switch_interval_ms / 1000)
        assert engine.settings.switch_interval_ms == 0.5
    finally:
        sys.setswitchinterval(before)
