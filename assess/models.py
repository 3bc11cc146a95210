"""Stored data: consultants, engagements, respondents, invitations, decisions and sign-offs."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    TypeDecorator,
    UniqueConstraint,
    event,
    select,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    selectinload,
    validates,
)

from assess import partnership
from assess.alignment import CREATOR as CREATOR
from assess.alignment import JOINT as JOINT
from assess.alignment import PRODUCER as PRODUCER
from assess.alignment import SIDE_LABELS as SIDE_LABELS
from assess.alignment import SIDES, Alignment
from assess.alignment import Respondent as AlignedRespondent
from assess.decision import Decision

# Field limits shared by the database columns and the form schemas.
NAME_MAX = 120
ROLE_MAX = 120
# A decision's note: where it came from ("Consensus of ..."), or what was agreed.
NOTE_MAX = 200
PROJECT_MAX = 200
ORGANISATION_MAX = 200
EMAIL_MAX = 254
# A decision's models, comma-separated: a hybrid's two model keys.
COMPONENTS_MAX = 100
# The largest id a key can hold: keys are 32-bit on some backends, so a larger id in a
# path names nothing, and is not sent to a database that would refuse it as out of range.
MAX_ID = 2**31 - 1

PARTY_SIDES: tuple[str, ...] = SIDES

# Engagement statuses in the order an engagement moves through them. "Awaiting sign-off":
# the newest charter version's links are out and it waits for its signatories' approvals,
# which no newer decision has made impossible (``Engagement.status`` says when each holds).
STATUSES: tuple[str, ...] = (
    "new",
    "invited",
    "in progress",
    "answered",
    "decided",
    "charter drafted",
    "awaiting sign-off",
    "signed",
)


def utcnow() -> datetime:
    """Return the current time in UTC, timezone-aware."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Store aware datetimes in UTC and give them back aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use assess.models.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    # Named constraints keep migrations reproducible across SQLite and PostgreSQL.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def hold_row(session: Session, model: type[Base], row_id: int, *, key_share: bool = False) -> None:
    """Hold one row for the rest of the transaction: requests that hold it at the same
    instant queue here, and the second sees what the first committed.

    PostgreSQL locks the row (FOR UPDATE; with ``key_share`` FOR NO KEY UPDATE, which still
    lets rows that refer to it be stored meanwhile). SQLite ignores FOR UPDATE, so a write
    that changes nothing takes its database write lock instead.
    """
    table = cast(Table, model.__table__)
    if session.get_bind().dialect.name == "sqlite":
        # Columns that change on every update are named too, or this would change them.
        unchanged = {column.key: column for column in table.columns if column.onupdate}
        session.execute(
            update(table).where(table.c.id == row_id).values(id=table.c.id, **unchanged)
        )
    session.execute(
        select(table.c.id).where(table.c.id == row_id).with_for_update(key_share=key_share)
    )


class Consultant(UserMixin, Base):  # type: ignore[misc]
    __tablename__ = "consultants"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Counts sign-outs and new passwords: each one ends every session signed in before it,
    # on any device, although the session itself lives in the browser's signed cookie. A
    # stronger hash of the same password (at sign-in) ends none.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")

    engagements: Mapped[list[Engagement]] = relationship(back_populates="consultant")

    @property
    def display_name(self) -> str:
        return self.name or self.email

    def get_id(self) -> str:
        """Return the session's user id: the account and a fingerprint of its sessions.

        A new password or a sign-out changes the fingerprint, so every session signed in
        before it stops matching and is signed out.
        """
        return f"{self.id}.{self.session_fingerprint}"

    @property
    def session_fingerprint(self) -> str:
        sessions = f"{self.id}\n{self.session_generation}"
        return hashlib.sha256(sessions.encode()).hexdigest()[:16]

    def set_password_hash(self, password_hash: str) -> None:
        """Store a new password's hash and sign out every session made with the old one."""
        self.password_hash = password_hash
        self.end_sessions()

    def end_sessions(self) -> None:
        """Sign out every session of this account, wherever it was signed in."""
        self.session_generation += 1


