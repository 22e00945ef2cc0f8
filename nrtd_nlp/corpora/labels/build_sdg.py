"""Build ``sdg_goal.csv`` and ``sdg_target.csv`` (label-set schema, see README.md) from the SDG texts shipped in
``nrtd_nlp/corpora/sdg/`` and the JRC SDG Mapper term matrix.

    python nrtd_nlp/corpora/labels/build_sdg.py [--jrc ../shared/taxonomies/keywords_jrc_sdgmapper/jrc_sdg_mapper_terms_long.csv]
                                                [--uhri ../shared/corpora/uhri-multilingual/SDGs.jsonl]

Names per language come from the open-sdg translations (en, es, fr, ar, ru, zh-Hans; MIT); ``name_pt`` holds the
Portuguese short goal names used by the UN in Brazil (targets: empty). ``keywords_en`` keeps up to 15 distinctive JRC
terms per goal (the goal-level "N.0" set) or target; generic ones ("SDG 1", "Sustainable Development Goal 1"),
spelling variants (woman/women, word-order permutations) and terms containing ``|`` are dropped. Other-language
keyword columns stay empty: the JRC matrix is English only. ``aliases`` hold "SDG 1" / "Goal 1" / "Target 1.1" and,
when the UHRI SDG list is given, UHRI's own labels ("1 - NO POVERTY", "1.1 - Eradicate extreme poverty") so that
UHRI annotations map onto these ids.
"""

from __future__ import annotations

import argparse
import csv
import re
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
SDG_DIR = HERE.parent / "sdg"
SHARED = HERE.parents[2].parent / "shared"
DEFAULT_JRC = SHARED / "taxonomies" / "keywords_jrc_sdgmapper" / "jrc_sdg_mapper_terms_long.csv"
DEFAULT_UHRI = SHARED / "corpora" / "uhri-multilingual" / "SDGs.jsonl"
COLUMNS = (["id", "parent"] + [f"name_{lg}" for lg in ("en", "es", "fr", "ar", "ru", "zh", "pt")] + ["description_en"]
           + [f"keywords_{lg}" for lg in ("en", "es", "fr", "ar", "ru", "zh", "pt")] + ["aliases", "source"])
MAX_TERMS = 15
SOURCE = ("SDG goals and targets: UNSD global indicator framework (A/RES/71/313 annex, after 2025 review) and "
          "open-sdg/sdg-translations (MIT); keywords: JRC SDG Mapper term matrix via do-me/SDG (MIT)")

# Short goal names in Portuguese as used by the United Nations in Brazil.
NAME_PT = {
    "1": "Erradicação da pobreza", "2": "Fome zero e agricultura sustentável", "3": "Saúde e bem-estar",
    "4": "Educação de qualidade", "5": "Igualdade de gênero", "6": "Água potável e saneamento",
    "7": "Energia limpa e acessível", "8": "Trabalho decente e crescimento econômico",
    "9": "Indústria, inovação e infraestrutura", "10": "Redução das desigualdades",
    "11": "Cidades e comunidades sustentáveis", "12": "Consumo e produção responsáveis",
    "13": "Ação contra a mudança global do clima", "14": "Vida na água", "15": "Vida terrestre",
    "16": "Paz, justiça e instituições eficazes", "17": "Parcerias e meios de implementação",
}

