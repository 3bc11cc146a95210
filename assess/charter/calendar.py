"""The review calendar for the charter's first twelve months, and its iCalendar export."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

from marshmallow import ValidationError, fields, validate, validates_schema

from assess.decision import Decision
from assess.schemas import Checked, whole_number_field
from assess.text import Text

# Which parameter of a protocol sets a recurring meeting, and what the meeting is called.
CADENCES: dict[str, tuple[str, str, str]] = {
    "trust_check": (
        "every_days",
        "Trust check",
        "Each side rates transparency, reliability and mutual respect from 1 to 10.",
    ),
    "health_assessment": (
        "every_days",
        "Partnership health assessment",
        "Assessment of the partnership across the eight dimensions of the charter.",
    ),
    "technology_review": (
        "every_days",
        "Technology review",
        "Review of the tools and platforms the work depends on.",
    ),
    "financial_review": (
        "every_days",
        "Financial review",
        "Joint review of budget, costs, revenue and forecasts.",
    ),
    "creative_tension_review": (
        "every_days",
        "Creative tension review",
        "Open creative disagreements reviewed before they harden.",
    ),
    "sprint_cadence": (
        "sprint_days",
        "Sprint review",
        "Review of the sprint's deliverables and planning of the next sprint.",
    ),
    "relationship_building": (
        "every_days",
        "Relationship session",
        "Time together beyond the transactions of the project.",
    ),
    "quarterly_checkins": (
        "every_days",
        "Partnership check-in",
        "Check-in on shared goals and the pipeline of future work.",
    ),
    "decision_log": (
        "review_every_days",
        "Decision log review",
        "Review of decisions recorded since the last review and of follow-ups due.",
    ),
    "data_ownership": (
        "export_every_days",
        "Export to neutral storage",
        "Export of shared work and data to the agreed neutral storage.",
    ),
    "resource_boundaries": (
        "review_every_days",
        "Boundaries review",
        "Review of the line between resource contributions and creative input.",
    ),
    "contribution_weighted_revenue": (
        "review_every_days",
        "Contribution weights review",
        "Review of measured contributions and revenue weights.",
    ),
    "risk_adjusted_returns": (
        "review_every_days",
        "Risk weights review",
        "Review of the risk each side bears and the weights of the return split.",
    ),
}
FREQUENT_DAYS = 28  # shorter cadences are stated once rather than listed date by date
SATURDAY = 5  # date.weekday(): Monday is 0


@dataclass(frozen=True)
class ReviewSeries:
    """A recurring review: ``scheduled`` are the days its cadence gives, counted from the
    effective date; ``dates`` the days it takes place, none of them on a weekend."""

    protocol_id: str
    title: str
    description: str
    every_days: int
    dates: tuple[date, ...]
    scheduled: tuple[date, ...]

    @property
    def frequent(self) -> bool:
        return self.every_days < FREQUENT_DAYS


@dataclass(frozen=True)
class EarlierCalendar:
    """The reviews an earlier version of the same charter set, as its calendar file gave
    them: what a calendar that imported it may still hold."""

    series: tuple[ReviewSeries, ...]
    partnership_key: str
    project: str
    version: int
    # A draft's file, never frozen: the version it would have become may still cancel it.
    draft: bool = False


@dataclass(frozen=True)
class Organizer:
    """Who organises the reviews, as a calendar file names them: the consultant."""

    name: str
    email: str


@dataclass(frozen=True)
class MonthRow:
    start: date
    days: tuple[tuple[date, tuple[str, ...]], ...]


def twelve_months_after(start: date) -> date:
    """Return the last day of the twelve months that begin on ``start``."""
    try:
        anniversary = start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        anniversary = date(start.year + 1, 3, 1)
    return anniversary - timedelta(days=1)


def on_a_weekday(day: date) -> date:
    """Return ``day``, or the Monday after it when it falls on a Saturday or a Sunday."""
    return day + timedelta(days=7 - day.weekday()) if day.weekday() >= SATURDAY else day


def review_series(decision: Decision, start: date) -> tuple[ReviewSeries, ...]:
    """List every recurring review the decision implies, with its dates in the first year.

    A review the cadence puts on a weekend takes place on the Monday after (the next one
    still counts from the day the cadence gave); one that a daily cadence already holds on
    that Monday is not held twice, and one moved past the twelve months is not listed."""
    end = twelve_months_after(start)
    series: list[ReviewSeries] = []
    for protocol in decision.protocols:
        cadence = CADENCES.get(protocol.id)
        if cadence is None or cadence[0] not in protocol.params:
            continue
        param, title, description = cadence
        every = protocol.params[param]
        if every < 1:
            continue
        scheduled = []
        day = start + timedelta(days=every)
        while day <= end:
            scheduled.append(day)
            day += timedelta(days=every)
        dates = sorted({d for d in map(on_a_weekday, scheduled) if d <= end})
        if dates:
            series.append(
                ReviewSeries(protocol.id, title, description, every, tuple(dates), tuple(scheduled))
            )
    return tuple(sorted(series, key=lambda s: (s.every_days, s.title)))


def series_to_json(series: Iterable[ReviewSeries]) -> list[dict[str, Any]]:
    """Write the series as a frozen version stores them (dates as YYYY-MM-DD)."""
    return [
        {
            "protocol_id": item.protocol_id,
            "title": item.title,
            "description": item.description,
            "every_days": item.every_days,
            "dates": [day.isoformat() for day in item.dates],
            "scheduled": [day.isoformat() for day in item.scheduled],
        }
        for item in series
    ]


def series_from_json(data: Iterable[Mapping[str, Any]]) -> tuple[ReviewSeries, ...]:
    """Read the series a frozen version stored, exactly as they were when it was frozen."""
    return tuple(
        ReviewSeries(
            str(item["protocol_id"]),
            str(item["title"]),
            str(item["description"]),
            int(item["every_days"]),
            tuple(map(date.fromisoformat, item["dates"])),
            tuple(map(date.fromisoformat, item["scheduled"])),
        )
        for item in data
    )


# The file gives each review's end (the day after) and moves a weekend's to the Monday:
# days at the very end of the calendar would have none.
_IN_A_CALENDAR = validate.Range(max=date(9998, 12, 31), error="must be before the year 9999")


def _review_days() -> fields.List[date]:
    return fields.List(
        fields.Date(validate=_IN_A_CALENDAR),
        required=True,
        validate=validate.Length(min=1, error="must not be empty"),
    )


class ReviewSeriesSchema(Checked):
    """A frozen review series as ``series_from_json`` reads it and the calendar file writes it:
    its id goes into an event's UID, its texts into the event, its days into RRULE, EXDATE
    and RDATE, which need the days the cadence gave evenly spaced and both lists in order."""

    protocol_id = fields.String(
        required=True,
        validate=validate.Regexp(r"[a-z][a-z0-9_]{0,63}\Z", error="must be a protocol's id"),
    )
    title = Text(200, required=True)
    description = Text(1000, required=True)
    every_days = whole_number_field(1, 366, required=True)
    dates = _review_days()
    scheduled = _review_days()

    @validates_schema
    def _in_order(self, data: dict[str, Any], **_kwargs: Any) -> None:
        for name in ("dates", "scheduled"):
            days = data.get(name) or []
            if any(a >= b for a, b in zip(days, days[1:], strict=False)):
                raise ValidationError("must be in order, each day once", name)
        scheduled, every = data.get("scheduled") or [], data.get("every_days")
        if every and any(
            (b - a).days != every for a, b in zip(scheduled, scheduled[1:], strict=False)
        ):
            raise ValidationError("must be every_days apart", "scheduled")


def load_series(data: Any) -> tuple[ReviewSeries, ...]:
    """Validate stored review series (a list); raise ValidationError naming the field."""
    if not isinstance(data, list):
        raise ValidationError("must be a list of review series")
    ReviewSeriesSchema(many=True).load(data)
    return series_from_json(data)


class DraftCalendarSchema(Checked):
    """One event of a draft's calendar file, as an engagement keeps it: the partnership and
    version it named, and its review series."""

    partnership_key = fields.String(
        required=True,
        validate=validate.Regexp(r"[0-9a-f]{16}\Z", error="must be a partnership key"),
    )
    project = Text(200, required=True)
    version = whole_number_field(1, 999, required=True)
    series = fields.Nested(ReviewSeriesSchema, required=True)


def draft_calendars_to_json(
    kept: Iterable[EarlierCalendar], downloaded: EarlierCalendar
) -> list[dict[str, Any]]:
    """Keep the events a draft's ``downloaded`` file gave, in place of those of the same
    UID a calendar held before, beside the ``kept`` events of earlier drafts' files."""
    events: dict[str, dict[str, Any]] = {}
    for before in (*kept, downloaded):
        for item in before.series:
            events[series_uid(before.partnership_key, item.protocol_id)] = {
                "partnership_key": before.partnership_key,
                "project": before.project,
                "version": before.version,
                "series": series_to_json([item])[0],
            }
    return list(events.values())


