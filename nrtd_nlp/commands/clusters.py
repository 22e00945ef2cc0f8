"""``nrtd recluster``, ``nrtd clusters``, ``nrtd cluster show|confirm|rename|merge|split|move``,
``nrtd job``: thin layers over services.clusters and services.jobs."""

from __future__ import annotations

from typing import Optional

import typer

cluster_app = typer.Typer(no_args_is_help=True, help="Curate thematic clusters (audited; curation pins a cluster).")


def _who():
    """Who decides a curation (audited): ``--reviewer`` like the other decision commands, ``--who`` as before."""
    return typer.Option(..., "--reviewer", "--who", help="who decides (audited)")


def register(app: typer.Typer) -> None:
    from ..cli import _engine, _print_json, _short, guarded

    @app.command()
    @guarded
    def recluster(clusters: Optional[int] = typer.Option(None, "--clusters", help="target number of clusters"),
                  min_size: Optional[int] = typer.Option(None, "--min-size", help="smallest cluster HDBSCAN keeps"),
                  seed: Optional[int] = typer.Option(None, help="seed of the randomised PCA"),
                  max_unclustered: Optional[float] = typer.Option(
                      None, "--max-unclustered", help="share of records left unclustered at most (default 0.10)"),
                  resume: Optional[str] = typer.Option(None, help="carry on this killed or failed job"),
                  who: str = typer.Option("cli", help="who runs it (audited)"),
                  as_json: bool = typer.Option(False, "--json")):
        """Re-cluster every embedded recommendation (pinned clusters stay as they are; ids are kept)."""
        import sys

        from ..services.clusters import recluster as do_recluster
        from ..services.jobs import resume_job

        def report(stage: str, fraction: float) -> None:
            if sys.stderr.isatty():
                typer.echo(f"\r{stage:10} {fraction:4.0%}", err=True, nl=stage == "done")

        from ..errors import InputError

        if not who.strip():
            raise InputError("who must name a person or a process (it is audited)", field="who")
        engine = _engine()
        if resume:
            job = resume_job(engine, resume, on_progress=report)
        else:
            job = do_recluster(engine, {"n_clusters": clusters, "min_cluster_size": min_size, "seed": seed,
                                        "max_unclustered": max_unclustered},
                               who=who, on_progress=report)
        if as_json:
            _print_json(job)
            return
        r = job["result"]
        typer.echo(f"job {job['id']}: {r['clusters']} clusters over {r['records']} records, "
                   f"{r['unclustered']} unclustered; ids kept {r['kept_ids']}, new {r['new_ids']}, "
                   f"retired {r['retired']}; {r['pinned_untouched']} pinned untouched ({r['seconds']}s"
                   + (f", resumed after {r['resumed_from']}" if r.get("resumed_from") else "") + ")")
        if r.get("hint"):
            typer.echo(f"hint: {r['hint']}")

    @app.command("clusters")
    @guarded
    def clusters_(status: str = typer.Option("active"), limit: int = typer.Option(50),
                  q: Optional[str] = typer.Option(None, help="label contains"),
                  as_json: bool = typer.Option(False, "--json")):
        """List clusters, largest first, with their label and most typical member."""
        from ..services.clusters import list_clusters

        rows, total = list_clusters(_engine(), status=status, q=q, limit=limit)
        if as_json:
            _print_json({"data": rows, "count": total})
            return
        typer.echo(f"{total} {status} clusters")
        for c in rows:
            typer.echo(f"{c['id']} {c['size']:6} {'*' if c['pinned'] else ' '} {c['label'] or ''}  "
                       f"[{', '.join(f'{k} {v}' for k, v in c['languages'].items())}]")
            if c["typical"]:
                typer.echo(f"       e.g. {_short(c['typical']['text'], 100)}")

    @cluster_app.command("show")
    @guarded
    def show(cluster_id: str, limit: int = typer.Option(20), as_json: bool = typer.Option(False, "--json")):
        """One cluster: labels per language, keywords, members."""
        from ..services.clusters import get_cluster

        c = get_cluster(_engine(), cluster_id, member_limit=limit)
        if as_json:
            _print_json(c)
            return
        typer.echo(f"{c['id']} ({c['status']}{', pinned' if c['pinned'] else ''}): {c['label']} - {c['size']} members")
        for lang, kws in c["keywords"].items():
            typer.echo(f"  {lang}: {', '.join(kws)}")
        for m in c["members"]:
            score = f"{m['score']:.2f}" if m["score"] is not None else "  - "
            typer.echo(f"  {score} {m['by']:5} #{m['id']} [{m['language']}] {_short(m['text'], 90)}")

    @cluster_app.command("confirm")
    @guarded
    def confirm(cluster_id: str, who: str = _who()):
        """Confirm a cluster as it is (pins it; members become human-confirmed)."""
        from ..services.clusters import confirm_cluster

        c = confirm_cluster(_engine(), cluster_id, who)
        typer.echo(f"{c['id']} confirmed ({c['size']} members)")

    @cluster_app.command("rename")
    @guarded
    def rename(cluster_id: str, label: str, who: str = _who()):
        """Give a cluster a name (pins it)."""
        from ..services.clusters import rename_cluster

        c = rename_cluster(_engine(), cluster_id, label, who)
        typer.echo(f"{c['id']} is now {c['label']!r}")

    @cluster_app.command("merge")
    @guarded
    def merge(cluster_ids: list[str] = typer.Argument(..., help="the first keeps its id"),
              who: str = _who(), label: Optional[str] = typer.Option(None)):
        """Merge clusters into the first one (pins it; the others become merged)."""
        from ..services.clusters import merge_clusters

        c = merge_clusters(_engine(), cluster_ids, who, label=label)
        typer.echo(f"merged into {c['id']}: {c['size']} members, {c['label']!r}")

    @cluster_app.command("split")
    @guarded
    def split(cluster_id: str, who: str = _who(),
              k: Optional[int] = typer.Option(None, help="number of parts (default: found by HDBSCAN)")):
        """Split a cluster by sub-clustering its members (the parts are pinned)."""
        from ..services.clusters import split_cluster

        parts = split_cluster(_engine(), cluster_id, who, k=k)
        for c in parts:
            typer.echo(f"{c['id']} {c['size']:5} {c['label']}")

    @cluster_app.command("move")
    @guarded
    def move(rec_id: int, to_cluster: str, who: str = _who(),
             from_cluster: Optional[str] = typer.Option(None, "--from", help="the cluster you saw it in (\"\" for "
                                                        "none): refused if it has moved since")):
        """Move a recommendation into another cluster (pins the target)."""
        from ..services.clusters import move_member

        r = move_member(_engine(), rec_id, to_cluster, who, expected_from=from_cluster)
        typer.echo(f"#{rec_id}: {', '.join(r['from']) or 'no cluster'} -> {r['to']}")

    @app.command("job")
    @guarded
    def job(job_id: str, as_json: bool = typer.Option(False, "--json")):
        """Status and progress of a batch job."""
        from ..services.jobs import get_job

        j = get_job(_engine(), job_id)
        if as_json:
            _print_json(j)
            return
        typer.echo(f"{j['id']} {j['kind']} {j['status']} {j['progress']:.0%} stage={j['stage']}"
                   + (f" error={j['error']}" if j["error"] else ""))

    app.add_typer(cluster_app, name="cluster")
