"""The label-set data files in nrtd_nlp/corpora/labels/: schema, ids, parents, and that every label the shared
annotated data uses (UPR Info issues, UHRI themes, affected persons, SDGs) maps onto exactly one of our ids."""

from __future__ import annotations

import csv
import importlib.util
import re
import unicodedata
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import SHARED

LABELS = Path(__file__).resolve().parents[1] / "nrtd_nlp" / "corpora" / "labels"
LANGS = ("en", "es", "fr", "ar", "ru", "zh", "pt")
COLUMNS = (["id", "parent"] + [f"name_{lg}" for lg in LANGS] + ["description_en"]
           + [f"keywords_{lg}" for lg in LANGS] + ["aliases", "source"])
TASKS = ("upr_issue", "action_category", "affected_group", "uhri_theme", "sdg_goal", "sdg_target")
CROSS_PARENT = {"sdg_target": "sdg_goal"}  # a target's parent is a goal id


def read(task: str) -> list[dict[str, str]]:
    with (LABELS / f"{task}.csv").open(encoding="utf-8", newline="") as f:
        r = csv.DictReader(f)
        assert r.fieldnames == COLUMNS, f"{task}: columns {r.fieldnames}"
        return list(r)


def shared(rel: str) -> Path:
    p = SHARED / rel
    if not p.exists():
        pytest.skip(f"../shared/{rel} is not present")
    return p


def read_shared(rel: str) -> list[dict[str, str]]:
    with shared(rel).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def norm_key(s: str) -> str:
    """Case-, punctuation- and '&'-insensitive key, as the label loader matches names and aliases."""
    s = unicodedata.normalize("NFKC", s).casefold().replace("’", "'").replace("&", " and ")
    return re.sub(r"[\W_]+", " ", s).strip()


def split(v: str) -> list[str]:
    return v.split("|") if v else []


def exact_index(rows: list[dict]) -> dict[str, set[str]]:
    """Label text (name_en or alias, exactly as written) -> ids carrying it."""
    idx: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        for s in [r["name_en"], *split(r["aliases"])]:
            idx[s].add(r["id"])
    return idx


def assert_maps_once(rows: list[dict], labels: set[str], what: str) -> None:
    idx = exact_index(rows)
    missing = sorted(lab for lab in labels if not idx.get(lab))
    ambiguous = sorted(lab for lab in labels if len(idx.get(lab, ())) > 1)
    assert not missing, f"{what} labels without an id: {missing}"
    assert not ambiguous, f"{what} labels on more than one id: {ambiguous}"
    keys: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        for s in [r["name_en"], *split(r["aliases"])]:
            keys[norm_key(s)].add(r["id"])
    assert all(len(keys[norm_key(lab)]) == 1 for lab in labels)


@pytest.mark.parametrize("task", TASKS)
def test_file_schema_ids_names_parents(task):
    rows = read(task)
    assert rows, task
    ids = [r["id"] for r in rows]
    assert all(i and i == i.strip() for i in ids)
    assert len(ids) == len(set(ids)), f"{task}: duplicate ids"
    assert all(r["name_en"].strip() for r in rows), f"{task}: empty name_en"
    assert all(r["source"].strip() for r in rows), f"{task}: empty source"
    parents = set(ids) if task not in CROSS_PARENT else {r["id"] for r in read(CROSS_PARENT[task])}
    bad = [(r["id"], r["parent"]) for r in rows if r["parent"] and r["parent"] not in parents]
    assert not bad, f"{task}: unknown parents {bad}"
    for r in rows:  # no cycles within a file
        seen, p = {r["id"]}, r["parent"]
        while p and task not in CROSS_PARENT:
            assert p not in seen, f"{task}: parent cycle at {r['id']}"
            seen.add(p)
            p = next(x["parent"] for x in rows if x["id"] == p)
    for r in rows:
        for col in [f"keywords_{lg}" for lg in LANGS] + ["aliases"]:
            parts = split(r[col])
            assert all(p and p == p.strip() for p in parts), f"{task} {r['id']} {col}: empty or padded item"
            assert len(parts) == len(set(parts)), f"{task} {r['id']} {col}: repeated item"


@pytest.mark.parametrize("task", TASKS)
def test_names_and_aliases_resolve_to_one_id(task):
    """Any id, name (any language) or alias normalises to a key owned by a single label."""
    owners: dict[str, set[str]] = defaultdict(set)
    for r in read(task):
        for s in [r["id"], *(r[f"name_{lg}"] for lg in LANGS), *split(r["aliases"])]:
            if s:
                owners[norm_key(s)].add(r["id"])
    clashes = {k: v for k, v in owners.items() if len(v) > 1}
    assert not clashes, f"{task}: keys shared by several labels: {clashes}"