def load_draft_calendars(data: Any) -> tuple[EarlierCalendar, ...]:
    """Read the events of draft calendars an engagement keeps (None: none yet); raise
    ValidationError naming the field of stored data that is not theirs."""
    if data is None:
        return ()
    if not isinstance(data, list):
        raise ValidationError("must be a list of draft calendar events")
    DraftCalendarSchema(many=True).load(data)
    return tuple(
        EarlierCalendar(
            series_from_json([item["series"]]),
            item["partnership_key"],
            item["project"],
            item["version"],
            draft=True,
        )
        for item in data
    )


def month_rows(series: Iterable[ReviewSeries], start: date) -> tuple[MonthRow, ...]:
    """Group the dated (not the frequent) reviews by calendar month, twelve rows from ``start``."""
    rows: list[MonthRow] = []
    end = twelve_months_after(start)
    dated = [(d, s) for s in series if not s.frequent for d in s.dates]
    month = start.replace(day=1)
    while month <= end:
        following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
        by_day: dict[date, list[str]] = {}
        for day, item in dated:
            if month <= day < following:
                by_day.setdefault(day, []).append(item.title)
        rows.append(MonthRow(month, tuple((d, tuple(sorted(by_day[d]))) for d in sorted(by_day))))
        month = following
    return tuple(rows)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Fold a content line at 75 octets without splitting a UTF-8 sequence (RFC 5545 3.1)."""
    parts: list[str] = []
    current, size, limit = "", 0, 75
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            parts.append(current)
            current, size, limit = "", 0, 74
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)


def _parameter(text: str) -> str:
    """Write a parameter value quoted, its quotes and line breaks as RFC 6868 says."""
    text = text.replace("^", "^^").replace("\r\n", "\n").replace("\r", "\n")
    return '"' + text.replace("\n", "^n").replace('"', "^'") + '"'


def _organizer(organizer: Organizer | None) -> list[str]:
    """The event's ORGANIZER, which iTIP asks of each event a calendar publishes (RFC 5546
    3.2.1); no ATTENDEE, which would make calendar apps send each party an invitation."""
    if organizer is None or not organizer.email:
        return []
    # The address as a mailto: URI (RFC 6068): what would end it or the line is escaped.
    address = quote(organizer.email, safe="@+-._~!$&'*=^`{|}/")
    name = f";CN={_parameter(organizer.name)}" if organizer.name else ""
    return [f"ORGANIZER{name}:mailto:{address}"]


def series_uid(partnership_key: str, protocol_id: str) -> str:
    """Name a review series of a partnership whatever the charter version: a calendar
    imports an amended charter's events as changes to the ones it already holds."""
    return f"{partnership_key}-{protocol_id.replace('_', '-')}@assess"


