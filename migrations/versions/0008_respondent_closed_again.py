"""When a consultant closed reopened answers again without a new submission

Revision ID: 0008_respondent_closed_again
Revises: 0007_engagement_events
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_respondent_closed_again"
down_revision: str | None = "0007_engagement_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("respondents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_again_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("respondents", schema=None) as batch_op:
        batch_op.drop_column("closed_again_at")
