"""Per-language keyword columns of the mandate file: English description, matching, storage, old files."""

import json

import pytest
from typer.testing import CliRunner

from nrtd_nlp.classify.institutions import Mandate, keyword_hits
from nrtd_nlp.errors import InputError
from nrtd_nlp.services.institutions import (add_institution, build_suggester, default_mandates_path,
                                            list_institutions, load_institutions, read_mandates)
from tests.conftest import write_csv

OLD_HEADER = ["id", "name", "name_es", "themes", "keywords", "source"]
NEW_HEADER = ["id", "name", "name_es", "name_fr", "themes", "keywords", "keywords_es", "keywords_fr", "source"]
OLD_ROW = {"id": "health", "name": "Ministry of Health", "name_es": "Ministerio de Salud", "themes": "SDG 3",
           "keywords": "health|salud|hospital|saúde|здоровь*", "source": "test"}
NEW_ROW = {"id": "health", "name": "Ministry of Health", "name_es": "Ministerio de Salud",
           "name_fr": "Ministère de la Santé", "themes": "SDG 3", "keywords": "health|hospital|HIV",
           "keywords_es": "salud|mortalidad materna|vacun*", "keywords_fr": "santé|paludisme", "source": "test"}


def _shipped(key: str) -> dict:
    return next(x for x in read_mandates(default_mandates_path()) if x["key"] == key)


def _description_keywords(m: Mandate) -> list[str]:
    """The keywords spelled out at the end of the English description."""
    desc = m.prototypes()[0][0]
    return desc.rsplit(". ", 1)[1].split(", ")


def test_english_prototype_of_health_holds_no_spanish_keyword():
    item = _shipped("health")
    m = Mandate.from_dict(item)
    es = {k.rstrip("*") for k in item["keywords_by_language"]["es"]}
    said = _description_keywords(m)
    assert "salud" in es and "health" in said
    assert not set(said) & es
    assert set(said) <= {k.rstrip("*") for k in item["keywords_by_language"]["en"]}
    # the same keywords in one mixed column (the old file shape) would put Spanish words in the English text
    mixed = Mandate(m.key, m.name, m.names, m.themes, m.keywords)
    assert set(_description_keywords(mixed)) & es


def test_every_shipped_row_keeps_other_languages_out_of_the_english_description():
    for item in read_mandates(default_mandates_path()):
        desc = Mandate.from_dict(item).prototypes()[0][0]
        en = [k.rstrip("*") for k in item["keywords_by_language"].get("en", [])][:30]
        assert desc.endswith(". " + ", ".join(en)), item["key"]  # the English column, nothing after it
        # matching still sees every language: the flat list is the union of the columns
        assert set(item["keywords"]) == {k for ks in item["keywords_by_language"].values() for k in ks}


def test_name_prototypes_carry_their_language_keywords(tmp_path):
    (item,) = read_mandates(write_csv(tmp_path / "m.csv", NEW_HEADER, [NEW_ROW]))
    protos = dict((lang, text) for text, lang in Mandate.from_dict(item).prototypes())
    assert protos["es"] == "Ministerio de Salud. salud, mortalidad materna, vacun"
    assert protos["fr"] == "Ministère de la Santé. santé, paludisme"
    assert protos["en"].endswith(". health, hospital, HIV")
    shipped = dict((lang, text) for text, lang in Mandate.from_dict(_shipped("health")).prototypes())
    assert shipped["es"].startswith("Ministerio de Salud. salud, ") and shipped["zh"] == "卫生部"  # zh: name alone
    names_only = dict((lang, text) for text, lang in Mandate.from_dict(item).prototypes(name_keywords=()))
    assert names_only["es"] == "Ministerio de Salud"


