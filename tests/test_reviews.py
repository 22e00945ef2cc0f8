import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from nrtd_nlp.api.deps import get_engine
from nrtd_nlp.api.main import create_app
from nrtd_nlp.errors import Conflict, InputError
from nrtd_nlp.services import reviews as svc
from nrtd_nlp.services.review_sessions import list_sessions, queue
from nrtd_nlp.store.models import AuditEvent, Review, Suggestion
from tests.conftest import act_as
from tests.review_data import seed


@pytest.fixture()
def seeded(engine, demo_csv):
    seed(engine, demo_csv)
    return engine


def _sug(engine, **where):
    with engine.db.session() as s:
        q = select(Suggestion)
        for k, v in where.items():
            q = q.where(getattr(Suggestion, k) == v)
        return s.scalars(q.order_by(Suggestion.id)).all()


def test_accept_reject_revert_and_the_409(seeded):
    sug = _sug(seeded)[0]
    r1 = svc.decide(seeded, decision="accept", reviewer="ana", suggestion_id=sug.id)
    assert r1["decision"] == "accepted" and r1["task"] == sug.task
    with pytest.raises(Conflict) as e:  # a second reviewer who still saw it undecided
        svc.decide(seeded, decision="accept", reviewer="ben", suggestion_id=sug.id)
    assert "ana" in str(e.value) and e.value.field == "expected_review_id"
    r2 = svc.decide(seeded, decision="reject", reviewer="ben", suggestion_id=sug.id, expected_review_id=r1["id"])
    with pytest.raises(Conflict):  # reverting an older decision would silently undo ben's
        svc.revert(seeded, r1["id"], "ana")
    back = svc.revert(seeded, r2["id"], "ben")
    assert back["current"]["id"] == r1["id"]  # undo falls back to the decision before
    with pytest.raises(Conflict):
        svc.revert(seeded, r2["id"], "ben")
    with seeded.db.session() as s:
        audit = s.scalars(select(AuditEvent).where(AuditEvent.entity == "review").order_by(AuditEvent.id)).all()
    assert [(a.who, a.action) for a in audit] == [("ana", "review.accept"), ("ben", "review.reject"),
                                                  ("ben", "review.revert")]
    assert audit[1].before["id"] == r1["id"] and audit[1].after["decision"] == "rejected"


def test_add_and_effective_values_survive_a_model_rerun(seeded):
    rid = _sug(seeded)[0].rec_id
    svc.decide(seeded, decision="add", reviewer="ana", rec_id=rid, task="sdg_goal", value="10")
    rej = [x for x in _sug(seeded, rec_id=rid) if x.value == "5"][0]
    svc.decide(seeded, decision="reject", reviewer="ana", suggestion_id=rej.id)
    with pytest.raises(InputError):
        svc.decide(seeded, decision="accept", reviewer="ana", rec_id=rid, task="sdg_goal", value="3")
    with pytest.raises(InputError):
        svc.decide(seeded, decision="add", reviewer="ana", rec_id=rid, task="colour", value="red")
    with seeded.db.session() as s:  # a model re-run replaces its suggestions (reviewed ones are referenced)
        reviewed = set(s.scalars(select(Review.suggestion_id).where(Review.suggestion_id.is_not(None))))
        for x in s.scalars(select(Suggestion).where(Suggestion.rec_id == rid)):
            if x.id not in reviewed:
                s.delete(x)
        s.add(Suggestion(rec_id=rid, task="sdg_goal", value="5", score=0.99, agent="fixture@2"))
        s.add(Suggestion(rec_id=rid, task="sdg_goal", value="1", score=0.7, agent="fixture@2"))
    with seeded.db.session() as s:
        eff = svc.effective_values(svc.slot_states(s, [rid])[rid])
    assert [(v["value"], v["status"]) for v in eff["sdg_goal"]] == [("10", "added"), ("1", "suggested")]


def test_bulk_accept_skips_decided_slots(seeded):
    key = [x for x in list_sessions(seeded) if x["label"].startswith("UPR cycle 3")][0]["key"]
    q = queue(seeded, key)
    high = [x for it in q["data"] for x in it["slots"] if x["score"] >= 0.9]
    assert high, "fixture scores should reach 0.9 in this session"
    first = high[0]
    svc.decide(seeded, decision="reject", reviewer="ana", suggestion_id=first["suggestion_id"])
    res = svc.bulk_decide(seeded, decision="accept", reviewer="ben", min_score=0.9, session=key)
    assert res["decided"] == len(high) - 1 and res["skipped_decided"] == 1
    with seeded.db.session() as s:
        kept = s.scalars(select(Review).where(Review.suggestion_id == first["suggestion_id"])).all()
    assert [r.decision for r in kept] == ["rejected"]
    again = svc.bulk_decide(seeded, decision="accept", reviewer="ben", min_score=0.9, session=key)
    assert again["decided"] == 0
    svc.revert_many(seeded, res["review_ids"], "ben")
    assert svc.bulk_decide(seeded, decision="accept", reviewer="ben", min_score=0.9, session=key)["decided"] \
        == res["decided"]


