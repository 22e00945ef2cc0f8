"""Latency of ``POST /v1/tag`` for one text, under concurrent clients, on loopback.

    python benchmarks/tag.py [--clients 10] [--requests 300] [--embedder e5-use] [--tasks all]

Starts ``uvicorn nrtd_nlp.api.main:create_app --factory`` on a free loopback port over an empty store in
a temporary folder (the tagger is stateless: it does not need stored records), with a reader key. Warms
every task's tagger with one call, then ``--clients`` client processes send ``--requests`` single-text
requests in all, each waiting for its answer before the next (bounded: 30 s per request,
``--max-seconds`` for the run). Texts come from the shipped demo corpus (7 languages) and, when ../shared
is present, UPR Info, so the embedding cache never answers. The clients share the machine's cores with
the server: ``--client raw`` (default, http.client on one keep-alive connection) costs them ~0.6 ms of
CPU a request, ``--client httpx`` ~2.3 ms. Prints a table: p50/p90/p99/max latency, throughput, errors,
CPU per request of the server (with its tagging process and workers) and of the clients, the server's
peak RSS and the machine's load. ``BENCH_APP=module:factory`` runs another app factory (instrumented
copies).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import multiprocessing
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
UPR = ROOT.parent / "shared" / "corpora" / "upr-info" / "upr_info_sessions01-18.csv"
DEMO = ROOT / "nrtd_nlp" / "corpora" / "demo" / "demo_recommendations.csv"


def texts(n: int) -> list[str]:
    out = [r["text"] for r in csv.DictReader(open(DEMO, encoding="utf-8"))]
    if UPR.exists():
        with open(UPR, encoding="utf-8", newline="") as f:
            out += [r["Text"] for _, r in zip(range(5000), csv.DictReader(f))]
    random.Random(0).shuffle(out)
    return (out * (n // len(out) + 1))[:n]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tree(pid: int) -> list[int]:
    """The server and every process below it (uvicorn workers, their tagging processes)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                todo += [int(x) for x in open(f"/proc/{p}/task/{t}/children").read().split()]
        except OSError:
            pass
    return list(dict.fromkeys(out))


def rss_mb(pid: int) -> float:
    """Peak RSS of the server: the process and everything below it, summed."""
    total, seen = 0.0, False
    for p in _tree(pid):
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
                    seen = True
        except OSError:
            pass
    return total if seen else float("nan")


