"""reward.position (display order; 0 = none: listed after the positioned ones, by cost),
reward.discount_amount / discount_percent (shown on coupons), redemption.idem_key +
fingerprint (reward redeem --key: the same key redeems once) (2026-11-29)."""
from crm_cli.migrations.helpers import Step, add_columns, integer, migration, money, string, uq

revision, down_revision = '0004_reward_order_discount_key', '0003_line'


def _steps() -> list[Step]:
    return [
        add_columns('reward', integer('position', server_default='0'),
                    money('discount_amount', null=True), money('discount_percent', null=True)),
        add_columns('redemption', string('idem_key', 200, null=True), string('fingerprint', 64, null=True),
                    unique=[uq('store_id', 'idem_key', name='uq_redemption_idem')]),
    ]


upgrade, downgrade = migration(_steps)
