from nrtd_nlp.ingest.normalise import (
    clean_whitespace,
    normalise_recommendation,
    split_heading,
    split_paragraph_number,
    split_state_suffix,
)


def test_paragraph_numbers():
    assert split_paragraph_number("132.90 Ratify the CRPD") == ("132.90", "Ratify the CRPD")
    assert split_paragraph_number("133.29. Actively combat racism") == ("133.29", "Actively combat racism")
    assert split_paragraph_number("84.5..1 Ratify OP-CAT") == ("84.5.1", "Ratify OP-CAT")
    assert split_paragraph_number("8.The Committee is concerned") == ("8", "The Committee is concerned")
    assert split_paragraph_number("2030 Agenda for Sustainable Development")[0] is None
    assert split_paragraph_number("Ratify the CAT")[0] is None
    assert split_paragraph_number("133-29 - المكافحة الفعالة") == ("133.29", "المكافحة الفعالة")
    assert split_paragraph_number("١٣٢-١٤١ اتخاذ تدابير") == ("132.141", "اتخاذ تدابير")
    assert split_paragraph_number("119 - 106 مواصلة الجهود") == ("119.106", "مواصلة الجهود")
    # a labelled prefix in a few UHRI English UPR cells: its translations carry none
    assert split_paragraph_number("Recommendation No. 93, para. 95:93. Pass comprehensive legislation") == (
        "95.93", "Pass comprehensive legislation")
    assert split_paragraph_number("Recommendation No. 1, para. 101:1. Consider acceding")[1] == "Consider acceding"
    assert split_paragraph_number("Recommendations of the Committee")[0] is None


def test_state_suffix_variants():
    assert split_state_suffix("Ratify the ICRMW (New Zealand);") == ("New Zealand", "Ratify the ICRMW")
    assert split_state_suffix("Combat racism ( Russian Federation );") == ("Russian Federation", "Combat racism")
    assert split_state_suffix("Do X (Bolivia (Plurinational State of));")[0] == "Bolivia (Plurinational State of)"
    assert split_state_suffix("Ratify it (Spain, Tunisia, Portugal);")[0] == "Spain, Tunisia, Portugal"
    assert split_state_suffix("采取措施防止贩运人口(科特迪瓦)；") == ("科特迪瓦", "采取措施防止贩运人口")
    assert split_state_suffix("إلغاء عقوبة الإعدام (إيطاليا)؛")[0] == "إيطاليا"
    assert split_state_suffix("Ratify the Protocol ( the Republic of Moldova)") == ("the Republic of Moldova",
                                                                                    "Ratify the Protocol")
    assert split_state_suffix("Ratify the Convention (the Palermo Protocol)")[0] is None
    # a State whose name starts like a reference ("para", "art"): split off all the same
    assert split_state_suffix("Seguir luchando contra la pobreza (Paraguay);") == ("Paraguay",
                                                                                   "Seguir luchando contra la pobreza")
    assert split_state_suffix("Do X (para. 12)")[0] is None and split_state_suffix("Do X (Para 12)")[0] is None


def test_suffix_that_is_not_a_state_is_kept():
    text = "Consider the ratification of the Convention on the Rights of Persons with Disabilities (CRPD)"
    assert split_state_suffix(text) == (None, text)
    assert split_state_suffix("Combat poverty (in terms of exclusion)")[0] is None
    assert split_state_suffix("Implement the plan (2017-2021).")[0] is None
    # with the file's own recommending-State column, only a matching parenthetical goes
    assert split_state_suffix("Ratify OP-CAT (Costa Rica)", expected="Hungary")[0] is None
    assert split_state_suffix("Ratify OP-CAT (Togo, Hungary);", expected="Hungary")[0] == "Togo, Hungary"


def test_whitespace_and_full_normalisation():
    assert clean_whitespace("  a\u00a0b \n\t c\u200b ") == "a b c"
    text, para, state = normalise_recommendation(" 132.141  Take measures\u00a0to prevent trafficking (Côte d’Ivoire);",
                                                 upr=True)
    assert (text, para, state) == ("Take measures to prevent trafficking", "132.141", "Côte d’Ivoire")
    # treaty bodies: no State suffix is split
    text, _, state = normalise_recommendation("Adopt a law (art. 2).", upr=False)
    assert state is None and text == "Adopt a law (art. 2)."


def test_treaty_heading_split():
    h, p, rest = split_heading("A.General principles and obligations (arts. 1–4)8.The Committee is concerned")
    assert (h, p, rest) == ("A.General principles and obligations (arts. 1–4)", "8", "The Committee is concerned")
    assert split_heading("Non-discrimination16. While noting the measures")[:2] == ("Non-discrimination", "16")
    assert split_heading("The State party should apply article 5. It should")[0] is None


def test_word_style_residue_is_removed():
    dirty = ('Normal 0 false false false EN-GB ZH-CN AR-SA /* Style Definitions */ table.MsoNormalTable '
             '{mso-style-name:"Table Normal"; mso-tstyle-rowband-size:0;} The Committee recommends X.')
    assert clean_whitespace(dirty) == "The Committee recommends X."
