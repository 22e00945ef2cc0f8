"""``nrtd tag | suggest | train | retrain | evaluate | taggers``: thin layers over services.tags and
services.tag_training."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def _split(v: Optional[str]) -> Optional[list[str]]:
    return [x.strip() for x in v.split(",") if x.strip()] if v else None


def register(app: typer.Typer) -> None:
    from ..cli import _engine, _print_json, _progress, guarded

    @app.command()
    @guarded
    def tag(texts: List[str] = typer.Argument(..., help="one or more recommendation texts"),
            tasks: Optional[str] = typer.Option(None, "--tasks", help="comma-separated tasks (default: all)"),
            top_k: int = typer.Option(3, "--top-k"),
            as_json: bool = typer.Option(False, "--json")):
        """Tag texts without storing anything (what POST /v1/tag does)."""
        from ..services.tags import tag_texts

        res = tag_texts(_engine(), list(texts), tasks=_split(tasks), top_k=top_k)
        if as_json:
            _print_json(res)
            return
        for text, r in zip(texts, res):
            typer.echo(f"{text[:100]}  [{r['language']}]")
            for task, t in r["tags"].items():
                shown = ", ".join(f"{x['name'][:40]} {x['score']:.2f}{'' if x['asserted'] else '?'}" for x in t["tags"])
                typer.echo(f"  {task:16} {'not sure: ' if t['abstain'] else ''}{shown}")

    @app.command()
    @guarded
    def suggest(tasks: Optional[str] = typer.Option(None, "--tasks", help="comma-separated tasks (default: all)"),
                top_k: int = typer.Option(3, "--top-k"),
                as_json: bool = typer.Option(False, "--json")):
        """Tag every embedded recommendation and store the tags as suggestions (reviews are kept)."""
        from ..services.tags import suggest_records

        bar, cb = _progress()
        with bar:
            res = suggest_records(_engine(), None, tasks=_split(tasks), top_k=top_k, progress=cb)
        if as_json:
            _print_json(res)
        else:
            typer.echo(f"tagged {res['records']} records: " +
                       ", ".join(f"{t} {n}" for t, n in res["suggestions"].items()))

    @app.command()
    @guarded
    def taggers(as_json: bool = typer.Option(False, "--json")):
        """The tagger of each task: model@version, kind, embedder, validation figures."""
        from ..services.tags import describe_taggers

        out = describe_taggers(_engine())
        if as_json:
            _print_json(out)
            return
        for x in out:
            typer.echo(f"{x['task']:16} {x['model']:44} {x['kind']:10} labels={x['labels']:<4} "
                       f"{'calibrated' if x['calibrated'] else 'uncalibrated relevance'}")

    @app.command()
    @guarded
    def train(task: str = typer.Argument(..., help="e.g. upr_issue, action_category, sdg_goal, uhri_theme"),
              data: Path = typer.Option(..., "--data", help="annotated file (UPR Info, UHRI, thematic list, CSV…)"),
              labels_column: Optional[str] = typer.Option(None, "--labels-column",
                                                          help="annotation column of a generic file"),
              exclude: Optional[str] = typer.Option(None, help="hold records out entirely, e.g. session=17,18"),
              val: Optional[str] = typer.Option(None, help="validation records, e.g. session=15,16 "
                                                           "(default: a seeded random 15 %)"),
              languages: Optional[str] = typer.Option(None, help="train on these languages only, e.g. en"),
              out: Optional[Path] = typer.Option(None, help="bundle folder (default: $NRTD_HOME/models/taggers/TASK)"),
              as_json: bool = typer.Option(False, "--json")):
        """Train a tagger on annotated data; thresholds and calibration are tuned on the validation part."""
        from ..services.tag_training import train_task

        bar, cb = _progress()
        with bar:
            res = train_task(_engine(), task, data, exclude=exclude, val=val, languages=_split(languages),
                             column=labels_column, out=out, progress=cb)
        _report_training(res, as_json)

    @app.command()
    @guarded
    def retrain(task: str = typer.Argument(...),
                data: Optional[Path] = typer.Option(None, "--data", help="annotated file to train on as well"),
                labels_column: Optional[str] = typer.Option(None, "--labels-column"),
                force: bool = typer.Option(False, "--force", help="install the new model even if it scores worse "
                                                                  "than the one in use on the validation part"),
                as_json: bool = typer.Option(False, "--json")):
        """Retrain a tagger on the people's confirmed decisions in the store (plus --data if given); the new
        model replaces the one in use only if it scores as well on the validation part."""
        from ..services.tag_training import retrain_task

        bar, cb = _progress()
        with bar:
            res = retrain_task(_engine(), task, data=data, column=labels_column, progress=cb, force=force)
        _report_training(res, as_json)

    @app.command()
    @guarded
    def evaluate(task: str = typer.Argument(...),
                 data: Path = typer.Option(..., "--data", help="annotated file"),
                 only: Optional[str] = typer.Option(None, help="evaluate on these records only, e.g. session=17,18"),
                 languages: Optional[str] = typer.Option(None, help="these languages only"),
                 labels_column: Optional[str] = typer.Option(None, "--labels-column"),
                 as_json: bool = typer.Option(False, "--json")):
        """Figures of the current tagger on an annotated file (nothing is trained on it)."""
        from ..services.tag_training import evaluate_task

        bar, cb = _progress()
        with bar:
            res = evaluate_task(_engine(), task, data, only=only, languages=_split(languages), column=labels_column,
                                progress=cb)
        if as_json:
            _print_json(res)
            return
        typer.echo(f"{res['model']} on {res['file']} ({res['n']} records)")
        extra = f"  accuracy {res['accuracy']}" if "accuracy" in res else ""
        typer.echo(f"micro P/R/F1 {res['micro']['precision']}/{res['micro']['recall']}/{res['micro']['f1']}  "
                   f"macro F1 {res['macro_f1']}  top-1 in gold {res['top1_in_gold']}{extra}  "
                   f"ECE {res['calibration']['ece']}")
        for x in res["per_label"][:25]:
            typer.echo(f"  {x['name'][:42]:42} n={x['support']:<5} P={x['precision']:.2f} R={x['recall']:.2f} "
                       f"F1={x['f1']:.2f}")

    def _report_training(res: dict, as_json: bool) -> None:
        if as_json:
            _print_json(res)
            return
        v = res["validation"]
        fig = f"micro-F1 {v['micro_f1']}" if "micro_f1" in v else f"accuracy {v['accuracy']}"
        typer.echo(f"trained {res['model']} on {res['records']} records -> {res['folder']}\n"
                   f"validation ({v['n']} records): {fig}, ECE {res['ece_validation']}, "
                   f"text-head weight {v['text_weight']}")
        c = res.get("compared_with_previous")
        if c:
            typer.echo(f"{c['metric']} on that part: {c['new']} against {c['previous']} for {c['previous_model']}"
                       + (" (installed with --force)" if c["forced"] else ""))
