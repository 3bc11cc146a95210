"""Sign-off of a charter: freeze a version, invite signatories, approve or decline, seal once.

Runs without Flask. The views pass the database session, who acted (IP address and user
agent, as the app's proxy settings give them) and, to finish a sign-off, a ``Sealer``: the
service's seal keys and its public address for the QR code.

The life of a sign-off: ``freeze`` stores the PDF bytes and everything they were made from
as an immutable ``CharterVersion`` with a sign-off in preparation; ``add_signatory`` names
who approves; ``start`` issues each a personal link (all invited at once, or one after the
other); ``approve`` and ``decline`` record each action with time, IP, user agent and the
hash acted on; the last approval seals the PDF (``finalise``, exactly once). A decline
returns the charter to draft. A decision recorded after the freeze makes the version stale:
its pending approvals cannot complete. Freezing again after a signed version makes an
amendment that records the signed version's hash (the hash chain) and shows a diff.
"""

from __future__ import annotations

import hmac
import itertools
import logging
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, inspect, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from assess import charter, partnership
from assess.alignment import Alignment
from assess.charter import CharterDetails, calendar
from assess.charter.calendar import EarlierCalendar
from assess.decision import Decision, Reason, signed
from assess.factors import BY_KEY as FACTORS
from assess.models import (
    SIGN_OFFS_WITH_SIGNATORIES,
    SIGNOFF_DECLINED,
    SIGNOFF_PENDING,
    SIGNOFF_PREPARING,
    SIGNOFF_SIGNED,
    SIGNOFF_WITHDRAWN,
    CharterVersion,
    Consultant,
    DecisionRecord,
    Engagement,
    Invitation,
    Signatory,
    SignOff,
    SignOffAction,
    SignOffEvent,
    hash_token,
    hold_row,
    utcnow,
)
from assess.protocols import BY_ID as PROTOCOLS
from assess.protocols import quantity
from assess.signing import SealingFailed, is_sha256_hex, sha256_hex
from assess.signing.audit import AuditEntry, AuditTrail, render_pdf
from assess.signing.keys import SealKeys
from assess.text import UNSEEN, join_names, link_end_text, shown, time_text

if TYPE_CHECKING:  # pyHanko takes a second to import: only when sealing
    from assess.signing.timestamps import AuthorityTimeStamper

log = logging.getLogger(__name__)

USER_AGENT_MAX = 512
IP_MAX = 64
TOKEN_MAX = 100
MAX_SIGNATORIES = 12


def _isolate(text: str) -> str:
    """Set text a person typed apart from the sentence around it (a Unicode first-strong
    isolate, as the charter prints names): a right-to-left name followed by a number would
    carry the number to its left, and one ending in an unclosed direction override would
    turn the rest of the sentence around. The messages and changes made here are plain text,
    shown on pages, in flashed messages and by the API, so the isolate travels with them."""
    return f"\u2068{text}\u2069"


class SignOffError(Exception):
    """An action that the sign-off's state does not allow; the message is for people."""


class LinkUnusable(SignOffError):
    """A signatory's link that is unknown, revoked, expired or no longer needed."""

    def __init__(self, message: str, state: str) -> None:
        super().__init__(message)
        self.state = state


class StaleVersion(SignOffError):
    """The answers were re-evaluated after the freeze: this version cannot be signed."""


class NotYourTurn(SignOffError):
    """Sequential sign-off: an earlier signatory has not approved yet."""


class AlreadyStarted(SignOffError):
    """The signatories are fixed once the sign-off has started."""


class Archived(SignOffError):
    """The engagement is archived: its sign-off is read-only until it is restored."""


def _refuse_if_archived(sign_off: SignOff) -> None:
    if sign_off.version.engagement.archived_at is not None:
        raise Archived("The engagement is archived: restore it to change its sign-off.")


def _refuse_unless_preparing(session: Session, sign_off: SignOff, refusal: str) -> None:
    """Refuse to change a sign-off no longer in preparation, or one whose version a newer
    decision overtook. A page opened before it closed (withdrawn when a newer version was
    frozen, declined, signed) or went stale is still sent from: it is told what stops it,
    as the page opened now says, never to make links a closed sign-off no longer takes."""
    number = sign_off.version.number
    if sign_off.status == SIGNOFF_WITHDRAWN:
        raise AlreadyStarted(
            f"Version {number} was withdrawn from sign-off, so it can no "
            "longer be changed or sent. Work on the newest version instead."
        )
    if sign_off.status == SIGNOFF_DECLINED:
        raise AlreadyStarted(
            f"Version {number} was declined, so it can no longer be changed or sent. Change "
            "what needs changing and freeze a new version."
        )
    if sign_off.status == SIGNOFF_SIGNED:
        raise AlreadyStarted(
            f"Version {number} is signed, so it can no longer be changed or sent. To change "
            "the charter, amend it: the amendment is a new version."
        )
    _refuse_if_stale(session, sign_off.version, to_consultant=True)
    if sign_off.status != SIGNOFF_PREPARING:
        raise AlreadyStarted(refusal)


def refuse_changes(session: Session, sign_off: SignOff) -> None:
    """Refuse to name or remove signatories once the sign-off is no longer being prepared,
    once a newer decision overtook its version, or while the engagement is archived."""
    _refuse_if_archived(sign_off)
    _refuse_unless_preparing(
        session, sign_off, "Signatories can only be changed before the sign-off starts."
    )


def refuse_start(session: Session, sign_off: SignOff) -> None:
    """Refuse to start a sign-off that cannot start now: archived, no longer being prepared,
    frozen from a decision since overtaken, or with nobody named."""
    _refuse_if_archived(sign_off)
    _refuse_unless_preparing(
        session,
        sign_off,
        "This sign-off has already started. Its links were shown once, when it started: if "
        "they did not reach you, make a new link for each signatory who has none (a new "
        "link replaces the old one).",
    )
    if not sign_off.signatories:
        raise SignOffError("Add at least one signatory first.")


@dataclass(frozen=True)
class Actor:
    """Where an action came from, as recorded in the audit trail."""

    ip: str = ""
    user_agent: str = ""


@dataclass(frozen=True)
class Sealer:
    """What sealing needs: the service's key and certificate, and its public address.

    ``timestamper``: the time-stamping authority whose trusted time goes into the seal.
    """

    keys: SealKeys | Callable[[], SealKeys]
    base_url: str
    timestamper: AuthorityTimeStamper | None = None

    def load_keys(self) -> SealKeys:
        return self.keys if isinstance(self.keys, SealKeys) else self.keys()


