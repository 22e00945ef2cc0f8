"""Thematic clusters on the demo corpus with the small test embedder: run, stable ids, pinned
clusters, curation (audited), errors, jobs with checkpoints, API routes, labels and matching."""

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from nrtd_nlp.errors import Conflict, InputError, NotFound
from nrtd_nlp.store.models import AuditEvent, Cluster, ClusterMember
from tests.conftest import TEST_PG, act_as

SMALL = {"min_cluster_size": 3}  # the demo corpus has 44 records (49 with sub-items)

EXTRA = [
    ("x1", "Abolish the death penalty for all crimes and commute existing death sentences"),
    ("x2", "Ratify the Second Optional Protocol to the ICCPR aiming at the abolition of the death penalty"),
    ("x3", "Guarantee free birth registration for every child, including in rural areas"),
    ("x4", "Adopt a comprehensive law criminalizing domestic violence against women"),
    ("x5", "Protect journalists and human rights defenders from harassment and attacks"),
]


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory, test_embedder):
    """The demo corpus imported once; each test works on its own copy of the store."""
    from importlib.resources import files
    from pathlib import Path

    from nrtd_nlp.config import Settings
    from nrtd_nlp.services.context import Engine
    from nrtd_nlp.services.imports import import_file

    if TEST_PG:
        return None  # demo_engine imports into each test's own PostgreSQL database
    root = tmp_path_factory.mktemp("demo-store")
    e = Engine(Settings(home=root / "home", cache_dir=root / "cache", embedder="minilm-test", link_on_import=False,
                        tag_on_import=False),
               embedder=test_embedder)
    import_file(e, Path(str(files("nrtd_nlp") / "corpora" / "demo" / "demo_recommendations.csv")), source="demo")
    e.close()
    return root / "home"


@pytest.fixture()
def demo_engine(demo_store, settings, test_embedder, demo_csv):
    import shutil

    from nrtd_nlp.services.context import Engine
    from nrtd_nlp.services.imports import import_file

    settings.link_on_import = False
    if settings.database_url:  # NRTD_TEST_PG: a copied SQLite store is not the test's database; import again
        e = Engine(settings, embedder=test_embedder)
        import_file(e, demo_csv, source="demo")
    else:
        shutil.copytree(demo_store, settings.home, dirs_exist_ok=True)
        e = Engine(settings, embedder=test_embedder)
    yield e
    e.close()


@pytest.fixture()
def clustered(demo_engine):
    from nrtd_nlp.services.clusters import recluster

    job = recluster(demo_engine, SMALL, who="tester")
    assert job["status"] == "done" and job["progress"] == 1.0
    return demo_engine


def _memberships(engine) -> dict[str, set[int]]:
    with engine.db.session() as s:
        rows = s.execute(select(ClusterMember.cluster_id, ClusterMember.rec_id).join(
            Cluster, Cluster.id == ClusterMember.cluster_id).where(Cluster.status == "active")).all()
    out: dict[str, set[int]] = {}
    for cid, rid in rows:
        out.setdefault(cid, set()).add(rid)
    return out


def _audits(engine, action: str) -> list[AuditEvent]:
    with engine.db.session() as s:
        return s.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_recluster_creates_labelled_clusters(clustered):
    from nrtd_nlp.services.clusters import get_cluster, list_clusters

    rows, total = list_clusters(clustered)
    assert total >= 3 and len(rows) == total
    assert all(r["size"] >= 1 and r["agent"] == "theme-clusters@1" and r["typical"] for r in rows)
    assert any(r["label"] for r in rows)
    members = _memberships(clustered)
    all_members = [m for ms in members.values() for m in ms]
    assert len(all_members) == len(set(all_members))  # one cluster per record
    multi = [r for r in rows if len(r["labels"]) > 1]  # a cluster holding several languages: a label in each
    assert all(set(r["labels"]) <= set(r["languages"]) for r in multi)
    c = get_cluster(clustered, rows[0]["id"])
    scores = [m["score"] for m in c["members"]]
    assert scores == sorted(scores, reverse=True) and c["members"][0]["id"] == c["typical"]["id"]
    assert _audits(clustered, "recluster")


