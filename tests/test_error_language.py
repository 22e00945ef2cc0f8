"""A failed page action's message in the page's language (``nrtd_nlp.web.i18n.errors``); the API keeps English."""

import re
from importlib.resources import files

import pytest

from nrtd_nlp.errors import Conflict, InputError, NotFound, NrtdError
from nrtd_nlp.web import i18n
from nrtd_nlp.web.i18n.errors import error_message, keys, rules
from tests.review_data import login
from tests.test_pages import site  # noqa: F401  (the review site over the seeded demo store)

SESSION = "UPR|9|99|"
JSON = {"Accept": "application/json"}

# One English message (or more) of every form a rule covers, written as the services' f-strings build them.
SAMPLES = [
    "this value is undecided now (the decision you expected was reverted); you expected review 12: reload and "
    "decide again",
    "sdg_goal 16 was accepted by rita (review 7) at 2026-11-24T10:00:00; you expected no decision: reload and "
    "decide again",
    "upr_issue Women's rights was rejected by Ana María (review 8) at 2026-11-24T10:00:00; you expected review 3: "
    "reload and decide again",
    "unknown task None; choose one of sdg_goal, sdg_target, upr_issue",
    "no active institution 'nhri-xx'; add it first (nrtd institutions load, POST /v1/institutions)",
    "\"it's\" is not a sdg_goal label (e.g. 1, 2, 3, 4, 5)",
    "unknown decision 'maybe'; choose one of accept, reject, add",
    "unknown decision 'x'; choose one of confirm, unlink",
    "suggestion 999 does not exist",
    "suggestion 4 is sdg_goal=16 of recommendation 2, not rec_id 3",
    "nothing was suggested for sdg_goal=5; use decision=add",
    "recommendation 77 does not exist",
    "review 5 does not exist",
    "review 5 was already reverted by rita",
    "review 5 is no longer the current decision: bob rejected it later (review 9)",
    "review 5 is no longer the current decision (review 9 is)",
    "reviews [3, 4] do not exist",
    "rec_ids is empty: name what to decide, or leave rec_ids out",
    "cluster c-nope does not exist",
    "this needs the reviewer role; you are reader",
    "unknown follow-up status 'done'; choose one of open, in_progress, partially_implemented, implemented, "
    "not_implemented",
    "group G000042 does not exist",
    "group G000042 has no members left",
    "rec_ids holds 1 to 5000 ids",
    "no recommendation 5, 6, 7",
    "no recommendation 5",
    "recommendation 3 is in_progress now, not open: someone changed it; reload and decide again",
    "expected_status is one of suggested, confirmed, unlinked",
    "link 11 does not exist",
    "link 11 now joins 1 and 2, not 1 and 3 (links were recomputed): reload and decide again",
    "link 11 is a translation named by the source, not a machine suggestion",
    "link 11 is confirmed, not suggested: someone decided first",
    "not members of cluster c1a2b3: [8, 9]",
    "not members of G000042: [8]",
    "leave at least one member in G000042",
    "12 is the canonical member a person chose for G000042: choose another one first",
    "recommendation 12 is not a member of G000042",
    "unknown action 'dance'; choose one of confirm, rename, merge, split, move",
    "no cluster 'c-nope'",
    "cluster c1 is merged, not active",
    "cluster c1 is split, not active",
    "cluster c1 is retired, not active",
    "cluster c1 is frozen, not active",
    "cluster c1 changed since you saw it (4 members now): reload it and confirm again",
    "recommendation 4 is already in cluster c-torture",
    "recommendation 4 is no longer in cluster (none) but in c-a, c-b; reload it and move again",
    "recommendation 4 is no longer in cluster c-other but in no cluster; reload it and move again",
    "recommendation 4 is no longer in cluster c-other but in c-torture; reload it and move again",
    "the year in a session key is a number, not 'abc'",
    "no recommendations in session 'UPR|1|2|'",
]


def _rule_of(message: str) -> str:
    return next(key for rx, key, _ in rules() if rx.fullmatch(message))


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


