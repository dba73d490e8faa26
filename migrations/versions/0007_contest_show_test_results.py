"""contests.show_test_results: which per-test results contestants see (none, samples, all)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 06:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('contests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('show_test_results', sa.String(length=16),
                                      nullable=False, server_default='samples'))
    with op.batch_alter_table('contests', schema=None) as batch_op:
        batch_op.alter_column('show_test_results', server_default=None)  # the model has none


def downgrade() -> None:
    with op.batch_alter_table('contests', schema=None) as batch_op:
        batch_op.drop_column('show_test_results')
