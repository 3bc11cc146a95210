"""Charter fill-in fields saved with the engagement

Revision ID: 0004_charter_fields
Revises: 0003_signoff
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_charter_fields"
down_revision: str | None = "0003_signoff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("charter_fields", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.drop_column("charter_fields")
