"""The review pages in the reader's language: message catalogues as data, and choosing the language.

English is the key: a template writes ``_("Sessions")`` and ``es.json`` / ``fr.json`` map that English text to
the translation. A key missing from a catalogue shows the English text, never an error, so a half-finished
catalogue still gives a working page. Adding ``<code>.json`` here adds a language (its ``@name`` is what the
language switch shows). Placeholders are ``{name}``, filled after translation, so word order can change.

Values that come from the data (a follow-up status, a link kind, a task, a decision) use their id as the key:
``term("in_progress")`` is "in progress" in English and the catalogue's text elsewhere.
"""

from __future__ import annotations

import functools
import json
import re
from importlib.resources import files
from typing import Callable, Optional

DEFAULT = "en"
COOKIE = "nrtd_lang"
_HERE = files("nrtd_nlp") / "web" / "i18n"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_JS_KEY = re.compile(r"""\btr\("((?:[^"\\]|\\.)*)\"""")
JS_TERMS = ("accepted", "rejected", "added", "pending")  # decisions the script shows (and tasks), by value


@functools.lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    """``lang``'s messages (English text -> translation); empty for English and for an unknown language."""
    if lang == DEFAULT or not re.fullmatch(r"[a-z]{2,3}", lang or ""):
        return {}
    f = _HERE / f"{lang}.json"
    return json.loads(f.read_text(encoding="utf-8")) if f.is_file() else {}


@functools.lru_cache(maxsize=1)
def languages() -> dict[str, str]:
    """Code -> the language's own name, for every catalogue shipped (English first)."""
    out = {DEFAULT: "English"}
    for f in sorted(_HERE.iterdir(), key=lambda p: p.name):
        if f.name.endswith(".json"):
            code = f.name[:-5]
            out[code] = catalogue(code).get("@name", code)
    return out


def translate(lang: str, key: str, **values) -> str:
    """The text for ``key`` in ``lang`` (the English key when missing), with ``{name}`` placeholders filled."""
    text = catalogue(lang).get(key) or key
    if values:
        text = _PLACEHOLDER.sub(lambda m: str(values[m[1]]) if m[1] in values else m[0], text)
    return text


def term(lang: str, value: Optional[str]) -> str:
    """A data value shown to a person: its translation, else the id with underscores as spaces."""
    if value is None:
        return ""
    return catalogue(lang).get(value) or value.replace("_", " ")


def supported(lang: Optional[str]) -> Optional[str]:
    """``lang`` (case-insensitive, region dropped: es-PY -> es) when a catalogue exists for it, else None."""
    if not lang or not isinstance(lang, str):
        return None
    code = lang.strip().split("-")[0].split("_")[0].lower()
    return code if code in languages() else None


def _weight(v: str) -> float:
    """An ``Accept-Language`` q-value; one that is not a number between 0 and 1 counts as 0 (not wanted)."""
    try:
        q = float(v)
    except ValueError:
        return 0.0
    return q if 0.0 <= q <= 1.0 else 0.0


def from_accept_language(header: Optional[str]) -> Optional[str]:
    """The supported language the browser prefers most (``Accept-Language``, q-values honoured), or None."""
    best, best_q = None, 0.0
    for part in (header or "")[:1000].split(","):
        tag, _, params = part.strip().partition(";")
        m = re.search(r"q\s*=\s*([^;\s]*)", params)
        q = _weight(m[1]) if m else 1.0
        code = supported(tag)
        if code and q > best_q:
            best, best_q = code, q
    return best


def choose(query: Optional[str], cookie: Optional[str], accept: Optional[str], default: Optional[str]) -> str:
    """The page's language: ``?lang=``, else the cookie, else ``Accept-Language``, else the setting, else en.
    An unknown value at any step is passed over, not an error."""
    return (supported(query) or supported(cookie) or from_accept_language(accept) or supported(default)
            or DEFAULT)


@functools.lru_cache(maxsize=1)
def js_keys() -> tuple[str, ...]:
    """The messages review.js asks for (its ``tr("...")`` calls) and the decisions and tasks it shows."""
    from ...services.reviews import TASKS

    src = (files("nrtd_nlp") / "web" / "static" / "review.js").read_text(encoding="utf-8")
    return tuple(dict.fromkeys([*_JS_KEY.findall(src), *JS_TERMS, *TASKS]))


def js_messages(lang: str) -> dict[str, str]:
    """The part of ``lang``'s catalogue the script needs (placeholders left for the script to fill)."""
    cat = catalogue(lang)
    return {k: cat[k] for k in js_keys() if k in cat}


def label_name(task: str, value: str, lang: str) -> Optional[str]:
    """A shipped label's name in ``lang``, or None (English, an unknown task or id, no name in that language):
    the caller then shows the English name it already has, as ``classify.labels.label_name`` gives it."""
    if lang == DEFAULT or not task or not value:
        return None
    from ...classify.labels import label_name as shipped_name

    return shipped_name(task, value, lang)


def page_context(lang: str, switch: dict[str, str]) -> dict:
    """What every template gets: the language, ``_`` and ``term`` bound to it, label names, the script's
    messages and the language switch's links (code -> (own name, href))."""
    _: Callable[..., str] = functools.partial(translate, lang)
    return {"lang": lang, "_": _, "term": functools.partial(term, lang),
            "lname": lambda task, value: label_name(task, value, lang),
            "i18n_js": js_messages(lang),
            "languages": [(code, name, switch[code]) for code, name in languages().items()]}
