"""Duplicate groups from the CLI (`nrtd groups`, `nrtd group show|split|canonical`) and the review page
(`/ui/groups`, `/ui/groups/{id}`): listing, reading, choosing the canonical member, splitting members off."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from nrtd_nlp.cli import app
from nrtd_nlp.store.models import AuditEvent, Link, LinkGroup
from tests.review_data import login
from tests.test_cli_edges import run
from tests.test_link_decisions import _groups, _link, _recs

runner = CliRunner()


@pytest.fixture()
def group(engine):
    """One suggested duplicate group a-b-c (links a-b, b-c), a pair d-e in another group, and f in no group."""
    from nrtd_nlp.link.service import regroup

    a, b, c, d, e, f = _recs(engine, 6)
    with engine.db.session() as s:
        _link(s, a, b, score=0.95)
        _link(s, b, c, score=0.9)
        _link(s, d, e, score=0.85)
        regroup(s)
    gid = next(g for g, m in _groups(engine).items() if a in m)
    return engine, gid, (a, b, c), f


def _ok(*args) -> str:
    r = runner.invoke(app, [str(x) for x in args])
    assert r.exit_code == 0, (args, r.output, r.exception)
    return r.stdout


def _canonical(engine, gid) -> tuple[int, bool]:
    with engine.db.session() as s:
        g = s.get(LinkGroup, gid)
        return g.canonical_rec_id, g.confirmed


# -- CLI ---------------------------------------------------------------------------------------------------------

def test_groups_lists_and_show_reads_a_group(group, cli_env):
    engine, gid, (a, b, c), _ = group
    data = json.loads(_ok("groups", "--json"))
    assert data["count"] == 2 and {len(g["members"]) for g in data["data"]} == {2, 3}
    text = _ok("groups", "--limit", "1")
    assert text.startswith("2 duplicate groups") and len(text.strip().splitlines()) == 2
    assert f"{gid} suggested   3 members" in text and "text " in text
    shown = json.loads(_ok("group", "show", gid, "--json"))
    assert [m["id"] for m in shown["members"]][0] == shown["canonical"]["id"]
    assert {m["id"] for m in shown["members"]} == {a, b, c} and len(shown["links"]) == 2
    assert all(x["id"] and x["explanation"] == "same ask" for x in shown["links"])
    out = _ok("group", "show", gid)
    assert f"{gid} (suggested): 3 members" in out and f"#{a} <-> #{b} duplicate 0.95 suggested" in out
    assert "    text 0" in out  # the members' texts, in full


def test_canonical_then_split_from_the_cli(group, cli_env):
    engine, gid, (a, b, c), _ = group
    out = _ok("group", "canonical", gid, b, "--reviewer", "ana")
    assert out.strip() == f"{gid}: canonical member is #{b} (confirmed)"
    assert _canonical(engine, gid) == (b, True)
    res = json.loads(_ok("group", "split", gid, c, "--reviewer", "ana", "--json"))
    assert res["group_id"] == gid and len(res["unlinked"]) == 1
    assert {a, b} in _groups(engine).values() and not any(c in m for m in _groups(engine).values())
    with engine.db.session() as s:
        actions = set(s.scalars(select(AuditEvent.action).where(AuditEvent.who == "ana")))
        assert s.get(Link, res["unlinked"][0]).status == "unlinked"
    assert actions == {"group.confirm", "group.split"}
    assert "1 members" not in _ok("group", "show", gid) and f"canonical #{b}" in _ok("group", "show", gid)


@pytest.mark.parametrize("args, needle", [
    (["group", "show", "G999999"], "error[not_found]: group_id: group G999999 does not exist"),
    (["group", "canonical", "G999999", "1", "--reviewer", "ana"], "error[not_found]"),
    (["group", "split", "G999999", "1", "--reviewer", "ana"], "error[not_found]"),
    (["group", "canonical", "{gid}", "{e}", "--reviewer", "ana"], "error[invalid_input]: rec_id: recommendation"),
    (["group", "canonical", "{gid}", str(2**70), "--reviewer", "ana"], "rec_id: 1180591620717411303424 is beyond"),
    (["group", "split", "{gid}", "{e}", "--reviewer", "ana"], "error[invalid_input]: rec_ids: not members"),
    (["group", "split", "{gid}", "{a}", "{b}", "{c}", "--reviewer", "ana"], "leave at least one member"),
    (["group", "split", "{gid}", "{a}", "--reviewer", " "], "error[invalid_input]: reviewer:"),
    (["group", "canonical", "{gid}", "{a}"], "Missing option '--reviewer'"),
    (["groups", "--limit", "0"], "error[invalid_input]: limit: limit must be 1..500"),
    (["groups", "--limit", "501"], "limit: limit must be 1..500"),
    (["groups", "--offset", "-1"], "offset: offset must be 0 or more"),
])
def test_cli_errors_are_one_line_exit_2(group, cli_env, args, needle):
    engine, gid, (a, b, c), e = group
    line = run(*[x.format(gid=gid, a=a, b=b, c=c, e=e) for x in args])
    assert line.startswith("nrtd: ") and needle in line, line
    assert _canonical(engine, gid)[1] is False  # nothing was decided
    with engine.db.session() as s:
        assert not s.scalars(select(AuditEvent).where(AuditEvent.who == "ana")).all()


def test_links_pages_through_with_offset_and_shows_each_link_id(group, cli_env):
    engine, gid, (a, b, c), _ = group
    first = _ok("links", "--limit", "1")
    assert first.startswith("3 links") and "[link " in first and first.count("[link ") == 1
    rest = json.loads(_ok("links", "--offset", "1", "--json"))
    whole = json.loads(_ok("links", "--json"))
    assert rest["count"] == 3 and [x["id"] for x in rest["data"]] == [x["id"] for x in whole["data"]][1:]
    assert f"[link {whole['data'][0]['id']}]" in first
    assert "offset must be 0.." in run("links", "--offset", "-1")
    assert "offset: 9223372036854775808 is beyond the store's 64-bit" in run("links", "--offset", str(2**63))


# -- page --------------------------------------------------------------------------------------------------------

@pytest.fixture()
def site(group):
    from nrtd_nlp.api.deps import get_engine
    from nrtd_nlp.api.main import create_app

    engine = group[0]
    web = create_app(engine=engine)
    web.dependency_overrides[get_engine] = lambda: engine
    with TestClient(web, base_url="http://127.0.0.1") as c:
        yield c, group


def test_groups_page_lists_and_shows_a_group_with_its_forms(site):
    c, (engine, gid, (a, b, c_id), lone) = site
    csrf = login(c, engine)
    assert 'href="/ui/groups"' in c.get("/ui/duplicates").text  # reachable from the duplicates view
    page = c.get("/ui/groups")
    assert page.status_code == 200 and f'href="/ui/groups/{gid}"' in page.text and "suggested" in page.text
    one = c.get(f"/ui/groups/{gid}")
    assert one.status_code == 200 and one.text.count('name="rec_ids"') == 3 and "same ask" in one.text
    assert one.text.count(f'action="/ui/groups/{gid}/canonical"') == 3
    assert one.text.count(f'name="csrf" value="{csrf}"') >= 5  # 3 canonical forms, the split form, sign-out
    assert c.get("/ui/groups/G999999").status_code == 404


def test_the_groups_page_has_50_groups_a_page(site):
    from nrtd_nlp.link.service import regroup
    from nrtd_nlp.store.models import Recommendation

    c, (engine, gid, members, lone) = site
    with engine.db.session() as s:  # 49 more pairs: 51 groups in all
        recs = [Recommendation(source="t", external_id=f"p{i}", text=f"pair {i}", text_hash=f"p{i}", language="en",
                               country="Utopia") for i in range(98)]
        s.add_all(recs)
        s.flush()
        for i in range(0, 98, 2):
            _link(s, recs[i].id, recs[i + 1].id)
        regroup(s)
    login(c, engine, role="reader", name="rex")
    first, last = c.get("/ui/groups").text, c.get("/ui/groups", params={"offset": 50}).text
    assert first.count('<a href="/ui/groups/') == 50 and 'href="/ui/groups?offset=50"' in first
    assert last.count('<a href="/ui/groups/') == 1 and 'href="/ui/groups?offset=0"' in last and "Next" not in last
    assert c.get("/ui/groups", params={"offset": -1}).status_code == 422


def test_a_group_split_apart_to_nothing_still_shows(site, cli_env):
    c, (engine, gid, (a, b, c_id), lone) = site
    _ok("group", "split", gid, b, "--reviewer", "ana")  # a-b and b-c unlinked: a and c are not linked either
    assert gid not in _groups(engine)
    assert "no members left" in _ok("group", "show", gid)
    login(c, engine, role="reader", name="rex")
    assert "no members left" in c.get(f"/ui/groups/{gid}").text and gid not in c.get("/ui/groups").text


def test_canonical_and_split_from_the_page(site):
    c, (engine, gid, (a, b, c_id), lone) = site
    csrf = login(c, engine)
    h = {"X-CSRF-Token": csrf, "Accept": "application/json"}
    ok = c.post(f"/ui/groups/{gid}/canonical", data={"rec_id": str(b)}, headers=h)
    assert ok.status_code == 200 and ok.json() == {"group_id": gid, "canonical": b, "confirmed": True}
    page = c.get(f"/ui/groups/{gid}").text
    assert page.count(f'action="/ui/groups/{gid}/canonical"') == 2 and "disabled" in page  # b stays
    refused = c.post(f"/ui/groups/{gid}/split", data={"rec_ids": [str(b)]}, headers=h)
    assert refused.status_code == 422 and refused.json()["detail"]["field"] == "rec_ids"
    assert c.post(f"/ui/groups/{gid}/split", data={}, headers=h).status_code == 422  # nothing ticked
    stranger = c.post(f"/ui/groups/{gid}/canonical", data={"rec_id": str(lone)}, headers=h)
    assert stranger.status_code == 422 and stranger.json()["detail"]["field"] == "rec_id"
    # a plain form post (no JavaScript): redirected back to the page it came from
    form = c.post(f"/ui/groups/{gid}/split", data={"rec_ids": [str(c_id)], "csrf": csrf},
                  headers={"Referer": f"http://127.0.0.1/ui/groups/{gid}"}, follow_redirects=False)
    assert form.status_code == 303 and form.headers["location"] == f"http://127.0.0.1/ui/groups/{gid}"
    assert {a, b} in _groups(engine).values()
    bad = c.post(f"/ui/groups/{gid}/canonical", data={"rec_id": str(c_id), "csrf": csrf})  # no longer a member
    assert bad.status_code == 422 and "is not a member" in bad.text and "That did not work" in bad.text


def test_a_reader_cannot_post_and_every_post_needs_the_csrf_token(site):
    c, (engine, gid, (a, b, c_id), lone) = site
    csrf = login(c, engine, role="reader", name="rex")
    page = c.get(f"/ui/groups/{gid}")
    assert page.status_code == 200 and 'name="rec_ids"' not in page.text and "/canonical" not in page.text
    h = {"X-CSRF-Token": csrf, "Accept": "application/json"}
    assert c.post(f"/ui/groups/{gid}/canonical", data={"rec_id": str(b)}, headers=h).status_code == 403
    assert c.post(f"/ui/groups/{gid}/split", data={"rec_ids": [str(c_id)]}, headers=h).status_code == 403
    csrf = login(c, engine, name="rita")  # a reviewer, without the token
    j = {"Accept": "application/json"}
    assert c.post(f"/ui/groups/{gid}/canonical", data={"rec_id": str(b)}, headers=j).status_code == 403
    assert c.post(f"/ui/groups/{gid}/split", data={"rec_ids": [str(c_id)], "csrf": "forged"},
                  headers=j).status_code == 403
    assert _canonical(engine, gid)[1] is False and {a, b, c_id} in _groups(engine).values()


def test_a_bad_query_parameter_on_a_page_gets_the_error_page_not_json(site):
    c, (engine, gid, members, lone) = site
    login(c, engine)
    page = c.get("/ui/duplicates?kind=bogus", headers={"Accept": "text/html"})
    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
    assert "That did not work" in page.text and "kind:" in page.text and 'href="/ui/groups"' in page.text
    api = c.get("/ui/duplicates?kind=bogus", headers={"Accept": "application/json"})
    assert api.status_code == 422 and api.json()["detail"]["field"] == "kind"
    c.cookies.clear()  # refused before the session is read: the error page, without the signed-in navigation
    anon = c.get("/ui/groups?offset=-1", headers={"Accept": "text/html"}, follow_redirects=False)
    assert anon.status_code in (303, 422) and "rita" not in anon.text


# -- the import summary --------------------------------------------------------------------------------------------

def test_the_import_summary_says_why_linking_was_skipped_and_counts_orphaned_sub_items(cli_env, tmp_path):
    items = ("Adopt a law on violence against women", "Ensure that victims have access to shelters",
             "Train police officers on the handling of complaints")

    def para(n: int) -> str:
        parts = "; ".join(f"({'abc'[i]}) {t}" for i, t in enumerate(items[:n]))
        return ("id,text,mechanism,country\n"
                f'tb-1,"The Committee recommends that the State party: {parts}.",CEDAW,Chile\n')

    p = tmp_path / "tb.csv"
    p.write_text(para(3))
    first = _ok("import", p, "--no-embed").splitlines()
    assert first[1:] == ["linking skipped: --no-embed (run nrtd embed, then nrtd link)"]
    p.write_text(para(2))  # the paragraph lost its item (c): that sub-item is removed
    out = _ok("import", p, "--no-embed")
    assert "orphaned sub-items (no longer in their changed paragraph): 1 removed, 0 kept" in out
    assert json.loads(_ok("import", p, "--no-embed", "--json"))["orphaned_sub_items"] is None  # nothing changed


def test_the_import_notes_name_each_reason_linking_did_not_run():
    from types import SimpleNamespace

    from nrtd_nlp.cli import _import_notes

    def res(links, orphans=None):
        return SimpleNamespace(links=links, orphaned_sub_items=orphans)

    assert _import_notes(res({"skipped": "no link model for embedder x\n(retrain)"}), True, True) == [
        "linking skipped: no link model for embedder x"]
    assert _import_notes(res(None), True, False) == ["linking skipped: NRTD_LINK_ON_IMPORT is off (run nrtd link)"]
    assert _import_notes(res(None), True, True) == ["linking skipped: no new or changed records"]
    assert _import_notes(res({"duplicate": 1}, {"removed": [], "kept_with_human_decisions": [7, 9]}), True, True) \
        == ["orphaned sub-items (no longer in their changed paragraph): 0 removed, 2 kept because a person decided "
            "on them (#7, #9)"]
    assert _import_notes(res({"duplicate": 0}, {"removed": [], "kept_with_human_decisions": []}), True, True) == []
