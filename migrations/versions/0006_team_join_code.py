"""teams.join_code (joining a team from the web pages), problems.statement_pdf_hash

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 06:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.add_column(sa.Column('join_code', sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint('uq_teams_join_code', ['join_code'])
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.add_column(sa.Column('statement_pdf_hash', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('problems', schema=None) as batch_op:
        batch_op.drop_column('statement_pdf_hash')
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.drop_constraint('uq_teams_join_code', type_='unique')
        batch_op.drop_column('join_code')