def _days(days: Iterable[date]) -> str:
    return ",".join(f"{day:%Y%m%d}" for day in days)


def _recurrence(item: ReviewSeries) -> list[str]:
    """The series as one recurring all-day event: the cadence's days (RRULE), less those on
    a weekend (EXDATE), plus the Mondays they move to (RDATE) unless the cadence already
    holds a review there. Each RDATE pairs with an EXDATE, as Outlook needs to read it as
    a moved occurrence."""
    first = item.scheduled[0]
    lines = [
        f"DTSTART;VALUE=DATE:{first:%Y%m%d}",
        f"DTEND;VALUE=DATE:{first + timedelta(days=1):%Y%m%d}",
        f"RRULE:FREQ=DAILY;INTERVAL={item.every_days};COUNT={len(item.scheduled)}",
    ]
    # Read off the series alone, not worked out again: a frozen version's series is
    # cancelled as its own file gave it, whatever the scheduling rules say today.
    weekend = [day for day in item.scheduled if day not in item.dates]
    moved = sorted(set(item.dates) - set(item.scheduled))
    if weekend:
        lines.append(f"EXDATE;VALUE=DATE:{_days(weekend)}")
    if moved:
        lines.append(f"RDATE;VALUE=DATE:{_days(moved)}")
    return lines


