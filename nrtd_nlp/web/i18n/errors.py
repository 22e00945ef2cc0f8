"""A service's error message on the review pages in the page's language.

The services raise :class:`~nrtd_nlp.errors.NrtdError` with an English ``message`` that the API, the CLI and
the logs keep as it is (machine readers and people searching for an error rely on it). The pages show it in
the reader's language: each rule below matches one message form as a whole (built from the f-string that
raises it) and names its catalogue key; a named group is the key's placeholder. Ids, numbers, names, field
names and values a person typed are captured and kept exactly as they were; the few fixed words a message
takes from the data (a decision, a follow-up or link status, a role) are shown through the catalogue, as the
pages show them (``i18n.term``). A message no rule knows, or whose key a catalogue lacks, stays English:
never half-translated, never an exception.

Covered (every message the review pages' actions can produce; the API's ``/v1`` answers stay English):

- ``services/reviews.py``: ``decide``, ``revert``, ``revert_many``, ``bulk_decide`` and their checks
  (``_check_task``, ``_check_value``, ``_conflict``), and ``errors.require_reviewer``;
- ``services/follow_up.py``: ``set_status`` (records and duplicate groups);
- ``link/decisions.py``: ``decide_link``, ``split_group``, ``set_canonical``; ``services/links.py``:
  ``group_detail``;
- ``services/clusters.py``: confirm, rename, merge, split off, move members (``_active``, ``_who``,
  ``_split_off``, ``move_members``), and ``api/routes/pages_clusters.py`` (``curate``, ``cluster_detail``);
- ``services/review_sessions.py``: ``parse_key``, ``queue``;
- ``services/auth.py``: ``check_csrf``; ``api/routes/pages.py``: ``page_require`` (sign in, role) and the
  ``InputError``s raised inline by the page routes.

Not covered, as no page action can reach them: the listing checks of ``services/links.list_links`` and
``clusters.list_clusters``/``get_cluster`` (the pages pass fixed or validated limits), ``split_cluster`` without
members (the page always names them), the store's start-up errors, and FastAPI's validation text.
"""

from __future__ import annotations

import functools
import re
from typing import Optional, Union

from . import DEFAULT, catalogue, term, translate

_REPR = r"(?:None|'.*'|\".*\")"  # a value as Python's repr() shows it in a message: kept with its quotes
_ID = r"-?\d+"

