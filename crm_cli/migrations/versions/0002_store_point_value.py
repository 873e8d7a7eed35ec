"""store.point_value: the THB value of one point, set by the store for the liability report
(2026-11-25)."""
import sqlalchemy as sa

import crm_cli.db.types
from crm_cli.migrations.helpers import Step, add_columns, migration

revision, down_revision = '0002_store_point_value', '0001_initial'


def _steps() -> list[Step]:
    return [add_columns('store', sa.Column('point_value', crm_cli.db.types.PointValue(), nullable=True))]


upgrade, downgrade = migration(_steps)
