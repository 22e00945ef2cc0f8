"""Jobs say they are alive: ``jobs.heartbeat_at``

A running job writes the time into its row every few seconds. A job row left ``running`` whose heartbeat is
older than a minute was killed (and may be resumed); one with a fresh heartbeat runs in some process, so
another process refuses to start a second job or to resume that one. NULL for every existing row (none of
them is alive).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 03:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _has_column() -> bool:
    return any(c["name"] == "heartbeat_at" for c in sa.inspect(op.get_bind()).get_columns("jobs"))


def upgrade() -> None:
    if _has_column():
        return
    with op.batch_alter_table('jobs') as batch:
        batch.add_column(sa.Column('heartbeat_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    if not _has_column():
        return
    with op.batch_alter_table('jobs') as batch:
        batch.drop_column('heartbeat_at')
