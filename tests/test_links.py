import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from nrtd_nlp.link.asks import find_instruments, parse
from nrtd_nlp.link.explain import explain
from nrtd_nlp.link.features import FEATURES
from nrtd_nlp.link.pairs import featurize, fit_tfidf
from nrtd_nlp.link.scorer import CROSS_FEATURES, PairScorer, fit_head
from tests.conftest import act_as


def test_instruments_and_atomic_asks():
    assert find_instruments("Ratify the Optional Protocol to the Convention against Torture") == ["OP-CAT"]
    assert find_instruments("Accede to the Convention against Torture and Other Cruel, Inhuman or Degrading "
                            "Treatment or Punishment and its Optional Protocol") == ["CAT", "OP-CAT"]
    assert find_instruments("Ratify the CRC and its two Optional Protocols") == ["CRC", "OP-CRC-AC", "OP-CRC-SC"]
    assert find_instruments("Ratify the Second Optional Protocol to the ICCPR") == ["ICCPR-OP2"]
    assert find_instruments("Protect the cat") == []  # acronyms are case-sensitive
    a = parse("Ratify the ICCPR, the ICESCR, the CAT and the CERD")
    b = parse("Ratify the CAT and ICERD")
    assert a.action == b.action == "ratify"
    assert set(a.atomic) & set(b.atomic) == {("ratify", "CAT"), ("ratify", "CERD")}
    assert parse("Consider ratifying OP-CAT").action == "ratify"
    assert parse("Withdraw its reservations to CEDAW").action == "withdraw_reservations"
    assert parse("Establish a national preventive mechanism under OP-CAT").action == "establish"


def test_protocols_named_through_their_parents_and_icc_accreditation():
    assert find_instruments("Consider adhering to the Optional Protocols to ICESR and CRPD as well as the "
                            "Optional Protocol to ICCPR and to CED") == ["ICESCR-OP", "OP-CRPD", "ICCPR-OP1", "CPED"]
    assert find_instruments("Ratify the optional protocols to the Convention on the Elimination of All Forms of "
                            "Discrimination against Women and the Convention against Torture") == ["OP-CEDAW", "OP-CAT"]
    assert find_instruments("Ratify the Optional Protocol to the Convention on the Rights of the Child on the "
                            "Sale of Children, Child Prostitution and Child Pornography") == ["OP-CRC-SC"]
    assert find_instruments("Ratify the Optional Protocol to the Convention against Torture and align its laws "
                            "with the Convention on the Rights of the Child") == ["OP-CAT", "CRC"]
    # the NHRIs' International Coordinating Committee is not the International Criminal Court
    assert find_instruments("Establish a national human rights institution accredited by ICC and in conformity "
                            "with the Paris Principles") == ["PARIS-PRINCIPLES"]
    assert find_instruments("Ratify-accede to the Rome Statute of the ICC") == ["ROME"]
    # the death penalty named without the protocol is not the protocol
    assert find_instruments("Consider final abolition of the death penalty") == []


def test_an_added_ask_shows_as_an_uncovered_clause_and_an_extra_intent():
    from nrtd_nlp.link.asks import clauses, intents
    from nrtd_nlp.link.pairs import clause_coverage

    a = "Impose a moratorium on the death penalty, and commute all death sentences to imprisonment terms"
    b = "Impose a moratorium on executions"
    assert clauses(a) == ["Impose a moratorium on the death penalty", "commute all death sentences to imprisonment terms"]
    assert intents(a) - intents(b) == {"commute"}
    assert intents("Continue towards ratification and implement of CEDAW") == {"ratify", "implement"}
    tfidf = fit_tfidf([a, b, "Ratify the Convention against Torture", "Impose a moratorium on executions now",
                       "commute death sentences", "prison terms for death sentences"])
    cov = clause_coverage(tfidf, [a, b], [b, b])
    assert cov[0, 1] == 1 and cov[1, 1] == 0  # one clause more
    assert cov[0, 0] < 0.5 < cov[1, 0]  # the commutation clause has no counterpart
    X = featurize(_OneVec(), tfidf, [a], [b], np.ones((1, 4)), np.ones((1, 4)))
    assert X.shape == (1, len(FEATURES)) and X[0, FEATURES.index("intent_xor")] == 1


