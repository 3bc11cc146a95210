"""Deleting an engagement for good, from its page and the API alike: its respondents, their
answers and links, its decisions, charter versions, sign-offs and history all go with it.

Only an archived engagement can be deleted, so that one click on a busy page never loses a
client's work. One whose charter was signed is deleted only when the consultant says that
the contract the signed charter is annexed to has ended: until then the verify page
confirms the charter against the service's record; afterwards the parties' sealed copies
check out on their seal alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from assess.models import SIGNOFF_SIGNED, CharterVersion, Engagement, SignOff, hold_row

NOT_ARCHIVED = "Archive the engagement first: only an archived engagement can be deleted."
SIGNED = (
    "Its charter was signed: the signed charter is an annex to the partnership contract, so "
    "the engagement is deleted only once that contract has ended, and only when that is "
    "confirmed."
)


@dataclass(frozen=True)
class Contents:
    """What deleting an engagement takes with it, counted for the page that asks first."""

    respondents: int
    decisions: int
    charter_versions: int
    signed_versions: int


def why_not_deletable(engagement: Engagement, *, contract_ended: bool = False) -> str | None:
    """Say why the engagement may not be deleted, or None if it may.

    ``contract_ended``: the consultant confirmed that the contract a signed charter is
    annexed to has ended; it changes nothing for an engagement whose charter was not signed.
    """
    if engagement.archived_at is None:
        return NOT_ARCHIVED
    if engagement.signed_at is not None and not contract_ended:
        return SIGNED
    return None


def contents(session: Session, engagement: Engagement) -> Contents:
    versions = select(func.count()).where(CharterVersion.engagement_id == engagement.id)
    signed = (
        select(func.count())
        .select_from(CharterVersion)
        .join(SignOff, SignOff.version_id == CharterVersion.id)
        .where(CharterVersion.engagement_id == engagement.id, SignOff.status == SIGNOFF_SIGNED)
    )
    return Contents(
        respondents=len(engagement.respondents),
        decisions=len(engagement.decisions),
        charter_versions=session.scalar(versions) or 0,
        signed_versions=session.scalar(signed) or 0,
    )


def delete_engagement(
    session: Session, engagement: Engagement, *, contract_ended: bool = False
) -> str | None:
    """Delete the engagement and everything in it, unless it may not be (return why).

    The engagement's row is held first, so that a restore or a signature committed a moment
    before is seen; the database's cascades then delete every row that refers to it, in the
    same transaction.
    """
    hold_row(session, Engagement, engagement.id)
    session.refresh(engagement)
    refusal = why_not_deletable(engagement, contract_ended=contract_ended)
    if refusal is None:
        session.execute(delete(Engagement).where(Engagement.id == engagement.id))
    return refusal
