"""Institutions as people decided them (audit of 2026-11-24, findings 4–7): reviews count as decisions in
the record's view, the latest decision wins for learning, a mandate file retires what it no longer lists,
and the export names each institution once while a new run replaces undecided suggestions."""

import csv
import io
import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from nrtd_nlp.errors import InputError, NotFound
from nrtd_nlp.ingest.records import RawRecord
from nrtd_nlp.services.export import export_matrix
from nrtd_nlp.services.imports import import_records
from nrtd_nlp.services.institution_views import institutions_for
from nrtd_nlp.services.institutions import (_confirmed, assign, default_mandates_path, list_institutions,
                                            load_institutions, suggest_institutions, unassign)
from nrtd_nlp.services.reviews import decide, revert
from nrtd_nlp.store.models import Assignment, Recommendation, Suggestion

TORTURE = "Prevent torture in custody and guarantee the right to a fair trial by reforming the criminal code"
MEDIA = "Protect journalists and guarantee freedom of the press, including online media and broadcasting"
TREATY = "Ratify the Optional Protocol to the Convention against Torture and cooperate with treaty bodies"


def _add(engine, texts, prefix="r"):
    import_records(engine, [RawRecord(source="t", external_id=f"{prefix}{i}", text=t, mechanism="UPR",
                                      country="Freedonia") for i, t in enumerate(texts)], fmt="json")
    with engine.db.session() as s:
        return [s.scalars(select(Recommendation.id).where(Recommendation.external_id == f"{prefix}{i}")).one()
                for i in range(len(texts))]


def _review(engine, decision, rec_id, value, reviewer="ana"):
    return decide(engine, decision=decision, reviewer=reviewer, rec_id=rec_id, task="institution", value=value)


def _suggested(engine, rec_id):
    return [x["institution"] for x in institutions_for(engine, rec_id)["suggestions"]]


def _export_institutions(engine) -> dict[int, str]:
    data, _ = export_matrix(engine, "csv")
    return {int(r["id"]): r["institutions"] for r in csv.DictReader(io.StringIO(data.decode("utf-8-sig")))}


