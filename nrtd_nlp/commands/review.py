"""``nrtd keys create|list|revoke`` and ``nrtd export``: thin layers over services.auth and services.export."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

keys_app = typer.Typer(no_args_is_help=True, help="API keys with roles: reader, reviewer, admin.")


def register(app: typer.Typer) -> None:
    from ..cli import _engine, _print_json, guarded

    @keys_app.command("create")
    @guarded
    def keys_create(role: str = typer.Option(..., help="reader | reviewer | admin"),
                    name: str = typer.Option(..., help="who holds it (recorded on every decision)"),
                    as_json: bool = typer.Option(False, "--json")):
        """Create a key and print it once (only its hash is stored)."""
        from ..services.auth import create_key

        res = create_key(_engine(), name, role, actor="cli")
        if as_json:
            _print_json(res)
        else:
            typer.echo(res["key"])
            typer.echo(f"key {res['id']} ({res['name']}, {res['role']}): store it now, it is not shown again",
                       err=True)

    @keys_app.command("list")
    @guarded
    def keys_list(as_json: bool = typer.Option(False, "--json")):
        """List keys (never their secrets)."""
        from ..services.auth import list_keys

        rows = list_keys(_engine())
        if as_json:
            _print_json(rows)
            return
        for k in rows:
            typer.echo(f"{k['id']:4} {k['prefix']} {k['role']:8} {k['name']:24} {k['created_at'][:19]}"
                       + ("  revoked" if k["revoked"] else ""))

    @keys_app.command("revoke")
    @guarded
    def keys_revoke(key: str = typer.Argument(..., help="key id or prefix")):
        """Revoke a key: its API calls and page sessions stop at once."""
        from ..services.auth import revoke_key

        res = revoke_key(_engine(), key, actor="cli")
        typer.echo(f"revoked key {res['id']} ({res['name']})")

    app.add_typer(keys_app, name="keys")

    @app.command("export")
    @guarded
    def export(fmt: Optional[str] = typer.Option(None, "--format", help="xlsx | csv (default: from --out's "
                                                 "ending, else xlsx)"),
               out: Path = typer.Option(..., "--out", help="file to write"),
               language: Optional[str] = None, mechanism: Optional[str] = None, country: Optional[str] = None,
               source: Optional[str] = None, cycle: Optional[str] = None, session: Optional[str] = None,
               response: Optional[str] = None, follow_up_status: Optional[str] = None,
               recommending_state: Optional[str] = None,
               names: Optional[str] = typer.Option(None, "--names", help="a language (es, fr…): label names "
                                                   "instead of ids in the tag columns")):
        """Write the implementation matrix: reviewed values win over suggestions, and say so."""
        from ..services.export import check_out_path, export_matrix, write_out
        from ..services.search import Filters

        check_out_path(out)  # before the (long) export, not after it
        ending = out.suffix.lower().lstrip(".")
        if fmt is None:
            fmt = ending if ending in ("csv", "xlsx") else "xlsx"
        elif ending in ("csv", "xlsx") and ending != fmt:  # a spreadsheet program would refuse the file
            from ..errors import InputError

            raise InputError(f"--out ends in .{ending} but --format is {fmt}: make them agree", field="format")
        f = Filters(language=language, mechanism=mechanism, country=country, source=source, cycle=cycle,
                    session=session, response=response, follow_up_status=follow_up_status,
                    recommending_state=recommending_state)
        data, n = export_matrix(_engine(), fmt, filters=f, names=names)
        write_out(out, data)
        typer.echo(f"wrote {n} recommendations to {out} ({fmt})")
