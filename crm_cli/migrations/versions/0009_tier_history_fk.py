"""Tier history without row-by-row foreign-key checks.

``tier_history`` rows are written only by the tier service, from member rows read or
updated in the same statement (``tier recalc`` inserts from its ``UPDATE member ...
RETURNING``; a lift inserts for the member it just moved), with the store they belong to;
store purges delete the history before the members. The two foreign keys
(``member_id`` -> member, ``store_id`` -> store) therefore only re-checked what the
statement had just read, one trigger call per row: at 190,666 moves on PostgreSQL that was
1.6 s of a 7 s recalculation. The indexes on both columns stay (2026-11-30).
"""
from alembic import op


revision, down_revision = '0009_tier_history_fk', '0008_segment_indexes'

#: SQLite keeps foreign keys unnamed: reflect them under these names to drop them
_NAMES = {"fk": "%(table_name)s_%(column_0_name)s_fkey"}


def upgrade() -> None:
    with op.batch_alter_table('tier_history', schema=None, naming_convention=_NAMES) as batch_op:
        batch_op.drop_constraint('tier_history_member_id_fkey', type_='foreignkey')
        batch_op.drop_constraint('tier_history_store_id_fkey', type_='foreignkey')


def downgrade() -> None:
    with op.batch_alter_table('tier_history', schema=None) as batch_op:
        batch_op.create_foreign_key('tier_history_member_id_fkey', 'member', ['member_id'], ['id'])
        batch_op.create_foreign_key('tier_history_store_id_fkey', 'store', ['store_id'], ['id'])
