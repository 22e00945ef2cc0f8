"""Imports and options the CLI used to take silently or answer with exit 1 (audit of 2026-11-25): each is
now one line on stderr with exit 2, and nothing is written. Nothing here embeds (--no-embed)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from nrtd_nlp.store.models import Recommendation
from tests.test_cli_edges import run, runner

from nrtd_nlp.cli import app


def _records(settings) -> int:
    from nrtd_nlp.store.db import Database

    db = Database(settings.db_url)
    with db.session() as s:
        return s.scalar(select(func.count(Recommendation.id)))


def _import(path, *extra) -> str:
    return run("import", path, "--no-embed", *extra)


@pytest.mark.parametrize("name, content, needle", [
    ("in.csv", "id,text,language\nr1,Ratify the CAT, and the CRC,en\n", "4 cells, the header has 3"),
    ("in.csv", "id,text,text\nr1,Ratify the CAT,Abolish the death penalty\n", "'text' appears twice"),
    ("in.csv", "id,text,country\nr1,Ratify the CAT,Chile\nr1,Ratify the CAT,Peru\n", "different country"),
    ("in.csv", "id,text\nr1,Ratify the CAT\nr2,132.90 (New Zealand);\n", "row 3: no recommendation text"),
    ("in.json", '[{"id": "j1", "text": NaN}]', "NaN is not JSON"),
    ("in.json", '[{"id": "j1", "text": 12}]', "the text is a int, not text"),
    ("in.json", '[{"id": "j1", "text": "Ratify \\ud800 the CAT"}]', "unpaired surrogate"),
])
def test_files_whose_values_would_be_lost_or_garbled_are_refused(cli_env, tmp_path, name, content, needle):
    f = tmp_path / name
    f.write_text(content, encoding="utf-8")
    line = _import(f)
    assert needle in line, line
    assert _records(cli_env) == 0


def test_a_field_mapped_twice_is_refused(cli_env, tmp_path):
    f = tmp_path / "in.csv"
    f.write_text("id,text\nr1,Ratify the Convention against Torture\n", encoding="utf-8")
    assert "'text' is mapped twice" in _import(f, "--map", "text=text,text=id")
    assert _records(cli_env) == 0


def test_json_rows_are_numbered_from_one(cli_env, tmp_path):
    f = tmp_path / "in.json"
    f.write_text(json.dumps([{"id": "j1", "text": "Ratify the CAT"}, {"id": "j2", "text": "  "}]), encoding="utf-8")
    assert "row 2: empty text" in _import(f)


def test_a_generic_file_cannot_take_a_built_in_source(cli_env, tmp_path):
    f = tmp_path / "in.csv"
    f.write_text("id,text\na1:en,A text about fisheries\n", encoding="utf-8")
    assert "belongs to the uhri format" in _import(f, "--source", "uhri")
    assert "1 to 40" in _import(f, "--source", "x" * 41)
    assert runner.invoke(app, ["import", str(f), "--no-embed", "--source", "nhri"]).exit_code == 0
    r = runner.invoke(app, ["import", str(f), "--no-embed", "--source", "  nhri  "])  # trimmed: the same source
    assert r.exit_code == 0 and "1 unchanged" in r.output, r.output
    assert _records(cli_env) == 1


def test_unknown_encoding_names_the_option(cli_env, tmp_path):
    f = tmp_path / "in.csv"
    f.write_text("id,text\nr1,Ratify the CAT\n", encoding="utf-8")
    assert "unknown encoding 'klingon'" in _import(f, "--encoding", "klingon")


@pytest.mark.parametrize("args", [
    ["review", "accept", "99999999999999999999999", "--reviewer", "ana"],
    ["review", "revert", "1", "99999999999999999999999", "--reviewer", "ana"],
    ["follow-up", "open", "--rec", "99999999999999999999999", "--reviewer", "ana"],
])
def test_ids_beyond_the_store_are_exit_2_not_an_internal_error(cli_env, args):
    assert "beyond the store's 64-bit integers" in run(*args)


def test_revoking_a_key_id_beyond_the_store_is_not_found(cli_env):
    assert "no key '99999999999999999999999'" in run("keys", "revoke", "99999999999999999999999")


@pytest.mark.parametrize("var, value", [("NRTD_HOME", ""), ("NRTD_EMBED_BATCH_SIZE", "0"), ("NRTD_THREADS", "0"),
                                        ("NRTD_MAX_TEXT_CHARS", "-5")])
def test_settings_out_of_range_name_the_variable(cli_env, monkeypatch, var, value):
    monkeypatch.setenv(var, value)
    assert run("stats").startswith(f"nrtd: error[config]: {var}")


def test_a_link_model_dir_that_is_a_file_names_the_variable(cli_env, monkeypatch, tmp_path):
    f = tmp_path / "not-a-folder.csv"
    f.write_text("x", encoding="utf-8")
    monkeypatch.setenv("NRTD_LINK_MODEL_DIR", str(f))
    from nrtd_nlp.errors import ModelUnavailable
    from nrtd_nlp.link.scorer import PairScorer

    with pytest.raises(ModelUnavailable) as e:
        PairScorer.load(f)
    assert "NRTD_LINK_MODEL_DIR" in str(e.value)


def test_ctrl_c_after_the_commit_says_what_stands_and_what_to_run(cli_env, tmp_path, monkeypatch):
    from nrtd_nlp.services import clusters

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(clusters, "attach_new", interrupted)
    f = tmp_path / "in.csv"
    f.write_text("id,text\nr1,Ratify the Convention against Torture\nr2,Abolish the death penalty\n",
                 encoding="utf-8")
    line = run("import", f, code=130)
    assert "was committed (2 new, 0 updated)" in line, line
    assert "clusters (nrtd recluster), institutions (nrtd suggest-institutions), tags (nrtd suggest)" in line
    assert "links" not in line.split("not done:")[1]  # linking had run
    assert _records(cli_env) == 2


def test_metadata_longer_than_its_column_is_refused_on_every_database(cli_env, tmp_path):
    f = tmp_path / "in.csv"
    f.write_text(f"id,text,cycle,language\nr1,Ratify the CAT,{'3' * 30},Portuguese\n", encoding="utf-8")
    assert "cycle is 30 characters; the store keeps 20" in _import(f)
    assert _records(cli_env) == 0


def test_export_format_follows_the_file_ending_and_never_contradicts_it(cli_env, tmp_path):
    out = tmp_path / "matrix.csv"
    r = runner.invoke(app, ["export", "--out", str(out)])
    assert r.exit_code == 0 and "(csv)" in r.output and out.read_bytes().startswith(b"\xef\xbb\xbf"), r.output
    assert "--out ends in .xlsx but --format is csv" in run("export", "--format", "csv", "--out", tmp_path / "m.xlsx")
    assert not (tmp_path / "m.xlsx").exists()


def test_a_labels_column_that_is_not_in_the_file_is_named(tmp_path):
    from nrtd_nlp.classify.datasets import load_annotated
    from nrtd_nlp.classify.labels import load_labels
    from nrtd_nlp.errors import InputError

    f = tmp_path / "in.csv"
    f.write_text("id,text,goals\nr1,Ratify the CAT,16\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_annotated(f, "sdg_goal", load_labels("sdg_goal"), column="nope")
    assert e.value.field == "labels_column" and "column 'nope'" in str(e.value) and "goals" in str(e.value)
    assert load_annotated(f, "sdg_goal", load_labels("sdg_goal"), column="goals").labels == [["16"]]


def test_an_unterminated_quote_names_the_row_where_it_opens(cli_env, tmp_path):
    f = tmp_path / "in.csv"
    f.write_text('id,text\nr1,"a cell on\ntwo lines"\nr2,"never closed\nr3,Ratify the CAT\n', encoding="utf-8")
    assert "the row that starts on line 4" in _import(f)


def test_an_unknown_embedder_names_the_variable(cli_env, monkeypatch):
    monkeypatch.setenv("NRTD_EMBEDDER", "bogus")
    assert "unknown embedder 'bogus' (NRTD_EMBEDDER" in run("search", "torture")


def test_cluster_curation_takes_reviewer_like_the_other_decisions(cli_env):
    assert "no cluster 'nope'" in run("cluster", "confirm", "nope", "--reviewer", "ana")  # not a usage error
