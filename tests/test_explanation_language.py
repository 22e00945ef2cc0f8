"""A link's explanation on the review pages in the page's language (``i18n.explanation``); the stored text and
the API keep explain.py's English."""

import pytest

from nrtd_nlp.link.asks import _GROUPS, parse
from nrtd_nlp.link.explain import _ACTION_WORDS, explain
from nrtd_nlp.web import i18n
from tests.review_data import login
from tests.test_pages import site  # noqa: F401  (the review site over the seeded demo store)

SAME = "same action: ratify · same instrument: OP-CAT · similarity 0.97/0.91 · P(duplicate)=0.85"
DIFFERENT = ("different action: legislate / ensure / protect · same group: women · similarity 0.90/0.43 · "
             "P(related)=0.90")
ACROSS = ("across languages: en / es · same action: abolish the death penalty · earlier cycle · "
          "similarity 0.80/0.70 · P(duplicate)=0.91")

SPANISH = {
    SAME: "misma acción: ratificar · mismo instrumento: OP-CAT · similitud 0.97/0.91 · P(duplicado)=0.85",
    DIFFERENT: "acción distinta: legislar / garantizar / proteger · mismo grupo: mujeres · similitud 0.90/0.43 · "
               "P(relacionada)=0.90",
    ACROSS: "entre idiomas: en / es · misma acción: abolir la pena de muerte · ciclo anterior · "
            "similitud 0.80/0.70 · P(duplicado)=0.91",
    "shares 2 of 4 asks: ratify CAT, ratify CERD": "comparten 2 de 4 peticiones: ratificar CAT, ratificar CERD",
    "same instrument: CAT; only in one: CERD": "mismo instrumento: CAT; solo en una: CERD",
    "same treaty family: CRC (OP-CRC-SC / CRC)": "misma familia de tratados: CRC (OP-CRC-SC / CRC)",
    "different numbers or dates": "números o fechas distintos",
    "one is negated": "una de las dos es negativa",
    "earlier cycle, same recommending State": "ciclo anterior, mismo Estado recomendante",
    "translation of the same source record": "traducción del mismo registro de origen",
}


def test_english_is_unchanged():
    for text in [*SPANISH, "anything at all · P(x)=1"]:
        assert i18n.explanation("en", text) == text
    assert i18n.explanation("es", None) == "" and i18n.explanation("es", "") == ""


@pytest.mark.parametrize("english", list(SPANISH))
def test_each_kind_of_part_in_spanish(english):
    assert i18n.explanation("es", english) == SPANISH[english]


def test_french_and_portuguese():
    assert i18n.explanation("fr", DIFFERENT) == ("action différente : légiférer / garantir / protéger · "
                                                 "même groupe : femmes · similarité 0.90/0.43 · P(liée)=0.90")
    assert i18n.explanation("pt", SAME) == ("mesma ação: ratificar · mesmo instrumento: OP-CAT · "
                                            "similaridade 0.97/0.91 · P(duplicado)=0.85")


def test_what_it_does_not_know_stays_english():
    text = "a reason added later · same group: women, martians · different action: ratify / dance · P(x)=0.5"
    assert i18n.explanation("es", text) == ("a reason added later · mismo grupo: mujeres, martians · "
                                            "acción distinta: ratificar / dance · P(x)=0.5")
    assert i18n.explanation("xx", SAME) == SAME  # no catalogue: all English, no error
    assert i18n.explanation("es", "shares 1 of 2 asks: ? CAT") == "comparten 1 de 2 peticiones: ? CAT"


@pytest.mark.parametrize("lang", ["es", "fr", "pt"])
def test_every_action_group_and_part_has_a_translation(lang):
    cat = i18n.catalogue(lang)
    keys = [*_ACTION_WORDS.values(), *_GROUPS, *(key for _, key in i18n._EXPLAIN_RULES), i18n._EXPLAIN_SUFFIX]
    assert not [k for k in keys if k not in cat]


def test_explain_output_is_translated_part_by_part():
    a = parse("Ratify the Optional Protocol to the Convention against Torture and protect women")
    b = parse("Ratify the OP-CAT and protect women and girls")
    english = explain("duplicate", a, b, 0.85, (0.97, 0.91))
    spanish = i18n.explanation("es", english)
    parts = list(zip(english.split(" · "), spanish.split(" · ")))
    assert len(parts) >= 3 and all(en != es for en, es in parts), parts


def test_duplicates_page_in_spanish_and_the_api_stays_english(site):
    from nrtd_nlp.services.links import list_links
    from nrtd_nlp.store.models import Link

    c, engine = site
    with engine.db.session() as s:  # test data: one suggested duplicate link
        s.add(Link(rec_a=1, rec_b=2, kind="duplicate", score=0.85, explanation=SAME, agent="t@1"))
    login(c, engine)
    es = c.get("/ui/duplicates", params={"lang": "es"}).text
    assert SPANISH[SAME] in es and "same action" not in es
    assert SAME in c.get("/ui/duplicates", params={"lang": "en"}).text
    assert [x["explanation"] for x in list_links(engine)[0]] == [SAME]  # what machine readers get
