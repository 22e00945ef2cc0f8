"""Import: validate -> detect language -> segment -> embed (outside the write lock) -> one
transaction that writes records, children and cached vectors -> update the FAISS index.

Idempotent by (source, external_id): an unchanged record is left alone, a changed text updates
its record and marks its suggestions stale. Any error before the commit leaves the store as it was.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from sqlalchemy import select, update

from ..errors import InputError, NrtdError
from ..ingest.readers import read_file
from ..ingest.records import RawRecord, text_hash
from ..store.models import AuditEvent, EmbeddingCache, ImportBatch, Recommendation, Suggestion, utcnow
from .context import Engine

Progress = Callable[[str, int, int], None]  # (stage, done, total)

_META_FIELDS = ("mechanism", "body", "country", "recommending_state", "cycle", "session", "date",
                "response", "paragraph", "translation_group")


@dataclass
class ImportResult:
    import_id: int
    format: str
    source: str
    rows_read: int
    created: int
    updated: int
    unchanged: int
    children: int
    embedded: int
    seconds: float
    links: dict | None = None
    clusters: dict | None = None  # new records attached to existing clusters
    institutions: dict | None = None  # institution suggestions for new records, once institutions are loaded
    tags: dict | None = None  # tag suggestions stored for new records
    languages: dict = field(default_factory=dict)
    # sub-items a changed paragraph no longer has: removed, or kept where a person decided something on them
    orphaned_sub_items: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def validate(records: list[RawRecord], max_chars: int) -> None:
    first: dict[tuple[str, str], RawRecord] = {}
    for i, r in enumerate(records):
        where = f"row {r.row}: " if r.row else ""
        if not r.text or not r.text.strip():
            raise InputError(f"{where}empty text", field="text")
        if not any(ch.isalpha() for ch in _PARENTHESES.sub(" ", r.text)):  # e.g. "132.90 (New Zealand);"
            raise InputError(f"{where}no recommendation text, only numbers, punctuation or a name in parentheses "
                             f"({r.text[:60]!r})", field="text")
        if len(r.text) > max_chars:
            raise InputError(f"{where}text is {len(r.text):,} characters; the limit is {max_chars:,}",
                             field="text")
        if not r.external_id or not r.external_id.strip() or len(r.external_id) > 200:
            raise InputError(f"{where}missing or over-long id", field="id")
        for f, limit in _COLUMN_LIMITS.items():  # SQLite would keep a longer value, PostgreSQL refuse it
            v = getattr(r, f, None)
            if isinstance(v, str) and len(v) > limit:
                raise InputError(f"{where}{f} is {len(v)} characters; the store keeps {limit} ({v[:40]!r}…)",
                                 field=f)
        seen = first.setdefault((r.source, r.external_id), r)
        if seen is not r and seen.text != r.text:  # a repeated row is kept once; a different text is an error
            rows = f"rows {seen.row} and {r.row}" if r.row else f"items {records.index(seen)} and {i}"
            raise InputError(f"id {r.external_id!r} is used twice with different texts ({rows})", field="id")
        if seen is not r:  # the same text: kept once, so any other field must agree too, or one would be lost
            other = next((f for f in _COMPARED if getattr(seen, f) != getattr(r, f)), None)
            if other:
                rows = f"rows {seen.row} and {r.row}" if r.row else f"items {records.index(seen)} and {i}"
                raise InputError(f"id {r.external_id!r} is used twice with different {other} ({rows}: "
                                 f"{getattr(seen, other)!r} and {getattr(r, other)!r})", field="id")


_COLUMN_LIMITS = {f: Recommendation.__table__.columns[f].type.length  # a record's metadata fields in the store
                  for f in ("mechanism", "body", "country", "recommending_state", "cycle", "session", "response",
                            "paragraph", "translation_group")}


_PARENTHESES = re.compile(r"\([^()]*\)")
_COMPARED = ("mechanism", "body", "country", "recommending_state", "cycle", "session", "date", "response",
             "paragraph", "language", "translation_group", "extra")


def _expand(engine: Engine, records: list[RawRecord]) -> list[tuple[RawRecord, str | None, int | None]]:
    """Language + segmentation. Returns (record, parent external_id, position) rows, parents first."""
    det, seg = engine.detector, engine.segmenter
    out: list[tuple[RawRecord, str | None, int | None]] = []
    seen: set[tuple[str, str]] = set()
    for r in records:
        key = (r.source, r.external_id)
        if key in seen:  # the same record twice in one file: keep the first
            continue
        seen.add(key)
        lang, score = det.detect(r.text, r.language)
        r.language = lang
        r.extra = dict(r.extra or {}, language_score=round(score, 4))
        out.append((r, None, None))
        if r.mechanism and r.mechanism != "UPR":
            lead_in, items, _tail = seg.split(r.text, lang)
            for pos, it in enumerate(items):
                child = RawRecord(
                    source=r.source, external_id=f"{r.external_id}#{it.letter}", text=it.text,
                    mechanism=r.mechanism, body=r.body, country=r.country,
                    recommending_state=r.recommending_state, cycle=r.cycle, session=r.session,
                    date=r.date, response=r.response, paragraph=f"{r.paragraph or ''}({it.letter})",
                    language=lang,
                    translation_group=f"{r.translation_group}#{pos}" if r.translation_group else None,
                    extra={"lead_in": lead_in, "language_score": round(score, 4)}, row=r.row,
                )
                out.append((child, r.external_id, pos))
    return out


def _embed_missing(engine: Engine, texts_by_hash: dict[str, str], progress: Progress | None) -> dict[str, bytes]:
    emb = engine.embedder
    hashes = list(texts_by_hash)
    have: set[str] = set()
    with engine.db.session() as s:
        for start in range(0, len(hashes), 900):
            chunk = hashes[start : start + 900]
            have.update(s.scalars(select(EmbeddingCache.text_hash).where(
                EmbeddingCache.model_id == emb.model_id, EmbeddingCache.text_hash.in_(chunk))))
    todo = [h for h in hashes if h not in have]
    if not todo:
        return {}
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress("embed", done, len(todo))

    vecs = emb.encode([texts_by_hash[h] for h in todo], progress=tick)
    return {h: np.ascontiguousarray(v, np.float32).tobytes() for h, v in zip(todo, vecs)}


def _cache_vectors(s, model_id: str | None, new_vectors: dict[str, bytes]) -> None:
    """Insert the vectors embedded before the transaction; another import or the server may have cached
    some of the same texts meanwhile, so those rows are skipped (ON CONFLICT DO NOTHING), never an error."""
    if not new_vectors:
        return
    rows = [{"text_hash": h, "model_id": model_id, "dim": len(blob) // 4, "vector": blob}
            for h, blob in new_vectors.items()]
    dialect = s.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        for start in range(0, len(rows), 500):
            s.execute(dialect_insert(EmbeddingCache).on_conflict_do_nothing(), rows[start:start + 500])
        return
    have = set()
    for start in range(0, len(rows), 900):
        have.update(s.scalars(select(EmbeddingCache.text_hash).where(
            EmbeddingCache.model_id == model_id, EmbeddingCache.text_hash.in_(list(new_vectors)[start:start + 900]))))
    s.add_all(EmbeddingCache(**r) for r in rows if r["text_hash"] not in have)


def import_records(engine: Engine, records: list[RawRecord], *, fmt: str, filename: str | None = None,
                   file_sha256: str | None = None, actor: str = "cli", embed: bool | None = None,
                   progress: Progress | None = None) -> ImportResult:
    t0 = utcnow()
    validate(records, engine.settings.max_text_chars)
    rows = _expand(engine, records)
    embed = engine.settings.embed_on_import if embed is None else embed
    new_vectors: dict[str, bytes] = {}
    if embed:
        new_vectors = _embed_missing(engine, {text_hash(r.text): r.text for r, _, _ in rows}, progress)
    source = records[0].source
    counts = dict(created=0, updated=0, unchanged=0, children=0)
    touched: list[int] = []
    with engine.db.session() as s:
        batch = ImportBatch(source=source, format=fmt, filename=filename, file_sha256=file_sha256,
                            rows_read=len(records), actor=actor, started_at=t0)
        s.add(batch)
        s.flush()
        keys = {(r.source, r.external_id) for r, _, _ in rows}
        existing: dict[tuple[str, str], Recommendation] = {}
        by_source: dict[str, list[str]] = {}
        for src, ext in keys:
            by_source.setdefault(src, []).append(ext)
        for src, exts in by_source.items():
            for start in range(0, len(exts), 900):
                q = select(Recommendation).where(Recommendation.source == src,
                                                 Recommendation.external_id.in_(exts[start : start + 900]))
                for rec in s.scalars(q):
                    existing[(rec.source, rec.external_id)] = rec
        stale: list[int] = []
        touched_recs: list[Recommendation] = []
        ids_by_ext: dict[str, int] = {}
        resegmented: list[int] = []  # parents whose text changed: their sub-items are made again

        def upsert(r: RawRecord, parent_ext: str | None, pos: int | None) -> None:
            values = {f: getattr(r, f) for f in _META_FIELDS}
            values.update(text=r.text, text_hash=text_hash(r.text), language=r.language,
                          language_score=(r.extra or {}).get("language_score"), extra=r.extra or None,
                          parent_id=ids_by_ext.get(parent_ext) if parent_ext else None, position=pos)
            rec = existing.get((r.source, r.external_id))
            if rec is None:
                rec = Recommendation(source=r.source, external_id=r.external_id, import_id=batch.id, **values)
                s.add(rec)
                counts["children" if parent_ext else "created"] += 1
                touched_recs.append(rec)
                return
            changed = {k: v for k, v in values.items() if getattr(rec, k) != v}
            if not changed:
                counts["unchanged"] += 1
                return
            if "text_hash" in changed:
                stale.append(rec.id)
                if not parent_ext:
                    resegmented.append(rec.id)
            for k, v in changed.items():
                setattr(rec, k, v)
            rec.import_id = batch.id
            counts["updated"] += 1
            touched_recs.append(rec)

        parents = [(r, p, pos) for r, p, pos in rows if p is None]
        children = [(r, p, pos) for r, p, pos in rows if p is not None]
        for i, row in enumerate(parents):
            upsert(*row)
            if progress and i % 1000 == 0:
                progress("store", i, len(rows))
        s.flush()  # parents get their ids before children point to them
        for r, _, _ in parents:
            rec = existing.get((r.source, r.external_id))
            ids_by_ext[r.external_id] = rec.id if rec is not None else None
        for rec in touched_recs:
            ids_by_ext[rec.external_id] = rec.id
        for row in children:
            upsert(*row)
        s.flush()
        orphans = _orphaned_sub_items(s, resegmented, {(r.source, r.external_id) for r, p, _ in children})
        if stale:
            for start in range(0, len(stale), 900):
                s.execute(update(Suggestion).where(Suggestion.rec_id.in_(stale[start : start + 900]))
                          .values(stale=True))
        _cache_vectors(s, engine.embedder.model_id if embed else None, new_vectors)
        batch.created, batch.updated = counts["created"], counts["updated"]
        batch.unchanged, batch.children = counts["unchanged"], counts["children"]
        batch.finished_at = utcnow()
        s.flush()
        touched = [rec.id for rec in touched_recs]
        s.add(AuditEvent(who=actor, action="import", entity="import", entity_id=str(batch.id),
                         after={"file": filename, "format": fmt, **counts, "stale_suggestions_for": len(stale),
                                **({"orphaned_sub_items": orphans} if orphans else {})}))
        import_id = batch.id
    if orphans and orphans["removed"]:
        engine.remove_from_index(orphans["removed"])
    links = clusters = institutions = tags = None
    # the steps after the commit (the search index rebuilds itself from the stored vectors when out of step)
    todo = ([("links", "nrtd link")] if embed and engine.settings.link_on_import and touched else []) + (
        [("clusters", "nrtd recluster"), ("institutions", "nrtd suggest-institutions"), ("tags", "nrtd suggest")]
        if embed and touched else [])
    try:
        if embed:
            engine.refresh_index(touched)
            if engine.settings.link_on_import and touched:
                links = _after_commit("links", "nrtd link", _link_new, engine, touched, actor)
                todo.pop(0)
        if embed and touched:
            from .clusters import attach_new
            from .institutions import suggest_on_import
            from .tags import suggest_on_import as tag_on_import

            clusters = _after_commit("clusters", "nrtd recluster", attach_new, engine, touched, who=actor)
            todo.pop(0)
            institutions = _after_commit("institutions", "nrtd suggest-institutions", suggest_on_import, engine,
                                         touched, actor)
            todo.pop(0)
            tags = _after_commit("tags", "nrtd suggest", tag_on_import, engine, touched, actor)
            todo.pop(0)
    except KeyboardInterrupt:
        from ..errors import InterruptedAfterCommit

        steps = ", ".join(f"{step} ({cmd})" for step, cmd in todo)
        left = (f"not done: {steps} — run those commands (a re-import finds the records unchanged and does "
                "not run them)") if todo else "no step was left (the search index catches up when next opened)"
        raise InterruptedAfterCommit(f"interrupted after import {import_id} was committed ({counts['created']} new, "
                                     f"{counts['updated']} updated); {left}") from None
    langs: dict[str, int] = {}
    for r, _, _ in rows:
        langs[r.language or "und"] = langs.get(r.language or "und", 0) + 1
    return ImportResult(import_id=import_id, format=fmt, source=source, rows_read=len(records),
                        embedded=len(new_vectors), seconds=round((utcnow() - t0).total_seconds(), 2), links=links,
                        clusters=clusters, institutions=institutions, tags=tags, orphaned_sub_items=orphans,
                        languages=dict(sorted(langs.items(), key=lambda kv: -kv[1])), **counts)


def _orphaned_sub_items(s, parent_ids: list[int], produced: set[tuple[str, str]]) -> dict | None:
    """Sub-items of re-segmented paragraphs that the new text no longer has. Removed (with their machine
    suggestions, links and memberships), unless a person decided something on one: then it is kept, and
    reported, since a human decision is never deleted by an import."""
    from ..store.models import Assignment, ClusterMember, Link, LinkGroup, Review

    if not parent_ids:
        return None
    old = []
    for i in range(0, len(parent_ids), 500):
        old += s.execute(select(Recommendation.id, Recommendation.source, Recommendation.external_id).where(
            Recommendation.parent_id.in_(parent_ids[i:i + 500]))).all()
    gone = [rid for rid, src, ext in old if (src, ext) not in produced]
    if not gone:
        return None
    human: set[int] = set()
    for i in range(0, len(gone), 500):
        c = gone[i:i + 500]
        human |= set(s.scalars(select(Review.rec_id).where(Review.rec_id.in_(c))))
        human |= set(s.scalars(select(Assignment.rec_id).where(Assignment.rec_id.in_(c), Assignment.by == "human")))
        human |= set(s.scalars(select(ClusterMember.rec_id).where(ClusterMember.rec_id.in_(c),
                                                                  ClusterMember.by == "human")))
        human |= set(s.scalars(select(LinkGroup.canonical_rec_id).where(LinkGroup.canonical_rec_id.in_(c))))
        for a, b in s.execute(select(Link.rec_a, Link.rec_b).where(Link.status != "suggested",
                                                                   (Link.rec_a.in_(c)) | (Link.rec_b.in_(c)))):
            human |= {a, b} & set(c)
    removed = [rid for rid in gone if rid not in human]
    for rid in removed:  # dependants go by ON DELETE CASCADE
        s.delete(s.get(Recommendation, rid))
    s.flush()
    return {"removed": removed, "kept_with_human_decisions": sorted(human & set(gone))}


def _after_commit(step: str, command: str, fn, *args, **kw):
    """A step that follows the committed import (links, cluster attachment, institutions, tags). The records
    are stored whatever happens here, and a re-import finds them unchanged and runs no step again: a failure is
    logged and reported with the command that does the step, never raised after the commit."""
    import logging

    try:
        return fn(*args, **kw)
    except NrtdError as e:
        return {"skipped": f"{e.message}; the records are imported: run {command}"}
    except Exception as e:  # noqa: BLE001 - a defect: logged with its traceback, reported, the import stands
        logging.getLogger("nrtd_nlp.imports").error("import: the %s step failed", step, exc_info=e)
        return {"skipped": f"{step} failed ({type(e).__name__}: {str(e)[:200]}); the records are imported: "
                           f"run {command}"}


def _link_new(engine: Engine, rec_ids: list[int], actor: str) -> dict:
    """Links for the new records, as part of the import; the import itself is already committed,
    so a missing or mismatched link model is reported, not raised."""
    from ..errors import ModelUnavailable
    from ..link.service import compute_links

    try:
        return compute_links(engine, rec_ids, actor=actor).to_dict()
    except ModelUnavailable as e:
        return {"skipped": str(e)}


def import_file(engine: Engine, path: Path | str, *, data: bytes | None = None, fmt: str | None = None,
                mapping: str | dict | None = None, encoding: str | None = None, source: str | None = None,
                actor: str = "cli", embed: bool | None = None, progress: Progress | None = None) -> ImportResult:
    path = Path(path)
    if data is None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise InputError(f"no such file: {path}", field="file") from None
        except IsADirectoryError:
            raise InputError(f"{path} is a folder, not a file", field="file") from None
    detected, records = read_file(path, data, fmt=fmt, mapping=mapping, encoding=encoding, source=source)
    return import_records(engine, records, fmt=detected, filename=path.name,
                          file_sha256=hashlib.sha256(data).hexdigest(), actor=actor, embed=embed,
                          progress=progress)


def embed_pending(engine: Engine, progress: Progress | None = None) -> int:
    """Embed every stored recommendation that has no vector for the active model yet."""
    with engine.db.session() as s:
        rows = s.execute(select(Recommendation.id, Recommendation.text_hash, Recommendation.text)).all()
    texts = {h: t for _, h, t in rows}
    new_vectors = _embed_missing(engine, texts, progress)
    if new_vectors:
        with engine.db.session() as s:
            _cache_vectors(s, engine.embedder.model_id, new_vectors)
    engine.refresh_index([rid for rid, h, _ in rows if h in new_vectors])
    return len(new_vectors)

