"""Responsible institutions: mandate file, cold start, warm path, decisions, API and CLI."""

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from nrtd_nlp.classify.institutions import InstitutionSuggester, Mandate, keyword_hits
from nrtd_nlp.errors import InputError, NotFound
from nrtd_nlp.ingest.records import RawRecord
from nrtd_nlp.services.imports import import_records
from nrtd_nlp.services.institution_views import institutions_for
from nrtd_nlp.services.institutions import (assign, default_mandates_path, list_institutions, load_institutions,
                                            read_mandates, suggest_institutions, unassign)
from nrtd_nlp.store.models import AuditEvent, Assignment, Institution, Suggestion

TORTURE = "Prevent torture in custody and guarantee the right to a fair trial by reforming the criminal code"
SCHOOL = "Ensure that all children attend primary school and reduce the drop-out rate of girls"
ESCUELA = "Garantizar la educación primaria gratuita y reducir el abandono escolar en las escuelas rurales"

BIRTHS = [
    "Ensure that every child is registered at birth, including in remote rural areas",
    "Make birth registration free of charge and accessible to all families",
    "Strengthen the civil registration system so that all births are recorded",
    "Take measures to register all newborns, including children of refugees",
    "Guarantee universal birth registration and issue birth certificates to every child",
    "Improve the birth registration rate among indigenous communities",
]
SCHOOLS = [
    "Increase enrolment in secondary schools for girls",
    "Improve the quality of primary education and teacher training",
    "Guarantee free and compulsory primary education for all children",
    "Reduce illiteracy through adult education programmes",
    "Build more schools in rural areas and hire qualified teachers",
    "Include human rights in the school curriculum",
]


def _add(engine, texts, prefix):
    recs = [RawRecord(source="t", external_id=f"{prefix}{i}", text=t, mechanism="UPR", country="Freedonia")
            for i, t in enumerate(texts)]
    import_records(engine, recs, fmt="json")
    from nrtd_nlp.store.models import Recommendation

    with engine.db.session() as s:
        return [s.scalars(select(Recommendation.id).where(Recommendation.external_id == f"{prefix}{i}")).one()
                for i in range(len(texts))]


def _ranked(engine, rec_id):
    return [x["institution"] for x in institutions_for(engine, rec_id)["suggestions"]]


def test_shipped_mandate_file_is_valid():
    rows = read_mandates(default_mandates_path())
    keys = {r["key"] for r in rows}
    assert {"justice", "foreign_affairs", "interior", "health", "education", "nhri", "parliament"} <= keys
    assert all(r["themes"] and r["keywords"] and len(r["names"]) == 6 for r in rows)


def test_keyword_patterns():
    ms = [Mandate("a", "A", keywords=("educat*", "worker", "监狱")), Mandate("b", "B", keywords=("press",))]
    H = keyword_hits(["Educational reform for workers", "Pressure on 监狱 staff", "the press"], ms)
    assert H[0].tolist() == [2, 0]  # stem and plural
    assert H[1].tolist() == [1, 0]  # CJK anywhere; "press" is a word, not a prefix of "pressure"
    assert H[2].tolist() == [0, 1]
    # a typographic apostrophe (UHRI's French) is a plain one, in the text and in the keyword
    fr = [Mandate("c", "C", keywords=("droits de l'homme",)), Mandate("d", "D", keywords=("aide à l’enfance",))]
    H = keyword_hits(["Conseil des droits de l’homme", "l'aide à l'enfance"], fr)
    assert H.tolist() == [[1, 0], [0, 1]]


def test_shipped_mandates_speak_spanish_french_portuguese():
    from nrtd_nlp.services.institutions import read_mandates

    ms = [Mandate(r["key"], r["name"], keywords=tuple(r["keywords"]))
          for r in read_mandates(default_mandates_path())]
    H = keyword_hits(["Reducir la mortalidad materna en las zonas rurales", "Reduzir a mortalidade materna",
                      "Réduire la mortalité maternelle"], ms)
    health = [m.key for m in ms].index("health")
    assert all(H[i, health] >= 1 for i in range(3))


def test_load_is_idempotent_and_audited(engine):
    first = load_institutions(engine)
    assert first["created"] == first["institutions"] > 20
    again = load_institutions(engine)
    assert again["created"] == 0 and again["updated"] == 0 and again["unchanged"] == first["institutions"]
    with engine.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Institution)) == first["institutions"]
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "institution.create")) == first["institutions"]
    assert {"key": "justice"}.items() <= next(x for x in list_institutions(engine) if x["key"] == "justice").items()