def to_ics(
    series: Iterable[ReviewSeries],
    *,
    document_id: str,
    project: str,
    issued_at: datetime,
    partnership_key: str,
    version: int = 1,
    clause_numbers: Mapping[str, str] | None = None,
    draft: bool = False,
    earlier: Iterable[EarlierCalendar] = (),
    organizer: Organizer | None = None,
) -> bytes:
    """Write the review series as an iCalendar file, one recurring all-day event each; a
    ``draft``'s says so in its name and on each event, as the draft PDF does on each page.

    An event's UID names the partnership and the review, not the charter version, and its
    SEQUENCE is the version: a calendar imports an amended charter as changes to the events
    it already holds, and the frozen version's calendar (stamped later) replaces a draft's.
    A review an ``earlier`` version of the charter set and this one does not is in the file
    too, cancelled (STATUS:CANCELLED at this version's SEQUENCE), so that a calendar which
    imported the earlier version removes it. Each event names the ``organizer``, if any."""
    stamp = issued_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//assess//Partnership charter//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ]
    # RFC 7986 names a calendar with NAME; Apple and Google Calendar read X-WR-CALNAME.
    name = _escape(f"{'Draft charter' if draft else 'Charter'} reviews: {project}")
    lines += [f"NAME:{name}", f"X-WR-CALNAME:{name}"]
    held: set[str] = set()
    for item in series:
        clause = (clause_numbers or {}).get(item.protocol_id)
        reference = f"{'Draft of charter' if draft else 'Charter'} {document_id}" + (
            f", clause {clause}" if clause else ""
        )
        uid = series_uid(partnership_key, item.protocol_id)
        held.add(uid)
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            f"SEQUENCE:{version - 1}",
            f"DTSTAMP:{stamp}",
            *_organizer(organizer),
            *_recurrence(item),
            f"SUMMARY:{_escape(f'{item.title}: {project}')}",
            f"DESCRIPTION:{_escape(f'{item.description} {reference}.')}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    # The latest earlier file that set a review is the one a calendar holds it from: of
    # one version, the draft's came before the frozen one's.
    dropped: dict[str, tuple[EarlierCalendar, ReviewSeries]] = {}
    for before in sorted(earlier, key=lambda c: (c.version, not c.draft)):
        if before.version > version or (before.version == version and not before.draft):
            # A lower SEQUENCE would not cancel it. A draft of this version's file has the
            # same one: stamped later, this file replaces it.
            continue
        for item in before.series:
            uid = series_uid(before.partnership_key, item.protocol_id)
            if uid not in held:
                dropped[uid] = (before, item)
    this = f"{'The draft of version' if draft else 'Version'} {version} of charter {document_id}"
    for uid, (before, item) in dropped.items():
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}",
            f"SEQUENCE:{version - 1}",
            f"DTSTAMP:{stamp}",
            *_organizer(organizer),
            *_recurrence(item),
            f"SUMMARY:{_escape(f'{item.title}: {before.project}')}",
            f"DESCRIPTION:{_escape(f'Cancelled. {this} no longer sets this review.')}",
            "STATUS:CANCELLED",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode()