class _OneVec:
    dim = 4


def test_explanation_shows_partial_overlap():
    a = parse("Ratify the ICCPR, the ICESCR, the CAT and the CERD")
    b = parse("Ratify the CAT and ICERD")
    why = explain("related", a, b, 0.8, (0.95, 0.7))
    assert "same action: ratify" in why and "shares 2 of 4 asks: ratify CAT, ratify CERD" in why
    why = explain("related", parse("Ratify OP-CAT"), parse("Establish a national preventive mechanism under OP-CAT"),
                  0.7, (0.9, 0.6))
    assert "different action: ratify / establish" in why and "same instrument: OP-CAT" in why


TEXTS = {
    "t1": ("Ratify the Optional Protocol to the Convention against Torture", "1"),
    "t2": ("Consider ratifying OP-CAT", "1"),
    "t3": ("Establish a national preventive mechanism under OP-CAT", "1"),
    "t4": ("Abolish the death penalty", "1"),
    "t5": ("Establish an official moratorium on executions with a view to abolishing the death penalty", "1"),
    "t6": ("Improve access to primary education in rural areas", "1"),
    "t7": ("Ratify OP-CAT as soon as possible", "2"),
    "t8": ("Adopt a law on domestic violence", "1"),
    "t9": ("Enact legislation criminalizing domestic violence", "1"),
    "t10": ("Increase the budget for primary schools", "1"),
}
LABELLED = [("t1", "t2", "duplicate"), ("t4", "t5", "duplicate"), ("t8", "t9", "duplicate"),
            ("t1", "t7", "duplicate"), ("t2", "t7", "duplicate"),
            ("t1", "t3", "related"), ("t2", "t3", "related"), ("t6", "t10", "related"), ("t3", "t7", "related"),
            ("t1", "t6", "different"), ("t4", "t8", "different"), ("t3", "t10", "different"),
            ("t5", "t6", "different"), ("t9", "t10", "different"), ("t2", "t4", "different")]


def _labelled_features(embedder):
    """Pair features and labels of the LABELLED pairs, as `nrtd train-links` computes them."""
    ta = [TEXTS[a][0] for a, _, _ in LABELLED]
    tb = [TEXTS[b][0] for _, b, _ in LABELLED]
    y = np.asarray([lab for _, _, lab in LABELLED])
    X = featurize(embedder, fit_tfidf([t for t, _ in TEXTS.values()] * 2), ta, tb, embedder.encode(ta),
                  embedder.encode(tb))
    return X, y


@pytest.fixture()
def scorer_dir(tmp_path, test_embedder):
    """A small scorer for the test embedder, trained the way `nrtd train-links` trains."""
    X, y = _labelled_features(test_embedder)
    idx = [FEATURES.index(f) for f in CROSS_FEATURES]
    meta = {"name": "link-scorer-test", "version": "0", "embedder": test_embedder.model_id,
            "thresholds": {"duplicate": 0.5, "related": 0.4}}
    PairScorer(fit_head(X, y, FEATURES), fit_head(X[:, idx], y, CROSS_FEATURES), meta).save(tmp_path / "scorer")
    return tmp_path / "scorer"


@pytest.fixture()
def linked_engine(engine, scorer_dir, tmp_path):
    from nrtd_nlp.services.imports import import_file

    engine.settings.link_model_dir = scorer_dir
    p = tmp_path / "recs.csv"
    lines = ["id,text,country,cycle,mechanism"] + [f"{k},\"{t}\",Utopia,{c},UPR" for k, (t, c) in TEXTS.items()]
    p.write_text("\n".join(lines) + "\n")
    res = import_file(engine, p)
    assert res.links and "skipped" not in res.links
    return engine


