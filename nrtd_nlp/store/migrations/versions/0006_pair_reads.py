"""The pair encoder's answers are kept: ``pair_reads``

The pair encoder (a cross-encoder over both texts of a candidate pair) costs a transformer pass per pair;
its answers are stored by (text hash, text hash, bundle), as embeddings are, so a re-run of the links reads
only pairs it has not read before. Empty for every existing store.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 21:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "pair_reads" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table('pair_reads',
                    sa.Column('hash_a', sa.String(length=64), nullable=False),
                    sa.Column('hash_b', sa.String(length=64), nullable=False),
                    sa.Column('agent', sa.String(length=200), nullable=False),
                    sa.Column('p_different', sa.Float(), nullable=False),
                    sa.Column('p_duplicate', sa.Float(), nullable=False),
                    sa.Column('p_related', sa.Float(), nullable=False),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('hash_a', 'hash_b', 'agent', name=op.f('pk_pair_reads')))


def downgrade() -> None:
    op.drop_table('pair_reads')