def _event(
    sign_off: SignOff,
    action: SignOffAction,
    now: datetime,
    *,
    actor: str = "",
    signatory: Signatory | None = None,
    source: Actor | None = None,
    document_hash: str = "",
    detail: str = "",
) -> SignOffEvent:
    source = source or Actor()
    entry = SignOffEvent(
        action=action,
        actor=actor[:120],
        signatory=signatory,
        at=now,
        ip=shown(source.ip)[:IP_MAX],
        user_agent=shown(source.user_agent)[:USER_AGENT_MAX],
        document_hash=document_hash or sign_off.version.sha256,
        detail=detail[:1000],
    )
    sign_off.events.append(entry)
    return entry


# Freezing -----------------------------------------------------------------------------


def latest_signed(engagement: Engagement) -> CharterVersion | None:
    """Return the engagement's most recent signed version, if any."""
    signed = [v for v in engagement.charter_versions if v.sign_off.status == SIGNOFF_SIGNED]
    return signed[-1] if signed else None


def earlier_calendars(engagement: Engagement, number: int) -> list[EarlierCalendar]:
    """The review calendars of the engagement's versions before version ``number``, signed
    or not, as each was frozen, and the events of the drafts' files downloaded since the
    last of them: a calendar app may hold the reviews of any of them."""
    frozen = [
        charter.earlier_calendar(
            charter.frozen_details(v.fields), calendar.series_from_json(v.review_series)
        )
        for v in engagement.charter_versions
        if v.number < number
    ]
    return frozen + list(calendar.load_draft_calendars(engagement.draft_calendars))


def keep_draft_calendar(
    engagement: Engagement, details: CharterDetails, series: tuple[calendar.ReviewSeries, ...]
) -> None:
    """Keep the events of a draft's calendar file the consultant downloads, for the next
    draft or version to cancel those it drops."""
    kept = calendar.load_draft_calendars(engagement.draft_calendars)
    engagement.draft_calendars = calendar.draft_calendars_to_json(
        kept, replace(charter.earlier_calendar(details, series), draft=True)
    )


def calendar_organizer(engagement: Engagement) -> calendar.Organizer:
    """Who the engagement's review calendars name as organising the reviews: the consultant
    whose engagement it is."""
    return calendar.Organizer(engagement.consultant.name, engagement.consultant.email)


def open_sign_off(engagement: Engagement) -> SignOff | None:
    """Return the sign-off in preparation or waiting for approvals, if there is one."""
    for version in reversed(engagement.charter_versions):
        if version.sign_off.status in (SIGNOFF_PREPARING, SIGNOFF_PENDING):
            return version.sign_off
    return None


def hold_for_freeze(session: Session, engagement: Engagement) -> SignOff | None:
    """Take hold of what a freeze changes, for the rest of the transaction, and return the
    sign-off still open (held too), which the freeze withdraws.

    The open sign-off is held first, then the engagement, in the order a last approval takes
    them (the sign-off, then the engagement it marks signed), so the two never deadlock.
    Every request that holds both takes them in this order; the engagement's own pages
    (the charter's fields among them) hold only the engagement. Two freezes of one
    engagement then queue on its row, and the second numbers its version after the first
    one's. Once the engagement is held it is read afresh: its versions, and the charter's
    fields a save from another tab committed while the freeze waited.
    """
    expected = open_sign_off(engagement)
    if expected is not None:
        lock(session, expected.id)
    _lock_engagement(session, engagement)
    found = open_sign_off(engagement)
    if found is None:
        return None
    if expected is None or found.id != expected.id:
        # Made by a freeze that committed while this one waited for the engagement: nothing
        # else has held it yet, so taking it second cannot deadlock.
        found = lock(session, found.id)
    return found if found.status in (SIGNOFF_PREPARING, SIGNOFF_PENDING) else None


def _lock_engagement(session: Session, engagement: Engagement) -> None:
    """Hold the engagement's row, as ``lock`` holds a sign-off's, and read it afresh.

    On PostgreSQL FOR NO KEY UPDATE: it queues other freezes, yet lets a decision or a
    respondent that refers to the engagement be stored meanwhile. Whatever a request that
    held it first committed is read after (its versions, the charter's fields saved from
    another tab, a decision, an archive); what this transaction changed in it is kept.
    """
    hold_row(session, Engagement, engagement.id, key_share=True)
    state = inspect(engagement)
    keys = {prop.key for prop in state.mapper.column_attrs if prop.columns[0].primary_key}
    fresh = [key for key in state.unmodified if key not in keys]
    session.expire(engagement, sorted({"charter_versions", *fresh}))


def frozen_already(
    engagement: Engagement, record: DecisionRecord, details: CharterDetails
) -> CharterVersion | None:
    """Return the newest version if freezing ``details`` from ``record`` would only repeat it:
    made from the same decision with the same fields, and nobody named to sign it yet. That
    is the same freeze sent twice (a double click, the form sent again from a second tab);
    the second finds the version the first made rather than replace it with a copy."""
    if not engagement.charter_versions:
        return None
    newest = engagement.charter_versions[-1]
    if newest.decision_id != record.id or newest.sign_off.status != SIGNOFF_PREPARING:
        return None
    if newest.sign_off.signatories:
        return None
    numbering = ("version", "document_id")
    asked = {k: v for k, v in details.to_dict().items() if k not in numbering}
    made = {k: v for k, v in newest.fields.items() if k not in numbering}
    return newest if asked == made else None


