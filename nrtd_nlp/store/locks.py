"""Row locks taken before reading what a decision checks, so the check and the write that follows cannot
interleave with another writer: on SQLite a no-op UPDATE takes the database's write lock; on PostgreSQL it
locks just those rows."""

from __future__ import annotations

from sqlalchemy import text


def _lock_ids(s, table: str, touch: str, ids) -> int:
    """No-op ``UPDATE table SET touch`` on the rows with these ids, 500 at a time; how many rows exist."""
    ids = sorted(set(ids))
    n = 0
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        marks = ",".join(f":i{j}" for j in range(len(chunk)))
        n += s.execute(text(f"UPDATE {table} SET {touch} WHERE id IN ({marks})"),
                       {f"i{j}": v for j, v in enumerate(chunk)}).rowcount
    return n


def lock_recommendations(s, rec_ids) -> int:
    """Serialise writers on these recommendations; returns how many of them exist."""
    return _lock_ids(s, "recommendations", "id = id", rec_ids)


def lock_links(s, where: str, params: dict) -> None:
    """Serialise writers on the links matching ``where`` (a fixed SQL condition with bind parameters)."""
    s.execute(text(f"UPDATE links SET status = status WHERE {where}"), params)


def lock_clusters(s, cluster_ids=None) -> int:
    """Serialise writers on these clusters (every active cluster when ``cluster_ids`` is None: a re-clustering
    run's commit); returns how many rows were locked. ``status = status``: the foreign-key parent key is not
    touched."""
    if cluster_ids is None:
        return s.execute(text("UPDATE clusters SET status = status WHERE status = 'active'")).rowcount
    return _lock_ids(s, "clusters", "status = status", cluster_ids)
