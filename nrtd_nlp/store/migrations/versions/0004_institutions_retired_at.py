"""Institutions can be retired: ``institutions.retired_at``

``nrtd institutions load`` retires the stored institutions of a country (or the generic ones) that the
loaded mandate file no longer lists: they are not suggested or assigned any more, and their past
assignments and reviews stay. NULL for every existing row (all active).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 01:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def _has_column() -> bool:
    return any(c["name"] == "retired_at" for c in sa.inspect(op.get_bind()).get_columns("institutions"))


def upgrade() -> None:
    if _has_column():  # a store whose version was set back by hand (tests/test_store.py does) already has it
        return
    with op.batch_alter_table('institutions') as batch:
        batch.add_column(sa.Column('retired_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    if not _has_column():
        return
    with op.batch_alter_table('institutions') as batch:
        batch.drop_column('retired_at')
