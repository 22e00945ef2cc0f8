"""``nrtd groups`` and ``nrtd group show|split|canonical``: duplicate groups, over services.links
(list_groups, group_detail) and link.decisions (split_group, set_canonical)."""

from __future__ import annotations

import typer

group_app = typer.Typer(no_args_is_help=True, help="Duplicate groups: split members off, choose the canonical one "
                                                   "(audited; re-runs keep a person's decisions).")

MAX_GROUPS = 500  # the most groups one listing returns (GET /v1/duplicates has the same bound)


def _status(g: dict) -> str:
    return "confirmed" if g["confirmed"] else "suggested"


def register(app: typer.Typer) -> None:
    from ..cli import _engine, _print_json, _short, guarded

    @app.command("groups")
    @guarded
    def groups_(limit: int = typer.Option(50, help=f"1..{MAX_GROUPS}"), offset: int = typer.Option(0),
                as_json: bool = typer.Option(False, "--json")):
        """List duplicate groups: id, canonical member, status, member count."""
        from ..errors import InputError
        from ..services.links import list_groups
        from ..store.models import MAX_INT

        if not 1 <= limit <= MAX_GROUPS:
            raise InputError(f"limit must be 1..{MAX_GROUPS}", field="limit")
        if not 0 <= offset <= MAX_INT:
            raise InputError("offset must be 0 or more", field="offset")
        rows, total = list_groups(_engine(), limit=limit, offset=offset)
        if as_json:
            _print_json({"data": rows, "count": total})
            return
        typer.echo(f"{total} duplicate groups")
        for g in rows:
            c = g["canonical"]
            head = f"#{c['id']} [{c['language']}] {_short(c['text'], 70)}" if c else "no canonical member"
            typer.echo(f"{g['id']} {_status(g):9} {len(g['members']):3} members  {head}")

    @group_app.command("show")
    @guarded
    def show(group_id: str, as_json: bool = typer.Option(False, "--json")):
        """One group: its members with their texts (canonical first) and the links joining them."""
        from ..services.links import group_detail

        g = group_detail(_engine(), group_id)
        if as_json:
            _print_json(g)
            return
        canonical = g["canonical"]["id"] if g["canonical"] else None
        typer.echo(f"{g['id']} ({_status(g)}): {len(g['members'])} members"
                   + (f", canonical #{canonical}" if canonical is not None else ""))
        if not g["members"]:
            typer.echo("  no members left: its links were unlinked or split apart")
        for m in g["members"]:
            mark = "*" if m["id"] == canonical else " "
            where = " ".join(str(x) for x in (m["mechanism"], m["country"]) if x)
            typer.echo(f"{mark} #{m['id']} [{m['language']}] {where}" + (f" cycle {m['cycle']}" if m["cycle"] else ""))
            typer.echo(f"    {m['text']}")
        for x in g["links"]:
            score = f"{x['score']:.2f}" if x["score"] is not None else "  - "
            typer.echo(f"  link {x['id']}: #{x['a']} <-> #{x['b']} {x['kind']} {score} {x['status']}  "
                       f"{x['explanation'] or ''}")

    @group_app.command("split")
    @guarded
    def split(group_id: str, rec_ids: list[int] = typer.Argument(..., help="members to take out of the group"),
              reviewer: str = typer.Option(..., help="who decides (audited)"),
              as_json: bool = typer.Option(False, "--json")):
        """Take members out of a group: every link between them and the rest is unlinked (never re-suggested)."""
        from ..link.decisions import split_group

        res = split_group(_engine(), group_id, rec_ids, reviewer)
        if as_json:
            _print_json(res)
            return
        off = ", ".join(f"#{i}" for i in sorted(set(rec_ids)))
        cut = res["unlinked"]
        typer.echo(f"{group_id}: split off {off}; unlinked link{'s' if len(cut) != 1 else ''} "
                   f"{', '.join(map(str, cut))}; {res['groups']} groups in the store")

    @group_app.command("canonical")
    @guarded
    def canonical(group_id: str, rec_id: int = typer.Argument(..., help="the member to keep as canonical"),
                  reviewer: str = typer.Option(..., help="who decides (audited)"),
                  as_json: bool = typer.Option(False, "--json")):
        """Choose a group's canonical member (confirms the group; re-runs keep the choice)."""
        from ..link.decisions import set_canonical

        res = set_canonical(_engine(), group_id, rec_id, reviewer)
        _print_json(res) if as_json else typer.echo(f"{group_id}: canonical member is #{res['canonical']} (confirmed)")

    app.add_typer(group_app, name="group")