def test_target_number_of_clusters(demo_engine):
    from nrtd_nlp.services.clusters import list_clusters, recluster

    job = recluster(demo_engine, {**SMALL, "n_clusters": 3})
    assert job["result"]["clusters"] == 3 and list_clusters(demo_engine)[1] == 3


def test_ids_stable_across_rerun(clustered):
    from nrtd_nlp.services.clusters import recluster

    before = _memberships(clustered)
    job = recluster(clustered, SMALL)
    assert job["result"]["kept_ids"] == len(before) and job["result"]["new_ids"] == 0
    assert _memberships(clustered) == before


def test_pinned_cluster_unchanged_after_adding_records(clustered, tmp_path):
    from nrtd_nlp.services.clusters import confirm_cluster, get_cluster, list_clusters, recluster
    from nrtd_nlp.services.imports import import_file

    first = list_clusters(clustered)[0][0]
    pinned = confirm_cluster(clustered, first["id"], "ana")
    assert pinned["pinned"] and all(m["by"] == "human" for m in pinned["members"])
    before = _memberships(clustered)[first["id"]]
    p = tmp_path / "more.csv"
    p.write_text("id,text\n" + "".join(f'{i},"{t}"\n' for i, t in EXTRA))
    res = import_file(clustered, p, source="extra")
    assert res.clusters is not None and res.clusters["considered"] == len(EXTRA)
    c = get_cluster(clustered, first["id"])  # attachment may suggest new members; the people's stay as they were
    assert {m["id"] for m in c["members"] if m["by"] == "human"} == before
    assert all(m["by"] == "model" for m in c["members"] if m["id"] not in before)
    job = recluster(clustered, SMALL)
    assert job["result"]["pinned_untouched"] == 1
    c = get_cluster(clustered, first["id"])
    assert {m["id"] for m in c["members"] if m["by"] == "human"} == before
    assert c["label"] == first["label"] and c["pinned"]


def test_a_confirmed_theme_takes_new_records_as_suggestions(clustered, tmp_path):
    """Confirming a theme must not freeze it against every later recommendation on it (audit point 14)."""
    from nrtd_nlp.services.clusters import confirm_cluster, get_cluster, list_clusters
    from nrtd_nlp.services.imports import import_file

    first = list_clusters(clustered)[0][0]
    confirmed = confirm_cluster(clustered, first["id"], "ana")
    humans = {m["id"] for m in confirmed["members"]}
    sample = confirmed["members"][0]["text"]
    p = tmp_path / "again.csv"
    p.write_text(f'id,text\nagain,"{sample.replace(chr(34), chr(39))} (second cycle)"\n')
    res = import_file(clustered, p, source="again")
    assert res.clusters["attached"] == 1 and res.clusters["to_confirmed_themes"] == 1
    c = get_cluster(clustered, first["id"])
    new = [m for m in c["members"] if m["id"] not in humans]
    assert len(new) == 1 and new[0]["by"] == "model" and {m["id"] for m in c["members"]} >= humans


def test_new_records_attach_incrementally(clustered, tmp_path):
    from nrtd_nlp.services.clusters import attach_new, cluster_of
    from nrtd_nlp.services.imports import import_file

    p = tmp_path / "dup.csv"  # the same texts as demo records: they must land in those records' clusters
    from nrtd_nlp.store.models import Recommendation

    with clustered.db.session() as s:
        recs = s.scalars(select(Recommendation).where(Recommendation.parent_id.is_(None)).limit(3)).all()
        texts = [(r.id, r.text) for r in recs]
    p.write_text("id,text\n" + "".join(f'd{i},"{t}"\n' for i, (_, t) in enumerate(texts)))
    res = import_file(clustered, p, source="dup")
    assert res.clusters["attached"] >= 1
    with clustered.db.session() as s:
        new_ids = s.scalars(select(Recommendation.id).where(Recommendation.source == "dup")
                            .order_by(Recommendation.external_id)).all()
    for (old_id, _), new_id in zip(texts, new_ids):
        old, new = cluster_of(clustered, old_id), cluster_of(clustered, new_id)
        if new:
            assert new[0]["id"] == old[0]["id"] and new[0]["by"] == "model"
    assert attach_new(clustered, list(new_ids))["attached"] == 0  # already placed: nothing twice


