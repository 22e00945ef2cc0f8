"""Pair features for the link scorer: more than the cosine (e5 cosines are compressed: unrelated
recommendations score ~0.85), namely the cosine of each embedder part, the action asked, the
instruments named, the overlap of atomic asks, affected groups, numbers and negation."""

from __future__ import annotations

import numpy as np

from .asks import GENERIC_ACTIONS as GENERIC
from .asks import Asks

FEATURES = (
    "cos_1", "cos_2", "same_action", "action_unknown", "generic_action", "instrument_jaccard",
    "no_instruments", "family_only", "ask_jaccard", "word_jaccard", "group_jaccard",
    "number_mismatch", "negation_mismatch", "length_ratio", "action_set_jaccard", "extra_instruments",
    "tfidf_cos", "instrument_differ", "clause_coverage", "clause_count_diff", "intent_xor",
)


def part_slices(embedder) -> list[tuple[slice, float]]:
    """Where each embedder's block sits in a (possibly concatenated) vector, and its weight."""
    parts = getattr(embedder, "parts", None)
    if not parts:
        return [(slice(0, embedder.dim), 1.0)]
    out, start = [], 0
    for p, w in zip(parts, embedder.weights):
        out.append((slice(start, start + p.dim), w))
        start += p.dim
    return out


def part_cosines(slices: list[tuple[slice, float]], A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Row-wise cosine of each part: (n, 2) — a single-part embedder repeats its cosine."""
    cols = [(A[:, s] * B[:, s]).sum(1) / w for s, w in slices[:2]]
    if len(cols) == 1:
        cols.append(cols[0])
    return np.stack(cols, axis=1)


def _jac(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if (a or b) else 0.0


def symbolic_features(a: Asks, b: Asks, len_a: int, len_b: int) -> list[float]:
    same = float(a.action is not None and a.action == b.action)
    unknown = float(a.action is None or b.action is None)
    generic = float(a.action in ("combat", "ensure", "strengthen", "cooperate") or
                    b.action in ("combat", "ensure", "strengthen", "cooperate"))
    ia, ib = set(a.instruments), set(b.instruments)
    family_only = float(not (ia & ib) and bool(a.families() & b.families()))
    num_mismatch = float(bool(a.numbers) and bool(b.numbers) and not (a.numbers & b.numbers))
    sa = {x for x in a.actions if x not in GENERIC}
    sb = {x for x in b.actions if x not in GENERIC}
    return [same, unknown, generic, _jac(ia, ib), float(not ia and not ib), family_only,
            _jac(set(a.atomic), set(b.atomic)), _jac(a.words, b.words), _jac(a.groups, b.groups),
            num_mismatch, float(a.negated != b.negated), min(len_a, len_b) / max(len_a, len_b, 1),
            _jac(sa, sb), float(len(ia ^ ib))]


def instrument_differ(a: Asks, b: Asks) -> float:
    """Both name instruments and the sets differ (containment or partial overlap): never the same ask."""
    ia, ib = set(a.instruments), set(b.instruments)
    return float(bool(ia) and bool(ib) and ia != ib)


def pair_matrix(cos: np.ndarray, asks_a: list[Asks], asks_b: list[Asks], len_a: list[int],
                len_b: list[int], tfidf_cos: np.ndarray, clause_cov: np.ndarray) -> np.ndarray:
    """``clause_cov``: (n, 2) worst-covered clause and clause-count difference (``pairs.clause_coverage``)."""
    rows = [symbolic_features(a, b, la, lb) for a, b, la, lb in zip(asks_a, asks_b, len_a, len_b)]
    sym = np.asarray(rows, dtype=np.float64).reshape(len(rows), -1)
    differ = np.asarray([instrument_differ(a, b) for a, b in zip(asks_a, asks_b)], dtype=np.float64).reshape(-1, 1)
    xor = np.asarray([min(3, len(a.intents ^ b.intents)) for a, b in zip(asks_a, asks_b)],
                     dtype=np.float64).reshape(-1, 1)
    return np.hstack([cos, sym, np.asarray(tfidf_cos, dtype=np.float64).reshape(-1, 1), differ,
                      np.asarray(clause_cov, dtype=np.float64).reshape(-1, 2), xor])
