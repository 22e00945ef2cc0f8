"""The CLI's edges: usage errors, store and environment problems, bad paths and bad options are ONE
line on stderr with exit 2 (an internal fault is one line with exit 1). Nothing here trains or embeds."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest
from typer.testing import CliRunner

from nrtd_nlp.cli import app
from nrtd_nlp.errors import InputError

runner = CliRunner()


def run(*args, code: int = 2) -> str:
    """Run ``nrtd ARGS``; assert the exit code and one line on stderr; return that line."""
    r = runner.invoke(app, [str(a) for a in args])
    lines = r.stderr.strip().splitlines()
    assert r.exit_code == code, (args, r.exit_code, r.output, r.exception)
    assert len(lines) == 1, (args, r.stderr)
    assert "Traceback" not in r.output
    return lines[0]


# -- L1: usage errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("args, needle, where", [
    (["search"], "Missing argument", "search"),
    (["search", "foo", "--bogus"], "No such option: --bogus", "search"),
    (["search", "x", "-k", "abc"], "valid integer", "search"),
    (["export"], "Missing option '--out'", "export"),
    (["cluster", "show", "c1", "--limit"], "requires an argument", "cluster show"),
    (["suggest-institutions", "--top-k", "0"], "greater than or equal to 1", "suggest-institutions"),
])
def test_usage_errors_are_one_line_exit_2(args, needle, where):
    line = run(*args)
    assert line.startswith("nrtd: usage: ") and needle in line, line
    assert line.endswith(f"(try nrtd {where} --help)"), line


def test_help_is_unchanged_and_a_bare_group_shows_help():
    r = runner.invoke(app, ["--help"])
    assert r.exit_code == 0 and "Usage" in r.output and "import" in r.output and "train-links" in r.output
    r = runner.invoke(app, ["search", "--help"])
    assert r.exit_code == 0 and "--lang" in r.output
    r = runner.invoke(app, ["cluster"])
    assert r.exit_code == 2 and "Usage" in r.output and "show" in r.output  # the help, as before


# -- M4 / M5: store and environment problems --------------------------------------------------------

def test_home_that_is_a_file(cli_env, tmp_path, monkeypatch):
    f = tmp_path / "homefile"
    f.write_text("x")
    monkeypatch.setenv("NRTD_HOME", str(f))
    line = run("stats")
    assert line.startswith("nrtd: error[store]: ") and "is a file, not a folder" in line and str(f) in line


def test_database_file_that_is_not_a_database_or_is_a_folder(cli_env, monkeypatch):
    monkeypatch.delenv("NRTD_DATABASE_URL", raising=False)  # the default SQLite file's edges, on any backend
    home = cli_env.home
    home.mkdir(parents=True)
    (home / "nrtd.db").write_text("hello, not SQLite\n")
    assert "is not an nrtd database" in run("stats")
    (home / "nrtd.db").unlink()
    (home / "nrtd.db").mkdir()
    assert "is a folder, not a file" in run("stats")


def test_read_only_store(cli_env, monkeypatch):
    monkeypatch.delenv("NRTD_DATABASE_URL", raising=False)  # the SQLite file store's check, on any backend
    cli_env.home.mkdir(parents=True)
    real = os.access
    monkeypatch.setattr("nrtd_nlp.store.db.os.access",
                        lambda p, mode: False if mode == os.W_OK else real(p, mode))
    line = run("stats")
    assert line.startswith("nrtd: error[store]: ") and "read-only" in line


@pytest.mark.parametrize("url, needle", [
    ("garbage", "not a valid SQLAlchemy URL"),
    ("foo://x", "unknown database kind 'foo'"),
    ("sqlite://", "in-memory"),
    ("sqlite:///:memory:", "in-memory"),
])
def test_database_url_problems(cli_env, monkeypatch, url, needle):
    monkeypatch.setenv("NRTD_DATABASE_URL", url)
    line = run("stats")
    assert line.startswith("nrtd: error[store]: ") and needle in line, line


def test_missing_driver_is_named(cli_env, monkeypatch):
    pytest.importorskip("sqlalchemy")
    try:
        import MySQLdb  # noqa: F401
        pytest.skip("MySQLdb is installed here")
    except ImportError:
        pass
    monkeypatch.setenv("NRTD_DATABASE_URL", "mysql://u:secret@127.0.0.1:1/db")
    line = run("stats")
    assert "need the Python package 'MySQLdb'" in line and "secret" not in line


def test_database_folder_of_a_given_url_is_never_created(cli_env, monkeypatch, tmp_path):
    target = tmp_path / "nowhere" / "deeper" / "x.db"
    monkeypatch.setenv("NRTD_DATABASE_URL", f"sqlite:///{target}")
    line = run("stats")
    assert "does not exist" in line and str(target.parent) in line
    assert not (tmp_path / "nowhere").exists()


def test_bad_environment_value_names_the_variable(cli_env, monkeypatch):
    monkeypatch.setenv("NRTD_EMBED_BATCH_SIZE", "many")
    line = run("stats")
    assert line.startswith("nrtd: error[config]: NRTD_EMBED_BATCH_SIZE")


def test_default_home_is_still_created(cli_env, monkeypatch):
    monkeypatch.delenv("NRTD_DATABASE_URL", raising=False)  # the default store: SQLite in NRTD_HOME
    assert not cli_env.home.exists()
    r = runner.invoke(app, ["stats", "--json"])
    assert r.exit_code == 0, r.output
    assert (cli_env.home / "nrtd.db").is_file()


def test_catch_all_prints_one_line(cli_env, monkeypatch):
    from sqlalchemy.exc import IntegrityError, OperationalError

    def boom(*a, **kw):
        raise RuntimeError("first line\nsecond line\nthird")

    monkeypatch.setattr("nrtd_nlp.services.stats.stats", boom)
    line = run("stats", code=1)
    assert line == "nrtd: internal error: RuntimeError: first line (set NRTD_DEBUG=1 for the traceback)"

    def integrity(*a, **kw):
        raise IntegrityError("INSERT INTO embeddings VALUES (?)", ("x",), Exception("UNIQUE constraint failed"))

    monkeypatch.setattr("nrtd_nlp.services.stats.stats", integrity)
    line = run("stats", code=1)
    assert "UNIQUE constraint failed" in line and "Background" not in line and "[SQL" not in line

    def locked(*a, **kw):
        raise OperationalError("SELECT 1", (), Exception("database is locked"))

    monkeypatch.setattr("nrtd_nlp.services.stats.stats", locked)
    assert run("stats") == "nrtd: error[store]: the database cannot be used: database is locked"


# -- M6: export --out -----------------------------------------------------------------------------

def test_export_out_paths(cli_env, tmp_path, monkeypatch):
    assert "does not exist" in run("export", "--format", "csv", "--out", tmp_path / "nodir" / "x.csv")
    assert "is a folder" in run("export", "--format", "csv", "--out", tmp_path)
    if os.path.exists("/dev/full"):
        assert "No space left" in run("export", "--format", "csv", "--out", "/dev/full")
    out = tmp_path / "m.csv"
    r = runner.invoke(app, ["export", "--format", "csv", "--out", str(out)])
    assert r.exit_code == 0, r.output
    first = out.read_bytes()
    assert first.startswith(b"id,") or first.startswith(b"\xef\xbb\xbfid,")

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.fsync", full_disk)
    line = run("export", "--format", "csv", "--out", out)
    assert "cannot write" in line and "No space left" in line
    assert out.read_bytes() == first  # the earlier matrix is intact
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".m.csv")) == []  # no temporary left


# -- M7: train-links ------------------------------------------------------------------------------

def test_train_links_inputs(cli_env, tmp_path, demo_csv):
    from nrtd_nlp.link.train import repo_gold

    out = tmp_path / "scorer"
    assert "Missing option '--out'" in run("train-links", "--corpus", demo_csv)
    line = run("train-links", "--gold", tmp_path / "nope.csv", "--corpus", demo_csv, "--out", out)
    assert line == f"nrtd: error[invalid_input]: gold: no such file: {tmp_path / 'nope.csv'}"
    latin = tmp_path / "latin.csv"
    latin.write_bytes("pair_id,id_a,id_b,label\np1,a,b,caf\xe9\n".encode("latin-1"))
    assert "gold: latin.csv is not UTF-8" in run("train-links", "--gold", latin, "--corpus", demo_csv, "--out", out)
    cols = tmp_path / "cols.csv"
    cols.write_text("id,text\n1,x\n", encoding="utf-8")
    line = run("train-links", "--gold", cols, "--corpus", demo_csv, "--out", out)
    assert "gold: cols.csv has no column pair_id, id_a, id_b, label" in line
    ids = tmp_path / "ids.csv"
    ids.write_text("pair_id,id_a,id_b,label\np1,zz1,zz2,duplicate\n", encoding="utf-8")
    assert "name ids not in" in run("train-links", "--gold", ids, "--corpus", demo_csv, "--out", out)
    bad_label = tmp_path / "lab.csv"
    bad_label.write_text("pair_id,id_a,id_b,label\np1,zz1,zz2,same\n", encoding="utf-8")
    assert "label 'same' is not one of" in run("train-links", "--gold", bad_label, "--corpus", demo_csv,
                                               "--out", out)
    assert "corpus: no such file" in run("train-links", "--gold", ids, "--corpus", tmp_path / "c.csv", "--out", out)
    assert "is a file, not a folder" in run("train-links", "--gold", ids, "--corpus", demo_csv, "--out", cols)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "thesis.docx").write_text("important")
    assert "other than a link-scorer bundle" in run("train-links", "--gold", ids, "--corpus", demo_csv,
                                                    "--out", busy)
    assert (busy / "thesis.docx").exists() and not out.exists()
    # --extra is repeatable and every file is checked, naming the option and the file
    from nrtd_nlp.ingest.readers import read_file

    a, b = (r.external_id for r in read_file(demo_csv)[1][:2])
    good = tmp_path / "good.csv"
    good.write_text(f"pair_id,id_a,id_b,label\np1,{a},{b},related\n", encoding="utf-8")
    line = run("train-links", "--gold", good, "--corpus", demo_csv, "--out", out, "--extra", good,
               "--extra", bad_label)
    assert line.startswith("nrtd: error[invalid_input]: extra: lab.csv line 2: label 'same' is not one of"), line
    assert not out.exists()
    # the default gold comes from the package's checkout, never from the working directory
    g = repo_gold("upr_pairs.csv")
    if g is not None:
        assert g.is_absolute() and g.parts[-3:] == ("evaluation", "gold", "upr_pairs.csv")
    assert repo_gold("no_such_file.csv") is None


# -- M8: train / evaluate filters -----------------------------------------------------------------

@pytest.fixture()
def labelled(tmp_path):
    p = tmp_path / "lab.csv"
    rows = ["text,label,session"] + [f"Recommendation number {i} on prisons,Justice,{1 + i % 3}" for i in range(30)]
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return p


def test_train_filters_are_checked(cli_env, labelled):
    base = ("train", "upr_issue", "--data", labelled, "--labels-column", "label")
    line = run(*base, "--exclude", "colour=red")
    assert "exclude:" in line and "no field 'colour'" in line and "session" in line
    assert "selects no record" in run(*base, "--exclude", "session=99")
    assert "selects no record" in run(*base, "--val", "session=99")
    assert "selects every record" in run(*base, "--val", "session=1,2,3")
    assert "bad filter" in run(*base, "--exclude", "session")
    line = run("evaluate", "upr_issue", "--data", labelled, "--labels-column", "label", "--only", "colour=red")
    assert "only:" in line and "no field 'colour'" in line
    assert not (cli_env.home / "models").exists()  # nothing was trained


def test_too_little_validation_data_is_an_input_error():
    from nrtd_nlp.classify.tagger import Tagger

    n = 30
    texts = [f"text {i}" for i in range(n)]
    X = np.random.default_rng(0).normal(size=(n, 4)).astype(np.float32)
    y = np.arange(n) % 2
    mask = np.zeros(n, bool)
    mask[:3] = True
    with pytest.raises(InputError) as e:
        Tagger("t", ["a", "b"], multilabel=False, text_blocks=()).fit(texts, X, y, ["en"] * n, val_mask=mask)
    assert e.value.field == "val" and "3 validation" in str(e.value)


# -- M9: suggest --top-k --------------------------------------------------------------------------

def test_suggest_top_k_is_checked(cli_env, engine):
    from nrtd_nlp.services.tags import suggest_records

    for k in (0, -3, 21, 1000):
        with pytest.raises(InputError) as e:
            suggest_records(engine, None, top_k=k)
        assert e.value.field == "top_k"
    assert run("suggest", "--top-k", "1000") == "nrtd: error[invalid_input]: top_k: top_k must be between 1 and 20"
    assert "top_k" in run("suggest", "--top-k", "0")


# -- M10: institutions load -----------------------------------------------------------------------

def test_institutions_load_bad_files(cli_env, tmp_path):
    big = tmp_path / "big.csv"
    big.write_text("id,name\nx," + "a" * 140_000 + "\n", encoding="utf-8")
    assert "malformed CSV" in run("institutions", "load", big)
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    assert "is a folder" in run("institutions", "load", folder)
    nul = tmp_path / "nul.csv"
    nul.write_text("id,name\nmoj,Ministry of\x00Justice\n", encoding="utf-8")
    assert "line 2: contains a NUL byte" in run("institutions", "load", nul)
    assert "no such file" in run("institutions", "load", tmp_path / "missing.csv")


# -- M11: serve -----------------------------------------------------------------------------------

def test_serve_port_and_host(monkeypatch):
    for port in ("0", "99999", "-1"):
        assert "port must be 1-65535" in run("serve", "--port", port)

    def unresolvable(*a, **kw):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr("socket.getaddrinfo", unresolvable)
    line = run("serve", "--host", "999.1.1.1")
    assert line == "nrtd: error[invalid_input]: host: cannot resolve '999.1.1.1' (Name or service not known)"


# -- L3 / L6: limits, --who, link --new ------------------------------------------------------------

def test_limits_who_and_link_new(cli_env):
    for lim in ("-5", "0", "99999999999"):
        assert "limit must be 1..1000" in run("links", "--limit", lim)
    for lim in ("-1", "0"):
        assert "limit must be 1..5000" in run("cluster", "show", "c-1", "--limit", lim)
    assert "who must name" in run("recluster", "--who", "")
    assert "who must name" in run("recluster", "--who", "   ")
    assert "No such option: --new" in run("link", "--new")


def test_train_links_pair_encoder_only_needs_a_bundle(cli_env, tmp_path, demo_csv):
    from nrtd_nlp.ingest.readers import read_file

    a, b = (r.external_id for r in read_file(demo_csv)[1][:2])
    good = tmp_path / "good.csv"
    good.write_text(f"pair_id,id_a,id_b,label\np1,{a},{b},related\n", encoding="utf-8")
    empty = tmp_path / "empty"
    empty.mkdir()
    line = run("train-links", "--gold", good, "--corpus", demo_csv, "--out", empty, "--extra", good,
               "--pair-encoder-only")
    assert line == (f"nrtd: error[invalid_input]: out: {empty} holds no link-scorer bundle (manifest.json); "
                    "train one first")
    assert not list(empty.iterdir())
