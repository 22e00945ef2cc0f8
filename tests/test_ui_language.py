"""The review pages in Spanish, French and Portuguese: choosing the language, the catalogues, label names."""

import json
import re
from importlib.resources import files

import pytest

from nrtd_nlp.web import i18n
from tests.review_data import login
from tests.test_pages import site  # noqa: F401  (the review site over the seeded demo store)

SESSION = "UPR|9|99|"
WEB = files("nrtd_nlp") / "web"


def _script_messages(html: str) -> dict:
    block = re.search(r'<script type="application/json" id="i18n">(.*?)</script>', html, re.S)
    return json.loads(block.group(1))


def test_lang_es_gives_spanish_page_and_the_cookie_carries_it(site):
    c, engine = site
    login(c, engine)
    page = c.get("/ui/review", params={"session": SESSION, "lang": "es"})
    assert page.status_code == 200 and '<html lang="es">' in page.text
    assert page.headers["content-language"] == "es" and "nrtd_lang=es" in page.headers["set-cookie"]
    for text in (">Sesiones</a>", ">Temas</a>", ">Duplicados</a>", ">Grupos</a>", "Cerrar sesión",
                 ">Aceptar</button>", ">Rechazar</button>", ">Deshacer</button>",
                 "recomendaciones, primero las más inciertas", "pendiente"):
        assert text in page.text, text
    assert ">Sign out<" not in page.text and ">Accept</button>" not in page.text
    nxt = c.get("/ui/")  # no ?lang=: the cookie keeps Spanish
    assert '<html lang="es">' in nxt.text and "<h1>Sesiones de revisión</h1>" in nxt.text
    assert "set-cookie" not in nxt.headers  # only an explicit ?lang= writes the cookie
    assert '<html lang="en">' in c.get("/ui/", params={"lang": "en"}).text and "<h1>Review sessions</h1>" in \
        c.get("/ui/").text  # switching back is remembered too


def test_lang_pt_gives_portuguese_page(site):
    c, engine = site
    login(c, engine)
    page = c.get("/ui/review", params={"session": SESSION, "lang": "pt"})
    assert page.status_code == 200 and '<html lang="pt">' in page.text
    for text in (">Sessões</a>", ">Sair</button>", ">Rejeitar</button>", "recomendações, primeiro as mais incertas",
                 'aria-current="true">Português</strong>'):
        assert text in page.text, text
    assert ">Sign out<" not in page.text


def test_label_names_follow_the_page_language(site):
    c, engine = site
    login(c, engine)
    en = c.get("/ui/review", params={"session": SESSION}).text
    es = c.get("/ui/review", params={"session": SESSION, "lang": "es"}).text
    fr = c.get("/ui/review", params={"session": SESSION, "lang": "fr"}).text
    assert "Peace, justice and strong institutions" in en  # sdg_goal 16, as before
    assert "Paz, justicia e instituciones fuertes" in es and "Peace, justice" not in es
    assert "Paix, justice et institutions efficaces" in fr and "Égalité entre les sexes" in fr
    assert ">ODS: objetivo<" in es and ">sdg_goal<" in en  # the task's name; English shows the id, as before
    assert i18n.label_name("sdg_goal", "16", "en") is None  # English: the page keeps the name it already has
    assert i18n.label_name("sdg_goal", "no-such-id", "es") is None and i18n.label_name("nope", "1", "es") is None


def test_accept_language_and_the_setting_choose_when_nothing_else_does(site):
    c, engine = site
    fr = c.get("/ui/login", headers={"Accept-Language": "fr-CH, fr;q=0.9, en;q=0.8"})
    assert '<html lang="fr">' in fr.text and "<h1>Se connecter</h1>" in fr.text and "Clé d’API" in fr.text
    es = c.get("/ui/login", headers={"Accept-Language": "en;q=0.5, es-PY;q=0.9"})
    assert '<html lang="es">' in es.text and "<h1>Iniciar sesión</h1>" in es.text
    assert '<html lang="en">' in c.get("/ui/login", headers={"Accept-Language": "de, zh;q=0.5"}).text
    engine.settings.ui_language = "fr"  # NRTD_UI_LANGUAGE: when the browser names nothing we have
    assert '<html lang="fr">' in c.get("/ui/login", headers={"Accept-Language": "de"}).text
    assert '<html lang="es">' in c.get("/ui/login", headers={"Accept-Language": "es"}).text
    engine.settings.ui_language = "xx"  # a setting naming no catalogue: English, not an error
    assert '<html lang="en">' in c.get("/ui/login").text


def test_unknown_lang_falls_back_without_error(site):
    c, engine = site
    login(c, engine)
    page = c.get("/ui/", params={"lang": "xx"})
    assert page.status_code == 200 and '<html lang="en">' in page.text and "<h1>Review sessions</h1>" in page.text
    assert "nrtd_lang" not in page.headers.get("set-cookie", "")
    odd = c.get("/ui/", params={"lang": '"><script>x</script>'})
    assert odd.status_code == 200 and "<script>x" not in odd.text
    c.get("/ui/", params={"lang": "fr"})
    assert '<html lang="fr">' in c.get("/ui/", params={"lang": "xx"}).text  # ignored: the cookie still holds
    c.cookies.clear()
    c.cookies.set("nrtd_lang", "klingon")
    assert '<html lang="en">' in c.get("/ui/login").text


