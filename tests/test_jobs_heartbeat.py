"""One job at a time per store across processes: a running job keeps a heartbeat in its row; another
process (the server, a CLI run, a cron job) refuses to start a second job or to resume one that is alive,
and a row left running by a killed process may be resumed once its heartbeat is stale."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from nrtd_nlp.errors import Conflict
from nrtd_nlp.services import jobs
from nrtd_nlp.store.models import Job, utcnow
from tests.conftest import act_as
from tests.test_clusters import SMALL, demo_engine, demo_store  # noqa: F401  (fixtures)


def _running_elsewhere(engine, age_s: float) -> str:
    """A job row as another process leaves it: running, its last heartbeat ``age_s`` seconds ago."""
    with engine.db.session() as s:
        j = Job(id="jother", kind="recluster", status="running", params=SMALL, checkpoint={},
                created_by="cron", started_at=utcnow(), heartbeat_at=utcnow() - dt.timedelta(seconds=age_s))
        s.add(j)
    return "jother"


def test_a_job_alive_in_another_process_blocks_a_second_one_and_its_resume(demo_engine):
    other = _running_elsewhere(demo_engine, age_s=5)
    assert jobs.get_job(demo_engine, other)["alive"] is True
    with pytest.raises(Conflict, match="job jother .* is running"):
        jobs.create_job(demo_engine, "recluster", SMALL, who="ana")
    with pytest.raises(Conflict, match="running in another process"):
        jobs.resume_job(demo_engine, other)
    with pytest.raises(Conflict, match="running in another process"):
        jobs.run_job(demo_engine, other)
    assert jobs.list_jobs(demo_engine)[1] == 1  # nothing queued behind it


def test_a_queued_job_that_loses_the_race_is_marked_not_started(demo_engine):
    job = jobs.create_job(demo_engine, "recluster", SMALL, who="ana")
    _running_elsewhere(demo_engine, age_s=1)  # another process started between create and run
    with pytest.raises(Conflict):
        jobs.run_job(demo_engine, job["id"])
    j = jobs.get_job(demo_engine, job["id"])
    assert j["status"] == "failed" and j["error"].startswith("not started: job jother")


def test_a_killed_job_goes_stale_and_resumes(demo_engine):
    other = _running_elsewhere(demo_engine, age_s=jobs.STALE_S + 5)
    assert jobs.get_job(demo_engine, other)["alive"] is False
    done = jobs.resume_job(demo_engine, other)
    assert done["status"] == "done" and done["result"]["clusters"] >= 2  # (no checkpoint files: from the start)
    assert done["heartbeat_at"] is None and done["alive"] is False


def test_a_running_job_beats_and_stops_beating(demo_engine, monkeypatch):
    import time

    monkeypatch.setattr(jobs, "HEARTBEAT_S", 0.05)
    job = jobs.create_job(demo_engine, "recluster", SMALL, who="ana")
    seen = []

    def watch(stage: str, fraction: float) -> None:
        with demo_engine.db.session() as s:
            first = s.get(Job, job["id"]).heartbeat_at
        time.sleep(0.2)
        with demo_engine.db.session() as s:
            j = s.get(Job, job["id"])
            seen.append((jobs._alive(j), j.heartbeat_at > first))

    done = jobs.run_job(demo_engine, job["id"], watch)
    assert seen and all(alive and moved for alive, moved in seen)  # alive, and the heartbeat moves on
    assert done["status"] == "done" and done["alive"] is False


def test_the_api_answers_409_while_another_process_runs_a_job(demo_engine):
    from nrtd_nlp.api.deps import get_engine
    from nrtd_nlp.api.main import create_app

    _running_elsewhere(demo_engine, age_s=2)
    app = act_as(create_app(engine=demo_engine), "admin", "api-admin")
    app.dependency_overrides[get_engine] = lambda: demo_engine
    with TestClient(app) as client:
        r = client.post("/v1/jobs/recluster", json=SMALL)
        assert r.status_code == 409 and "jother" in r.text
        r = client.post("/v1/jobs/jother/resume")
        assert r.status_code == 409 and "another process" in r.text
        assert client.get("/v1/jobs/jother").json()["alive"] is True


def test_the_cli_refuses_with_one_line_while_another_process_runs_a_job(demo_engine, settings):
    import os

    _running_elsewhere(demo_engine, age_s=2)
    env = dict(os.environ, NRTD_HOME=str(settings.home), NRTD_CACHE_DIR=str(settings.cache_dir),
               NRTD_EMBEDDER="minilm-test")
    if settings.database_url:
        env["NRTD_DATABASE_URL"] = settings.database_url
    r = subprocess.run([sys.executable, "-m", "nrtd_nlp.cli", "recluster", "--min-size", "3"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "job jother" in r.stderr
