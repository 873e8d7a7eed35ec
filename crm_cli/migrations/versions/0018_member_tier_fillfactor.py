"""PostgreSQL keeps free space in ``member_tier`` pages (fillfactor 70).

A tier move rewrites a member's ``member_tier`` row (a recalculation's downgrades, the
counter's lift of a member who holds a tier). With the table's pages full, PostgreSQL
writes each new row version on another page and adds an entry to the primary key; with
room left on the page the update is in place (a HOT update): no index entry. Measured on
a month-later recalculation (46,409 moves, 37,445 of them updates, 200,000 members):
0.84-0.88 s of backend CPU instead of 0.93-1.02 s, every update HOT instead of none; the
first placement (appends) the same (docs/performance.md). SQLite has no such setting.

``fillfactor`` only applies to pages written from now on; ``VACUUM FULL member_tier``
applies it to the existing rows at once (it locks the table while it rewrites it).
Without it, a row moved once lands on a page with room, and its later moves are in place.

Revision ID: 0018_member_tier_fillfactor
Revises: 0017_member_tier
"""
from alembic import op

revision, down_revision = '0018_member_tier_fillfactor', '0017_member_tier'

#: the share of each page new rows fill, as for ``member`` (migration 0010)
FILLFACTOR = 70


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'ALTER TABLE member_tier SET (fillfactor = {FILLFACTOR})')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE member_tier RESET (fillfactor)')
