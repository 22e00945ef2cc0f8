"""Roles on every route: walks ``app.routes`` so routes added later are covered without editing this file."""

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select

from nrtd_nlp.api.deps import STATELESS_POSTS, get_engine
from nrtd_nlp.api.main import create_app
from nrtd_nlp.services.auth import create_key, revoke_key
from nrtd_nlp.store.models import ApiKey
from tests.review_data import login

OPEN = {"/healthz", "/ui/login"}
READS = {"GET", "HEAD", "OPTIONS"}
# Only an admin may import, run jobs or manage keys (reads of jobs are fine for any role; keys are not).
ADMIN_WRITE_PREFIXES = ("/v1/imports", "/v1/jobs", "/v1/keys")
ADMIN_WRITE_PATHS = {"/v1/recommendations"}  # the batch import
ADMIN_READ_PREFIXES = ("/v1/keys",)


def _api_routes():
    """Every API route with its full path (FastAPI includes routers lazily: walk the route contexts)."""
    return [c for c in iter_route_contexts(create_app().routes)
            if isinstance(c.original_route, APIRoute) and c.path not in OPEN]


def _routes():
    return [(m, c.path) for c in _api_routes() for m in sorted(c.methods)]


ALL_ROUTES = _routes()
ROUTES = [(m, p) for m, p in ALL_ROUTES if not p.startswith("/ui/")]
UI_ROUTES = [(m, p) for m, p in ALL_ROUTES if p.startswith("/ui/")]
UI_WRITES = [(m, p) for m, p in UI_ROUTES if m not in READS and p != "/ui/logout"]
WRITES = [(m, p) for m, p in ROUTES if m not in READS and p not in STATELESS_POSTS]
ADMIN_ONLY = [(m, p) for m, p in ROUTES
              if (m not in READS and (p.startswith(ADMIN_WRITE_PREFIXES) or p in ADMIN_WRITE_PATHS))
              or p.startswith(ADMIN_READ_PREFIXES)]


def _url(path: str) -> str:
    import re

    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.fixture()
def keys(engine):
    return {role: create_key(engine, f"{role}-1", role)["key"] for role in ("reader", "reviewer", "admin")}


@pytest.fixture()
def client(engine):
    app = create_app(engine=engine)
    app.dependency_overrides[get_engine] = lambda: engine
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def test_route_list_is_not_empty():
    assert ("POST", "/v1/imports") in ROUTES and ("GET", "/v1/recommendations") in ROUTES
    assert ("POST", "/v1/keys") in ADMIN_ONLY and WRITES
    assert ("POST", "/ui/decide") in UI_WRITES and ("GET", "/ui/review") in UI_ROUTES


def test_every_route_has_a_policy():
    for c in _api_routes():
        roles = [getattr(d.call, "nrtd_roles", None) for d in c.dependant.dependencies]
        assert any(roles), f"{c.path} is included without a require(...) dependency"


