"""Member tier moves without index writes: ``ix_member_store_tier`` dropped; PostgreSQL
keeps free space in ``member`` pages (fillfactor 70).

``tier recalc`` rewrites the tier of every member who moves (190,666 of 200,000 at a
first placement). With ``tier_id`` indexed, PostgreSQL can never update a member row in
place (a HOT update): each move wrote a new row version plus an entry in every one of the
table's five indexes (about 7 WAL records and 17 buffer accesses per moved member). With
no index on ``tier_id`` and room left in the page, a move is one heap write. SQLite
rewrites the row in place either way; without the index it no longer deletes and
re-inserts an index entry per move (0.27 s -> 0.11 s for 190,000 moves).

No reader needs the index: ``tier list`` counts the store's members by tier, and
``segment --tier`` and ``member list --tier`` filter the store's members; each reads the
store's members anyway (``ix_member_store_id``), and ``tier remove`` is rare.

``fillfactor`` only applies to pages written from now on; ``VACUUM FULL member`` applies it
to the existing rows at once (it locks the table while it rewrites it).

Revision ID: 0010_member_tier_hot
Revises: 0009_tier_history_fk
Create Date: 2026-11-30
"""
from alembic import op

revision, down_revision = '0010_member_tier_hot', '0009_tier_history_fk'

#: percent of each member page filled by inserts (and by updates that move a row to
#: another page); the rest is left for in-place updates of the same rows
FILLFACTOR = 70


def upgrade() -> None:
    op.drop_index('ix_member_store_tier', table_name='member')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'ALTER TABLE member SET (fillfactor = {FILLFACTOR})')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE member RESET (fillfactor)')
    op.create_index('ix_member_store_tier', 'member', ['store_id', 'tier_id'], unique=False)
