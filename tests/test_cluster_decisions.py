"""People's cluster decisions against concurrency and re-clustering (the demo corpus, the test embedder):
concurrent curation gives one success and one conflict, a run's commit never undoes a decision, records a run
did not cluster keep their cluster, every pinning decision marks members human, labels and the 0-cluster hint."""

import threading
import time

import numpy as np
import pytest
from sqlalchemy import select

from nrtd_nlp.errors import Conflict
from nrtd_nlp.store.models import Cluster, ClusterMember
from tests.test_clusters import EXTRA, SMALL, _memberships, clustered, demo_engine, demo_store  # noqa: F401,F811


def _records_in_two_clusters(engine) -> set[int]:
    seen: dict[int, int] = {}
    for members in _memberships(engine).values():
        for r in members:
            seen[r] = seen.get(r, 0) + 1
    return {r for r, n in seen.items() if n > 1}


def _slow(monkeypatch, module, name: str, seconds: float, started: threading.Event | None = None) -> None:
    """Widen a race window: ``module.name`` sleeps before doing its work."""
    original = getattr(module, name)

    def slow(*args, **kwargs):
        if started is not None:
            started.set()
        time.sleep(seconds)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, slow)


def _race(act, targets) -> None:
    """``act(target)`` for every target, each in a thread of its own, all joined (``act`` waits at a barrier)."""
    threads = [threading.Thread(target=act, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)


def test_concurrent_merges_of_one_cluster_one_conflict(clustered, monkeypatch):
    from nrtd_nlp.services import clusters as svc

    rows, _ = svc.list_clusters(clustered)
    source, x, y = rows[0]["id"], rows[1]["id"], rows[2]["id"]
    _slow(monkeypatch, svc, "_members", 0.2)  # between reading the clusters and writing the merge
    barrier, outcomes = threading.Barrier(2), []

    def merge(target: str) -> None:
        barrier.wait()
        try:
            svc.merge_clusters(clustered, [target, source], "ana")
            outcomes.append("ok")
        except Conflict as e:
            outcomes.append(("conflict", e.field))

    _race(merge, (x, y))
    assert sorted(map(str, outcomes)) == sorted(map(str, ["ok", ("conflict", "ids")]))
    assert not _records_in_two_clusters(clustered)
    assert svc.get_cluster(clustered, source)["status"] == "merged"


def test_concurrent_moves_of_one_record_one_conflict(clustered, monkeypatch):
    from nrtd_nlp.services import clusters as svc

    rows, _ = svc.list_clusters(clustered)
    x, y = rows[1]["id"], rows[2]["id"]
    rec = next(iter(_memberships(clustered)[rows[0]["id"]]))
    before = svc.get_cluster(clustered, x)["size"] + svc.get_cluster(clustered, y)["size"]
    _slow(monkeypatch, svc, "_audit", 0.2)
    barrier, outcomes = threading.Barrier(2), []

    def move(target: str) -> None:
        barrier.wait()
        svc.move_member(clustered, rec, target, "bo")
        outcomes.append(target)

    _race(move, (x, y))
    assert len(outcomes) == 2  # moving on is allowed: the second move starts from where the first left it
    assert not _records_in_two_clusters(clustered)
    assert [c["id"] for c in svc.cluster_of(clustered, rec)] == [outcomes[-1]]
    assert svc.get_cluster(clustered, x)["size"] + svc.get_cluster(clustered, y)["size"] == before + 1


def test_concurrent_moves_that_name_where_they_saw_the_record_one_conflict(clustered, monkeypatch):
    """Two people move one record from the cluster they both saw it in: the second is told, not silently
    applied on top of the first (the API's ``from_cluster``, the CLI's ``--from``)."""
    from nrtd_nlp.services import clusters as svc

    rows, _ = svc.list_clusters(clustered)
    home, x, y = rows[0]["id"], rows[1]["id"], rows[2]["id"]
    rec = next(iter(_memberships(clustered)[home]))
    _slow(monkeypatch, svc, "_audit", 0.2)
    barrier, outcomes = threading.Barrier(2), []

    def move(target: str) -> None:
        barrier.wait()
        try:
            svc.move_member(clustered, rec, target, "bo", expected_from=home)
            outcomes.append(target)
        except Conflict as e:
            outcomes.append(("conflict", e.field))

    _race(move, (x, y))
    won = [o for o in outcomes if isinstance(o, str)]
    assert len(won) == 1 and ("conflict", "from_cluster") in outcomes
    assert [c["id"] for c in svc.cluster_of(clustered, rec)] == won
    with pytest.raises(Conflict, match="no longer in cluster"):  # a stale page, later
        svc.move_member(clustered, rec, home, "cy", expected_from=home)


def test_move_from_cluster_over_the_api_and_the_cli(clustered, cli_env):
    from fastapi.testclient import TestClient

    from nrtd_nlp.api.deps import get_engine
    from nrtd_nlp.api.main import create_app
    from nrtd_nlp.services import clusters as svc
    from tests.conftest import act_as

    rows, _ = svc.list_clusters(clustered)
    home, x = rows[0]["id"], rows[1]["id"]
    rec = sorted(_memberships(clustered)[home])[0]
    app = create_app(engine=clustered)  # the test's engine: no start-up warm-up of a new one
    app.dependency_overrides[get_engine] = lambda: clustered
    act_as(app, "reviewer", "ana")
    with TestClient(app) as c:
        r = c.post(f"/v1/clusters/{x}/members", json={"rec_id": rec, "from_cluster": x})
        assert r.status_code == 409 and "from_cluster" in r.text
        r = c.post(f"/v1/clusters/{x}/members", json={"rec_id": rec, "from_cluster": home})
        assert r.status_code == 200, r.text
        assert r.json()["from"] == [home]
    from typer.testing import CliRunner

    from nrtd_nlp.cli import app as cli

    r = CliRunner().invoke(cli, ["cluster", "move", str(rec), home, "--who", "cy", "--from", home])
    assert r.exit_code == 2 and f"no longer in cluster {home}" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(cli, ["cluster", "move", str(rec), home, "--who", "cy", "--from", x])
    assert r.exit_code == 0 and f"{x} -> {home}" in r.output


def test_decisions_around_a_runs_commit_are_kept(clustered, monkeypatch):
    from nrtd_nlp.cluster import run as run_mod
    from nrtd_nlp.services import clusters as svc

    rows, _ = svc.list_clusters(clustered)
    a, b, c = rows[0]["id"], rows[1]["id"], rows[2]["id"]
    c_members = _memberships(clustered)[c]

    def before_commit(stage: str, fraction: float) -> None:  # committed after the run started, before its write
        if stage == "commit":
            svc.confirm_cluster(clustered, c, "cy")

    in_commit = threading.Event()
    _slow(monkeypatch, run_mod.StableIds, "fit", 0.5, in_commit)  # inside the run's write transaction
    job = {}
    worker = threading.Thread(target=lambda: job.update(svc.recluster(clustered, SMALL, on_progress=before_commit)))
    worker.start()
    assert in_commit.wait(120)
    svc.rename_cluster(clustered, a, "Renamed by ana", "ana")  # arrives during the write: waits for it
    svc.confirm_cluster(clustered, b, "bo")
    worker.join(120)
    assert job["status"] == "done" and job["result"]["pinned_untouched"] == 1  # c's pin was seen
    ra, rb, rc = (svc.get_cluster(clustered, i, member_limit=500) for i in (a, b, c))
    assert ra["label"] == "Renamed by ana" and ra["pinned"] and rb["pinned"] and rc["pinned"]
    assert all(m["by"] == "human" for m in rb["members"] + rc["members"])
    assert {m["id"] for m in rc["members"]} == c_members
    assert not _records_in_two_clusters(clustered)


def test_records_imported_during_a_run_keep_their_cluster(clustered, tmp_path):
    from nrtd_nlp.services.clusters import cluster_of
    from nrtd_nlp.services.imports import import_file
    from nrtd_nlp.services.jobs import create_job, resume_job, run_job
    from nrtd_nlp.store.models import Recommendation

    job = create_job(clustered, "recluster", SMALL, who="tester")

    def killed(stage: str, fraction: float) -> None:
        if stage == "cluster":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_job(clustered, job["id"], killed)  # its input is checkpointed: the records of now
    p = tmp_path / "more.csv"
    p.write_text("id,text\n" + "".join(f'{i},"{t}"\n' for i, t in EXTRA))
    assert import_file(clustered, p, source="extra").clusters["attached"] >= 1
    with clustered.db.session() as s:
        new_ids = s.scalars(select(Recommendation.id).where(Recommendation.source == "extra")).all()
    placed = [r for r in new_ids if cluster_of(clustered, r)]
    done = resume_job(clustered, job["id"])
    r = done["result"]
    assert done["status"] == "done" and r["records"] == 49
    assert r["outside_run_kept"] + r["outside_run_attached"] == len(placed)
    assert all(len(cluster_of(clustered, rid)) == 1 for rid in placed)
    assert not _records_in_two_clusters(clustered)


def test_rename_and_move_into_mark_members_human(clustered):
    from nrtd_nlp.services.clusters import get_cluster, list_clusters, move_member, rename_cluster

    rows, _ = list_clusters(clustered)
    a, b, c = rows[0]["id"], rows[1]["id"], rows[2]["id"]
    renamed = rename_cluster(clustered, a, "Children", "ana")
    assert renamed["members"] and all(m["by"] == "human" for m in renamed["members"])
    rec = next(iter(_memberships(clustered)[b]))
    move_member(clustered, rec, c, "bo")
    into = get_cluster(clustered, c, member_limit=500)
    assert into["pinned"] and len(into["members"]) > 1 and all(m["by"] == "human" for m in into["members"])
    assert all(m["by"] == "model" for m in get_cluster(clustered, b, member_limit=500)["members"])


def test_a_cluster_spread_over_languages_gets_labels():
    from nrtd_nlp.cluster.labels import ClusterLabeler

    texts = ["Abolish the death penalty for all crimes", "Abolir la pena de muerte", "Abolir la peine de mort",
             "Protect children from abuse", "Protect children in schools"]
    lab = ClusterLabeler().fit(texts, ["en", "es", "fr", "en", "en"], np.asarray([0, 0, 0, 1, 1]))
    assert set(lab.labels_[0]) == {"en", "es", "fr"} and "death penalty" in lab.keywords_[0]["en"]
    assert "pena de muerte" in lab.labels_[0]["es"] and lab.labels_[1] == {"en": "protect children"}
    two = ClusterLabeler().fit(texts[:2] + texts[:2], ["en", "es", "en", "es"], np.asarray([0, 0, 1, 1]))
    assert set(two.labels_) == {0, 1} and all(set(v) == {"en", "es"} for v in two.labels_.values())
    en_two = ClusterLabeler().fit(texts, ["en", "es", "fr", "en", "en"], np.asarray([0, 0, 1, 1, 1]))
    assert set(en_two.labels_[1]) == {"en"}  # fr (one text) stays unlabelled beside two English ones


def test_run_labels_every_cluster(clustered):
    from nrtd_nlp.services.clusters import list_clusters

    rows, _ = list_clusters(clustered)
    assert rows and all(r["label"] and r["labels"] for r in rows)


def test_zero_clusters_say_so_with_a_hint(demo_engine, settings, monkeypatch):
    from typer.testing import CliRunner

    from nrtd_nlp import cli
    from nrtd_nlp.config import get_settings

    env = {"NRTD_HOME": settings.home, "NRTD_EMBEDDER": "minilm-test", "NRTD_CACHE_DIR": settings.cache_dir}
    for k, v in env.items():
        monkeypatch.setenv(k, str(v))
    get_settings.cache_clear()
    r = CliRunner().invoke(cli.app, ["recluster"])  # the default minimum (25) over the demo's 49 records
    assert r.exit_code == 0, r.output
    assert "0 clusters over 49 records" in r.output and "hint: no cluster found" in r.output
    assert "--min-size 3" in r.output
    from nrtd_nlp.cluster.run import zero_clusters_hint

    assert "min_cluster_size 2: too few records" in zero_clusters_hint(5, 2)
    with demo_engine.db.session() as s:
        assert not s.scalars(select(Cluster)).all() and not s.scalars(select(ClusterMember)).all()


def test_old_centroids_are_compared_in_the_new_space():
    from collections import namedtuple

    from nrtd_nlp.cluster.run import _match_old

    Row = namedtuple("Row", "cluster_id rec_id")
    ids = np.arange(1, 41)
    Z = np.zeros((40, 4), np.float32)
    Z[:, 0] = 1.0  # one theme, in the new run's space
    Z[:10, 1] = 0.1
    stale = np.asarray([-1.0, 0.0, 0.0, 0.0], np.float32).tobytes()  # the old run's basis: points elsewhere here
    old = [Cluster(id="cold", centroid=stale, pinned=False, status="active")]
    rows = [Row("cold", r) for r in range(1, 11)]
    new_groups = [np.arange(7, 40)]  # shares 4 of the old 10 members: Jaccard 4/39, below min_jaccard
    C = np.asarray([[1.0, 0.0, 0.0, 0.0]], np.float32)
    assert _match_old(old, rows, ids, Z, new_groups, C).mapping_ == {0: "cold"}  # same theme: the id survives
    assert _match_old(old, rows, ids, None, new_groups, C).mapping_ == {}  # the stored centroid alone: no match


def test_chinese_bigrams_grow_into_words():
    from nrtd_nlp.cluster.labels import ClusterLabeler

    texts = ["应对气候变化的影响", "气候变化威胁人权", "减缓气候变化并保护环境",
             "保护儿童权利", "儿童教育权利", "儿童健康和权利"]
    lab = ClusterLabeler().fit(texts, ["zh"] * 6, np.asarray([0, 0, 0, 1, 1, 1]))
    assert lab.keywords_[0]["zh"][0] == "气候变化" and "候变" not in lab.keywords_[0]["zh"]
    assert {"儿童", "权利"} <= set(lab.keywords_[1]["zh"])  # words stay as they are


def test_a_run_that_finds_nothing_keeps_the_current_clusters(clustered):
    """A default-parameter run after a tuned one found 0 clusters and retired every unpinned theme."""
    from nrtd_nlp.errors import InputError
    from nrtd_nlp.services.clusters import recluster

    engine = clustered
    with engine.db.session() as s:
        before = sorted(s.scalars(select(Cluster.id).where(Cluster.status == "active")))
    assert before
    with pytest.raises(InputError) as e:
        recluster(engine, {"min_cluster_size": 200}, who="ana")
    assert e.value.field == "min_cluster_size" and f"the current {len(before)} clusters are kept" in str(e.value)
    with engine.db.session() as s:
        assert sorted(s.scalars(select(Cluster.id).where(Cluster.status == "active"))) == before


def test_a_confirmation_of_a_cluster_that_changed_since_it_was_seen_is_refused(clustered):
    """A confirm that waited for a re-clustering run (or another person's move) must not accept members the
    person never saw."""
    from nrtd_nlp.services.clusters import confirm_cluster, get_cluster, list_clusters, move_members

    (a, b) = [c["id"] for c in list_clusters(clustered)[0][:2]]
    seen = get_cluster(clustered, a)["members_digest"]
    other = get_cluster(clustered, b)["members"][0]["id"]
    move_members(clustered, [other], a, "bob")  # bob changes it meanwhile
    with pytest.raises(Conflict) as e:
        confirm_cluster(clustered, a, "ana", expected_digest=seen)
    assert e.value.field == "expected_digest" and "changed since you saw it" in str(e.value)
    now = get_cluster(clustered, a)["members_digest"]
    assert confirm_cluster(clustered, a, "ana", expected_digest=now)["pinned"]
