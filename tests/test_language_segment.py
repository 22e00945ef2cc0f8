import pytest

from nrtd_nlp.ingest.language import LanguageDetector
from nrtd_nlp.ingest.segment import Segmenter

from .conftest import shared_file


@pytest.fixture(scope="module")
def det():
    return LanguageDetector()


@pytest.mark.parametrize("text,lang", [
    ("Ratify OP-CAT.", "en"), ("Protect journalists", "en"), ("Abolish the death penalty.", "en"),
    ("Ratifier la CEDAW.", "fr"), ("Signer la Convention", "fr"), ("Abolir la pena de muerte", "es"),
    ("Ratificar o Estatuto de Roma.", "pt"), ("Abolir a pena de morte", "pt"), ("批准", "zh"),
    ("禁止酷刑", "zh"), ("采取措施防止和消除贩运人口行为", "zh"), ("Ратифицировать конвенцию", "ru"),
    ("إلغاء عقوبة الإعدام", "ar"),
])
def test_short_texts(det, text, lang):
    assert det.detect(text)[0] == lang


def test_repeatable_and_empty(det):
    t = "Garantizar el registro universal de los nacimientos"
    assert {det.detect(t) for _ in range(5)} == {det.detect(t)}
    assert det.detect("123 456")[0] == "und"


def test_uhri_six_languages(det):
    from nrtd_nlp.ingest.readers import read_file

    _, recs = read_file(shared_file("uhri-multilingual/uhri_multilingual_dev.csv"))
    recs = recs[:600]
    ok = sum(det.detect(r.text)[0] == r.language for r in recs)
    assert ok / len(recs) >= 0.98


def test_segment_english_letters():
    lead, items, tail = Segmenter().split(
        "16. The Committee recommends that the State party: (a) fully investigate all attacks on persons with "
        "albinism; and (b) conduct public education campaigns on albinism. The Committee also encourages the "
        "State party to consider the report.")
    assert lead.endswith("State party:")
    assert [i.letter for i in items] == ["a", "b"]
    assert items[0].text == "Fully investigate all attacks on persons with albinism"
    assert items[1].text == "Conduct public education campaigns on albinism."
    assert tail.startswith("The Committee also encourages")


def test_segment_other_scripts():
    s = Segmenter()
    ru = "Комитет обеспокоен:а)отсутствием правовой базы;b)сообщениями о репрессиях."
    assert len(s.split(ru, "ru")[1]) == 2  # Cyrillic а then Latin b, as in real UN Russian texts
    ar = "وتشعر اللجنة بالقلق إزاء ما يلي:(أ) عدم وجود إطار قانوني؛(ب) تقارير عن أعمال انتقامية."
    assert [i.letter for i in s.split(ar, "ar")[1]] == ["أ", "ب"]
    zh = "建议缔约国：(a)充分调查所有案件；以及(b)开展公众教育运动。"
    assert len(s.split(zh, "zh")[1]) == 2


def test_segment_leaves_references_alone():
    s = Segmenter()
    assert s.split("Ensure compliance with article 2 (a) and (b) of the Convention.")[1] == []
    assert s.split("Ratify the Convention.")[1] == []
