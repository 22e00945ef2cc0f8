"""Text normalisation: whitespace, paragraph numbers, the recommending-State suffix."""

from __future__ import annotations

import re
import unicodedata

_WS = re.compile(r"[\s\u00a0\u2000-\u200b\u202f\u205f\u3000\ufeff]+")
# "132.90 ", "84.5..1 ", "148.5..2/", "133.29. " (UPR paragraph numbers); Arabic documents write
# "133-29 - " or "١٣٢-١٤١ " (\d matches Arabic-Indic digits too)
_PARA_DOTTED = re.compile(r"^\s*(\d{1,3}(?:\s?(?:\.{1,2}|[-–])\s?\d{1,3}){1,3})\s*[./:\-–]?\s*(?=\D)")
# "8.The Committee", "16 - توصي", "16. " (treaty-body paragraph numbers) — only before a non-digit
_PARA_SINGLE = re.compile(r"^\s*(\d{1,3})\s?[.\-–]\s?(?=[^\d\s.,])")
# the last parenthetical at the very end, allowing one level of nesting: "(Bolivia (Plurinational State of));"
_TRAILING_PAREN = re.compile(r"\s*[(（]\s*((?:[^()（）]|[(（][^()（）]*[)）])+?)\s*[)）]\s*[;；؛.。]?\s*$")
_ACRONYM = re.compile(r"^[A-Z0-9][A-Z0-9\-/ .]{0,15}$")
# an article or paragraph reference, "(art. 5)", "(para 12)"; not a State whose name starts alike ("(Paraguay)")
_REFERENCE = re.compile(r"^(arts?\.|articles?\b|paras?\b\.?|§|\d)", re.I)
_TRAILING_PUNCT = re.compile(r"\s*[;；؛]\s*$")


# MS Word paste residue found in real UHRI cells: "Normal 0 false false false EN-GB … /* Style
# Definitions */ table.MsoNormalTable {mso-style-name:…}" before the actual text.
_WORD_CSS = re.compile(r"^\s*Normal\s+\d+\s+(?:(?:false|true)\s+)+.*?/\*\s*Style Definitions\s*\*/\s*[^{]*\{[^}]*\}\s*",
                       re.S)


def clean_whitespace(text: str) -> str:
    text = _WORD_CSS.sub("", text)
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc" or ch in "\n\t")
    return _WS.sub(" ", text).strip()


# "Recommendation No. 93, para. 95:93. Pass …" (a few UHRI English UPR cells): paragraph 95, item 93
_PARA_LABELLED = re.compile(r"^\s*Recommendation\s+No\.?\s*(\d{1,3})\s*,\s*para(?:graph)?\.?\s*(\d{1,3})\s*:\s*"
                            r"(?:\d{1,3}\s*\.\s*)?(?=\D)", re.I)


def split_paragraph_number(text: str) -> tuple[str | None, str]:
    """``"132.90 Ratify …"`` -> ``("132.90", "Ratify …")``."""
    m = _PARA_LABELLED.match(text)
    if m:
        return f"{m.group(2)}.{m.group(1)}", text[m.end():].lstrip()
    m = _PARA_DOTTED.match(text)
    if m:
        para = re.sub(r"\s", "", m.group(1))
        para = re.sub(r"\.\.|[-–]", ".", para)
        para = "".join(str(unicodedata.digit(c)) if c.isdigit() else c for c in para)
        return para, text[m.end():].lstrip()
    m = _PARA_SINGLE.match(text)
    if m:
        return m.group(1), text[m.end():].lstrip()
    return None, text


def looks_like_state_list(inner: str) -> bool:
    """A trailing parenthetical that names States, not an acronym or an article reference."""
    inner = inner.strip()
    if not inner or len(inner) > 300:
        return False
    if _ACRONYM.match(inner) or _REFERENCE.match(inner):
        return False
    if re.search(r"\d{2,}", inner):  # years, document symbols
        return False
    first = inner[0]
    if re.match(r"the\s+[A-Z]", inner) and not re.search(r"\b(?:Convention|Protocol|Covenant|Committee)\b", inner):
        return True  # "( the Republic of Moldova)" (one UHRI English cell)
    if first.isalpha() and first.isascii() and not first.isupper():
        return False  # "(in terms of exclusion)": a lowercase Latin start is prose, not a State
    return any(ch.isalpha() for ch in inner)


def split_state_suffix(text: str, expected: str | None = None) -> tuple[str | None, str]:
    """``"… (New Zealand);"`` -> ``("New Zealand", "…")``; untouched when it does not look like States.

    ``expected`` (the file's recommending-State column, when there is one) must share a word
    with the parenthetical, so "(CRPD)" or "(in terms of exclusion)" stay in the text.
    """
    m = _TRAILING_PAREN.search(text)
    if not m or m.start() == 0:
        return None, text
    inner = m.group(1)
    if not looks_like_state_list(inner):
        return None, text
    if expected:
        words = {w.lower() for w in re.findall(r"\w{3,}", expected)}
        if not words & {w.lower() for w in re.findall(r"\w{3,}", inner)}:
            return None, text
    return clean_whitespace(inner), text[: m.start()].rstrip()


def normalise_recommendation(text: str, *, upr: bool, expected_state: str | None = None
                             ) -> tuple[str, str | None, str | None]:
    """Return (text, paragraph, recommending_state). The State suffix is only split for UPR texts."""
    text = clean_whitespace(text)
    para, text = split_paragraph_number(text)
    state = None
    if upr:
        state, text = split_state_suffix(text, expected_state)
    text = _TRAILING_PUNCT.sub("", text).strip()
    return text, para, state


# "A.General principles and obligations (arts. 1–4)8.The Committee…", "Non-discrimination16. While…"
_HEADING = re.compile(r"^(.{3,120}?)(?<=[^\d\s])\s?(\d{1,3})\s?[.\-–]\s?(?=[^\d\s.,;:)])")
_NOT_HEADING_END = re.compile(r"(?:\barts?\.?|\barticles?|\bparas?\.?|\bparagraphs?|\bstatute|\bno\.?)$", re.I)


def split_heading(text: str) -> tuple[str | None, str | None, str]:
    """Treaty-body paragraphs often start with the section heading run into the paragraph number.

    Returns (heading, paragraph, rest); (None, None, text) when there is no such prefix.
    """
    m = _HEADING.match(text)
    if not m:
        return None, None, text
    heading = m.group(1).strip()
    if _NOT_HEADING_END.search(heading) or heading.count(". ") > 1:
        return None, None, text
    return heading, m.group(2), text[m.end():].lstrip()
