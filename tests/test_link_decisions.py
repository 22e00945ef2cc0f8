"""Human decisions on links and groups survive re-runs, races and imports (found by an adversarial audit)."""

import threading

import pytest
from sqlalchemy import select

from nrtd_nlp.errors import Conflict, InputError
from nrtd_nlp.link.decisions import decide_link, set_canonical, split_group
from nrtd_nlp.link.service import compute_links, regroup
from nrtd_nlp.store.models import Link, LinkGroup, Recommendation
from tests.test_links import linked_engine, scorer_dir  # noqa: F401  (fixtures)


def _recs(engine, n: int) -> list[int]:
    with engine.db.session() as s:
        rows = [Recommendation(source="t", external_id=f"r{i}", text=f"text {i}", text_hash=f"h{i}", language="en",
                               country="Utopia", cycle="1") for i in range(n)]
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


def _link(s, a, b, status="suggested", score=0.9, agent="link-scorer@t"):
    x = Link(rec_a=a, rec_b=b, kind="duplicate", score=score, explanation="same ask", agent=agent, status=status)
    s.add(x)
    s.flush()
    return x.id


def _groups(engine) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    with engine.db.session() as s:
        for g, a, b in s.execute(select(Link.group_id, Link.rec_a, Link.rec_b).where(Link.group_id.is_not(None))):
            out.setdefault(g, set()).update({a, b})
    return out


def test_a_rerun_keeps_the_ids_of_links_it_suggests_again(linked_engine):
    with linked_engine.db.session() as s:
        before = {(x.rec_a, x.rec_b, x.kind): x.id for x in s.scalars(select(Link))}
    compute_links(linked_engine)
    with linked_engine.db.session() as s:
        after = {(x.rec_a, x.rec_b, x.kind): x.id for x in s.scalars(select(Link))}
    assert after == before


def test_a_decision_names_the_pair_it_was_made_on(linked_engine):
    with linked_engine.db.session() as s:
        x = s.scalars(select(Link).where(Link.kind == "duplicate")).first()
        a, b, lid = x.rec_a, x.rec_b, x.id
    with pytest.raises(Conflict) as e:  # the page showed another pair under this id
        decide_link(linked_engine, lid, "unlink", "ana", expected_status="suggested", pair=(a, b + 1000))
    assert e.value.field == "id"
    with pytest.raises(InputError):
        decide_link(linked_engine, lid, "unlink", "ana", expected_status="bogus")
    assert decide_link(linked_engine, lid, "unlink", "ana", expected_status="suggested", pair=(b, a))["status"] \
        == "unlinked"


def test_two_people_deciding_at_once_one_wins_the_other_gets_409(engine):
    a, b = _recs(engine, 2)
    with engine.db.session() as s:
        lid = _link(s, a, b)
    barrier, results = threading.Barrier(2), []

    def go(decision):
        barrier.wait()
        try:
            results.append(decide_link(engine, lid, decision, decision, expected_status="suggested")["status"])
        except Conflict:
            results.append("409")

    threads = [threading.Thread(target=go, args=(d,)) for d in ("confirm", "unlink")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results)[0] == "409" and len(results) == 2 and results.count("409") == 1


def test_a_split_is_never_undone_by_a_record_linked_to_both_parts(engine):
    a, b, c, new = _recs(engine, 4)
    with engine.db.session() as s:
        _link(s, a, b)
        _link(s, b, c)
        regroup(s)
    gid = next(iter(_groups(engine)))
    split_group(engine, gid, [c], "ana")  # c is not the same as a, b
    with engine.db.session() as s:  # an import brings a record the model links to both sides
        _link(s, a, new, score=0.95)
        _link(s, c, new, score=0.8)
        regroup(s)
    groups = _groups(engine)
    assert not any({a, c} <= m or {b, c} <= m for m in groups.values())
    assert {a, b, new} in groups.values()


def test_a_confirmed_group_keeps_its_id_and_canonical_member_when_it_grows(engine):
    ids = _recs(engine, 5)
    with engine.db.session() as s:
        _link(s, ids[0], ids[1])
        regroup(s)
    gid = next(iter(_groups(engine)))
    set_canonical(engine, gid, ids[1], "ana")
    with engine.db.session() as s:  # three more copies of the same ask arrive (Jaccard with the old group 0.4)
        for i in ids[2:]:
            _link(s, ids[0], i)
        regroup(s)
    assert _groups(engine) == {gid: set(ids)}
    with engine.db.session() as s:
        g = s.get(LinkGroup, gid)
        assert g.confirmed and g.canonical_rec_id == ids[1]


def test_group_ids_are_never_handed_to_another_group_and_splits_are_guarded(engine):
    a, b, c, d = _recs(engine, 4)
    with engine.db.session() as s:
        lid = _link(s, a, b)
        regroup(s)
    old = next(iter(_groups(engine)))
    with pytest.raises(InputError):  # splitting off every member is not a split
        split_group(engine, old, [a, b], "ana")
    decide_link(engine, lid, "unlink", "ana")  # the group is left empty
    with engine.db.session() as s:
        _link(s, c, d)
        regroup(s)
    assert old not in _groups(engine) and len(_groups(engine)) == 1
    with engine.db.session() as s:
        _link(s, a, c)
        _link(s, a, d)
        regroup(s)
    gid = next(iter(_groups(engine)))
    set_canonical(engine, gid, a, "ana")
    with pytest.raises(InputError):  # the person's canonical member cannot be split off
        split_group(engine, gid, [a], "ana")


def test_source_translations_are_not_decided_on(engine):
    a, b = _recs(engine, 2)
    with engine.db.session() as s:
        lid = _link(s, a, b, score=1.0, agent="source:translation")
    with pytest.raises(InputError):
        decide_link(engine, lid, "unlink", "ana")


def test_the_review_list_leaves_out_source_translations(engine):
    from nrtd_nlp.services.links import list_links

    a, b, c = _recs(engine, 3)
    with engine.db.session() as s:
        _link(s, a, b, score=1.0, agent="source:translation")
        _link(s, a, c, score=0.9)
    assert len(list_links(engine, kind="duplicate")[0]) == 2
    rows, total = list_links(engine, kind="duplicate", translations=False)
    assert total == 1 and rows[0]["agent"] == "link-scorer@t"
