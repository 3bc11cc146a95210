"""What a consultant does about a respondent, from the engagement page and the API alike:
removing one who will not answer, reopening submitted answers and closing them again. Who
may be removed and what goes with them, when answers reopen or close, and the line the
engagement's history keeps of each."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from assess import questionnaire
from assess.alignment import in_sentence
from assess.models import (
    ANSWERS_CLOSED,
    ANSWERS_CLOSED_DISCARDING,
    ANSWERS_REOPENED,
    PARTY_SIDES,
    RESPONDENT_REMOVED,
    Consultant,
    DecisionRecord,
    Engagement,
    EngagementEvent,
    Respondent,
    utcnow,
)
from assess.text import same_name


@dataclass(frozen=True)
class Refusal:
    """Why a respondent stays: a sentence with ``{}`` where their name goes, so a page can
    set the name apart from the sentence and the API can print it as it is."""

    sentence: str
    name: str = ""
    side: str = ""

    @property
    def text(self) -> str:
        # An intake session is named as the session it is, not as a person.
        start = self.sentence.startswith("{}")
        return self.sentence.format(in_sentence(self.name, self.side, start=start))


GONE = Refusal("That respondent is no longer part of this engagement.")


@dataclass(frozen=True)
class Removal:
    event: EngagementEvent
    # The side nobody answers for any more, if the respondent was its last.
    side_left: str | None


def already_invited(engagement: Engagement, name: str, side: str) -> Respondent | None:
    """Return the respondent already invited under this name for this side, if any.

    A second one would be the same person twice: a form or request sent again (whose first
    link was never seen) or forgotten. Consensus and history tell respondents apart by name
    and side, so the same person is invited once and gets a new link when they need one.
    """
    return next(
        (
            r
            for r in engagement.respondents
            if not r.facilitated and r.side == side and same_name(r.name, name)
        ),
        None,
    )


def why_not_removable(respondent: Respondent) -> Refusal | None:
    """Say why a respondent must stay: submitted answers, or answers a stored decision used
    (reopened after submitting: the decision still names them)."""
    if respondent.facilitated and (respondent.submitted_at or respondent.decisions):
        return Refusal(
            "This intake session was finished and a decision rests on its answers, so it "
            "stays with the engagement."
        )
    if respondent.submitted_at is not None:
        return Refusal(
            "{} has submitted their answers, so they stay with the engagement. Reopen their "
            "answers if they need to change them.",
            respondent.name,
            respondent.side,
        )
    if respondent.decisions:
        return Refusal(
            "{}'s answers were submitted before they were reopened, and stored decisions rest "
            "on them, so they stay with the engagement. Their link leads back to the review "
            "page, where they can submit again; or close their answers again as they were "
            "submitted.",
            respondent.name,
            respondent.side,
        )
    return None


def side_left_without(engagement: Engagement, respondent: Respondent) -> str | None:
    """Return the side that would have nobody answering for it without this respondent."""
    if respondent.side not in PARTY_SIDES:
        return None
    others = [
        r
        for r in engagement.respondents
        if r.id != respondent.id and not r.facilitated and r.side == respondent.side
    ]
    return None if others else respondent.side


def remove_respondent(
    session: Session, respondent: Respondent, consultant: Consultant, *, via: str
) -> Removal | Refusal:
    """Remove a respondent who has not submitted, with their saved answers and links, and
    record it in the engagement's history: one who will not answer no longer holds up the
    engagement. The caller commits a removal; a refusal has rolled the session back.

    The row is claimed like a save or a submit, so a submit on their link at this moment
    either lands first (and they stay) or waits and finds them gone. The claim also decides
    the refusals: the respondent as loaded may predate a submit that just landed.
    """
    respondent_id = respondent.id
    questionnaire.hold_engagement(session, respondent.engagement_id)
    claimed = session.execute(
        update(Respondent)
        .where(Respondent.id == respondent_id, Respondent.submitted_at.is_(None))
        .values(step=Respondent.step)
        .execution_options(synchronize_session=False)
    )
    decided_on = session.scalar(
        select(func.count(DecisionRecord.id)).where(DecisionRecord.respondent_id == respondent_id)
    )
    if getattr(claimed, "rowcount", 0) != 1 or decided_on:
        # Submitted, decided on, or removed by another request: say why from the row as
        # it is now.
        session.rollback()
        current = session.get(Respondent, respondent_id)
        return (why_not_removable(current) if current else None) or GONE
    engagement = respondent.engagement
    side_left = side_left_without(engagement, respondent)
    event = engagement.record(RESPONDENT_REMOVED, consultant.display_name, via, respondent)
    engagement.respondents.remove(respondent)
    engagement.updated_at = utcnow()
    return Removal(event, side_left)


def not_submitted(respondent: Respondent) -> Refusal:
    return Refusal(
        "{}'s answers are not submitted, so there is nothing to reopen.",
        respondent.name,
        respondent.side,
    )


def reopen_answers(
    session: Session, respondent: Respondent, consultant: Consultant, *, via: str
) -> Refusal | EngagementEvent:
    """Unlock submitted answers so the respondent can change them, and record it in the
    engagement's history; until they submit again or their answers are closed again, the
    engagement has no decision. The caller commits a reopening; a refusal (not submitted:
    never, or no longer after a second click) has rolled the session back.

    One conditional update unlocks the row, so two reopenings at once record one.
    """
    refusal = not_submitted(respondent)  # worded now: a rollback expires the respondent
    questionnaire.hold_engagement(session, respondent.engagement_id)
    unlocked = session.execute(
        update(Respondent)
        .where(Respondent.id == respondent.id, Respondent.submitted_at.is_not(None))
        .values(submitted_at=None, reopened_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(unlocked, "rowcount", 0) != 1:
        session.rollback()
        return refusal
    session.refresh(respondent)
    engagement = respondent.engagement
    engagement.updated_at = utcnow()
    return engagement.record(ANSWERS_REOPENED, consultant.display_name, via, respondent)


def not_open_again(respondent: Respondent) -> Refusal:
    return Refusal(
        "{}'s answers are not open again, so there is nothing to close.",
        respondent.name,
        respondent.side,
    )


def not_on_record(respondent: Respondent) -> Refusal:
    return Refusal(
        "{}'s answers as submitted are not on record, so they cannot be restored. They can "
        "submit their answers again from their link.",
        respondent.name,
        respondent.side,
    )


def why_not_closable(respondent: Respondent) -> Refusal | None:
    """Say why a respondent's answers cannot be closed again: not reopened, or no decision
    keeps them as they were submitted."""
    if respondent.submitted_at is not None or respondent.reopened_at is None:
        return not_open_again(respondent)
    if respondent.submitted_answers is None:
        return not_on_record(respondent)
    return None


@dataclass(frozen=True)
class Unseen:
    """Answers changed since reopening that the caller has not been shown, so nothing was
    closed: the changes, and the ``answers_seen`` that discards exactly them."""

    changes: list[questionnaire.Change]
    seen: str


def close_answers_again(
    session: Session,
    respondent: Respondent,
    consultant: Consultant,
    *,
    via: str,
    seen: str | None = None,
) -> EngagementEvent | Unseen | Refusal:
    """Close reopened answers again as they were submitted (``questionnaire.close_again``)
    and record it in the engagement's history. Answers changed since reopening are discarded
    only when ``seen`` names the answers stored now; otherwise the changes come back as
    ``Unseen``. The caller commits a closing; ``Unseen`` and a refusal have rolled the
    session back.
    """
    # Worded now: a rollback expires the respondent.
    refusals = {
        questionnaire.NOT_REOPENED: not_open_again(respondent),
        questionnaire.NOT_ON_RECORD: not_on_record(respondent),
    }
    outcome = questionnaire.close_again(session, respondent, seen)
    if outcome == questionnaire.CHANGED:
        # Read under the claim, before the rollback: the changes listed are exactly those
        # the token names.
        unseen = Unseen(
            questionnaire.changes_since_reopening(respondent),
            questionnaire.answers_seen(respondent.answers),
        )
        session.rollback()
        return unseen
    if outcome in refusals:
        session.rollback()
        return refusals[outcome]
    action = ANSWERS_CLOSED if outcome == questionnaire.CLOSED else ANSWERS_CLOSED_DISCARDING
    engagement = respondent.engagement
    return engagement.record(action, consultant.display_name, via, respondent)
