"""leaderboards: a public flag (private ones are read by staff only)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 01:15:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('leaderboards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('public', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
    # The default only filled existing rows; the model gives every new row its value.
    with op.batch_alter_table('leaderboards', schema=None) as batch_op:
        batch_op.alter_column('public', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('leaderboards', schema=None) as batch_op:
        batch_op.drop_column('public')