def freeze(
    session: Session,
    engagement: Engagement,
    record: DecisionRecord,
    details: CharterDetails,
    *,
    consultant: Consultant | None = None,
    now: datetime | None = None,
) -> CharterVersion:
    """Render the charter and store it, with its inputs, as the next immutable version.

    The version number and document id are the engagement's (one document, numbered
    versions); after a signed version the new one is an amendment chained to its hash.
    A sign-off still open on an earlier version is withdrawn. The caller may hold the
    engagement first (``hold_for_freeze``), before it changes anything of it.
    """
    now = now or utcnow()
    still_open = hold_for_freeze(session, engagement)
    versions = engagement.charter_versions
    number = max((v.number for v in versions), default=0) + 1
    decision = record.decision
    document_id = versions[0].document_id if versions else ""
    details = replace(details, version=number, document_id=document_id)
    if not document_id:
        details = replace(details, document_id=_unused_document_id(session, decision, details))
    pdf = charter.to_pdf(decision, details)
    # The calendar is frozen with the PDF, from the same code: the dates it gives are the
    # ones the PDF prints, at every later download. Stamped when frozen, it replaces a
    # draft's events; it cancels the reviews of earlier versions this one drops.
    series, calendar_ics = charter.kept_calendar(
        decision,
        details,
        stamped_at=now,
        draft=False,
        earlier=earlier_calendars(engagement, number),
        organizer=calendar_organizer(engagement),
    )
    previous = latest_signed(engagement)
    who = consultant.display_name if consultant else ""
    if still_open is not None:
        _close(still_open, SIGNOFF_WITHDRAWN, now, f"Replaced by version {number}")
        _event(still_open, "withdrawn", now, actor=who, detail=f"Replaced by version {number}")
    version = CharterVersion(
        number=number,
        document_id=details.document_id,
        decision_id=record.id,
        pdf=pdf,
        sha256=sha256_hex(pdf),
        answers=dict(decision.answers),
        decision_data=decision.to_dict(),
        fields=details.to_dict(),
        review_series=calendar.series_to_json(series),
        calendar_ics=calendar_ics,
        rules_version=decision.rules_version,
        previous_version=previous,
        previous_sha256=previous.sha256 if previous else None,
        frozen_at=now,
        frozen_by=consultant,
    )
    version.sign_off = SignOff(status=SIGNOFF_PREPARING, sequential=True)
    engagement.charter_versions.append(version)
    if engagement.charter_drafted_at is None:
        engagement.charter_drafted_at = now
    engagement.updated_at = now
    detail = f"Amends version {previous.number}" if previous else ""
    _event(version.sign_off, "frozen", now, actor=who, detail=detail)
    session.flush()
    return version


def _unused_document_id(session: Session, decision: Decision, details: CharterDetails) -> str:
    """Return the id the charter's content gives it, the one its previews showed, unless
    another charter has it already (two engagements with the same project, parties and
    answers frozen on one day): then the first free id derived from it."""
    candidate = charter.document_id(decision, details)
    base = candidate
    for attempt in itertools.count(1):
        taken = session.scalar(
            select(CharterVersion.id).where(CharterVersion.document_id == candidate).limit(1)
        )
        if taken is None:
            return candidate
        candidate = charter.document_id_from(details.issue_day, f"{base}/{attempt}")
    raise AssertionError("unreachable")


def stale_because(session: Session, version: CharterVersion) -> DecisionRecord | None:
    """Return the decision that overtook the one the version was frozen from (the
    engagement's new decision, else the first one stored after it that moved the assessment
    on): the version is stale. This is the one place that says so.

    A version stays current while the engagement's decision (``decision_of_record``) is the
    one it was frozen from, or says the same: answers submitted again unchanged store a new
    decision identical to the frozen one. A what-if changes nothing. Otherwise a decision
    stored after it overtakes it (a new consensus, new answers submitted). While answers
    are reopened the engagement has no decision; the version is then stale only if a
    decision stored after it moved the assessment on, never because of a what-if.

    "After" is the database's order of decision ids, never a clock: an id is given when the
    decision is stored, larger than every id before it, whichever app node stores it and
    whatever that node's clock says (times are only shown). A version with no decision
    recorded (none is frozen that way) cannot say what it rests on, so every decision
    overtakes it.
    """

    def later() -> Iterable[DecisionRecord]:
        query = select(DecisionRecord).where(DecisionRecord.engagement_id == version.engagement_id)
        if version.decision_id is not None:
            query = query.where(DecisionRecord.id > version.decision_id)
        return session.scalars(query.order_by(DecisionRecord.id))

    return version.overtaken_by(later)


def is_stale(session: Session, version: CharterVersion) -> bool:
    return stale_because(session, version) is not None


def awaiting_signature(session: Session, engagement: Engagement) -> CharterVersion | None:
    """Return the newest frozen version that a new decision would make stale: its sign-off
    is being prepared or collecting approvals, and no decision has overtaken it yet."""
    if not engagement.charter_versions:
        return None
    newest = engagement.charter_versions[-1]
    sign_off = newest.sign_off
    if sign_off is not None and sign_off.status not in (SIGNOFF_PREPARING, SIGNOFF_PENDING):
        return None
    return None if is_stale(session, newest) else newest


def _refuse_if_stale(
    session: Session, version: CharterVersion, *, to_consultant: bool = False
) -> None:
    """Refuse what a version a newer decision overtook can no longer take: a signatory's
    approval, or the consultant's changes to its signatories and links (said in the words of
    its page: a new version is frozen instead)."""
    newer = stale_because(session, version)
    if newer is None:
        return
    when = time_text(newer.created_at)
    if to_consultant:
        raise StaleVersion(
            f"Version {version.number} is stale: the answers were evaluated again on "
            f"{when} (decision #{newer.id}), after it was frozen, so its signatories can no "
            "longer be changed and no links can be made. Freeze a new version from the "
            "current decision."
        )
    raise StaleVersion(
        f"The answers were evaluated again on {when}, after version {version.number} was "
        "frozen, so it no longer reflects the assessment and cannot be signed. The "
        "consultant will freeze a new version."
    )


# Signatories and links ---------------------------------------------------------------


def add_signatory(
    session: Session,
    sign_off: SignOff,
    *,
    name: str,
    email: str,
    role: str = "",
    now: datetime | None = None,
) -> Signatory:
    """Name one more person who must approve; only before the sign-off starts."""
    sign_off = lock(session, sign_off.id)  # two added at once get the next two positions
    refuse_changes(session, sign_off)
    if len(sign_off.signatories) >= MAX_SIGNATORIES:
        raise SignOffError(f"A charter takes at most {MAX_SIGNATORIES} signatories.")
    if any(s.email.lower() == email.lower() for s in sign_off.signatories):
        raise SignOffError(f"{_isolate(email)} is already a signatory.")
    position = max((s.position for s in sign_off.signatories), default=0) + 1
    signatory = Signatory(position=position, name=name, email=email, role=role)
    sign_off.signatories.append(signatory)
    return signatory


def named_before(version: CharterVersion) -> CharterVersion | None:
    """Return the newest earlier version of the engagement that named signatories: a new
    version (an amendment, or one frozen after a decline) is usually signed by the same
    people, so their list is offered again. A version withdrawn before anyone was named is
    passed over."""
    earlier = [
        v
        for v in version.engagement.charter_versions
        if v.number < version.number and v.sign_off.signatories
    ]
    return max(earlier, key=lambda v: v.number, default=None)


def remove_signatory(session: Session, sign_off: SignOff, signatory: Signatory) -> None:
    """Take a signatory off the list; only before the sign-off starts."""
    sign_off = lock(session, sign_off.id)
    refuse_changes(session, sign_off)
    if signatory not in sign_off.signatories:
        return  # removed meanwhile (a double click): the list is as asked
    sign_off.signatories.remove(signatory)
    session.flush()  # frees the position before the ones after it move up
    for number, remaining in enumerate(sign_off.signatories, start=1):
        remaining.position = number


