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


# A link's explanation (nrtd_nlp/link/explain.py) is English parts joined by " · " over a fixed grammar; the
# stored text and the API keep that English (machine readers rely on it), and only the pages show it translated.
# Each rule: a part's whole text -> its catalogue key; a named group is the key's placeholder. Acronyms, language
# codes and numbers stay as they are; actions, groups and asks go through ``_FILL`` (their words are keys too).
_EXPLAIN_SEP = " · "
_EXPLAIN_RULES = [(re.compile(rx), key) for rx, key in (
    (r"same action: (?P<action>.+)", "same action: {action}"),
    (r"different action: (?P<actions>.+)", "different action: {actions}"),
    (r"same instrument: (?P<instruments>.+)", "same instrument: {instruments}"),
    (r"only in one: (?P<instruments>.+)", "only in one: {instruments}"),
    (r"same treaty family: (?P<families>.+)", "same treaty family: {families}"),
    (r"same group: (?P<groups>.+)", "same group: {groups}"),
    (r"shares (?P<n>\d+) of (?P<m>\d+) asks: (?P<asks>.+)", "shares {n} of {m} asks: {asks}"),
    (r"across languages: (?P<languages>.+)", "across languages: {languages}"),
    (r"similarity (?P<a>\S+)/(?P<b>\S+)", "similarity {a}/{b}"),
    (r"P\(duplicate\)=(?P<p>\S+)", "P(duplicate)={p}"),
    (r"P\(related\)=(?P<p>\S+)", "P(related)={p}"),
    (r"P\(follows_up\)=(?P<p>\S+)", "P(follows_up)={p}"),
    *((re.escape(t), t) for t in ("different numbers or dates", "one is negated", "earlier cycle",
                                  "translation of the same source record", "both texts read together")),
)]
_EXPLAIN_SUFFIX = ", same recommending State"  # "earlier cycle, same recommending State": two keys, one part


@functools.lru_cache(maxsize=1)
def _action_words() -> dict[str, str]:
    """explain.py's action id -> its words ("abolish_death_penalty" -> "abolish the death penalty")."""
    from ...link.explain import _ACTION_WORDS

    return dict(_ACTION_WORDS)


def _word(lang: str, text: str) -> str:
    return catalogue(lang).get(text) or text  # a word nobody translated stays English


def _actions(lang: str, text: str) -> str:
    """One action's words, or two joined by " / " ("legislate / ensure / protect"): an action's own words may
    hold " / " too, so the split is the one that leaves two known actions; failing that, word by word."""
    known = set(_action_words().values())
    if text in known:
        return _word(lang, text)
    bits = text.split(" / ")
    for i in range(1, len(bits)):
        a, b = " / ".join(bits[:i]), " / ".join(bits[i:])
        if a in known and b in known:
            return f"{_word(lang, a)} / {_word(lang, b)}"
    return " / ".join(_word(lang, x) for x in bits)


def _asks(lang: str, text: str) -> str:
    """Asks as explain.py joins them ("ratify CAT, ratify CERD"): an action id and an instrument each; the
    action is told in words, the instrument stays."""
    out = []
    for ask in text.split(", "):
        act, _, obj = ask.partition(" ")
        words = _action_words().get(act)
        out.append(f"{_word(lang, words)} {obj}" if words and obj else ask)
    return ", ".join(out)


_FILL: dict[str, Callable[[str, str], str]] = {
    "action": _actions, "actions": _actions, "asks": _asks,
    "groups": lambda lang, text: ", ".join(_word(lang, g) for g in text.split(", ")),
}


def _explanation_part(lang: str, part: str) -> str:
    if part.endswith(_EXPLAIN_SUFFIX) and part != _EXPLAIN_SUFFIX:
        head = _explanation_part(lang, part[:-len(_EXPLAIN_SUFFIX)])
        return head + _word(lang, _EXPLAIN_SUFFIX)
    if "; " in part:  # "same instrument: CAT; only in one: CERD"
        return "; ".join(_explanation_part(lang, x) for x in part.split("; "))
    cat = catalogue(lang)
    for rx, key in _EXPLAIN_RULES:
        m = rx.fullmatch(part)
        if m and key in cat:  # a key the catalogue lacks keeps the whole part English, not half-translated
            return translate(lang, key, **{k: _FILL[k](lang, v) if k in _FILL else v
                                           for k, v in m.groupdict().items()})
    return part


def explanation(lang: str, text: Optional[str]) -> str:
    """A link's English explanation in ``lang``, part by part; a part it does not recognise stays English."""
    if not text or lang == DEFAULT:
        return text or ""
    return _EXPLAIN_SEP.join(_explanation_part(lang, p) for p in text.split(_EXPLAIN_SEP))


def session_label(lang: str, key: str) -> str:
    """A review session's name (``review_sessions.label``: "UPR cycle 3 session 40", "CEDAW 2023") in ``lang``;
    the mechanism's acronym stays as it is."""
    from ...services.review_sessions import label

    return label(key, functools.partial(translate, lang))


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
    """What every template gets: the language, ``_`` and ``term`` bound to it, label names, link explanations,
    session names, the script's messages and the language switch's links (code -> (own name, href))."""
    _: Callable[..., str] = functools.partial(translate, lang)
    return {"lang": lang, "_": _, "term": functools.partial(term, lang),
            "lname": lambda task, value: label_name(task, value, lang),
            "explanation": functools.partial(explanation, lang),
            "session_label": functools.partial(session_label, lang),
            "i18n_js": js_messages(lang),
            "languages": [(code, name, switch[code]) for code, name in languages().items()]}
