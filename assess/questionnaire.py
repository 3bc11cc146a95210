"""The questionnaire's pages, and turning a complete answer set into a stored decision."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from assess import alignment, consensus
from assess.decision import Decision
from assess.engine import default_engine, evaluate, evaluate_respondents
from assess.factors import BY_KEY, FACTOR_KEYS, Factor
from assess.models import (
    JOINT,
    NOTE_MAX,
    PARTY_SIDES,
    SIDE_LABELS,
    Consultant,
    DecisionRecord,
    Engagement,
    Respondent,
    hold_row,
    utcnow,
)
from assess.schemas import load_answers
from assess.text import join_names


@dataclass(frozen=True)
class Page:
    title: str
    intro: str
    keys: tuple[str, ...]

    @property
    def factors(self) -> tuple[Factor, ...]:
        return tuple(BY_KEY[k] for k in self.keys)


# Two related factors per page keeps each page short on a phone and the whole
# questionnaire to five steps with the review.
PAGES: tuple[Page, ...] = (
    Page(
        "The work",
        "What you are making, and how much has to be settled before production starts.",
        ("innovation", "planning_complexity"),
    ),
    Page(
        "Resources and risk",
        "What you already have, and how much uncertainty you can carry.",
        ("resource_availability", "risk_tolerance"),
    ),
    Page(
        "Time",
        "How soon you must deliver, and how long you mean to work together.",
        ("timeline_pressure", "relationship_duration"),
    ),
    Page(
        "Working together",
        "How you intend to share creative decisions and how you like to work.",
        ("creative_collaboration", "iteration_readiness"),
    ),
)
REVIEW_STEP = len(PAGES) + 1
STEPS = REVIEW_STEP

assert sorted(k for p in PAGES for k in p.keys) == sorted(FACTOR_KEYS)


def page_of(step: int) -> Page:
    """Return the page for a 1-based step that holds questions."""
    return PAGES[step - 1]


def first_unanswered_step(answers: Mapping[str, int]) -> int:
    """Return the first step with an unanswered question, or the review step."""
    for number, page in enumerate(PAGES, start=1):
        if any(key not in answers for key in page.keys):
            return number
    return REVIEW_STEP


def missing(answers: Mapping[str, int]) -> list[str]:
    """Return the factor keys not answered yet, in questionnaire order."""
    return [k for p in PAGES for k in p.keys if k not in answers]


def decide(answers: Mapping[str, int], based_on: Decision | None = None) -> Decision:
    """Evaluate a complete answer set, tipping points included.

    Adjusting a decision made on several respondents' consensus keeps them: the changed
    answers become values the consultant agreed with the parties.
    """
    checked = load_answers(dict(answers))
    if based_on is None or based_on.alignment is None:
        return evaluate(checked, what_if=True)
    stored = based_on.alignment
    agreed = {**stored.agreed}
    agreed.update({k: v for k, v in checked.items() if v != stored.consensus[k]})
    return evaluate_respondents(stored.answer_sets(), agreed, stored.notes, what_if=True)


def current_rules_version() -> str:
    """Return the version stamp of the rules decisions are made with now."""
    return default_engine().rulebook.version


def answer_sets(respondents: list[Respondent]) -> list[alignment.Respondent]:
    """Each respondent's submitted answers, as a consensus combines them."""
    return [
        alignment.Respondent(r.name, r.side, load_answers(dict(r.answers))) for r in respondents
    ]


def decide_together(
    respondents: list[Respondent],
    agreed: Mapping[str, int] | None = None,
    notes: Mapping[str, str] | None = None,
) -> Decision:
    """Decide on the consensus of several respondents' submitted answers."""
    return evaluate_respondents(answer_sets(respondents), agreed, notes, what_if=True)


