"""Case store: SQLAlchemy 2.0 models, engine/session helpers, Alembic migrations."""
