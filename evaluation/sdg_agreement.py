"""How far a second, independent reading of the UHRI records agrees with UHRI's SDG goals.

``evaluation/audits/uhri_sdg_second_reading.csv`` holds one careful reading of the 424 English records of
uhri-multilingual (goals most relevant first), made without seeing UHRI's goals, following
``evaluation/audits/sdg_reading_guide.md``. Scored like the model (its first goal among UHRI's goals), it
tells what top-1 in gold a reader reaches on these annotations: the ceiling the model is measured against.
"""

from __future__ import annotations

import csv
from pathlib import Path

SECOND_READING = Path(__file__).resolve().parent / "audits" / "uhri_sdg_second_reading.csv"


def load_reading(path: Path = SECOND_READING) -> dict[str, list[str]]:
    """annotationId → goals (most relevant first)."""
    with open(path, encoding="utf-8", newline="") as f:
        return {r["annotationId"]: [g for g in r["goals"].split("|") if g] for r in csv.DictReader(f)}


def agreement(records: list[tuple[str, str, list[str], str]], reading: dict[str, list[str]]) -> dict:
    """``records``: (annotationId, mechanism, gold goals, model's top goal) for English records.

    Returns top-1 in gold of the model and of the reading over the records the reading covers, per
    mechanism, and how often both miss (the records no reader of the text recovers from it)."""
    rows = [(m, set(g), top, reading[a][0]) for a, m, g, top in records if reading.get(a)]
    if not rows:
        return {"n": 0}

    def score(sub):
        n = len(sub)
        return {"n": n, "model": round(sum(t in g for _, g, t, _ in sub) / n, 4),
                "second_reading": round(sum(r in g for _, g, _, r in sub) / n, 4)}

    out = score(rows)
    out["both_miss"] = round(sum(t not in g and r not in g for _, g, t, r in rows) / len(rows), 4)
    out["either_hits"] = round(sum(t in g or r in g for _, g, t, r in rows) / len(rows), 4)
    out["model_equals_reading"] = round(sum(t == r for _, _, t, r in rows) / len(rows), 4)
    out["by_mechanism"] = {m: score([x for x in rows if x[0] == m]) for m in sorted({x[0] for x in rows})}
    return out
