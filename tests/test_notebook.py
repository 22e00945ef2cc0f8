"""The evaluation notebook runs end to end (on a small sample with the small test embedder; the real
figures come from running it, or evaluation/tags.py, with the product's embedder)."""

import os
from pathlib import Path

import pytest

from .conftest import shared_file

NB = Path(__file__).resolve().parents[1] / "evaluation" / "tags.ipynb"


@pytest.mark.slow
def test_tags_notebook_runs(tmp_path, monkeypatch):
    shared_file("uhri-thematic-lists/slovenia_upr_c2-c3.csv")
    shared_file("uhri-multilingual/uhri_multilingual_dev.csv")
    shared_file("upr-info/upr_info_sessions01-18.csv")
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    for k, v in {"NRTD_NB_SAMPLE": "60", "NRTD_NB_EMBEDDER": "minilm-test", "NRTD_NB_HOME": str(tmp_path / "home"),
                 "NRTD_CACHE_DIR": os.environ.get("NRTD_CACHE_DIR", str(tmp_path / "cache")),
                 "OMP_NUM_THREADS": "2"}.items():
        monkeypatch.setenv(k, v)
    nb = nbformat.read(NB, as_version=4)
    nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(NB.parents[1])}}).execute()
    out = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "uhri-themes: supervised micro-F1" in out and "sdg: top-1 in gold" in out
    assert "| language | answered | agree with English |" in out and "60 paragraphs;" in out