def record_decision(
    session: Session,
    engagement: Engagement,
    decision: Decision,
    *,
    respondent: Respondent | None = None,
    consultant: Consultant | None = None,
    note: str = "",
) -> DecisionRecord:
    """Add a snapshot of the decision to the session; a note too long is cut with an ellipsis."""
    if len(note) > NOTE_MAX:
        note = note[: NOTE_MAX - 1].rstrip() + "…"
    record = DecisionRecord(
        engagement=engagement,
        respondent=respondent,
        created_by=consultant,
        answers=dict(decision.answers),
        data=decision.to_dict(),
        model=decision.model,
        rules_version=decision.rules_version,
        note=note,
    )
    session.add(record)
    return record


# Answers reopened count too: a consensus without them would never be the engagement's
# decision (it has none while they are open), and would be out of date once they come back.
REOPENED_BLOCK = (
    "The answers of {} are open again, so a consensus now would leave them out. Decide on it "
    "once they are submitted again, or closed again as they were submitted."
)


def why_no_consensus(submitted: list[Respondent]) -> str | None:
    """Say why these submitted respondents cannot be combined into a consensus yet."""
    if len(submitted) < 2:
        return "A consensus needs at least two respondents who have submitted."
    # An intake session answers for both parties together.
    sides = [side for r in submitted for side in (PARTY_SIDES if r.side == JOINT else (r.side,))]
    missing = alignment.missing_sides(sides)
    if missing:
        return (
            "A consensus needs submitted answers from both sides; none has come from the "
            f"{SIDE_LABELS[missing[0]].lower()} yet."
        )
    return None


def carried_over(engagement: Engagement) -> consensus.Carried:
    """What a consensus decided now would keep of the newest one before it: the agreed
    levels and reasons on the factors whose answers have not changed."""
    people = answer_sets(engagement.submitted_respondents)
    return consensus.carry_over(engagement.latest_consensus, people)


def record_consensus(
    session: Session, engagement: Engagement, consultant: Consultant | None
) -> DecisionRecord:
    """Record the decision on the consensus of the respondents who have submitted, named
    after them, keeping what was agreed on answers that have not changed since the last
    consensus. The caller checks there are at least two and commits."""
    respondents = engagement.submitted_respondents
    named = [alignment.in_sentence(r.name, r.side) for r in respondents]
    carried = carried_over(engagement)
    engagement.updated_at = utcnow()
    return record_decision(
        session,
        engagement,
        decide_together(respondents, carried.agreed, carried.notes),
        consultant=consultant,
        note="Consensus of " + join_names(named),
    )


def hold_engagement(session: Session, engagement_id: int) -> None:
    """Hold an engagement's row until the commit: what its consultant and its respondents
    change in it at the same instant then happens one after the other, each seeing what the
    one before committed (an archive, a consensus, a reopening, a submission).

    Every request that changes an engagement's respondents holds the engagement first and
    the respondent after, so that two of them never wait for each other. One that holds a
    sign-off too holds it before the engagement (``signoff.hold_for_freeze``).
    """
    hold_row(session, Engagement, engagement_id, key_share=True)