def test_spanish_text_matches_a_keywords_es_keyword():
    item = _shipped("health")
    assert "desnutrición" in item["keywords_by_language"]["es"]
    assert "desnutrición" not in item["keywords_by_language"]["en"]
    text = "Reducir la desnutrición en las zonas rurales"
    english_only = Mandate("health", "Ministry of Health", keywords=tuple(item["keywords_by_language"]["en"]))
    assert keyword_hits([text], [Mandate.from_dict(item), english_only]).tolist() == [[1, 0]]
    # and a French text still meets an English acronym
    assert keyword_hits(["Lutter contre le VIH et le HIV"], [Mandate.from_dict(item)])[0, 0] == 2


def test_old_format_file_still_loads_unchanged(engine, tmp_path):
    path = write_csv(tmp_path / "old.csv", OLD_HEADER, [OLD_ROW])
    (item,) = read_mandates(path)
    assert "keywords_by_language" not in item
    assert item["keywords"] == ["health", "salud", "hospital", "saúde", "здоровь*"]
    assert load_institutions(engine, path)["created"] == 1
    (stored,) = list_institutions(engine)
    assert stored["keywords"] == item["keywords"] and stored["keywords_by_language"] == {}
    assert load_institutions(engine, path)["unchanged"] == 1
    # an old file's English description takes the ASCII keywords, as before the split
    assert _description_keywords(Mandate.from_dict(stored)) == ["health", "salud", "hospital"]


def test_reload_with_language_columns_is_idempotent(engine, tmp_path):
    old = write_csv(tmp_path / "old.csv", OLD_HEADER, [OLD_ROW])
    new = write_csv(tmp_path / "new.csv", NEW_HEADER, [NEW_ROW])
    load_institutions(engine, old)
    first = load_institutions(engine, new)
    assert first["updated"] == 1
    again = load_institutions(engine, new)
    assert again["unchanged"] == 1 and again["updated"] == again["created"] == 0
    (stored,) = list_institutions(engine)
    assert stored["keywords"] == ["health", "hospital", "HIV", "salud", "mortalidad materna", "vacun*", "santé",
                                  "paludisme"]
    assert stored["keywords_by_language"] == {"en": ["health", "hospital", "HIV"],
                                              "es": ["salud", "mortalidad materna", "vacun*"],
                                              "fr": ["santé", "paludisme"]}
    shipped = load_institutions(engine)
    assert load_institutions(engine)["unchanged"] == shipped["institutions"]


def test_moving_a_keyword_to_another_language_makes_a_new_suggester_version(engine, tmp_path):
    load_institutions(engine, write_csv(tmp_path / "a.csv", NEW_HEADER, [NEW_ROW]))
    _, _, agent_a = build_suggester(engine)
    moved = {**NEW_ROW, "keywords_es": "salud|mortalidad materna", "keywords_fr": "santé|paludisme|vacun*"}
    load_institutions(engine, write_csv(tmp_path / "b.csv", NEW_HEADER, [moved]))
    _, _, agent_b = build_suggester(engine)
    assert agent_a.startswith("institutions@1+") and agent_b.startswith("institutions@1+")
    assert agent_a != agent_b
    assert build_suggester(engine)[2] == agent_b  # same file, same version


def test_api_shape_accepts_keywords_by_language(engine):
    out = add_institution(engine, {"name": "Ministry of Youth", "keywords": ["youth"],
                                   "keywords_by_language": {"es": ["juventud"], "fr": []}}, actor="t")
    assert out["keywords"] == ["youth", "juventud"]
    assert out["keywords_by_language"] == {"en": ["youth"], "es": ["juventud"]}
    with pytest.raises(InputError) as e:
        add_institution(engine, {"name": "Ministry of Youth", "keywords_by_language": ["juventud"]}, actor="t")
    assert e.value.field == "keywords_by_language"


def test_cli_load_with_language_columns_twice(cli_env, tmp_path):  # noqa: F811
    from nrtd_nlp.cli import app

    path = write_csv(tmp_path / "new.csv", NEW_HEADER, [NEW_ROW])
    runner = CliRunner()
    r = runner.invoke(app, ["institutions", "load", str(path), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["created"] == 1
    r = runner.invoke(app, ["institutions", "load", str(path), "--json"])
    assert json.loads(r.output)["unchanged"] == 1 and json.loads(r.output)["updated"] == 0