def _links(engine):
    from sqlalchemy import select

    from nrtd_nlp.store.models import Link, Recommendation

    with engine.db.session() as s:
        ext = {r.id: r.external_id for r in s.scalars(select(Recommendation))}
        return {(ext[x.rec_a], ext[x.rec_b]): x for x in s.scalars(select(Link))}


def test_links_kinds_explanations_and_groups(linked_engine):
    from nrtd_nlp.link.service import compute_links

    links = _links(linked_engine)
    dup = links.get(("t1", "t2")) or links.get(("t2", "t1"))
    assert dup is not None and dup.kind == "duplicate" and "OP-CAT" in dup.explanation
    fu = links.get(("t1", "t7")) or links.get(("t2", "t7"))
    assert fu is not None and fu.kind == "follows_up"  # cycle 1 -> cycle 2, rec_a is the earlier one
    assert all(0 <= x.score <= 1 and x.agent for x in links.values())
    groups_before = {k: x.group_id for k, x in links.items() if x.group_id}
    assert groups_before
    compute_links(linked_engine)  # a re-run keeps group ids
    after = {k: x.group_id for k, x in _links(linked_engine).items() if x.group_id}
    assert after == groups_before


def test_human_unlink_survives_reruns(linked_engine):
    from nrtd_nlp.link.service import compute_links

    links = _links(linked_engine)
    key = ("t1", "t2") if ("t1", "t2") in links else ("t2", "t1")
    with linked_engine.db.session() as s:
        from nrtd_nlp.store.models import Link

        s.get(Link, links[key].id).status = "unlinked"
    compute_links(linked_engine)
    again = _links(linked_engine)
    assert again[key].status == "unlinked" and len([k for k in again if set(k) == set(key)]) == 1


def test_duplicates_api(linked_engine):
    from nrtd_nlp.api.deps import get_engine
    from nrtd_nlp.api.main import create_app

    app = act_as(create_app(engine=linked_engine), "reader", "ana")
    app.dependency_overrides[get_engine] = lambda: linked_engine
    with TestClient(app) as c:
        r = c.get("/v1/duplicates").json()
        assert r["count"] >= 1 and r["data"][0]["canonical"] and r["data"][0]["links"][0]["explanation"]
        one = c.get(f"/v1/duplicates/{r['data'][0]['id']}").json()  # one group, its links with their ids
        assert one["members"][0]["id"] == one["canonical"]["id"] and all(x["id"] for x in one["links"])
        missing = c.get("/v1/duplicates/G999999")
        assert missing.status_code == 404 and missing.json()["detail"]["field"] == "group_id"
        assert c.get("/v1/links", params={"kind": "nonsense"}).status_code == 422
        rec = c.get("/v1/recommendations", params={"q": "OP-CAT", "limit": 1}).json()["data"][0]
        assert c.get(f"/v1/recommendations/{rec['id']}").json()["links"]


def test_mismatched_scorer_is_reported_not_raised(engine, demo_csv):
    from nrtd_nlp.services.imports import import_file

    res = import_file(engine, demo_csv, source="demo")  # packaged scorer: trained on e5-use vectors
    assert res.created == 44 and "skipped" in res.links and "retrain" in res.links["skipped"]


