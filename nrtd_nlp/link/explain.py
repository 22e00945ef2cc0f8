"""A reason a person can read, for every link."""

from __future__ import annotations

from .asks import DOMINANT_ACTIONS, Asks

_ACTION_WORDS = {
    "ratify": "ratify", "withdraw_reservations": "withdraw reservations", "abolish_death_penalty":
    "abolish the death penalty", "invite": "invite / cooperate with special procedures", "report": "submit reports",
    "establish": "establish", "repeal": "repeal / decriminalise", "legislate": "legislate", "investigate":
    "investigate / prosecute", "release": "release", "policy": "plan / strategy / policy", "train": "train",
    "awareness": "raise awareness", "resources": "allocate resources", "data": "collect data",
    "cooperate": "cooperate", "combat": "combat / prevent", "ensure": "ensure / protect", "strengthen": "strengthen",
}


def explain(kind: str, a: Asks, b: Asks, p: float, cos: tuple[float, float], *, translation: bool = False,
            same_recommender: bool = False, languages: tuple[str | None, str | None] | None = None,
            read_together: bool = False) -> str:
    """``read_together``: the pair encoder re-read the two texts as one (link/pair_encoder.py)."""
    if translation:
        return "translation of the same source record"
    if languages and languages[0] != languages[1]:
        return _explain_across(kind, a, b, p, cos, languages)
    parts = []
    act_a, act_b = a.asked_action, b.asked_action
    same = _same_action(a, b)
    if same:
        parts.append(f"same action: {same}")
    elif act_a and act_b:
        parts.append(f"different action: {_ACTION_WORDS.get(act_a, act_a)} / {_ACTION_WORDS.get(act_b, act_b)}")
    ia, ib = a.instruments, b.instruments
    shared = [i for i in ia if i in ib]
    if shared and len(set(ia) | set(ib)) > len(shared):
        asks = [f"{act} {obj}" for act, obj in a.atomic if (act, obj) in set(b.atomic)]
        n = len(set(a.atomic) | set(b.atomic))
        if asks:
            parts.append(f"shares {len(asks)} of {n} asks: {', '.join(asks)}")
        else:
            parts.append(f"same instrument: {', '.join(shared)}; only in one: {', '.join(sorted(set(ia) ^ set(ib)))}")
    elif shared:
        parts.append(f"same instrument: {', '.join(shared)}")
    elif a.families() & b.families():
        parts.append(f"same treaty family: {', '.join(sorted(a.families() & b.families()))} "
                     f"({', '.join(ia)} / {', '.join(ib)})")
    groups = sorted(_groups(a) & _groups(b))
    if groups:
        parts.append(f"same group: {', '.join(groups)}")
    if a.numbers and b.numbers and not (a.numbers & b.numbers):
        parts.append("different numbers or dates")
    if _negated(a) != _negated(b):
        parts.append("one is negated")
    if kind == "follows_up":
        parts.append("earlier cycle" + (", same recommending State" if same_recommender else ""))
    if read_together:
        parts.append("both texts read together")
    parts.append(f"similarity {cos[0]:.2f}/{cos[1]:.2f}")
    parts.append(f"P({'duplicate' if kind in ('duplicate', 'follows_up') else kind})={p:.2f}")
    return " · ".join(parts)


def _explain_across(kind: str, a: Asks, b: Asks, p: float, cos: tuple[float, float],
                    languages: tuple[str | None, str | None]) -> str:
    """A pair in two languages is scored on its cosines alone (the cross-lingual head), and the action,
    negation and number rules do not read every language alike (Chinese gets none, Arabic and Russian
    fewer words): only what both texts name in common is told, never a difference those rules could
    not see."""
    parts = [f"across languages: {languages[0] or '?'} / {languages[1] or '?'}"]
    same = _same_action(a, b)
    if same:
        parts.append(f"same action: {same}")
    shared = [i for i in a.instruments if i in b.instruments]
    if shared:
        parts.append(f"same instrument: {', '.join(shared)}")
    groups = sorted(_groups(a) & _groups(b))
    if groups:
        parts.append(f"same group: {', '.join(groups)}")
    if kind == "follows_up":
        parts.append("earlier cycle")
    parts.append(f"similarity {cos[0]:.2f}/{cos[1]:.2f}")
    parts.append(f"P({'duplicate' if kind in ('duplicate', 'follows_up') else kind})={p:.2f}")
    return " · ".join(parts)


def _same_action(a: Asks, b: Asks) -> str | None:
    """The action both ask, in words: a dominant one both name (it names its own object), else the same
    main action; None when they differ or one asks none. Words of an instrument's title are not asked."""
    acts_a, acts_b = (x.actions if x.asked is None else x.asked for x in (a, b))
    shared_dominant = [x for x in DOMINANT_ACTIONS if x in acts_a and x in acts_b]
    if shared_dominant:
        return _ACTION_WORDS[shared_dominant[0]]
    act = a.asked_action
    return _ACTION_WORDS.get(act, act) if act and act == b.asked_action else None


def _groups(a: Asks) -> set[str]:
    """The groups a person is told: Arabic and Russian ones too (``Asks.told_groups``)."""
    return a.groups if a.told_groups is None else a.told_groups


def _negated(a: Asks) -> bool:
    return a.negated if a.told_negated is None else a.told_negated