@pytest.mark.parametrize("lang", ["es", "fr", "pt"])
def test_every_rule_has_its_key_with_the_same_placeholders(lang):
    cat = i18n.catalogue(lang)
    assert len(keys()) > 70 and len(set(keys())) == len(keys())
    for key in keys():
        assert key in cat, f"{lang}.json lacks {key!r}"
        assert _placeholders(cat[key]) == _placeholders(key), key
        assert cat[key].strip() and cat[key] != key, key
    for rx, key, _ in rules():  # a rule's groups are exactly its key's placeholders
        assert set(rx.groupindex) == _placeholders(key), key


def test_samples_cover_every_built_rule_and_keep_ids_and_values():
    built = {key for rx, key, _ in rules() if rx.groupindex}
    covered = {_rule_of(m) for m in SAMPLES}
    assert built <= covered, sorted(built - covered)
    for message in SAMPLES:
        for lang in ("es", "fr", "pt"):
            shown = error_message(lang, message)
            assert shown != message, (lang, message)
            for kept in re.findall(r"\d+|'[^']*'|G\d+|c-\w+", message):  # ids, numbers, quoted values
                assert kept in shown, (lang, message, kept)


SPANISH = {
    "sdg_goal 16 was accepted by rita (review 7) at 2026-11-24T10:00:00; you expected no decision: reload and "
    "decide again": "sdg_goal 16 ya tiene una decisión de rita (aceptada, revisión 7, 2026-11-24T10:00:00), pero "
                    "usted no esperaba ninguna: vuelva a cargar la página y decida de nuevo",
    "review 5 is no longer the current decision: bob rejected it later (review 9)":
        "la revisión 5 ya no es la decisión vigente: después bob tomó otra decisión (rechazada, revisión 9)",
    "recommendation 3 is in_progress now, not open: someone changed it; reload and decide again":
        "la recomendación 3 ahora está en curso, no abierta: alguien la cambió; vuelva a cargar la página y decida "
        "de nuevo",
    "this needs the reviewer role; you are reader": "esta acción requiere el rol de revisor; su rol es lector",
    "\"it's\" is not a sdg_goal label (e.g. 1, 2, 3, 4, 5)":
        "\"it's\" no es una etiqueta de sdg_goal (p. ej., 1, 2, 3, 4, 5)",
    "rec_ids is empty: name what to decide, or leave rec_ids out":
        "rec_ids está vacío: indique qué decidir u omita rec_ids",
    "recommendation 4 is no longer in cluster c-other but in no cluster; reload it and move again":
        "la recomendación 4 ya no está en el tema c-other ni en ningún otro; vuelva a cargar la página y muévala de "
        "nuevo",
    "cluster c1 is frozen, not active": "el tema c1 no está activo (estado: frozen)",
    "choose a decision": "elija una decisión",
}


@pytest.mark.parametrize("english", list(SPANISH))
def test_spanish_forms(english):
    assert error_message("es", english) == SPANISH[english]


def test_french_and_portuguese():
    assert error_message("fr", "link 11 is confirmed, not suggested: someone decided first") == (
        "le lien 11 est confirmé, et non suggéré : quelqu’un a décidé avant vous")
    assert error_message("fr", "no recommendation 5, 6") == "recommandation introuvable : 5, 6"
    assert error_message("pt", "group G000042 has no members left") == "o grupo G000042 já não tem membros"


def test_english_unknown_and_odd_input_stay_as_they_are():
    for message in SAMPLES:
        assert error_message("en", message) == message
        assert error_message("xx", message) == message and error_message(None, message) == message
    odd = "a message added to a service later: 42"
    assert error_message("es", odd) == odd and error_message("es", NrtdError(odd)) == odd
    assert error_message("es", "") == "" and error_message("es", None) == ""
    assert error_message("es", ValueError("boom")) == "boom"  # not ours: its text, never an exception


def _seeded(engine, demo_csv):
    from tests.review_data import seed

    return seed(engine, demo_csv)


