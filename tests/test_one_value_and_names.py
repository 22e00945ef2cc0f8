"""A person's choice is never silently replaced: one-value tasks, institutions named without Latin letters,
and key names (what reviews and audit events record). Audit of 2026-11-25."""

import pytest

from nrtd_nlp.errors import Conflict
from nrtd_nlp.services import reviews as svc
from nrtd_nlp.services.auth import create_key, revoke_key
from nrtd_nlp.services.institutions import add_institution, slug
from nrtd_nlp.store.models import Recommendation, Review, Suggestion
from tests.review_data import seed


@pytest.fixture()
def categories(engine, demo_csv):
    seed(engine, demo_csv)
    with engine.db.session() as s:
        rids = [r.id for r in s.query(Recommendation).order_by(Recommendation.id).limit(2)]
        s.query(Suggestion).filter(Suggestion.task == "action_category").delete()
        for rid in rids:
            for value, score in (("4", 0.95), ("5", 0.92), ("1", 0.01)):
                s.add(Suggestion(rec_id=rid, task="action_category", value=value, score=score, agent="t@1"))
    with engine.db.session() as s:
        ids = {(x.rec_id, x.value): x.id for x in s.query(Suggestion).filter_by(task="action_category")}
    return engine, rids, ids


def _current(engine, rid):
    with engine.db.session() as s:
        return sorted((r.value, r.decision, r.reviewer) for r in s.query(Review).filter_by(
            rec_id=rid, task="action_category", reverted_at=None))


def test_a_stale_accept_of_another_category_is_409(categories):
    engine, (rid, _), ids = categories
    mine = svc.decide(engine, decision="add", reviewer="ana", rec_id=rid, task="action_category", value="2")
    with pytest.raises(Conflict) as e:  # ben's page still showed the category undecided
        svc.decide(engine, decision="accept", reviewer="ben", suggestion_id=ids[(rid, "4")], expected_review_id=None)
    assert e.value.field == "value" and f"review {mine['id']}" in str(e.value)
    assert _current(engine, rid) == [("2", "added", "ana")]
    # rejecting another value is no replacement; after ana's choice is reverted, ben may choose
    svc.decide(engine, decision="reject", reviewer="ben", suggestion_id=ids[(rid, "1")])
    svc.revert(engine, mine["id"], "ana")
    svc.decide(engine, decision="accept", reviewer="ben", suggestion_id=ids[(rid, "4")])
    assert _current(engine, rid) == [("1", "rejected", "ben"), ("4", "accepted", "ben")]


def test_bulk_accepts_one_category_and_leaves_a_persons_choice(categories):
    engine, (held, free), ids = categories
    svc.decide(engine, decision="add", reviewer="ana", rec_id=held, task="action_category", value="2")
    res = svc.bulk_decide(engine, decision="accept", reviewer="ben", min_score=0.9, task="action_category",
                          rec_ids=[held, free])
    assert res["decided"] == 1 and res["skipped_decided"] == 2 and res["skipped_not_best"] == 1
    assert _current(engine, held) == [("2", "added", "ana")]
    assert _current(engine, free) == [("4", "accepted", "ben")]  # the best of 4 (0.95) and 5 (0.92)
    again = svc.bulk_decide(engine, decision="accept", reviewer="ben", min_score=0.9, task="action_category",
                            rec_ids=[held, free])
    assert again["decided"] == 0 and _current(engine, free) == [("4", "accepted", "ben")]
    rej = svc.bulk_decide(engine, decision="reject", reviewer="ben", max_score=0.1, task="action_category",
                          rec_ids=[held, free])  # rejections replace nothing: every low value in scope
    assert rej["decided"] == 2 and rej["skipped_not_best"] == 0


def test_institutions_named_without_latin_letters_get_their_own_keys(engine):
    names = ["وزارة العدل", "司法部", "Министерство юстиции", "!!!"]
    keys = {slug(n) for n in names}
    assert len(keys) == 4 and all(k.startswith("inst_") for k in keys)
    assert slug("Ministry of Justice") == "ministry_of_justice"  # as before: stored keys do not move
    assert slug("Ministère de la Santé") == "minist_re_de_la_sant"
    made = [add_institution(engine, {"name": n}, actor="ana") for n in names]
    assert [m["status"] for m in made] == ["created"] * 4
    assert len({m["id"] for m in made}) == 4 and {m["key"] for m in made} == keys
    assert add_institution(engine, {"name": "司法部"}, actor="ana")["status"] == "unchanged"


def test_two_active_keys_never_share_a_name(engine):
    first = create_key(engine, "reviewer", "reviewer")
    with pytest.raises(Conflict) as e:
        create_key(engine, "reviewer", "admin")
    assert e.value.field == "name" and f"key {first['id']}" in str(e.value)
    revoke_key(engine, first["id"])
    assert create_key(engine, "reviewer", "reviewer")["name"] == "reviewer"  # the holder's new key


def test_a_mandate_file_in_utf16_loads_like_its_utf8_copy(tmp_path):
    from nrtd_nlp.services.institutions import read_mandates

    text = "id,name,name_ar,keywords\njustice,Ministry of Justice,وزارة العدل,courts|prisons\n"
    (tmp_path / "a.csv").write_text(text, encoding="utf-8")
    (tmp_path / "b.csv").write_text(text, encoding="utf-16")  # with its BOM
    assert read_mandates(tmp_path / "a.csv") == read_mandates(tmp_path / "b.csv")
