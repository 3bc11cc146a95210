"""A consultant's engagements, one page at a time: what the web list and the API list share."""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session, load_only, selectinload

from assess.models import (
    SIGNOFF_PENDING,
    SIGNOFF_PREPARING,
    CharterVersion,
    DecisionRecord,
    Engagement,
    Party,
    Respondent,
    Signatory,
    SignOff,
)

PAGE_SIZE = 25
SEARCH_MAX = 100


def search_words(text: str) -> list[str]:
    """Return the words of a search, without characters no name holds (a NUL breaks SQL)."""
    printable = "".join(c if c.isprintable() else " " for c in text[:SEARCH_MAX])
    return printable.split()


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def engagements_query(
    consultant_id: int, *, archived: bool | None = None, search: str = ""
) -> Select[Engagement]:
    """Return the consultant's engagements, newest activity first.

    ``archived`` keeps only archived (True) or current (False) ones; every word of ``search``
    must appear, in any case, in the project, the client organisation or a party's name.
    """
    query = select(Engagement).where(Engagement.consultant_id == consultant_id)
    if archived is not None:
        state = Engagement.archived_at
        query = query.where(state.is_not(None) if archived else state.is_(None))
    for word in search_words(search):
        pattern = _like(word)
        query = query.where(
            or_(
                Engagement.project_name.ilike(pattern, escape="\\"),
                Engagement.client_organisation.ilike(pattern, escape="\\"),
                Engagement.parties.any(Party.name.ilike(pattern, escape="\\")),
            )
        )
    return query.order_by(Engagement.updated_at.desc(), Engagement.id.desc())


@dataclass(frozen=True)
class EngagementPage:
    items: list[Engagement]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.size))

    @property
    def first(self) -> int:
        """Position of the first item shown, counting from 1 (0 when there is none)."""
        return (self.number - 1) * self.size + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1 if self.items else 0


def engagement_count(session: Session, query: Select[Engagement]) -> int:
    """Return how many engagements the query finds."""
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def engagement_page(
    session: Session, query: Select[Engagement], number: int, size: int = PAGE_SIZE
) -> EngagementPage:
    """Return one page of the query (empty past the last one) with what showing each
    engagement's status needs loaded in one go."""
    total = engagement_count(session, query)
    offset = (number - 1) * size
    if offset >= total:  # also keeps an absurd page number away from the database
        return EngagementPage([], number, size, total)
    items = session.scalars(
        query.options(
            selectinload(Engagement.parties),
            selectinload(Engagement.respondents).selectinload(Respondent.invitations),
            # A decision's columns tell the status and title; its document stays unread.
            selectinload(Engagement.decisions).load_only(
                DecisionRecord.respondent_id,
                DecisionRecord.model,
                DecisionRecord.components,
                DecisionRecord.answer_sets_digest,
            ),
            # Whether the newest version awaits its signatories; no frozen document is read.
            selectinload(Engagement.charter_versions)
            .load_only(
                CharterVersion.engagement_id, CharterVersion.number, CharterVersion.decision_id
            )
            .selectinload(CharterVersion.sign_off)
            .load_only(SignOff.status),
        )
        .limit(size)
        .offset(offset)
    ).all()
    _load_what_staleness_reads(session, list(items))
    return EngagementPage(list(items), number, size, total)


def _load_what_staleness_reads(session: Session, engagements: list[Engagement]) -> None:
    """Load at once, for the whole page, what telling whether a newest version's open
    sign-off was overtaken reads (``Engagement.sign_off_overtaken``) where the engagement's
    decision being the one frozen does not settle it: the decision as frozen and the
    engagement's decisions. Most pages need none of it, and read no document."""
    versions = []
    for engagement in engagements:
        newest = engagement.charter_versions[-1] if engagement.charter_versions else None
        if newest is None or newest.sign_off.status not in (SIGNOFF_PREPARING, SIGNOFF_PENDING):
            continue
        decided = engagement.decision_of_record
        if decided is None or decided.id != newest.decision_id:
            versions.append(newest)
    if not versions:
        return
    # Attributes not loaded yet on objects already in the session are filled in place.
    session.scalars(
        select(CharterVersion)
        .where(CharterVersion.id.in_([v.id for v in versions]))
        .options(load_only(CharterVersion.decision_data))
    ).all()
    session.scalars(
        select(DecisionRecord).where(
            DecisionRecord.engagement_id.in_([v.engagement_id for v in versions])
        )
    ).all()


@dataclass(frozen=True)
class SignOffProgress:
    """Where the newest frozen charter version of an engagement stands with its signatories."""

    version: int
    status: str
    approved: int
    signatories: int


def sign_off_progress(session: Session, engagement_ids: list[int]) -> dict[int, SignOffProgress]:
    """Return the newest version's sign-off progress per engagement, in one query (the list
    shows it without loading any version's PDF)."""
    if not engagement_ids:
        return {}
    newest = (
        select(CharterVersion.engagement_id, func.max(CharterVersion.number).label("number"))
        .where(CharterVersion.engagement_id.in_(engagement_ids))
        .group_by(CharterVersion.engagement_id)
        .subquery()
    )
    approved = func.count(case((Signatory.action == "approved", Signatory.id)))
    rows = session.execute(
        select(
            CharterVersion.engagement_id,
            CharterVersion.number,
            SignOff.status,
            approved,
            func.count(Signatory.id),
        )
        .join(
            newest,
            (newest.c.engagement_id == CharterVersion.engagement_id)
            & (newest.c.number == CharterVersion.number),
        )
        .join(SignOff, SignOff.version_id == CharterVersion.id)
        .outerjoin(Signatory, Signatory.sign_off_id == SignOff.id)
        .group_by(CharterVersion.engagement_id, CharterVersion.number, SignOff.status)
    )
    return {row[0]: SignOffProgress(*row[1:]) for row in rows}
