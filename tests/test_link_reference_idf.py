"""The link scorer's reference IDF: a small store weighs words on the scale the scorer was trained on,
instead of on its own few hundred texts (where "ensure" and "children" become rare and unrelated asks
look alike)."""

from __future__ import annotations

import collections
import csv
import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nrtd_nlp.cli import app
from nrtd_nlp.link import idf, reference_idf
from nrtd_nlp.link.reference_idf import Reference, build, document_frequencies, pooled_idf
from tests.test_links import linked_engine, scorer_dir  # noqa: F401  (fixtures)

SHIPPED = Path(__file__).resolve().parents[1] / "nrtd_nlp" / "models" / "link_scorer"

BIRTH = "Ensure that all children are registered immediately after birth and that birth registration is free of charge"
SCHOOL = "Ensure access to inclusive education for all children with disabilities in mainstream schools"
SMALL_STORE = [BIRTH, SCHOOL,
               "Ratify the Optional Protocol to the Convention against Torture",
               "Abolish the death penalty and commute all death sentences",
               "Adopt a comprehensive law against all forms of violence against women",
               "Ensure that women have effective access to justice",
               "Strengthen the independence of the national human rights institution",
               "Guarantee freedom of expression and protect journalists"]


def _cos(vec, a: str, b: str) -> float:
    m = vec.transform([a, b])
    return float(m[0].multiply(m[1]).sum())


def test_without_a_reference_it_is_the_stores_own_idf():
    texts = SMALL_STORE + ["Ensure that all children are registered at birth", "Abolish the death penalty"]
    mine = idf.fit_vectorizer(texts)
    sk = idf.make_vectorizer().fit(texts)
    assert mine.vocabulary_ == sk.vocabulary_
    assert np.allclose(mine.idf_, sk.idf_)


def test_the_shipped_bundle_carries_its_reference_and_the_manifest_names_it():
    path = SHIPPED / reference_idf.FILE
    meta = json.loads((SHIPPED / "manifest.json").read_text())
    entry = meta["reference_idf"]
    assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    ref = reference_idf.load(SHIPPED)
    assert set(ref.documents) >= {"en", "es", "fr", "ar", "ru"}
    assert ref.documents["en"] > 30000 and entry["documents"] == ref.documents
    assert entry["sources"][0]["sha256"] == meta["training_data"]["corpus_sha256"]  # English: the training corpus
    body = json.loads(gzip.decompress(path.read_bytes()))
    assert set(body) == {"params", "languages", "sources"}  # counts only, no text


def test_a_small_store_pooled_with_the_reference_keeps_unrelated_asks_apart():
    ref = reference_idf.load(SHIPPED)
    langs = ["en"] * len(SMALL_STORE)
    alone = idf.fit_vectorizer(SMALL_STORE, langs)
    pooled = idf.fit_vectorizer(SMALL_STORE, langs, ref)
    # on eight texts alone, the few shared words ("ensure", "children") carry the pair
    assert _cos(alone, BIRTH, SCHOOL) > 0.3
    assert _cos(pooled, BIRTH, SCHOOL) < 0.1
    # a word the reference knows keeps (almost) the reference's weight; the pool adds the store's counts
    n, df = ref.documents["en"], ref.df["en"]["children"]
    expected = np.log((1 + n + 8) / (1 + df + 2)) + 1
    assert pooled.idf_[pooled.vocabulary_["children"]] == pytest.approx(expected)


def test_a_store_word_the_reference_lacks_joins_with_its_store_counts():
    ref = Reference({"en": 100}, {"en": {"torture": 10, "children": 40}}, "x", [])
    texts = ["Amend the Zorblat Act on torture", "Repeal the Zorblat Act", "Protect children"]
    vocab, w = pooled_idf(ref, texts, ["en"] * 3)
    assert w[vocab["zorblat"]] == pytest.approx(np.log(104 / 3) + 1)
    assert w[vocab["torture"]] == pytest.approx(np.log(104 / 12) + 1)
    assert "repeal" not in vocab  # one document in the whole pool


