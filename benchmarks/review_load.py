"""Review load on loopback: N concurrent reviewers making M decisions against uvicorn running the real app.

    python benchmarks/review_load.py [--reviewers 20] [--decisions 2000] [--session-size 300]

Builds a store in a temporary folder from the UPR Info export in ../shared (one UPR session cut to
``--session-size`` recommendations, plus the whole next session so the store is not trivially small), adds
fixture suggestions (agent ``bench@1``: the tagger's output is not what is measured here, the write path is),
creates one reviewer key per reviewer and starts ``uvicorn nrtd_nlp.api.main:create_app --factory``.

Every reviewer works on the same session, picks suggestions at random (so they collide), and sends
``POST /v1/reviews`` with the review it last saw as ``expected_review_id``; on 409 it re-reads the slot and
counts a conflict. Afterwards the store is checked: every 201 must be a stored review (lost = 0), and every
slot's chain of reviews must be linear — each review's audited "before" is the review just before it, so no
two writes were accepted on the same expectation (duplicated = 0). Prints a table: decisions, conflicts,
lost, duplicated, write latency p50/p95/p99/max, throughput, and the time to render the review page of the
session (``GET /ui/review``, signed in). Bounded: every request has a 30 s timeout and the run
``--max-seconds``. ``--think`` adds a pause between a reviewer's decisions (people read before they click);
the default 0 sends them flat out.

The client (20 threads, httpx) runs in this process and the server in its own, so they can use the two cores
of a small machine. The table also gives the CPU each used during the decisions (% of one core: the server's
Python threads share one GIL, so about 100 % is its ceiling) and the machine's 1-minute load average during
the run (sampled every second): other jobs on the machine show up there.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
UPR = ROOT.parent / "shared" / "corpora" / "upr-info" / "upr_info_sessions01-18.csv"
TASKS = (("sdg_goal", ("16", "5", "4", "10", "3")), ("upr_issue", ("Torture", "Women's rights", "Justice")),
         ("action_category", ("4", "5")))


def build_store(home: Path, session_size: int, embedder: str) -> str:
    sys.path.insert(0, str(ROOT))
    from nrtd_nlp.config import Settings
    from nrtd_nlp.services.context import Engine
    from nrtd_nlp.services.imports import import_file
    from nrtd_nlp.services.review_sessions import list_sessions
    from nrtd_nlp.store.models import Recommendation, Suggestion
    from sqlalchemy import select

    if not UPR.exists():
        sys.exit(f"needs {UPR} (the UPR Info export in ../shared/corpora)")
    with open(UPR, encoding="utf-8", newline="") as f:
        r = csv.DictReader(f)
        rows = [x for x in r if x["Session"] in ("1", "2")]
        header = r.fieldnames
    first = [x for x in rows if x["Session"] == "1"][:session_size]
    part = home / "upr_part.csv"
    home.mkdir(parents=True, exist_ok=True)
    with open(part, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        w.writerows(first + [x for x in rows if x["Session"] == "2"])
    settings = Settings(home=home, cache_dir=Path(os.environ.get("NRTD_CACHE_DIR", home / "cache")),
                        embedder=embedder, link_on_import=False, tag_on_import=False)
    engine = Engine(settings)
    res = import_file(engine, part, embed=False)
    rng = random.Random(7)
    with engine.db.session() as s:
        for rid in s.scalars(select(Recommendation.id)):
            for task, values in TASKS:
                for v in rng.sample(values, 2 if task != "action_category" else 1):
                    s.add(Suggestion(rec_id=rid, task=task, value=v, score=round(rng.uniform(0.3, 0.99), 3),
                                     agent="bench@1"))
    key = next(x["key"] for x in list_sessions(engine) if x["count"] == session_size)
    engine.close()
    print(f"store: {res.created} recommendations imported; review session {key!r} has {session_size}", flush=True)
    return key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reviewers", type=int, default=20)
    ap.add_argument("--decisions", type=int, default=2000)
    ap.add_argument("--session-size", type=int, default=300)
    ap.add_argument("--embedder", default="minilm-test",
                    help="loaded at startup only; the review path never embeds (default: the small test model)")
    ap.add_argument("--think", type=float, default=0.0,
                    help="mean pause in seconds between a reviewer's decisions (uniform 0..2x; 0 = flat out)")
    ap.add_argument("--max-seconds", type=float, default=300)
    ap.add_argument("--keep", action="store_true", help="keep the temporary store and server log")
    ap.add_argument("--trace", type=Path, help="write every write request (start s, ms, status, reviewer) as CSV")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="nrtd-review-load-"))
    home = tmp / "home"
    session = build_store(home, args.session_size, args.embedder)

    from nrtd_nlp.config import Settings
    from nrtd_nlp.services.auth import create_key
    from nrtd_nlp.services.context import Engine
    from nrtd_nlp.services.review_sessions import queue

    settings = Settings(home=home, cache_dir=Path(os.environ.get("NRTD_CACHE_DIR", home / "cache")),
                        embedder=args.embedder, link_on_import=False, tag_on_import=False)
    engine = Engine(settings)
    keys = [create_key(engine, f"reviewer-{i:02d}", "reviewer")["key"] for i in range(args.reviewers)]
    slots = [(x["suggestion_id"], it["id"], x["task"], x["value"])
             for it in queue(engine, session, limit=1000)["data"] for x in it["slots"]]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, NRTD_HOME=str(home), NRTD_EMBEDDER=args.embedder, NRTD_LINK_ON_IMPORT="false",
               NRTD_TAG_ON_IMPORT="false")
    log = open(tmp / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "nrtd_nlp.api.main:create_app", "--factory",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        t0 = time.time()
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.time() - t0 > 120:
                sys.exit("server did not start:\n" + (tmp / "server.log").read_text()[-3000:])
            time.sleep(0.2)

        lock = threading.Lock()
        budget = {"left": args.decisions}
        lat: list[float] = []
        trace: list[tuple] = []
        ok_ids: list[int] = []
        stats = {"conflicts": 0, "errors": 0}
        deadline = time.time() + args.max_seconds

        # Clients are built before the clock starts: building one loads an SSL context (tens of ms of CPU under
        # the client's GIL), which would otherwise be charged to the first decisions of the other reviewers.
        clients = [httpx.Client(base_url=base, headers={"X-API-Key": k}, timeout=30) for k in keys]

        def reviewer(i: int) -> None:
            rng = random.Random(1000 + i)
            seen: dict[int, int | None] = {}
            with clients[i] as c:
                while time.time() < deadline:
                    with lock:
                        if budget["left"] <= 0:
                            return
                        budget["left"] -= 1
                    if args.think:
                        time.sleep(rng.uniform(0, 2 * args.think))
                    sid, rid, task, value = rng.choice(slots)
                    while True:
                        body = {"decision": rng.choice(("accept", "reject")), "suggestion_id": sid,
                                "expected_review_id": seen.get(sid)}
                        t = time.perf_counter()
                        r = c.post("/v1/reviews", json=body)
                        dt = time.perf_counter() - t
                        with lock:
                            lat.append(dt)
                            trace.append((t, dt, r.status_code, i))
                        if r.status_code == 201:
                            seen[sid] = r.json()["id"]
                            with lock:
                                ok_ids.append(r.json()["id"])
                            break
                        if r.status_code == 409:  # someone decided first: re-read the slot, decide again
                            with lock:
                                stats["conflicts"] += 1
                            cur = c.get("/v1/reviews", params={"rec_id": rid, "task": task, "limit": 1000}).json()
                            live = [x for x in cur["data"] if x["value"] == value and not x["reverted"]]
                            seen[sid] = live[0]["id"] if live else None
                            continue
                        with lock:
                            stats["errors"] += 1
                        break

        threads = [threading.Thread(target=reviewer, args=(i,)) for i in range(args.reviewers)]
        loads: list[float] = []
        running = threading.Event()
        running.set()

        def sample_load() -> None:
            while running.is_set():
                loads.append(os.getloadavg()[0])
                time.sleep(1)

        sampler = threading.Thread(target=sample_load, daemon=True)
        load_before = os.getloadavg()
        cpu0, srv0 = _cpu_self(), _cpu_of(proc.pid)
        t_start = time.perf_counter()
        sampler.start()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t_start
        cpu_client, cpu_server = _cpu_self() - cpu0, _cpu_of(proc.pid) - srv0
        running.clear()

        # the page of the session, signed in as a reviewer
        with httpx.Client(base_url=base, timeout=30) as c:
            form = c.get("/ui/login").text
            token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
            c.post("/ui/login", data={"key": keys[0], "csrf": token})
            times = []
            for _ in range(6):
                t = time.perf_counter()
                page = c.get("/ui/review", params={"session": session, "limit": args.session_size})
                times.append(time.perf_counter() - t)
                assert page.status_code == 200, page.status_code
            n_articles = page.text.count('<article class="rec"')
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()

    if args.trace:
        with open(args.trace, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["start_s", "ms", "status", "reviewer"])
            w.writerows((f"{t - t_start:.4f}", f"{dt * 1000:.1f}", st, i) for t, dt, st, i in sorted(trace))
    lost, duplicated = verify(engine, ok_ids)
    engine.close()
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    lat_ms = sorted(x * 1000 for x in lat)
    q = statistics.quantiles(lat_ms, n=100)
    print(f"\nthink time {args.think} s mean; wall {wall:.1f} s")
    print("\n| reviewers | decisions stored | write requests | 409 conflicts | errors | lost | duplicated | "
          "p50 ms | p95 ms | p99 ms | max ms | decisions/s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.reviewers} | {len(ok_ids)} | {len(lat)} | {stats['conflicts']} | {stats['errors']} | {lost} | "
          f"{duplicated} | {q[49]:.1f} | {q[94]:.1f} | {q[98]:.1f} | {lat_ms[-1]:.1f} | {len(ok_ids) / wall:.0f} |")
    print(f"\n| 1-min load before | during: mean | during: max | server CPU (% of a core) | client CPU |"
          f"\n|---|---|---|---|---|\n| {load_before[0]:.2f} | {statistics.mean(loads):.2f} | {max(loads):.2f} | "
          f"{100 * cpu_server / wall:.0f} % | {100 * cpu_client / wall:.0f} % |")
    print(f"\n| review page (GET /ui/review, signed in) | recommendations shown | first s | median of next 5 s | "
          f"max of next 5 s |\n|---|---|---|---|---|\n| {session} | {n_articles} | {times[0]:.3f} | "
          f"{statistics.median(times[1:]):.3f} | {max(times[1:]):.3f} |")


def _cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of another process (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def verify(engine, ok_ids: list[int]) -> tuple[int, int]:
    """lost: acknowledged reviews missing from the store; duplicated: reviews accepted on a stale expectation."""
    from sqlalchemy import select

    from nrtd_nlp.store.models import AuditEvent, Review

    with engine.db.session() as s:
        reviews = s.scalars(select(Review).order_by(Review.id)).all()
        before = {int(a.entity_id): (a.before or {}).get("id") for a in s.scalars(
            select(AuditEvent).where(AuditEvent.entity == "review", AuditEvent.action.like("review.%")))}
    stored = {r.id for r in reviews}
    lost = len(set(ok_ids) - stored) + (len(ok_ids) - len(set(ok_ids)))
    chains: dict[tuple, list[int]] = {}
    for r in reviews:
        chains.setdefault((r.rec_id, r.task, r.value), []).append(r.id)
    duplicated = 0
    for ids in chains.values():
        for prev, cur in zip([None] + ids[:-1], ids):
            if before.get(cur, "missing") != prev:
                duplicated += 1
    return lost, duplicated


if __name__ == "__main__":
    main()
