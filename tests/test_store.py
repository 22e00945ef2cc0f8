from sqlalchemy import inspect

from nrtd_nlp.store.db import Database
from nrtd_nlp.store.models import Base


def test_migration_creates_the_whole_model(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    tables = set(inspect(db.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables
    Database(f"sqlite:///{tmp_path / 'x.db'}")  # running migrations again is a no-op


def test_models_and_migrations_agree(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    db = Database(f"sqlite:///{tmp_path / 'y.db'}")
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], diff


def test_sqlite_runs_in_wal_mode(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'z.db'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
