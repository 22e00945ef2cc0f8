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
