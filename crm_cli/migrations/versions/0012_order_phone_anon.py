"""marketplace_order.phone holds up to 40 characters: a buyer erased by `crm member forget`
keeps the member's anonymous id there instead of the number (anon ids are 21 characters;
the column held 20) (2026-11-30). The downgrade narrows it again, which PostgreSQL
refuses once an order holds an anonymous id: it is only possible before any erasure.

Revision ID: 0012_order_phone_anon
Revises: 0011_ledger_summary
"""
import sqlalchemy as sa
from alembic import op

revision, down_revision = '0012_order_phone_anon', '0011_ledger_summary'


def _width(length: int) -> None:
    with op.batch_alter_table('marketplace_order') as batch:
        batch.alter_column('phone', type_=sa.String(length), existing_nullable=False)


def upgrade() -> None:
    _width(40)


def downgrade() -> None:
    _width(20)
