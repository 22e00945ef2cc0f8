"""Language-neutral action cues (classify/cues.py, classify/cue_head.py) and the tagger that reads them for
texts its TF-IDF heads cannot read."""

import numpy as np
import pytest

from nrtd_nlp.classify.cue_head import CueHead
from nrtd_nlp.classify.cues import CueSet, load_cues
from nrtd_nlp.classify.tagger import Tagger
from nrtd_nlp.errors import InputError

# one recommendation in seven languages (UHRI's official translations, shortened), and what opens it
SAME = {
    "continue": {
        "en": "Continue efforts to ensure an effective and efficient health-care system",
        "es": "Seguir esforzándose por establecer un sistema efectivo y eficiente de atención de la salud",
        "fr": "Continuer de s’employer à faire en sorte que le système de soins de santé soit efficace",
        "pt": "Continuar os esforços para garantir um sistema de saúde eficaz e eficiente",
        "ar": "مواصلة الجهود الرامية إلى ضمان وجود نظام للرعاية الصحية يتسم بالفعالية والكفاءة",
        "ru": "продолжать предпринимать усилия по обеспечению функционирования эффективной системы здравоохранения",
        "zh": "继续努力确保高成效和高效率的保健系统",
    },
    "take": {
        "en": "Take measures to prevent and eliminate trafficking in persons and assist the victims",
        "es": "Tomar medidas para prevenir y eliminar la trata de personas y asistir a las víctimas",
        "fr": "Prendre des mesures pour prévenir et éliminer la traite de personnes et aider les victimes",
        "pt": "Tomar medidas para prevenir e eliminar o tráfico de pessoas e assistir as vítimas",
        "ar": "اتخاذ تدابير لمنع الاتجار بالأشخاص والقضاء عليه ومساعدة ضحايا هذه الانتهاكات",
        "ru": "принять меры для предотвращения и искоренения торговли людьми и оказания помощи жертвам",
        "zh": "采取措施防止和消除贩运人口行为，并为这些行为的受害者提供援助",
    },
    "consider": {
        "en": "Consider ratifying the Optional Protocol to the Convention against Torture",
        "es": "Considerar la posibilidad de ratificar el Protocolo Facultativo de la Convención contra la Tortura",
        "fr": "Envisager de ratifier le Protocole facultatif se rapportant à la Convention contre la torture",
        "pt": "Considerar a ratificação do Protocolo Facultativo à Convenção contra a Tortura",
        "ar": "النظر في التصديق على البروتوكول الاختياري لاتفاقية مناهضة التعذيب",
        "ru": "рассмотреть возможность ратификации Факультативного протокола к Конвенции против пыток",
        "zh": "考虑批准《禁止酷刑公约任择议定书》",
    },
}


@pytest.mark.parametrize("opening", sorted(SAME))
def test_a_text_and_its_translations_open_with_the_same_cue(opening):
    cues = load_cues()
    for lang, text in SAME[opening].items():
        toks = cues.tokens(text, lang).split()
        assert f"F_{opening}" in toks and f"L_{opening}" in toks, (lang, toks)


def test_cues_of_the_ask_are_shared_across_languages():
    cues = load_cues()
    for lang, text in SAME["consider"].items():
        assert "A_ratify" in cues.tokens(text, lang).split(), lang
    # Russian "усилия" (efforts) is no "усилить" (strengthen)
    ru = cues.tokens(SAME["continue"]["ru"], "ru").split()
    assert "A_efforts" in ru and "A_strengthen" not in ru


def test_lead_is_the_opening_only():
    cues = load_cues()
    toks = cues.tokens("Adopt a comprehensive law on the rights of children and consider ratifying the OP3", "en")
    assert "L_adopt" in toks and "A_consider" in toks and "L_consider" not in toks
    assert cues.tokens("1234", "en") == "NONE"


def test_unknown_language_reads_english_patterns_and_arabic_marks_are_ignored():
    cues = load_cues()
    assert cues.tokens("Continue to combat poverty", "da") == cues.tokens("Continue to combat poverty", "en")
    voweled = "مُوَاصَلَةُ الجُهُودِ"  # with harakat
    assert "F_continue" in cues.tokens(voweled, "ar")


def test_bad_cue_rows_are_refused_with_their_row_and_language(tmp_path):
    with pytest.raises(ValueError, match="cue 'x', es pattern"):
        CueSet([{"cue": "x", "en": "ok", "es": "(unclosed"}], source="c.csv")
    with pytest.raises(ValueError, match="cue name"):
        CueSet([{"cue": "Bad Name", "en": "ok"}])
    home = tmp_path / "home"
    (home / "cues").mkdir(parents=True)
    (home / "cues" / "action_cues.csv").write_text("cue,en\nx,(oops\n", encoding="utf-8")
    with pytest.raises(InputError, match="c.csv|action_cues.csv:2"):
        load_cues("action_cues.csv", home)
    with pytest.raises(InputError, match="bad cue file name"):
        load_cues("../etc/passwd", home)


def test_a_country_file_replaces_the_shipped_one(tmp_path):
    home = tmp_path / "home"
    (home / "cues").mkdir(parents=True)
    (home / "cues" / "action_cues.csv").write_text("cue,en,es\npledge,pledg\\w*,comprometer\\w*\n", encoding="utf-8")
    cues = load_cues("action_cues.csv", home)
    assert cues.names == ["pledge"] and cues.tokens("Comprometerse a algo", "es").startswith("A_pledge")
    assert "continue" in load_cues("action_cues.csv", tmp_path / "elsewhere").names


