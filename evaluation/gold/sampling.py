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