def test_load_refuses_bad_files(engine, tmp_path):
    bad = tmp_path / "m.csv"
    bad.write_text("id,label\nx,y\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_institutions(engine, bad)
    assert e.value.field == "file"
    bad.write_text("id,name\nx,X\nx,Y\n", encoding="utf-8")
    with pytest.raises(InputError, match="twice"):
        load_institutions(engine, bad)


def test_import_suggests_once_institutions_are_loaded(engine):
    (rid,) = _add(engine, [SCHOOL], "i")
    assert institutions_for(engine, rid)["suggestions"] == []  # nothing loaded: the import skips the step
    load_institutions(engine)
    res = import_records(engine, [RawRecord(source="t", external_id="i1", text=TORTURE, mechanism="UPR")], fmt="json")
    assert res.institutions["records"] == 1 and res.institutions["agent"].startswith("institutions@")
    assert res.institutions["score_kind"] == "relevance"


def test_cold_start_ranks_justice_and_education(engine):
    load_institutions(engine)
    torture, school, escuela = _add(engine, [TORTURE, SCHOOL, ESCUELA], "c")  # the import stores the suggestions
    assert _ranked(engine, torture)[0] == "justice"
    assert _ranked(engine, escuela)[0] == "education"  # Spanish keywords of the mandate file
    assert _ranked(engine, school)[0] == "education"
    out = institutions_for(engine, torture)
    assert "not a probability" in out["score_meaning"]
    assert all(0 <= x["score"] <= 1 for x in out["suggestions"])
    # a second run with nothing new stores nothing new; --force redoes them
    assert suggest_institutions(engine)["records"] == 0
    res = suggest_institutions(engine, force=True)
    assert res["records"] == 3 and res["suggestions"] == 9 and res["score_kind"] == "relevance"


def test_confirmed_assignments_change_the_ranking(engine):
    load_institutions(engine)
    births = _add(engine, BIRTHS, "b")
    schools = _add(engine, SCHOOLS, "s")
    (new,) = _add(engine, ["Register all children at birth and provide them with birth certificates"], "n")
    suggest_institutions(engine, [new], top_k=27)
    cold = _ranked(engine, new)
    for rid in births:  # this country's statistics office runs the civil register
        assign(engine, rid, "statistics", "ana")
    for rid in schools:
        assign(engine, rid, "education", "ana")
    res = suggest_institutions(engine, [new], top_k=27)
    assert res["confirmed_records"] == 12 and "statistics" in res["linear_heads"]
    warm = _ranked(engine, new)
    assert warm.index("statistics") < cold.index("statistics") and warm.index("statistics") <= 2
    assert res["score_kind"] == "relevance"  # 12 records: too few to calibrate


def test_assign_unassign_audited_and_excluded_from_suggestions(engine):
    load_institutions(engine)
    (rid,) = _add(engine, [TORTURE], "a")
    a = assign(engine, rid, "justice", "ana", comment="lead ministry")
    assert a["status"] == "created" and a["by"] == "human"
    assert assign(engine, rid, "justice", "ana")["status"] == "unchanged"
    suggest_institutions(engine, [rid])
    out = institutions_for(engine, rid)
    assert [x["institution"] for x in out["assignments"]] == ["justice"]
    assert "justice" not in [x["institution"] for x in out["suggestions"]]
    unassign(engine, rid, "justice", "bo")
    with engine.db.session() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.entity == "recommendation").order_by(AuditEvent.id)).all()
        assert [(e.who, e.action) for e in ev] == [("ana", "institution.assign"), ("bo", "institution.unassign")]
        assert ev[0].after["comment"] == "lead ministry" and ev[1].before["institution"] == "justice"
        assert s.scalar(select(func.count()).select_from(Assignment)) == 0
        assert s.scalar(select(func.count()).select_from(Suggestion)) > 0  # machine output kept apart
    with pytest.raises(NotFound):
        assign(engine, rid, "no_such_ministry", "ana")
    with pytest.raises(NotFound):
        assign(engine, 99999, "justice", "ana")
    with pytest.raises(InputError):
        assign(engine, rid, "justice", " ")