def test_real_service_errors_in_spanish(engine, demo_csv):
    from nrtd_nlp.services import reviews
    from nrtd_nlp.services.follow_up import set_status
    from nrtd_nlp.services.review_sessions import queue

    rec = _seeded(engine, demo_csv)[0]
    with engine.db.session() as s:
        from nrtd_nlp.store.models import Suggestion

        sug = s.query(Suggestion).filter_by(rec_id=rec, task="sdg_goal", value="16").one().id
    first = reviews.decide(engine, decision="accept", reviewer="rita", suggestion_id=sug)
    with pytest.raises(Conflict) as twice:
        reviews.decide(engine, decision="reject", reviewer="ana", suggestion_id=sug)
    shown = error_message("es", twice.value)
    assert shown == (f"sdg_goal 16 ya tiene una decisión de rita (aceptada, revisión {first['id']}, "
                     f"{first['at'][:19]}), pero usted no esperaba ninguna: vuelva a cargar la página y decida "
                     "de nuevo")
    reviews.revert(engine, first["id"], "rita")
    with pytest.raises(Conflict) as again:
        reviews.revert(engine, first["id"], "ana")
    assert error_message("es", again.value) == f"rita ya deshizo la revisión {first['id']}"
    with pytest.raises(NotFound) as missing:
        reviews.decide(engine, decision="accept", reviewer="rita", suggestion_id=987654)
    assert error_message("fr", missing.value) == "la suggestion 987654 n’existe pas"
    with pytest.raises(Conflict) as stale:
        set_status(engine, "implemented", "rita", rec_ids=[rec], expected="in_progress")
    assert error_message("es", stale.value).startswith(f"la recomendación {rec} ahora está abierta, no en curso")
    with pytest.raises(NotFound) as empty:
        queue(engine, "UPR|1|2|")
    assert error_message("pt", empty.value) == "não há recomendações na sessão 'UPR|1|2|'"
    with pytest.raises(InputError) as bad_task:
        reviews.decide(engine, decision="add", reviewer="rita", rec_id=rec, task="colour", value="red")
    assert error_message("es", bad_task.value).startswith("clasificación desconocida 'colour'; elija una de estas: ")


def test_a_failing_page_action_in_spanish(site):
    c, engine = site
    csrf = login(c, engine)
    h = {"X-CSRF-Token": csrf}
    page = c.post("/ui/decide?lang=es", data={"act": "accept 987654"}, headers=h)  # a plain form post
    assert page.status_code == 404 and '<html lang="es">' in page.text
    assert "la sugerencia 987654 no existe" in page.text and "does not exist" not in page.text
    r = c.post("/ui/decide", data={"act": "accept 987654"}, headers={**h, **JSON})  # the cookie keeps Spanish
    d = r.json()["detail"]
    assert r.status_code == 404 and d["code"] == "not_found" and d["field"] == "suggestion_id"
    assert d["message"] == "suggestion 987654 does not exist" and d["shown"] == "la sugerencia 987654 no existe"
    inline = c.post("/ui/decide", data={"act": "accept"}, headers={**h, **JSON})  # an error the route raises
    assert inline.json()["detail"]["shown"].startswith("act tiene la forma")
    en = c.post("/ui/decide?lang=en", data={"act": "accept 987654"}, headers={**h, **JSON}).json()["detail"]
    assert en["shown"] == en["message"] == "suggestion 987654 does not exist"


def test_the_script_shows_the_translated_text():
    src = (files("nrtd_nlp") / "web" / "static" / "review.js").read_text(encoding="utf-8")
    assert "d.shown || d.message" in src


def test_sign_in_errors_on_the_pages_carry_the_translation(site):
    """Errors raised before a page route runs (sign in) go through the app's handler: /ui/ answers add ``shown``,
    the API's keep only the English message."""
    c, _ = site
    r = c.post("/ui/decide?lang=fr", data={"act": "accept 1"}, headers=JSON)
    d = r.json()["detail"]
    assert r.status_code == 401 and d["message"] == "sign in first" and d["shown"] != d["message"]
    assert d["shown"] == error_message("fr", "sign in first")
