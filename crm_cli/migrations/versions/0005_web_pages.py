"""Member and staff pages: the server's signing secrets (shared by every `crm serve`
process on one database), rate-limit hits, and the LINE user behind a member or a
staff member (LINE Login) (2026-11-30)."""
from crm_cli.migrations.helpers import Step, add_columns, ident, migration, moment, string, table, uq

revision, down_revision = '0005_web_pages', '0004_reward_order_discount_key'


def _steps() -> list[Step]:
    return [
        table('web_secret', string('name', 40), string('value', 128), moment('created_at'), primary=['name']),
        table('rate_hit', ident(), string('bucket', 120), moment('at'),
              indexes={'ix_rate_hit_bucket_at': ['bucket', 'at']}),
        *(add_columns(people, string('line_user_id', 33, null=True),
                      unique=[uq('store_id', 'line_user_id', name=f'uq_{people}_store_line_user')])
          for people in ('member', 'staff')),
    ]


upgrade, downgrade = migration(_steps)
