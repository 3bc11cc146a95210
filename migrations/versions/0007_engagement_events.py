"""An engagement's history: respondents removed, by whom and when

Revision ID: 0007_engagement_events
Revises: 0006_consultant_sessions
Create Date: 2026-12-04

Like a sign-off's events, a recorded step never changes: a trigger refuses any UPDATE
(deletes stay possible, with their engagement). On PostgreSQL it calls the function that
0003_signoff created for the frozen tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_engagement_events"
down_revision: str | None = "0006_consultant_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "engagement_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("respondent_name", sa.String(length=120), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagements.id"],
            name=op.f("fk_engagement_events_engagement_id_engagements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagement_events")),
    )
    with op.batch_alter_table("engagement_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_engagement_events_engagement_id"), ["engagement_id"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER engagement_events_frozen BEFORE UPDATE ON engagement_events "
            "FOR EACH ROW EXECUTE FUNCTION refuse_frozen_update()"
        )
    else:
        op.execute(
            "CREATE TRIGGER engagement_events_frozen BEFORE UPDATE ON engagement_events BEGIN "
            "SELECT RAISE(ABORT, 'frozen: rows of engagement_events cannot be changed'); END"
        )


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER IF EXISTS engagement_events_frozen"
        + (" ON engagement_events" if op.get_bind().dialect.name == "postgresql" else "")
    )
    with op.batch_alter_table("engagement_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_engagement_events_engagement_id"))
    op.drop_table("engagement_events")
