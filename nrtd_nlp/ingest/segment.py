"""Split compound treaty-body paragraphs with lettered sub-items into child recommendations.

"The Committee recommends that the State party: (a) Adopt …; (b) Ensure …" gives two children,
"Adopt …" and "Ensure …", linked to the parent. Rules:
  * the first marker "(a)" / "a)" (or أ / а / 一) must follow a colon: references such as
    "article 2 (a)" are never split;
  * markers must run in order (a, b, c …); the alphabet may switch inside one paragraph
    (Russian texts mix Cyrillic "а)" and Latin "b)");
  * text after the last item that starts a new sentence about the body itself ("The Committee
    also …") stays with the parent only — spaCy's sentencizer finds the sentence boundaries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ALPHABETS = [
    "abcdefghijklmnopqrstuvwxyz",
    "абвгдежзиклмнопрст",
    ["أ", "ب", "ج", "د", "هـ", "و", "ز", "ح", "ط", "ي", "ك", "ل", "م", "ن", "س", "ع", "ف", "ص", "ق", "ر"],
    "一二三四五六七八九十",
]
_ORD: dict[str, int] = {}
for _alpha in _ALPHABETS:
    for _i, _ch in enumerate(_alpha):
        _ORD.setdefault(_ch, _i)
_letters = sorted(_ORD, key=len, reverse=True)
_ALT = "|".join(map(re.escape, _letters))
_MARKER = re.compile(
    r"(?:(?:(?<=^)|(?<=[\s:;：；؛,.،。]))[(（]?(" + _ALT + r")\s?[)）]"  # "(a)" or "a)" after a boundary
    r"|(?<=[\u3400-\u9fff])[(（](" + _ALT + r")[)）])\s*"  # "以及(b)": Chinese runs words together
)
_COLON = re.compile(r"[:：]\s*$")
_TAIL_CONNECTOR = re.compile(r"[\s;；؛,،]*(?:\b(?:and|or|et|ou|y|e|o|и|или)|و|以及|和)?[\s;；؛,،]*$")
_BODY_SENTENCE = re.compile(
    r"^(?:The Committee|It |Le Comité|Il |El Comité|Comité|Комитет|Он |اللجنة|وتوصي اللجنة|وتشجع اللجنة|"
    r"وتطلب اللجنة|委员会|The State party should also|Moreover|Furthermore)", re.I
)


@dataclass
class Segment:
    letter: str
    text: str


class Segmenter:
    """``split(text, language) -> (lead_in, [Segment…], tail)``; no segments when it is not compound."""

    def __init__(self, min_items: int = 2, max_item_chars: int = 5000):
        self.min_items = min_items
        self.max_item_chars = max_item_chars
        self._nlp: dict[str, object] = {}

    def _sentencizer(self, language: str):
        key = "zh" if language == "zh" else "xx"
        if key not in self._nlp:
            import spacy

            nlp = spacy.blank(key)
            nlp.add_pipe("sentencizer")
            self._nlp[key] = nlp
        return self._nlp[key]

    def _chain(self, text: str) -> list[re.Match]:
        marks = list(_MARKER.finditer(text))
        best: list[re.Match] = []
        for i, m in enumerate(marks):
            if _ORD[m.group(1) or m.group(2)] != 0 or not _COLON.search(text[: m.start()]):
                continue
            chain, want = [m], 1
            for n in marks[i + 1 :]:
                if _ORD[n.group(1) or n.group(2)] == want:
                    chain.append(n)
                    want += 1
            if len(chain) > len(best):
                best = chain
        return best

    def split(self, text: str, language: str | None = None) -> tuple[str, list[Segment], str]:
        chain = self._chain(text)
        if len(chain) < self.min_items:
            return text, [], ""
        lead_in = text[: chain[0].start()].strip()
        items: list[Segment] = []
        for j, m in enumerate(chain):
            end = chain[j + 1].start() if j + 1 < len(chain) else len(text)
            items.append(Segment(m.group(1) or m.group(2), text[m.end() : end]))
        tail = ""
        last = items[-1].text
        sents = [s.text for s in self._sentencizer(language or "xx")(last).sents]
        for k in range(1, len(sents)):
            if _BODY_SENTENCE.match(sents[k].strip()):
                tail = " ".join(s.strip() for s in sents[k:])
                items[-1].text = " ".join(s.strip() for s in sents[:k])
                break
        for it in items:
            it.text = _TAIL_CONNECTOR.sub("", it.text.strip()).strip()
            if it.text and it.text[0].islower() and it.text[0].isascii():
                it.text = it.text[0].upper() + it.text[1:]
        if any(not it.text or len(it.text) > self.max_item_chars for it in items):
            return text, [], ""
        return lead_in, items, tail