@pytest.mark.parametrize("task", ("upr_issue", "action_category", "affected_group", "uhri_theme"))
def test_hand_written_keywords_in_range(task):
    for r in read(task):
        n_en = len(split(r["keywords_en"]))
        assert 5 <= n_en <= 15, f"{task} {r['id']}: {n_en} English keywords"
        for lg in LANGS[1:]:
            n = len(split(r[f"keywords_{lg}"]))
            assert n == 0 or 3 <= n <= 8, f"{task} {r['id']}: {n} keywords_{lg}"
        assert r["description_en"].strip(), f"{task} {r['id']}: no description"


def test_upr_issue_names_equal_database_export_labels():
    rows = read("upr_issue")
    assert len(rows) == 54
    issues = read_shared("taxonomies/upr_info/issues.csv")
    assert sorted(r["name_en"] for r in rows) == sorted(i["issue_label_in_database_export"] for i in issues)
    by_name = {r["name_en"]: r for r in rows}
    for i in issues:  # the 2014 methodology spelling is an alias where it differs
        old, new = i["issue_label_methodology_2014"], i["issue_label_in_database_export"]
        if old != new:
            assert old in split(by_name[new]["aliases"])


def test_action_categories():
    rows = read("action_category")
    assert [r["id"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert all(r["name_en"].startswith(r["id"] + " ") for r in rows)
    cats = read_shared("taxonomies/upr_info/action_categories.csv")
    assert {c["category"] for c in cats} == {r["id"] for r in rows}


def test_uhri_theme_labels_map_to_exactly_one_id():
    rows = read("uhri_theme")
    labels = set()
    for r in read_shared("corpora/uhri-thematic-lists/slovenia_upr_c2-c3.csv"):
        labels |= {t.strip() for t in split(r["themes"]) + [r["primary_theme"]] if t.strip()}
    for r in read_shared("taxonomies/uhri/uhri_themes_observed.csv"):
        labels.add(f"{r['code']} {r['theme']}" if r["code"] else r["theme"])
    assert len(labels) > 100
    assert_maps_once(rows, labels, "UHRI theme")
    # cycle-2 coded labels and their cycle-3/4 wordings share an id where UHRI renamed a theme
    idx = exact_index(rows)
    assert idx["A12 Acceptance of international norms"] == idx["Ratification of & accession to international instruments"]
    assert idx["G1 Members of minorities"] == idx["Members of minorities"]


def test_affected_person_labels_map_to_exactly_one_id():
    rows = read("affected_group")
    labels = {r["label"] for r in read_shared("taxonomies/uhri/uhri_affected_persons_observed.csv")}
    for r in read_shared("corpora/uhri-thematic-lists/slovenia_upr_c2-c3.csv"):
        labels |= {t.strip() for t in split(r["affected_persons"]) if t.strip()}
    assert len(labels) > 40
    assert_maps_once(rows, labels, "UHRI affected persons")


def test_sdg_files_and_uhri_sdg_labels():
    goals, targets = read("sdg_goal"), read("sdg_target")
    assert [g["id"] for g in goals] == [str(i) for i in range(1, 18)]
    assert len(targets) == 169
    assert all(t["id"].split(".")[0] == t["parent"] for t in targets)
    assert all(g["keywords_en"] and g["name_es"] and g["name_zh"] for g in goals)
    labels = set()
    for r in read_shared("corpora/uhri-thematic-lists/slovenia_upr_c2-c3.csv"):
        labels |= {t.strip() for t in split(r["sdgs"]) if t.strip()}
    assert_maps_once(goals, labels, "UHRI SDG")


def test_build_sdg_reproduces_committed_files(tmp_path):
    jrc = shared("taxonomies/keywords_jrc_sdgmapper/jrc_sdg_mapper_terms_long.csv")
    uhri = shared("corpora/uhri-multilingual/SDGs.jsonl")
    spec = importlib.util.spec_from_file_location("build_sdg", LABELS / "build_sdg.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(["--jrc", str(jrc), "--uhri", str(uhri), "--out", str(tmp_path)])
    for name in ("sdg_goal.csv", "sdg_target.csv"):
        assert (tmp_path / name).read_text(encoding="utf-8") == (LABELS / name).read_text(encoding="utf-8")
    assert mod.select_terms(["SDG 5", "Sustainable Development Goal 5", "rape women", "women rape", "a|b", "x"]) == \
        ["rape women", "x"]
