"""The pair encoder in a links run: which pairs it reads, and its answers kept in the store.

It reads the pairs it was trained for (same language, one of its languages, same cycle or none, not a
translation named by the source) whose decision it could change (``PairScorer.band_rows``), the most
uncertain first. Its answers are stored by (text hash, text hash, bundle) in ``pair_reads``, as vectors are
by text hash, so a re-run or a later import reads only pairs it has never read; at most
``link_pair_encoder_max_pairs`` new pairs a run (~60 ms each on 2 cores), so a first run over a large store
stays bounded and the next runs read the next ones.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..ingest.records import text_hash
from ..store.models import PairRead, utcnow
from .scorer import CLASSES, PairScorer


def refine_with_reads(engine, scorer: PairScorer, P: np.ndarray, pair_list: list[tuple[int, int]], recs: dict,
                      translation_pairs: set, progress=None) -> tuple[np.ndarray, np.ndarray, int]:
    """(P with the pair encoder's answers averaged in, the rows it answered, how many it read anew)."""
    pe = scorer.pair_encoder
    langs = set(pe.languages)
    eligible = np.asarray([
        (a, b) not in translation_pairs and recs[a].language == recs[b].language and recs[a].language in langs
        and not (bool(recs[a].cycle) and bool(recs[b].cycle) and recs[a].cycle != recs[b].cycle)
        for a, b in pair_list], bool)
    rows = scorer.band_rows(P, eligible)
    if not len(rows):
        return P, rows, 0
    hashes: dict[int, str] = {}

    def h(i: int) -> str:
        if i not in hashes:
            hashes[i] = text_hash(recs[i].text)
        return hashes[i]

    keys = [tuple(sorted((h(pair_list[n][0]), h(pair_list[n][1])))) for n in rows]
    agent = scorer.agent
    started = utcnow()
    with engine.db.session() as s:
        known = {(r.hash_a, r.hash_b): (r.p_different, r.p_duplicate, r.p_related)
                 for r in s.scalars(select(PairRead).where(PairRead.agent == agent))}
    C = np.full((len(rows), len(CLASSES)), np.nan)
    todo, pending = [], set()
    for j, k in enumerate(keys):
        if k in known:
            C[j] = known[k]
        elif k not in pending:
            todo.append(j)
            pending.add(k)
    todo = todo[: engine.settings.link_pair_encoder_max_pairs]  # rows are the most uncertain first
    if todo:
        texts_a = [recs[pair_list[rows[j]][0]].text for j in todo]
        texts_b = [recs[pair_list[rows[j]][1]].text for j in todo]
        C[todo] = pe.predict_proba(texts_a, texts_b, progress)
        try:
            with engine.db.session() as s:  # one transaction; a run beside this one may have stored some meanwhile
                have = {(r.hash_a, r.hash_b) for r in s.scalars(select(PairRead).where(
                    PairRead.agent == agent, PairRead.created_at >= started))}
                s.add_all([PairRead(hash_a=keys[j][0], hash_b=keys[j][1], agent=agent, p_different=float(C[j, 0]),
                                    p_duplicate=float(C[j, 1]), p_related=float(C[j, 2]))
                           for j in todo if keys[j] not in have])
        except IntegrityError:  # a run beside this one stored the same pairs first: its answers are as good
            pass
    # the same two texts under other record ids: one read answers them all
    by_key = {keys[j]: C[j] for j in range(len(rows)) if not np.isnan(C[j, 0])}
    for j, k in enumerate(keys):
        if np.isnan(C[j, 0]) and k in by_key:
            C[j] = by_key[k]
    done = ~np.isnan(C[:, 0])
    P = P.copy()
    P[rows[done]] = pe.blend(P[rows[done]], C[done])
    return P, rows[done], len(todo)