def test_decisions_are_audited_and_conflicts_are_409(linked_engine):
    from nrtd_nlp.api.deps import get_engine
    from nrtd_nlp.api.main import create_app
    from nrtd_nlp.link.service import compute_links

    app = act_as(create_app(engine=linked_engine), "reviewer", "ana")
    app.dependency_overrides[get_engine] = lambda: linked_engine
    with TestClient(app) as c:
        link = c.get("/v1/links", params={"kind": "duplicate"}).json()["data"][0]
        body = {"decision": "confirm", "expected_status": "suggested"}
        r = c.post(f"/v1/links/{link['id']}/decision", json=body)
        assert r.status_code == 200 and r.json()["status"] == "confirmed"
        again = c.post(f"/v1/links/{link['id']}/decision", json=body)  # stale: someone decided first
        assert again.status_code == 409 and again.json()["detail"]["field"] == "expected_status"
        assert c.post(f"/v1/links/{link['id']}/decision", json={"decision": "maybe"}).status_code == 422
        assert c.post("/v1/links/99999/decision", json={"decision": "confirm"}).status_code == 404
        compute_links(linked_engine)
        kept = [x for x in c.get("/v1/links", params={"limit": 1000}).json()["data"] if x["id"] == link["id"]]
        assert kept and kept[0]["status"] == "confirmed"
        group = c.get("/v1/duplicates").json()["data"][0]
        member = group["members"][0]["id"]
        r = c.post(f"/v1/duplicates/{group['id']}/split", json={"rec_ids": [member]})
        assert r.status_code == 200 and r.json()["unlinked"]
    from sqlalchemy import select

    from nrtd_nlp.store.models import AuditEvent

    with linked_engine.db.session() as s:
        actions = [a.action for a in s.scalars(select(AuditEvent).where(AuditEvent.who == "ana"))]
    assert actions == ["link.confirm", "group.split"]


def test_small_store_gets_no_cross_lingual_guesses(engine, scorer_dir, demo_csv):
    from sqlalchemy import select

    from nrtd_nlp.services.imports import import_file
    from nrtd_nlp.store.models import Link, Recommendation

    engine.settings.link_model_dir = scorer_dir
    import_file(engine, demo_csv, source="demo")  # 49 texts: too few to fit language means
    with engine.db.session() as s:
        lang = {r.id: r.language for r in s.scalars(select(Recommendation))}
        links = s.scalars(select(Link)).all()
    assert all(lang[x.rec_a] == lang[x.rec_b] for x in links)


def test_death_penalty_action_is_named_in_the_explanation():
    a = parse("Establish an official moratorium on executions with a view to abolishing the death penalty")
    b = parse("Take further steps towards the abolition of the death penalty")
    assert explain("follows_up", a, b, 0.9, (0.97, 0.88)).startswith("same action: abolish the death penalty")


def test_store_tfidf_is_persisted_and_refitted_when_the_store_grows(linked_engine):
    from nrtd_nlp.link import idf

    path = linked_engine.settings.index_dir / idf.FILE
    assert path.exists()  # the import's linking fitted it on the store's texts and saved it
    vec, n_fit = idf.load(path)
    texts = [t for t, _ in TEXTS.values()]
    fresh = idf.make_vectorizer().fit(texts)
    assert n_fit == len(texts)
    assert abs(vec.transform(texts) - fresh.transform(texts)).max() < 1e-5  # same IDF after the round trip
    held = idf.store_tfidf(linked_engine)
    assert idf.store_tfidf(linked_engine) is held  # kept on the engine, not refitted per call
    assert not idf.needs_refit(100, 125) and idf.needs_refit(100, 126) and idf.needs_refit(0, 1)


def test_linking_new_records_matches_a_full_run(linked_engine):
    """Linking a few records reads only their neighbours, and gives the links a full run gives them."""
    from sqlalchemy import select

    from nrtd_nlp.link.service import compute_links
    from nrtd_nlp.store.models import Recommendation

    full = {k: (x.kind, x.score) for k, x in _links(linked_engine).items()}
    with linked_engine.db.session() as s:
        ids = {r.external_id: r.id for r in s.scalars(select(Recommendation))}
    compute_links(linked_engine, [ids["t7"], ids["t3"]])
    part = {k: (x.kind, x.score) for k, x in _links(linked_engine).items()}
    assert part == full


