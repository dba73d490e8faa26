"""submissions: an index for first solvers and solve counts (contest, verdict, problem, time)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 04:35:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.create_index('ix_submissions_contest_verdict_problem',
                              ['contest_id', 'verdict', 'problem_id', 'submitted_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_submissions_contest_verdict_problem')
