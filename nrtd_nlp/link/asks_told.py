"""Arabic and Russian actions, groups and negation that a person is told (``Asks.asked``, ``Asks.told_groups``,
``Asks.told_negated``), kept apart from ``asks`` because the link scorer never reads them: link-scorer@5 was
trained without them, so its features stay byte-identical, and their pairs are scored on the other features.
They run only on a text holding Arabic or Cyrillic letters.
"""

from __future__ import annotations

import re

# Arabic attaches و ف ب ل ك and ال to a word and writes verbs as nouns
# ("التصديق على", ratification of) or after "أن" ("أن تصدق", that it ratify): a pattern starts a word or follows
# those prefixes (``_AR``); Russian words are stems with their inflections.
_AR = r"(?<![\u0621-\u064a])(?:[وف]?(?:[بلك]?ال|لل|[بلك])?)"
_AR_TOLD: list[tuple[str, str]] = [
    ("withdraw_reservations", r"(?:سحب|تسحب|رفع|ترفع)\s+(?:\S+\s+){0,2}?\S*تحفظ"),
    ("abolish_death_penalty", r"(?:إلغاء|تلغي|وقف\s+(?:ال)?اختياري|(?:ال)?وقف\s+(?:ال)?اختياري|تخفيف)"
                              r"\s+(?:\S+\s+){0,3}?\S*إعدام"),
    ("ratify", r"تصديق|تصدق|صادق|مصادق|تصادق|انضمام|تنضم|انضم|توقيع|تصبح\s+طرفا"),
    ("invite", r"دعوة\s+(?:دائمة|مفتوحة)|دعوات\s+دائمة|توجيه\s+دعو|\S*زيار(?:ة|ات)\s+(?:ال)?قطري|طلب(?:ات)?\s+\S*زيار"),
    ("report", r"(?:تقديم|تقدم)\s+(?:\S+\s+){0,2}?\S*(?:تقرير|تقارير)|\S*تقارير\S*\s+(?:ال)?متأخرة"),
    ("establish", r"إنشاء|تنشئ|ينشئ|أنشئ|تأسيس|تؤسس|خلق|تخلق"),
    ("repeal", r"(?:إلغاء|تلغي|يلغي|إبطال|تبطل)(?!\s+(?:\S*عقوبة\s+)?\S*إعدام)|إزالة|تزيل|نزع\s+صفة|رفع\s+صفة|"
               r"إلغاء\s+تجريم"),
    ("legislate", r"تشريع|(?:سن|تسن|اعتماد|تعتمد|إصدار|تصدر)\s+(?:\S+\s+){0,3}?\S*(?:قانون|قوانين)|تعديل|تعدل|"
                  r"تجريم|تجرم|حظر|تحظر|مشروع\s+قانون|مشاريع\s+قوانين"),
    ("investigate", r"(?<=ال)تحقيق|تحقيق\s+في|تحقيقات|تحقيقا|إجراء\s+تحقيق|تحقق\s+في|مقاضاة|تقاضي|ملاحقة|معاقبة|تعاقب|"
                    r"إفلات\s+من\s+العقاب|إلى\s+العدالة"),
    ("release", r"إفراج|تفرج|يفرج|(?:إطلاق|تطلق)\s+سراح"),
    ("policy", r"خطة|خطط|إستراتيجي|سياس(?:ة|ات|ت)|برنامج|برامج"),
    ("train", r"تدريب|تدرب|بناء\s+(?:ال)?قدرات"),
    ("awareness", r"توعي|وعي(?![\u0621-\u064a])|حملة|حملات|إذكاء"),
    ("resources", r"موارد|ميزاني|تمويل|اعتمادات|مخصصات"),
    ("data", r"بيانات|إحصاء|إحصائي"),
    ("cooperate", r"تعاون|تتعاون|(?:ال)?مساعدة\s+(?:ال)?تقنية"),
    ("combat", r"مكافحة|تكافح|قضاء\s+على|تقضي\s+على|منع|تمنع|حيلولة|استئصال|اجتثاث|وقاية"),
    ("ensure", r"ضمان(?!\s+(?:ال)?اجتماعي)|تضمن|يضمن|كفالة|تكفل|يكفل|كفل|حماية|تحمي|احترام|تحترم|صون|تصون"),
    ("strengthen", r"تعزيز|تعزز|يعزز|تقوية|تقوي|تحسين|تحسن|تكثيف|تكثف|نهوض"),
]
_RU_TOLD: list[tuple[str, str]] = [
    ("withdraw_reservations", r"(?:сня\w+|сним\w+|отозв\w+|отзыв\w*)\s+(?:\w+\s+){0,3}?оговор\w+"),
    ("abolish_death_penalty", r"(?:отмен\w+|упраздн\w+|моратори\w+|смягч\w+|замен\w+)\s+(?:\w+\s+){0,4}?"
                              r"(?:смертн\w+|казн\w+)|мораторий\w*"),
    ("ratify", r"ратифи\w+|присоедин\w+|подпис\w+|стать\s+(?:ее\s+|его\s+)?(?:участни\w+|сторон\w+)"),
    ("invite", r"постоянн\w+\s+приглашени\w+|приглас\w+|приглаш\w+|посещени\w+\s+стран\w*|"
               r"запрос\w*\s+(?:\w+\s+)?посещ\w+"),
    ("report", r"представ\w+\s+(?:\w+\s+){0,3}?доклад\w*|просроченн\w+\s+доклад\w*|доклад\w*\s+комитет\w*"),
    ("establish", r"созда\w+|учреди\w*|основать|образовать\b|сформир\w+"),
    ("repeal", r"отмен\w+(?!\w)(?!\s+(?:\w+\s+){0,2}смертн)|декриминализ\w+|упраздн\w+|аннулир\w+"),
    ("legislate", r"законодательн\w+|законодательств\w*|законопроект\w*|(?:приня\w+|принима\w+|прин(?:ят|ял)\w*)\s+"
                  r"(?:\w+\s+){0,3}?закон\w*|поправ(?:к|ок)\w*|криминализ\w+|запрет\w*|запрещ\w+"),
    ("investigate", r"расследова\w+|расследу\w+|(?:судебн|уголовн)\w+\s+преследовани\w+|"
                    r"привле\w+\s+(?:\w+\s+){0,5}?к\s+(?:уголовной\s+)?ответственности|"
                    r"(?<!обращения и )наказ(?:ать|ыва|ани)\w*|"
                    r"безнаказанност\w+|предать\s+суду|предан\w+\s+суду"),
    ("release", r"освобод\w+|освобожд\w+"),
    ("policy", r"(?<!\bв )план(?:а|ов|ы|е|ом|ам|ами|ах)?\b|плане\s+действий|стратеги\w+|политик\w+|"
               r"(?<!учебных )(?<!учебной )(?<!учебные )(?<!учебную )(?<!школьную )(?<!школьной )программ\w*"),
    ("train", r"(?:подготовк|обучени)\w*\s+(?:\w+\s+)?(?:для|по\s+вопросам|в\s+области|кадров|специалист|сотрудник|"
              r"персонал|судей|полицейск|учител|преподавател|работник)\w*|профессиональн\w+\s+подготовк\w+|"
              r"обучать|обучить|тренинг\w*|наращивани\w+\s+потенциала|"
              r"повышени\w+\s+квалификаци\w+"),
    ("awareness", r"осведомл[её]нност\w+|информированност\w+|кампани\w+|просвещени\w+|просветительск\w+|"
                  r"разъяснительн\w+"),
    ("resources", r"ресурс\w*|бюджет\w*|финансировани\w+|финансов\w+\s+средств\w*|ассигновани\w+|фонд\w*"),
    ("data", r"данн(?:ые|ых|ым|ыми)\b|статистическ\w+|статистик\w+"),
    ("cooperate", r"сотруднич\w+|взаимодейств\w+|техническ\w+\s+(?:помощ|содейств)\w+"),
    ("combat", r"борьб\w+|бороться|борот\w+|ликвид\w+|искорен\w+|предотвра\w+|предупре(?:жд|д)\w+|пресеч\w+|пресека\w+|"
               r"устран\w+|противодейств\w+|недопущени\w+"),
    # "социальное обеспечение" is social security, "средства правовой защиты" remedies, "конвенция о защите" a title
    ("ensure", r"(?<!социального )обеспеч\w+|гарант\w+|уважа\w+|уважени\w+|соблюд\w+|"
               r"(?<!правовой )(?<!конвенции о )(?<!конвенцию о )(?<!конвенции для )(?<!конвенцию для )защит\w+"),
    ("strengthen", r"укреп\w+|активизир\w+|активизац\w+|улучш\w+|усил(?:ить|ение|ения|ению|ением|ивать)\b|поощр\w+|"
                   r"содейств\w+|совершенствова\w+|повы(?:шать|сить|шени\w*)\s+(?:\w+\s+)?(?:качеств|эффективност)"),
]
_ALEF = str.maketrans({"إ": "[اأإآ]", "أ": "[اأإآ]"})  # documents write hamza on alef, or not
_AR_RE = [(n, re.compile(_AR + "(?:" + p.translate(_ALEF) + ")")) for n, p in _AR_TOLD]
_RU_RE = [(n, re.compile(r"\b(?:" + p + ")", re.I)) for n, p in _RU_TOLD]
_ARABIC = re.compile(r"[\u0621-\u064a]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_DEATH_RU = re.compile(r"смертн\w+\s+(?:казн|приговор)\w*", re.I)
_AR_MARKS = re.compile(r"[\u0640\u064b-\u065f\u0670]")  # tatweel, vowel marks, shadda: dropped before matching
_AR_GROUPS = {
    "women": r"مرأة|امرأة|نساء|فتيات|فتاة|جنساني|عنف\s+(?:ال)?(?:منزلي|عائلي|أسري)|أمهات|نفاس",
    "children": r"طفل|أطفال|طفولة|مراهق|شباب|تسجيل\s+(?:ال)?مواليد",
    "disability": r"إعاقة|معوق",
    "migrants": r"مهاجر|هجرة|لاجئ|لجوء(?!\s+إلي?)|اتجار",
    "indigenous": r"شعوب\s+(?:ال)?أصلية|سكان\s+(?:ال)?أصليين|قبلية",
    "lgbti": r"مثلي|ميل\s+(?:ال)?جنسي|توجه\s+(?:ال)?جنسي|هوية\s+(?:ال)?جنسانية|مغايري|حاملي\s+صفات\s+(?:ال)?جنسين",
    "minorities": r"أقلي(?:ة|ات|تين)|عرقي|إثني|عنصري|كره\s+(?:ال)?أجانب|طائفي|"
                  r"روما(?![\u0621-\u064a])(?!\s+(?:ال)?أساسي)",  # not the Rome Statute
    "defenders": r"مدافع\S*\s+عن\s+حقوق\s+(?:ال)?إنسان|صحفي|صحافي|إعلاميين",
    "detainees": r"احتجاز|محتجز|سجن|سجون|سجناء|محرومين\s+من\s+(?:ال)?حرية|تعذيب|معتقل|اعتقال",
    "older": r"كبار\s+(?:ال)?سن|مسنين|مسنات",
    "stateless": r"عديم\S*\s+(?:ال)?جنسية|انعدام\s+(?:ال)?جنسية|جنسيت|(?:منح|اكتساب|قانون)\s+(?:ال)?جنسية",
    "displaced": r"مشردين|مشردات|نازح",
}
_RU_GROUPS = {
    "women": r"женщин\w*|девоч\w+|девушк\w+|гендерн\w+|бытов\w+\s+насили\w+|насили\w+\s+в\s+семье|материнск\w+",
    "children": r"дет(?:и|ей|ям|ьми|ях|ск\w+)\b|реб[её]н\w*|несовершеннолетн\w+|подрост\w+|молод[её]ж\w*|ювенальн\w+|"
                r"регистраци\w+\s+рождени\w+",
    "disability": r"инвалид\w*|ограниченн\w+\s+возможност\w+",
    "migrants": r"мигра\w+|мигрант\w*|беженц\w+|беженец|убежищ\w+|торговл\w+\s+людьми",
    "indigenous": r"коренн\w+|племенн\w+",
    "lgbti": r"лгбт\w*|сексуальн\w+\s+ориентаци\w+|гендерн\w+\s+идентичност\w+|гомосексу\w+|однопол\w+|интерсекс\w*",
    "minorities": r"меньшинств\w*|рома\b|цыган\w*|этническ\w+|расов\w+|расизм\w*|ксенофоб\w+",
    "defenders": r"правозащитник\w*|журналист\w*",
    "detainees": r"содержани\w+\s+под\s+стражей|задержан\w+|заключенн\w+|тюрьм\w+|тюрем\w+|лишен\w+\s+свободы|"
                 r"пыт(?:к|ок)\w*|мест\w+\s+лишения\s+свободы",
    "older": r"пожил\w+|престарел\w+",
    "stateless": r"безгражданств\w+|апатрид\w*|гражданств\w+",
    "displaced": r"внутренне\s+перемещенн\w+|перемещенн\w+\s+лиц\w*",
}
_AR_GROUP_RE = {k: re.compile(_AR + "(?:" + v.translate(_ALEF) + ")") for k, v in _AR_GROUPS.items()}
_RU_GROUP_RE = {k: re.compile(r"\b(?:" + v + ")", re.I) for k, v in _RU_GROUPS.items()}
# "عدم التمييز" (non-discrimination), "لا سيما" (in particular), "لا تزال" (still), "не только" (not only),
# "не менее" (no fewer than) negate no ask
_AR_NEGATION = re.compile(_AR + "(?:" + (r"عدم(?!\s+(?:ال)?(?:تمييز|إعادة|تسامح|مساواة|استقرار|إفلات))|"
                                          r"لا(?=\s)(?!\s+سيما|\s+يتجزأ|\s+[يت]زال)|امتناع\s+عن|تمتنع\s+عن|"
                                          r"كف\s+عن|تكف\s+عن|وقف(?!\s+(?:ال)?اختياري)|توقف\s+عن").translate(_ALEF) + ")")
_RU_NEGATION = re.compile(r"\b(?:не(?!\s+(?:только|менее|позднее|позже))|никогда|ни\b|воздерж\w+|прекрат\w+|"
                          r"прекращ\w+)\b", re.I)


def arabic_plain(text: str) -> tuple[str, list[int] | None]:
    """The text without Arabic vowel marks, shadda and tatweel ("سنّ القانون" is "سن القانون"), and the position
    in ``text`` of each character kept (None: nothing was dropped)."""
    if not _AR_MARKS.search(text):
        return text, None
    pos = [i for i, c in enumerate(text) if not _AR_MARKS.match(c)]
    return "".join(text[i] for i in pos), pos


def told_only_hits(text: str) -> list[tuple[int, str, bool]]:
    """Arabic and Russian action words (``_AR_TOLD``, ``_RU_TOLD``): told to a person, never scored. The
    death penalty needs its object in the text, as in English; reservations name theirs in the pattern."""
    hits: list[tuple[int, str, bool]] = []
    if _ARABIC.search(text):
        plain, pos = arabic_plain(text)
        death = "إعدام" in plain
        hits += [(pos[m.start()] if pos else m.start(), name, False) for name, rx in _AR_RE
                 for m in rx.finditer(plain) if name != "abolish_death_penalty" or death]
    if _CYRILLIC.search(text):
        death = _DEATH_RU.search(text) is not None
        hits += [(m.start(), name, False) for name, rx in _RU_RE for m in rx.finditer(text)
                 if name != "abolish_death_penalty" or death]
    return hits


def told_groups_negation(text: str, groups: set[str], negated: bool) -> tuple[set[str], bool]:
    """The groups and negation a person is told: the scorer's, plus the Arabic and Russian ones."""
    if _ARABIC.search(text):
        plain = arabic_plain(text)[0]
        groups = groups | {g for g, rx in _AR_GROUP_RE.items() if rx.search(plain)}
        negated = negated or _AR_NEGATION.search(plain) is not None
    if _CYRILLIC.search(text):
        groups = groups | {g for g, rx in _RU_GROUP_RE.items() if rx.search(text)}
        negated = negated or _RU_NEGATION.search(text) is not None
    return groups, negated
