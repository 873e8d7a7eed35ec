"""A member's tier in a narrow table of its own (``member_tier``), and no index on
``tier_history.store_id``.

``tier recalc`` moved members by rewriting ``member.tier_id``: at a first placement
(190,666 of 200,000 members move up) each move rewrote a whole member row (names,
addresses, consent ...), on PostgreSQL most of them as a new row version with an entry in
every index, and called the ``member_tier_id_fkey`` trigger once per row (0.55-0.8 s of
the 2.3 s write statement; docs/performance.md). A row of ``member_tier`` is two integers:
a first placement appends them, a later move rewrites 2 integers in place, and no
per-row trigger runs. Rows have no foreign keys, like ``tier_history`` (migration 0009):
only the tier service writes them, from the members and tiers its statement reads;
``tier remove`` and store purges delete them; `crm db check` verifies every reference.

``ix_tier_history_store_id`` served the store purge and the listing after a recalc; the
purge now deletes a store's history by its members (``ix_tier_history_member_id``) and the
listing reads the ids just written (the primary key), so each history row costs one
index entry fewer.

Revision ID: 0017_member_tier
Revises: 0016_drop_member_visit_index
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision = '0017_member_tier', '0016_drop_member_visit_index'

#: SQLite keeps foreign keys unnamed: reflect them under these names to drop them
_NAMES = {"fk": "%(table_name)s_%(column_0_name)s_fkey"}


def upgrade() -> None:
    op.create_table(
        'member_tier',
        sa.Column('member_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('tier_id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('member_id'),
    )
    op.execute('INSERT INTO member_tier (member_id, tier_id) '
               'SELECT id, tier_id FROM member WHERE tier_id IS NOT NULL ORDER BY id')
    with op.batch_alter_table('member', schema=None, naming_convention=_NAMES) as batch_op:
        batch_op.drop_constraint('member_tier_id_fkey', type_='foreignkey')
        batch_op.drop_column('tier_id')
    op.drop_index('ix_tier_history_store_id', table_name='tier_history')


def downgrade() -> None:
    op.create_index('ix_tier_history_store_id', 'tier_history', ['store_id'])
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tier_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('member_tier_id_fkey', 'tier', ['tier_id'], ['id'])
    op.execute('UPDATE member SET tier_id = (SELECT t.tier_id FROM member_tier t WHERE t.member_id = member.id) '
               'WHERE id IN (SELECT member_id FROM member_tier)')
    op.drop_table('member_tier')
