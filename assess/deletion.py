"""Deleting an engagement for good, from its page and the API alike: its respondents, their
answers and links, its decisions, charter versions, sign-offs and history all go with it.

Only an archived engagement can be deleted, so that one click on a busy page never loses a
client's work; and never one whose charter was signed: the signed charter is an annex to the
partners' contract, which the verify page confirms by its document id for as long as the
contract runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from assess.models import CharterVersion, Engagement, hold_row

NOT_ARCHIVED = "Archive the engagement first: only an archived engagement can be deleted."
SIGNED = (
    "Its charter was signed, so the engagement is kept: the signed charter is an annex to "
    "the partnership contract, and the verify page confirms it by its document ID."
)


@dataclass(frozen=True)
class Contents:
    """What deleting an engagement takes with it, counted for the page that asks first."""

    respondents: int
    decisions: int
    charter_versions: int


def why_not_deletable(engagement: Engagement) -> str | None:
    if engagement.signed_at is not None:
        return SIGNED
    if engagement.archived_at is None:
        return NOT_ARCHIVED
    return None


def contents(session: Session, engagement: Engagement) -> Contents:
    versions = select(func.count()).where(CharterVersion.engagement_id == engagement.id)
    return Contents(
        respondents=len(engagement.respondents),
        decisions=len(engagement.decisions),
        charter_versions=session.scalar(versions) or 0,
    )


def delete_engagement(session: Session, engagement: Engagement) -> str | None:
    """Delete the engagement and everything in it, unless it may not be (return why).

    The engagement's row is held first, so that a restore or a signature committed a moment
    before is seen; the database's cascades then delete every row that refers to it, in the
    same transaction.
    """
    hold_row(session, Engagement, engagement.id)
    session.refresh(engagement)
    refusal = why_not_deletable(engagement)
    if refusal is None:
        session.execute(delete(Engagement).where(Engagement.id == engagement.id))
    return refusal
