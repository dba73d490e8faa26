"""rejudging scope and counts, the verdict a rejudge replaced

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('rejudgings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('problem_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('submission_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('verdicts', sa.JSON(), nullable=False,
                                      server_default=sa.text("'[]'")))
        batch_op.add_column(sa.Column('submission_count', sa.Integer(), nullable=False,
                                      server_default=sa.text('0')))
        batch_op.create_foreign_key(batch_op.f('fk_rejudgings_problem_id_problems'), 'problems',
                                    ['problem_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_rejudgings_submission_id_submissions'),
                                    'submissions', ['submission_id'], ['id'],
                                    ondelete='SET NULL')
    with op.batch_alter_table('judgings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verdict_before', sa.String(length=8), nullable=True))
    # The defaults only filled existing rows; the models give every new row its values.
    with op.batch_alter_table('rejudgings', schema=None) as batch_op:
        batch_op.alter_column('verdicts', server_default=None)
        batch_op.alter_column('submission_count', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('judgings', schema=None) as batch_op:
        batch_op.drop_column('verdict_before')
    with op.batch_alter_table('rejudgings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_rejudgings_submission_id_submissions'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_rejudgings_problem_id_problems'),
                                 type_='foreignkey')
        batch_op.drop_column('submission_count')
        batch_op.drop_column('verdicts')
        batch_op.drop_column('submission_id')
        batch_op.drop_column('problem_id')
