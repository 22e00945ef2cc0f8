"""Language-neutral cues: what a recommendation asks, read in any supported language as the same tokens.

The UPR Info action category is set by the verb a recommendation opens with ("Continue …" 2, "Consider …"
3, "Take measures …" 4, "Ratify …" 5). The TF-IDF heads read that verb in English only, so a Spanish,
French, Arabic or Russian text was left to the embedding head (0.60-0.66 against UPR Info's labels). A cue
is a concept with a pattern per language (``corpora/cues/action_cues.csv``: ``continue`` is "continu…" in
English, "seguir" in Spanish, "مواصلة" in Arabic, "продолж…" in Russian, "继续" in Chinese), and a text
becomes the cue tokens it holds:

- ``A_<cue>``: anywhere in the text;
- ``L_<cue>``: in the opening (the first five words; the first eight characters of Chinese);
- ``F_<cue>``, ``S_<cue>``: the first and the second cue found, and ``FS_<first>_<second>``.

A head trained on English texts' cue tokens reads a Spanish text's the same way. A country edits or adds
rows of the file (a cue, then a pattern per language: a regular expression, ``|`` between alternatives,
matched at a word's start; Arabic and Chinese anywhere, as their words take prefixes or are not spaced).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

LANGS = ("en", "es", "fr", "pt", "ar", "ru", "zh")
_UNSPACED = {"ar", "zh"}  # patterns matched anywhere, not at a word's start
_AR_MARKS = re.compile(r"[\u064B-\u065F\u0670\u0640]")  # harakat, superscript alef, tatweel
_AR_ALEF = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ى": "ي"})
_WORD_START = re.compile(r"[^\W\d_]+", re.UNICODE)
LEAD_WORDS = 5
LEAD_CHARS_ZH = 8


def fold(text: str, lang: str) -> str:
    """The form patterns and texts are compared in: lower case, NFC; Arabic without marks and with one alef;
    Russian ё as е."""
    t = unicodedata.normalize("NFC", text).lower()
    if lang == "ar":
        t = _AR_MARKS.sub("", t).translate(_AR_ALEF)
    elif lang == "ru":
        t = t.replace("ё", "е")
    return t


def default_path() -> Path:
    return Path(str(files("nrtd_nlp") / "corpora" / "cues" / "action_cues.csv"))


class CueSet:
    """The compiled cues of one file: ``tokens(text, lang)`` gives a text's cue tokens as one string."""

    def __init__(self, rows: list[dict[str, str]], source: str = ""):
        self.source = source
        self.rows = [{k: (row.get(k) or "") for k in ("cue", *LANGS)} for row in rows]
        self.names: list[str] = []
        self._rx: dict[str, list[tuple[str, re.Pattern]]] = {lang: [] for lang in LANGS}
        for i, row in enumerate(rows, start=2):
            name = (row.get("cue") or "").strip()
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(f"{source}:{i}: cue name {name!r} must be lower-case letters, digits or _")
            self.names.append(name)
            for lang in LANGS:
                pat = (row.get(lang) or "").strip()
                if not pat:
                    continue
                body = fold(pat, lang)
                lead = "" if lang in _UNSPACED else r"(?<![^\W\d_])"
                try:
                    self._rx[lang].append((name, re.compile(lead + "(?:" + body + ")", re.UNICODE)))
                except re.error as e:
                    raise ValueError(f"{source}:{i}: cue {name!r}, {lang} pattern: {e}") from None

    @classmethod
    def load(cls, path: Path | None = None) -> "CueSet":
        path = Path(path) if path else default_path()
        with path.open(encoding="utf-8", newline="") as f:
            return cls(list(csv.DictReader(f)), source=path.name)

    def _code(self, lang: str | None) -> str:
        """The language whose patterns read a text: its own, or English's for a language without any."""
        code = (lang or "").split("-")[0].lower()
        return code if self._rx.get(code) else "en"

    def hits(self, text: str, lang: str | None) -> list[tuple[int, str]]:
        """(position, cue) of each cue's first match, in text order; of two at one place, the longer match
        first (Russian "принять меры" is ``take`` before ``adopt``)."""
        code = self._code(lang)
        return self._hits(fold(text, code), code)

    def _hits(self, t: str, code: str) -> list[tuple[int, str]]:  # ``t`` folded
        found = []
        for name, rx in self._rx[code]:
            m = rx.search(t)
            if m:
                found.append((m.start(), m.start() - m.end(), name))
        return [(p, name) for p, _, name in sorted(found)]

    @staticmethod
    def _lead_end(t: str, code: str) -> int:
        """Where the opening of the folded text ``t`` ends."""
        if code == "zh":
            letters = [i for i, ch in enumerate(t) if ch.isalnum()]
            return letters[LEAD_CHARS_ZH - 1] + 1 if len(letters) >= LEAD_CHARS_ZH else len(t)
        starts = [m.start() for m in _WORD_START.finditer(t)]
        return starts[LEAD_WORDS] if len(starts) > LEAD_WORDS else len(t)

    def tokens(self, text: str, lang: str | None) -> str:
        code = self._code(lang)
        t = fold(text, code)  # once for both the hits and the opening
        hits = self._hits(t, code)
        if not hits:
            return "NONE"
        end = self._lead_end(t, code)
        toks = [f"A_{c}" for _, c in hits] + [f"L_{c}" for p, c in hits if p < end]
        toks.append(f"F_{hits[0][1]}")
        if len(hits) > 1:
            toks += [f"S_{hits[1][1]}", f"FS_{hits[0][1]}_{hits[1][1]}"]
        return " ".join(toks)


def cue_file(name: str, home: Path | None = None) -> Path:
    """The cue file ``name``: the country's ``$NRTD_HOME/cues/<name>`` when present, else the shipped one."""
    from ..errors import InputError

    if not re.fullmatch(r"[\w.-]+\.csv", name or ""):
        raise InputError(f"bad cue file name {name!r}", field="cues")
    local = Path(home) / "cues" / name if home else None
    if local is not None and local.is_file():
        return local
    shipped = default_path().with_name(name)
    if not shipped.is_file():
        raise InputError(f"no cue file {name!r}", field="cues")
    return shipped


def load_cues(name: str = "action_cues.csv", home: Path | None = None) -> CueSet:
    """The cues of ``name`` (``cue_file``); a bad pattern is an InputError naming its row and language."""
    from ..errors import InputError

    path = cue_file(name, home)
    try:
        return _load(str(path), path.stat().st_mtime_ns)
    except ValueError as e:
        raise InputError(str(e), field="cues") from None


@lru_cache(maxsize=8)
def _load(path: str, _mtime: int) -> CueSet:
    return CueSet.load(Path(path))
