"""Compute links for new (or all) records and keep groups with stable ids.

Candidates: the k nearest neighbours of each record among records addressed to the same State
(exact FAISS search with an id selector; the index is exact below any size we expect here: see
benchmarks/links.py). Each candidate pair gets P(duplicate/related/different) from the pair scorer.
A duplicate across cycles is a ``follows_up``. Human decisions win: a pair a person confirmed or
unlinked is never rewritten, and an unlinked pair is never suggested again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import asdict, dataclass

import numpy as np
from sqlalchemy import delete, or_, select, update

from ..errors import ModelUnavailable
from ..services.context import Engine
from ..store.models import AuditEvent, Link, LinkGroup, Recommendation
from .asks import Asks, parse
from .explain import explain
from .features import part_cosines, part_slices
from .idf import store_tfidf
from .pairs import featurize
from .scorer import CLASSES, PairScorer

HUMAN = ("confirmed", "unlinked")
MAX_GROUP = 25
MAX_RELATED = 3  # related links stored per record: a link is kept if it is among the strongest 3 of either end
CHUNK = 20_000


@dataclass
class LinkRun:
    records: int
    candidates: int
    duplicate: int
    follows_up: int
    related: int
    groups: int
    seconds: float
    agent: str
    refined: int = 0  # pairs whose answer includes the pair encoder's (pair_encoder.py)
    read_now: int = 0  # of them, read in this run (the others' answers were in the store)
    pair_encoder_unavailable: str | None = None  # why the bundle's pair encoder could not answer (scorer alone)

    def to_dict(self) -> dict:
        return asdict(self)


def _cycle_key(r) -> tuple:
    def num(x):
        try:
            return float(x)
        except (TypeError, ValueError):
            return -1.0

    return (num(r.cycle), num(r.session), r.date.isoformat() if r.date else "")


def load_scorer(engine: Engine) -> PairScorer:
    scorer = PairScorer.load(engine.settings.link_model_dir)
    if scorer.meta.get("embedder") != engine.embedder.model_id:
        raise ModelUnavailable(f"the link scorer was trained on {scorer.meta.get('embedder')} vectors but this "
                               f"store uses {engine.embedder.model_id}; retrain with `nrtd train-links`")
    return scorer


def compute_links(engine: Engine, rec_ids: list[int] | None = None, *, k: int = 10, actor: str = "model",
                  progress=None) -> LinkRun:
    import time

    t0 = time.perf_counter()
    scorer = load_scorer(engine)
    reread, read_now, encoder_error = np.zeros(0, int), 0, None
    cand = _candidates_all(engine, k) if rec_ids is None else _candidates_for(engine, rec_ids, k)
    if cand is None:
        return LinkRun(0, 0, 0, 0, 0, 0, 0.0, scorer.agent)
    recs, row_of, raw, centred, queries, pairs, translation_pairs = cand
    with engine.db.session() as s:
        human = {(min(a, b), max(a, b)): st for a, b, st in s.execute(
            select(Link.rec_a, Link.rec_b, Link.status).where(Link.status.in_(HUMAN)))}
    pairs = {p for p in pairs if human.get(p) != "unlinked"}
    pair_list = sorted(pairs)
    asks: dict[int, Asks] = {}
    for a, b in pair_list:
        for i in (a, b):
            if i not in asks:
                asks[i] = parse(recs[i].text)
    out_links: list[Link] = []
    counts = dict(duplicate=0, follows_up=0, related=0)
    if pair_list:
        tfidf = store_tfidf(engine, scorer.folder)
        sl = part_slices(engine.embedder)
        P_parts, cos_parts = [], []
        for start in range(0, len(pair_list), CHUNK):  # bounded memory: 20k pairs of vectors at a time
            chunk = pair_list[start : start + CHUNK]
            A = [a for a, _ in chunk]
            B = [b for _, b in chunk]
            ra_rows, rb_rows = [row_of[a] for a in A], [row_of[b] for b in B]
            va, vb = raw[ra_rows], raw[rb_rows]
            X = featurize(engine.embedder, tfidf, [recs[a].text for a in A], [recs[b].text for b in B], va, vb,
                          [asks[a] for a in A], [asks[b] for b in B])
            cross = np.asarray([recs[a].language != recs[b].language for a, b in chunk])
            cycle_diff = np.asarray([bool(recs[a].cycle) and bool(recs[b].cycle) and recs[a].cycle != recs[b].cycle
                                     and (recs[a].country or "").lower() == (recs[b].country or "").lower()
                                     for a, b in chunk])
            ccos = part_cosines(sl, centred[ra_rows], centred[rb_rows])
            P_parts.append(scorer.predict(X, cross, ccos, cycle_diff & ~cross))
            cos_parts.append(part_cosines(sl, va, vb))
            if progress:
                progress("score", min(start + CHUNK, len(pair_list)), len(pair_list))
        P, cos = np.vstack(P_parts), np.vstack(cos_parts)
        if scorer.pair_encoder is not None and engine.settings.link_pair_encoder:
            from .pair_reads import refine_with_reads

            try:
                P, reread, read_now = refine_with_reads(
                    engine, scorer, P, pair_list, recs, translation_pairs,
                    progress and (lambda done, total: progress("re-read", done, total)))
            except ModelUnavailable as e:  # e.g. the e5 backbone cannot be built: the scorer's answers stand
                encoder_error = str(e)
                logging.getLogger("nrtd_nlp.links").warning("links: the pair encoder is unavailable: %s", e)
        i_dup, i_rel = CLASSES.index("duplicate"), CLASSES.index("related")
        centred_ok = engine.index.centering.fitted
        found: list[tuple] = []
        for n, (a, b) in enumerate(pair_list):
            if (a, b) in human:
                continue
            is_tr = (a, b) in translation_pairs
            if not is_tr and recs[a].language != recs[b].language:
                # the cross-lingual head reads centred cosines: without fitted language means (a store
                # under 200 texts) it is not used; and cosines alone only tell duplicates apart
                if not centred_ok:
                    continue
                P[n, i_rel] = 0.0
            p_dup, p_rel = (1.0, 0.0) if is_tr else (float(P[n, i_dup]), float(P[n, i_rel]))
            ra, rb = recs[a], recs[b]
            cross_cycle = (not is_tr and bool(ra.cycle) and bool(rb.cycle) and ra.cycle != rb.cycle
                           and (ra.country or "").lower() == (rb.country or "").lower())
            cross_lang = not is_tr and ra.language != rb.language
            t_dup = (scorer.threshold_cross if cross_lang else
                     scorer.threshold_follows_up if cross_cycle else scorer.threshold_duplicate)
            if p_dup >= t_dup:
                kind = "duplicate"
                if cross_cycle:
                    earlier, later = sorted((ra, rb), key=_cycle_key)
                    kind = "follows_up"
                    a, b = earlier.id, later.id  # rec_a is the earlier recommendation
                score = p_dup
            elif p_rel >= scorer.threshold_related:
                kind, score = "related", p_rel
            else:
                continue
            found.append((kind, a, b, score, n, is_tr))
        read_together = set(reread.tolist())
        for kind, a, b, score, n, is_tr in _cap_related(found, MAX_RELATED):
            ra, rb = recs[a], recs[b]
            same_rec = bool(ra.recommending_state) and ra.recommending_state == rb.recommending_state
            why = explain(kind, asks[ra.id], asks[rb.id], score, (float(cos[n, 0]), float(cos[n, 1])),
                          translation=is_tr, same_recommender=same_rec, languages=(ra.language, rb.language),
                          read_together=n in read_together)
            counts[kind] += 1
            out_links.append(Link(rec_a=a, rec_b=b, kind=kind, score=round(score, 4), explanation=why,
                                  agent="source:translation" if is_tr else scorer.agent, status="suggested"))
    with engine.db.session() as s:
        previous = group_members(s)  # before the suggested links are replaced
        _replace_suggested(s, out_links, None if rec_ids is None else list(queries))
        s.flush()
        n_groups = regroup(s, previous, recs if rec_ids is None else None)
        s.add(AuditEvent(who=actor, action="links.compute", entity="links", entity_id=None,
                         after={"records": len(queries), "candidates": len(pair_list), **counts,
                                "agent": scorer.agent}))
    return LinkRun(len(queries), len(pair_list), counts["duplicate"], counts["follows_up"], counts["related"],
                   n_groups, round(time.perf_counter() - t0, 2), scorer.agent, int(len(reread)), read_now,
                   encoder_error)


def _replace_suggested(s, new: list[Link], queries: list[int] | None) -> None:
    """The suggested links in scope (all, or those touching ``queries``) become ``new``: a link whose pair and
    kind are suggested again keeps its row and id (a person's page or client may hold that id), with the
    new score and explanation; the others are deleted and the new ones added."""
    have: dict[tuple, Link] = {}
    stmt = select(Link).where(Link.status == "suggested")
    if queries is None:
        rows = s.scalars(stmt).all()
    else:
        rows = []
        for start in range(0, len(queries), 900):
            chunk = queries[start : start + 900]
            rows += s.scalars(stmt.where(or_(Link.rec_a.in_(chunk), Link.rec_b.in_(chunk)))).all()
    for x in rows:
        have[(x.rec_a, x.rec_b, x.kind)] = x
    keep: set[int] = set()
    for x in new:
        old = have.get((x.rec_a, x.rec_b, x.kind))
        if old is None:
            s.add(x)
            continue
        keep.add(old.id)
        if (old.score, old.explanation, old.agent) != (x.score, x.explanation, x.agent):
            old.score, old.explanation, old.agent = x.score, x.explanation, x.agent
    gone = [x.id for x in have.values() if x.id not in keep]
    for start in range(0, len(gone), 900):
        s.execute(delete(Link).where(Link.id.in_(gone[start : start + 900])))


def _cap_related(found: list[tuple], cap: int) -> list[tuple]:
    """Keep every duplicate/follows_up link, and a related link only while one of its records has
    fewer than ``cap`` related links (strongest first): related links are context, not work."""
    kept = [f for f in found if f[0] != "related"]
    per: dict[int, int] = defaultdict(int)
    for f in sorted((f for f in found if f[0] == "related"), key=lambda f: -f[3]):
        _, a, b = f[:3]
        if per[a] < cap or per[b] < cap:
            kept.append(f)
            per[a] += 1
            per[b] += 1
    return kept


def _neighbours(engine: Engine, recs: dict, q_by_country: dict[str, list[int]], pools: dict[str, np.ndarray],
                q_centred: dict[int, np.ndarray], k: int) -> set[tuple[int, int]]:
    """The k nearest neighbours of each query among records addressed to the same State."""
    pairs: set[tuple[int, int]] = set()
    for country, q in q_by_country.items():
        _, nn = engine.index.search(np.vstack([q_centred[i] for i in q]), k + 1, allowed=pools[country])
        for i, row in zip(q, nn):
            for j in row:
                j = int(j)
                if j < 0 or j == i:
                    continue
                pairs.add((min(i, j), max(i, j)))
    return pairs


def _drop_own_items(pairs: set, recs: dict) -> set:
    """A paragraph and its own sub-items are not linked, nor a paragraph and the sub-items of its own
    translations (their translation groups share the paragraph's: ``uhri:ID`` and ``uhri:ID#0``)."""
    def root(r):
        return (r.translation_group or "").split("#", 1)[0]

    return {(a, b) for a, b in pairs if recs[a].parent_id != b and recs[b].parent_id != a
            and not (root(recs[a]) and root(recs[a]) == root(recs[b]))}


def state_key(rec) -> str | None:
    """The State a record is addressed to, for the same-State candidate pools: its country, else the
    source's country ids (UHRI); None (no candidates but its translations) when neither is known, so
    records of unknown States are never pooled together."""
    if rec.country:
        return rec.country.lower()
    ids = (rec.extra or {}).get("country_ids") if isinstance(rec.extra, dict) else None
    return "ids:" + "|".join(sorted(ids)) if ids else None


def _translation_pairs(groups: dict[str, list[int]]) -> set[tuple[int, int]]:
    return {(min(a, b), max(a, b)) for m in groups.values() for a in m for b in m if a != b}


def _candidates_all(engine: Engine, k: int):
    """Every record against its State's records: loads the whole store (the batch job)."""
    ids, raw, langs = engine.stored_vectors()
    if len(ids) == 0:
        return None
    with engine.db.session() as s:
        recs = {r.id: r for r in s.scalars(select(Recommendation))}
    row_of = {int(i): n for n, i in enumerate(ids)}
    centred = engine.index.centering.transform(raw, langs)
    queries = ids.tolist()
    by_country: dict[str, list[int]] = defaultdict(list)
    for i in queries:
        key = state_key(recs[i])
        if key is not None:
            by_country[key].append(i)
    pools = {c: np.asarray(m, dtype=np.int64) for c, m in by_country.items()}
    pairs = _neighbours(engine, recs, by_country, pools, {i: centred[row_of[i]] for i in queries}, k)
    groups_tr: dict[str, list[int]] = defaultdict(list)
    for i in queries:
        if recs[i].translation_group:
            groups_tr[recs[i].translation_group].append(i)
    tr = _translation_pairs(groups_tr)
    return recs, row_of, raw, centred, queries, _drop_own_items(pairs, recs) | tr, tr


def _candidates_for(engine: Engine, rec_ids: list[int], k: int):
    """Candidates of a few (new) records, reading only the rows and vectors they need: the queries'
    vectors, their States' record ids for the search, then the neighbours' rows and vectors."""
    q_ids, q_raw, q_langs = engine.stored_vectors(sorted(set(int(i) for i in rec_ids)))
    if len(q_ids) == 0:
        return None
    q_centred = engine.index.centering.transform(q_raw, q_langs)
    queries = q_ids.tolist()
    with engine.db.session() as s:
        qrecs = _rows(s, queries)
        q_by_country: dict[str, list[int]] = defaultdict(list)
        for i in queries:
            key = state_key(qrecs[i])
            if key is not None:
                q_by_country[key].append(i)
        pool_lists: dict[str, list[int]] = {c: [] for c in q_by_country}
        by_ids = any(c.startswith("ids:") for c in pool_lists)  # UHRI records without a country: read extra
        cols = (Recommendation.id, Recommendation.country) + ((Recommendation.extra,) if by_ids else ())
        for row in s.execute(select(*cols)):  # ids only (and extra when needed): light
            key = state_key(row) if (row.country or by_ids) else None
            if key in pool_lists:
                pool_lists[key].append(row.id)
        pools = {c: np.asarray(m, dtype=np.int64) for c, m in pool_lists.items()}
        pairs = _neighbours(engine, qrecs, q_by_country, pools, {i: q_centred[n] for n, i in enumerate(queries)}, k)
        groups = sorted({qrecs[i].translation_group for i in queries if qrecs[i].translation_group})
        groups_tr: dict[str, list[int]] = defaultdict(list)
        for start in range(0, len(groups), 900):
            for rid, g in s.execute(select(Recommendation.id, Recommendation.translation_group).where(
                    Recommendation.translation_group.in_(groups[start : start + 900]))):
                groups_tr[g].append(rid)
        tr = {p for p in _translation_pairs(groups_tr) if p[0] in qrecs or p[1] in qrecs}
        needed = sorted({x for p in pairs | tr for x in p} | set(queries))
        recs = _rows(s, needed)
    ids, raw, langs = engine.stored_vectors(needed)
    row_of = {int(i): n for n, i in enumerate(ids)}
    pairs = {p for p in _drop_own_items(pairs, recs) | tr if p[0] in row_of and p[1] in row_of}
    centred = engine.index.centering.transform(raw, langs)
    return recs, row_of, raw, centred, queries, pairs, tr


def _rows(s, ids: list[int]) -> dict[int, Recommendation]:
    out: dict[int, Recommendation] = {}
    for start in range(0, len(ids), 900):
        out.update({r.id: r for r in s.scalars(select(Recommendation).where(
            Recommendation.id.in_(ids[start : start + 900])))})
    return out


def group_members(s) -> dict[str, set[int]]:
    old: dict[str, set[int]] = defaultdict(set)
    for g, a, b in s.execute(select(Link.group_id, Link.rec_a, Link.rec_b).where(Link.group_id.is_not(None))):
        old[g] |= {a, b}
    return dict(old)


def regroup(s, previous: dict[str, set[int]] | None = None, recs: dict[int, Recommendation] | None = None) -> int:
    """Connected components of duplicate/follows_up links become groups; ids survive re-runs:
    a new component takes the id of the previous group it overlaps most (Jaccard >= 0.5)."""
    links = s.execute(select(Link.id, Link.rec_a, Link.rec_b, Link.status, Link.score).where(
        Link.kind.in_(("duplicate", "follows_up")), Link.status != "unlinked")).all()
    parent: dict[int, int] = {}
    size: dict[int, int] = {}
    # a pair a person unlinked (or split apart) never ends up in one group through other links: a new
    # record linked to both sides must not undo the person's split ("cannot-link")
    apart: dict[int, set[int]] = defaultdict(set)
    for a, b in s.execute(select(Link.rec_a, Link.rec_b).where(Link.kind.in_(("duplicate", "follows_up")),
                                                               Link.status == "unlinked")):
        apart[a].add(b)
        apart[b].add(a)
    members_of: dict[int, set[int]] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def kept_apart(ra: int, rb: int) -> bool:
        ma, mb = members_of.get(ra, {ra}), members_of.get(rb, {rb})
        small, big = (ma, mb) if len(ma) <= len(mb) else (mb, ma)
        return any(apart.get(x, set()) & big for x in small)

    # strongest evidence first (a person's confirmation above all); a merge that would make a group
    # larger than MAX_GROUP is refused, so a chain of near-duplicates cannot swallow a whole theme
    for _lid, a, b, status, score in sorted(links, key=lambda x: (x[3] != "confirmed", -(x[4] or 0))):
        ra, rb = find(a), find(b)
        if ra == rb or (status != "confirmed" and (size.get(ra, 1) + size.get(rb, 1) > MAX_GROUP
                                                   or (apart and kept_apart(ra, rb)))):
            continue
        parent[ra] = rb
        size[rb] = size.get(ra, 1) + size.get(rb, 1)
        if apart:
            members_of[rb] = members_of.pop(rb, {rb}) | members_of.pop(ra, {ra})
    comps: dict[int, set[int]] = defaultdict(set)
    for lid, a, b, _, _ in links:
        if find(a) == find(b):
            comps[find(a)] |= {a, b}
    old = dict(previous) if previous is not None else group_members(s)
    existing = {g.id: g for g in s.scalars(select(LinkGroup))}
    for g, members in list(old.items()):
        if g not in existing:
            old.pop(g)
    seq = max([int(g[1:]) for g in existing if g[1:].isdigit()] or [0])
    used: set[str] = set()
    comp_group: dict[int, str] = {}
    # only previous groups sharing a member can overlap (an inverted index, not all pairs of groups)
    owners: dict[int, list[str]] = defaultdict(list)
    order = {g: n for n, g in enumerate(old)}
    for g, om in old.items():
        for m in om:
            owners[m].append(g)
    # a group a person confirmed keeps its id (and canonical member) while that member is in a component
    confirmed_by_canonical = {g.canonical_rec_id: g.id for g in existing.values()
                              if g.confirmed and g.canonical_rec_id is not None}
    for root, members in sorted(comps.items(), key=lambda kv: -len(kv[1])):
        for m in sorted(members):
            gid = confirmed_by_canonical.get(m)
            if gid is not None and gid not in used:
                used.add(gid)
                comp_group[root] = gid
                break
    # biggest components choose first, so a split keeps the id with the larger part
    for root, members in sorted(comps.items(), key=lambda kv: -len(kv[1])):
        if root in comp_group:
            continue
        best, best_j = None, 0.0
        for g in sorted({g for m in members for g in owners.get(m, ())}, key=order.__getitem__):
            if g in used:
                continue
            om = old[g]
            j = len(members & om) / len(members | om)
            if j > best_j:
                best, best_j = g, j
        if best is not None and best_j >= 0.5:
            gid = best
        else:
            seq += 1
            gid = f"G{seq:06d}"
        used.add(gid)
        comp_group[root] = gid
    if recs is None:  # decisions and imports call without them (only the members are read); a full run passes its own
        members_all = {m for ms in comps.values() for m in ms}
        recs = {}
        for row in s.execute(select(Recommendation.id, Recommendation.cycle, Recommendation.session,
                                    Recommendation.date)):  # the columns that choose the canonical member
            if row.id in members_all:
                recs[row.id] = row
    for root, members in comps.items():
        gid = comp_group[root]
        canonical = max(members, key=lambda i: (_cycle_key(recs[i]), -i)) if recs else min(members)
        g = existing.get(gid)
        if g is None:
            s.add(LinkGroup(id=gid, kind="duplicate", canonical_rec_id=canonical))
        elif not g.confirmed or g.canonical_rec_id not in members:  # a person's choice stands while it is a member
            g.canonical_rec_id, g.confirmed = canonical, False
    s.flush()
    by_link = {lid: comp_group[find(a)] for lid, a, b, _, _ in links if find(a) == find(b)}
    # write only the group ids that changed (by primary key), then let loaded links re-read theirs
    changes = [{"id": lid, "group_id": by_link.get(lid)} for lid, g in s.execute(
        select(Link.id, Link.group_id).where(Link.kind.in_(("duplicate", "follows_up")))) if by_link.get(lid) != g]
    if changes:
        s.execute(update(Link), changes)
    for obj in list(s.identity_map.values()):
        if isinstance(obj, Link):
            s.expire(obj, ["group_id"])
    # a group left with no members keeps its row (empty), so its id is never handed to another group;
    # listings skip empty groups
    return len(comps)
