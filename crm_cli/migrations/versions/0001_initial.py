"""initial schema

Revision ID: 0001_initial
Revises: 
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import crm_cli.db.types


revision = '0001_initial'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('invoice_counter',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('year')
    )
    op.create_table('maintenance_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('as_of', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.Column('started_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.Column('finished_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('store',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('terms', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('link_base', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('earn_points', sa.Integer(), nullable=False),
    sa.Column('earn_per', crm_cli.db.types.Money(), nullable=False),
    sa.Column('welcome_points', sa.Integer(), nullable=False),
    sa.Column('expiry_policy', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('expiry_months', sa.Integer(), nullable=True),
    sa.Column('tiers_enabled', sa.Boolean(), nullable=False),
    sa.Column('tier_cycle_months', sa.Integer(), nullable=False),
    sa.Column('tier_last_recalc', sa.Date(), nullable=True),
    sa.Column('import_max_rows', sa.Integer(), nullable=False),
    sa.Column('answer_retention_days', sa.Integer(), nullable=True),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.Column('suspended_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.Column('suspended_reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('purged_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('slug')
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=True),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('command', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_store_id'), ['store_id'], unique=False)

    op.create_table('branch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.Column('closed_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('store_id', 'name', name='uq_branch_store_name')
    )
    with op.batch_alter_table('branch', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_branch_store_id'), ['store_id'], unique=False)

    op.create_table('form_question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('choices_json', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('retention_days', sa.Integer(), nullable=True),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('store_id', 'text', name='uq_question_text')
    )
    op.create_table('form_terms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('store_id', 'version', name='uq_terms_version')
    )
    op.create_table('invoice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('subtotal', crm_cli.db.types.Money(), nullable=False),
    sa.Column('vat', crm_cli.db.types.Money(), nullable=False),
    sa.Column('total', crm_cli.db.types.Money(), nullable=False),
    sa.Column('issued_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('paid_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number'),
    sa.UniqueConstraint('store_id', 'month', name='uq_invoice_store_month')
    )
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_store_id'), ['store_id'], unique=False)

    op.create_table('marketplace_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('order_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('paid_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.Column('amount', crm_cli.db.types.Money(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('refund_amount', crm_cli.db.types.Money(), nullable=True),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=14), nullable=False),
    sa.Column('state_reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('points_awarded', sa.Integer(), nullable=False),
    sa.Column('points_clawed', sa.Integer(), nullable=False),
    sa.Column('imported_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('store_id', 'channel', 'order_id', name='uq_order_store_channel_id')
    )
    with op.batch_alter_table('marketplace_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_marketplace_order_store_id'), ['store_id'], unique=False)

    op.create_table('subscription_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('subscription_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_event_store_id'), ['store_id'], unique=False)

    op.create_table('tier',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('threshold', sa.Integer(), nullable=False),
    sa.Column('benefits', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('store_id', 'name', name='uq_tier_store_name')
    )
    with op.batch_alter_table('tier', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tier_store_id'), ['store_id'], unique=False)

    op.create_table('welcome_grant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('phone_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('store_id', 'phone_hash', name='uq_welcome_store_phone')
    )
    op.create_table('invoice_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('plan', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('days_in_month', sa.Integer(), nullable=False),
    sa.Column('rate', crm_cli.db.types.Money(), nullable=False),
    sa.Column('amount', crm_cli.db.types.Money(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_line_invoice_id'), ['invoice_id'], unique=False)

    op.create_table('member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('anon_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('registered_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('gender', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('line_display_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('tier_id', sa.Integer(), nullable=True),
    sa.Column('registered_branch_id', sa.Integer(), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('consent_terms_version', sa.Integer(), nullable=True),
    sa.Column('consent_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.Column('last_activity_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.Column('erased_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['registered_branch_id'], ['branch.id'], ),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.ForeignKeyConstraint(['tier_id'], ['tier.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('store_id', 'phone', name='uq_member_store_phone')
    )
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_store_id'), ['store_id'], unique=False)
        batch_op.create_index('ix_member_store_tier', ['store_id', 'tier_id'], unique=False)

    op.create_table('reward',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('cost', sa.Integer(), nullable=False),
    sa.Column('stock_total', sa.Integer(), nullable=True),
    sa.Column('stock_left', sa.Integer(), nullable=True),
    sa.Column('per_member', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('min_tier_id', sa.Integer(), nullable=True),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['min_tier_id'], ['tier.id'], ),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('store_id', 'name', name='uq_reward_store_name')
    )
    with op.batch_alter_table('reward', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reward_store_id'), ['store_id'], unique=False)

    op.create_table('staff',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.Column('deactivated_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['branch_id'], ['branch.id'], ),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('store_id', 'phone', name='uq_staff_store_phone')
    )
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_store_id'), ['store_id'], unique=False)

    op.create_table('ledger_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('debt', sa.Integer(), nullable=False),
    sa.Column('expires_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('spend', crm_cli.db.types.Money(), nullable=True),
    sa.Column('idem_source', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('idem_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('ref_entry_id', sa.Integer(), nullable=True),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.ForeignKeyConstraint(['branch_id'], ['branch.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('store_id', 'idem_source', 'idem_key', name='uq_ledger_idem')
    )
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_member_lots', ['member_id', 'expires_at', 'created_at', 'points'], unique=False)
        batch_op.create_index('ix_ledger_ref', ['ref_entry_id'], unique=False)
        batch_op.create_index('ix_ledger_store_created', ['store_id', 'created_at'], unique=False)
        batch_op.create_index('ix_ledger_store_expiry', ['store_id', 'expires_at'], unique=False)

    op.create_table('member_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['question_id'], ['form_question.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('member_answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_answer_member_id'), ['member_id'], unique=False)

    op.create_table('member_tag',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('tag', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.PrimaryKeyConstraint('member_id', 'tag')
    )
    with op.batch_alter_table('member_tag', schema=None) as batch_op:
        batch_op.create_index('ix_member_tag_tag', ['tag'], unique=False)

    op.create_table('staff_invite',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.Column('expires_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.Column('used_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.Column('used_by_staff_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['branch_id'], ['branch.id'], ),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.ForeignKeyConstraint(['used_by_staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('staff_invite', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_invite_store_id'), ['store_id'], unique=False)

    op.create_table('tier_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('old_tier', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('new_tier', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('earned_points', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('tier_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tier_history_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tier_history_store_id'), ['store_id'], unique=False)

    op.create_table('lot_allocation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('debit_entry_id', sa.Integer(), nullable=False),
    sa.Column('lot_entry_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['debit_entry_id'], ['ledger_entry.id'], ),
    sa.ForeignKeyConstraint(['lot_entry_id'], ['ledger_entry.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('lot_allocation', schema=None) as batch_op:
        batch_op.create_index('ix_alloc_debit', ['debit_entry_id'], unique=False)
        batch_op.create_index('ix_alloc_lot', ['lot_entry_id', 'points'], unique=False)

    op.create_table('qr_claim',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('spend', crm_cli.db.types.Money(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.Column('expires_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.Column('claimed_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.Column('claimed_member_id', sa.Integer(), nullable=True),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['branch_id'], ['branch.id'], ),
    sa.ForeignKeyConstraint(['claimed_member_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entry.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], ),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('qr_claim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qr_claim_store_id'), ['store_id'], unique=False)

    op.create_table('redemption',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('reward_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('coupon_code', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('expires_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.Column('pool_code', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('carrier', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('tracking', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('used_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.Column('used_branch_id', sa.Integer(), nullable=True),
    sa.Column('used_staff_id', sa.Integer(), nullable=True),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entry.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['reward_id'], ['reward.id'], ),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.ForeignKeyConstraint(['used_branch_id'], ['branch.id'], ),
    sa.ForeignKeyConstraint(['used_staff_id'], ['staff.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('store_id', 'coupon_code', name='uq_redemption_coupon')
    )
    with op.batch_alter_table('redemption', schema=None) as batch_op:
        batch_op.create_index('ix_redemption_reward_member', ['reward_id', 'member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_redemption_store_id'), ['store_id'], unique=False)

    op.create_table('reward_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reward_id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('redemption_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['redemption_id'], ['redemption.id'], ),
    sa.ForeignKeyConstraint(['reward_id'], ['reward.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reward_id', 'code', name='uq_reward_code')
    )
    with op.batch_alter_table('reward_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reward_code_reward_id'), ['reward_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('reward_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reward_code_reward_id'))

    op.drop_table('reward_code')
    with op.batch_alter_table('redemption', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_redemption_store_id'))
        batch_op.drop_index('ix_redemption_reward_member')

    op.drop_table('redemption')
    with op.batch_alter_table('qr_claim', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qr_claim_store_id'))

    op.drop_table('qr_claim')
    with op.batch_alter_table('lot_allocation', schema=None) as batch_op:
        batch_op.drop_index('ix_alloc_lot')
        batch_op.drop_index('ix_alloc_debit')

    op.drop_table('lot_allocation')
    with op.batch_alter_table('tier_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tier_history_store_id'))
        batch_op.drop_index(batch_op.f('ix_tier_history_member_id'))

    op.drop_table('tier_history')
    with op.batch_alter_table('staff_invite', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_invite_store_id'))

    op.drop_table('staff_invite')
    with op.batch_alter_table('member_tag', schema=None) as batch_op:
        batch_op.drop_index('ix_member_tag_tag')

    op.drop_table('member_tag')
    with op.batch_alter_table('member_answer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_answer_member_id'))

    op.drop_table('member_answer')
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_store_expiry')
        batch_op.drop_index('ix_ledger_store_created')
        batch_op.drop_index('ix_ledger_ref')
        batch_op.drop_index('ix_ledger_member_lots')

    op.drop_table('ledger_entry')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_store_id'))

    op.drop_table('staff')
    with op.batch_alter_table('reward', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reward_store_id'))

    op.drop_table('reward')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_index('ix_member_store_tier')
        batch_op.drop_index(batch_op.f('ix_member_store_id'))

    op.drop_table('member')
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_line_invoice_id'))

    op.drop_table('invoice_line')
    op.drop_table('welcome_grant')
    with op.batch_alter_table('tier', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tier_store_id'))

    op.drop_table('tier')
    with op.batch_alter_table('subscription_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_event_store_id'))

    op.drop_table('subscription_event')
    with op.batch_alter_table('marketplace_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_marketplace_order_store_id'))

    op.drop_table('marketplace_order')
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_store_id'))

    op.drop_table('invoice')
    op.drop_table('form_terms')
    op.drop_table('form_question')
    with op.batch_alter_table('branch', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_branch_store_id'))

    op.drop_table('branch')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_store_id'))

    op.drop_table('audit_log')
    op.drop_table('store')
    op.drop_table('maintenance_run')
    op.drop_table('invoice_counter')
