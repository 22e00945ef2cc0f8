"""Alembic environment: runs on the connection handed in by nrtd_nlp.store.db.migrate,
or on NRTD settings' database URL when called from the alembic command line."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from nrtd_nlp.store.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from nrtd_nlp.config import get_settings

        url = get_settings().db_url
    engine = engine_from_config({"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()
