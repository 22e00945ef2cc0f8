"""The labelled pair files in evaluation/gold/ (ids and labels only, no texts): the gold, the two training and
the test sets never share a (State, session) group, so no gold or test pair, nor its group, is ever trained on."""

import csv
from pathlib import Path

GOLD = Path(__file__).resolve().parents[1] / "evaluation" / "gold"
LABELS = {"duplicate", "related", "different"}


def _rows(name: str) -> list[dict]:
    with open(GOLD / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _groups(rows: list[dict]) -> set[tuple[str, str]]:
    return {(r["state_under_review"], r["session"]) for r in rows}


def test_pair_files_are_disjoint_by_group_and_well_formed():
    gold, train, held = _rows("upr_pairs.csv"), _rows("upr_pairs_train.csv"), _rows("upr_pairs_train2.csv")
    test, train3, test2 = _rows("upr_pairs_test.csv"), _rows("upr_pairs_train3.csv"), _rows("upr_pairs_test2.csv")
    files = (gold, train, held, test, train3, test2)
    assert [len(f) for f in files] == [340, 240, 240, 240, 720, 480]
    for i, a in enumerate(files):
        for b in files[i + 1:]:
            assert not _groups(a) & _groups(b)
    for rows in files:
        assert {r["label"] for r in rows} == LABELS
        assert len({r["pair_id"] for r in rows}) == len(rows)
        assert all(r["id_a"] != r["id_b"] and r["reason"].strip() for r in rows)
        # both texts of a pair: same State under review, same session, different recommending States
        for r in rows:
            sa, sua, ra, _ = r["id_a"].split("|")
            sb, sub, rb, _ = r["id_b"].split("|")
            assert (sa, sua) == (sb, sub) == (r["session"], r["state_under_review"]) and ra != rb
    assert {r["reader"] for r in held} == {"A", "B"}
    # every file was read twice: the adjudicated label is one of the two readings, and every
    # disagreement says how it was settled
    for r in (r for rows in files for r in rows):
        assert r["label_1"] in LABELS and r["label_2"] in LABELS and r["reason_2"].strip()
        assert r["label"] in (r["label_1"], r["label_2"])
        assert bool(r["adjudication"].strip()) == (r["label_1"] != r["label_2"])
