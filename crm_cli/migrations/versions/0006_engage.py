"""Engage: saved segments, campaigns and their batches (retry keys), promo code pools,
rich menus and their links, surveys and answers; member tags get a kind (chat | active)
(2026-11-30)."""
from crm_cli.migrations.helpers import Step, add_columns, flag, ident, integer, migration, moment, ref, string, table, uq

revision, down_revision = '0006_engage', '0005_web_pages'


def _steps() -> list[Step]:
    return [
        table('promo_pool',
              ident(), ref('store_id', 'store'), string('name', 80), moment('created_at'),
              unique=[uq('store_id', 'name', name='uq_promo_pool_store_name')]),
        table('segment',
              ident(), ref('store_id', 'store'), string('name', 80), string('spec'),
              moment('created_at'), moment('updated_at'),
              unique=[uq('store_id', 'name', name='uq_segment_store_name')]),
        table('survey',
              ident(), ref('store_id', 'store'), string('name', 80), string('questions'),
              string('notice'), integer('retention_days'), moment('created_at'),
              moment('closed_at', null=True),
              unique=[uq('store_id', 'name', name='uq_survey_store_name')]),
        table('campaign',
              ident(), ref('store_id', 'store'), string('name', 120),
              ref('segment_id', 'segment', null=True), string('messages'), flag('personalized'),
              ref('promo_pool_id', 'promo_pool', null=True), string('status', 12),
              moment('scheduled_at', null=True), flag('partial'), integer('recipients'),
              integer('skipped'), string('note', null=True), moment('created_at'),
              moment('started_at', null=True), moment('finished_at', null=True),
              moment('cancelled_at', null=True),
              unique=[uq('store_id', 'name', name='uq_campaign_store_name')],
              indexes={'ix_campaign_status_at': ['status', 'scheduled_at']}),
        table('richmenu',
              ident(), ref('store_id', 'store'), string('name', 80),
              string('line_richmenu_id', 80), string('layout'),
              ref('segment_id', 'segment', null=True), flag('is_default'), moment('created_at'),
              moment('removed_at', null=True),
              unique=[uq('store_id', 'name', name='uq_richmenu_store_name')]),
        table('campaign_batch',
              ident(), ref('campaign_id', 'campaign'), integer('seq'), string('kind', 10),
              string('retry_key', 36), string('status', 10), integer('size'), string('body'),
              string('request_id', 64, null=True), integer('attempts'),
              string('error', 300, null=True), moment('claimed_at', null=True),
              moment('sent_at', null=True),
              unique=[uq('campaign_id', 'seq', name='uq_campaign_batch_seq'), uq('retry_key')],
              indexes={'ix_campaign_batch_status': ['campaign_id', 'status']}),
        table('promo_code',
              ident(), ref('store_id', 'store'), ref('pool_id', 'promo_pool'), string('code', 64),
              ref('member_id', 'member', null=True),
              ref('follower_id', 'line_follower', null=True), moment('issued_at', null=True),
              moment('redeemed_at', null=True),
              unique=[uq('pool_id', 'follower_id', name='uq_promo_code_pool_follower'),
                      uq('pool_id', 'member_id', name='uq_promo_code_pool_member'),
                      uq('store_id', 'code', name='uq_promo_code_store_code')],
              indexes={'ix_promo_code_pool_free': ['pool_id', 'issued_at']}),
        table('richmenu_link',
              ref('follower_id', 'line_follower', autoincrement=False),
              ref('richmenu_id', 'richmenu'), moment('linked_at'), primary=['follower_id'],
              indexed=['richmenu_id']),
        table('survey_answer',
              ident(), ref('survey_id', 'survey'), ref('follower_id', 'line_follower', null=True),
              ref('member_id', 'member', null=True), string('answers'), moment('created_at'),
              unique=[uq('survey_id', 'follower_id', name='uq_survey_answer_follower')],
              indexes={'ix_survey_answer_survey_at': ['survey_id', 'created_at']}),
        add_columns('member_tag', string('kind', 8, server_default='chat')),
    ]


upgrade, downgrade = migration(_steps)