def test_calibrated_when_enough_confirmations():
    rng = np.random.default_rng(0)
    d, m = 16, 3
    centres = rng.normal(size=(m, d))
    y = rng.integers(0, m, 120)
    X = centres[y] + 0.8 * rng.normal(size=(120, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    Y = np.eye(m)[y]
    mandates = [Mandate(f"i{j}", f"Institution {j}") for j in range(m)]
    protos = [(c / np.linalg.norm(c))[None].astype(np.float32) for c in centres]
    sug = InstitutionSuggester(min_calibration=40).fit(mandates, protos, X[:100], Y[:100], [""] * 100)
    assert sug.score_kind_ == "probability" and sug.calibration_["records"] == 100
    assert set(sug.calibration_["weights"]) == {"cold", "neighbours", "linear"}
    assert sug.calibration_["brier_stacked"] <= sug.calibration_["brier_fixed_mix"]
    S = sug.scores(X[100:], [""] * 20)
    assert (S.argmax(1) == y[100:]).mean() >= 0.8
    cold = InstitutionSuggester().fit(mandates, protos)
    assert cold.score_kind_ == "relevance" and cold.suggest(X[:1], [""])[0]["candidates"]


@pytest.fixture()
def client(engine):
    from nrtd_nlp.api.deps import get_engine
    from nrtd_nlp.api.main import create_app
    from tests.conftest import act_as

    app = act_as(create_app(engine=engine), "reviewer", "rita")
    app.dependency_overrides[get_engine] = lambda: engine
    with TestClient(app) as c:
        yield c, app


def test_api(client, engine):
    c, app = client
    load_institutions(engine)
    (rid,) = _add(engine, [SCHOOL], "p")
    page = c.get("/v1/institutions").json()
    assert page["count"] == len(page["data"]) > 20
    assert c.get("/v1/recommendations/99999/institutions").status_code == 404
    assert c.post("/v1/recommendations/99999/assignments", json={"institution": "education"}).status_code == 404
    r = c.post(f"/v1/recommendations/{rid}/assignments", json={"institution": "nope"})
    assert r.status_code == 404 and r.json()["detail"]["field"] == "institution"
    r = c.post(f"/v1/recommendations/{rid}/assignments", json={})
    assert r.status_code == 422 and r.json()["detail"]["field"] == "institution"
    assert c.post(f"/v1/recommendations/{rid}/assignments",
                  json={"institution": "education", "action": "delete"}).status_code == 422
    r = c.post(f"/v1/recommendations/{rid}/assignments", json={"institution": "education"})
    assert r.status_code == 200 and r.json()["status"] == "created"
    got = c.get(f"/v1/recommendations/{rid}/institutions").json()
    assert got["assignments"][0]["institution"] == "education" and got["assignments"][0]["by"] == "human"
    assert "education" not in [x["institution"] for x in got["suggestions"]]  # decided: no longer a suggestion
    assert c.post("/v1/institutions", json={"name": "Ministry of Youth"}).status_code == 403  # admins only
    from tests.conftest import act_as

    act_as(app, "admin")
    assert c.post("/v1/institutions", json={"keywords": ["youth"]}).status_code == 422
    r = c.post("/v1/institutions", json={"name": "Ministry of Youth", "keywords": ["youth"], "themes": ["SDG 4"]})
    assert r.status_code == 201 and r.json()["key"] == "ministry_of_youth" and r.json()["status"] == "created"
    r = c.post("/v1/institutions", json={"name": "Ministry of Sport", "keywords": ["sport"],
                                         "keywords_by_language": {"es": ["deporte"]}})
    assert r.status_code == 201
    got = [x for x in c.get("/v1/institutions").json()["data"] if x["key"] == "ministry_of_sport"][0]
    assert got["keywords"] == ["sport", "deporte"] and got["keywords_by_language"] == {"en": ["sport"], "es": ["deporte"]}
    with engine.db.session() as s:
        who = s.scalars(select(AuditEvent.who).where(AuditEvent.action == "institution.assign")).all()
    assert who == ["rita"]


def test_cli(cli_env, monkeypatch, test_embedder):
    from nrtd_nlp.cli import app

    monkeypatch.setattr("nrtd_nlp.embed.base._REGISTRY", {"minilm-test": (lambda **kw: test_embedder, "")})
    runner = CliRunner()
    r = runner.invoke(app, ["institutions", "load", "--json"])
    assert r.exit_code == 0, r.output
    n = json.loads(r.output)["created"]
    assert json.loads(runner.invoke(app, ["institutions", "load", "--json"]).output)["unchanged"] == n
    assert "justice" in runner.invoke(app, ["institutions", "list"]).output
    r = runner.invoke(app, ["assign", "12345", "justice", "--reviewer", "ana"])
    assert r.exit_code == 2 and "recommendation 12345 does not exist" in r.output
    r = runner.invoke(app, ["suggest-institutions", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["records"] == 0