def test_default_lists_hide_weak_related_links(linked_engine):
    from nrtd_nlp.services.links import list_links, strong_related

    every, n_all = list_links(linked_engine, min_score=0.0, limit=1000)
    related, n_rel = list_links(linked_engine, kind="related", limit=1000)
    default, n_default = list_links(linked_engine, limit=1000)
    cut = strong_related(linked_engine)
    assert related and n_rel == len([x for x in every if x["kind"] == "related"])
    assert {x["id"] for x in default} == {x["id"] for x in every if x["kind"] != "related" or x["score"] >= cut}
    assert n_default < n_all  # the test store's related links are weaker than the cut
    assert len(list_links(linked_engine, kind="related", min_score=0.99, limit=1000)[0]) <= len(related)


def test_related_links_are_capped_per_record():
    from nrtd_nlp.link.service import _cap_related

    found = [("related", 1, j, 0.9 - j / 100, 0, False) for j in range(2, 8)] + [("duplicate", 1, 9, 0.7, 0, False)]
    kept = _cap_related(found, 3)
    assert [f[2] for f in kept if f[0] == "related"] == [2, 3, 4, 5, 6, 7]  # each is its other end's first
    found += [("related", 2, 3, 0.5, 0, False), ("related", 2, 4, 0.4, 0, False), ("related", 3, 4, 0.3, 0, False)]
    kept = {(f[1], f[2]) for f in _cap_related(found, 1)}
    assert (1, 9) in kept and (1, 2) in kept and (3, 4) not in kept


def test_followup_head_reads_its_own_feature_subset(tmp_path, test_embedder):
    """The follow-up head leaves out the clause and intent features; the scorer hands it only its
    columns, after a save and load, and only for pairs across cycles."""
    from nrtd_nlp.link.train import FOLLOWUP_DROPPED, FOLLOWUP_FEATURES

    assert set(FOLLOWUP_DROPPED) <= set(FEATURES) and not set(FOLLOWUP_DROPPED) & set(FOLLOWUP_FEATURES)
    X, y = _labelled_features(test_embedder)
    cols = [FEATURES.index(f) for f in FOLLOWUP_FEATURES]
    cross = [FEATURES.index(f) for f in CROSS_FEATURES]
    fu = fit_head(X[:, cols], y, FOLLOWUP_FEATURES, C=0.1)
    meta = {"name": "t", "version": "0", "thresholds": {"duplicate": 0.5, "related": 0.4}}
    PairScorer(fit_head(X, y, FEATURES), fit_head(X[:, cross], y, CROSS_FEATURES), meta, followup=fu).save(tmp_path)
    scorer = PairScorer.load(tmp_path)
    cycle = np.arange(len(y)) % 2 == 0
    P = scorer.predict(X, cross_cycle=cycle)
    assert np.allclose(P[cycle], fu.proba(X[cycle][:, cols]))
    assert np.allclose(P[~cycle], scorer.full.proba(X[~cycle]))


def test_binary_duplicate_head_replaces_p_duplicate(tmp_path, test_embedder):
    """The binary head's P(duplicate) is the scorer's; related and different keep their ratio and
    the three still sum to one; it survives a save and load."""
    from nrtd_nlp.link.scorer import DUP_CLASSES, fit_duplicate_head

    X, y = _labelled_features(test_embedder)
    cross = [FEATURES.index(f) for f in CROSS_FEATURES]
    full, dup = fit_head(X, y, FEATURES), fit_duplicate_head(X, y, FEATURES)
    assert dup.classes == DUP_CLASSES
    from sklearn.linear_model import LogisticRegression

    Z = (X - dup.mean) / dup.scale
    ref = LogisticRegression(max_iter=5000).fit(Z, y == "duplicate").predict_proba(Z)[:, 1]
    assert np.allclose(dup.proba(X)[:, 1], ref, atol=1e-6)
    meta = {"name": "t", "version": "0", "thresholds": {"duplicate": 0.5, "related": 0.4}}
    PairScorer(full, fit_head(X[:, cross], y, CROSS_FEATURES), meta, duplicate=dup).save(tmp_path)
    P = PairScorer.load(tmp_path).predict(X)
    Pf = full.proba(X)
    assert np.allclose(P.sum(1), 1) and np.allclose(P[:, 1], ref, atol=1e-6)
    assert np.allclose(P[:, 0] / P[:, 2], Pf[:, 0] / Pf[:, 2])