def _new_link(signatory: Signatory, expires_at: datetime | None, now: datetime) -> str:
    token = Invitation.new_token()
    signatory.token_hash = hash_token(token)
    signatory.link_created_at = now
    signatory.expires_at = expires_at
    signatory.revoked_at = None
    return token


def start(
    session: Session,
    sign_off: SignOff,
    *,
    sequential: bool,
    expires_at: datetime | None,
    actor: str = "",
    now: datetime | None = None,
) -> dict[int, str]:
    """Open the sign-off: a personal link per signatory; return the tokens by signatory id.

    Only the tokens' hashes are stored: the caller shows the links once. In order, only
    the first signatory is invited now; each next one when the previous approved.
    """
    now = now or utcnow()
    sign_off = lock(session, sign_off.id)
    refuse_start(session, sign_off)
    sign_off.status = SIGNOFF_PENDING
    sign_off.sequential = sequential
    sign_off.started_at = now
    tokens: dict[int, str] = {}
    for index, signatory in enumerate(sign_off.signatories):
        tokens[signatory.position] = _new_link(signatory, expires_at, now)
        if index == 0 or not sequential:
            signatory.invited_at = now
    _touch(sign_off, now)
    mode = "one after the other" if sequential else "all at once"
    _event(sign_off, "started", now, actor=actor, detail=f"Signatories invited {mode}")
    for signatory in sign_off.signatories:
        if signatory.invited_at:
            _event(sign_off, "invited", now, actor=signatory.name, signatory=signatory)
    session.flush()
    return {s.id: tokens[s.position] for s in sign_off.signatories}


def resend(
    session: Session,
    signatory: Signatory,
    *,
    expires_at: datetime | None,
    actor: str = "",
    now: datetime | None = None,
) -> str:
    """Issue a new link for a signatory; the previous one stops working at once."""
    now = now or utcnow()
    # Held as an approval holds it: one landing meanwhile keeps the link it was made with.
    sign_off = lock(session, signatory.sign_off_id)
    _refuse_if_archived(sign_off)
    if sign_off.status != SIGNOFF_PENDING or signatory.action is not None:
        raise SignOffError(
            f"{_isolate(signatory.name)} needs no new link: there is nothing left to do."
        )
    _refuse_if_stale(session, sign_off.version, to_consultant=True)
    token = _new_link(signatory, expires_at, now)
    _event(sign_off, "new link", now, actor=actor, signatory=signatory, detail=signatory.name)
    return token


def revoke(
    session: Session, signatory: Signatory, *, actor: str = "", now: datetime | None = None
) -> None:
    """Stop a signatory's link from working."""
    now = now or utcnow()
    sign_off = lock(session, signatory.sign_off_id)  # an approval may be landing right now
    _refuse_if_archived(sign_off)
    if signatory.action is not None:
        # Their link now opens what they acted on (and the signed charter): it stays theirs.
        raise SignOffError(
            f"{_isolate(signatory.name)} has already {signatory.action}; the link stays theirs."
        )
    if signatory.token_hash is None:
        raise SignOffError(
            f"{_isolate(signatory.name)} has no link to revoke: links are made when the "
            "sign-off starts."
        )
    if sign_off.status != SIGNOFF_PENDING:
        # A page opened before the sign-off closed: its history stays as it closed.
        raise SignOffError(
            f"{_isolate(signatory.name)}'s link is not revoked: this sign-off is closed, so "
            "the link can no longer approve or decline anything."
        )
    if signatory.revoked_at is None:
        signatory.revoked_at = now
        detail = signatory.name
        _event(sign_off, "link revoked", now, actor=actor, signatory=signatory, detail=detail)


def find_signatory(session: Session, token: str) -> Signatory | None:
    """Return the signatory whose link carries this token (compared in constant time)."""
    if not token or len(token) > TOKEN_MAX:
        return None
    signatory = session.scalar(select(Signatory).where(Signatory.token_hash == hash_token(token)))
    if signatory is None or not signatory.matches(token):
        return None
    return signatory


ARCHIVED_LINK = (
    "The consultant has archived this engagement, so its charter cannot be approved or "
    "declined now. Ask them if this is unexpected."
)


def check_link(signatory: Signatory, now: datetime | None = None) -> None:
    """Raise ``LinkUnusable`` unless the link still works: not withdrawn (it may have
    reached the wrong person), and not expired (a signed charter's links no longer expire,
    see ``Signatory.link_expires_at``)."""
    now = now or utcnow()
    if signatory.revoked_at is not None:
        raise LinkUnusable(
            "This link has been withdrawn. Ask the consultant for a new one.", "revoked"
        )
    ends = signatory.link_expires_at
    if ends is not None and ends <= now:
        # A new link is made only for someone left to act on an open sign-off (resend), and
        # not while the engagement is archived.
        ask = ""
        if signatory.action is None and signatory.sign_off.status == SIGNOFF_PENDING:
            archived = signatory.sign_off.version.engagement.archived_at is not None
            ask = f" {ARCHIVED_LINK}" if archived else " Ask the consultant for a new one."
        raise LinkUnusable(f"This link expired on {link_end_text(ends)}.{ask}", "expired")


def waiting_for(sign_off: SignOff) -> Signatory | None:
    """Return the next signatory who has not acted, in order."""
    return next((s for s in sign_off.signatories if s.action is None), None)


# A phone's keyboard or a word processor types these for the apostrophe and hyphen of a name
# (O'Brien, Ruiz-Lee): the same name from another keyboard.
TYPOGRAPHIC = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u2010": "-", "\u2013": "-", "\u2212": "-"}
)


def normalise_name(name: str) -> str:
    # Characters that show nothing (soft hyphen, zero-width spaces, direction marks): pasted
    # with a name from an email signature or a PDF, they are on no keyboard, and the
    # signatory types the name as it shows.
    folded = unicodedata.normalize("NFKC", UNSEEN.sub("", name)).casefold()
    return " ".join(folded.translate(TYPOGRAPHIC).split())


def names_match(typed: str, name: str) -> bool:
    """Compare a typed full name with the signatory's, ignoring case, spacing, the style
    of apostrophes and hyphens (as the sign page's hint says) and characters that show
    nothing."""
    return hmac.compare_digest(
        normalise_name(typed).encode("utf-8"), normalise_name(name).encode("utf-8")
    )


# Approving and declining -------------------------------------------------------------


