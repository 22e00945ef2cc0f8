import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from nrtd_nlp.cli import app

runner = CliRunner()


def test_import_and_help_stay_light():
    code = ("import sys, nrtd_nlp, nrtd_nlp.cli; "
            "bad=[m for m in ('torch','spacy','faiss','sentence_transformers','sklearn') if m in sys.modules]; "
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    r = runner.invoke(app, ["--help"])
    assert r.exit_code == 0 and "import" in r.output and "search" in r.output


def _env(settings):
    return {"NRTD_HOME": str(settings.home), "NRTD_EMBEDDER": "minilm-test",
            "NRTD_CACHE_DIR": str(settings.cache_dir), "NRTD_TAG_ON_IMPORT": "false"}


def test_bad_input_is_one_line_exit_2(settings, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n")
    for args in (["import", str(bad)], ["import", str(tmp_path / "missing.csv")],
                 ["import", str(bad), "--format", "docx"], ["search", "  "]):
        env = dict(os.environ, **_env(settings))
        p = subprocess.run([sys.executable, "-m", "nrtd_nlp.cli", *args], capture_output=True, text=True, env=env)
        assert p.returncode == 2, (args, p.stderr)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("nrtd: error[") and "Traceback" not in p.stderr


def test_import_search_stats_json(settings, demo_csv, monkeypatch, test_embedder):
    for k, v in _env(settings).items():
        monkeypatch.setenv(k, v)
    from nrtd_nlp.config import get_settings

    get_settings.cache_clear()
    monkeypatch.setattr("nrtd_nlp.embed.base._REGISTRY", {"minilm-test": (lambda **kw: test_embedder, "")})
    r = runner.invoke(app, ["import", str(demo_csv), "--source", "demo", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["created"] == 44
    r = runner.invoke(app, ["search", "abolish the death penalty", "--k", "2", "--lang", "en", "--json"])
    hits = json.loads(r.output)
    assert len(hits) == 2 and "death penalty" in hits[0]["text"]
    st = json.loads(runner.invoke(app, ["stats", "--json"]).output)
    assert st["recommendations"] == 49 and st["by_language"]["es"] == 11  # 9 rows + 2 CRC sub-items
    assert settings.database_url or Path(settings.home, "nrtd.db").exists()  # NRTD_TEST_PG: its own database
    get_settings.cache_clear()
