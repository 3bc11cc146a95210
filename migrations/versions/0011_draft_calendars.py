"""The review series of the draft calendars an engagement's consultant downloaded

Revision ID: 0011_draft_calendars
Revises: 0010_frozen_calendars
Create Date: 2026-12-07

A calendar that imported a draft's file holds its reviews, though no version froze them:
the next draft's file and the next frozen version's cancel those they no longer set, from
the series kept here. Engagements start with none kept.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_draft_calendars"
down_revision: str | None = "0010_frozen_calendars"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("draft_calendars", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("engagements", schema=None) as batch_op:
        batch_op.drop_column("draft_calendars")