def test_boosted_trees_are_scored_from_json_as_scikit_learn_scores_them(tmp_path, test_embedder):
    """The trees' nodes are copied out of scikit-learn and scored with numpy: the same probabilities
    (missing values too); the scorer averages them with the binary head at the bundle's weight, after a
    save and load; a bundle without trees scores as before."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from nrtd_nlp.link.scorer import duplicate_probability, fit_duplicate_head
    from nrtd_nlp.link.trees import PARAMS, BoostedTrees, fit_boosted

    X, y = _labelled_features(test_embedder)
    X = np.vstack([X] * 3) + np.random.RandomState(0).normal(0, 0.01, (3 * len(X), X.shape[1]))  # leaves of 20
    y = np.concatenate([y] * 3)
    trees = fit_boosted(X, y == "duplicate", FEATURES, min_samples_leaf=5)
    assert trees.params == PARAMS | {"min_samples_leaf": 5} and len(trees.trees) == PARAMS["max_iter"]
    ref = HistGradientBoostingClassifier(random_state=0, early_stopping=False, **trees.params).fit(
        X, (y == "duplicate").astype(int))
    Xm = X.copy()
    Xm[::7, 0] = np.nan
    back = BoostedTrees.from_dict(json.loads(json.dumps(trees.to_dict())))
    assert np.allclose(back.proba(Xm), ref.predict_proba(Xm), atol=1e-12)
    with pytest.raises(ValueError):
        fit_boosted(X, np.zeros(len(X), bool), FEATURES)
    cross = [FEATURES.index(f) for f in CROSS_FEATURES]
    full, dup = fit_head(X, y, FEATURES), fit_duplicate_head(X, y, FEATURES)
    meta = {"name": "t", "version": "0", "thresholds": {"duplicate": 0.5, "related": 0.4}}
    PairScorer(full, fit_head(X[:, cross], y, CROSS_FEATURES), meta, duplicate=dup, duplicate_trees=trees,
               trees_weight=0.5).save(tmp_path / "with")
    P = PairScorer.load(tmp_path / "with").predict(X)
    assert np.allclose(P[:, 1], 0.5 * dup.proba(X)[:, 1] + 0.5 * ref.predict_proba(X)[:, 1])
    assert np.allclose(P.sum(1), 1)
    assert np.allclose(duplicate_probability(dup, None, 0.5, X), dup.proba(X)[:, 1])
    PairScorer(full, fit_head(X[:, cross], y, CROSS_FEATURES), meta, duplicate=dup).save(tmp_path / "without")
    assert np.allclose(PairScorer.load(tmp_path / "without").predict(X)[:, 1], dup.proba(X)[:, 1])


def test_the_shipped_scorer_averages_its_trees():
    scorer = PairScorer.load()
    assert scorer.duplicate_trees is not None and 0 < scorer.trees_weight < 1
    assert scorer.meta["heads"]["duplicate_trees"].startswith("boosted trees")


def test_words_of_an_instruments_title_are_not_the_action_told():
    """"…on the Protection of the Rights of All Migrant Workers" asks no "protect"; "being party" is ratify."""
    icrmw = "the International Convention on the Protection of the Rights of All Migrant Workers and Members of Their Families"
    a, b = parse(f"Reconsider being party to {icrmw}"), parse(f"Ratify {icrmw}")
    assert a.asked == ["ratify"] and b.asked == ["ratify"]
    assert explain("duplicate", a, b, 0.87, (0.95, 0.9)).startswith("same action: ratify · same instrument: ICRMW")
    cerd = parse("Accept article 14 of the International Convention on the Elimination of All Forms of Racial "
                 "Discrimination")
    assert cerd.asked == [] and cerd.instruments == ["CERD"]
    why = explain("related", cerd, parse("Combat racial discrimination"), 0.6, (0.9, 0.8))
    assert "action" not in why  # nothing asked outside the title: no action to compare


def test_a_pair_across_languages_is_told_only_what_both_name():
    """The cross-lingual head reads cosines; the word rules read en/fr/es: no 'one is negated' or
    'different action' from a rule that cannot read the other language."""
    en = parse("Do not criminalize defamation and ratify OP-CAT")
    ar = parse("التصديق على البروتوكول الاختياري OP-CAT")
    why = explain("duplicate", en, ar, 0.8, (0.93, 0.9), languages=("en", "ar"))
    assert why.startswith("across languages: en / ar · same instrument: OP-CAT")
    assert "negated" not in why and "action" not in why and why.endswith("P(duplicate)=0.80")
    assert "one is negated" in explain("duplicate", en, parse("Ratify OP-CAT"), 0.8, (0.93, 0.9),
                                       languages=("en", "en"))


def test_a_two_record_first_import_links_without_failing_and_later_steps_still_run(engine, scorer_dir, tmp_path,
                                                                                  monkeypatch):
    """Two texts share no word twice (TF-IDF min_df 2 left nothing, and the import ended in an internal error
    after its commit, skipping the tag step); a step that fails after the commit is reported, not raised."""
    from nrtd_nlp.services import imports
    from nrtd_nlp.services.imports import import_file

    engine.settings.link_model_dir = scorer_dir
    p = tmp_path / "two.csv"
    p.write_text('id,text,country\n1,"Abolish the death penalty.",Utopia\n2,"Ratify the Convention against '
                 'Torture.",Utopia\n')
    res = import_file(engine, p, source="t")
    assert res.created == 2 and "skipped" not in (res.links or {}) and res.links["records"] == 2

    def broken(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr("nrtd_nlp.services.clusters.attach_new", broken)
    p.write_text('id,text,country\n3,"Establish a national human rights institution.",Utopia\n')
    called = []
    monkeypatch.setattr("nrtd_nlp.services.tags.suggest_on_import", lambda e, ids, who: called.append(ids) or {"n": 1})
    res = import_file(engine, p, source="t")
    assert res.created == 1 and "clusters failed (RuntimeError: boom)" in res.clusters["skipped"]
    assert "run nrtd recluster" in res.clusters["skipped"] and res.tags == {"n": 1} and called
    assert imports._after_commit("x", "nrtd x", lambda: {"ok": 1}) == {"ok": 1}


def test_cli_link_decide_never_silently_reverses_a_person(linked_engine, scorer_dir, cli_env, monkeypatch):
    from typer.testing import CliRunner

    from nrtd_nlp.cli import app

    monkeypatch.setenv("NRTD_LINK_MODEL_DIR", str(scorer_dir))
    lid = str(min(x.id for x in _links(linked_engine).values() if x.agent != "source:translation"))
    runner = CliRunner()
    first = runner.invoke(app, ["link-decide", lid, "confirm", "--reviewer", "ana"])
    assert first.exit_code == 0, first.output
    bob = runner.invoke(app, ["link-decide", lid, "unlink", "--reviewer", "bob"])
    assert bob.exit_code == 2 and "confirmed (confirm by ana" in bob.stderr, bob.output
    meant = runner.invoke(app, ["link-decide", lid, "unlink", "--reviewer", "bob", "--expected", "confirmed"])
    assert meant.exit_code == 0 and "unlinked" in meant.output, meant.output
