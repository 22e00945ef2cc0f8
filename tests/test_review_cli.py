"""`nrtd review …`: the people's decisions on suggestions from the command line, over the same services as the
API and the page (audited, never overwriting a decision unless the one replaced is named)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from nrtd_nlp.cli import app
from nrtd_nlp.store.models import AuditEvent, Recommendation, Review, Suggestion
from tests.review_data import seed
from tests.test_cli_edges import run

runner = CliRunner()


def _ok(*args) -> str:
    r = runner.invoke(app, [str(x) for x in args])
    assert r.exit_code == 0, (args, r.output, r.exception)
    return r.stdout


@pytest.fixture()
def seeded(engine, demo_csv, cli_env):
    seed(engine, demo_csv, script=False)
    with engine.db.session() as s:
        rec = s.scalars(select(Recommendation).where(Recommendation.mechanism == "UPR")).first()
        sugs = {x.value: x.id for x in s.scalars(select(Suggestion).where(Suggestion.rec_id == rec.id))}
    sessions = json.loads(_ok("review", "sessions", "--json"))["data"]
    key = next(x["key"] for x in sessions if x["key"].startswith("UPR"))
    return engine, rec.id, sugs, key


def _reviews(engine) -> list[Review]:
    with engine.db.session() as s:
        return s.scalars(select(Review).order_by(Review.id)).all()


def test_sessions_and_the_queue_most_uncertain_first(seeded):
    engine, rec_id, sugs, key = seeded
    assert key in _ok("review", "sessions")
    q = json.loads(_ok("review", "queue", key, "--limit", "1000", "--json"))
    assert q["count"] >= 2
    closest = [min(abs(x["score"] - 0.5) for x in it["slots"]) for it in q["data"]]
    assert closest == sorted(closest)  # the most uncertain recommendation first
    text = _ok("review", "queue", key, "--limit", "2")
    assert "most uncertain first" in text and "[suggestion " in text and "undecided" in text


def test_accept_reject_add_revert_and_history(seeded):
    engine, rec_id, sugs, key = seeded
    out = _ok("review", "accept", sugs["16"], "--reviewer", "ana")
    assert out.startswith("review ") and f"accepted sdg_goal=16 on recommendation {rec_id} by ana" in out
    rejected = json.loads(_ok("review", "reject", sugs["5"], "--reviewer", "ana", "--comment", "not gender", "--json"))
    assert rejected["decision"] == "rejected" and rejected["comment"] == "not gender"
    added = json.loads(_ok("review", "add", rec_id, "sdg_goal", "4", "--reviewer", "ana", "--json"))
    assert added["decision"] == "added" and added["value"] == "4"
    # a decided slot changes only when the decision it replaces is named
    line = run("review", "reject", sugs["16"], "--reviewer", "bob")
    assert line.startswith("nrtd: error[conflict]: expected_review_id:") and "accepted by ana" in line
    first = _reviews(engine)[0].id
    again = json.loads(_ok("review", "reject", sugs["16"], "--reviewer", "bob", "--replaces", first, "--json"))
    assert again["decision"] == "rejected" and again["reviewer"] == "bob"
    undone = _ok("review", "revert", again["id"], added["id"], "--reviewer", "ana")
    assert undone.startswith("reverted 2 decisions")
    hist = _ok("review", "history", "--rec", rec_id)
    assert hist.startswith("4 decisions") and hist.count("(reverted by ana)") == 2
    with engine.db.session() as s:
        actions = sorted(s.scalars(select(AuditEvent.action).where(AuditEvent.entity == "review")))
    assert actions.count("review.revert") == 2 and "review.add" in actions and "review.reject" in actions


def test_bulk_leaves_decided_slots_alone(seeded):
    engine, rec_id, sugs, key = seeded
    _ok("review", "reject", sugs["Torture"], "--reviewer", "ana")
    res = json.loads(_ok("review", "bulk", "--session", key, "--min-score", "0", "--reviewer", "bot", "--json"))
    assert res["decided"] >= 2 and res["skipped_decided"] == 1
    with engine.db.session() as s:
        mine = s.scalars(select(Review).where(Review.suggestion_id == sugs["Torture"], Review.reverted_at.is_(None))
                         .order_by(Review.id.desc())).first()
    assert mine.decision == "rejected" and mine.reviewer == "ana"  # the person's decision stands
    assert "already decided and left alone" in _ok("review", "bulk", "--session", key, "--reviewer", "bot")


@pytest.mark.parametrize("args, needle", [
    (["review", "accept", "999999", "--reviewer", "ana"], "error[not_found]: suggestion_id:"),
    (["review", "accept", "{s16}", "--reviewer", " "], "error[invalid_input]: reviewer:"),
    (["review", "accept", "{s16}"], "Missing option '--reviewer'"),
    (["review", "add", "{rec}", "sdg_goal", "<b>no</b>", "--reviewer", "ana"], "error[invalid_input]: value:"),
    (["review", "add", "{rec}", "nonsense_task", "4", "--reviewer", "ana"], "error[invalid_input]: task:"),
    (["review", "add", "999999", "sdg_goal", "4", "--reviewer", "ana"], "error[not_found]: rec_id:"),
    (["review", "revert", "999999", "--reviewer", "ana"], "error[not_found]: review_id:"),
    (["review", "queue", "nosuch|session", "--reviewer", "x"], "No such option"),
    (["review", "queue", "UPR|9|99|"], "error["),
    (["review", "queue", "{key}", "--limit", "0"], "limit must be 1..1000"),
    (["review", "bulk", "--reviewer", "ana"], "error[invalid_input]: session: name a scope"),
    (["review", "bulk", "--session", "{key}", "--decision", "add", "--reviewer", "ana"], "accept or reject"),
    (["review", "history", "--offset", "-1"], "offset must be 0.."),
])
def test_errors_are_one_line_exit_2_and_decide_nothing(seeded, args, needle):
    engine, rec_id, sugs, key = seeded
    line = run(*[x.format(s16=sugs["16"], rec=rec_id, key=key) for x in args])
    assert line.startswith("nrtd: ") and needle in line, line
    assert _reviews(engine) == []


def test_the_queue_is_ordered_by_probabilities_not_by_relevance_scores(seeded):
    """Institution relevance and uncalibrated zero-shot scores near 0.5 say nothing about uncertainty."""
    engine, rec_id, sugs, key = seeded
    with engine.db.session() as s:
        s.query(Suggestion).filter(Suggestion.rec_id == rec_id).delete()
        s.add(Suggestion(rec_id=rec_id, task="institution", value="justice", score=0.5, agent="institutions@1+x"))
        s.add(Suggestion(rec_id=rec_id, task="transition", value="truth", score=0.51, agent="transition-zeroshot@1"))
    q = json.loads(_ok("review", "queue", key, "--limit", "1000", "--json"))["data"]
    ids = [it["id"] for it in q]
    undecided_with_probabilities = [it["id"] for it in q if it["id"] != rec_id and it["pending"]]
    assert ids.index(rec_id) >= len(undecided_with_probabilities)  # after every record with a probability