def test_error_page_switch_links_and_script_messages_in_spanish(site):
    c, engine = site
    login(c, engine)
    err = c.get("/ui/clusters/no%20pe", params={"lang": "es"})
    assert err.status_code == 404 and "<h1>No se pudo completar la acción</h1>" in err.text
    assert 'href="/ui/clusters/no%20pe?lang=fr"' in err.text  # the path as it came, encoded once
    page = c.get("/ui/review", params={"session": SESSION, "lang": "es"})
    assert 'href="/ui/review?session=UPR%7C9%7C99%7C&amp;lang=fr"' in page.text  # same page, other language
    assert 'aria-current="true">Español</strong>' in page.text
    msgs = _script_messages(page.text)
    assert msgs["{decision} by {reviewer}"] == "{decision} por {reviewer}" and msgs["accepted"] == "aceptada"
    assert msgs["nothing to undo"] == "nada que deshacer" and msgs["sdg_goal"] == "ODS: objetivo"
    assert "Sesiones" not in msgs  # only what the script shows, not the whole catalogue
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp  # a JSON data block needs no exception
    assert _script_messages(c.get("/ui/", params={"lang": "en"}).text) == {}


def _template_keys() -> dict[str, str]:
    keys = {}
    for f in (WEB / "templates").iterdir():
        if f.name.endswith(".html"):
            for k in re.findall(r'\b_\("((?:[^"\\]|\\.)*)"', f.read_text(encoding="utf-8")):
                keys.setdefault(k, f.name)
    return keys


def _data_terms() -> set[str]:
    """Values the pages show through ``term``/``_`` by id: statuses, kinds, decisions, roles, tasks."""
    from nrtd_nlp.link.decisions import STATUSES as LINK_STATUSES
    from nrtd_nlp.services.auth import ROLES
    from nrtd_nlp.services.follow_up import STATUSES
    from nrtd_nlp.services.links import KINDS
    from nrtd_nlp.services.reviews import DECISIONS, TASKS

    return {*STATUSES, *LINK_STATUSES, *KINDS, *DECISIONS.values(), "pending", *ROLES, *TASKS}


@pytest.mark.parametrize("lang", ["es", "fr", "pt"])
def test_catalogues_cover_every_text_of_the_templates_and_the_script(lang):
    keys = _template_keys()
    assert len(keys) > 80 and "Sign out" in keys  # the scan finds the templates' calls
    script = i18n.js_keys()
    assert "{decision} by {reviewer}" in script and "nothing to undo" in script
    cat = i18n.catalogue(lang)
    missing = sorted(set(keys) - set(cat)) + sorted(set(script) - set(cat)) + sorted(_data_terms() - set(cat))
    assert not missing, f"{lang}.json lacks {missing}"
    for key, text in cat.items():  # a translation keeps the key's placeholders, no more, no fewer
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", key)), key
        assert text.strip(), key
    assert i18n.languages()[lang] in ("Español", "Français", "Português")


def test_a_missing_text_falls_back_to_english():
    assert i18n.translate("es", "Sign out") == "Cerrar sesión"
    assert i18n.translate("es", "A text nobody translated, {n} times", n=3) == "A text nobody translated, 3 times"
    assert i18n.translate("xx", "Sign out") == "Sign out" and i18n.catalogue("../es") == {}
    assert i18n.term("fr", "in_progress") == "en cours" and i18n.term("fr", "brand_new_status") == "brand new status"
    assert i18n.term("en", "in_progress") == "in progress"
    assert i18n.choose(None, None, None, None) == "en"
    assert i18n.from_accept_language("es;q=abc, fr;q=0") is None  # a bad or zero weight is not a preference


def test_session_names_follow_the_page_language(site):
    from nrtd_nlp.services.review_sessions import label, make_key

    keys = [make_key("UPR", "3", "40", None), make_key("CEDAW", None, None, 2023), make_key(None, None, None, 2021),
            make_key("CRC", None, None, None), make_key("UPR", None, "12", None)]
    assert [i18n.session_label("en", k) for k in keys] == [label(k) for k in keys]  # English as before
    assert i18n.session_label("es", keys[0]) == "UPR ciclo 3 período de sesiones 40"
    assert i18n.session_label("fr", keys[2]) == "mécanisme inconnu 2021"
    assert i18n.session_label("pt", keys[3]) == "CRC (sem data)"
    c, engine = site
    login(c, engine)
    page = c.get("/ui/review", params={"session": SESSION, "lang": "es"}).text
    assert f"<h1>{i18n.session_label('es', SESSION)} <small>" in page
    listing = c.get("/ui/", params={"lang": "pt"}).text
    assert i18n.session_label("pt", SESSION) in listing