def test_curation_is_audited_and_pins(clustered):
    from nrtd_nlp.services.clusters import (get_cluster, list_clusters, merge_clusters, move_member,
                                            rename_cluster, split_cluster)

    rows, _ = list_clusters(clustered)
    a, b, c = rows[0]["id"], rows[1]["id"], rows[2]["id"]
    r = rename_cluster(clustered, a, "Death penalty", "ana")
    assert r["label"] == "Death penalty" and r["pinned"]
    ev = _audits(clustered, "cluster_rename")[-1]
    assert ev.who == "ana" and ev.after["label"] == "Death penalty" and ev.entity_id == a
    rec = next(iter(_memberships(clustered)[c]))
    moved = move_member(clustered, rec, a, "bo")
    assert moved["from"] == [c] and rec in _memberships(clustered)[a]
    assert _audits(clustered, "cluster_move_member")[-1].before == {"clusters": [c]}
    size_a, size_b = get_cluster(clustered, a)["size"], get_cluster(clustered, b)["size"]
    m = merge_clusters(clustered, [a, b], "ana", label="Merged theme")
    assert m["size"] == size_a + size_b and m["label"] == "Merged theme"
    assert get_cluster(clustered, b)["status"] == "merged"
    assert all(x["by"] == "human" for x in get_cluster(clustered, a, member_limit=500)["members"])
    parts = split_cluster(clustered, a, "cy", k=2)
    assert len(parts) == 2 and sum(p["size"] for p in parts) == m["size"] and all(p["pinned"] for p in parts)
    assert get_cluster(clustered, a)["status"] == "split"
    assert _audits(clustered, "cluster_split")[-1].after["into"] == [p["id"] for p in parts]
    big = max(parts, key=lambda p: p["size"])
    off = [x["id"] for x in get_cluster(clustered, big["id"])["members"][:2]]
    kept, new = split_cluster(clustered, big["id"], "cy", rec_ids=off)
    assert kept["id"] == big["id"] and {x["id"] for x in new["members"]} == set(off)


def test_curation_errors(clustered):
    from nrtd_nlp.services.clusters import (confirm_cluster, merge_clusters, move_member, rename_cluster,
                                            split_cluster, list_clusters)

    rows, _ = list_clusters(clustered)
    a, b = rows[0]["id"], rows[1]["id"]
    with pytest.raises(NotFound):
        confirm_cluster(clustered, "nope", "ana")
    with pytest.raises(NotFound):
        move_member(clustered, 10**9, a, "ana")
    with pytest.raises(InputError):
        rename_cluster(clustered, a, "  ", "ana")
    with pytest.raises(InputError):
        merge_clusters(clustered, [a, a], "ana")
    with pytest.raises(InputError):
        split_cluster(clustered, a, "ana", k=50)
    with pytest.raises(InputError):
        confirm_cluster(clustered, a, "")
    merge_clusters(clustered, [a, b], "ana")
    with pytest.raises(Conflict):  # b is merged now
        rename_cluster(clustered, b, "x", "ana")
    rec = next(iter(_memberships(clustered)[a]))
    with pytest.raises(Conflict):
        move_member(clustered, rec, a, "ana")
    from nrtd_nlp.services.clusters import move_members

    c = rows[2]["id"]
    before, n_audit = _memberships(clustered), len(_audits(clustered, "cluster_move_member"))
    with pytest.raises(NotFound):  # one unknown record: nothing moves, nothing is audited
        move_members(clustered, [rec, 10**9], c, "ana")
    assert _memberships(clustered) == before and len(_audits(clustered, "cluster_move_member")) == n_audit