def test_a_word_spelt_alike_in_two_languages_takes_the_weight_of_the_language_using_it():
    ref = Reference({"en": 1000, "fr": 100}, {"en": {"violence": 50}, "fr": {"violence": 60}}, "x", [])
    en_store = ["End violence now", "Violence against women"]
    vocab, w = pooled_idf(ref, en_store, ["en", "en"])
    assert w[vocab["violence"]] == pytest.approx(np.log(1003 / 53) + 1)
    vocab, w = pooled_idf(ref, ["Violence conjugale", "La violence"], ["fr", "fr"])
    assert w[vocab["violence"]] == pytest.approx(np.log(103 / 63) + 1)
    vocab, w = pooled_idf(ref, [], [])  # no store: the largest pool decides
    assert w[vocab["violence"]] == pytest.approx(np.log(1001 / 51) + 1)


def test_the_store_state_records_its_reference_and_is_refitted_for_another(tmp_path):
    body = build({"en": SMALL_STORE * 2})
    folder = tmp_path / "bundle"
    sha = reference_idf.save(body, folder)
    assert reference_idf.save(body, tmp_path / "again") == sha  # same body, same bytes
    ref = reference_idf.load(folder)
    assert ref.sha256 == sha and ref.documents == {"en": 16}
    path = tmp_path / idf.FILE
    vec = idf.fit_vectorizer(SMALL_STORE, None, ref)
    idf.save(vec, 8, path, ref.sha256)
    assert idf.load(path, ref.sha256) is not None
    assert idf.load(path, None) is None and idf.load(path, "another") is None


def test_store_tfidf_uses_the_scorers_reference(linked_engine, scorer_dir):
    held = idf.store_tfidf(linked_engine, scorer_dir)  # the test bundle has no reference: the store alone
    assert idf.store_tfidf(linked_engine, scorer_dir) is held
    sha = reference_idf.save(build({"en": SMALL_STORE * 2}), scorer_dir)
    vec = idf.store_tfidf(linked_engine, scorer_dir)
    assert vec is not held  # another reference: refitted, and the file says which
    body = json.loads(gzip.decompress((linked_engine.settings.index_dir / idf.FILE).read_bytes()))
    assert body["reference"] == sha
    assert "children" in vec.vocabulary_


runner = CliRunner()


def _corpus(tmp_path) -> Path:
    p = tmp_path / "corpus.csv"
    with p.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "text", "country"])
        for i, t in enumerate(SMALL_STORE * 2):
            w.writerow([f"r{i}", t, "Utopia"])
    return p


def test_idf_only_adds_the_reference_to_an_existing_bundle(tmp_path, scorer_dir):
    corpus = _corpus(tmp_path)
    r = runner.invoke(app, ["train-links", "--corpus", str(corpus), "--out", str(scorer_dir), "--idf-only", "--json"])
    assert r.exit_code == 0, r.output
    entry = json.loads(r.stdout)
    assert entry["documents"] == {"en": 16}
    meta = json.loads((scorer_dir / "manifest.json").read_text())
    assert meta["reference_idf"] == entry and (scorer_dir / "model.json").exists()
    assert document_frequencies(SMALL_STORE * 2)["children"] == reference_idf.load(scorer_dir).df["en"]["children"]


def test_idf_only_refuses_a_folder_without_a_bundle_and_another_corpus(tmp_path, scorer_dir):
    from tests.test_cli_edges import run

    corpus = _corpus(tmp_path)
    (tmp_path / "empty").mkdir()
    line = run("train-links", "--corpus", corpus, "--out", tmp_path / "empty", "--idf-only")
    assert "out" in line and "no link-scorer bundle" in line
    meta = json.loads((scorer_dir / "manifest.json").read_text())
    meta["training_data"] = {"corpus": "upr.csv", "corpus_sha256": "0" * 64}
    (scorer_dir / "manifest.json").write_text(json.dumps(meta))
    line = run("train-links", "--corpus", corpus, "--out", scorer_dir, "--idf-only")
    assert "corpus" in line and "not the corpus this scorer was trained on" in line
    assert not (scorer_dir / reference_idf.FILE).exists()