# Hand-written goal-level keywords in the other languages (UN terminology as used in the goal and target texts).
# Each language's list is preceded by the official goal title in that language where the source has one.
GOAL_KEYWORDS = {
    "1": {
        "es": "pobreza|pobreza extrema|protección social|reducción de la pobreza",
        "fr": "pauvreté|extrême pauvreté|protection sociale|réduction de la pauvreté",
        "ar": "الفقر|الفقر المدقع|الحماية الاجتماعية|الحد من الفقر",
        "ru": "нищета|крайняя нищета|социальная защита|бедность",
        "zh": "贫困|极端贫困|社会保护|减贫",
        "pt": "pobreza|pobreza extrema|proteção social|erradicação da pobreza",
    },
    "2": {
        "es": "hambre|seguridad alimentaria|nutrición|malnutrición|agricultura sostenible|pequeños productores de alimentos",
        "fr": "faim|sécurité alimentaire|nutrition|malnutrition|agriculture durable|petits producteurs alimentaires",
        "ar": "الجوع|الأمن الغذائي|التغذية|سوء التغذية|الزراعة المستدامة",
        "ru": "голод|продовольственная безопасность|питание|недоедание|устойчивое сельское хозяйство",
        "zh": "饥饿|粮食安全|营养|营养不良|可持续农业",
        "pt": "fome|segurança alimentar|nutrição|desnutrição|agricultura sustentável",
    },
    "3": {
        "es": "salud|mortalidad materna|mortalidad infantil|VIH/SIDA|cobertura sanitaria universal|salud sexual y reproductiva|salud mental",
        "fr": "santé|mortalité maternelle|mortalité infantile|VIH/sida|couverture sanitaire universelle|santé sexuelle et procréative|santé mentale",
        "ar": "الصحة|وفيات الأمهات|وفيات الأطفال|الإيدز|التغطية الصحية الشاملة|الصحة الجنسية والإنجابية|الصحة العقلية",
        "ru": "здоровье|материнская смертность|детская смертность|СПИД|всеобщий охват услугами здравоохранения|сексуальное и репродуктивное здоровье|психическое здоровье",
        "zh": "健康|孕产妇死亡率|儿童死亡率|艾滋病|全民健康覆盖|性健康和生殖健康|精神健康",
        "pt": "saúde|mortalidade materna|mortalidade infantil|VIH/SIDA|cobertura universal de saúde|saúde sexual e reprodutiva|saúde mental",
    },
    "4": {
        "es": "educación|enseñanza primaria y secundaria|educación inclusiva|alfabetización|aprendizaje permanente|docentes",
        "fr": "éducation|enseignement primaire et secondaire|éducation inclusive|alphabétisation|apprentissage tout au long de la vie|enseignants",
        "ar": "التعليم|التعليم الابتدائي والثانوي|التعليم الشامل|محو الأمية|التعلم مدى الحياة|المعلمين",
        "ru": "образование|начальное и среднее образование|инклюзивное образование|грамотность|обучение на протяжении всей жизни|учителя",
        "zh": "教育|中小学教育|全纳教育|识字|终身学习|教师",
        "pt": "educação|ensino primário e secundário|educação inclusiva|alfabetização|aprendizagem ao longo da vida|professores",
    },
    "5": {
        "es": "igualdad de género|empoderamiento de las mujeres y las niñas|violencia contra las mujeres|discriminación contra la mujer|matrimonio infantil|mutilación genital femenina|participación de las mujeres",
        "fr": "égalité des sexes|autonomisation des femmes et des filles|violence à l'égard des femmes|discrimination à l'égard des femmes|mariage d'enfants|mutilations génitales féminines|participation des femmes",
        "ar": "المساواة بين الجنسين|تمكين النساء والفتيات|العنف ضد المرأة|التمييز ضد المرأة|زواج الأطفال|تشويه الأعضاء التناسلية للإناث|مشاركة المرأة",
        "ru": "гендерное равенство|расширение прав и возможностей женщин и девочек|насилие в отношении женщин|дискриминация в отношении женщин|детские браки|калечащие операции на женских половых органах|участие женщин",
        "zh": "性别平等|增强妇女和女童权能|暴力侵害妇女行为|对妇女的歧视|童婚|女性生殖器切割|妇女参与",
        "pt": "igualdade de género|igualdade de gênero|empoderamento das mulheres e raparigas|violência contra as mulheres|discriminação contra as mulheres|casamento infantil|mutilação genital feminina",
    },
    "6": {
        "es": "agua potable|saneamiento|higiene|gestión de los recursos hídricos|aguas residuales",
        "fr": "eau potable|assainissement|hygiène|gestion des ressources en eau|eaux usées",
        "ar": "مياه الشرب|الصرف الصحي|النظافة الصحية|إدارة الموارد المائية|المياه المستعملة",
        "ru": "питьевая вода|санитария|гигиена|управление водными ресурсами|сточные воды",
        "zh": "饮用水|环境卫生|个人卫生|水资源管理|废水",
        "pt": "água potável|saneamento|higiene|gestão dos recursos hídricos|águas residuais",
    },
    "7": {
        "es": "energía|energía renovable|eficiencia energética|acceso a la electricidad|energía asequible",
        "fr": "énergie|énergies renouvelables|efficacité énergétique|accès à l'électricité|énergie abordable",
        "ar": "الطاقة|الطاقة المتجددة|كفاءة استخدام الطاقة|الحصول على الكهرباء",
        "ru": "энергия|возобновляемые источники энергии|энергоэффективность|доступ к электроэнергии",
        "zh": "能源|可再生能源|能效|获得电力",
        "pt": "energia|energias renováveis|eficiência energética|acesso à eletricidade",
    },
    "8": {
        "es": "trabajo decente|empleo|crecimiento económico|trabajo forzoso|trabajo infantil|derechos laborales|desempleo juvenil",
        "fr": "travail décent|emploi|croissance économique|travail forcé|travail des enfants|droits des travailleurs|chômage des jeunes",
        "ar": "العمل اللائق|العمالة|النمو الاقتصادي|العمل الجبري|عمل الأطفال|حقوق العمل|بطالة الشباب",
        "ru": "достойная работа|занятость|экономический рост|принудительный труд|детский труд|трудовые права|безработица среди молодежи",
        "zh": "体面工作|就业|经济增长|强迫劳动|童工|劳工权利|青年失业",
        "pt": "trabalho digno|trabalho decente|emprego|crescimento económico|trabalho forçado|trabalho infantil|direitos laborais",
    },
    "9": {
        "es": "infraestructura|industrialización|innovación|investigación|acceso a internet",
        "fr": "infrastructure|industrialisation|innovation|recherche|accès à Internet",
        "ar": "الهياكل الأساسية|التصنيع|الابتكار|البحث العلمي|الوصول إلى الإنترنت",
        "ru": "инфраструктура|индустриализация|инновации|научные исследования|доступ к интернету",
        "zh": "基础设施|工业化|创新|研究|互联网接入",
        "pt": "infraestrutura|industrialização|inovação|investigação|acesso à internet",
    },
    "10": {
        "es": "desigualdad|inclusión social, económica y política|igualdad de oportunidades|leyes discriminatorias|migración",
        "fr": "inégalités|inclusion sociale, économique et politique|égalité des chances|lois discriminatoires|migrations",
        "ar": "عدم المساواة|الإدماج الاجتماعي والاقتصادي والسياسي|تكافؤ الفرص|القوانين التمييزية|الهجرة",
        "ru": "неравенство|социальная, экономическая и политическая интеграция|равные возможности|дискриминационные законы|миграция",
        "zh": "不平等|社会、经济和政治包容|机会均等|歧视性法律|移民",
        "pt": "desigualdade|inclusão social, económica e política|igualdade de oportunidades|leis discriminatórias|migração",
    },
    "11": {
        "es": "ciudades|asentamientos humanos|vivienda adecuada|barrios marginales|transporte público|reducción del riesgo de desastres|patrimonio cultural",
        "fr": "villes|établissements humains|logement adéquat|taudis|transports publics|réduction des risques de catastrophe|patrimoine culturel",
        "ar": "المدن|المستوطنات البشرية|السكن اللائق|الأحياء الفقيرة|النقل العام|الحد من مخاطر الكوارث|التراث الثقافي",
        "ru": "города|населенные пункты|достаточное жилье|трущобы|общественный транспорт|снижение риска бедствий|культурное наследие",
        "zh": "城市|人类住区|适当住房|贫民窟|公共交通|减少灾害风险|文化遗产",
        "pt": "cidades|assentamentos humanos|habitação adequada|bairros de lata|favelas|transportes públicos|património cultural",
    },
    "12": {
        "es": "consumo sostenible|producción sostenible|desechos|desperdicio de alimentos|productos químicos|reciclado",
        "fr": "consommation durable|production durable|déchets|gaspillage alimentaire|produits chimiques|recyclage",
        "ar": "الاستهلاك المستدام|الإنتاج المستدام|النفايات|هدر الأغذية|المواد الكيميائية|إعادة التدوير",
        "ru": "рациональное потребление|рациональное производство|отходы|пищевые отходы|химические вещества|переработка",
        "zh": "可持续消费|可持续生产|废物|粮食浪费|化学品|回收利用",
        "pt": "consumo sustentável|produção sustentável|resíduos|desperdício alimentar|produtos químicos|reciclagem",
    },
    "13": {
        "es": "cambio climático|adaptación|mitigación|Acuerdo de París|desastres naturales|resiliencia",
        "fr": "changements climatiques|adaptation|atténuation|Accord de Paris|catastrophes naturelles|résilience",
        "ar": "تغير المناخ|التكيف|التخفيف|اتفاق باريس|الكوارث الطبيعية|القدرة على الصمود",
        "ru": "изменение климата|адаптация|смягчение последствий|Парижское соглашение|стихийные бедствия|жизнестойкость",
        "zh": "气候变化|适应|减缓|巴黎协定|自然灾害|抵御能力",
        "pt": "alterações climáticas|mudança do clima|adaptação|mitigação|Acordo de Paris|desastres naturais",
    },
    "14": {
        "es": "océanos|mares|recursos marinos|contaminación marina|pesca|zonas costeras",
        "fr": "océans|mers|ressources marines|pollution marine|pêche|zones côtières",
        "ar": "المحيطات|البحار|الموارد البحرية|التلوث البحري|مصائد الأسماك|المناطق الساحلية",
        "ru": "океаны|моря|морские ресурсы|загрязнение морской среды|рыболовство|прибрежные районы",
        "zh": "海洋|海洋资源|海洋污染|渔业|沿海地区",
        "pt": "oceanos|mares|recursos marinhos|poluição marinha|pesca|zonas costeiras",
    },
    "15": {
        "es": "ecosistemas terrestres|bosques|deforestación|desertificación|biodiversidad|degradación de las tierras",
        "fr": "écosystèmes terrestres|forêts|déforestation|désertification|biodiversité|dégradation des terres",
        "ar": "النظم الإيكولوجية البرية|الغابات|إزالة الغابات|التصحر|التنوع البيولوجي|تدهور الأراضي",
        "ru": "экосистемы суши|леса|обезлесение|опустынивание|биологическое разнообразие|деградация земель",
        "zh": "陆地生态系统|森林|毁林|荒漠化|生物多样性|土地退化",
        "pt": "ecossistemas terrestres|florestas|desflorestação|desertificação|biodiversidade|degradação dos solos",
    },
    "16": {
        "es": "paz|acceso a la justicia|estado de derecho|instituciones eficaces|corrupción|violencia|registro de nacimientos",
        "fr": "paix|accès à la justice|état de droit|institutions efficaces|corruption|violence|enregistrement des naissances",
        "ar": "السلام|الوصول إلى العدالة|سيادة القانون|المؤسسات الفعالة|الفساد|العنف|تسجيل المواليد",
        "ru": "мир|доступ к правосудию|верховенство права|эффективные учреждения|коррупция|насилие|регистрация рождений",
        "zh": "和平|诉诸司法|法治|有效机构|腐败|暴力|出生登记",
        "pt": "paz|acesso à justiça|Estado de direito|instituições eficazes|corrupção|violência|registo de nascimento",
    },
    "17": {
        "es": "alianza mundial|cooperación internacional|asistencia oficial para el desarrollo|movilización de recursos|transferencia de tecnología|creación de capacidad|comercio",
        "fr": "partenariat mondial|coopération internationale|aide publique au développement|mobilisation des ressources|transfert de technologies|renforcement des capacités|commerce",
        "ar": "الشراكة العالمية|التعاون الدولي|المساعدة الإنمائية الرسمية|تعبئة الموارد|نقل التكنولوجيا|بناء القدرات|التجارة",
        "ru": "глобальное партнерство|международное сотрудничество|официальная помощь в целях развития|мобилизация ресурсов|передача технологий|наращивание потенциала|торговля",
        "zh": "全球伙伴关系|国际合作|官方发展援助|调动资源|技术转让|能力建设|贸易",
        "pt": "parceria global|cooperação internacional|ajuda pública ao desenvolvimento|mobilização de recursos|transferência de tecnologia|capacitação|comércio",
    },
}

