"""Sample UPR Info recommendations for the responsible-institution gold set.

    python evaluation/gold/sample_upr_institutions.py [--out /tmp/institutions/candidates.jsonl]

No labelled ministry-assignment data exists in ../shared (the ``institutions`` column of
upr-info/v1_testing3 lists treaties such as CRPD or OP, not ministries), so a small gold set was
labelled by hand. The sample is spread over the 54 UPR Info issues: the issues are visited in a
seeded random order and, for each, ``PER_ISSUE`` recommendations carrying that issue are drawn
(seed ``SEED``) among rows with a numeric session, a recognisable recommending State and at least
40 characters, skipping rows already drawn. Texts go to --out, OUTSIDE the repository (licence);
evaluation/gold/institutions.csv keeps only the stable ids, a text hash prefix and the labels.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sampling import load_upr, outside_repo  # noqa: E402

SEED = 20261123
PER_ISSUE = 3
N = 150


def sample() -> list:
    recs, valid = load_upr()
    by_issue = collections.defaultdict(list)
    for r in recs:
        if not (r.session or "").isdigit() or r.recommending_state not in valid or len(r.text.strip()) < 40:
            continue
        if r.recommending_state == r.country:
            continue
        for issue in (r.extra or {}).get("upr_info_issues") or []:
            by_issue[issue].append(r)
    rng = random.Random(SEED)
    issues = sorted(by_issue)
    rng.shuffle(issues)
    chosen, seen = [], set()
    for issue in issues:
        pool = [r for r in by_issue[issue] if r.external_id not in seen]
        for r in rng.sample(pool, min(PER_ISSUE, len(pool))):
            seen.add(r.external_id)
            chosen.append((issue, r))
    return chosen[:N]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/institutions/candidates.jsonl")
    out = outside_repo(ap.parse_args().out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = sample()
    with open(out, "w", encoding="utf-8") as f:
        for i, (issue, r) in enumerate(rows):
            f.write(json.dumps({"n": i, "id": r.external_id, "sampled_issue": issue,
                                "issues": (r.extra or {}).get("upr_info_issues"), "country": r.country,
                                "sha1": hashlib.sha1(r.text.encode("utf-8")).hexdigest()[:12],
                                "text": r.text}, ensure_ascii=False) + "\n")
    print(f"{len(rows)} candidates over {len({i for i, _ in rows})} issues -> {out}")


if __name__ == "__main__":
    main()
