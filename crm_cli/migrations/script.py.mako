"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""
from alembic import op
import sqlalchemy as sa

import crm_cli.db.types
${imports if imports else ""}
# crm_cli.migrations.helpers has the column, table and index builders the other scripts use
# (`upgrade, downgrade = migration(steps)` writes the downgrade as the reverse of the upgrade).

revision, down_revision = ${repr(up_revision)}, ${repr(down_revision)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