_GENERIC = re.compile(r"^(sustainable development goal|sdg)\s*\d+$|^sdgs?$", re.I)
_VARIANTS = {"woman": "women", "man": "men", "girl": "girls", "boy": "boys", "woman's": "women's",
             "women’s": "women's", "woman’s": "women's", "girls’": "girls'"}


def _clean(term: str) -> str:
    return re.sub(r"\s+", " ", term.replace("\xa0", " ")).strip()


def _key(term: str) -> tuple[str, ...]:
    """Order- and number-insensitive key: 'rape women', 'women rape' and 'rape woman' share one."""
    words = re.findall(r"[\w'’]+", term.casefold())
    return tuple(sorted(_VARIANTS.get(w, w) for w in words))


def select_terms(terms: list[str], limit: int = MAX_TERMS) -> list[str]:
    out, seen = [], set()
    for t in map(_clean, terms):
        if not t or "|" in t or _GENERIC.match(t) or "sdg" in t.casefold().split():
            continue
        k = _key(t)
        if k in seen:
            continue
        seen.add(k)
        out.append(t)
        if len(out) >= limit:
            break
    return out


def goal_terms(gid: str, terms: dict[str, list[str]]) -> list[str]:
    """The goal-level terms, topped up round-robin with the first terms of the goal's targets (a few goals have
    only 2-5 goal-level terms)."""
    own = terms.get(gid, [])
    targets = [select_terms(v) for k, v in terms.items() if k.startswith(gid + ".")]
    pool = list(own)
    for i in range(MAX_TERMS):
        pool += [t[i] for t in targets if i < len(t)]
    return select_terms(pool)