# (regex over the whole English message, catalogue key, groups shown through ``term``). First match wins, so a
# specific form comes before the general one it would also match.
_RULES_SRC: list[tuple[str, str, tuple[str, ...]]] = [
    # services/reviews.py: _conflict (never "no decision" with nothing current: that is no conflict)
    (r"this value is undecided now \(the decision you expected was reverted\); you expected review "
     r"(?P<expected>\d+): reload and decide again",
     "this value is undecided now (the decision you expected was reverted); you expected review {expected}: "
     "reload and decide again", ()),
    (r"(?P<task>\S+) (?P<value>.+) was (?P<decision>\w+) by (?P<reviewer>.+) \(review (?P<review>\d+)\) at "
     r"(?P<at>\S+); you expected no decision: reload and decide again",
     "{task} {value} was {decision} by {reviewer} (review {review}) at {at}; you expected no decision: "
     "reload and decide again", ("decision",)),
    (r"(?P<task>\S+) (?P<value>.+) was (?P<decision>\w+) by (?P<reviewer>.+) \(review (?P<review>\d+)\) at "
     r"(?P<at>\S+); you expected review (?P<expected>\d+): reload and decide again",
     "{task} {value} was {decision} by {reviewer} (review {review}) at {at}; you expected review {expected}: "
     "reload and decide again", ("decision",)),
    # services/reviews.py: decide and its checks
    (rf"unknown task (?P<task>{_REPR}); choose one of (?P<choices>.+)", "unknown task {task}; choose one of {choices}",
     ()),
    (rf"no active institution (?P<value>{_REPR}); add it first \(nrtd institutions load, POST /v1/institutions\)",
     "no active institution {value}; add it first (nrtd institutions load, POST /v1/institutions)", ()),
    (rf"(?P<value>{_REPR}) is not a (?P<task>\S+) label \(e\.g\. (?P<examples>.*)\)",
     "{value} is not a {task} label (e.g. {examples})", ()),
    (rf"unknown decision (?P<decision>{_REPR}); choose one of (?P<choices>.+)",
     "unknown decision {decision}; choose one of {choices}", ()),  # reviews and link decisions
    (rf"suggestion (?P<id>{_ID}) does not exist", "suggestion {id} does not exist", ()),
    (rf"suggestion (?P<id>{_ID}) is (?P<task>[^=\s]+)=(?P<value>.+) of recommendation (?P<rec>{_ID}), "
     r"not (?P<field>rec_id|task|value) (?P<given>.+)",
     "suggestion {id} is {task}={value} of recommendation {rec}, not {field} {given}", ()),
    (r"nothing was suggested for (?P<task>[^=\s]+)=(?P<value>.+); use decision=add",
     "nothing was suggested for {task}={value}; use decision=add", ()),
    (rf"recommendation (?P<id>{_ID}) does not exist", "recommendation {id} does not exist", ()),
    # services/reviews.py: revert, revert_many
    (rf"review (?P<id>{_ID}) does not exist", "review {id} does not exist", ()),
    (rf"review (?P<id>{_ID}) was already reverted by (?P<who>.+)", "review {id} was already reverted by {who}", ()),
    (rf"review (?P<id>{_ID}) is no longer the current decision: (?P<reviewer>.+) (?P<decision>\w+) it later "
     r"\(review (?P<later>\d+)\)",
     "review {id} is no longer the current decision: {reviewer} {decision} it later (review {later})",
     ("decision",)),
    (rf"review (?P<id>{_ID}) is no longer the current decision \(review (?P<later>\d+) is\)",
     "review {id} is no longer the current decision (review {later} is)", ()),
    (r"reviews (?P<ids>\[.*\]) do not exist", "reviews {ids} do not exist", ()),
    # services/reviews.py: bulk_decide
    (r"(?P<name>\w+) is empty: name what to decide, or leave (?P=name) out",
     "{name} is empty: name what to decide, or leave {name} out", ()),
    (r"cluster (?P<id>.+) does not exist", "cluster {id} does not exist", ()),  # also pages_clusters
    # api/routes/pages.py: page_require (sign-in and role)
    (r"this needs the (?P<need>\w+) role; you are (?P<role>\w+)", "this needs the {need} role; you are {role}",
     ("need", "role")),
    # services/follow_up.py
    (rf"unknown follow-up status (?P<status>{_REPR}); choose one of (?P<choices>.+)",
     "unknown follow-up status {status}; choose one of {choices}", ()),
    (r"group (?P<id>.+) does not exist", "group {id} does not exist", ()),  # also links, link decisions
    (r"group (?P<id>.+) has no members left", "group {id} has no members left", ()),
    (r"rec_ids holds 1 to (?P<n>\d+) ids", "rec_ids holds 1 to {n} ids", ()),
    (rf"no recommendation (?P<ids>{_ID}(?:, {_ID})*)", "no recommendation {ids}", ()),  # also clusters
    (rf"recommendation (?P<id>{_ID}) is (?P<status>\S+) now, not (?P<expected>\S+): someone changed it; reload "
     r"and decide again",
     "recommendation {id} is {status} now, not {expected}: someone changed it; reload and decide again",
     ("status", "expected")),
    # link/decisions.py
    (r"expected_status is one of (?P<choices>.+)", "expected_status is one of {choices}", ()),
    (rf"link (?P<id>{_ID}) does not exist", "link {id} does not exist", ()),
    (rf"link (?P<id>{_ID}) now joins (?P<a>{_ID}) and (?P<b>{_ID}), not (?P<c>{_ID}) and (?P<d>{_ID}) "
     r"\(links were recomputed\): reload and decide again",
     "link {id} now joins {a} and {b}, not {c} and {d} (links were recomputed): reload and decide again", ()),
    (rf"link (?P<id>{_ID}) is a translation named by the source, not a machine suggestion",
     "link {id} is a translation named by the source, not a machine suggestion", ()),
    (rf"link (?P<id>{_ID}) is (?P<status>\w+), not (?P<expected>\w+): someone decided first",
     "link {id} is {status}, not {expected}: someone decided first", ("status", "expected")),
    (r"not members of cluster (?P<id>.+): (?P<ids>\[.*\])", "not members of cluster {id}: {ids}", ()),  # clusters
    (r"not members of (?P<group>.+): (?P<ids>\[.*\])", "not members of {group}: {ids}", ()),
    (r"leave at least one member in (?P<group>.+)", "leave at least one member in {group}", ()),
    (rf"(?P<rec>{_ID}) is the canonical member a person chose for (?P<group>.+): choose another one first",
     "{rec} is the canonical member a person chose for {group}: choose another one first", ()),
    (rf"recommendation (?P<rec>{_ID}) is not a member of (?P<group>.+)",
     "recommendation {rec} is not a member of {group}", ()),
    # services/clusters.py and api/routes/pages_clusters.py
    (rf"unknown action (?P<action>{_REPR}); choose one of (?P<choices>.+)",
     "unknown action {action}; choose one of {choices}", ()),
    (rf"no cluster (?P<id>{_REPR})", "no cluster {id}", ()),
    *((rf"cluster (?P<id>.+) is {st}, not active", f"cluster {{id}} is {st}, not active", ())
      for st in ("merged", "split", "retired")),
    (r"cluster (?P<id>.+) is (?P<status>\w+), not active", "cluster {id} is {status}, not active", ()),
    (r"cluster (?P<id>.+) changed since you saw it \((?P<n>\d+) members now\): reload it and confirm again",
     "cluster {id} changed since you saw it ({n} members now): reload it and confirm again", ()),
    (rf"recommendation (?P<rec>{_ID}) is already in cluster (?P<id>.+)",
     "recommendation {rec} is already in cluster {id}", ()),
    (rf"recommendation (?P<rec>{_ID}) is no longer in cluster \(none\) but in (?P<now>.+); reload it and move again",
     "recommendation {rec} is no longer in cluster (none) but in {now}; reload it and move again", ()),
    (rf"recommendation (?P<rec>{_ID}) is no longer in cluster (?P<id>.+) but in no cluster; reload it and move again",
     "recommendation {rec} is no longer in cluster {id} but in no cluster; reload it and move again", ()),
    (rf"recommendation (?P<rec>{_ID}) is no longer in cluster (?P<id>.+?) but in (?P<now>.+); reload it and move "
     r"again",
     "recommendation {rec} is no longer in cluster {id} but in {now}; reload it and move again", ()),
    # services/review_sessions.py
    (rf"the year in a session key is a number, not (?P<year>{_REPR})",
     "the year in a session key is a number, not {year}", ()),
    (rf"no recommendations in session (?P<session>{_REPR})", "no recommendations in session {session}", ()),
]

