"""The review page over HTTP (the browser tests in test_browser.py drive it in Chromium)."""

import re

import pytest
from fastapi.testclient import TestClient

from nrtd_nlp.api.deps import get_engine
from nrtd_nlp.api.main import create_app
from nrtd_nlp.services.auth import create_key
from tests.review_data import login, seed


@pytest.fixture()
def site(engine, demo_csv):
    seed(engine, demo_csv)
    app = create_app(engine=engine)
    app.dependency_overrides[get_engine] = lambda: engine
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c, engine


def test_sign_in_needs_the_forms_token_and_a_valid_key(site):
    c, engine = site
    assert c.get("/ui/", follow_redirects=False).headers["location"] == "/ui/login"
    key = create_key(engine, "x", "reviewer")["key"]
    r = c.post("/ui/login", data={"key": key}, follow_redirects=False)  # no token: a cross-site login attempt
    assert r.status_code == 303 and "error" in r.headers["location"] and "nrtd_session" not in r.headers.get(
        "set-cookie", "")
    c.get("/ui/login")
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/ui/login").text).group(1)
    bad = c.post("/ui/login", data={"key": "nrtd_0_wrong", "csrf": token}, follow_redirects=False)
    assert bad.headers["location"] == "/ui/login?error=key"


def test_review_page_escapes_and_posts_need_csrf(site):
    c, engine = site
    csrf = login(c, engine)
    home = c.get("/ui/")
    assert "UPR cycle 9 session 99" in home.text
    key = re.search(r'href="/ui/review\?session=(UPR%7C9%7C99%7C)"', home.text).group(1)
    page = c.get(f"/ui/review?session={key}")
    assert page.status_code == 200
    assert "<script>window.__xss" not in page.text and "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    sug = re.search(r'name="act" value="accept (\d+) "', page.text).group(1)
    body = {"decision": "accept", "suggestion_id": sug, "expected_review_id": ""}
    assert c.post("/ui/decide", data=body, headers={"Accept": "application/json"}).status_code == 403  # no token
    ok = c.post("/ui/decide", data={**body, "csrf": csrf}, headers={"Accept": "application/json"})
    assert ok.status_code == 201 and ok.json()["review"]["reviewer"] == "rita"
    again = c.post("/ui/decide", data=body, headers={"Accept": "application/json", "X-CSRF-Token": csrf})
    assert again.status_code == 409 and "rita" in again.json()["detail"]["message"]
    r2 = c.post("/ui/decide", data={"act": f"reject {sug} {ok.json()['review']['id']}"},
                headers={"Accept": "application/json", "X-CSRF-Token": csrf})
    assert r2.status_code == 201 and r2.json()["review"]["decision"] == "rejected"
    assert c.post("/ui/decide", data={"act": "reject x"}, headers={"X-CSRF-Token": csrf}).status_code == 422
    assert c.post("/ui/revert", data={"review_ids": str(r2.json()["review"]["id"]), "csrf": csrf}).status_code \
        == 200  # a plain form post (no JavaScript): redirected back to the page
    undo = c.post("/ui/revert", data={"review_ids": str(ok.json()["review"]["id"]), "csrf": csrf},
                  headers={"Accept": "application/json"})
    assert undo.status_code == 200 and undo.json()["current"] is None


def test_reader_session_cannot_decide(site):
    c, engine = site
    csrf = login(c, engine, role="reader", name="rex")
    page = c.get("/ui/review", params={"session": "UPR|9|99|"})
    assert page.status_code == 200 and 'name="act"' not in page.text
    r = c.post("/ui/bulk", data={"session": "UPR|9|99|", "csrf": csrf}, headers={"Accept": "application/json"})
    assert r.status_code == 403


def test_duplicates_and_clusters_views_render(site):
    c, engine = site
    login(c, engine)
    assert c.get("/ui/duplicates").status_code == 200
    assert "Clusters" in c.get("/ui/clusters").text
    assert c.get("/ui/clusters/nope").status_code == 404


