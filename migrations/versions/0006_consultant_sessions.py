"""Signing out ends a consultant's sessions on every device

Revision ID: 0006_consultant_sessions
Revises: 0005_signoff_public_url
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_consultant_sessions"
down_revision: str | None = "0005_signoff_public_url"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consultants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("consultants", schema=None) as batch_op:
        batch_op.drop_column("session_generation")