def lock(session: Session, sign_off_id: int) -> SignOff:
    """Hold the sign-off for the rest of the transaction and reload its state.

    Two actions on one sign-off at the same instant queue here: the second sees what the
    first committed.
    """
    hold_row(session, SignOff, sign_off_id)
    sign_off = session.execute(
        select(SignOff).where(SignOff.id == sign_off_id).execution_options(populate_existing=True)
    ).scalar_one()
    session.expire(sign_off, ["signatories", "events"])
    for other in sign_off.signatories:
        session.refresh(other)
    return sign_off


def _lock(session: Session, signatory: Signatory) -> SignOff:
    """Hold the sign-off for a signatory's action through the link their request opened.

    A new link stored by another request since then replaced that one: it no longer acts.
    """
    opened = signatory.token_hash
    sign_off = lock(session, signatory.sign_off_id)
    if signatory.token_hash != opened:
        raise LinkUnusable(
            "This link has been replaced by a newer one. Open the most recent link you "
            "received, or ask the consultant for a new one.",
            "revoked",
        )
    return sign_off


def check_can_act(
    session: Session, sign_off: SignOff, signatory: Signatory, now: datetime, *, approving: bool
) -> None:
    if signatory.action is not None:
        raise LinkUnusable(f"You already {signatory.action} this charter.", signatory.action)
    if sign_off.status != SIGNOFF_PENDING:
        states = {
            SIGNOFF_SIGNED: "This charter has been signed by everyone.",
            SIGNOFF_DECLINED: "This sign-off was stopped: a signatory declined the charter.",
            SIGNOFF_WITHDRAWN: "The consultant withdrew this version from sign-off.",
        }
        raise LinkUnusable(
            states.get(sign_off.status, "This sign-off is not open."), sign_off.status
        )
    check_link(signatory, now)
    if sign_off.version.engagement.archived_at is not None:
        raise LinkUnusable(ARCHIVED_LINK, "archived")
    if approving:
        _refuse_if_stale(session, sign_off.version)
    if sign_off.sequential:
        first = waiting_for(sign_off)
        if first is not None and first.id != signatory.id:
            raise NotYourTurn(
                f"It is not your turn yet: {_isolate(first.name)} approves first. "
                "This page will let you approve once they have."
            )


def type_your_name(signatory: Signatory) -> str:
    return (
        f"Type your full name as shown, with every letter and accent: {_isolate(signatory.name)}."
        " If it is misspelt, decline the charter and say so: your consultant will send a"
        " corrected version."
    )


def approve(
    session: Session,
    signatory: Signatory,
    *,
    typed_name: str,
    source: Actor,
    sealer: Sealer,
    now: datetime | None = None,
) -> bool:
    """Record the signatory's approval; seal when it is the last. Return whether it sealed."""
    now = now or utcnow()
    sign_off = _lock(session, signatory)
    check_can_act(session, sign_off, signatory, now, approving=True)
    if not names_match(typed_name, signatory.name):
        raise SignOffError(type_your_name(signatory))
    signatory.action = "approved"
    signatory.acted_at = now
    _touch(sign_off, now)
    _event(sign_off, "approved", now, actor=signatory.name, signatory=signatory, source=source)
    following = waiting_for(sign_off)
    if following is not None:
        if sign_off.sequential and following.invited_at is None:
            following.invited_at = now
            _event(sign_off, "invited", now, actor=following.name, signatory=following)
        session.flush()
        return False
    return finalise(session, sign_off, sealer, now)


def decline(
    session: Session,
    signatory: Signatory,
    *,
    reason: str,
    source: Actor,
    now: datetime | None = None,
) -> None:
    """Record a decline with its reason; the charter goes back to draft."""
    now = now or utcnow()
    sign_off = _lock(session, signatory)
    check_can_act(session, sign_off, signatory, now, approving=False)
    signatory.action = "declined"
    signatory.acted_at = now
    _event(
        sign_off,
        "declined",
        now,
        actor=signatory.name,
        signatory=signatory,
        source=source,
        detail=reason,
    )
    _close(sign_off, SIGNOFF_DECLINED, now, f"{signatory.name}: {reason}")
    _touch(sign_off, now)
    session.flush()


WITHDRAWN_BY_HAND = "Withdrawn by the consultant"


def withdraw(
    session: Session, sign_off: SignOff, *, actor: str = "", now: datetime | None = None
) -> None:
    """Stop an open sign-off (the consultant's choice); its links can no longer approve or
    decline it."""
    now = now or utcnow()
    sign_off = lock(session, sign_off.id)  # a last approval may be sealing it right now
    _refuse_if_archived(sign_off)
    if sign_off.status not in (SIGNOFF_PREPARING, SIGNOFF_PENDING):
        raise SignOffError("This sign-off is already closed.")
    _close(sign_off, SIGNOFF_WITHDRAWN, now, WITHDRAWN_BY_HAND)
    _touch(sign_off, now)
    _event(sign_off, "withdrawn", now, actor=actor)


def _close(sign_off: SignOff, status: str, now: datetime, reason: str) -> None:
    sign_off.status = status
    sign_off.closed_at = now
    sign_off.reason = reason[:1000]


def _touch(sign_off: SignOff, now: datetime) -> None:
    """Count a step of the sign-off as the engagement's activity: where its charter stands
    is part of its status, and its list puts the engagements last active first."""
    sign_off.version.engagement.updated_at = now


# Where a sign-off stands -------------------------------------------------------------


def signatory_state(sign_off: SignOff, signatory: Signatory) -> str:
    """Say where one signatory stands: ``approved`` or ``declined`` once they acted; else
    ``invited`` (their link is out and it is their turn), ``waiting`` (in order, for those
    before them to approve), ``not sent`` (the sign-off has not started) or ``closed`` (it
    was declined or withdrawn without them)."""
    if signatory.action is not None:
        return signatory.action
    if sign_off.status in (SIGNOFF_DECLINED, SIGNOFF_WITHDRAWN):
        return "closed"
    if signatory.invited_at is not None:
        return "invited"
    return "waiting" if sign_off.status == SIGNOFF_PENDING else "not sent"


SIGNATORY_STATES = ("not sent", "invited", "waiting", "approved", "declined", "closed")


@dataclass(frozen=True)
class Decline:
    """Who declined a version, when, and the reason they gave."""

    signatory: Signatory
    reason: str
    at: datetime


def decline_of(sign_off: SignOff) -> Decline | None:
    """Return the decline that stopped the sign-off, if one did."""
    if sign_off.status != SIGNOFF_DECLINED:
        return None
    for event in reversed(sign_off.events):
        if event.action == "declined" and event.signatory is not None:
            return Decline(event.signatory, event.detail, event.at)
    return None