def test_cluster_curation_and_bulk_accept_in_a_cluster(site):
    from sqlalchemy import select

    from nrtd_nlp.store.models import AuditEvent, Cluster, ClusterMember, Review

    c, engine = site
    with engine.db.session() as s:  # test data: two clusters as the clustering job would leave them
        s.add_all([Cluster(id="c-torture", label="torture"), Cluster(id="c-other", label="other")])
        s.flush()
        s.add_all([ClusterMember(cluster_id="c-torture", rec_id=i, score=0.8, by="model") for i in (1, 2, 3)])
        s.add(ClusterMember(cluster_id="c-other", rec_id=4, score=0.7, by="model"))
    csrf = login(c, engine)
    page = c.get("/ui/clusters/c-torture")
    assert page.status_code == 200 and "Rename" in page.text and page.text.count('name="rec_ids"') == 3
    h = {"X-CSRF-Token": csrf, "Accept": "application/json"}
    assert c.post("/ui/clusters/c-torture/curate", data={"action": "rename", "label": "Torture & CAT"},
                  headers=h).status_code == 200
    assert c.post("/ui/clusters/c-torture/curate", data={"action": "confirm"}, headers=h).status_code == 200
    bad = c.post("/ui/clusters/c-torture/curate", data={"action": "rename", "label": " "}, headers=h)
    assert bad.status_code == 422
    assert "Torture &amp; CAT" in c.get("/ui/clusters").text
    r = c.post("/ui/bulk", data={"cluster_id": "c-torture", "min_score": "0.5"}, headers=h)
    assert r.status_code == 201 and r.json()["decided"] > 0
    with engine.db.session() as s:
        recs = set(s.scalars(select(Review.rec_id).where(Review.reviewer == "rita")))
        actions = set(s.scalars(select(AuditEvent.action).where(AuditEvent.who == "rita")))
    assert recs <= {1, 2, 3} and {"cluster_rename", "cluster_confirm"} <= actions
    # moving ticked members: one of them already moved elsewhere (another person) refuses the whole move
    moved = c.post("/ui/clusters/c-other/curate", data={"action": "move", "rec_ids": [4], "other_id": "c-torture"},
                   headers=h)
    assert moved.status_code == 200
    with engine.db.session() as s:
        s.add(Cluster(id="c-third", label="third"))
    stale = c.post("/ui/clusters/c-other/curate", data={"action": "move", "rec_ids": [4], "other_id": "c-third"},
                   headers=h)  # a page still showing 4 in c-other
    assert stale.status_code == 409 and "no longer in cluster c-other" in stale.text
    stale = c.post("/ui/clusters/c-torture/curate", data={"action": "move", "rec_ids": [1, 9], "other_id": "c-other"},
                   headers=h)
    assert stale.status_code in (404, 409)
    with engine.db.session() as s:
        assert set(s.scalars(select(ClusterMember.rec_id).where(ClusterMember.cluster_id == "c-torture"))) == {1, 2, 3, 4}


def test_link_decision_from_the_duplicates_view(site):
    from nrtd_nlp.store.models import AuditEvent, Link

    c, engine = site
    with engine.db.session() as s:  # test data: one suggested duplicate link
        s.add(Link(rec_a=1, rec_b=2, kind="duplicate", score=0.93, explanation="same action: ratify", agent="t@1"))
    csrf = login(c, engine)
    page = c.get("/ui/duplicates")
    assert "same action: ratify" in page.text and page.text.count('class="side"') == 2
    link_id = re.search(r'action="/ui/links/(\d+)"', page.text).group(1)
    h = {"X-CSRF-Token": csrf, "Accept": "application/json"}
    ok = c.post(f"/ui/links/{link_id}", data={"decision": "confirm", "expected_status": "suggested"}, headers=h)
    assert ok.status_code == 200 and ok.json()["status"] == "confirmed"
    stale = c.post(f"/ui/links/{link_id}", data={"decision": "unlink", "expected_status": "suggested"}, headers=h)
    assert stale.status_code == 409
    with engine.db.session() as s:
        assert s.query(AuditEvent).filter_by(who="rita", action="link.confirm").count() == 1