class Engagement(Base):
    __tablename__ = "engagements"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultant_id: Mapped[int] = mapped_column(
        ForeignKey("consultants.id", ondelete="CASCADE"), index=True
    )
    project_name: Mapped[str] = mapped_column(String(PROJECT_MAX))
    client_organisation: Mapped[str] = mapped_column(String(ORGANISATION_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by the charter and sign-off features; the questionnaire only reads them.
    charter_drafted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The charter's fill-in fields as last saved (charter schema field names), or None.
    charter_fields: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The review series the draft calendars downloaded gave, one entry per event (see
    # calendar.draft_calendars_to_json): a calendar that imported one may hold them, and
    # the next draft or frozen version cancels those it drops.
    draft_calendars: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    consultant: Mapped[Consultant] = relationship(back_populates="engagements")
    parties: Mapped[list[Party]] = relationship(
        back_populates="engagement", cascade="all, delete-orphan", order_by="Party.side.desc()"
    )
    respondents: Mapped[list[Respondent]] = relationship(
        back_populates="engagement", cascade="all, delete-orphan", order_by="Respondent.id"
    )
    decisions: Mapped[list[DecisionRecord]] = relationship(
        back_populates="engagement",
        cascade="all, delete-orphan",
        order_by="DecisionRecord.id.desc()",
    )
    charter_versions: Mapped[list[CharterVersion]] = relationship(
        back_populates="engagement",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="CharterVersion.number",
    )
    events: Mapped[list[EngagementEvent]] = relationship(
        back_populates="engagement",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="EngagementEvent.id",
    )

    def record(self, action: str, actor: str, via: str, respondent: Respondent) -> EngagementEvent:
        """Add a line to the engagement's history: who did what to a respondent's answers."""
        event = EngagementEvent(
            action=action,
            actor=actor,
            via=via,
            respondent_name=respondent.name,
            side=respondent.side,
            answered=len(respondent.answers),
        )
        self.events.append(event)
        return event

    def party(self, side: str) -> Party | None:
        """Return the party on this side, if recorded."""
        return next((p for p in self.parties if p.side == side), None)

    @property
    def newest_first(self) -> list[DecisionRecord]:
        """The decisions, newest first: the loaded list keeps one added in this session at
        its end (sessions do not expire on commit), and one not flushed yet is the newest."""
        return sorted(self.decisions, key=lambda d: (d.id is None, d.id or 0), reverse=True)

    @property
    def latest_decision(self) -> DecisionRecord | None:
        """The newest decision of any kind, what-ifs included (the engagement's own is
        ``decision_of_record``)."""
        return next(iter(self.newest_first), None)

    @property
    def latest_consensus(self) -> DecisionRecord | None:
        """Return the newest decision that combines several respondents' answers."""
        return next((d for d in self.newest_first if d.is_consensus), None)

    @property
    def submitted_respondents(self) -> list[Respondent]:
        """Return the respondents whose submitted answers a consensus decision combines:
        those who answered from a link and the intake sessions, each one answer set."""
        return [r for r in self.respondents if r.submitted_at]

    @property
    def current_consensus(self) -> DecisionRecord | None:
        """Return the newest consensus decision when it combines exactly the answers
        submitted now (one agreed on an older decision of the same answers may be it).

        Only the newest: answers that changed and then went back to what an older consensus
        combined do not bring that one back, since values may have been agreed on the
        consensus between; deciding anew carries those over (``consensus.carry_over``)."""
        submitted = self.submitted_respondents
        latest = self.latest_consensus
        if len(submitted) < 2 or latest is None:
            return None
        return latest if latest.answer_sets_digest == answer_sets_digest(submitted) else None

    @property
    def decision_of_record(self) -> DecisionRecord | None:
        """Return the engagement's decision: the one its list entry and its charter follow,
        and its status once nobody is awaited. Every other stored decision is a what-if
        kept for reference.

        - Answers reopened: none until they are submitted again, or closed again as they
          were submitted, since they may change.
        - Two or more answer sets submitted (respondents from their links and intake
          sessions alike): the newest decision on their consensus as the answers stand,
          with its agreed values and adjustments; none until the consultant decides it.
          A respondent's own decision, or an adjusted copy of it, is never the engagement's.
        - One answer set: the newest decision made on it, the respondent's own or the
          consultant's adjustment of it.

        Answers still being given for the first time count once submitted: until then the
        decision stands on those already in, and the status says whom it waits for.
        """
        if self.reopened:
            return None
        submitted = self.submitted_respondents
        if len(submitted) > 1:
            return self.current_consensus
        others = {r.id for r in self.respondents} - {r.id for r in submitted}
        return next(
            (d for d in self.newest_first if not d.is_consensus and d.respondent_id not in others),
            None,
        )

    def decides_anew(self, record: DecisionRecord) -> bool:
        """Return whether a decision stored from this one (its answers adjusted, or the
        current rules applied) would become the engagement's decision: one on the consensus
        would; a respondent's own only while theirs is the one answer set submitted, since
        beside a consensus it is a what-if."""
        if record.is_consensus:
            return True
        submitted = self.submitted_respondents
        return len(submitted) < 2 and record.respondent_id in {None, *(r.id for r in submitted)}

    @property
    def reopened(self) -> list[Respondent]:
        """The respondents whose submitted answers are open again for changes."""
        return [r for r in self.respondents if r.reopened_at and not r.submitted_at]

    @property
    def awaited(self) -> list[Respondent]:
        """The respondents yet to be heard: still answering, answers reopened, or a link that
        still works (none while the engagement is archived). While there are any, the
        engagement is not decided."""
        return [
            r
            for r in self.respondents
            if not r.submitted_at and (r.reopened_at or r.answers or r.link_works)
        ]

    @property
    def status(self) -> str:
        """Say how far the engagement has come, from new to signed.

        Once signed it stays signed: an amendment on its way to signatures leaves the signed
        charter in force. Before that, a charter version whose sign-off has started awaits
        its signatories; one being prepared, declined, withdrawn, or overtaken by a new
        decision (stale, so its approvals cannot complete) is back in draft. Without a
        decision (answers reopened, or new answers whose consensus is still to decide) the
        engagement waits for its answers again, charter or not. It is invited while someone
        has a link that works: once every link expired or was revoked, or while the
        engagement is archived, nobody can answer.
        """
        if self.signed_at:
            return "signed"
        decided = self.decision_of_record
        if self.charter_drafted_at and decided is not None:
            newest = self.charter_versions[-1] if self.charter_versions else None
            if newest is not None and newest.sign_off.status == SIGNOFF_PENDING:
                return "charter drafted" if self.sign_off_overtaken else "awaiting sign-off"
            return "charter drafted"
        if decided is not None and not self.awaited:
            return "decided"
        if any(r.submitted_at for r in self.respondents):
            return "answered"
        if any(r.answers for r in self.respondents):
            return "in progress"
        if any(r.link_works for r in self.respondents):
            return "invited"
        return "new"

    @property
    def sign_off_overtaken(self) -> bool:
        """Say whether the newest charter version's sign-off, still open (being prepared or
        collecting approvals), can no longer complete because a decision overtook the one it
        was frozen from (``signoff.stale_because``), read from the decisions loaded with the
        engagement."""
        newest = self.charter_versions[-1] if self.charter_versions else None
        if newest is None or newest.sign_off.status not in (SIGNOFF_PREPARING, SIGNOFF_PENDING):
            return False
        frozen_from = newest.decision_id

        def later() -> list[DecisionRecord]:
            stored = [
                d
                for d in self.decisions
                if frozen_from is None or d.id is None or d.id > frozen_from
            ]
            return sorted(stored, key=lambda d: (d.id is None, d.id or 0))

        return newest.overtaken_by(later) is not None


# What the engagement's history records, beside what its decisions and sign-offs keep.
RESPONDENT_REMOVED = "respondent removed"
ANSWERS_REOPENED = "answers reopened"
ANSWERS_CLOSED = "answers closed again"
# Closed again as submitted, discarding what was changed since they were reopened.
ANSWERS_CLOSED_DISCARDING = "closed again, changes discarded"
EVENT_ACTIONS = (RESPONDENT_REMOVED, ANSWERS_REOPENED, ANSWERS_CLOSED, ANSWERS_CLOSED_DISCARDING)
ACTION_MAX = 32  # as the column was made: every action above must fit
# Where a consultant acted from: the engagement's pages, or an API token.
VIA_WEB = "web"
VIA_API = "api"


class EngagementEvent(Base):
    """One step in an engagement's history, appended and never changed: who did what, when.

    A removed respondent's row is deleted with their answers and links; the event keeps
    their name, side and how far they had answered, so the engagement still says who left.
    Reopening submitted answers, and closing them again unchanged, are recorded alike.
    """

    __tablename__ = "engagement_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(
        ForeignKey("engagements.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(ACTION_MAX))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The consultant by name as it was then, as a sign-off's events keep theirs: the row is
    # never updated, so it holds no key that a change elsewhere would have to rewrite.
    actor: Mapped[str] = mapped_column(String(EMAIL_MAX))
    via: Mapped[str] = mapped_column(String(16))
    respondent_name: Mapped[str] = mapped_column(String(NAME_MAX))
    side: Mapped[str] = mapped_column(String(16))
    # Answers the respondent had saved at the time (for a removal, deleted with them).
    answered: Mapped[int] = mapped_column(Integer)

    engagement: Mapped[Engagement] = relationship(back_populates="events")

    @property
    def side_label(self) -> str:
        return SIDE_LABELS[self.side]


def answer_sets(people: Sequence[Respondent | AlignedRespondent]) -> list[Any]:
    """What identifies the answers a consensus combines, whatever the respondents' order."""
    return sorted((r.name, r.side, sorted(r.answers.items())) for r in people)


def answer_sets_digest(people: Sequence[Respondent | AlignedRespondent]) -> str:
    """Fingerprint the answers a consensus combines: equal exactly when their answer sets
    are, so a decision tells which answers it stands on without its document being read."""
    text = json.dumps(answer_sets(people), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Party(Base):
    __tablename__ = "parties"
    __table_args__ = (UniqueConstraint("engagement_id", "side"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id", ondelete="CASCADE"))
    side: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    role: Mapped[str] = mapped_column(String(ROLE_MAX), default="")

    engagement: Mapped[Engagement] = relationship(back_populates="parties")

    @property
    def side_label(self) -> str:
        return SIDE_LABELS[self.side]


class Respondent(Base):
    """A person (or the two parties together) answering the questionnaire once."""

    __tablename__ = "respondents"

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(
        ForeignKey("engagements.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    side: Mapped[str] = mapped_column(String(16))
    facilitated: Mapped[bool] = mapped_column(default=False)
    # Answers saved so far, factor key -> level; complete once submitted.
    answers: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    step: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the consultant locks reopened answers again as they were submitted, without
    # a new submission: the record that the lock since then is the consultant's.
    closed_again_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    engagement: Mapped[Engagement] = relationship(back_populates="respondents")
    invitations: Mapped[list[Invitation]] = relationship(
        back_populates="respondent", cascade="all, delete-orphan", order_by="Invitation.id"
    )
    decisions: Mapped[list[DecisionRecord]] = relationship(back_populates="respondent")

    @property
    def side_label(self) -> str:
        return SIDE_LABELS[self.side]

    @property
    def locked(self) -> bool:
        return self.submitted_at is not None

    @property
    def status(self) -> str:
        if self.submitted_at:
            return "answered"
        if self.answers:
            return "in progress"
        return "not started"

    @property
    def submitted_answers(self) -> dict[str, int] | None:
        """The answers as last submitted, or None if no decision records them.

        Reopened answers are changed in place; the submitted ones stay in the decision that
        submitting stored (a re-evaluation stored as theirs repeats the same answers).
        """
        own = max(self.decisions, key=lambda d: d.id or 0, default=None)
        return dict(own.answers) if own else None

    @property
    def active_invitation(self) -> Invitation | None:
        """Return the newest link that still works, if any."""
        usable = [i for i in self.invitations if i.state == "active"]
        return usable[-1] if usable else None

    @property
    def link_works(self) -> bool:
        """Say whether the respondent can open the questionnaire from a link now: one neither
        expired nor revoked, and the engagement not archived. Archiving closes every link
        without touching it, so ``active_invitation`` is the link that restoring opens again.
        """
        return self.active_invitation is not None and self.engagement.archived_at is None

    def renewed_expiry(self) -> datetime | None:
        """Return the expiry of a link replacing this respondent's: the working link's own,
        so resending never extends or shortens an invitation. Without a working link, none:
        the new link is what an invitation makes when no expiry is chosen."""
        current = self.active_invitation
        return current.expires_at if current else None

    def revoke_links(self) -> None:
        """Stop every link of this respondent that is not revoked yet from working."""
        now = utcnow()
        for invitation in self.invitations:
            if invitation.revoked_at is None:
                invitation.revoked_at = now
        # Whom the engagement waits for changes, and its status may: that is activity.
        if self.engagement is not None:
            self.engagement.updated_at = now

    def issue_link(self, expires_at: datetime | None) -> str:
        """Replace the respondent's links with a new one and return its token (shown once)."""
        self.revoke_links()
        token = Invitation.new_token()
        self.invitations.append(Invitation(token_hash=hash_token(token), expires_at=expires_at))
        return token


def link_state(revoked_at: datetime | None, expires_at: datetime | None) -> str:
    """Say whether a personal link works: revoked, expired or active."""
    if revoked_at:
        return "revoked"
    if expires_at and expires_at <= utcnow():
        return "expired"
    return "active"


def hash_token(token: str) -> str:
    """Return the stored form of a secret link or API token: its SHA-256 in hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Invitation(Base):
    """A link to the questionnaire for one respondent; only the token's hash is stored."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    respondent_id: Mapped[int] = mapped_column(
        ForeignKey("respondents.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    respondent: Mapped[Respondent] = relationship(back_populates="invitations")

    @staticmethod
    def new_token() -> str:
        """Return a fresh unguessable token (256 bits, URL-safe)."""
        return secrets.token_urlsafe(32)

    def matches(self, token: str) -> bool:
        """Compare a presented token with the stored hash in constant time."""
        return hmac.compare_digest(self.token_hash, hash_token(token))

    @property
    def state(self) -> str:
        return link_state(self.revoked_at, self.expires_at)


class DecisionRecord(Base):
    """A snapshot of one evaluation: answers, full decision JSON and the rules version."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(
        ForeignKey("engagements.id", ondelete="CASCADE"), index=True
    )
    respondent_id: Mapped[int | None] = mapped_column(
        ForeignKey("respondents.id", ondelete="SET NULL"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("consultants.id", ondelete="SET NULL")
    )
    answers: Mapped[dict[str, int]] = mapped_column(JSON)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    model: Mapped[str] = mapped_column(String(32))
    rules_version: Mapped[str] = mapped_column(String(128))
    note: Mapped[str] = mapped_column(String(NOTE_MAX), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Read from ``data`` as it is stored, so that lists and statuses need not read it:
    # a hybrid's two models, comma-separated ...
    components: Mapped[str] = mapped_column(String(COMPONENTS_MAX), default="")
    # ... and for a decision on a consensus, the fingerprint of the answer sets it combines
    # (``answer_sets_digest``); None for a decision on one answer set.
    answer_sets_digest: Mapped[str | None] = mapped_column(String(64))

    engagement: Mapped[Engagement] = relationship(back_populates="decisions")
    respondent: Mapped[Respondent | None] = relationship(back_populates="decisions")
    created_by: Mapped[Consultant | None] = relationship()

    @validates("data")
    def _read_data(self, _key: str, data: dict[str, Any]) -> dict[str, Any]:
        self.components, self.answer_sets_digest = decision_columns(data)
        return data

    @property
    def title(self) -> str:
        """The model's display title, as the decision's own (read without the decision)."""
        return partnership.title(self.model, tuple(filter(None, self.components.split(","))))

    @property
    def decision(self) -> Decision:
        """Rebuild the decision exactly as stored, without re-evaluating."""
        return Decision.from_dict(self.data)

    @property
    def alignment(self) -> Alignment | None:
        """The stored alignment alone: statuses read it without rebuilding the decision."""
        stored = self.data.get("alignment")
        return Alignment.from_dict(stored) if stored else None

    @property
    def is_consensus(self) -> bool:
        """Say whether this decision combines several respondents (it carries their gaps)."""
        return self.respondent_id is None and self.answer_sets_digest is not None


def decision_columns(data: dict[str, Any]) -> tuple[str, str | None]:
    """Return what a decision's columns say of its stored document: its components, and
    the fingerprint of the answer sets it combines (None for one answer set)."""
    stored = data.get("alignment")
    digest = answer_sets_digest(Alignment.from_dict(stored).answer_sets()) if stored else None
    return ",".join(data.get("components", ())), digest


# Sign-off of a frozen charter version, from the consultant's freeze to the sealed PDF.
SIGNOFF_PREPARING = "preparing"
SIGNOFF_PENDING = "pending"
SIGNOFF_SIGNED = "signed"
SIGNOFF_DECLINED = "declined"
SIGNOFF_WITHDRAWN = "withdrawn"
SIGNOFF_STATUSES: tuple[str, ...] = (
    SIGNOFF_PREPARING,
    SIGNOFF_PENDING,
    SIGNOFF_SIGNED,
    SIGNOFF_DECLINED,
    SIGNOFF_WITHDRAWN,
)
# What a signatory did, and the steps a sign-off's history records.
SIGNATORY_ACTIONS: tuple[str, ...] = ("approved", "declined")
SignOffAction = Literal[
    "frozen",
    "started",
    "invited",
    "new link",
    "link revoked",
    "approved",
    "declined",
    "withdrawn",
    "sealed",
]
SIGNOFF_EVENT_ACTIONS: tuple[str, ...] = get_args(SignOffAction)
REASON_MAX = 1000
DOCUMENT_ID_MAX = 40
PUBLIC_URL_MAX = 2048


class CharterVersion(Base):
    """A charter frozen for sign-off: the exact PDF bytes and everything they were made from.

    Rows are never updated: the database refuses it (a trigger), and so does the session
    (``before_flush``). An amendment is a new row pointing at the version it replaces.
    """

    __tablename__ = "charter_versions"
    __table_args__ = (UniqueConstraint("engagement_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    engagement_id: Mapped[int] = mapped_column(
        ForeignKey("engagements.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    document_id: Mapped[str] = mapped_column(String(DOCUMENT_ID_MAX), index=True)
    # The decision it was made from, by id only: the snapshot below is the record.
    decision_id: Mapped[int | None] = mapped_column(Integer)
    pdf: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    answers: Mapped[dict[str, int]] = mapped_column(JSON)
    decision_data: Mapped[dict[str, Any]] = mapped_column(JSON)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    rules_version: Mapped[str] = mapped_column(String(128))
    previous_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("charter_versions.id", ondelete="CASCADE")
    )
    previous_sha256: Mapped[str | None] = mapped_column(String(64))
    frozen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The review calendar as frozen, like the PDF: the exact iCalendar file served for this
    # version, and its review series (assess.charter.calendar.series_to_json), which the
    # calendars of later versions and drafts cancel when they drop a review. Neither is ever
    # worked out again: the scheduling rules may change, what was frozen does not.
    review_series: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    calendar_ics: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    # Cascade, not SET NULL: the row cannot be updated, and it goes with its consultant.
    frozen_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("consultants.id", ondelete="CASCADE")
    )

    engagement: Mapped[Engagement] = relationship(back_populates="charter_versions")
    previous_version: Mapped[CharterVersion | None] = relationship(remote_side=[id])
    frozen_by: Mapped[Consultant | None] = relationship()
    sign_off: Mapped[SignOff] = relationship(
        back_populates="version", cascade="all, delete-orphan", uselist=False
    )

    @property
    def decision(self) -> Decision:
        """Rebuild the decision exactly as frozen."""
        return Decision.from_dict(self.decision_data)

    @property
    def filename(self) -> str:
        return f"charter-{self.document_id}-v{self.number}.pdf"

    def overtaken_by(self, later: Callable[[], Iterable[DecisionRecord]]) -> DecisionRecord | None:
        """Return the decision that overtook the one this version was frozen from, if one
        did: what ``signoff.stale_because`` says, for whatever source of decisions.

        ``later`` gives the engagement's decisions stored after that one (all of them when
        the version records none), oldest first; it is asked only when the engagement's
        decision does not settle it.
        """
        of_record = self.engagement.decision_of_record
        if self.decision_id is None:
            return of_record or next(iter(later()), None)
        if of_record is not None and of_record.id == self.decision_id:
            return None
        frozen = self.decision
        if of_record is not None:
            if of_record.decision == frozen:
                return None
            if of_record.id is None or of_record.id > self.decision_id:
                return of_record
        # An older decision of record that says something else still makes the version stale.
        return next((d for d in later() if _moves_on(d, frozen)), of_record)

    @property
    def next_version(self) -> CharterVersion | None:
        """The version frozen right after this one, if any."""
        return next((v for v in self.engagement.charter_versions if v.number > self.number), None)


def _moves_on(record: DecisionRecord, frozen: Decision) -> bool:
    """Say whether a decision stored after a frozen one changes what the charter rests on.

    On a consensus, a respondent's own decision moves it on only with answers the consensus
    did not combine (a respondent joining, or answering differently); an adjusted copy of
    one respondent's answers is a what-if. On one answer set, every different decision is
    the engagement's in its turn.
    """
    if record.decision == frozen:
        return False
    if frozen.alignment is None or record.is_consensus:
        return True
    if record.respondent is None:
        return False
    combined = answer_sets(frozen.alignment.answer_sets())
    own = AlignedRespondent(record.respondent.name, record.respondent.side, record.answers)
    return answer_sets([own])[0] not in combined


class SignOff(Base):
    """The approval round of one frozen version: its state, and the sealed PDF once signed."""

    __tablename__ = "sign_offs"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("charter_versions.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[str] = mapped_column(String(16), default=SIGNOFF_PREPARING)
    sequential: Mapped[bool] = mapped_column(default=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(REASON_MAX), default="")
    sealed_pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    sealed_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    # The service's address as the consultant who started the sign-off reached it: the QR
    # code on the sealed charter points there, never where a signatory's request says.
    public_url: Mapped[str | None] = mapped_column(String(PUBLIC_URL_MAX))

    version: Mapped[CharterVersion] = relationship(back_populates="sign_off")
    signatories: Mapped[list[Signatory]] = relationship(
        back_populates="sign_off",
        cascade="all, delete-orphan",
        order_by="Signatory.position",
    )
    events: Mapped[list[SignOffEvent]] = relationship(
        back_populates="sign_off", cascade="all, delete-orphan", order_by="SignOffEvent.id"
    )


class Signatory(Base):
    """A person who approves a frozen version through a personal link (only its hash stored)."""

    __tablename__ = "signatories"
    __table_args__ = (UniqueConstraint("sign_off_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sign_off_id: Mapped[int] = mapped_column(
        ForeignKey("sign_offs.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    email: Mapped[str] = mapped_column(String(EMAIL_MAX))
    role: Mapped[str] = mapped_column(String(ROLE_MAX), default="")
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    link_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When it became this signatory's turn (all at once: when the sign-off started).
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    action: Mapped[str | None] = mapped_column(String(16))
    acted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    sign_off: Mapped[SignOff] = relationship(back_populates="signatories")

    def matches(self, token: str) -> bool:
        """Compare a presented token with the stored hash in constant time."""
        return self.token_hash is not None and hmac.compare_digest(
            self.token_hash, hash_token(token)
        )

    @property
    def link_state(self) -> str:
        if self.token_hash is None:
            return "none"
        return link_state(self.revoked_at, self.link_expires_at)

    @property
    def link_expires_at(self) -> datetime | None:
        """When the link stops working; None when it does not expire (or there is none).

        Once the charter is signed, what the link was sent for is done: it keeps opening the
        signed copy, the signatory's record of the agreement.
        """
        if self.token_hash is None or self.sign_off.status == SIGNOFF_SIGNED:
            return None
        return self.expires_at


class SignOffEvent(Base):
    """One step of a sign-off, appended and never changed: who did what, when, from where."""

    __tablename__ = "sign_off_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    sign_off_id: Mapped[int] = mapped_column(
        ForeignKey("sign_offs.id", ondelete="CASCADE"), index=True
    )
    signatory_id: Mapped[int | None] = mapped_column(
        ForeignKey("signatories.id", ondelete="CASCADE")
    )
    action: Mapped[str] = mapped_column(String(ACTION_MAX))
    actor: Mapped[str] = mapped_column(String(NAME_MAX), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(512), default="")
    document_hash: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(String(REASON_MAX), default="")

    sign_off: Mapped[SignOff] = relationship(back_populates="events")
    signatory: Mapped[Signatory | None] = relationship()


# Loader options for pages that show a whole engagement: each collection in one query for
# all its rows, where reading it row by row would cost a query per respondent or version.
RESPONDENTS_WITH_LINKS = selectinload(Engagement.respondents).selectinload(Respondent.invitations)
# A version's status and approvals; its PDF stays deferred.
SIGN_OFFS_WITH_SIGNATORIES = selectinload(CharterVersion.sign_off).selectinload(SignOff.signatories)
VERSIONS_WITH_SIGN_OFFS = selectinload(Engagement.charter_versions).options(
    SIGN_OFFS_WITH_SIGNATORIES
)
# The same with each sign-off's history, for pages that show its latest step or a decline.
VERSIONS_WITH_SIGN_OFF_HISTORY = selectinload(Engagement.charter_versions).options(
    selectinload(CharterVersion.sign_off).options(
        selectinload(SignOff.signatories), selectinload(SignOff.events)
    )
)


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_frozen(session: Session, _context: Any, _instances: Any) -> None:
    """Refuse, in the session already, to change a frozen version or a recorded event."""
    for instance in session.dirty:
        frozen = CharterVersion | SignOffEvent | EngagementEvent
        if isinstance(instance, frozen) and session.is_modified(
            instance, include_collections=False
        ):
            raise FrozenError(f"{type(instance).__name__} {instance.id} is frozen")


class FrozenError(Exception):
    """Something tried to change a frozen charter version or a recorded event."""
