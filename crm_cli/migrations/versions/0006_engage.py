"""Engage: saved segments, campaigns and their batches (retry keys), promo code pools,
rich menus and their links, surveys and answers; member tags get a kind (chat | active).

Revision ID: 0006_engage
Revises: 0005_web_pages
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import crm_cli.db.types


revision = '0006_engage'
down_revision = '0005_web_pages'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('promo_pool',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('store_id', 'name', name='uq_promo_pool_store_name')
    )
    op.create_table('segment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('spec', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('store_id', 'name', name='uq_segment_store_name')
    )
    op.create_table('survey',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('questions', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('notice', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('retention_days', sa.Integer(), nullable=False),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.Column('closed_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('store_id', 'name', name='uq_survey_store_name')
    )
    op.create_table('campaign',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=True),
    sa.Column('messages', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('personalized', sa.Boolean(), nullable=False),
    sa.Column('promo_pool_id', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('scheduled_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.Column('partial', sa.Boolean(), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.Column('started_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.Column('finished_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.Column('cancelled_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['promo_pool_id'], ['promo_pool.id'], ),
    sa.ForeignKeyConstraint(['segment_id'], ['segment.id'], ),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('store_id', 'name', name='uq_campaign_store_name')
    )
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_status_at', ['status', 'scheduled_at'], unique=False)

    op.create_table('richmenu',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('line_richmenu_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('layout', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=True),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.Column('removed_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['segment_id'], ['segment.id'], ),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('store_id', 'name', name='uq_richmenu_store_name')
    )
    op.create_table('campaign_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('retry_key', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('request_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('claimed_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.Column('sent_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('campaign_id', 'seq', name='uq_campaign_batch_seq'),
    sa.UniqueConstraint('retry_key')
    )
    with op.batch_alter_table('campaign_batch', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_batch_status', ['campaign_id', 'status'], unique=False)

    op.create_table('promo_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('pool_id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('follower_id', sa.Integer(), nullable=True),
    sa.Column('issued_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.Column('redeemed_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['follower_id'], ['line_follower.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['pool_id'], ['promo_pool.id'], ),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('pool_id', 'follower_id', name='uq_promo_code_pool_follower'),
    sa.UniqueConstraint('pool_id', 'member_id', name='uq_promo_code_pool_member'),
    sa.UniqueConstraint('store_id', 'code', name='uq_promo_code_store_code')
    )
    with op.batch_alter_table('promo_code', schema=None) as batch_op:
        batch_op.create_index('ix_promo_code_pool_free', ['pool_id', 'issued_at'], unique=False)

    op.create_table('richmenu_link',
    sa.Column('follower_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('richmenu_id', sa.Integer(), nullable=False),
    sa.Column('linked_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['follower_id'], ['line_follower.id'], ),
    sa.ForeignKeyConstraint(['richmenu_id'], ['richmenu.id'], ),
    sa.PrimaryKeyConstraint('follower_id')
    )
    with op.batch_alter_table('richmenu_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_richmenu_link_richmenu_id'), ['richmenu_id'], unique=False)

    op.create_table('survey_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('follower_id', sa.Integer(), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('answers', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['follower_id'], ['line_follower.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['survey_id'], ['survey.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('survey_id', 'follower_id', name='uq_survey_answer_follower')
    )
    with op.batch_alter_table('survey_answer', schema=None) as batch_op:
        batch_op.create_index('ix_survey_answer_survey_at', ['survey_id', 'created_at'], unique=False)

    with op.batch_alter_table('member_tag', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), server_default='chat', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('member_tag', schema=None) as batch_op:
        batch_op.drop_column('kind')

    with op.batch_alter_table('survey_answer', schema=None) as batch_op:
        batch_op.drop_index('ix_survey_answer_survey_at')

    op.drop_table('survey_answer')
    with op.batch_alter_table('richmenu_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_richmenu_link_richmenu_id'))

    op.drop_table('richmenu_link')
    with op.batch_alter_table('promo_code', schema=None) as batch_op:
        batch_op.drop_index('ix_promo_code_pool_free')

    op.drop_table('promo_code')
    with op.batch_alter_table('campaign_batch', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_batch_status')

    op.drop_table('campaign_batch')
    op.drop_table('richmenu')
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_status_at')

    op.drop_table('campaign')
    op.drop_table('survey')
    op.drop_table('segment')
    op.drop_table('promo_pool')
