"""Review sessions: the recommendations of one mechanism sitting, e.g. "UPR cycle 2 session 14", "CEDAW 2024".

A session key is ``mechanism|cycle|session|year`` (a "|" or "%" inside a value is written %7C / %25):
records with a cycle or session are grouped by them, the others by the year of their date ("undated" when there is none). The review queue of a session puts the
most uncertain recommendations first: those whose undecided suggestions have a score closest to 0.5.
"""

from __future__ import annotations

from sqlalchemy import and_, extract, func, select

from ..errors import InputError, NotFound
from ..store.models import Cluster, ClusterMember, Link, Recommendation
from .reviews import effective_values, slot_states
from .serialize import rec_to_dict

SEP = "|"


def _year_col():
    return extract("year", Recommendation.date)


def _escape(v: str) -> str:  # a "|" inside a stored value must not break the key
    return v.replace("%", "%25").replace(SEP, "%7C")


def _unescape(v: str) -> str:
    return v.replace("%7C", SEP).replace("%7c", SEP).replace("%25", "%")


def make_key(mechanism, cycle, session, year) -> str:
    if cycle or session:
        year = None
    return SEP.join("" if v is None else _escape(str(int(v) if isinstance(v, float) else v))
                    for v in (mechanism, cycle, session, year))


def _english(text: str, **values) -> str:
    return text.format(**values)


def label(key: str, tr=_english) -> str:
    """A session's name ("UPR cycle 3 session 40", "CEDAW 2023"); ``tr(text, **values)`` puts its words in
    another language (the pages' ``i18n.translate``); the mechanism's acronym stays as it is."""
    mech, cycle, session, year = parse_key(key)
    name = mech or tr("unknown mechanism")
    if cycle or session:
        return " ".join(x for x in (name, tr("cycle {n}", n=cycle) if cycle else "",
                                    tr("session {n}", n=session) if session else "") if x)
    return f"{name} {year}" if year else tr("{name} (undated)", name=name)


def parse_key(key: str) -> tuple[str, str, str, str]:
    parts = (key or "").split(SEP)
    if len(parts) != 4:
        raise InputError("a session key is mechanism|cycle|session|year", field="session")
    if parts[3] and not (parts[3].isascii() and parts[3].isdigit() and len(parts[3]) <= 4):
        raise InputError(f"the year in a session key is a number, not {parts[3]!r}", field="session")
    return _unescape(parts[0]), _unescape(parts[1]), _unescape(parts[2]), parts[3]


def session_clause(key: str):
    """A WHERE clause on Recommendation selecting this session's records."""
    mech, cycle, session, year = parse_key(key)
    conds = [Recommendation.mechanism == mech if mech else Recommendation.mechanism.is_(None)]
    if cycle or session:
        conds.append(Recommendation.cycle == cycle if cycle else Recommendation.cycle.is_(None))
        conds.append(Recommendation.session == session if session else Recommendation.session.is_(None))
    else:
        conds += [Recommendation.cycle.is_(None), Recommendation.session.is_(None)]
        conds.append(_year_col() == int(year) if year else Recommendation.date.is_(None))
    return and_(*conds)


def list_sessions(engine) -> list[dict]:
    """Every session with its number of recommendations, newest cycle/year first."""
    y = _year_col()
    q = (select(Recommendation.mechanism, Recommendation.cycle, Recommendation.session, y, func.count())
         .group_by(Recommendation.mechanism, Recommendation.cycle, Recommendation.session, y))
    counts: dict[str, int] = {}
    with engine.db.session() as s:
        for mech, cycle, session, year, n in s.execute(q):
            k = make_key(mech, cycle, session, year)
            counts[k] = counts.get(k, 0) + n

    def order(k):
        mech, cycle, session, year = parse_key(k)
        num = lambda v: int(v) if v.isdigit() else -1  # noqa: E731
        return (mech, -num(cycle), -num(session), -num(year))

    return [{"key": k, "label": label(k), "count": counts[k]} for k in sorted(counts, key=order)]


def _calibrated_agents(engine) -> callable:
    """Whether a suggestion's score is a probability: supervised taggers' and calibrated zero-shot ones' are;
    institution relevance and uncalibrated zero-shot scores are not, and must not order the queue."""
    known: dict[str, bool] = {}

    def calibrated(agent: str | None, task: str) -> bool:
        if not agent or agent.startswith("institutions@"):
            return False
        if "-zeroshot@" not in agent:  # supervised taggers (calibrated on held-out data) and other sources
            return True
        if agent not in known:
            try:
                lt = engine.taggers.get(task)
                known[agent] = lt.agent == agent and lt.calibrated
            except Exception:  # noqa: BLE001 - a task no longer known: not a probability we can vouch for
                known[agent] = False
        return known[agent]

    return calibrated


def _uncertainty(slots: list[dict], calibrated=lambda agent, task: True) -> tuple:
    """Undecided records first, the one whose probability is nearest 0.5 first (a decision there teaches most);
    records with only uncalibrated scores pending come after them, then decided ones."""
    pending = [x for x in slots if x["review"] is None and x["score"] is not None]
    probs = [abs(x["score"] - 0.5) for x in pending if calibrated(x["agent"], x["task"])]
    if probs:
        return (0, min(probs))
    if pending:
        return (1, 0.0)
    return (2, 0.0) if slots else (3, 0.0)


def queue(engine, key: str, *, limit: int = 300, offset: int = 0) -> dict:
    """A session's recommendations with their suggestions, cluster and duplicate links, most uncertain first."""
    if not 1 <= limit <= 1000:
        raise InputError("limit must be between 1 and 1000", field="limit")
    clause = session_clause(key)
    with engine.db.session() as s:
        recs = s.scalars(select(Recommendation).where(clause).order_by(Recommendation.id)).all()
        if not recs:
            raise NotFound(f"no recommendations in session {key!r}", field="session")
        ids = [r.id for r in recs]
        slots = slot_states(s, ids)
        clusters: dict[int, dict] = {}
        links: dict[int, list[dict]] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            for m, c in s.execute(select(ClusterMember, Cluster).join(Cluster, Cluster.id == ClusterMember.cluster_id)
                                  .where(ClusterMember.rec_id.in_(chunk))):
                best = clusters.get(m.rec_id)
                if best is None or (m.by == "human") > (best["by"] == "human"):
                    clusters[m.rec_id] = {"id": c.id, "label": c.label, "score": m.score, "by": m.by}
            for x in s.scalars(select(Link).where(Link.kind.in_(("duplicate", "follows_up")),
                                                  Link.status != "unlinked",
                                                  (Link.rec_a.in_(chunk)) | (Link.rec_b.in_(chunk)))):
                for mine, other in ((x.rec_a, x.rec_b), (x.rec_b, x.rec_a)):
                    if mine in slots:
                        links.setdefault(mine, []).append({"id": x.id, "other": other, "kind": x.kind,
                                                           "score": x.score, "status": x.status})
        items = []
        for r in recs:
            sl = sorted(slots[r.id], key=lambda x: (x["task"], -(x["score"] or 0)))
            items.append({**rec_to_dict(r), "slots": sl, "effective": effective_values(sl),
                          "cluster": clusters.get(r.id), "links": links.get(r.id, []),
                          "pending": sum(1 for x in sl if x["review"] is None)})
    calibrated = _calibrated_agents(engine)
    items.sort(key=lambda it: (_uncertainty(it["slots"], calibrated), it["id"]))
    return {"key": key, "label": label(key), "count": len(items), "data": items[offset:offset + limit]}
