"""A decision's models and the answers a consensus combines, as columns

Revision ID: 0009_decision_columns
Revises: 0008_respondent_closed_again
Create Date: 2026-12-06

Lists and statuses read them instead of each decision's stored document. Filled in here
from the documents already stored, the way the app fills them for a new decision.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009_decision_columns"
down_revision: str | None = "0008_respondent_closed_again"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500


def answer_sets_digest(alignment: dict[str, Any]) -> str:
    """As assess.models.answer_sets_digest of the answer sets an alignment combined."""
    factors = alignment["factors"]
    sets = sorted(
        (r["name"], r["side"], sorted((key, a["values"][i]) for key, a in factors.items()))
        for i, r in enumerate(alignment["respondents"])
    )
    text = json.dumps(sets, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("components", sa.String(length=100), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("answer_sets_digest", sa.String(length=64), nullable=True))
    decisions = sa.table(
        "decisions",
        sa.column("id", sa.Integer()),
        sa.column("data", sa.JSON()),
        sa.column("components", sa.String()),
        sa.column("answer_sets_digest", sa.String()),
    )
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(decisions.c.id, decisions.c.data)
            .where(decisions.c.id > last)
            .order_by(decisions.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        for row_id, data in rows:
            alignment = data.get("alignment")
            connection.execute(
                decisions.update()
                .where(decisions.c.id == row_id)
                .values(
                    components=",".join(data.get("components", ())),
                    answer_sets_digest=answer_sets_digest(alignment) if alignment else None,
                )
            )
        last = rows[-1][0]
    # The default only filled the rows stored before; the app sets the column on every new row.
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.alter_column("components", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_column("answer_sets_digest")
        batch_op.drop_column("components")
