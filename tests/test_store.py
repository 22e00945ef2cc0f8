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


def test_upgrade_rewrites_positional_upr_info_ids_so_a_reimport_adds_nothing(tmp_path, engine):
    """Revision 0002: UPR Info ids were the row's position in its group; a store made before keeps its
    records under the text-based ids the reader now makes (audit H1)."""
    from sqlalchemy import select, text

    from nrtd_nlp.services.context import Engine
    from nrtd_nlp.services.imports import import_file
    from nrtd_nlp.store.models import Recommendation

    csv = tmp_path / "upr.csv"
    csv.write_text("To,Text,From,Session\n"
                   "Utopia,Ratify the Convention against Torture,Norway,5\n"
                   "Utopia,Abolish the death penalty,Norway,5\n"
                   "Utopia,Ratify the Convention against Torture,Norway,5\n"
                   "Utopia,Protect journalists,Chile,5\n", encoding="utf-8")
    assert import_file(engine, csv, embed=False).created == 4
    with engine.db.session() as s:
        new_ids = dict(s.execute(select(Recommendation.id, Recommendation.external_id)).all())
    old = {1: "5|Utopia|Norway|1", 2: "5|Utopia|Norway|2", 3: "5|Utopia|Norway|3", 4: "5|Utopia|Chile|1"}
    with engine.db.engine.begin() as conn:  # the store as an older version left it
        for rid, ext in old.items():
            conn.execute(text("UPDATE recommendations SET external_id = :e WHERE id = :i"), {"e": ext, "i": rid})
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    engine.close()
    e2 = Engine(engine.settings, embedder=engine.embedder)  # opening the store upgrades it
    with e2.db.session() as s:
        assert dict(s.execute(select(Recommendation.id, Recommendation.external_id)).all()) == new_ids
    assert new_ids[3] == new_ids[1] + "~2"
    res = import_file(e2, csv, embed=False)
    assert (res.created, res.updated, res.unchanged) == (0, 0, 4)
    e2.close()
