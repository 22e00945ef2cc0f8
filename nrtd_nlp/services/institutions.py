"""Responsible institutions: load the mandate file, suggest, and record people's assignments (what a person
sees of a record's institutions: ``institution_views``).

* ``load_institutions`` upserts an editable mandate file (``corpora/institutions/mandates.csv`` or a
  country's own) into the Institution table, by (``id`` column, country): loading twice changes nothing.
  Stored institutions of the file's countries that it no longer lists are *retired* (``retired_at``):
  never suggested or assigned again, their past assignments and reviews kept; a changed id is a
  retirement plus a new institution. Loading a file that lists a retired one again restores it.
* ``suggest_institutions`` scores records with :class:`InstitutionSuggester` and stores the top-k as
  Suggestion rows (task ``institution``, value = the institution's key, agent ``institutions@…``); they
  replace the undecided suggestions of earlier runs for the records it covers. Institutions a person
  assigned or rejected for a record (latest decision) are never suggested for it again.
* ``assign`` / ``unassign``: a person's decision (Assignment ``by="human"``), audited. Reviews of task
  ``institution`` (accept, add, reject) are decisions too: per (record, institution) the latest one by
  time wins (``_decisions``), for what the suggester learns from, the record's view and the export.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from pathlib import Path

import numpy as np
from sqlalchemy import delete, func, insert, select

from ..classify.institutions import VERSION, InstitutionSuggester, Mandate
from ..errors import InputError, NotFound
from ..ingest.records import text_hash
from ..store.models import (AuditEvent, Assignment, Institution, ModelRun, Recommendation, Review, Suggestion,
                            utcnow)
from .context import Engine

TASK = "institution"
LANGS = ("es", "fr", "ar", "ru", "zh", "pt")
KEYWORD_LANGS = ("es", "fr", "pt", "ar", "ru", "zh")  # columns keywords_es …; `keywords` is English (or neutral)
_KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,79}$")


def default_mandates_path() -> Path:
    from importlib.resources import files

    return Path(str(files("nrtd_nlp") / "corpora" / "institutions" / "mandates.csv"))


def _split(v) -> list[str]:
    if isinstance(v, (list, tuple)):
        return [str(x).strip() for x in v if str(x).strip()]
    return [x.strip() for x in str(v or "").split("|") if x.strip()]


def _unique(xs) -> list[str]:
    return list(dict.fromkeys(xs))


def _keywords(item: dict) -> tuple[list[str], dict[str, list[str]]]:
    """(every keyword, for matching; language -> keywords, or {} when the row has no per-language keywords).

    ``keywords`` is English (or language-neutral, HIV); ``keywords_es`` … (file columns, or a
    ``keywords_by_language`` dict) the others. An old file mixes languages in ``keywords``: it gives {} here
    and keeps its stored shape (no ``keywords_by_language``), so loading it again changes nothing."""
    given = item.get("keywords_by_language") or {}
    if not isinstance(given, dict):
        raise InputError("keywords_by_language must map a language to keywords", field="keywords_by_language")
    odd = sorted(set(given) - {"en", *KEYWORD_LANGS})
    if odd:
        raise InputError(f"keywords_by_language: unknown language {odd[0]!r}; use en, {', '.join(KEYWORD_LANGS)}",
                         field="keywords_by_language")
    en = _unique(_split(item.get("keywords")) or _split(given.get("en")))
    other = {lang: _unique(_split(item.get(f"keywords_{lang}") or given.get(lang))) for lang in KEYWORD_LANGS}
    other = {k: v for k, v in other.items() if v}
    if not other:
        return en, {}
    by_lang = {"en": en, **other} if en else other
    return _unique(en + [k for lang in KEYWORD_LANGS for k in other.get(lang, [])]), by_lang


def slug(name: str) -> str:
    """A key from a name: its runs of Latin letters and digits (as keys have always been made, so a stored
    institution keeps its key), else (Arabic, Chinese, Cyrillic … names, or no letters) ``inst_`` and a hash of
    the name: two names never share a key because neither has Latin letters."""
    import hashlib
    import unicodedata

    key = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:80]
    if len(re.sub(r"[^a-z]", "", key)) >= 2:
        return key
    folded = " ".join(unicodedata.normalize("NFKC", name).casefold().split())
    return "inst_" + hashlib.sha256(folded.encode()).hexdigest()[:12]


def clean_item(item: dict, where: str = "") -> dict:
    """Validate one institution (a file row or an API body) into the stored shape."""
    name = (item.get("name") or "").strip()
    if not name or len(name) > 300:
        raise InputError(f"{where}a name of 1 to 300 characters is required", field="name")
    key = (item.get("id") or item.get("key") or "").strip() or slug(name)
    if not _KEY.match(key):
        raise InputError(f"{where}id {key!r} must be lower-case letters, digits, '_', '.' or '-'", field="id")
    given = item.get("names") or {}
    odd = sorted(set(given) - set(LANGS)) if isinstance(given, dict) else ["?"]
    if odd:  # a name under a language the product does not show would be silently dropped
        raise InputError(f"{where}names: unknown language {odd[0]!r}; use {', '.join(LANGS)} (English: name)",
                         field="names")
    names = {lang: (item.get(f"name_{lang}") or given.get(lang) or "").strip() for lang in LANGS}
    names = {k: v for k, v in names.items() if v}
    keywords, by_lang = _keywords(item)
    out = {"key": key, "name": name, "names": names, "themes": _split(item.get("themes")), "keywords": keywords,
           "source": (item.get("source") or "").strip() or None, "country": (item.get("country") or "").strip() or None}
    if by_lang:
        out["keywords_by_language"] = by_lang
    return out


def read_mandates(path: Path | str, data: bytes | None = None) -> list[dict]:
    path = Path(path)
    if data is None:
        if path.is_dir():
            raise InputError(f"{path} is a folder, not a mandate file", field="file")
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise InputError(f"no such file: {path}", field="file") from None
        except OSError as e:
            raise InputError(f"cannot read {path}: {e.strerror or e}", field="file") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a BOM (a spreadsheet's "Unicode text"), as imports
        from ..ingest.readers import decode_bytes

        text = decode_bytes(data, name="file")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(f"{path.name} is not UTF-8 (or UTF-16 with a BOM)", field="file") from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InputError(f"{path.name} line {line}: contains a NUL byte (not a text CSV?)", field="file")
    rows, seen = [], set()
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        missing = {"id", "name"} - set(reader.fieldnames or [])
        if missing:
            raise InputError(f"{path.name} lacks the column(s) {', '.join(sorted(missing))}", field="file")
        for i, row in enumerate(reader, start=2):
            item = clean_item(row, f"line {i}: ")
            if item["key"] in seen:
                raise InputError(f"line {i}: id {item['key']!r} appears twice", field="id")
            seen.add(item["key"])
            rows.append(item)
    except csv.Error as e:
        raise InputError(f"{path.name}: malformed CSV near line {reader.line_num}: {e}", field="file") from None
    if not rows:
        raise InputError(f"{path.name} has no institutions", field="file")
    return rows


def _inst_dict(x: Institution) -> dict:
    m = x.mandate or {}
    return {"id": x.id, "key": m.get("key"), "name": x.name, "country": x.country, "names": m.get("names", {}),
            "themes": m.get("themes", []), "keywords": m.get("keywords", []),
            "keywords_by_language": m.get("keywords_by_language", {}), "source": m.get("source"),
            "retired": x.retired_at is not None,
            "retired_at": x.retired_at.isoformat(timespec="seconds") if x.retired_at else None}


def _stored_shape(item: dict) -> dict:
    """The Institution columns. ``mandate.keywords`` stays the flat list of every keyword (what matching and
    older readers use); ``keywords_by_language`` is added only when the file has per-language columns."""
    mandate = {"key": item["key"], "names": item["names"], "themes": item["themes"], "keywords": item["keywords"],
               "source": item["source"]}
    if item.get("keywords_by_language"):
        mandate["keywords_by_language"] = item["keywords_by_language"]
    return {"name": item["name"], "country": item["country"], "aliases": sorted(set(item["names"].values())),
            "mandate": mandate}


def _of_country(country: str | None):
    return Institution.country.is_(None) if country is None else Institution.country == country


def _upsert(s, item: dict, actor: str) -> str:
    """'created' | 'updated' | 'unchanged' | 'restored' (was retired); one audit event per change."""
    same = [x for x in s.scalars(select(Institution).where(_of_country(item["country"])))
            if (x.mandate or {}).get("key") == item["key"]]
    new = _stored_shape(item)
    if not same:
        inst = Institution(**new)
        s.add(inst)
        s.flush()
        s.add(AuditEvent(who=actor, action="institution.create", entity="institution", entity_id=str(inst.id),
                         after=_inst_dict(inst)))
        return "created"
    inst = same[0]
    if inst.retired_at is None and all(getattr(inst, k) == v for k, v in new.items()):
        return "unchanged"
    before, status = _inst_dict(inst), "updated" if inst.retired_at is None else "restored"
    for k, v in new.items():
        setattr(inst, k, v)
    inst.retired_at = None
    s.flush()
    s.add(AuditEvent(who=actor, action=f"institution.{status[:-1]}", entity="institution", entity_id=str(inst.id),
                     before=before, after=_inst_dict(inst)))
    return status


def _decision_counts(s, inst: Institution) -> dict:
    key = (inst.mandate or {}).get("key")
    return {"assignments": s.scalar(select(func.count()).select_from(Assignment).where(
                Assignment.institution_id == inst.id, Assignment.by == "human")),
            "reviews": s.scalar(select(func.count()).select_from(Review).where(
                Review.task == TASK, Review.value == key, Review.reverted_at.is_(None),
                Review.decision.in_(("accepted", "added"))))}


def _retire_missing(s, items: list[dict], actor: str) -> list[dict]:
    """Retire the active institutions of the file's countries that the file does not list. Their
    assignments and reviews stay; what the machine suggested for them and nobody decided goes."""
    listed = {(x["key"], x["country"]) for x in items}
    out, now = [], utcnow()
    for country in sorted({x["country"] for x in items}, key=lambda c: c or ""):
        for inst in s.scalars(select(Institution).where(_of_country(country), Institution.retired_at.is_(None))
                              .order_by(Institution.id)):
            if ((inst.mandate or {}).get("key"), country) in listed:
                continue
            before = _inst_dict(inst)
            inst.retired_at = now
            s.flush()
            s.add(AuditEvent(who=actor, action="institution.retire", entity="institution", entity_id=str(inst.id),
                             before=before, after=_inst_dict(inst)))
            out.append({"id": inst.id, "key": before["key"], "name": inst.name, "country": country,
                        "names": before["names"], **_decision_counts(s, inst)})
    _drop_undecided(s, {x["key"] for x in out} - _active_keys(s))
    return out


def _active_keys(s) -> set[str]:
    return {(m or {}).get("key") for m in s.scalars(select(Institution.mandate).where(
        Institution.retired_at.is_(None)))}


def _drop_undecided(s, keys: set[str], rec_ids: list[int] | None = None) -> int:
    """Delete institution suggestions (of these keys, or of these records) that no review names."""
    if not keys and rec_ids is None:
        return 0
    reviewed = select(Review.suggestion_id).where(Review.task == TASK, Review.suggestion_id.is_not(None))
    base = delete(Suggestion).where(Suggestion.task == TASK, Suggestion.id.not_in(reviewed))
    if rec_ids is None:
        return s.execute(base.where(Suggestion.value.in_(sorted(keys)))).rowcount
    return sum(s.execute(base.where(Suggestion.rec_id.in_(rec_ids[i:i + 900]))).rowcount
               for i in range(0, len(rec_ids), 900))


def _rekeyed(retired: list[dict], listed: list[dict]) -> list[dict]:
    """A retired institution and one the file lists, of one country, with the same name or a shared name
    in some language: most likely one institution whose id changed in the file."""
    out = []
    for old in retired:
        for new in listed:
            if old["country"] != new["country"]:
                continue
            olds = {old["name"].casefold()} | {v.casefold() for v in old["names"].values()}
            news = {new["name"].casefold()} | {v.casefold() for v in new["names"].values()}
            if olds & news:
                out.append({"old": old["key"], "new": new["key"], "name": new["name"], "country": new["country"],
                            "assignments_kept_under_old": old["assignments"], "reviews_kept_under_old": old["reviews"]})
    return out


def load_institutions(engine: Engine, path: Path | str | None = None, *, data: bytes | None = None,
                      country: str | None = None, actor: str = "cli") -> dict:
    """Upsert every institution of a mandate file and retire the stored institutions of its countries that
    it no longer lists (one transaction; idempotent). ``retired`` names them with the decisions they keep;
    ``rekeyed`` pairs a retired and a new institution that share a name (an id changed in the file)."""
    path = Path(path) if path else default_mandates_path()
    items = read_mandates(path, data)
    counts = {"created": 0, "updated": 0, "unchanged": 0, "restored": 0}
    with engine.db.session() as s:
        for item in items:
            if country:
                item["country"] = country
            counts[_upsert(s, item, actor)] += 1
        retired = _retire_missing(s, items, actor)
    rekeyed = _rekeyed(retired, items)
    for x in retired:
        del x["names"]
    return {"file": path.name, "institutions": len(items), **counts, "retired": retired, "rekeyed": rekeyed}


def add_institution(engine: Engine, item: dict, *, actor: str) -> dict:
    item = clean_item(item)
    with engine.db.session() as s:
        status = _upsert(s, item, actor)
    inst = next(x for x in list_institutions(engine, country=item["country"])
                if x["key"] == item["key"] and x["country"] == item["country"])
    return {**inst, "status": status}


def list_institutions(engine: Engine, *, country: str | None = None, retired: bool | None = None) -> list[dict]:
    """Institutions by id; ``retired`` True / False keeps only the retired / the active ones."""
    with engine.db.session() as s:
        stmt = select(Institution).order_by(Institution.id)
        if country:
            stmt = stmt.where((Institution.country.is_(None)) | (func.lower(Institution.country) == country.lower()))
        if retired is not None:
            stmt = stmt.where(Institution.retired_at.is_not(None) if retired else Institution.retired_at.is_(None))
        return [_inst_dict(x) for x in s.scalars(stmt)]


def _resolve(s, ref: str | int, country: str | None = None) -> Institution:
    ref = str(ref).strip()
    rows = list(s.scalars(select(Institution)))
    hits = [x for x in rows if (x.mandate or {}).get("key") == ref] or \
        ([x for x in rows if str(x.id) == ref] if ref.isdigit() else []) or \
        [x for x in rows if x.name.lower() == ref.lower()]
    if len(hits) > 1:  # an active one, then the record's country, else the generic one
        hits = [x for x in hits if x.retired_at is None] or hits
        hits = [x for x in hits if x.country == country] or [x for x in hits if x.country is None] or hits
    if not hits:
        raise NotFound(f"no institution {ref!r} (use its id, key or name; `nrtd institutions list`)",
                       field="institution")
    return hits[0]


def _assign_dict(a: Assignment, inst: Institution) -> dict:
    return {"rec_id": a.rec_id, "institution": (inst.mandate or {}).get("key"), "institution_id": inst.id,
            "name": inst.name, "by": a.by, "agent": a.agent, "score": a.score,
            "at": a.at.isoformat() if a.at else None}


def _human_assignment(s, rec_id: int, institution: str | int, reviewer: str):
    """(institution, the person's assignment or None) for a recommendation; checks the inputs."""
    if not reviewer or not reviewer.strip():
        raise InputError("a reviewer name is required", field="reviewer")
    rec = s.get(Recommendation, rec_id)
    if rec is None:
        raise NotFound(f"recommendation {rec_id} does not exist", field="rec_id")
    inst = _resolve(s, institution, rec.country)
    a = s.scalars(select(Assignment).where(Assignment.rec_id == rec_id, Assignment.institution_id == inst.id,
                                           Assignment.by == "human")).first()
    return inst, a


def assign(engine: Engine, rec_id: int, institution: str | int, reviewer: str, *, comment: str | None = None) -> dict:
    """A person makes an institution responsible for a recommendation (idempotent, audited). Assigning
    again after a later rejection (a review) makes the assignment the latest decision ('reassigned')."""
    with engine.db.session() as s:
        inst, a = _human_assignment(s, rec_id, institution, reviewer)
        if inst.retired_at is not None:
            raise InputError(f"{inst.name} ({(inst.mandate or {}).get('key')}) is retired: the mandate file no "
                             "longer lists it; load a file that does to assign it again", field="institution")
        status = "created"
        if a is not None:
            latest = _decisions(s, [rec_id]).get(rec_id, {}).get((inst.mandate or {}).get("key"))
            if latest is None or latest["decision"] != "rejected":
                return {**_assign_dict(a, inst), "status": "unchanged"}
            a.at, status = utcnow(), "reassigned"
        else:
            a = Assignment(rec_id=rec_id, institution_id=inst.id, by="human")
            s.add(a)
        s.flush()
        out = _assign_dict(a, inst)
        s.add(AuditEvent(who=reviewer, action="institution.assign", entity="recommendation", entity_id=str(rec_id),
                         before=None, after={**out, "comment": comment}))
        return {**out, "status": status}


def unassign(engine: Engine, rec_id: int, institution: str | int, reviewer: str, *,
             comment: str | None = None) -> dict:
    with engine.db.session() as s:
        inst, a = _human_assignment(s, rec_id, institution, reviewer)
        if a is None:
            latest = _decisions(s, [rec_id]).get(rec_id, {}).get((inst.mandate or {}).get("key"))
            hint = (f"; review {latest['review_id']} {latest['decision']} it: revert or reject that review "
                    "(nrtd review)") if latest and latest["via"] == "review" and latest["decision"] in POSITIVE else ""
            raise NotFound(f"{inst.name} is not assigned to recommendation {rec_id}{hint}", field="institution")
        before = _assign_dict(a, inst)
        s.delete(a)
        s.add(AuditEvent(who=reviewer, action="institution.unassign", entity="recommendation", entity_id=str(rec_id),
                         before=before, after={"comment": comment}))
        return {**before, "status": "removed"}


# -- suggesting ----------------------------------------------------------------------------------
_MEMO: dict[tuple[str, str], bytes] = {}  # (model id, text hash) -> vector: mandates are re-used by every run


def _vectors(engine: Engine, texts: list[str], langs: list[str]) -> np.ndarray:
    """Embed (through the store's vector cache, and a per-process memo) and centre like the index."""
    from ..store.models import EmbeddingCache
    from .imports import _cache_vectors, _embed_missing

    model = engine.embedder.model_id
    by_hash = {text_hash(t): t for t in texts}
    known = {h: _MEMO[(model, h)] for h in by_hash if (model, h) in _MEMO}
    new = _embed_missing(engine, {h: t for h, t in by_hash.items() if h not in known}, None)
    if new:
        with engine.db.session() as s:
            _cache_vectors(s, model, new)
    blobs = {**known, **new}
    with engine.db.session() as s:
        missing = [h for h in by_hash if h not in blobs]
        for i in range(0, len(missing), 900):
            for h, v in s.execute(select(EmbeddingCache.text_hash, EmbeddingCache.vector).where(
                    EmbeddingCache.model_id == model, EmbeddingCache.text_hash.in_(missing[i : i + 900]))):
                blobs[h] = v
    _MEMO.update({(model, h): v for h, v in blobs.items()})
    V = np.vstack([np.frombuffer(blobs[text_hash(t)], np.float32) for t in texts])
    return engine.index.centering.transform(V, langs)


POSITIVE = ("assigned", "accepted", "added")


def _chunks(rec_ids: list[int] | None):
    if rec_ids is None:
        yield None
        return
    for i in range(0, len(rec_ids), 900):
        yield rec_ids[i : i + 900]


def _decision_events(s, rec_ids: list[int] | None):
    """(at, order, rec_id, key, decision dict) for every human decision on institutions still in force:
    assignments, unassignments (audit events) and reviews not reverted."""
    insts = {x.id: x for x in s.scalars(select(Institution))}
    for chunk in _chunks(rec_ids):
        q = select(Assignment).where(Assignment.by == "human")
        for a in s.scalars(q if chunk is None else q.where(Assignment.rec_id.in_(chunk))):
            inst = insts.get(a.institution_id)
            if inst is not None:
                yield a.at, 0, a.rec_id, (inst.mandate or {}).get("key"), {
                    "decision": "assigned", "via": "assignment", "at": a.at, "assignment": _assign_dict(a, inst)}
        q = select(AuditEvent).where(AuditEvent.action == "institution.unassign", AuditEvent.entity == "recommendation")
        for e in s.scalars(q if chunk is None else q.where(AuditEvent.entity_id.in_([str(r) for r in chunk]))):
            key = (e.before or {}).get("institution")
            if key and str(e.entity_id).isdigit():
                yield e.at, 1, int(e.entity_id), key, {"decision": "unassigned", "via": "assignment", "at": e.at,
                                                       "reviewer": e.who}
        q = select(Review).where(Review.task == TASK, Review.reverted_at.is_(None))
        for r in s.scalars(q if chunk is None else q.where(Review.rec_id.in_(chunk))):
            yield r.at, 2, r.rec_id, r.value, {"decision": r.decision, "via": "review", "at": r.at,
                                               "review_id": r.id, "reviewer": r.reviewer}


def _decisions(s, rec_ids: list[int] | None = None) -> dict[int, dict[str, dict]]:
    """rec_id -> institution key -> the latest human decision on it, by time: 'assigned' (an Assignment),
    'unassigned', or a review's 'accepted' / 'added' / 'rejected'. A reverted review does not count."""
    events = sorted(_decision_events(s, rec_ids), key=lambda e: (e[0], e[1], e[4].get("review_id") or 0))
    out: dict[int, dict[str, dict]] = {}
    for _, _, rid, key, d in events:
        out.setdefault(rid, {})[key] = d
    return out


def _confirmed(s) -> dict[int, set[str]]:
    """rec_id -> institution keys whose latest human decision confirms them (assigned, accepted, added)."""
    out = {rid: {k for k, d in per.items() if d["decision"] in POSITIVE} for rid, per in _decisions(s).items()}
    return {k: v for k, v in out.items() if v}


def _decided(s, rec_ids: list[int]) -> dict[int, set[str]]:
    """rec_id -> keys not to suggest again: the latest decision confirms or rejects them."""
    return {rid: {k for k, d in per.items() if d["decision"] != "unassigned"}
            for rid, per in _decisions(s, rec_ids).items()}


def _theme_names() -> dict:
    from importlib.resources import files

    p = Path(str(files("nrtd_nlp") / "corpora" / "sdg" / "sdg_goals.csv"))
    with open(p, encoding="utf-8") as f:
        return {f"SDG {r['goal']}": r["short_en"] for r in csv.DictReader(f)}


def _mandate_print(m: Mandate) -> list:
    """What of a mandate goes into the suggester's version: moving a keyword to another language's column changes
    the prototypes, so it makes a new version; an old-format mandate keeps the fingerprint it had."""
    out = [m.key, m.name, sorted(m.names.items()), m.themes, m.keywords]
    if m.keywords_by_language:
        out.append(sorted(m.keywords_by_language.items()))
    return out


def build_suggester(engine: Engine, **params) -> tuple[InstitutionSuggester, list[dict], str]:
    """Fit on the store's institutions and confirmed assignments. Returns (suggester, institutions, agent)."""
    insts = list_institutions(engine, retired=False)
    if not insts:
        raise NotFound("no institutions loaded (or all retired): run `nrtd institutions load` first",
                       field="institutions")
    keys_seen: dict[str, dict] = {}
    for x in insts:  # one mandate per key: a country's own row wins over the generic one
        if x["key"] not in keys_seen or x["country"]:
            keys_seen[x["key"]] = x
    mandates = [Mandate.from_dict(x) for x in keys_seen.values()]
    themes = _theme_names()
    protos = [m.prototypes(themes) for m in mandates]
    flat = [p for ps in protos for p in ps]
    V = _vectors(engine, [t for t, _ in flat], [lang for _, lang in flat])
    splits = np.cumsum([len(ps) for ps in protos])[:-1]
    proto_vecs = np.split(V, splits)
    with engine.db.session() as s:
        conf = _confirmed(s)
        cids, texts = sorted(conf), {}
        for i in range(0, len(cids), 900):
            texts.update({rid: t for rid, t in s.execute(select(Recommendation.id, Recommendation.text).where(
                Recommendation.id.in_(cids[i : i + 900])))})
    X = Y = None
    conf_texts = []
    if conf:
        ids, vecs, langs = engine.stored_vectors(sorted(conf))
        if len(ids):
            X = engine.index.centering.transform(vecs, langs)
            index = {k: j for j, k in enumerate(m.key for m in mandates)}
            Y = np.zeros((len(ids), len(mandates)), np.float32)
            for r, rid in enumerate(ids.tolist()):
                for key in conf[rid]:
                    if key in index:
                        Y[r, index[key]] = 1
            conf_texts = [texts[rid] for rid in ids.tolist()]
    sug = InstitutionSuggester(**params).fit(mandates, proto_vecs, X, Y, conf_texts if X is not None else None)
    finger = hashlib.sha1(json.dumps([_mandate_print(m) for m in mandates]
                                     + [sorted((k, sorted(v)) for k, v in conf.items()), engine.embedder.model_id,
                                        sorted(params.items())], default=str).encode()).hexdigest()[:10]
    return sug, list(keys_seen.values()), f"institutions@{VERSION}+{finger}"


def suggest_institutions(engine: Engine, rec_ids: list[int] | None = None, *, limit: int | None = None,
                         force: bool = False, actor: str = "cli", **params) -> dict:
    """Store top-k institution suggestions for records with a vector (all by default).

    Records that already carry current (non-stale) suggestions from this very agent are skipped
    unless ``force``; a new mandate file or new confirmations make a new agent version.
    """
    if limit is not None and limit < 1:
        raise InputError("limit must be 1 or more", field="limit")
    t0 = utcnow()
    sug, insts, agent = build_suggester(engine, **params)
    by_key_country = {(x["key"], x["country"]) for x in insts}
    ids, vecs, langs = engine.stored_vectors(sorted(set(rec_ids)) if rec_ids is not None else None)
    with engine.db.session() as s:
        done = set() if force else set(s.scalars(select(Suggestion.rec_id).where(
            Suggestion.task == TASK, Suggestion.agent == agent, Suggestion.stale.is_(False))))
        keep = [i for i, rid in enumerate(ids.tolist()) if rid not in done]
        skipped = len(ids) - len(keep)
        if limit is not None:
            keep = keep[:limit]
        ids = ids[keep]
        X = engine.index.centering.transform(vecs[keep], [langs[i] for i in keep]) if keep else vecs[:0]
        info = {}
        for i in range(0, len(ids), 900):
            info.update({rid: (text, country) for rid, text, country in s.execute(
                select(Recommendation.id, Recommendation.text, Recommendation.country).where(
                    Recommendation.id.in_(ids[i : i + 900].tolist())))})
        decided = _decided(s, ids.tolist())
    id_list = ids.tolist()
    texts = [info[rid][0] for rid in id_list]
    foreign = {k for k, c in by_key_country if c}  # country-specific keys: only for that country's records
    exclude = [decided.get(rid, set())
               | {k for k in foreign if (k, info[rid][1]) not in by_key_country and (k, None) not in by_key_country}
               for rid in id_list]
    results = sug.suggest(X, texts, exclude) if id_list else []
    meta = sug.describe()
    counts = {"records": len(id_list), "abstained": 0, "suggestions": 0}
    with engine.db.session() as s:
        run = ModelRun(task=TASK, agent=agent, params={**meta, "actor": actor}, started_at=t0)
        s.add(run)
        s.flush()
        _drop_undecided(s, set(), id_list)  # a new run replaces what earlier runs suggested and nobody decided
        rows = []
        for rid, res in zip(id_list, results):
            counts["abstained"] += res["abstain"]
            rows += [{"rec_id": rid, "task": TASK, "value": c["institution"], "score": c["score"], "agent": agent,
                      "run_id": run.id, "asserted": c["above_threshold"]} for c in res["candidates"]]
        for i in range(0, len(rows), 5000):
            s.execute(insert(Suggestion), rows[i : i + 5000])
        counts["suggestions"] = len(rows)
        run.finished_at = utcnow()
        run_id = run.id
    return {"agent": agent, "run_id": run_id, "score_kind": meta["score_kind"], "threshold": meta["threshold"],
            "confirmed_records": meta["confirmed_records"], "linear_heads": meta["linear_heads"],
            "calibration": meta["calibration"], "skipped_current": skipped,
            "seconds": round((utcnow() - t0).total_seconds(), 2), **counts}


def suggest_on_import(engine: Engine, rec_ids: list[int], actor: str) -> dict | None:
    """Called by the import for its new or changed records: nothing when no institution is loaded;
    the import is already committed, so a failure here is reported, not raised."""
    from ..errors import NrtdError

    with engine.db.session() as s:
        if not s.scalar(select(func.count()).select_from(Institution).where(Institution.retired_at.is_(None))):
            return None
    try:
        res = suggest_institutions(engine, rec_ids, actor=actor)
    except NrtdError as e:
        return {"skipped": str(e)}
    return {k: res[k] for k in ("agent", "records", "suggestions", "abstained", "score_kind")}