VERBS = {  # class -> opening in English, Spanish and Arabic
    0: ("Share its experience on", "Compartir su experiencia sobre", "تبادل خبراتها في"),
    1: ("Continue its efforts on", "Seguir esforzándose en", "مواصلة جهودها في"),
    2: ("Consider ratifying the convention on", "Considerar la posibilidad de ratificar la convención sobre",
        "النظر في التصديق على اتفاقية"),
    3: ("Take measures on", "Tomar medidas sobre", "اتخاذ تدابير بشأن"),
    4: ("Establish a national commission on", "Establecer una comisión nacional sobre", "إنشاء لجنة وطنية بشأن"),
}
TOPICS = ["education", "torture", "women", "prisons", "journalists", "water", "health", "housing"]


def _toy(n=400, seed=0, col=0):
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 5, n)
    texts = [f"{VERBS[k][col]} {TOPICS[rng.randint(8)]}" for k in y]
    X = rng.randn(n, 8).astype(np.float32)  # an embedding that knows nothing of the class
    return texts, X, y


def test_tagger_reads_other_languages_through_the_cues(tmp_path):
    from nrtd_nlp.classify.bundle import load_bundle, save_bundle
    from nrtd_nlp.embed.centering import LanguageCentering

    texts, X, y = _toy()
    ids = ["1", "2", "3", "4", "5"]
    kw = dict(multilabel=False, text_blocks=("word", "lead"), stack_C=0.1)
    t = Tagger("action", ids, cues=load_cues(), **kw).fit(texts, X, y, ["en"] * len(y))
    plain = Tagger("action", ids, **kw).fit(texts, X, y, ["en"] * len(y))
    assert t.cue_stacker_ is not None and t.validation_emb_["accuracy"] > 0.95
    assert plain.validation_emb_["accuracy"] < 0.5
    for col, lang in ((1, "es"), (2, "ar")):
        ot, oX, oy = _toy(100, seed=1, col=col)
        P = t.predict_proba(ot, oX, [lang] * len(ot))
        assert np.allclose(P.sum(1), 1, atol=1e-5)
        assert (P.argmax(1) == oy).mean() > 0.95, lang
        assert (plain.predict_proba(ot, oX, [lang] * len(ot)).argmax(1) == oy).mean() < 0.5
        assert t.decide(P, [lang] * len(ot)).any(1).mean() > 0.9  # confident enough to answer
    # English still goes through the text heads' stacker alone (the cues are not in it by default)
    et, eX, _ = _toy(50, seed=2)
    np.testing.assert_allclose(t.predict_proba(et, eX, ["en"] * 50), plain.predict_proba(et, eX, ["en"] * 50),
                               atol=1e-6)
    folder = save_bundle(t, LanguageCentering(), tmp_path / "action", {"name": "action", "version": "1"})
    assert (folder / "cues.json").is_file()
    u, _, meta = load_bundle(folder, None)
    assert meta["cues"]["n_cues"] == len(load_cues().names) and meta["params"]["cue_in_text_stack"] is False
    ot, oX, _ = _toy(30, seed=3, col=1)
    np.testing.assert_allclose(u.predict_proba(ot, oX, ["es"] * 30), t.predict_proba(ot, oX, ["es"] * 30), atol=1e-5)


def test_bundle_keeps_its_own_cues_when_the_file_changes(tmp_path):
    texts, X, y = _toy(200)
    h = CueHead(load_cues(), multilabel=False).fit(texts, ["en"] * 200, y, n_classes=5)
    meta, arrays = h.to_state()
    g = CueHead.from_state(meta, arrays, multilabel=False)
    assert g.cues.rows == load_cues().rows and g.vocabulary_ == h.vocabulary_
    np.testing.assert_allclose(g.predict_proba(texts[:10], ["en"] * 10), h.predict_proba(texts[:10], ["en"] * 10))


def test_cues_are_for_single_label_tasks():
    texts, X, y = _toy(100)
    Y = np.eye(5, dtype=np.int8)[y]
    with pytest.raises(ValueError, match="single-label"):
        Tagger("x", list("abcde"), multilabel=True, cues=load_cues()).fit(texts, X, Y, ["en"] * 100)


def test_the_shipped_action_tagger_reads_every_language_through_the_cues():
    """The shipped bundle (trained on English UPR Info sessions 1-16) on three recommendations in seven
    languages, with the USE-m3 vectors it reads: the same category in every language, and answered."""
    from nrtd_nlp.classify.bundle import load_bundle, shipped_dir
    from nrtd_nlp.classify.labels import load_labels
    from nrtd_nlp.embed.base import get_embedder

    model, centering, meta = load_bundle(shipped_dir() / "action_category", load_labels("action_category"))
    assert model.cue_head_ is not None and meta["cues"]["fingerprint"]
    assert meta["embedding_only"]["validation"]["accuracy"] > 0.85  # 0.785 for the embedding head alone
    use = get_embedder("use-m3", threads=2)
    want = {"continue": "2", "take": "4", "consider": "3"}
    for opening, by_lang in SAME.items():
        langs = list(by_lang)
        texts = [by_lang[lang] for lang in langs]
        P = model.predict_proba(texts, centering.transform(use.encode(texts), langs), langs)
        got = {lang: model.label_ids[j] for lang, j in zip(langs, P.argmax(1))}
        assert set(got.values()) == {want[opening]}, got
        assert model.decide(P, langs).any(1).all(), opening