# Messages with nothing built in: the English text is the key.
_FIXED = (
    # services/reviews.py, errors.require_reviewer
    "add names a value (rec_id + task + value), not a suggestion",
    "name a suggestion_id, or rec_id + task + value",
    "value must be 1 to 200 characters",
    "name at least one review",
    "bulk decisions are accept or reject",
    "need 0 <= min_score <= max_score <= 1",
    "name a scope: session, cluster_id, rec_ids or task",
    "a reviewer name is required",
    # api/routes/pages.py (inline) and services/auth.py
    "act is '<decision> <suggestion id> [<review id>]'",
    "choose a decision",
    "expected_review_id must be a review id",
    "review_ids must be comma-separated numbers",
    "a bulk action from the page needs its session or cluster",
    "pair is '<record id>,<record id>'",
    "sign in first",
    "the form's CSRF token is missing or wrong; reload the page",
    # services/follow_up.py
    "name the recommendations (rec_ids) or a duplicate group (group_id), not both",
    "note is at most 2000 characters",
    # link/decisions.py
    "name at least one member to split off",
    # services/clusters.py and api/routes/pages_clusters.py
    "cluster curation needs nrtd_nlp.services.clusters, which is not installed",
    "a new label is required",
    "choose the cluster to merge into this one",
    "tick the members to split off",
    "tick members and choose where to move them",
    "who must name the person (1-100 characters)",
    "label must be 1-300 characters",
    "give at least two different cluster ids to merge",
    "splitting off every member leaves nothing behind; rename the cluster instead",
    # services/review_sessions.py
    "a session key is mechanism|cycle|session|year",
)


@functools.lru_cache(maxsize=1)
def rules() -> tuple[tuple[re.Pattern, str, tuple[str, ...]], ...]:
    """Every rule, compiled once: the fixed messages first (exact text), then the built ones."""
    fixed = [(re.compile(re.escape(t)), t, ()) for t in _FIXED]
    return tuple(fixed + [(re.compile(rx, re.S), key, terms) for rx, key, terms in _RULES_SRC])


def keys() -> list[str]:
    """The catalogue keys the rules need (for the catalogues' tests)."""
    return [key for _, key, _ in rules()]


def _message(err: Union[BaseException, str, None]) -> str:
    if err is None:
        return ""
    if isinstance(err, str):
        return err
    msg = getattr(err, "message", None)
    return msg if isinstance(msg, str) else str(err)


def translate_message(lang: str, message: str) -> str:
    """``message`` (a service's English text) in ``lang``; unchanged when English or not recognised."""
    if not message or lang == DEFAULT:
        return message
    cat = catalogue(lang)
    for rx, key, terms in rules():
        m = rx.fullmatch(message)
        if m is None:
            continue
        if key not in cat:  # a catalogue without this key keeps the whole message English
            return message
        values = {k: term(lang, v) if k in terms else v for k, v in m.groupdict().items()}
        return translate(lang, key, **values)
    return message


def error_message(lang: Optional[str], err: Union[BaseException, str, None]) -> str:
    """The error's message in ``lang`` (an :class:`NrtdError`, any exception, or the message itself); the English
    message when ``lang`` is English, unknown, or no rule knows it. Never raises: an error page must show."""
    text = _message(err)
    try:
        return translate_message(lang or DEFAULT, text)
    except Exception:  # noqa: BLE001 - a defect here must not hide the error being shown
        return text
