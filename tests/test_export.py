import csv
import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from nrtd_nlp.api.deps import get_engine
from nrtd_nlp.api.main import create_app
from nrtd_nlp.services import reviews as svc
from nrtd_nlp.services.export import COLUMNS, export_matrix
from nrtd_nlp.services.search import Filters
from nrtd_nlp.store.models import Recommendation, Suggestion
from tests.conftest import act_as
from tests.review_data import seed


@pytest.fixture()
def decided(engine, demo_csv):
    seed(engine, demo_csv)
    with engine.db.session() as s:
        rec = s.query(Recommendation).filter_by(mechanism="CRC").order_by(Recommendation.id).first()
        rid = rec.id
        sugs = {x.value: x.id for x in s.query(Suggestion).filter_by(rec_id=rid)}
        s.add(Recommendation(source="test", external_id="f", text="=HYPERLINK(\"http://x\")", text_hash="f",
                             language="en", mechanism="CRC"))
    svc.decide(engine, decision="accept", reviewer="ana", suggestion_id=sugs["16"])
    svc.decide(engine, decision="reject", reviewer="ben", suggestion_id=sugs["5"])
    svc.decide(engine, decision="add", reviewer="ana", rec_id=rid, task="sdg_goal", value="4")
    return engine, rid


def test_csv_marks_reviewed_and_suggested_values(decided):
    engine, rid = decided
    data, n = export_matrix(engine, "csv", filters=Filters(mechanism="CRC"))
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert n == len(rows) == 4 and list(rows[0]) == list(COLUMNS)
    row = [r for r in rows if r["id"] == str(rid)][0]
    assert set(row["sdg_goals"].split("; ")) == {"16", "4"}  # accepted + added; the rejected 5 is gone
    assert row["themes"] == "Torture (suggested)" and row["reviewed_by"] == "ana, ben"
    other = [r for r in rows if r["id"] != str(rid) and r["sdg_goals"]][0]
    with engine.db.session() as s:  # fixture suggestions record no assertion: those scoring 0.5 or more count
        want = {f"{x.value} (suggested)" for x in s.query(Suggestion).filter_by(rec_id=int(other["id"]),
                                                                                 task="sdg_goal") if x.score >= 0.5}
    assert set(other["sdg_goals"].split("; ")) == want
    formula = [r for r in rows if r["external_id"] == "f"][0]
    assert formula["recommendation"].startswith("'=")


def test_xlsx_over_the_api(decided):
    engine, rid = decided
    app = act_as(create_app(engine=engine), "reader")
    app.dependency_overrides[get_engine] = lambda: engine
    with TestClient(app) as c:
        r = c.get("/v1/export", params={"format": "xlsx", "mechanism": "CRC"})
        assert r.status_code == 200 and r.headers["x-rows"] == "4"
        assert "spreadsheetml" in r.headers["content-type"]
        ws = load_workbook(io.BytesIO(r.content)).active
        head = [c.value for c in ws[1]]
        assert head == list(COLUMNS)
        cells = {ws.cell(row=i, column=1).value: [c.value for c in ws[i]] for i in range(2, ws.max_row + 1)}
        assert cells[rid][head.index("state")] is not None
        f = [v for v in cells.values() if v[head.index("external_id")] == "f"][0]
        assert f[head.index("recommendation")].startswith("=HYPERLINK")  # stored as text, not a formula
        assert c.get("/v1/export", params={"format": "pdf"}).status_code == 422
        assert c.get("/v1/export", params={"format": "csv", "language": "xx"}).headers["x-rows"] == "0"