def claim(session: Session, respondent: Respondent, *conditions: Any, **values: Any) -> bool:
    """Claim a respondent's row for a change: the engagement held first (``hold_engagement``),
    then one conditional update of the respondent's row, which holds it until the commit.
    Say whether it was claimed: the respondent still there, meeting ``conditions``, and the
    engagement not archived, as they are once every earlier change has committed."""
    hold_engagement(session, respondent.engagement_id)
    open_engagement = select(Engagement.id).where(Engagement.archived_at.is_(None))
    claimed = session.execute(
        update(Respondent)
        .where(
            Respondent.id == respondent.id,
            Respondent.engagement_id.in_(open_engagement),
            *conditions,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return getattr(claimed, "rowcount", 0) == 1


def save_answers(
    session: Session, respondent: Respondent, changes: Mapping[str, int], *, step: int | None = None
) -> dict[str, int] | None:
    """Merge changed answers into the stored ones, and store the page reached (the first
    with a question unanswered when that is the review), unless the answers were submitted
    meanwhile, from another tab, link or API client. Return all the answers now stored, or
    None when refused. The caller commits.

    The row is claimed first by a conditional update that holds it until the commit (a row
    lock on PostgreSQL, the write lock on SQLite): the answers read after it include a page
    another tab saved a moment before, and no other save lands between read and write.
    Nothing is saved once the engagement is archived, a moment ago included (``claim``).
    """
    if not claim(session, respondent, Respondent.submitted_at.is_(None), step=Respondent.step):
        return None
    stored = session.scalar(select(Respondent.answers).where(Respondent.id == respondent.id))
    merged = {**(stored or {}), **changes}
    values: dict[str, object] = {"answers": merged}
    if step is not None:
        values["step"] = first_unanswered_step(merged) if step == REVIEW_STEP else step
    session.execute(
        update(Respondent)
        .where(Respondent.id == respondent.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    respondent.engagement.updated_at = utcnow()
    return merged


def submit(session: Session, respondent: Respondent) -> DecisionRecord | None:
    """Lock the respondent's answers and record the decision they make, once: None when they
    were submitted already (a double click, two tabs, a retried request). The caller commits.

    The claim is one conditional update that holds the row: the answers read after it are
    the ones locked in, including a page saved a moment before. Nothing is submitted once
    the engagement is archived, a moment ago included (``claim``): None too.
    """
    submitting = Respondent.submitted_at.is_(None)
    if not claim(session, respondent, submitting, submitted_at=utcnow(), step=REVIEW_STEP):
        return None
    session.refresh(respondent)
    respondent.engagement.updated_at = utcnow()
    return record_decision(
        session, respondent.engagement, decide(respondent.answers), respondent=respondent
    )


# What closing reopened answers again came to.
CLOSED = "closed"
CLOSED_DISCARDING = "closed, changes discarded"
CHANGED = "changed"
NOT_REOPENED = "not reopened"
NOT_ON_RECORD = "submitted answers not on record"


def answers_seen(answers: Mapping[str, int]) -> str:
    """Name a set of answers in a form field, so a form can say which answers it showed."""
    return ",".join(f"{key}={level}" for key, level in sorted(answers.items()))


class Change(NamedTuple):
    """An answer changed since reopening and not submitted."""

    factor: Factor
    submitted: int
    current: int


def changes_since_reopening(respondent: Respondent) -> list[Change]:
    """The answers that differ from those submitted, factor by factor: what closing them
    again would discard; none when the submitted answers are not on record."""
    submitted = respondent.submitted_answers or {}
    current = respondent.answers
    return [
        Change(BY_KEY[key], submitted[key], current[key])
        for key in FACTOR_KEYS
        if key in submitted and current.get(key, submitted[key]) != submitted[key]
    ]


def close_again(session: Session, respondent: Respondent, seen: str | None = None) -> str:
    """Lock reopened answers again as they were submitted, storing no new decision: the way
    out when the respondent will not submit again. The caller commits.

    Answers changed since reopening are discarded only when ``seen`` names exactly the ones
    stored now (``answers_seen``): those the consultant was shown. Returns ``CLOSED``,
    ``CLOSED_DISCARDING`` (closed, changes discarded), or, with nothing done, ``CHANGED``
    (changes not seen), ``NOT_REOPENED`` (submitted meanwhile, or never reopened) or
    ``NOT_ON_RECORD`` (no decision keeps the answers as submitted, so they cannot be
    restored).

    The row is claimed first, as a save or a submit claims it: a page saved or answers
    submitted at this moment land either before the close, and are seen, or not at all.
    """
    reopened = (Respondent.submitted_at.is_(None), Respondent.reopened_at.is_not(None))
    if not claim(session, respondent, *reopened, step=Respondent.step):
        return NOT_REOPENED
    session.refresh(respondent)
    submitted = respondent.submitted_answers
    if submitted is None:
        return NOT_ON_RECORD
    unchanged = respondent.answers == submitted
    if not unchanged and seen != answers_seen(respondent.answers):
        return CHANGED
    now = utcnow()
    respondent.answers = submitted
    respondent.step = REVIEW_STEP
    respondent.submitted_at = now
    respondent.closed_again_at = now
    respondent.engagement.updated_at = now
    return CLOSED if unchanged else CLOSED_DISCARDING
