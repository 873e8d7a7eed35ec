"""LINE: channels, followers, chats, webhook events, auto-replies, API keys (2026-11-29)."""
from crm_cli.migrations.helpers import Step, flag, ident, migration, moment, ref, string, table, uq

revision, down_revision = '0003_line', '0002_store_point_value'


def _steps() -> list[Step]:
    return [
        table('autoreply_rule',
              ident(), ref('store_id', 'store'), string('keyword', 200), string('match', 8),
              string('kind', 10), string('payload'), moment('created_at'),
              moment('removed_at', null=True),
              indexes={'ix_autoreply_store': ['store_id', 'removed_at']}),
        table('line_channel',
              ref('store_id', 'store', autoincrement=False), string('channel_id', 32),
              string('channel_secret', 128), string('access_token', 1024),
              string('login_channel_id', 32, null=True),
              string('login_channel_secret', 128, null=True), string('bot_user_id', 40, null=True),
              string('bot_basic_id', 40, null=True), string('bot_name', 200, null=True),
              moment('connected_at'), moment('updated_at'), primary=['store_id']),
        table('line_webhook_event',
              ident(), ref('store_id', 'store'), string('event_id', 64), string('type', 32),
              flag('redelivery'), moment('occurred_at'), moment('received_at'),
              unique=[uq('store_id', 'event_id', name='uq_line_webhook_event')]),
        table('api_key',
              ident(), ref('store_id', 'store'), ref('branch_id', 'branch'), string('prefix', 16),
              string('key_hash', 64), string('label', 120, null=True), moment('created_at'),
              moment('last_used_at', null=True), moment('revoked_at', null=True),
              unique=[uq('key_hash')], indexed=['store_id']),
        table('line_follower',
              ident(), ref('store_id', 'store'), string('user_id', 33),
              string('display_name', 200, null=True), string('picture_url', 1000, null=True),
              string('language', 20, null=True), string('status', 12),
              moment('followed_at', null=True), moment('unfollowed_at', null=True),
              string('note', null=True), ref('member_id', 'member', null=True),
              string('source', 12), moment('profile_at', null=True),
              moment('last_message_at', null=True), moment('created_at'),
              unique=[uq('store_id', 'user_id', name='uq_line_follower_store_user')],
              indexed=['store_id'], indexes={'ix_line_follower_member': ['member_id']}),
        table('line_follower_tag',
              ref('follower_id', 'line_follower'), string('kind', 8), string('tag', 80),
              moment('created_at'), primary=['follower_id', 'kind', 'tag'],
              indexes={'ix_line_follower_tag_tag': ['tag']}),
        table('line_message',
              ident(), ref('store_id', 'store'), ref('follower_id', 'line_follower'),
              string('direction', 3), string('kind', 16), string('text', null=True),
              string('payload', null=True), string('line_message_id', 40, null=True),
              ref('autoreply_id', 'autoreply_rule', null=True),
              string('reply_token', 100, null=True), string('delivery', 10),
              string('error', 300, null=True), moment('at'),
              indexes={'ix_line_message_autoreply': ['autoreply_id', 'at'],
              'ix_line_message_follower_at': ['follower_id', 'at'],
              'ix_line_message_store_at': ['store_id', 'at']}),
    ]


upgrade, downgrade = migration(_steps)