def test_job_resumes_from_checkpoint(demo_engine):
    from nrtd_nlp.services.jobs import create_job, get_job, resume_job, run_job

    job = create_job(demo_engine, "recluster", SMALL, who="tester")

    def killed_after_reduction(stage: str, fraction: float) -> None:
        if stage == "cluster":
            raise KeyboardInterrupt  # what a kill looks like to the job: the run stops mid-way

    with pytest.raises(KeyboardInterrupt):
        run_job(demo_engine, job["id"], killed_after_reduction)
    j = get_job(demo_engine, job["id"])
    assert j["status"] == "failed" and j["checkpoint"]["stage"] == "reduced"
    assert _memberships(demo_engine) == {}  # nothing half-written
    done = resume_job(demo_engine, job["id"])
    assert done["status"] == "done" and done["result"]["resumed_from"] == "reduced"
    assert done["result"]["clusters"] >= 2 and _memberships(demo_engine)
    with pytest.raises(Conflict):
        resume_job(demo_engine, job["id"])
    with pytest.raises(NotFound):
        get_job(demo_engine, "j-missing")
    with pytest.raises(InputError):
        create_job(demo_engine, "recluster", {"min_cluster_size": 1})


def test_api_routes(demo_engine):
    import time

    from nrtd_nlp.api.deps import get_engine
    from nrtd_nlp.api.main import create_app

    app = act_as(create_app(engine=demo_engine), "admin", "api-admin")
    app.dependency_overrides[get_engine] = lambda: demo_engine
    with TestClient(app) as client:
        assert client.get("/v1/clusters").json() == {"data": [], "count": 0}
        r = client.post("/v1/jobs/recluster", json={"min_cluster_size": 3})
        assert r.status_code == 202, r.text
        jid = r.json()["id"]
        for _ in range(600):
            j = client.get(f"/v1/jobs/{jid}").json()
            if j["status"] in ("done", "failed"):
                break
            assert client.get("/healthz").status_code == 200  # the API keeps serving meanwhile
            time.sleep(0.1)
        assert j["status"] == "done", j
        data = client.get("/v1/clusters").json()
        assert data["count"] >= 2
        a, b = data["data"][0]["id"], data["data"][1]["id"]
        one = client.get(f"/v1/clusters/{a}", params={"member_limit": 2}).json()
        assert len(one["members"]) <= 2 and one["size"] >= len(one["members"])
        r = client.post(f"/v1/clusters/{a}/rename", json={"label": "Children"})
        assert r.status_code == 200 and r.json()["label"] == "Children"
        with demo_engine.db.session() as s:
            ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "cluster_rename")).all()[-1]
            assert ev.who == "api-admin"
        assert client.post(f"/v1/clusters/{a}/confirm").json()["pinned"] is True
        assert client.get("/v1/clusters/nope").status_code == 404
        r = client.post(f"/v1/clusters/{a}/rename", json={"label": ""})
        assert r.status_code == 422 and r.json()["detail"]["field"] == "label"
        assert client.post(f"/v1/clusters/{a}/merge", json={"ids": [b]}).status_code == 200
        r = client.post(f"/v1/clusters/{b}/confirm")
        assert r.status_code == 409 and r.json()["detail"]["code"] == "conflict"
        rec = one["members"][0]["id"]
        assert client.post(f"/v1/clusters/{a}/members", json={"rec_id": rec}).status_code == 409
        r = client.post(f"/v1/clusters/{a}/split", json={"k": 2})
        assert r.status_code == 200 and r.json()["count"] == 2
        assert client.get("/v1/jobs/j-missing").status_code == 404
        assert client.post("/v1/jobs/recluster", json={"min_cluster_size": 1}).status_code == 422
        assert client.post(f"/v1/jobs/{jid}/resume").status_code == 409
        assert client.get("/v1/jobs").json()["count"] == 1
    reader = act_as(create_app(engine=demo_engine), "reader", "someone")
    reader.dependency_overrides[get_engine] = lambda: demo_engine
    with TestClient(reader) as client:
        assert client.get("/v1/clusters").status_code == 200
        assert client.post("/v1/jobs/recluster", json={}).status_code == 403


