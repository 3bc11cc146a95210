"""Frozen charter versions and their sign-off

Revision ID: 0003_signoff
Revises: 0002_api_tokens
Create Date: 2026-11-23

A frozen version and a recorded sign-off event never change: triggers refuse any UPDATE
(deletes stay possible, with their engagement). SQLite loses triggers when a batch
migration rebuilds the table: a later migration that alters these tables recreates them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_signoff"
down_revision: str | None = "0002_api_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


FROZEN_TABLES = ("charter_versions", "sign_off_events")


def upgrade() -> None:
    op.create_table(
        "charter_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.String(length=40), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("decision_data", sa.JSON(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("rules_version", sa.String(length=128), nullable=False),
        sa.Column("previous_version_id", sa.Integer(), nullable=True),
        sa.Column("previous_sha256", sa.String(length=64), nullable=True),
        sa.Column("frozen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("frozen_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagements.id"],
            name=op.f("fk_charter_versions_engagement_id_engagements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["frozen_by_id"],
            ["consultants.id"],
            name=op.f("fk_charter_versions_frozen_by_id_consultants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["previous_version_id"],
            ["charter_versions.id"],
            name=op.f("fk_charter_versions_previous_version_id_charter_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charter_versions")),
        sa.UniqueConstraint(
            "engagement_id", "number", name=op.f("uq_charter_versions_engagement_id")
        ),
    )
    with op.batch_alter_table("charter_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_charter_versions_document_id"), ["document_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_charter_versions_engagement_id"), ["engagement_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_charter_versions_sha256"), ["sha256"], unique=False)

    op.create_table(
        "sign_offs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sequential", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("sealed_pdf", sa.LargeBinary(), nullable=True),
        sa.Column("sealed_sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["charter_versions.id"],
            name=op.f("fk_sign_offs_version_id_charter_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_offs")),
        sa.UniqueConstraint("version_id", name=op.f("uq_sign_offs_version_id")),
    )
    with op.batch_alter_table("sign_offs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sign_offs_sealed_sha256"), ["sealed_sha256"], unique=False
        )

    op.create_table(
        "signatories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sign_off_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=120), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("link_created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=True),
        sa.Column("acted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["sign_off_id"],
            ["sign_offs.id"],
            name=op.f("fk_signatories_sign_off_id_sign_offs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signatories")),
        sa.UniqueConstraint("sign_off_id", "position", name=op.f("uq_signatories_sign_off_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_signatories_token_hash")),
    )
    with op.batch_alter_table("signatories", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signatories_sign_off_id"), ["sign_off_id"], unique=False
        )

    op.create_table(
        "sign_off_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sign_off_id", sa.Integer(), nullable=False),
        sa.Column("signatory_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=512), nullable=False),
        sa.Column("document_hash", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(
            ["sign_off_id"],
            ["sign_offs.id"],
            name=op.f("fk_sign_off_events_sign_off_id_sign_offs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["signatory_id"],
            ["signatories.id"],
            name=op.f("fk_sign_off_events_signatory_id_signatories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_off_events")),
    )
    with op.batch_alter_table("sign_off_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sign_off_events_sign_off_id"), ["sign_off_id"], unique=False
        )

    create_frozen_triggers()


def create_frozen_triggers() -> None:
    """Make the database refuse updates to frozen versions and recorded events."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION refuse_frozen_update() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'frozen: rows of % cannot be changed', TG_TABLE_NAME;
            END
            $$ LANGUAGE plpgsql
            """
        )
        for table in FROZEN_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_frozen BEFORE UPDATE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refuse_frozen_update()"
            )
    else:
        for table in FROZEN_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_frozen BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'frozen: rows of {table} cannot be changed'); END"
            )


def downgrade() -> None:
    for table in FROZEN_TABLES:
        op.execute(
            f"DROP TRIGGER IF EXISTS {table}_frozen"
            + (f" ON {table}" if op.get_bind().dialect.name == "postgresql" else "")
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS refuse_frozen_update()")
    with op.batch_alter_table("sign_off_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_off_events_sign_off_id"))

    op.drop_table("sign_off_events")
    with op.batch_alter_table("signatories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signatories_sign_off_id"))

    op.drop_table("signatories")
    with op.batch_alter_table("sign_offs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_offs_sealed_sha256"))

    op.drop_table("sign_offs")
    with op.batch_alter_table("charter_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_charter_versions_sha256"))
        batch_op.drop_index(batch_op.f("ix_charter_versions_engagement_id"))
        batch_op.drop_index(batch_op.f("ix_charter_versions_document_id"))

    op.drop_table("charter_versions")
