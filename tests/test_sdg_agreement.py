"""The second reading of the UHRI records, scored against UHRI's SDG goals like the model."""

from evaluation.sdg_agreement import SECOND_READING, agreement, load_reading


def test_agreement_scores_first_goal_against_gold_per_mechanism():
    reading = {"a": ["16", "5"], "b": ["10"], "c": ["4"], "d": ["3"]}
    records = [("a", "UPR", ["16"], "16"),  # both hit
               ("b", "CAT", ["16", "17"], "16"),  # model hits, reading misses
               ("c", "CAT", ["5"], "1"),  # both miss
               ("d", "UPR", ["3"], "5"),  # reading hits
               ("e", "UPR", ["8"], "8")]  # not read: left out
    r = agreement(records, reading)
    assert r["n"] == 4
    assert r["model"] == 0.5 and r["second_reading"] == 0.5
    assert r["both_miss"] == 0.25 and r["either_hits"] == 0.75
    assert r["model_equals_reading"] == 0.25
    assert r["by_mechanism"]["CAT"] == {"n": 2, "model": 0.5, "second_reading": 0.0}
    assert r["by_mechanism"]["UPR"] == {"n": 2, "model": 0.5, "second_reading": 1.0}
    assert agreement(records, {}) == {"n": 0}


def test_shipped_reading_covers_every_record_with_valid_goals():
    reading = load_reading(SECOND_READING)
    assert len(reading) == 424
    goals = {str(g) for g in range(1, 18)}
    assert all(gs and set(gs) <= goals and len(set(gs)) == len(gs) for gs in reading.values())