def test_cli_recluster_and_errors(demo_engine, settings, monkeypatch):
    from typer.testing import CliRunner

    from nrtd_nlp import cli
    from nrtd_nlp.config import get_settings

    for k, v in {"NRTD_HOME": settings.home, "NRTD_EMBEDDER": "minilm-test", "NRTD_CACHE_DIR": settings.cache_dir}.items():
        monkeypatch.setenv(k, str(v))
    get_settings.cache_clear()
    runner = CliRunner()
    r = runner.invoke(cli.app, ["recluster", "--min-size", "3"])
    assert r.exit_code == 0, r.output
    assert "clusters over" in r.output
    r = runner.invoke(cli.app, ["clusters", "--json"])
    assert r.exit_code == 0 and '"count"' in r.output
    r = runner.invoke(cli.app, ["cluster", "confirm", "nope", "--who", "ana"])
    assert r.exit_code == 2 and "not_found" in r.output
    r = runner.invoke(cli.app, ["recluster", "--min-size", "1"])
    assert r.exit_code == 2 and "min_cluster_size" in r.output


def test_labeler_per_language_with_stop_words():
    from nrtd_nlp.cluster.labels import ClusterLabeler

    texts = ["Abolish the death penalty", "The death penalty should be abolished", "Protect the children",
             "Abolir la pena de muerte", "Abolir la pena de muerte para todos los delitos", "Proteger a los niños"]
    langs = ["en", "en", "en", "es", "es", "es"]
    lab = ClusterLabeler(min_docs=1).fit(texts, langs, np.asarray([0, 0, 1, 0, 0, 1]))
    assert set(lab.labels_[0]) == {"en", "es"}
    assert "death penalty" in lab.keywords_[0]["en"] and "pena" in " ".join(lab.keywords_[0]["es"])
    assert "the" not in lab.keywords_[0]["en"] and "la" not in lab.keywords_[0]["es"]


def test_french_elisions_are_no_keywords():
    from nrtd_nlp.cluster.labels import ClusterLabeler

    texts = ["Veiller à ce qu'il n'y ait pas d'impunité pour la torture",
             "Faire en sorte qu'aucun acte de torture ne reste impuni jusqu'à l'enquête",
             "Garantir qu'il soit mis fin à l'impunité des actes de torture",
             "Garantir l'accès à l'éducation inclusive", "Veiller à ce qu'il soit mis fin à l'exclusion scolaire"]
    lab = ClusterLabeler(min_docs=1).fit(texts, ["fr"] * 5, np.asarray([0, 0, 0, 1, 1]))
    words = {w for kws in lab.keywords_.values() for w in " ".join(kws["fr"]).split()}
    assert "torture" in " ".join(lab.keywords_[0]["fr"])
    assert not words & {"qu", "jusqu", "l", "d", "n"}, lab.keywords_


def test_stable_ids_hungarian():
    from nrtd_nlp.cluster.stable import StableIds, jaccard_matrix

    old = [{1, 2, 3, 4}, {5, 6, 7}, {8, 9}]
    new = [{5, 6, 7, 10}, {1, 2, 3}, {11, 12}]
    J = jaccard_matrix(new, old)
    assert J[0, 1] == pytest.approx(0.75) and J[1, 0] == pytest.approx(0.75) and J[2].sum() == 0
    st = StableIds().fit(["A", "B", "C"], old, new)
    assert st.mapping_ == {0: "B", 1: "A"}  # the third is new; C is retired


def test_translations_land_in_one_cluster():
    from nrtd_nlp.cluster.run import harmonise_translations

    C = np.asarray([[1.0, 0.0], [0.0, 1.0]], np.float32)
    Z = np.asarray([[0.9, 0.44], [0.6, 0.8], [0.95, 0.3], [0.0, 1.0], [0.7, -0.7]], np.float32)
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    labels, scores = np.asarray([0, 1, 0, 1, -1]), (Z @ C.T).max(1)
    lab, sc = harmonise_translations(Z, C, labels, scores, [[0, 1, 2]], threshold=0.5)
    assert lab.tolist() == [0, 0, 0, 1, -1]  # the group follows its mean vector; the others keep theirs
    assert sc[1] == pytest.approx(Z[1] @ C[0])
    lab, _ = harmonise_translations(Z, C, labels, scores, [[0, 1, 2]], threshold=0.99)
    assert lab.tolist()[:3] == [-1, -1, -1]