def read_jrc(path: Path) -> dict[str, list[str]]:
    terms: dict[str, list[str]] = defaultdict(list)
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            target = row["target"].strip()
            key = target[:-2] if target.endswith(".0") else target  # "1.0" = goal-level terms of goal 1
            terms[key].append(row["term"])
    return terms


def read_uhri(path: Path | None) -> dict[str, str]:
    """UHRI's SDG labels by goal / target code ("1 - NO POVERTY" -> "1"); empty when the file is absent."""
    import json

    out: dict[str, str] = {}
    if path is None or not path.is_file():
        return out
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                text = json.loads(line)["text"].strip()
                m = re.match(r"^(\d+(?:\.\w+)?) - ", text)
                if m:
                    out.setdefault(m.group(1), text)
    return out


def _title(text: str, lang: str, gid: str) -> str:
    text = re.sub(r"\s+", " ", text.replace("إالى", "إلى")).strip()
    if lang == "ru" and gid == "17":
        text = re.sub(r"\s*Финансирование$", "", text)
    return text


def goal_keywords(g: dict[str, str], lang: str) -> str:
    gid = g["goal"].strip()
    src = "zh-Hans" if lang == "zh" else lang
    title = _title(g.get(f"title_{src}", ""), lang, gid)
    terms = [title] if title else []
    terms += [t for t in GOAL_KEYWORDS.get(gid, {}).get(lang, "").split("|") if t and t not in terms]
    return "|".join(terms)


