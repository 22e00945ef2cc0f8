"""What a server does once at startup so that its first requests, and its busiest minutes, are not slower.

Measured with ``benchmarks/review_load.py`` (20 reviewers sending decisions flat out on 2 cores):

* Full garbage collections walked every object the model and the libraries had created at import — hundreds of
  thousands that live as long as the server — and stopped all requests for 0.5-0.75 s, several times a minute.
  ``gc.freeze()`` after startup moves them out of the collector's way (later full collections took 25-35 ms).
* FastAPI builds each included router's route contexts on the first request that reaches it, and SQLAlchemy
  compiles a statement the first time it runs; the first simultaneous requests paid for both at once.
"""

from __future__ import annotations

import gc
import logging
import threading

log = logging.getLogger(__name__)


def start_tagger_warm_up(engine) -> threading.Thread | None:
    """Start loading the taggers in the tagging process (services/tag_process.py) now, so that it loads
    them while this process loads its own embedder; ``warm_up`` waits for it. None when there is no
    tagging process (then ``warm_up`` loads them here) or warming is off."""
    try:
        if not engine.settings.warm_taggers or engine.tag_batcher.runner is None:
            return None
        tasks = engine.taggers.tasks()
    except Exception:  # noqa: BLE001 - warm_up then tries in its own way and logs what fails
        log.warning("could not start the taggers' warm-up", exc_info=True)
        return None

    def run():
        try:
            engine.tag_batcher.warm(tasks)
        except Exception:  # noqa: BLE001 - a tagger that cannot load says so on its own requests
            log.warning("warm-up of the taggers failed", exc_info=True)

    thread = threading.Thread(target=run, name="nrtd-tag-warm-up", daemon=True)
    thread.start()
    return thread


def warm_up(app, engine, tagger_warm_up: threading.Thread | None = None) -> None:
    """Build route contexts, compile the review path's statements, open pooled connections, load the
    taggers (or wait for ``start_tagger_warm_up``'s thread), freeze the GC."""
    scope = {"type": "http", "path": "/__warm_up__/", "method": "GET", "headers": [], "query_string": b"",
             "root_path": "", "app": app}
    for route in app.router.routes:  # a path no route has: every router builds its contexts and says no
        try:
            route.matches(dict(scope))
        except Exception:  # noqa: BLE001 - warming is best effort; a route that cannot match is fine
            log.debug("warm-up: %r did not match", route, exc_info=True)
    try:
        from ..services.reviews import warm_statements

        warm_statements(engine)
    except Exception:  # noqa: BLE001 - e.g. a database that is not reachable yet: requests will say so
        log.warning("warm-up of the review statements failed", exc_info=True)
    if tagger_warm_up is not None:
        tagger_warm_up.join(300)
    else:
        _warm_taggers_here(engine)
    gc.collect()
    gc.freeze()


def _warm_taggers_here(engine) -> None:
    try:  # load every task's tagger bundle now, not on a client's first request (each worker process has its own,
        # in its tagging process when there is one: services/tag_process.py)
        if engine.settings.warm_taggers:
            engine.tag_batcher.warm(engine.taggers.tasks())
    except Exception:  # noqa: BLE001 - a tagger that cannot load says so on its own requests
        log.warning("warm-up of the taggers failed", exc_info=True)
