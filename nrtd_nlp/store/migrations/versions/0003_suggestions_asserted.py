"""Suggestions say whether the model asserted them: ``suggestions.asserted``

A tagger stores its top-k values for the review page, but asserts only those at or above their threshold
(a single-label task at most one, none when it abstains). The export lists asserted suggestions only; NULL
(suggestions stored before this column, and sources that do not decide) counts as asserted when the score is
0.5 or more.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 00:55:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def _has_column() -> bool:
    return any(c["name"] == "asserted" for c in sa.inspect(op.get_bind()).get_columns("suggestions"))


def upgrade() -> None:
    if _has_column():  # a store whose version was set back by hand (tests/test_store.py does) already has it
        return
    with op.batch_alter_table('suggestions') as batch:
        batch.add_column(sa.Column('asserted', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('suggestions') as batch:
        batch.drop_column('asserted')