def _read(name: str) -> list[dict[str, str]]:
    with (SDG_DIR / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _row(**kw) -> dict[str, str]:
    return {c: kw.get(c, "") for c in COLUMNS}


def _aliases(*names: str) -> str:
    return "|".join(dict.fromkeys(a for a in names if a))


def build(jrc: Path, uhri: Path | None = None) -> tuple[list[dict], list[dict]]:
    terms = read_jrc(jrc)
    uhri_names = read_uhri(uhri)
    goals = []
    for g in _read("sdg_goals.csv"):
        gid = g["goal"].strip()
        goals.append(_row(
            id=gid, name_en=g["short_en"], name_es=g["short_es"], name_fr=g["short_fr"], name_ar=g["short_ar"],
            name_ru=g["short_ru"], name_zh=g["short_zh-Hans"], name_pt=NAME_PT.get(gid, ""),
            description_en=g["title_en_official"], keywords_en="|".join(goal_terms(gid, terms)),
            **{f"keywords_{lg}": goal_keywords(g, lg) for lg in ("es", "fr", "ar", "ru", "zh", "pt")},
            aliases=_aliases(f"SDG {gid}", f"Goal {gid}", f"{gid} - {g['short_en']}", uhri_names.get(gid, "")),
            source=SOURCE))
    targets = []
    for t in _read("sdg_targets.csv"):
        tid = t["target"].strip()
        targets.append(_row(
            id=tid, parent=t["goal"].strip(), name_en=t["text_en_official"], name_es=t["text_es"],
            name_fr=t["text_fr"], name_ar=t["text_ar"], name_ru=t["text_ru"], name_zh=t["text_zh-Hans"],
            description_en=t["text_en_official"], keywords_en="|".join(select_terms(terms.get(tid, []))),
            aliases=_aliases(f"Target {tid}", uhri_names.get(tid, "")), source=SOURCE))
    return goals, targets


def write(rows: list[dict], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jrc", type=Path, default=DEFAULT_JRC, help="jrc_sdg_mapper_terms_long.csv")
    ap.add_argument("--uhri", type=Path, default=DEFAULT_UHRI, help="UHRI SDGs.jsonl (optional)")
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args(argv)
    goals, targets = build(args.jrc, args.uhri)
    write(goals, args.out / "sdg_goal.csv")
    write(targets, args.out / "sdg_target.csv")
    missing = [r["id"] for r in goals + targets if not r["keywords_en"]]
    print(f"sdg_goal.csv: {len(goals)} rows; sdg_target.csv: {len(targets)} rows; without keywords: {missing or 'none'}")


if __name__ == "__main__":
    main()