@pytest.mark.parametrize("method,path", ROUTES)
def test_no_key_is_401(client, method, path):
    r = client.request(method, _url(path))
    assert r.status_code == 401, (method, path, r.text)
    assert r.json()["detail"]["code"] == "unauthorized"
    assert r.headers["www-authenticate"] == 'Bearer realm="nrtd"', (method, path)
    r = client.request(method, _url(path), headers={"X-API-Key": "nrtd_00000000_nope"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == 'Bearer realm="nrtd", error="invalid_token"'


@pytest.mark.parametrize("method,path", WRITES)
def test_reader_cannot_write(client, keys, method, path):
    r = client.request(method, _url(path), headers={"Authorization": f"Bearer {keys['reader']}"})
    assert r.status_code == 403, (method, path, r.text)
    assert r.json()["detail"]["code"] == "forbidden"


@pytest.mark.parametrize("method,path", ADMIN_ONLY)
def test_reviewer_cannot_import_or_manage_keys(client, keys, method, path):
    r = client.request(method, _url(path), headers={"X-API-Key": keys["reviewer"]})
    assert r.status_code == 403, (method, path, r.text)


@pytest.mark.parametrize("method,path", UI_ROUTES)
def test_page_without_session_signs_in_first(client, keys, method, path):
    r = client.request(method, _url(path), headers={"X-API-Key": keys["admin"]}, follow_redirects=False)
    if method == "GET":
        assert r.status_code == 303 and r.headers["location"] == "/ui/login", (method, path)
    else:
        assert r.status_code == 401, (method, path, r.text)
        assert r.headers["www-authenticate"].startswith('Cookie realm="nrtd", form-action="/ui/login"')


@pytest.mark.parametrize("method,path", UI_WRITES)
def test_reader_session_cannot_write_on_the_page(client, engine, method, path):
    csrf = login(client, engine, role="reader", name="rex")
    r = client.request(method, _url(path), headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403, (method, path, r.text)
    r = client.request(method, _url(path))  # and without the token it is refused before anything else
    assert r.status_code == 403 and r.json()["detail"]["field"] == "csrf"


def test_roles_that_suffice_get_through(client, keys, engine):
    assert client.get("/healthz").status_code == 200
    assert client.get("/v1/recommendations", headers={"X-API-Key": keys["reader"]}).status_code == 200
    # a reviewer passes the check on curation routes (404: the link does not exist, not 401/403)
    r = client.post("/v1/links/1/decision", json={"decision": "confirm"}, headers={"X-API-Key": keys["reviewer"]})
    assert r.status_code == 404
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    made = client.post("/v1/keys", json={"name": "ops", "role": "reader"}, headers=admin)
    assert made.status_code == 201 and made.json()["key"].startswith("nrtd_")
    listed = client.get("/v1/keys", headers=admin).json()["data"]
    assert {k["name"] for k in listed} == {"reader-1", "reviewer-1", "admin-1", "ops"}
    assert all("key" not in k and "key_hash" not in k for k in listed)
    new = {"X-API-Key": made.json()["key"]}
    assert client.get("/v1/recommendations", headers=new).status_code == 200
    assert client.post(f"/v1/keys/{made.json()['id']}/revoke", headers=admin).status_code == 200
    assert client.get("/v1/recommendations", headers=new).status_code == 401
    assert client.post(f"/v1/keys/{made.json()['id']}/revoke", headers=admin).status_code == 409


def test_keys_are_stored_hashed(engine, keys):
    with engine.db.session() as s:
        rows = s.scalars(select(ApiKey)).all()
    stored = {v for r in rows for v in (r.name, r.prefix, r.key_hash)}
    assert rows and not (set(keys.values()) & stored)
    assert all(len(r.key_hash) == 64 for r in rows)


def test_revoked_key_is_refused(client, engine):
    made = create_key(engine, "temp", "admin")
    revoke_key(engine, made["id"])
    assert client.get("/v1/recommendations", headers={"X-API-Key": made["key"]}).status_code == 401


def test_revoking_a_cached_key_refuses_it_at_once(client, engine, settings):
    """Checked keys are cached per process; a revocation (here by another Engine, as the CLI does) empties it."""
    from nrtd_nlp.services import auth
    from nrtd_nlp.services.context import Engine

    made = create_key(engine, "cached", "reviewer")
    hdr = {"X-API-Key": made["key"]}
    assert client.get("/v1/recommendations", headers=hdr).status_code == 200
    assert auth._cached((engine.db.url, auth._hash(made["key"]))) is not None  # the next request skips the DB
    assert client.get("/v1/recommendations", headers=hdr).status_code == 200
    other = Engine(settings, embedder=engine.embedder)
    try:
        revoke_key(other, made["id"])
    finally:
        other.close()
    r = client.get("/v1/recommendations", headers=hdr)
    assert r.status_code == 401 and r.json()["detail"]["message"] == "this API key was revoked"
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    # and a page session of the revoked key ends at once too
    csrf = login(client, engine, role="reviewer", name="page-cached")
    assert client.get("/ui/", follow_redirects=False).status_code == 200
    pid = next(k["id"] for k in auth.list_keys(engine) if k["name"] == "page-cached")
    revoke_key(engine, pid)
    r = client.post("/ui/decide", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Cookie ")
    assert client.get("/ui/", follow_redirects=False).headers["location"] == "/ui/login"


def test_keys_cli(settings, engine):
    from typer.testing import CliRunner

    from nrtd_nlp.cli import app

    run = CliRunner()
    made = run.invoke(app, ["keys", "create", "--role", "reviewer", "--name", "ana"])
    assert made.exit_code == 0, made.output
    key = made.output.splitlines()[0]
    assert key.startswith("nrtd_") and "not shown again" in made.output
    listed = run.invoke(app, ["keys", "list", "--json"])
    assert '"ana"' in listed.output and key not in listed.output
    prefix = key.split("_")[1]
    assert run.invoke(app, ["keys", "revoke", prefix]).exit_code == 0
    again = run.invoke(app, ["keys", "revoke", prefix])
    assert again.exit_code == 2 and "already revoked" in again.output
    bad = run.invoke(app, ["keys", "create", "--role", "root", "--name", "x"])
    assert bad.exit_code == 2 and "role" in bad.output


def test_a_key_whose_prefix_is_all_digits_is_revoked_by_it(engine, monkeypatch):
    """Prefixes are 8 hex characters: one key in 43 gets digits only, which read as a row id."""
    import secrets

    from nrtd_nlp.services.auth import create_key, revoke_key

    monkeypatch.setattr(secrets, "token_hex", lambda n: "12345678")
    made = create_key(engine, "ana", "reviewer")
    assert made["prefix"] == "12345678"
    assert revoke_key(engine, "12345678")["name"] == "ana"
    first = create_key(engine, "bo", "reader")  # by id still works
    assert revoke_key(engine, str(first["id"]))["name"] == "bo"
