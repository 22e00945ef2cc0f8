"""``nrtd review sessions|queue|accept|reject|add|revert|bulk|history``: people's decisions on tag and institution
suggestions from the command line, over services.reviews and services.review_sessions (what the review page and
``/v1/reviews`` do). Every decision names its reviewer and is audited; a decided slot is changed only by naming
the decision it replaces (``--replaces``), so a script never overwrites a person's decision by accident."""

from __future__ import annotations

from typing import Optional

import typer

review_app = typer.Typer(no_args_is_help=True, help="Accept, reject or add tags and institutions; the review queue "
                                                    "(most uncertain first); undo (audited).")


def _check_page(limit: int, offset: int, most: int = 1000) -> None:
    from ..errors import InputError
    from ..store.models import MAX_INT

    if not 1 <= limit <= most:
        raise InputError(f"limit must be 1..{most}", field="limit")
    if not 0 <= offset <= MAX_INT:
        raise InputError(f"offset must be 0..{MAX_INT}", field="offset")


def _decided(res: dict) -> str:
    return (f"review {res['id']}: {res['decision']} {res['task']}={res['value']} on recommendation {res['rec_id']} "
            f"by {res['reviewer']}")


def register(app: typer.Typer) -> None:
    from ..cli import _engine, _print_json, _short, guarded

    @review_app.command("sessions")
    @guarded
    def sessions(as_json: bool = typer.Option(False, "--json")):
        """Review sessions (mechanism + cycle/session, or mechanism + year) with their sizes."""
        from ..services.review_sessions import list_sessions

        rows = list_sessions(_engine())
        if as_json:
            _print_json({"data": rows, "count": len(rows)})
            return
        for r in rows:
            typer.echo(f"{r['count']:6}  {r['label']:40}  {r['key']}")

    @review_app.command("queue")
    @guarded
    def queue_(session: str = typer.Argument(..., help="a session key (nrtd review sessions)"),
               limit: int = typer.Option(20, help="1..1000"), offset: int = typer.Option(0),
               as_json: bool = typer.Option(False, "--json")):
        """A session's recommendations, most uncertain first, with each suggestion's id, score and decision."""
        from ..services.review_sessions import queue

        _check_page(limit, offset)
        res = queue(_engine(), session, limit=limit, offset=offset)
        if as_json:
            _print_json(res)
            return
        typer.echo(f"{res['label']}: {res['count']} recommendations, most uncertain first")
        for it in res["data"]:
            typer.echo(f"#{it['id']} [{it['language']}] {_short(it['text'], 100)}  ({it['pending']} undecided)")
            for x in it["slots"]:
                rv = x["review"]
                state = f"{rv['decision']} by {rv['reviewer']} (review {rv['id']})" if rv else "undecided"
                sid = f"suggestion {x['suggestion_id']}" if x.get("suggestion_id") else "added"
                score = f"{x['score']:.2f}" if x["score"] is not None else "  - "
                name = f" ({x['name']})" if x.get("name") and x["name"] != x["value"] else ""
                typer.echo(f"    {score} {x['task']}={x['value']}{name}  [{sid}]  {state}")

    def _decide(decision: str, suggestion_id: Optional[int], rec_id: Optional[int], task: Optional[str],
                value: Optional[str], reviewer: str, replaces: Optional[int], comment: Optional[str], as_json: bool):
        from ..services.reviews import decide

        res = decide(_engine(), decision=decision, reviewer=reviewer, suggestion_id=suggestion_id, rec_id=rec_id,
                     task=task, value=value, expected_review_id=replaces, comment=comment)
        _print_json(res) if as_json else typer.echo(_decided(res))

    replaces_help = "the slot's current review id, to change a decision already made (else 409 when decided)"

    @review_app.command("accept")
    @guarded
    def accept(suggestion_id: int = typer.Argument(..., help="the suggestion's id (nrtd review queue)"),
               reviewer: str = typer.Option(..., help="who decides (audited)"),
               replaces: Optional[int] = typer.Option(None, help=replaces_help),
               comment: Optional[str] = typer.Option(None), as_json: bool = typer.Option(False, "--json")):
        """Accept a suggestion: the value is confirmed and teaches the next nrtd retrain."""
        _decide("accept", suggestion_id, None, None, None, reviewer, replaces, comment, as_json)

    @review_app.command("reject")
    @guarded
    def reject(suggestion_id: int = typer.Argument(..., help="the suggestion's id (nrtd review queue)"),
               reviewer: str = typer.Option(..., help="who decides (audited)"),
               replaces: Optional[int] = typer.Option(None, help=replaces_help),
               comment: Optional[str] = typer.Option(None), as_json: bool = typer.Option(False, "--json")):
        """Reject a suggestion: it stays stored, marked rejected; re-runs never bring it back."""
        _decide("reject", suggestion_id, None, None, None, reviewer, replaces, comment, as_json)

    @review_app.command("add")
    @guarded
    def add(rec_id: int = typer.Argument(...), task: str = typer.Argument(..., help="e.g. sdg_goal, upr_issue"),
            value: str = typer.Argument(..., help="a label id or name of the task, or an institution key"),
            reviewer: str = typer.Option(..., help="who decides (audited)"),
            replaces: Optional[int] = typer.Option(None, help=replaces_help),
            comment: Optional[str] = typer.Option(None), as_json: bool = typer.Option(False, "--json")):
        """Add a value the machine did not suggest (a label of the task, or a known institution)."""
        _decide("add", None, rec_id, task, value, reviewer, replaces, comment, as_json)

    @review_app.command("revert")
    @guarded
    def revert(review_ids: list[int] = typer.Argument(..., help="review ids (all or nothing)"),
               reviewer: str = typer.Option(..., help="who undoes (audited)"),
               as_json: bool = typer.Option(False, "--json")):
        """Undo decisions: each slot falls back to the decision before, else to the suggestion (kept, flagged)."""
        from ..services.reviews import revert as revert_one, revert_many

        engine = _engine()
        res = revert_one(engine, review_ids[0], reviewer) if len(review_ids) == 1 else \
            revert_many(engine, review_ids, reviewer)
        if as_json:
            _print_json(res)
            return
        ids = sorted(set(review_ids))  # a repeated id is one revert
        typer.echo(f"reverted {len(ids)} decision{'s' if len(ids) != 1 else ''}: {', '.join(map(str, ids))}")

    @review_app.command("bulk")
    @guarded
    def bulk(decision: str = typer.Option("accept", help="accept | reject"),
             min_score: float = typer.Option(0.9, "--min-score"), max_score: float = typer.Option(1.0, "--max-score"),
             session: Optional[str] = typer.Option(None, help="a session key (nrtd review sessions)"),
             cluster: Optional[str] = typer.Option(None, help="a cluster id"),
             task: Optional[str] = typer.Option(None), reviewer: str = typer.Option(..., help="who decides (audited)"),
             as_json: bool = typer.Option(False, "--json")):
        """Accept (or reject) every undecided suggestion with a score in range in a session, cluster and/or task;
        decided slots are left alone. Undo with nrtd review revert and the ids it prints (--json)."""
        from ..services.reviews import bulk_decide

        res = bulk_decide(_engine(), decision=decision, reviewer=reviewer, min_score=min_score, max_score=max_score,
                          task=task, session=session, cluster_id=cluster)
        if as_json:
            _print_json(res)
            return
        more = (f", {res['skipped_not_best']} not the best value of a one-value task (left undecided)"
                if res.get("skipped_not_best") else "")
        typer.echo(f"{res['decided']} {decision}ed, {res['skipped_decided']} already decided and left alone{more}")

    @review_app.command("history")
    @guarded
    def history(rec_id: Optional[int] = typer.Option(None, "--rec"), task: Optional[str] = None,
                reviewer: Optional[str] = None, limit: int = typer.Option(50, help="1..1000"),
                offset: int = typer.Option(0), as_json: bool = typer.Option(False, "--json")):
        """Decisions, newest first, reverted ones included and marked."""
        from ..services.reviews import list_reviews

        _check_page(limit, offset)
        rows, total = list_reviews(_engine(), rec_id=rec_id, task=task, reviewer=reviewer, limit=limit, offset=offset)
        if as_json:
            _print_json({"data": rows, "count": total})
            return
        typer.echo(f"{total} decisions")
        for r in rows:
            gone = f"  (reverted by {r['reverted_by']})" if r["reverted"] else ""
            typer.echo(f"{r['at'][:19]} {_decided(r)}{gone}")

    app.add_typer(review_app, name="review")

    @app.command("follow-up")
    @guarded
    def follow_up(status: str = typer.Argument(..., help="open | in_progress | partially_implemented | implemented "
                                                         "| not_implemented"),
                  rec: Optional[list[int]] = typer.Option(None, "--rec", help="a recommendation id (repeatable)"),
                  group: Optional[str] = typer.Option(None, "--group", help="a duplicate group: all its members"),
                  reviewer: str = typer.Option(..., help="who decides (audited)"),
                  expected: Optional[str] = typer.Option(None, help="the status you read: refused if it changed"),
                  note: Optional[str] = typer.Option(None), as_json: bool = typer.Option(False, "--json")):
        """Set the follow-up status of recommendations, or of every member of a duplicate group (audited;
        the export and GET /v1/recommendations?follow_up_status= show it)."""
        from ..services.follow_up import set_status

        res = set_status(_engine(), status, reviewer, rec_ids=list(rec) if rec else None, group_id=group,
                         expected=expected, note=note)
        if as_json:
            _print_json(res)
            return
        where = f"group {group}" if group else "the recommendations named"
        typer.echo(f"{status}: {len(res['updated'])} of {where} updated, {len(res['unchanged'])} already {status}")
