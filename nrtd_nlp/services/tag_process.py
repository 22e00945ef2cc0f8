"""The taggers in a process of their own, beside the API server's.

One Python process can run Python on only one core at a time. In the tag server the request handling
(HTTP, validation, language detection, JSON: ~2.5 ms a request) and the tagging (USE-m3, TF-IDF,
the heads: ~3.5 ms a text in a batch) took turns on that one lock, so under 10 clients the second
core stayed half idle while each micro-batch took twice its own time (py-spy and batch timings,
``benchmarks/tag.py``). Here the micro-batches are tagged in a child process: the server's event loop
keeps answering while a batch runs, batches stay large (one tagging process per server process), and
the child needs only USE-m3 and the tagger bundles (e5 loads lazily and is never asked for).

The child is started (``spawn``: no fork of a process holding torch's threads) on first use or by the
server's warm-up, builds an :class:`Engine` from the same settings, and answers ``tag_validated``
calls one batch at a time over a pipe. If it dies, the batch in flight fails with a clear error
(503, ``tagger_unavailable``) and the next batch starts a new child.
"""

from __future__ import annotations

import logging
import os
import threading

from ..errors import ModelUnavailable

log = logging.getLogger(__name__)

def _child_main(conn, settings_json: str) -> None:
    """The child: build the engine, then answer (name, args) messages until the pipe closes."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from ..config import Settings
    from ..store.db import Database
    from .context import Engine
    from .tags import tag_validated, warm_taggers

    settings = Settings.model_validate_json(settings_json)
    # tagging reads no table: no migration check from the child (the server has done it)
    engine = Engine(settings, database=Database(settings.db_url, auto_migrate=False))
    while True:
        try:
            name, args = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        try:
            if name == "tag":
                out = tag_validated(engine, *args, refine=settings.tag_refine == "always")
            elif name == "warm":
                warm_taggers(engine, args[0])
                import gc

                gc.collect()
                gc.freeze()  # the bundles live as long as the child (see api/warmup.py)
                out = os.getpid()
            else:
                raise ValueError(f"unknown call {name!r}")
            conn.send((True, out))
        except BaseException as e:  # noqa: BLE001 - the parent's request gets the error; the child goes on
            try:
                conn.send((False, e))
            except Exception:  # an exception that does not pickle: send its text
                conn.send((False, RuntimeError(f"{type(e).__name__}: {e}")))


class TagProcess:
    """``tag(texts, langs, tasks, top_k)`` answered by a child process (same results as
    ``tags.tag_validated`` in this process; tested). One call at a time, over a pipe: the batcher's
    thread sends a batch and waits on the pipe without holding the interpreter lock."""

    def __init__(self, settings, *, timeout: float = 300.0):
        self.settings = settings
        self.timeout = timeout
        self._conn = None
        self._proc = None
        self._lock = threading.Lock()
        self.pid: int | None = None
        self.restarts = 0

    def _start(self) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")  # no fork of a process holding torch's threads
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_child_main, args=(child, self.settings.model_dump_json()),
                           name="nrtd-tagger", daemon=True)
        proc.start()
        child.close()
        self._conn, self._proc, self.pid = parent, proc, proc.pid

    def _stop(self) -> None:
        conn, proc, self._conn, self._proc = self._conn, self._proc, None, None
        if conn is not None:
            conn.close()  # the child's recv ends: it returns
        if proc is not None:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join(5)

    def _call(self, name: str, *args):
        with self._lock:
            if self._proc is None or not self._proc.is_alive():
                if self._proc is not None:
                    self.restarts += 1
                    self._stop()
                self._start()
            try:
                self._conn.send((name, args))
                if not self._conn.poll(self.timeout):
                    raise TimeoutError(f"no answer in {self.timeout:.0f} s")
                ok, out = self._conn.recv()
            except (EOFError, OSError, TimeoutError, BrokenPipeError) as e:
                log.error("the tagging process failed (%s); the next batch starts a new one", e)
                self.restarts += 1
                self._stop()
                raise ModelUnavailable("the tagging process stopped; retry the request",
                                       code="tagger_unavailable") from e
        if not ok:
            raise out
        return out

    def warm(self, tasks: list[str]) -> int:
        """Start the child and load every tagger in it; returns its pid."""
        return self._call("warm", list(tasks))

    def tag(self, texts, langs, tasks, top_k) -> list[dict]:
        return self._call("tag", list(texts), list(langs), list(tasks), int(top_k))

    def close(self) -> None:
        with self._lock:
            self._stop()