def test_sessions_and_uncertain_first(seeded):
    sessions = {x["label"]: x for x in list_sessions(seeded)}
    assert any(k.startswith("UPR cycle") for k in sessions) and any(k.startswith("CEDAW") for k in sessions)
    assert sum(x["count"] for x in sessions.values()) == len({r for r in (s.rec_id for s in _sug(seeded))})
    key = next(x["key"] for k, x in sessions.items() if x["count"] >= 3)
    items = queue(seeded, key)["data"]
    unc = [min(abs(x["score"] - 0.5) for x in it["slots"]) for it in items]
    assert unc == sorted(unc)


def test_reviews_api_uses_the_key_name(seeded):
    app = act_as(create_app(engine=seeded), "reviewer", "carla")
    app.dependency_overrides[get_engine] = lambda: seeded
    sug = _sug(seeded)[1]
    with TestClient(app) as c:
        r = c.post("/v1/reviews", json={"decision": "accept", "suggestion_id": sug.id})
        assert r.status_code == 201 and r.json()["reviewer"] == "carla"
        dup = c.post("/v1/reviews", json={"decision": "accept", "suggestion_id": sug.id})
        assert dup.status_code == 409 and dup.json()["detail"]["code"] == "conflict"
        assert c.post("/v1/reviews", json={"decision": "maybe", "suggestion_id": sug.id}).status_code == 422
        assert c.post("/v1/reviews", json={"decision": "accept", "suggestion_id": 10**6}).status_code == 404
        assert c.delete(f"/v1/reviews/{r.json()['id']}").status_code == 200
        sessions = c.get("/v1/review-sessions").json()["data"]
        q = c.get("/v1/review-queue", params={"session": sessions[0]["key"]}).json()
        assert q["count"] == sessions[0]["count"]
        b = c.post("/v1/reviews/bulk", json={"min_score": 0.95, "session": sessions[0]["key"]})
        assert b.status_code == 201
        assert c.get("/v1/audit", params={"who": "carla"}).json()["count"] >= 2
        assert c.get("/v1/review-queue", params={"session": "nope"}).status_code == 422


def test_concurrent_decisions_on_one_slot_one_wins_others_409(seeded, settings):
    """Writers on the same expectation, from two processes' worth of engines: exactly one is stored (and audited)."""
    import threading

    from nrtd_nlp.services.context import Engine

    other = Engine(settings, embedder=seeded.embedder)  # its own connections: SQLite's lock, not only ours
    sug = _sug(seeded)[3]
    results, lock = [], threading.Lock()

    def go(i):
        try:
            out = svc.decide(seeded if i % 2 else other, decision="accept", reviewer=f"r{i}", suggestion_id=sug.id)
        except Conflict as e:
            out = e
        with lock:
            results.append(out)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        other.close()
    won = [r for r in results if isinstance(r, dict)]
    assert len(won) == 1 and sum(isinstance(r, Conflict) for r in results) == 7
    with seeded.db.session() as s:
        rows = s.scalars(select(Review).where(Review.suggestion_id == sug.id)).all()
        audit = s.scalars(select(AuditEvent).where(AuditEvent.entity == "review")).all()
    assert [r.id for r in rows] == [won[0]["id"]]
    assert [(a.entity_id, a.before, a.after["id"]) for a in audit] == [(str(won[0]["id"]), None, won[0]["id"])]


def test_decide_on_missing_records_is_404(seeded):
    from nrtd_nlp.errors import NotFound

    with pytest.raises(NotFound) as e:
        svc.decide(seeded, decision="add", reviewer="ana", rec_id=10**6, task="sdg_goal", value="3")
    assert e.value.field == "rec_id"
    with pytest.raises(NotFound) as e:
        svc.decide(seeded, decision="accept", reviewer="ana", suggestion_id=10**7)
    assert e.value.field == "suggestion_id"


def test_server_warm_up_writes_nothing_and_freezes_the_gc(seeded):
    import gc

    from nrtd_nlp.api.warmup import warm_up

    with seeded.db.session() as s:
        before = (s.query(Review).count(), s.query(AuditEvent).count())
    try:
        warm_up(create_app(engine=seeded), seeded)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    with seeded.db.session() as s:
        assert (s.query(Review).count(), s.query(AuditEvent).count()) == before
