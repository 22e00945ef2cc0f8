"""Batch jobs (re-clustering): a row in ``jobs`` with status, progress and a checkpoint.

A job runs in the calling thread (CLI) or a background thread (API: the server keeps answering,
SQLite is in WAL mode and the job writes its result in one final transaction). Its checkpoint
names the last finished stage; after a kill the row is left ``running`` (or ``failed`` after an
error) and ``resume_job`` carries on from that stage instead of starting again.

One job at a time per store, across processes (the server, a CLI run, a cron job): a running job
writes ``heartbeat_at`` every ``HEARTBEAT_S`` seconds, and a job whose heartbeat is younger than
``STALE_S`` is alive wherever it runs. Starting a job locks the job rows first and checks there is
no other live one, so two processes cannot both start; resuming a job that is alive elsewhere is
refused. A row left ``running`` by a killed process goes stale after ``STALE_S`` and may be resumed.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from pathlib import Path
from typing import Callable

from sqlalchemy import func, select, text

from ..errors import Conflict, InputError, NotFound
from ..store.models import AuditEvent, Job, utcnow
from .context import Engine

KINDS = ("recluster",)
HEARTBEAT_S = 10.0
STALE_S = 60.0
_LIVE: dict[str, threading.Thread] = {}  # jobs running in this process
_LIVE_LOCK = threading.Lock()

Progress = Callable[[str, float], None]


def job_to_dict(j: Job) -> dict:
    return {"id": j.id, "kind": j.kind, "status": j.status, "progress": round(j.progress or 0.0, 3),
            "stage": (j.checkpoint or {}).get("running_stage") or (j.checkpoint or {}).get("stage"),
            "params": j.params, "result": j.result, "error": j.error, "checkpoint": j.checkpoint,
            "created_by": j.created_by, "created_at": j.created_at, "started_at": j.started_at,
            "finished_at": j.finished_at, "heartbeat_at": j.heartbeat_at, "alive": _alive(j)}


def _alive(j: Job, now: dt.datetime | None = None) -> bool:
    """Running in some process: status running and a heartbeat younger than ``STALE_S``."""
    if j.status != "running" or j.heartbeat_at is None:
        return False
    return ((now or utcnow()) - j.heartbeat_at).total_seconds() < STALE_S


def _live_elsewhere(s, except_id: str | None = None) -> Job | None:
    """Another job that is alive (in any process), read after ``_lock_jobs``."""
    now = utcnow()
    for j in s.scalars(select(Job).where(Job.status == "running")):
        if j.id != except_id and _alive(j, now):
            return j
    return None


def _lock_jobs(s, job_id: str | None = None) -> None:
    """Serialise job starts: the write lock on the queued and running rows (and ``job_id``'s) before reading
    them (SQLite: the database's write lock; PostgreSQL: those rows)."""
    s.execute(text("UPDATE jobs SET status = status WHERE status IN ('queued', 'running') OR id = :id"),
              {"id": job_id or ""})


def _busy_message(j: Job) -> str:
    return (f"job {j.id} ({j.kind}) is running (heartbeat {j.heartbeat_at:%H:%M:%S} UTC); wait for it or follow "
            f"it at /v1/jobs/{j.id}")


def create_job(engine: Engine, kind: str, params: dict | None = None, who: str = "cli") -> dict:
    if kind not in KINDS:
        raise InputError(f"unknown job kind {kind!r}; choose one of {', '.join(KINDS)}", field="kind")
    if kind == "recluster":
        from ..cluster.run import ReclusterParams

        params = ReclusterParams.from_dict(params).to_dict()  # 422 before anything is queued
    with _LIVE_LOCK:
        busy = [jid for jid, t in _LIVE.items() if t.is_alive()]
    if busy:
        raise Conflict(f"job {busy[0]} is still running; wait for it or follow it at /v1/jobs/{busy[0]}",
                       field="kind")
    with engine.db.session() as s:
        _lock_jobs(s)
        other = _live_elsewhere(s)
        if other is not None:
            raise Conflict(_busy_message(other), field="kind")
        j = Job(id="j" + uuid.uuid4().hex[:12], kind=kind, status="queued", params=params or {}, created_by=who,
                checkpoint={})
        s.add(j)
        s.add(AuditEvent(who=who, action="job_create", entity="job", entity_id=j.id, after={"kind": kind,
                                                                                          "params": params}))
        s.flush()
        return job_to_dict(j)


def get_job(engine: Engine, job_id: str) -> dict:
    with engine.db.session() as s:
        j = s.get(Job, job_id)
        if j is None:
            raise NotFound(f"no job {job_id!r}", field="job_id")
        return job_to_dict(j)


def list_jobs(engine: Engine, kind: str | None = None, limit: int = 20, offset: int = 0) -> tuple[list[dict], int]:
    q = select(Job)
    if kind:
        q = q.where(Job.kind == kind)
    with engine.db.session() as s:
        total = s.scalar(select(func.count()).select_from(q.subquery()))
        rows = s.scalars(q.order_by(Job.created_at.desc()).limit(limit).offset(offset)).all()
        return [job_to_dict(j) for j in rows], int(total or 0)


class JobContext:
    """The run context a job hands to its work: workdir, checkpoint, progress into the job row."""

    def __init__(self, engine: Engine, job_id: str, checkpoint: dict, on_progress: Progress | None = None):
        self.engine = engine
        self.job_id = job_id
        self.workdir = Path(engine.settings.home) / "jobs" / job_id
        self.checkpoint = dict(checkpoint or {})
        self._on_progress = on_progress

    def _update(self, **values) -> None:
        with self.engine.db.session() as s:
            j = s.get(Job, self.job_id)
            for k, v in values.items():
                setattr(j, k, v)

    def save_checkpoint(self, checkpoint: dict) -> None:
        self.checkpoint = dict(checkpoint)
        self._update(checkpoint=self.checkpoint)

    def progress(self, stage: str, fraction: float) -> None:
        if self._on_progress:
            self._on_progress(stage, fraction)  # may raise (e.g. an interrupted CLI): the job stops here
        self._update(progress=float(fraction), checkpoint={**self.checkpoint, "running_stage": stage})


def _claim(engine: Engine, job_id: str) -> tuple[str, dict, dict, str]:
    """Mark the job running with a fresh heartbeat, under the job rows' write lock; refused (409) when it
    is done, alive in another process, or another job is alive. Returns (kind, params, checkpoint, who)."""
    with engine.db.session() as s:
        _lock_jobs(s, job_id)
        j = s.get(Job, job_id)
        if j is None:
            raise NotFound(f"no job {job_id!r}", field="job_id")
        if j.status == "done":
            raise Conflict(f"job {job_id} is already done", field="job_id")
        if _alive(j):
            raise Conflict(f"job {job_id} is running in another process (heartbeat {j.heartbeat_at:%H:%M:%S} "
                           "UTC); follow it, or resume it once it has stopped", field="job_id")
        other = _live_elsewhere(s, except_id=job_id)
        if other is not None:
            raise Conflict(_busy_message(other), field="job_id")
        j.status, j.error = "running", None
        j.started_at = j.started_at or utcnow()
        j.heartbeat_at = utcnow()
        return j.kind, j.params, dict(j.checkpoint or {}), j.created_by or "system"


class _Heartbeat:
    """Writes the job's ``heartbeat_at`` every ``HEARTBEAT_S`` seconds from a daemon thread until stopped."""

    def __init__(self, engine: Engine, job_id: str):
        self.engine, self.job_id = engine, job_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{job_id}", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                with self.engine.db.session() as s:
                    s.execute(text("UPDATE jobs SET heartbeat_at = :t WHERE id = :id AND status = 'running'"),
                              {"t": utcnow(), "id": self.job_id})
            except Exception:  # noqa: BLE001 - a busy store skips one beat; STALE_S allows several
                continue

    def __enter__(self) -> "_Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=HEARTBEAT_S)


def run_job(engine: Engine, job_id: str, on_progress: Progress | None = None) -> dict:
    """Run (or resume) a job in this thread; returns the job as a dict. Errors mark it failed and re-raise."""
    try:
        kind, params, checkpoint, who = _claim(engine, job_id)
    except Conflict as e:
        with engine.db.session() as s:  # a job queued while another started elsewhere will not run: say so
            j = s.get(Job, job_id)
            if j is not None and j.status == "queued":
                j.status, j.error, j.finished_at = "failed", f"not started: {e.message}", utcnow()
        raise
    checkpoint.pop("running_stage", None)
    ctx = JobContext(engine, job_id, checkpoint, on_progress)
    try:
        with _Heartbeat(engine, job_id):
            if kind == "recluster":
                from ..cluster.run import ReclusterParams, run_recluster

                result = run_recluster(engine, ReclusterParams.from_dict(params), ctx, who=who)
            else:  # pragma: no cover - create_job refuses other kinds
                raise InputError(f"unknown job kind {kind!r}", field="kind")
    except BaseException as e:
        ctx._update(status="failed", error=f"{type(e).__name__}: {e}", finished_at=utcnow(), heartbeat_at=None)
        raise
    ctx._update(status="done", progress=1.0, result=result, finished_at=utcnow(), heartbeat_at=None,
                checkpoint={k: v for k, v in ctx.checkpoint.items() if k != "running_stage"})
    return get_job(engine, job_id)


def start_job(engine: Engine, job_id: str) -> threading.Thread:
    """Run a job in a background thread (the API's way); its errors end up in the job row."""

    def target() -> None:
        try:
            run_job(engine, job_id)
        except Exception:  # recorded as failed in the row by run_job
            pass
        finally:
            with _LIVE_LOCK:
                _LIVE.pop(job_id, None)

    t = threading.Thread(target=target, name=f"job-{job_id}", daemon=True)
    with _LIVE_LOCK:
        _LIVE[job_id] = t
    t.start()
    return t


def resume_job(engine: Engine, job_id: str, *, background: bool = False,
               on_progress: Progress | None = None) -> dict | threading.Thread:
    """Carry on a killed or failed job from its checkpoint."""
    with _LIVE_LOCK:
        alive = job_id in _LIVE and _LIVE[job_id].is_alive()
    if alive:
        raise Conflict(f"job {job_id} is running in this process", field="job_id")
    job = get_job(engine, job_id)
    if job["status"] == "done":
        raise Conflict(f"job {job_id} is already done", field="job_id")
    if job["alive"]:
        raise Conflict(f"job {job_id} is running in another process (heartbeat {job['heartbeat_at']:%H:%M:%S} "
                       "UTC); follow it, or resume it once it has stopped", field="job_id")
    if background:
        return start_job(engine, job_id)
    return run_job(engine, job_id, on_progress)
