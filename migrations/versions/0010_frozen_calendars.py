"""A frozen version's review calendar, kept with it like its PDF

Revision ID: 0010_frozen_calendars
Revises: 0009_decision_columns
Create Date: 2026-12-06

A version frozen from now on keeps its review series and the exact iCalendar file made from
them when it was frozen: its calendar is served as stored, never worked out again, and a
later version's calendar cancels the reviews it drops from the series stored here.

Versions frozen before this change keep the schedule the code gives at upgrade time: their
series and file are made here by assess's own calendar code, as a download made them until
now (stamped with the time of the freeze, cancelling what earlier versions set and they
drop), and stay so through every later upgrade. Their fields are read as they were frozen,
though a check added since refuses them (a character the charter's fonts lack): the upgrade
does not stop at a version the app still serves. Where the scheduling rules changed between
such a version's freeze and the upgrade (reviews on a weekend moving to the Monday), its
file gives the dates it gave at its last download, not those its PDF prints.

A frozen version cannot be changed: the trigger that refuses updates is dropped for the
filling in and created again once the columns are complete, within the migration's
transaction. SQLite drops it anyway when the batch migration rebuilds the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0010_frozen_calendars"
down_revision: str | None = "0009_decision_columns"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 200


def drop_frozen_trigger() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.execute(
        "DROP TRIGGER IF EXISTS charter_versions_frozen"
        + (" ON charter_versions" if postgresql else "")
    )


def create_frozen_trigger() -> None:
    """As 0003_signoff made it (on PostgreSQL its function is still there)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER charter_versions_frozen BEFORE UPDATE ON charter_versions "
            "FOR EACH ROW EXECUTE FUNCTION refuse_frozen_update()"
        )
    else:
        op.execute(
            "CREATE TRIGGER charter_versions_frozen BEFORE UPDATE ON charter_versions BEGIN "
            "SELECT RAISE(ABORT, 'frozen: rows of charter_versions cannot be changed'); END"
        )


def upgrade() -> None:
    with op.batch_alter_table("charter_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_series", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("calendar_ics", sa.LargeBinary(), nullable=True))
    drop_frozen_trigger()
    fill_in()
    with op.batch_alter_table("charter_versions", schema=None) as batch_op:
        batch_op.alter_column("review_series", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("calendar_ics", existing_type=sa.LargeBinary(), nullable=False)
    create_frozen_trigger()


def fill_in() -> None:
    """Give each stored version the series and file a download gave it until now, in the
    order of its engagement's versions: each cancels what the earlier ones set and it drops."""
    from assess import charter
    from assess.charter import calendar
    from assess.decision import Decision

    versions = sa.table(
        "charter_versions",
        sa.column("id", sa.Integer()),
        sa.column("engagement_id", sa.Integer()),
        sa.column("number", sa.Integer()),
        sa.column("decision_data", sa.JSON()),
        sa.column("fields", sa.JSON()),
        sa.column("frozen_at", sa.DateTime(timezone=True)),
        sa.column("review_series", sa.JSON()),
        sa.column("calendar_ics", sa.LargeBinary()),
    )
    engagements = sa.table(
        "engagements", sa.column("id", sa.Integer()), sa.column("consultant_id", sa.Integer())
    )
    consultants = sa.table(
        "consultants",
        sa.column("id", sa.Integer()),
        sa.column("name", sa.String()),
        sa.column("email", sa.String()),
    )
    connection = op.get_bind()
    organizer: calendar.Organizer | None = None
    engagement, number = -1, -1
    earlier: list[Any] = []
    while True:
        rows = connection.execute(
            sa.select(
                versions.c.id,
                versions.c.engagement_id,
                versions.c.number,
                versions.c.decision_data,
                versions.c.fields,
                versions.c.frozen_at,
            )
            .where(
                sa.or_(
                    versions.c.engagement_id > engagement,
                    sa.and_(versions.c.engagement_id == engagement, versions.c.number > number),
                )
            )
            .order_by(versions.c.engagement_id, versions.c.number)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        for row_id, engagement_id, row_number, data, fields, frozen_at in rows:
            if engagement_id != engagement:
                earlier = []
                # Its events name the consultant whose engagement it is, as a freeze's do.
                name, email = connection.execute(
                    sa.select(consultants.c.name, consultants.c.email)
                    .join(engagements, engagements.c.consultant_id == consultants.c.id)
                    .where(engagements.c.id == engagement_id)
                ).one()
                organizer = calendar.Organizer(name or "", email)
            engagement, number = engagement_id, row_number
            details = charter.frozen_details(fields)
            series, ics = charter.kept_calendar(
                Decision.from_dict(data),
                details,
                stamped_at=_in_utc(frozen_at),
                draft=False,
                earlier=earlier,
                organizer=organizer,
            )
            earlier.append(charter.earlier_calendar(details, series))
            connection.execute(
                versions.update()
                .where(versions.c.id == row_id)
                .values(review_series=calendar.series_to_json(series), calendar_ics=ics)
            )


def _in_utc(moment: datetime) -> datetime:
    """SQLite gives the stored UTC time back without its offset."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def downgrade() -> None:
    drop_frozen_trigger()
    with op.batch_alter_table("charter_versions", schema=None) as batch_op:
        batch_op.drop_column("calendar_ics")
        batch_op.drop_column("review_series")
    create_frozen_trigger()