def withdrawn_by(sign_off: SignOff) -> str | None:
    """Return who withdrew the sign-off ("the consultant" when unrecorded), if it was."""
    if sign_off.status != SIGNOFF_WITHDRAWN:
        return None
    for event in reversed(sign_off.events):
        if event.action == "withdrawn" and event.actor:
            return event.actor
    return "the consultant"


@dataclass(frozen=True)
class Standing:
    """Where a version's sign-off stands and why, in the words of the version's page."""

    stale_because: DecisionRecord | None
    decline: Decline | None
    why: str | None

    @property
    def stale(self) -> bool:
        return self.stale_because is not None


def standing(session: Session, version: CharterVersion) -> Standing:
    """Say where the version's sign-off stands: stale or not, who declined it and why, and
    in a sentence what it waits for or why it cannot complete (None once signed)."""
    sign_off = version.sign_off
    is_open = sign_off.status in (SIGNOFF_PREPARING, SIGNOFF_PENDING)
    newer = stale_because(session, version) if is_open else None
    decline = decline_of(sign_off)
    return Standing(newer, decline, _why(version, newer, decline))


def _why_declined(version: CharterVersion, decline: Decline | None) -> str:
    """Who declined the version, why, and what became of the charter since."""
    who = (
        f"Declined by {_isolate(decline.signatory.name)} on {time_text(decline.at)}: "
        f"{_isolate(_sentence(decline.reason))}"
        if decline is not None
        else f"Declined. {_isolate(_sentence(version.sign_off.reason))}"
    )
    # Only the newest version goes back to draft: one prepared from an older version
    # would start from what was declined, and withdraw the newer one.
    if version.next_version is not None:
        return f"{who} Version {version.next_version.number} was frozen after it."
    return (
        f"{who} The charter is back in draft: change what needs changing and freeze a new version."
    )


def _why_withdrawn(sign_off: SignOff) -> str:
    """Who withdrew the sign-off and when: for a newer version, or by hand."""
    when = f" on {time_text(sign_off.closed_at)}" if sign_off.closed_at else ""
    who = f"Withdrawn by {_isolate(withdrawn_by(sign_off) or 'the consultant')}{when}"
    if sign_off.reason != WITHDRAWN_BY_HAND:  # replaced by a newer version
        reason = _sentence(sign_off.reason)
        return f"{who}: {reason[:1].lower()}{reason[1:]}"
    return (
        f"{who}. Its links can no longer approve or decline it: prepare a new version to "
        "ask for sign-off again."
    )


def _why(
    version: CharterVersion, newer: DecisionRecord | None, decline: Decline | None
) -> str | None:
    sign_off = version.sign_off
    if sign_off.status == SIGNOFF_SIGNED:
        return None
    if sign_off.status == SIGNOFF_DECLINED:
        return _why_declined(version, decline)
    if sign_off.status == SIGNOFF_WITHDRAWN:
        return _why_withdrawn(sign_off)
    if version.engagement.archived_at is not None:
        return (
            "The engagement is archived. Its sign-off is read-only: nobody can approve or "
            "decline, and no signatory or link can change until it is restored."
        )
    if newer is not None:
        return (
            f"This version is stale. The answers were evaluated again on "
            f"{time_text(newer.created_at)} (decision #{newer.id}), after this version was "
            "frozen. Its approvals cannot complete: freeze a new version from the current "
            "decision."
        )
    named = sign_off.signatories
    if sign_off.status == SIGNOFF_PREPARING:
        if not named:
            return "Being prepared: nobody is named to sign it yet."
        people = "1 signatory" if len(named) == 1 else f"{len(named)} signatories"
        return f"Being prepared: {people} named; the links are not sent yet."
    turn = [s for s in named if s.action is None and s.invited_at is not None]
    why = f"Waiting for {join_names([_isolate(s.name) for s in turn])} to approve."
    for signatory in turn:
        if signatory.link_state == "revoked":
            why += f" {_isolate(signatory.name)}'s link was revoked: send a new one."
        elif signatory.link_state == "expired" and signatory.expires_at is not None:
            why += (
                f" {_isolate(signatory.name)}'s link expired on "
                f"{link_end_text(signatory.expires_at)}: send a new one."
            )
    return why


def _sentence(text: str) -> str:
    """End text a person typed with a full stop unless it ends a sentence already."""
    text = text.rstrip()
    return text if not text or text[-1] in ".!?…\"”')" else text + "."


# Sealing -----------------------------------------------------------------------------


def audit_trail(sign_off: SignOff, base_url: str, sealed_at: datetime) -> AuditTrail:
    """Copy what was recorded into the audit trail the sealed PDF prints."""
    version = sign_off.version
    previous = version.previous_version
    entries = tuple(
        AuditEntry(
            name=e.signatory.name,
            email=e.signatory.email,
            role=e.signatory.role,
            action="approved" if e.action == "approved" else "declined",
            at=e.at,
            document_hash=e.document_hash,
            ip=e.ip,
            user_agent=e.user_agent,
            reason=e.detail,
        )
        for e in sign_off.events
        if e.action in ("approved", "declined") and e.signatory is not None
    )
    return AuditTrail(
        document_id=version.document_id,
        version=version.number,
        project=str(version.fields.get("project", "")),
        document_hash=version.sha256,
        sealed_at=sealed_at,
        base_url=base_url,
        entries=entries,
        previous_hash=version.previous_sha256,
        previous_version=previous.number if previous else None,
    )


