"""``nrtd institutions load|list``, ``nrtd assign``, ``nrtd unassign``, ``nrtd suggest-institutions``:
thin layers over services.institutions."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

institutions_app = typer.Typer(no_args_is_help=True,
                               help="Responsible institutions: the editable mandate file (institution -> themes, keywords).")


def register(app: typer.Typer) -> None:
    from ..cli import _engine, _print_json, _short, guarded

    @institutions_app.command("load")
    @guarded
    def inst_load(file: Optional[Path] = typer.Argument(None, help="mandate CSV (default: the shipped template)"),
                  country: Optional[str] = typer.Option(None, help="these institutions belong to this State"),
                  as_json: bool = typer.Option(False, "--json")):
        """Upsert institutions from a mandate file (idempotent: loading twice changes nothing). Institutions of
        the file's countries that it no longer lists are retired: no longer suggested or assigned, their past
        assignments and reviews kept. A changed id is a retired institution plus a new one."""
        from ..services.institutions import load_institutions

        res = load_institutions(_engine(), file, country=country, actor="cli")
        if as_json:
            _print_json(res)
            return
        typer.echo(f"{res['file']}: {res['institutions']} institutions, {res['created']} new, "
                   f"{res['updated']} updated, {res['unchanged']} unchanged, {res['restored']} restored, "
                   f"{len(res['retired'])} retired")
        for x in res["retired"]:
            typer.echo(f"  retired (not in the file): {x['key']} {x['name']}"
                       f"{' (' + x['country'] + ')' if x['country'] else ''}; kept: {x['assignments']} "
                       f"assignments, {x['reviews']} accepted or added reviews")
        for x in res["rekeyed"]:
            typer.echo(f"  {x['old']} -> {x['new']} ({x['name']}): the same name under another id, which is another "
                       f"institution to the store; the decisions on {x['old']} stay with it (retired) and are not "
                       f"carried to {x['new']}")

    @institutions_app.command("list")
    @guarded
    def inst_list(country: Optional[str] = typer.Option(None), as_json: bool = typer.Option(False, "--json")):
        """List institutions with their themes; retired ones (no longer in the mandate file) are marked."""
        from ..services.institutions import list_institutions

        rows = list_institutions(_engine(), country=country)
        if as_json:
            _print_json({"data": rows, "count": len(rows)})
            return
        if not rows:
            typer.echo("no institutions: run `nrtd institutions load`")
        for r in rows:
            typer.echo(f"{r['id']:4} {r['key']:24} {r['name']}{' (' + r['country'] + ')' if r['country'] else ''}"
                       f"{'  [retired ' + r['retired_at'][:10] + ']' if r['retired'] else ''}"
                       f"  themes: {_short(', '.join(r['themes']), 70)}")

    app.add_typer(institutions_app, name="institutions")

    @app.command("assign")
    @guarded
    def assign_cmd(rec_id: int = typer.Argument(...), institution: str = typer.Argument(..., help="key, id or name"),
                   reviewer: str = typer.Option(..., help="who decides (audited)"),
                   comment: Optional[str] = typer.Option(None), as_json: bool = typer.Option(False, "--json")):
        """Make an institution responsible for a recommendation (a human decision; the model learns from it)."""
        from ..services.institutions import assign

        res = assign(_engine(), rec_id, institution, reviewer, comment=comment)
        _print_json(res) if as_json else typer.echo(f"#{rec_id} -> {res['name']} ({res['status']})")

    @app.command("unassign")
    @guarded
    def unassign_cmd(rec_id: int = typer.Argument(...), institution: str = typer.Argument(...),
                     reviewer: str = typer.Option(...), comment: Optional[str] = typer.Option(None),
                     as_json: bool = typer.Option(False, "--json")):
        """Remove a person's assignment (audited)."""
        from ..services.institutions import unassign

        res = unassign(_engine(), rec_id, institution, reviewer, comment=comment)
        _print_json(res) if as_json else typer.echo(f"#{rec_id} -/-> {res['name']} (removed)")

    @app.command("suggest-institutions")
    @guarded
    def suggest_cmd(limit: Optional[int] = typer.Option(None, help="at most this many records"),
                    force: bool = typer.Option(False, "--force", help="also records with current suggestions"),
                    top_k: int = typer.Option(3, "--top-k", min=1, max=10),
                    threshold: float = typer.Option(0.5, min=0.0, max=1.0, help="abstain below this score"),
                    as_json: bool = typer.Option(False, "--json")):
        """Suggest responsible institutions (cold start from mandates; learns from confirmed assignments)."""
        from ..services.institutions import suggest_institutions

        res = suggest_institutions(_engine(), limit=limit, force=force, top_k=top_k, threshold=threshold)
        if as_json:
            _print_json(res)
            return
        typer.echo(f"{res['records']} records: {res['suggestions']} suggestions, {res['abstained']} abstained "
                   f"(nothing >= {res['threshold']}); score = {res['score_kind']}; "
                   f"{res['confirmed_records']} confirmed records, linear heads: "
                   f"{', '.join(res['linear_heads']) or 'none'} ({res['agent']}, {res['seconds']}s)")