def cpu_seconds(pid: int, *, below_only: bool = False) -> float:
    """CPU time (user + system) used so far by the server and every process below it (``below_only``:
    the processes below it only, e.g. the tagging process, or the workers when there are several)."""
    total = 0.0
    for p in _tree(pid)[1 if below_only else 0:]:
        try:
            f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
            total += (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


def _client(base: str, headers: dict, mine: list[str], tasks, deadline: float,
            kind: str = "raw") -> tuple[list[float], list, float]:
    """One client process: sends its texts one request at a time on one keep-alive connection.
    ``raw`` (default) uses the standard library's http.client, which costs the shared cores about a
    fifth of what httpx does per request; the client CPU column says what the clients took."""
    lat, errors = [], []
    cpu = time.process_time()
    if kind == "httpx":
        with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
            for text in mine:
                if time.time() > deadline:
                    break
                s = time.perf_counter()
                r = c.post("/v1/tag", json={"text": text, "tasks": tasks})
                d = time.perf_counter() - s
                (lat.append(d) if r.status_code == 200 else errors.append(r.status_code))
        return lat, errors, time.process_time() - cpu
    import http.client
    import json
    from urllib.parse import urlsplit

    u = urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    hdrs = dict(headers, **{"Content-Type": "application/json"})
    try:
        for text in mine:
            if time.time() > deadline:
                break
            body = json.dumps({"text": text, "tasks": tasks}).encode()
            s = time.perf_counter()
            conn.request("POST", "/v1/tag", body=body, headers=hdrs)
            r = conn.getresponse()
            payload = r.read()
            ok = r.status == 200 and json.loads(payload)["count"] == 1
            d = time.perf_counter() - s
            (lat.append(d) if ok else errors.append(r.status))
    finally:
        conn.close()
    return lat, errors, time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--embedder", default=os.environ.get("NRTD_EMBEDDER", "e5-use"))
    ap.add_argument("--tasks", default="all", help="comma-separated tasks, or all")
    ap.add_argument("--max-seconds", type=float, default=600)
    ap.add_argument("--workers", type=int, default=1, help="server processes (as `nrtd serve --workers`)")
    ap.add_argument("--client", choices=("raw", "httpx"), default="raw",
                    help="client library: raw = http.client (light), httpx (~5x the CPU per request)")
    a = ap.parse_args()

    sys.path.insert(0, str(ROOT))
    from nrtd_nlp.config import Settings
    from nrtd_nlp.services.auth import create_key
    from nrtd_nlp.services.context import Engine

    home = Path(tempfile.mkdtemp(prefix="nrtd-tagbench-"))
    engine = Engine(Settings(home=home, embedder=a.embedder))
    key = create_key(engine, "bench", "reader")["key"]
    engine.close()
    port = free_port()
    env = dict(os.environ, NRTD_HOME=str(home), NRTD_EMBEDDER=a.embedder)
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", os.environ.get("BENCH_APP", "nrtd_nlp.api.main:create_app"), "--factory",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
                             "--workers", str(a.workers)], env=env)
    base = f"http://127.0.0.1:{port}"
    tasks = None if a.tasks == "all" else a.tasks.split(",")
    headers = {"Authorization": f"Bearer {key}"}
    try:
        t0 = time.time()
        while time.time() - t0 < 300:
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        t = time.time()
        w = httpx.post(base + "/v1/tag", json={"text": "Ratify the Convention against Torture", "tasks": tasks},
                       headers=headers, timeout=600)
        w.raise_for_status()
        warm = time.time() - t
        todo = texts(a.requests)
        deadline = time.time() + a.max_seconds
        # each client is its own process (as separate NRTD systems would be), so the clients do not
        # share one interpreter lock; they still share the 2 cores with the server
        ctx = multiprocessing.get_context("fork")
        cpu0, below0 = cpu_seconds(proc.pid), cpu_seconds(proc.pid, below_only=True)
        start = time.time()
        with ctx.Pool(a.clients) as pool:
            parts = pool.starmap(_client, [(base, headers, todo[i::a.clients], tasks, deadline, a.client)
                                           for i in range(a.clients)])
        lat = [x for p, _, _ in parts for x in p]
        errors = [x for _, e, _ in parts for x in e]
        client_cpu = sum(c for _, _, c in parts) / max(len(lat), 1) * 1000
        wall = time.time() - start
        server_cpu = (cpu_seconds(proc.pid) - cpu0) / max(len(lat), 1) * 1000
        below_cpu = (cpu_seconds(proc.pid, below_only=True) - below0) / max(len(lat), 1) * 1000
        q = statistics.quantiles(sorted(lat), n=100) if len(lat) >= 2 else [float("nan")] * 99
        print("| embedder | tasks | client | clients | requests | errors | p50 ms | p90 ms | p99 ms | max ms | req/s | "
              "server CPU ms/req | of which below the main process | client CPU ms/req | first call s | server peak RSS MB | load 1 min |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        print(f"| {a.embedder} | {a.tasks} | {a.client} | {a.clients} | {len(lat)} | {len(errors)} | {q[49]*1000:.0f} | "
              f"{q[89]*1000:.0f} | {q[98]*1000:.0f} | {max(lat)*1000:.0f} | {len(lat)/wall:.1f} | {server_cpu:.1f} | {below_cpu:.1f} | {client_cpu:.1f} | {warm:.1f} | "
              f"{rss_mb(proc.pid):.0f} | {os.getloadavg()[0]:.1f} |")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