def finalise(session: Session, sign_off: SignOff, sealer: Sealer, now: datetime) -> bool:
    """Seal the approved version and store it, exactly once; return whether this call did.

    The claim is a conditional UPDATE (pending -> signed): of two finishers, one changes
    the row and the other changes nothing and stores nothing.
    """
    if any(s.action != "approved" for s in sign_off.signatories):
        return False
    try:
        sealed, detail = _seal(sign_off, sealer, now)
    except (SealingFailed, OSError, SQLAlchemyError):
        raise
    except Exception as error:
        # pyHanko, or the renderer of the audit page, failing: as with a key that cannot be
        # read, the last approval is not kept without its seal and can be given again.
        reason = f"{type(error).__name__}: {error}"
        raise SealingFailed(f"the seal could not be made ({reason})") from error
    claimed = session.execute(
        update(SignOff)
        .where(SignOff.id == sign_off.id, SignOff.status == SIGNOFF_PENDING)
        .values(
            status=SIGNOFF_SIGNED,
            closed_at=now,
            sealed_pdf=sealed,
            sealed_sha256=sha256_hex(sealed),
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        return False
    session.expire(sign_off, ["status", "closed_at", "sealed_pdf", "sealed_sha256"])
    engagement = sign_off.version.engagement
    engagement.signed_at = now
    engagement.updated_at = now
    _event(sign_off, "sealed", now, document_hash=sha256_hex(sealed), detail=detail)
    session.flush()
    return True


def _seal(sign_off: SignOff, sealer: Sealer, now: datetime) -> tuple[bytes, str]:
    """Seal the approved version, time-stamped when an authority is configured and answers.

    Return the sealed PDF and what the history says about its time. The approvals are
    complete: an authority that fails delays nothing, the seal goes without its timestamp.
    """
    from assess.signing.seal import seal
    from assess.signing.timestamps import TimestampUnavailable, authority_name, stamp_of

    trail = audit_trail(sign_off, sealer.base_url, now)
    keys = sealer.load_keys()
    if sealer.timestamper is None:
        return seal(sign_off.version.pdf, trail, keys), ""
    audit_pdf = render_pdf(trail, signer=keys.subject)
    try:
        stamped = seal(
            sign_off.version.pdf, trail, keys, audit_pdf=audit_pdf, timestamper=sealer.timestamper
        )
    except SealingFailed:
        raise  # the key or the charter: a seal without a timestamp would fail the same way
    except Exception as error:
        # The authority unreachable, or its token unusable in the seal (larger than the
        # room kept for it, say): the seal goes without it.
        if not isinstance(error, TimestampUnavailable):
            error = TimestampUnavailable(
                f"the timestamp of {authority_name(sealer.timestamper)} could not go into "
                f"the seal ({error})"
            )
        log.warning("sealing without a trusted timestamp: %s", error)
        plain = seal(sign_off.version.pdf, trail, keys, audit_pdf=audit_pdf)
        return plain, f"Without a trusted timestamp: {error}"
    stamp = stamp_of(stamped)
    when = f" {time_text(stamp[0], seconds=True)} by {stamp[1]}" if stamp else ""
    return stamped, f"Time-stamped{when} ({authority_name(sealer.timestamper)})"


# Looking up and comparing versions ---------------------------------------------------


def find_by_hash(session: Session, digest: str) -> tuple[CharterVersion, str] | None:
    """Return the version whose sealed or frozen PDF has this SHA-256, and which it matched.

    Anything else finds nothing: a seal's statement is anyone's text, and a NUL in it is
    no text PostgreSQL can compare."""
    if not is_sha256_hex(digest):
        return None
    sealed = session.scalar(
        select(CharterVersion).join(SignOff).where(SignOff.sealed_sha256 == digest).limit(1)
    )
    if sealed is not None:
        return sealed, "sealed"
    frozen = session.scalar(select(CharterVersion).where(CharterVersion.sha256 == digest).limit(1))
    return (frozen, "frozen") if frozen is not None else None


def superseded_by(session: Session, version: CharterVersion) -> CharterVersion | None:
    """Return the newest signed amendment of this version's charter, if one replaced it."""
    newest = _newest_signed(versions_of(session, version.document_id))
    return newest if newest is not None and newest.number > version.number else None


def replaced_unsigned_by(session: Session, version: CharterVersion) -> CharterVersion | None:
    """Return the newest version frozen after this unsigned one, when none since was signed:
    the version to sign instead (a signed amendment is ``superseded_by``'s to name)."""
    if _signed(version):
        return None
    later = [v for v in versions_of(session, version.document_id) if v.number > version.number]
    if not later or any(map(_signed, later)):
        return None
    return later[-1]


def public_state(session: Session, version: CharterVersion) -> str:
    """Say where the version's sign-off stands for someone holding the charter: its status,
    or ``stale`` when an open sign-off can no longer complete, as its own pages say."""
    status = version.sign_off.status
    if status in (SIGNOFF_PREPARING, SIGNOFF_PENDING) and stale_because(session, version):
        return "stale"
    return status


def replaced_versions(versions: list[CharterVersion]) -> dict[int, CharterVersion]:
    """Map each signed version of one charter to the newest signed amendment replacing it."""
    newest = _newest_signed(versions)
    if newest is None:
        return {}
    return {v.number: newest for v in versions if _signed(v) and v.number < newest.number}


def _newest_signed(versions: list[CharterVersion]) -> CharterVersion | None:
    return max(filter(_signed, versions), key=lambda v: v.number, default=None)


def _signed(version: CharterVersion) -> bool:
    return version.sign_off is not None and version.sign_off.status == SIGNOFF_SIGNED


def versions_of(session: Session, document_id: str) -> list[CharterVersion]:
    """Return every version of a document, oldest first."""
    if len(document_id) > 40:
        return []
    return list(
        session.scalars(
            select(CharterVersion)
            .where(func.upper(CharterVersion.document_id) == document_id.upper())
            .order_by(CharterVersion.number)
            .options(SIGN_OFFS_WITH_SIGNATORIES)
        )
    )


@dataclass(frozen=True)
class Change:
    """One difference between two versions, in words."""

    section: str
    item: str
    before: str
    after: str


FIELD_LABELS: dict[str, str] = {
    "project": "Project",
    "parties": "Parties",
    "consultant": "Consultant",
    "client": "Client",
    "effective_date": "Effective from",
    "project_summary": "Project summary",
    "mediators_internal": "Internal mediators",
    "mediators_external": "External mediators",
    "revenue_split": "Revenue split",
    "arbitration": "Arbitration",
    "data_storage": "Neutral storage for exports",
}


def _field_text(name: str, value: Any) -> str:
    if value in (None, "", [], {}):
        return "(left to complete by hand)"
    if name == "parties":
        return "; ".join(
            f"{_isolate(p['name'])} ({p['side']}{', ' + p['role'] if p.get('role') else ''})"
            for p in value
        )
    if name == "revenue_split":
        return f"producer {value['producer']}%, creator {value['creator']}%"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def diff(old: CharterVersion, new: CharterVersion) -> list[Change]:
    """List what the charter says differently from one version to another: the decision, the
    answers and how the respondents' answers were settled, the protocols, the reasoning and
    the fields. Only the version number and the issue details are left out."""
    before, after = old.decision, new.decision
    changes: list[Change] = []
    if before.title != after.title:
        changes.append(Change("Decision", "Partnership model", before.title, after.title))
    for key in FACTORS:
        a, b = before.answers.get(key), after.answers.get(key)
        if a != b:
            changes.append(Change("Answers", FACTORS[key].label, str(a or "-"), str(b or "-")))
    changes += _alignment_changes(before, after)
    changes += _protocol_changes(before, after)
    changes += _reasoning_changes(before, after)
    for name, label in FIELD_LABELS.items():
        a, b = old.fields.get(name), new.fields.get(name)
        if a != b:
            changes.append(
                Change("Charter details", label, _field_text(name, a), _field_text(name, b))
            )
    return changes


def _respondents(alignment: Alignment | None) -> str:
    if alignment is None:
        return "one set of answers"
    return "; ".join(f"{_isolate(r.name)} ({r.side})" for r in alignment.respondents)


def _own_levels(alignment: Alignment | None, key: str) -> str:
    if alignment is None or key not in alignment.factors:
        return "-"
    values = alignment.factors[key].values
    return " · ".join(
        f"{_isolate(r.name)} {value}"
        for r, value in zip(alignment.respondents, values, strict=False)
    )


def _far_apart(alignment: Alignment | None) -> str:
    if alignment is None or not alignment.significant:
        return "none"
    return "; ".join(
        f"{FACTORS[key].label} (gap of {alignment.factors[key].gap})"
        for key in alignment.significant
    )


def _rests_on(decision: Decision, key: str) -> tuple[str, str]:
    """Return the level the charter's section on the questions far apart gives a factor, in
    its words, and the note it prints with it ("-" for a factor that is not among them)."""
    alignment = decision.alignment
    if alignment is None or key not in alignment.significant:
        return "-", "-"
    how = (
        "agreed after discussion" if key in alignment.agreed else "cautious middle, not yet agreed"
    )
    return f"{decision.answers[key]}, {how}", alignment.notes.get(key) or "-"


def _alignment_changes(before: Decision, after: Decision) -> list[Change]:
    """What the charter prints of the respondents' own answers and how they were settled:
    who answered, each one's level per factor (appendix A), the questions far apart, the
    level the charter rests on for each and the note saying why (its own section)."""
    a, b = before.alignment, after.alignment
    if a is None and b is None:
        return []
    changes: list[Change] = []
    if _respondents(a) != _respondents(b):
        changes.append(Change("Respondents", "Who answered", _respondents(a), _respondents(b)))
    for key in FACTORS:
        own = _own_levels(a, key), _own_levels(b, key)
        if own[0] != own[1]:
            changes.append(Change("Respondents", f"{FACTORS[key].label}: own levels", *own))
    section = "Where the Parties started apart"
    if _far_apart(a) != _far_apart(b):
        changes.append(Change(section, "Questions far apart", _far_apart(a), _far_apart(b)))
    for key in FACTORS:
        (level_a, note_a), (level_b, note_b) = _rests_on(before, key), _rests_on(after, key)
        label = FACTORS[key].label
        if level_a != level_b:
            changes.append(Change(section, f"{label}: level it rests on", level_a, level_b))
        if note_a != note_b:
            changes.append(Change(section, f"{label}: why", note_a, note_b))
    return changes


def _protocol_changes(before: Decision, after: Decision) -> list[Change]:
    changes: list[Change] = []
    old_protocols = {p.id: p for p in before.protocols}
    new_protocols = {p.id: p for p in after.protocols}
    for pid in list(old_protocols) + [p for p in new_protocols if p not in old_protocols]:
        title = PROTOCOLS[pid].title if pid in PROTOCOLS else pid
        if pid not in new_protocols:
            changes.append(Change("Protocols", title, "included", "removed"))
            continue
        if pid not in old_protocols:
            changes.append(Change("Protocols", title, "not included", "added"))
            continue
        old_params, new_params = old_protocols[pid].params, new_protocols[pid].params
        for name in sorted(set(old_params) | set(new_params)):
            if old_params.get(name) != new_params.get(name):
                spec = PROTOCOLS[pid].param(name) if pid in PROTOCOLS else None
                label = f"{title}: {spec.label if spec else name}"
                unit = f" {spec.unit}" if spec else ""
                changes.append(
                    Change(
                        "Protocol parameters",
                        label,
                        f"{old_params[name]}{unit}" if name in old_params else "-",
                        f"{new_params[name]}{unit}" if name in new_params else "-",
                    )
                )
    old_tiers = {t.name: t.max_days for t in before.escalation}
    new_tiers = {t.name: t.max_days for t in after.escalation}
    for name in list(old_tiers) + [n for n in new_tiers if n not in old_tiers]:
        a, b = old_tiers.get(name), new_tiers.get(name)
        if a != b:
            changes.append(
                Change(
                    "Escalation",
                    name.replace("_", " ").capitalize(),
                    f"within {a} days" if a is not None else "-",
                    f"within {b} days" if b is not None else "-",
                )
            )
    return changes


def _reasoning_changes(before: Decision, after: Decision) -> list[Change]:
    """Why the model, its fit, the tipping points and the reasons of appendix B, each as the
    charter words it."""
    changes: list[Change] = []
    scores = _scores(before), _scores(after)
    if scores[0] != scores[1]:
        changes.append(Change("Reasoning", "Fit of each model", *scores))
    tipping = _tipping_points(before), _tipping_points(after)
    if tipping[0] != tipping[1]:
        changes.append(Change("Reasoning", "Tipping points", *tipping))
    old_reasons = {r.rule: _reason_text(r) for r in before.trace}
    new_reasons = {r.rule: _reason_text(r) for r in after.trace}
    for rule in list(old_reasons) + [r for r in new_reasons if r not in old_reasons]:
        a, b = old_reasons.get(rule, "-"), new_reasons.get(rule, "-")
        if a != b:
            changes.append(Change("Reasoning", f"Rule {rule}", a, b))
    if before.rules_version != after.rules_version:
        changes.append(
            Change(
                "Reasoning", "Rules version", before.rules_version[:12], after.rules_version[:12]
            )
        )
    return changes


def _scores(decision: Decision) -> str:
    ranked = decision.ranked_scores()
    return " · ".join(
        f"{partnership.BY_KEY[key].title if key in partnership.BY_KEY else key} {score:g}"
        for key, score in ranked
    )


def _reason_text(reason: Reason) -> str:
    """Say a reason as the charter prints it: with the points it gave each model's score,
    and the stricter value that applies where another rule outweighed its own."""
    text = reason.because
    if reason.weights:
        points = ", ".join(f"{title} {signed(value)}" for title, value in reason.weights)
        text += f" ({points})"
    if reason.outweighed:
        applies = "; ".join(
            f"{o.spec.label} {quantity(o.applies, o.spec.unit)}" for o in reason.outweighed
        )
        text += f" Another rule is stricter, so this applies: {applies}."
    return text


def _tipping_points(decision: Decision) -> str:
    if decision.what_if is None:  # kept without looking one step away
        return "not worked out"
    return " ".join(w.sentence() for w in decision.what_if) or "none"
