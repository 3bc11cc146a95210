"""The address a sign-off's sealed charter links to

Revision ID: 0005_signoff_public_url
Revises: 0004_charter_fields
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_signoff_public_url"
down_revision: str | None = "0004_charter_fields"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sign_offs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_url", sa.String(length=2048), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sign_offs", schema=None) as batch_op:
        batch_op.drop_column("public_url")