def test_cli_export(decided, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from nrtd_nlp.cli import app

    engine, _ = decided
    out = tmp_path / "m.csv"
    res = CliRunner().invoke(app, ["export", "--format", "csv", "--out", str(out), "--mechanism", "CRC"])
    assert res.exit_code == 0, res.output
    assert "wrote 4 recommendations" in res.output and out.read_bytes().startswith(b"\xef\xbb\xbf")
    bad = CliRunner().invoke(app, ["export", "--format", "pdf", "--out", str(out)])
    assert bad.exit_code == 2 and "format" in bad.output


def test_only_asserted_suggestions_and_one_action_category(decided):
    """The top-k shown to reviewers is not the model's answer: the export lists asserted suggestions only
    (NULL: score >= 0.5), and a single-label task one value, the latest a person chose (audit finding 8)."""
    engine, rid = decided
    with engine.db.session() as s:
        s.query(Suggestion).filter_by(rec_id=rid, value="Torture").update({"asserted": False})
        for value, score, asserted in (("4", 0.71, True), ("5", 0.28, False), ("1", 0.01, False)):
            s.add(Suggestion(rec_id=rid, task="action_category", value=value, score=score, agent="t@1",
                             asserted=asserted))
        s.add(Recommendation(source="test", external_id="dash", text="- 2+3 cells", text_hash="dash",
                             language="en", mechanism="CRC"))

    def row():
        data, _ = export_matrix(engine, "csv", filters=Filters(mechanism="CRC"))
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
        return [r for r in rows if r["id"] == str(rid)][0], [r for r in rows if r["external_id"] == "dash"][0]

    mine, dash = row()
    assert mine["themes"] == "" and mine["action_category"] == "4 (suggested)"
    assert dash["recommendation"] == "'- 2+3 cells"
    with engine.db.session() as s:
        five = s.query(Suggestion).filter_by(rec_id=rid, task="action_category", value="5").one().id
    first = svc.decide(engine, decision="accept", reviewer="ana", suggestion_id=five)
    assert row()[0]["action_category"] == "5"
    from nrtd_nlp.errors import Conflict

    with pytest.raises(Conflict) as e:  # one value: another person's choice is never silently replaced
        svc.decide(engine, decision="add", reviewer="ben", rec_id=rid, task="action_category", value="2")
    assert e.value.field == "value" and f"review {first['id']}" in str(e.value) and "ana" in str(e.value)
    assert row()[0]["action_category"] == "5"
    svc.decide(engine, decision="reject", reviewer="ben", suggestion_id=five, expected_review_id=first["id"])
    svc.decide(engine, decision="add", reviewer="ben", rec_id=rid, task="action_category", value="2")
    assert row()[0]["action_category"] == "2"  # the choice that stands, not "5; 2; 4 (suggested)"


def test_bulk_over_an_unknown_cluster_is_404_not_nothing_decided(decided):
    from nrtd_nlp.errors import NotFound

    engine, rid = decided
    with pytest.raises(NotFound) as e:
        svc.bulk_decide(engine, decision="accept", reviewer="ana", min_score=0.0, cluster_id="nope")
    assert e.value.field == "cluster_id"


def test_label_names_in_a_language_instead_of_ids(decided, tmp_path, monkeypatch):
    from nrtd_nlp.classify.labels import load_labels

    engine, rid = decided
    goals = load_labels("sdg_goal").by_id
    data, _ = export_matrix(engine, "csv", filters=Filters(mechanism="CRC"), names="es")
    row = [r for r in csv.DictReader(io.StringIO(data.decode("utf-8-sig"))) if r["id"] == str(rid)][0]
    assert set(row["sdg_goals"].split("; ")) == {goals["16"].name("es"), goals["4"].name("es")}
    assert goals["4"].name("es") != "4"
    with pytest.raises(Exception) as e:
        export_matrix(engine, "csv", names="español; drop")
    assert getattr(e.value, "field", None) == "names"
    app = act_as(create_app(engine=engine), "reader")
    app.dependency_overrides[get_engine] = lambda: engine
    with TestClient(app) as c:
        r = c.get("/v1/export", params={"format": "csv", "names": "fr", "mechanism": "CRC"})
        assert r.status_code == 200 and goals["4"].name("fr") in r.content.decode("utf-8-sig")
        bad = c.get("/v1/export", params={"format": "csv", "names": "x y"})
        assert bad.status_code == 422 and bad.json()["detail"]["field"] == "names"
