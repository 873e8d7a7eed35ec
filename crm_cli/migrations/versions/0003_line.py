"""LINE: channels, followers, chats, webhook events, auto-replies, API keys

Revision ID: 0003_line
Revises: 0002_store_point_value
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import crm_cli.db.types


revision = '0003_line'
down_revision = '0002_store_point_value'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('autoreply_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('keyword', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('match', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('payload', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.Column('removed_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('autoreply_rule', schema=None) as batch_op:
        batch_op.create_index('ix_autoreply_store', ['store_id', 'removed_at'], unique=False)

    op.create_table('line_channel',
    sa.Column('store_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('channel_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('channel_secret', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('access_token', sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
    sa.Column('login_channel_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('login_channel_secret', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('bot_user_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('bot_basic_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('bot_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('connected_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('store_id')
    )
    op.create_table('line_webhook_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('redelivery', sa.Boolean(), nullable=False),
    sa.Column('occurred_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.Column('received_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('store_id', 'event_id', name='uq_line_webhook_event')
    )
    op.create_table('api_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('prefix', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('key_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.Column('last_used_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.Column('revoked_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['branch_id'], ['branch.id'], ),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_key_store_id'), ['store_id'], unique=False)

    op.create_table('line_follower',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=33), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('picture_url', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('followed_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.Column('unfollowed_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('profile_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.Column('last_message_at', crm_cli.db.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('store_id', 'user_id', name='uq_line_follower_store_user')
    )
    with op.batch_alter_table('line_follower', schema=None) as batch_op:
        batch_op.create_index('ix_line_follower_member', ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_line_follower_store_id'), ['store_id'], unique=False)

    op.create_table('line_follower_tag',
    sa.Column('follower_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('tag', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('created_at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['follower_id'], ['line_follower.id'], ),
    sa.PrimaryKeyConstraint('follower_id', 'kind', 'tag')
    )
    with op.batch_alter_table('line_follower_tag', schema=None) as batch_op:
        batch_op.create_index('ix_line_follower_tag_tag', ['tag'], unique=False)

    op.create_table('line_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('follower_id', sa.Integer(), nullable=False),
    sa.Column('direction', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('payload', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('line_message_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('autoreply_id', sa.Integer(), nullable=True),
    sa.Column('reply_token', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('delivery', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('at', crm_cli.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['autoreply_id'], ['autoreply_rule.id'], ),
    sa.ForeignKeyConstraint(['follower_id'], ['line_follower.id'], ),
    sa.ForeignKeyConstraint(['store_id'], ['store.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('line_message', schema=None) as batch_op:
        batch_op.create_index('ix_line_message_autoreply', ['autoreply_id', 'at'], unique=False)
        batch_op.create_index('ix_line_message_follower_at', ['follower_id', 'at'], unique=False)
        batch_op.create_index('ix_line_message_store_at', ['store_id', 'at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('line_message', schema=None) as batch_op:
        batch_op.drop_index('ix_line_message_store_at')
        batch_op.drop_index('ix_line_message_follower_at')
        batch_op.drop_index('ix_line_message_autoreply')

    op.drop_table('line_message')
    with op.batch_alter_table('line_follower_tag', schema=None) as batch_op:
        batch_op.drop_index('ix_line_follower_tag_tag')

    op.drop_table('line_follower_tag')
    with op.batch_alter_table('line_follower', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_line_follower_store_id'))
        batch_op.drop_index('ix_line_follower_member')

    op.drop_table('line_follower')
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_key_store_id'))

    op.drop_table('api_key')
    op.drop_table('line_webhook_event')
    op.drop_table('line_channel')
    with op.batch_alter_table('autoreply_rule', schema=None) as batch_op:
        batch_op.drop_index('ix_autoreply_store')

    op.drop_table('autoreply_rule')
