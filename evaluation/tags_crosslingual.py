"""The UPR Info taggers (action category, UPR issues) in six languages, on the UPR paragraphs of the UHRI
export, which gives each recommendation in English, French, Spanish, Arabic, Russian and Chinese.

Two measures per language, both on the text as an import reads it (``normalise_recommendation``):
- agreement with what the English version gets (not ground truth, but a text and its translation that get
  different tags cannot both be right): for the action category, the share answered (not "not sure") and
  the agreement among the answered; for issues, the asserted labels shared with the English ones (P, R);
- accuracy against UPR Info's own labels, for the paragraphs whose English text is found verbatim in the
  UPR Info export (their session says whether the shipped bundle trained on it: sessions 1-16 did).

    python -m evaluation.tags_crosslingual [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
UHRI = CORPORA / "uhri-multilingual" / "uhri_multilingual_dev.csv"
UPR = CORPORA / "upr-info" / "upr_info_sessions01-18.csv"
LANGS = ("en", "es", "fr", "ar", "ru", "zh")


def _key(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def run(engine=None, sample: int | None = None) -> dict:
    """``sample``: the first N UPR paragraphs only (the notebook's quick run in CI)."""
    from nrtd_nlp.classify.labels import load_labels
    from nrtd_nlp.ingest.normalise import normalise_recommendation
    from nrtd_nlp.services.context import Engine
    from nrtd_nlp.services.tags import tag_texts

    engine = engine or Engine()
    with UHRI.open(encoding="utf-8") as f:
        paras = [u for u in csv.DictReader(f) if u["mechanism_from_symbol"] == "UPR"]
    paras = paras[:sample] if sample else paras
    with UPR.open(encoding="utf-8") as f:
        upr = {_key(r["Text"]): r for r in csv.DictReader(f)}
    issue_ids = {lab.name().lower(): lab.id for lab in load_labels("upr_issue", engine.settings.home).labels}

    def norm(t: str) -> str:
        return normalise_recommendation(t, upr=True)[0]

    def tag(texts: list[str], lang: str, task: str) -> list[dict]:
        out = []
        for i in range(0, len(texts), 64):
            chunk = texts[i:i + 64]
            out += [r["tags"][task] for r in tag_texts(engine, chunk, tasks=[task], languages=[lang] * len(chunk))]
        return out

    gold = {i: upr[_key(norm(u["en"]))] for i, u in enumerate(paras) if _key(norm(u["en"])) in upr}
    res: dict = {"paragraphs": len(paras), "with_upr_info_labels": len(gold),
                 "of_which_in_training_sessions": sum(int(g["Session"]) <= 16 for g in gold.values()
                                                      if g["Session"].isdigit()),
                 "models": {}, "action_category": {}, "upr_issue": {}}
    for task in ("action_category", "upr_issue"):
        en = tag([norm(u["en"]) for u in paras], "en", task)
        en_top = [r["tags"][0]["id"] for r in en]
        en_sets = [{t["id"] for t in r["tags"] if t["asserted"]} for r in en]
        for lang in LANGS:
            got = tag([norm(u[lang]) for u in paras], lang, task)
            row: dict = {}
            if task == "action_category":
                answered = [i for i, r in enumerate(got) if not r["abstain"]]
                agree = sum(got[i]["tags"][0]["id"] == en_top[i] for i in answered)
                row.update(answered=len(answered), agreeing_with_english=round(agree / max(len(answered), 1), 3))
                g_ans = [i for i in gold if i in answered]
                right = sum(got[i]["tags"][0]["id"] == gold[i]["Action"] for i in g_ans)
                right_all = sum(got[i]["tags"][0]["id"] == gold[i]["Action"] for i in gold)
                row.update(gold_accuracy_top1=round(right_all / max(len(gold), 1), 3),
                           gold_answered=len(g_ans), gold_accuracy_when_answered=round(right / max(len(g_ans), 1), 3))
            else:
                sets = [{t["id"] for t in r["tags"] if t["asserted"]} for r in got]
                tp = sum(len(a & b) for a, b in zip(sets, en_sets))
                row.update(asserted=sum(map(len, sets)), english_asserted=sum(map(len, en_sets)),
                           shared_precision=round(tp / max(sum(map(len, sets)), 1), 3),
                           shared_recall=round(tp / max(sum(map(len, en_sets)), 1), 3),
                           abstain=sum(r["abstain"] for r in got))
                gtp = gp = gn = 0
                for i, g in gold.items():
                    truth = {issue_ids.get(x.strip().lower()) for x in g["Issue"].split("|")} - {None}
                    gtp += len(sets[i] & truth)
                    gp += len(sets[i])
                    gn += len(truth)
                row["gold_micro_f1"] = round(2 * gtp / max(gp + gn, 1), 3)
            res[task][lang] = row
        res["models"][task] = engine.taggers.get(task).agent
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    res = run()
    if args.json:
        print(json.dumps(res, indent=1))
        return
    print(f"{res['paragraphs']} UPR paragraphs of the UHRI export; {res['with_upr_info_labels']} found in UPR Info "
          f"({res['of_which_in_training_sessions']} from the sessions the shipped bundles trained on)")
    print(f"\naction category {'':4} answered  agree(en)  gold top-1  gold answered  gold acc. answered")
    for lang, r in res["action_category"].items():
        print(f"  {lang:18} {r['answered']:8d} {r['agreeing_with_english']:10.3f} {r['gold_accuracy_top1']:11.3f} "
              f"{r['gold_answered']:14d} {r['gold_accuracy_when_answered']:19.3f}")
    print(f"\nUPR issues {'':9} asserted  shared P  shared R  abstain  gold micro-F1")
    for lang, r in res["upr_issue"].items():
        print(f"  {lang:18} {r['asserted']:8d} {r['shared_precision']:9.3f} {r['shared_recall']:9.3f} "
              f"{r['abstain']:8d} {r['gold_micro_f1']:14.3f}")


if __name__ == "__main__":
    main()