def _mandates_v2(tmp_path):
    """The shipped file with media_communication removed and foreign_affairs re-keyed to mofa."""
    with open(default_mandates_path(), encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        fields, rows = reader.fieldnames, [r for r in reader if r["id"] != "media_communication"]
    for r in rows:
        if r["id"] == "foreign_affairs":
            r["id"] = "mofa"
    p = tmp_path / "mandates_v2.csv"
    with open(p, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    return p


# -- finding 4: the record's view applies reviews ---------------------------------------------------------
def test_rejected_review_leaves_the_suggestions_and_added_or_accepted_show_as_decided(engine):
    load_institutions(engine)
    rid, other = _add(engine, [TORTURE, MEDIA])
    top = _suggested(engine, rid)[0]
    _review(engine, "reject", rid, top)
    added = next(k for k in ("health", "parliament", "education") if k != top)
    _review(engine, "add", rid, added)
    accepted = _suggested(engine, other)[0]
    _review(engine, "accept", other, accepted)

    out = institutions_for(engine, rid)
    assert top not in _suggested(engine, rid) and out["rejected"] == [top]
    got = {x["institution"]: x for x in out["assignments"]}
    assert list(got) == [added] and got[added]["decision"] == "added" and got[added]["via"] == "review"
    assert got[added]["reviewer"] == "ana" and got[added]["name"]
    out = institutions_for(engine, other)
    assert [x["institution"] for x in out["assignments"]] == [accepted] and accepted not in _suggested(engine, other)
    # the export says the same
    rows = _export_institutions(engine)
    assert out["assignments"][0]["name"] in rows[other].split("; ")


def test_reverting_a_rejection_brings_the_suggestion_back(engine):
    load_institutions(engine)
    (rid,) = _add(engine, [TORTURE])
    top = _suggested(engine, rid)[0]
    review = _review(engine, "reject", rid, top)
    assert top not in _suggested(engine, rid)
    revert(engine, review["id"], "bo")
    assert _suggested(engine, rid)[0] == top and institutions_for(engine, rid)["rejected"] == []


def test_route_shows_reviews_as_decisions(engine):
    from nrtd_nlp.api.deps import get_engine
    from nrtd_nlp.api.main import create_app
    from tests.conftest import act_as

    load_institutions(engine)
    (rid,) = _add(engine, [MEDIA])
    top = _suggested(engine, rid)[0]
    app = act_as(create_app(engine=engine), "reviewer", "rita")
    app.dependency_overrides[get_engine] = lambda: engine
    with TestClient(app) as c:
        assert c.post("/v1/reviews", json={"decision": "reject", "rec_id": rid, "task": "institution",
                                           "value": top}).status_code == 201
        assert c.post("/v1/reviews", json={"decision": "add", "rec_id": rid, "task": "institution",
                                           "value": "justice"}).status_code == 201
        got = c.get(f"/v1/recommendations/{rid}/institutions").json()
    assert top not in [x["institution"] for x in got["suggestions"]] and got["rejected"] == [top]
    assert [(x["institution"], x["decision"], x["reviewer"]) for x in got["assignments"]] == [("justice", "added",
                                                                                               "rita")]


# -- finding 5: the latest decision wins for what the suggester learns ------------------------------------
def test_a_later_assignment_wins_over_an_earlier_rejection(engine):
    load_institutions(engine)
    (rid,) = _add(engine, [TORTURE])
    top = _suggested(engine, rid)[0]
    _review(engine, "reject", rid, top)
    _review(engine, "add", rid, "parliament")
    with engine.db.session() as s:
        assert _confirmed(s) == {rid: {"parliament"}}
    assert assign(engine, rid, top, "ana")["status"] == "created"
    with engine.db.session() as s:
        assert _confirmed(s) == {rid: {"parliament", top}}
    assert top in [x["institution"] for x in institutions_for(engine, rid)["assignments"]]
    assert institutions_for(engine, rid)["rejected"] == []


def test_a_later_rejection_or_unassignment_wins_over_an_earlier_assignment(engine):
    load_institutions(engine)
    (rid,) = _add(engine, [TORTURE])
    top, second = _suggested(engine, rid)[:2]
    assign(engine, rid, top, "ana")
    _review(engine, "accept", rid, second)
    _review(engine, "reject", rid, top)  # the suggestion row of `top` is still there: a person rejects it
    with engine.db.session() as s:
        assert _confirmed(s) == {rid: {second}}
    out = institutions_for(engine, rid)
    assert [x["institution"] for x in out["assignments"]] == [second] and out["rejected"] == [top]
    # assigning again makes the assignment the latest decision
    assert assign(engine, rid, top, "bo")["status"] == "reassigned"
    assert assign(engine, rid, top, "bo")["status"] == "unchanged"
    with engine.db.session() as s:
        assert _confirmed(s) == {rid: {top, second}}
    unassign(engine, rid, top, "bo")
    with engine.db.session() as s:
        assert _confirmed(s) == {rid: {second}}
    with pytest.raises(NotFound, match="revert or reject that review"):  # decided by a review, not assigned
        unassign(engine, rid, second, "bo")


# -- finding 6: a mandate file retires the institutions it no longer lists -------------------------------
def test_load_retires_missing_institutions_and_reports_a_changed_id(engine, tmp_path):
    first = load_institutions(engine)
    rid, treaty = _add(engine, [MEDIA, TREATY])
    assign(engine, rid, "media_communication", "ana")
    assign(engine, treaty, "foreign_affairs", "ana")
    res = load_institutions(engine, _mandates_v2(tmp_path))
    assert res["created"] == 1 and res["institutions"] == first["institutions"] - 1
    retired = {x["key"]: x for x in res["retired"]}
    assert set(retired) == {"media_communication", "foreign_affairs"}
    assert retired["media_communication"]["assignments"] == 1
    assert res["rekeyed"] == [{"old": "foreign_affairs", "new": "mofa", "name": "Ministry of Foreign Affairs",
                               "country": None, "assignments_kept_under_old": 1, "reviews_kept_under_old": 0}]
    assert {x["key"] for x in list_institutions(engine, retired=True)} == {"media_communication", "foreign_affairs"}
    again = load_institutions(engine, _mandates_v2(tmp_path))  # idempotent
    assert again["retired"] == [] and again["unchanged"] == again["institutions"]

    # never suggested again, nor assignable; the past assignment stays visible, marked
    assert suggest_institutions(engine, force=True, top_k=27)["records"] == 2
    assert not {"media_communication", "foreign_affairs"} & set(_suggested(engine, rid))
    with engine.db.session() as s:
        assert not s.scalar(select(func.count()).select_from(Suggestion).where(
            Suggestion.value.in_(("media_communication", "foreign_affairs"))))
        assert s.scalar(select(func.count()).select_from(Assignment)) == 2
    with pytest.raises(InputError, match="retired") as e:
        assign(engine, rid, "foreign_affairs", "ana")
    assert e.value.field == "institution"
    kept = institutions_for(engine, rid)["assignments"]
    assert [(x["institution"], x["retired"]) for x in kept] == [("media_communication", True)]
    assert _export_institutions(engine)[rid].split("; ")[0] == "Ministry of Information and Communication"
    # the new id of a decided institution (same name) is not offered beside it, in the view or the export
    assert "mofa" not in _suggested(engine, treaty)
    assert _export_institutions(engine)[treaty].count("Ministry of Foreign Affairs") == 1

    # a file that lists it again restores it
    back = load_institutions(engine)
    assert back["restored"] == 2 and {x["key"] for x in back["retired"]} == {"mofa"}
    assert [(x["old"], x["new"]) for x in back["rekeyed"]] == [("mofa", "foreign_affairs")]  # not new: restored
    assert assign(engine, rid, "foreign_affairs", "ana")["status"] == "created"


def test_retiring_is_per_country(engine, tmp_path):
    load_institutions(engine)
    own = tmp_path / "own.csv"
    own.write_text("id,name,keywords\nombudsperson,Defensoría del Pueblo,ombud*\n", encoding="utf-8")
    load_institutions(engine, own, country="Freedonia")
    res = load_institutions(engine, own, country="Freedonia")  # the generic institutions are not in scope
    assert res["retired"] == [] and res["unchanged"] == 1
    own.write_text("id,name,keywords\nhuman_rights_council,Consejo de Derechos Humanos,consejo*\n", encoding="utf-8")
    res = load_institutions(engine, own, country="Freedonia")
    assert [(x["key"], x["country"]) for x in res["retired"]] == [("ombudsperson", "Freedonia")]
    assert not [x for x in list_institutions(engine, retired=True) if x["country"] is None]


def test_cli_load_reports_and_list_marks_retired(cli_env, monkeypatch, test_embedder, tmp_path):
    from nrtd_nlp.cli import app

    monkeypatch.setattr("nrtd_nlp.embed.base._REGISTRY", {"minilm-test": (lambda **kw: test_embedder, "")})
    runner = CliRunner()
    assert runner.invoke(app, ["institutions", "load"]).exit_code == 0
    r = runner.invoke(app, ["institutions", "load", str(_mandates_v2(tmp_path))])
    assert r.exit_code == 0, r.output
    assert "1 new" in r.output and "2 retired" in r.output
    assert "retired (not in the file): media_communication" in r.output
    assert "foreign_affairs -> mofa" in r.output and "another institution" in r.output
    listing = runner.invoke(app, ["institutions", "list"]).output.splitlines()
    assert "[retired" in next(x for x in listing if " media_communication " in x)
    assert "[retired" not in next(x for x in listing if " mofa " in x)
    data = json.loads(runner.invoke(app, ["institutions", "list", "--json"]).output)["data"]
    assert {x["key"] for x in data if x["retired"]} == {"media_communication", "foreign_affairs"}


# -- finding 7: the export names an institution once; a new run replaces undecided suggestions -------------
def test_export_lists_each_institution_once_by_name(engine):
    load_institutions(engine)
    (rid,) = _add(engine, [TREATY])
    top = _suggested(engine, rid)[0]
    assign(engine, rid, top, "ana")
    suggest_institutions(engine, force=True)
    _review(engine, "add", rid, "parliament")
    names = {x["key"]: x["name"] for x in list_institutions(engine)}
    cells = _export_institutions(engine)[rid].split("; ")
    assert cells[:2] == [names[top], names["parliament"]]
    assert all(c.removesuffix(" (suggested)") in names.values() for c in cells)  # names, never keys
    plain = [c.removesuffix(" (suggested)") for c in cells]
    assert len(plain) == len(set(plain))


def test_a_new_run_replaces_undecided_suggestions_and_keeps_reviewed_ones(engine):
    load_institutions(engine)
    (rid,) = _add(engine, [TORTURE])
    first = _suggested(engine, rid)
    _review(engine, "accept", rid, first[1])
    for top_k in (3, 5):
        suggest_institutions(engine, force=True, top_k=top_k, threshold=0.0)
    with engine.db.session() as s:
        rows = s.execute(select(Suggestion.value, Suggestion.run_id).where(Suggestion.rec_id == rid)).all()
    runs = sorted({r for _, r in rows})
    assert len(runs) == 2  # the accepted suggestion of the first run, and the last run's five
    assert [v for v, r in rows if r == runs[0]] == [first[1]] and len([v for v, r in rows if r == runs[1]]) == 5
    cells = _export_institutions(engine)[rid].split("; ")
    assert len(cells) == 6 and sum(c.endswith("(suggested)") for c in cells) == 5
    # the export lists the suggestions the model asserts (at or above its threshold); the view shows all
    suggest_institutions(engine, force=True, top_k=5, threshold=1.0)
    assert len(_suggested(engine, rid)) == 5 and institutions_for(engine, rid)["abstain"]
    assert "(suggested)" not in _export_institutions(engine)[rid]
