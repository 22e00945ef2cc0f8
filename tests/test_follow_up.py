"""Follow-up status: set by people on recommendations or on a whole duplicate group (one follow-up action
answers all of them), all or nothing, audited, with a 409 for a stale read; shown in lists and the export."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from nrtd_nlp.errors import Conflict, InputError, NotFound
from nrtd_nlp.services.follow_up import set_status
from nrtd_nlp.store.models import AuditEvent, Recommendation
from tests.review_data import login
from tests.test_cli_edges import run
from tests.test_groups_cli_pages import _ok, group  # noqa: F401  (fixture)


def _status(engine, *ids) -> list[str]:
    with engine.db.session() as s:
        return [s.get(Recommendation, i).follow_up_status for i in ids]


def _events(engine) -> list[AuditEvent]:
    with engine.db.session() as s:
        return s.scalars(select(AuditEvent).where(AuditEvent.action == "follow_up.set").order_by(AuditEvent.id)).all()


def test_a_group_answers_as_one_and_every_change_is_audited(group):
    engine, gid, (a, b, c), lone = group
    assert _status(engine, a, b, c, lone) == ["open"] * 4
    res = set_status(engine, "in_progress", "ana", group_id=gid, note="inter-ministerial plan")
    assert res["updated"] == sorted([a, b, c]) and res["unchanged"] == []
    assert _status(engine, a, b, c, lone) == ["in_progress"] * 3 + ["open"]
    again = set_status(engine, "in_progress", "ana", rec_ids=[a, lone])
    assert again["updated"] == [lone] and again["unchanged"] == [a]
    ev = _events(engine)
    assert len(ev) == 4 and {e.entity_id for e in ev} == {str(x) for x in (a, b, c, lone)}
    first = ev[0]
    assert first.who == "ana" and first.before == {"follow_up_status": "open"}
    assert first.after == {"follow_up_status": "in_progress", "note": "inter-ministerial plan", "group_id": gid}


def test_stale_reads_bad_input_and_unknown_records_change_nothing(group):
    engine, gid, (a, b, c), lone = group
    set_status(engine, "implemented", "ana", rec_ids=[a])
    with pytest.raises(Conflict) as e:  # bob read "open" for both: a changed since
        set_status(engine, "not_implemented", "bob", rec_ids=[a, b], expected="open")
    assert e.value.field == "expected" and f"recommendation {a} is implemented now" in str(e.value)
    with pytest.raises(NotFound):
        set_status(engine, "implemented", "bob", rec_ids=[b, 99999])
    for kw, field in ((dict(rec_ids=[b], group_id=gid), "rec_ids"), (dict(), "rec_ids"), (dict(rec_ids=[]), "rec_ids")):
        with pytest.raises(InputError) as e:
            set_status(engine, "implemented", "bob", **kw)
        assert e.value.field == field
    with pytest.raises(InputError) as e:
        set_status(engine, "done", "bob", rec_ids=[b])
    assert e.value.field == "status" and "in_progress" in str(e.value)
    with pytest.raises(NotFound) as e:
        set_status(engine, "implemented", "bob", group_id="G999999")
    assert e.value.field == "group_id"
    assert _status(engine, a, b, c) == ["implemented", "open", "open"] and len(_events(engine)) == 1


def test_api_cli_and_page(group, cli_env):
    from nrtd_nlp.api.deps import get_engine
    from nrtd_nlp.api.main import create_app
    from tests.test_links import act_as

    engine, gid, (a, b, c), lone = group
    app = act_as(create_app(engine=engine), "reviewer", "rita")
    app.dependency_overrides[get_engine] = lambda: engine
    with TestClient(app) as cl:
        r = cl.post("/v1/follow-up", json={"status": "partially_implemented", "group_id": gid})
        assert r.status_code == 200 and r.json()["updated"] == sorted([a, b, c])
        bad = cl.post("/v1/follow-up", json={"status": "finished", "rec_ids": [a]})
        assert bad.status_code == 422 and bad.json()["detail"]["field"] == "status"
        stale = cl.post("/v1/follow-up", json={"status": "implemented", "rec_ids": [a], "expected": "open"})
        assert stale.status_code == 409
        listed = cl.get("/v1/recommendations", params={"follow_up_status": "partially_implemented"}).json()
        assert {x["id"] for x in listed["data"]} == {a, b, c}
        assert cl.get(f"/v1/duplicates/{gid}").json()["members"][0]["follow_up_status"] == "partially_implemented"
    reader = act_as(create_app(engine=engine), "reader", "rex")
    reader.dependency_overrides[get_engine] = lambda: engine
    with TestClient(reader) as cl:
        assert cl.post("/v1/follow-up", json={"status": "open", "rec_ids": [a]}).status_code == 403
    out = _ok("follow-up", "implemented", "--rec", str(a), "--rec", str(lone), "--reviewer", "ana")
    assert out.strip() == "implemented: 2 of the recommendations named updated, 0 already implemented"
    res = json.loads(_ok("follow-up", "implemented", "--group", gid, "--reviewer", "ana", "--json"))
    assert res["updated"] == sorted([b, c]) and res["unchanged"] == [a]
    assert "error[invalid_input]: status:" in run("follow-up", "done", "--rec", str(a), "--reviewer", "ana")
    assert "both were given" in run("follow-up", "open", "--rec", str(a), "--group", gid, "--reviewer", "ana")
    web = create_app(engine=engine)
    web.dependency_overrides[get_engine] = lambda: engine
    with TestClient(web, base_url="http://127.0.0.1") as cl:
        csrf = login(cl, engine)
        page = cl.get(f"/ui/groups/{gid}")
        assert "follow-up: implemented" in page.text and f'action="/ui/groups/{gid}/follow-up"' in page.text
        r = cl.post(f"/ui/groups/{gid}/follow-up", data={"status": "not_implemented", "note": "", "csrf": csrf},
                    headers={"Accept": "application/json"})
        assert r.status_code == 200 and r.json()["updated"] == sorted([a, b, c])
    assert _status(engine, a, b, c, lone) == ["not_implemented"] * 3 + ["implemented"]
    assert [e.who for e in _events(engine)][-3:] == ["rita"] * 3


def test_the_review_page_sets_a_recommendations_follow_up(group):
    from nrtd_nlp.api.deps import get_engine
    from nrtd_nlp.api.main import create_app
    from nrtd_nlp.services.review_sessions import list_sessions, queue

    engine, gid, (a, b, c), lone = group
    key = next(x["key"] for x in list_sessions(engine) if any(it["id"] == a for it in queue(engine, x["key"])["data"]))
    web = create_app(engine=engine)
    web.dependency_overrides[get_engine] = lambda: engine
    with TestClient(web, base_url="http://127.0.0.1") as cl:
        csrf = login(cl, engine)
        page = cl.get("/ui/review", params={"session": key})
        assert page.status_code == 200 and "follow-up: open" in page.text and 'action="/ui/follow-up"' in page.text
        j = {"Accept": "application/json"}
        r = cl.post("/ui/follow-up", data={"rec_id": str(a), "status": "in_progress", "expected": "open",
                                           "csrf": csrf}, headers=j)
        assert r.status_code == 200 and r.json()["updated"] == [a]
        stale = cl.post("/ui/follow-up", data={"rec_id": str(a), "status": "implemented", "expected": "open",
                                               "csrf": csrf}, headers=j)
        assert stale.status_code == 409 and stale.json()["detail"]["field"] == "expected"
        assert "follow-up: in progress" in cl.get("/ui/review", params={"session": key}).text
        assert cl.post("/ui/follow-up", data={"rec_id": str(a), "status": "open"}, headers=j).status_code == 403
    assert _status(engine, a, b) == ["in_progress", "open"]