# -- Chinese: character bigrams, not whole clauses -------------------------------------------------

ZH_A = "废除死刑，并在废除之前正式暂停执行死刑"
ZH_B = "正式暂停执行死刑，以期废除死刑"
ZH_C = "确保所有儿童出生后立即免费登记"


def test_chinese_runs_become_character_bigrams_for_the_link_features():
    from nrtd_nlp.link.asks import parse
    from nrtd_nlp.link.features import _jac

    analyzer = idf.make_vectorizer().build_analyzer()
    assert {"废除", "死刑", "暂停"} <= set(analyzer(ZH_A))
    assert "ratify op" in analyzer("Ratify the OP-CAT")  # other scripts as before
    vec = idf.fit_vectorizer([ZH_A, ZH_B, ZH_C, "Ratify the OP-CAT", "Abolish the death penalty"],
                             ["zh", "zh", "zh", "en", "en"], reference_idf.load(SHIPPED))
    # as whole clauses the two death-penalty texts shared no term at all
    assert _cos(vec, ZH_A, ZH_B) > 0.3 > 0.05 > _cos(vec, ZH_A, ZH_C)
    a, b, c = parse(ZH_A), parse(ZH_B), parse(ZH_C)
    assert _jac(a.words, b.words) > 0.3 and _jac(a.words, c.words) == 0
    assert parse("Ratify the OP-CAT now").words >= {"ratify", "cat", "now"}


def _demo_gold(path: Path, demo_csv: Path, n_pairs: int) -> Path:
    """Pairs of demo records, labelled in turn duplicate / related / different (a pipeline check, not a
    quality one)."""
    with demo_csv.open(encoding="utf-8") as f:
        ids = [r["id"] for r in csv.DictReader(f)]
    labels = ("duplicate", "related", "different")
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["pair_id", "id_a", "id_b", "label"])
        for k in range(n_pairs):
            w.writerow([f"p{k:03d}", ids[k % len(ids)], ids[(k * 7 + 3) % len(ids)], labels[k % 3]])
    return path


def test_train_links_writes_the_reference_it_learnt_with(tmp_path, test_embedder, demo_csv, monkeypatch):
    from nrtd_nlp.link import train as train_mod
    from nrtd_nlp.link.scorer import PairScorer
    from nrtd_nlp.link.train import train

    sdg = train_mod._sdg_path().read_text(encoding="utf-8").splitlines()
    small = tmp_path / "sdg_targets.csv"  # 24 of the 169 targets: the cross-lingual pairs, in less time
    small.write_text("\n".join(sdg[:25]) + "\n", encoding="utf-8")
    monkeypatch.setattr(train_mod, "_sdg_path", lambda: small)
    out = tmp_path / "bundle"
    meta = train(test_embedder, _demo_gold(tmp_path / "gold.csv", demo_csv, 30), demo_csv, out)
    entry = meta["reference_idf"]
    assert entry["sha256"] == hashlib.sha256((out / reference_idf.FILE).read_bytes()).hexdigest()
    with demo_csv.open(encoding="utf-8") as f:
        langs = collections.Counter(r["language"].split("-")[0] for r in csv.DictReader(f))
    assert entry["documents"] == dict(langs)  # the corpus's own languages, from its language column
    scorer = PairScorer.load(out)
    assert reference_idf.load(scorer.folder).sha256 == entry["sha256"]
    # a run that fails (too few pairs for 5 folds) leaves the bundle as it was
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(ValueError):
        train(test_embedder, _demo_gold(tmp_path / "few.csv", demo_csv, 4), demo_csv, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
