"""The twelve-month review calendar and its iCalendar export."""

from __future__ import annotations

import html
import io
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest
from calendartools import occurrences, published_events
from conftest import make_details
from marshmallow import ValidationError
from pypdf import PdfReader

from assess import charter
from assess.alignment import Respondent
from assess.charter import calendar, render
from assess.decision import ChosenProtocol, Decision
from assess.engine import evaluate_respondents
from assess.factors import FACTOR_KEYS
from assess.protocols import BY_ID as PROTOCOLS


def decision_with(*protocols: ChosenProtocol, base: Decision) -> Decision:
    return Decision(
        answers=base.answers,
        model=base.model,
        components=base.components,
        scores=base.scores,
        protocols=protocols,
        escalation=base.escalation,
        trace=base.trace,
        rules_version=base.rules_version,
    )


def test_cadences_fill_the_first_twelve_months(decisions: dict[str, Decision]) -> None:
    decision = decision_with(
        ChosenProtocol("trust_check", {"every_days": 30, "threshold": 7}),
        ChosenProtocol("health_assessment", {"every_days": 91}),
        ChosenProtocol("sprint_cadence", {"sprint_days": 14}),
        ChosenProtocol("mediation", {"trigger_days": 14}),  # not a recurring review
        base=decisions["standard"],
    )
    start = date(2026, 3, 2)
    series = {s.protocol_id: s for s in calendar.review_series(decision, start)}
    assert set(series) == {"trust_check", "health_assessment", "sprint_cadence"}
    assert series["trust_check"].dates[0] == date(2026, 4, 1)
    assert len(series["trust_check"].dates) == 12
    assert series["health_assessment"].dates == (
        date(2026, 6, 1),
        date(2026, 8, 31),
        date(2026, 11, 30),
        date(2027, 3, 1),
    )
    assert len(series["sprint_cadence"].dates) == 26 and series["sprint_cadence"].frequent
    assert all(d <= date(2027, 3, 1) for s in series.values() for d in s.dates)


def test_months_group_dated_reviews_and_leave_out_frequent_ones(
    decisions: dict[str, Decision],
) -> None:
    decision = decision_with(
        ChosenProtocol("trust_check", {"every_days": 30}),
        ChosenProtocol("financial_review", {"every_days": 30}),
        ChosenProtocol("decision_log", {"review_every_days": 7}),
        base=decisions["standard"],
    )
    start = date(2026, 1, 31)
    rows = calendar.month_rows(calendar.review_series(decision, start), start)
    assert rows[0].start == date(2026, 1, 1) and rows[-1].start == date(2027, 1, 1)
    assert len(rows) == 13
    march = next(r for r in rows if r.start == date(2026, 3, 1))
    assert march.days == ((date(2026, 3, 2), ("Financial review", "Trust check")),)
    assert not any("Decision log review" in t for r in rows for _, t in r.days)
    # Reviews on one day are listed on one line; when it wraps, no line starts with "·"
    # and no review's name is split (a .review keeps its words together).
    details = make_details(effective_date=start.isoformat())
    html = charter.to_html(decision, details)
    assert 'Financial review</span>\u00a0· <span class="review">Trust check' in html
    # January 2026 holds only the weekly review: the month says so rather than "nothing".
    january = html.split('<td class="month">January 2026</td>', 1)[1].split("</tr>", 1)[0]
    assert "Only the more frequent reviews" in january
    assert "(decision log review) are in the first table only." in html
    monthly = decision_with(ChosenProtocol("trust_check", {"every_days": 30}), base=decision)
    html = charter.to_html(monthly, details)
    january = html.split('<td class="month">January 2026</td>', 1)[1].split("</tr>", 1)[0]
    assert "No review" in january and "first table only" not in html


def test_a_leap_day_start_ends_on_the_last_day_of_february() -> None:
    assert calendar.twelve_months_after(date(2028, 2, 29)) == date(2029, 2, 28)
    assert calendar.twelve_months_after(date(2026, 3, 2)) == date(2027, 3, 1)


def unescape(text: str) -> str:
    """Read an iCalendar text value (RFC 5545 3.3.11)."""
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], text)


def unfold(ics: str) -> list[str]:
    return ics.replace("\r\n ", "").split("\r\n")


def test_ics_export_is_valid_and_reproducible(decisions: dict[str, Decision]) -> None:
    decision = decisions["standard"]
    details = make_details(project="Fête; été, \\ 日本語の長いプロジェクト名 " + "x" * 80)
    data = charter.to_ics(decision, details)
    assert data == charter.to_ics(decision, details)
    text = data.decode()
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    lines = unfold(text)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR"
    series = calendar.review_series(decision, details.start)
    assert sum(line == "BEGIN:VEVENT" for line in lines) == len(series) > 0
    trust = next(s for s in series if s.protocol_id == "trust_check")
    assert f"UID:{details.partnership_key}-trust-check@assess" in lines
    assert "SEQUENCE:0" in lines
    assert f"DTSTART;VALUE=DATE:{trust.scheduled[0]:%Y%m%d}" in lines
    assert f"RRULE:FREQ=DAILY;INTERVAL={trust.every_days};COUNT={len(trust.scheduled)}" in lines
    assert "DTSTAMP:20260302T090000Z" in lines
    summary = next(line for line in lines if line.startswith("SUMMARY:Trust check"))
    assert "Fête\\; été\\, \\\\ 日本語の長いプロジェクト名" in summary


def test_each_event_names_the_consultant_as_its_organiser(
    decisions: dict[str, Decision],
) -> None:
    """A published calendar's events name who organises them (RFC 5546 3.2.1): the
    consultant, by name and address; a name's quotes and line breaks are written as
    RFC 6868 says, so the parameter stays one value."""
    decision = decisions["standard"]
    organizer = calendar.Organizer('Cara "CD" Diaz^\nQ', "cara+charter@example.com")
    earlier = frozen(decision, make_details(version=1))
    amended = decision_with(ChosenProtocol("trust_check", {"every_days": 30}), base=decision)
    data = charter.to_ics(amended, make_details(version=2), organizer=organizer, earlier=[earlier])
    events = published_events(data)
    assert any(e.get("STATUS") == "CANCELLED" for e in events) and len(events) > 2
    for event in events:
        assert str(event["ORGANIZER"]) == "mailto:cara+charter@example.com"
        assert event["ORGANIZER"].params["CN"] == 'Cara "CD" Diaz^\nQ'
    assert "ORGANIZER;CN=\"Cara ^'CD^' Diaz^^^nQ\":mailto:cara+charter@example.com" in unfold(
        data.decode()
    )
    # Without an address to name, no event names an organiser rather than a made-up one.
    assert b"ORGANIZER" not in charter.to_ics(decision, make_details())


@pytest.mark.parametrize("text", ["Σέλας", "北极光", "الشفق", "é"])
def test_long_lines_fold_between_characters(text: str) -> None:
    """However the characters fall against the 75-octet limit, none is split in two."""
    for lead in range(60, 80):
        line = "SUMMARY:" + "x" * lead + text * 40
        physical = calendar._fold(line).encode().split(b"\r\n")
        assert all(len(part) <= 75 for part in physical)
        assert all(part.decode() for part in physical)  # each one valid UTF-8 by itself
        assert b"".join(part.removeprefix(b" ") for part in physical).decode() == line


def test_recurring_dates_follow_the_cadence_from_the_effective_date(
    decisions: dict[str, Decision],
) -> None:
    start = date(2026, 3, 2)
    end = calendar.twelve_months_after(start)
    for item in calendar.review_series(decisions["hybrid"], start):
        every = timedelta(days=item.every_days)
        expected = [start + every * i for i in range(1, len(item.scheduled) + 1)]
        assert list(item.scheduled) == expected
        assert item.scheduled[-1] <= end < item.scheduled[-1] + every
        assert list(item.dates) == [calendar.on_a_weekday(d) for d in item.scheduled]


@pytest.mark.parametrize(
    ("start", "every", "expected"),
    [
        # From a Monday every 30 days: 31 May and 29 August 2026 are a Sunday and a Saturday.
        (
            date(2026, 3, 2),
            30,
            [date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1), date(2026, 6, 30)],
        ),
        (
            date(2026, 3, 2),
            30,
            [date(2026, 7, 30), date(2026, 8, 31), date(2026, 9, 28)],
        ),
        # From a Saturday every week: every review on the Monday after.
        (date(2026, 3, 7), 7, [date(2026, 3, 16), date(2026, 3, 23), date(2026, 3, 30)]),
        # From a Sunday every 90 days: a Saturday, then a Friday and a Thursday.
        (date(2026, 5, 31), 90, [date(2026, 8, 31), date(2026, 11, 27), date(2027, 2, 25)]),
        # From a Friday every 15 days: a Saturday, a Sunday, then a Monday.
        (date(2026, 3, 6), 15, [date(2026, 3, 23), date(2026, 4, 6), date(2026, 4, 20)]),
    ],
)
def test_a_review_due_on_a_weekend_takes_place_the_following_monday(
    decisions: dict[str, Decision], start: date, every: int, expected: list[date]
) -> None:
    decision = decision_with(
        ChosenProtocol("trust_check", {"every_days": every}), base=decisions["standard"]
    )
    (series,) = calendar.review_series(decision, start)
    assert set(expected) <= set(series.dates)
    assert all(day.weekday() < 5 for day in series.dates)
    # The cadence still counts from the effective date, not from a moved review.
    assert series.scheduled[0] == start + timedelta(days=every)


def test_a_daily_review_is_held_once_on_monday_and_none_past_the_twelve_months(
    decisions: dict[str, Decision],
) -> None:
    decision = decision_with(
        ChosenProtocol("decision_log", {"review_every_days": 1}), base=decisions["standard"]
    )
    start = date(2026, 3, 4)  # a Wednesday: the twelve months end on a Wednesday too
    (series,) = calendar.review_series(decision, start)
    end = calendar.twelve_months_after(start)
    weekdays = [
        start + timedelta(days=n)
        for n in range(1, (end - start).days + 1)
        if (start + timedelta(days=n)).weekday() < 5
    ]
    assert list(series.dates) == weekdays
    # Twelve months that end on a Sunday: that weekend's reviews would fall after them.
    start = date(2026, 3, 1)
    (series,) = calendar.review_series(decision, start)
    assert calendar.twelve_months_after(start) == date(2027, 2, 28)
    assert series.dates[-1] == date(2027, 2, 26)
    assert series.scheduled[-1] == date(2027, 2, 28)


def cadence_decisions(base: Decision) -> list[Decision]:
    """One decision per recurring review and every cadence its protocol allows."""
    found = []
    for protocol_id, (param, _, _) in calendar.CADENCES.items():
        allowed = next(p for p in PROTOCOLS[protocol_id].params if p.name == param)
        for every in range(allowed.low, allowed.high + 1):
            found.append(decision_with(ChosenProtocol(protocol_id, {param: every}), base=base))
    return found


def test_no_review_ever_falls_on_a_weekend(decisions: dict[str, Decision]) -> None:
    """Every cadence of every review from a start on each day of the week and on a leap
    day, and the recommended cadences from every day of two years."""

    def check(decision: Decision, start: date) -> None:
        end = calendar.twelve_months_after(start)
        for item in calendar.review_series(decision, start):
            assert all(start < day <= end and day.weekday() < 5 for day in item.dates)
            assert list(item.dates) == sorted(set(item.dates))
            moved = {calendar.on_a_weekday(day) for day in item.scheduled}
            assert set(item.dates) == {day for day in moved if day <= end}

    starts = [date(2027, 3, 1) + timedelta(days=n) for n in range(7)] + [date(2028, 2, 29)]
    for decision in cadence_decisions(decisions["standard"]):
        for start in starts:
            check(decision, start)
    for decision in decisions.values():
        for n in range(731):
            check(decision, date(2027, 1, 1) + timedelta(days=n))


def test_ics_times_are_utc() -> None:
    stamp = datetime(2026, 3, 2, 9, tzinfo=UTC)
    text = calendar.to_ics(
        [], document_id="PC-X", project="P", issued_at=stamp, partnership_key="k"
    ).decode()
    assert "BEGIN:VEVENT" not in text and "PRODID:-//assess//Partnership charter//EN" in text


def test_events_keep_their_uid_across_days_and_versions(decisions: dict[str, Decision]) -> None:
    """A calendar that imports the file again, or an amended version, updates its events."""

    def events(**changes: object) -> list[tuple[str, str]]:
        details = make_details(effective_date="2026-04-01", **changes)
        lines = unfold(charter.to_ics(decisions["standard"], details).decode())
        uids = [line for line in lines if line.startswith("UID:")]
        sequences = [line for line in lines if line.startswith("SEQUENCE:")]
        return list(zip(uids, sequences, strict=True))

    first = events(issued_at="2026-03-02T00:00:00+00:00")
    assert first and all(sequence == "SEQUENCE:0" for _, sequence in first)
    assert events(issued_at="2026-03-03T00:00:00+00:00") == first
    amended = events(issued_at="2026-05-03T00:00:00+00:00", version=2)
    assert [uid for uid, _ in amended] == [uid for uid, _ in first]
    assert all(sequence == "SEQUENCE:1" for _, sequence in amended)
    # Another partnership's calendar never touches these events.
    other = events(issued_at="2026-03-02T00:00:00+00:00", project="Another project")
    assert not {uid for uid, _ in other} & {uid for uid, _ in first}


MONTH_ROW = re.compile(
    r"^(January|February|March|April|May|June|July|August|September|"
    r"October|November|December) \d{4} (\d{1,2} [A-Z][a-z]{2}\b|Only the|No review)",
    re.MULTILINE,
)


@pytest.mark.parametrize("kind", ["apart", "standard", "hybrid"])
def test_the_month_table_stays_on_one_page(decisions: dict[str, Decision], kind: str) -> None:
    if kind == "apart":  # two sides far apart: alignment sections push the calendar down
        answers = dict(zip(FACTOR_KEYS, (4, 2, 5, 4, 2, 4, 2, 2), strict=True))
        other = dict(zip(FACTOR_KEYS, (2, 4, 2, 2, 5, 2, 4, 4), strict=True))
        decision = evaluate_respondents(
            [Respondent("Ann Lee", "producer", answers), Respondent("Bo Chen", "creator", other)],
            {"risk_tolerance": 3},
            what_if=True,
        )
    else:
        decision = decisions[kind]
    pages = PdfReader(io.BytesIO(charter.to_pdf(decision, make_details()))).pages
    holding = [n for n, page in enumerate(pages) if MONTH_ROW.search(page.extract_text())]
    assert len(holding) == 1, f"month rows on pages {holding}"


def test_a_review_may_move_by_a_third_of_its_interval_at_most(
    decisions: dict[str, Decision],
) -> None:
    """A decision log reviewed every few days cannot be moved by a week."""
    text = " ".join(charter.to_html(decisions["standard"], make_details()).split())
    assert "move a review by up to a third of its interval, and never by more than 7 days" in text
    assert "by up to seven days by agreement" not in text


def test_the_charter_says_a_weekend_review_moves_to_the_monday(
    decisions: dict[str, Decision],
) -> None:
    decision = decision_with(
        ChosenProtocol("trust_check", {"every_days": 30}), base=decisions["standard"]
    )
    page = charter.to_html(decision, make_details(effective_date="2026-03-02"))
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    assert (
        "A review that would fall on a Saturday or a Sunday takes place on the following Monday."
        in text
    )
    # 30 days after 1 May 2026 is Sunday 31 May: the table shows Monday 1 June.
    may = page.split('<td class="month">May 2026</td>', 1)[1].split("</tr>", 1)[0]
    june = page.split('<td class="month">June 2026</td>', 1)[1].split("</tr>", 1)[0]
    assert '<span class="day">31 May</span>' not in may
    assert '<span class="day">1 Jun</span>' in june


@pytest.mark.parametrize(
    "kind", ["standard", "integrated", "agile", "hybrid", "strategic_resource"]
)
@pytest.mark.parametrize(
    "project",
    [
        'Fête; été, \\ a:b "quoted"',
        "مشروع الفيلم الوثائقي: الجزء الأول",
        "é" * 199 + "x",
    ],
)
def test_a_strict_parser_reads_the_charter_s_review_calendar(
    decisions: dict[str, Decision], kind: str, project: str
) -> None:
    """What a calendar app imports: the same reviews, titles and dates as the charter."""
    decision = decisions[kind]
    details = make_details(project=project, effective_date="2028-02-29")
    data = charter.to_ics(decision, details)
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))
    parsed = icalendar.Calendar.from_ical(data)
    assert parsed["VERSION"] == "2.0" and parsed["METHOD"] == "PUBLISH"
    # Named for the user: RFC 7986's NAME, and the name Apple and Google Calendar read
    # (text values both; the parser leaves their escapes in).
    for name in ("NAME", "X-WR-CALNAME"):
        assert unescape(str(parsed[name])) == f"Charter reviews: {project}"
    events = parsed.walk("VEVENT")
    assert not [c.errors for c in parsed.walk() if c.errors]
    series = calendar.review_series(decision, details.start)
    assert [str(e["SUMMARY"]) for e in events] == [f"{s.title}: {project}" for s in series]
    assert len({str(e["UID"]) for e in events}) == len(events)
    for event, item in zip(events, series, strict=True):
        start = event.decoded("DTSTART")
        assert not isinstance(start, datetime)  # all-day, in every time zone
        assert event.decoded("DTSTAMP") == details.issued_at
        assert occurrences(event) == list(item.dates), item.title
        assert item.description in str(event["DESCRIPTION"])


def consensus_far_apart() -> Decision:
    answers = dict(zip(FACTOR_KEYS, (4, 2, 5, 4, 2, 4, 2, 2), strict=True))
    other = dict(zip(FACTOR_KEYS, (2, 4, 2, 2, 5, 2, 4, 4), strict=True))
    return evaluate_respondents(
        [Respondent("Ann Lee", "producer", answers), Respondent("Bo Chen", "creator", other)],
        {"risk_tolerance": 3},
        what_if=True,
    )


@pytest.mark.parametrize("effective", ["2028-01-31", "2028-02-29", "2027-12-31"])
@pytest.mark.parametrize(
    "kind", ["standard", "integrated", "agile", "hybrid", "strategic_resource", "apart"]
)
def test_the_calendar_file_holds_what_the_charter_s_tables_show(
    decisions: dict[str, Decision], kind: str, effective: str
) -> None:
    """Read off the rendered charter and off the file: the same reviews, every, first date,
    count and clause, and in each month the same dated reviews on the same days."""
    decision = consensus_far_apart() if kind == "apart" else decisions[kind]
    project = "Βόρειο Σέλας, 北极光; \\ الشفق"
    details = make_details(project=project, effective_date=effective)
    page = charter.to_html(decision, details)

    def rows(table: str) -> list[str]:
        body = page.split(f'<table class="{table}', 1)[1].split("<tbody>", 1)[1]
        return re.findall(r"<tr>(.*?)</tr>", body.split("</tbody>", 1)[0], re.DOTALL)

    def text(markup: str) -> str:
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())

    def cells(row: str) -> list[str]:
        return [text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)]

    table = [cells(row) for row in rows("series")]
    months = {
        cells(row)[0]: [text(event) for event in re.findall(r'<p class="event">(.*?)</p>', row)]
        for row in rows("months")
    }

    events = icalendar.Calendar.from_ical(charter.to_ics(decision, details)).walk("VEVENT")
    from_file, by_day = [], {}
    for event in events:
        title, _, named = str(event["SUMMARY"]).partition(": ")
        assert named == project
        rule = event["RRULE"]
        start = event.decoded("DTSTART")
        days = occurrences(event)
        assert event.decoded("DTEND") - start == timedelta(days=1)  # all-day, one day each
        assert all(day.weekday() < 5 for day in days)
        every = rule["INTERVAL"][0]
        clause = re.search(r"clause ([\d.]+)\.$", str(event["DESCRIPTION"]))
        from_file.append(
            [
                title,
                f"{every} days",
                render.long_date(days[0]),
                str(len(days)),
                clause[1] if clause else "",
            ]
        )
        if every >= calendar.FREQUENT_DAYS:
            for day in days:
                by_day.setdefault(day, []).append(title)
    assert from_file == table
    shown: dict[str, list[str]] = {month: [] for month in months}
    for day in sorted(by_day):
        titles = " · ".join(sorted(by_day[day]))
        shown[f"{day:%B %Y}"].append(f"{render.short_date(day)} {titles}")
    assert shown == months


def events_by_uid(data: bytes) -> dict[str, icalendar.Event]:
    parsed = icalendar.Calendar.from_ical(data)
    assert not [c.errors for c in parsed.walk() if c.errors]
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))
    return {str(event["UID"]): event for event in parsed.walk("VEVENT")}


def test_a_moved_review_is_an_exdate_paired_with_an_rdate(decisions: dict[str, Decision]) -> None:
    """Outlook reads a moved occurrence as an RDATE paired with the EXDATE it replaces; a
    daily review's weekend needs no RDATE, its Monday is held already."""
    decision = decision_with(
        ChosenProtocol("decision_log", {"review_every_days": 1}),
        ChosenProtocol("trust_check", {"every_days": 15}),
        ChosenProtocol("health_assessment", {"every_days": 91}),
        base=decisions["standard"],
    )
    details = make_details(effective_date="2026-03-06")  # a Friday
    events = events_by_uid(charter.to_ics(decision, details))
    series = {
        calendar.series_uid(details.partnership_key, s.protocol_id): s
        for s in calendar.review_series(decision, details.start)
    }
    assert set(events) == set(series)
    for uid, event in events.items():
        item = series[uid]
        assert occurrences(event) == list(item.dates)
        assert "STATUS" not in event
        weekend = [d.dt for d in event["EXDATE"].dts] if "EXDATE" in event else []
        moved = [d.dt for d in event["RDATE"].dts] if "RDATE" in event else []
        assert all(day.weekday() >= 5 for day in weekend)
        assert all(day.weekday() == 0 and day not in item.scheduled for day in moved)
        if item.every_days == 1:
            assert weekend and not moved
        else:
            paired = [calendar.on_a_weekday(day) for day in weekend]
            assert moved == [day for day in paired if day in item.dates]
    # Every 91 days from a Friday: always a Friday, nothing moved.
    health = next(e for e in events.values() if str(e["SUMMARY"]).startswith("Partnership"))
    assert "EXDATE" not in health and "RDATE" not in health


def frozen(decision: Decision, details: charter.CharterDetails) -> calendar.EarlierCalendar:
    """The calendar a version frozen from ``decision`` and ``details`` keeps."""
    series, _ = charter.kept_calendar(decision, details, stamped_at=details.issued_at, draft=False)
    return charter.earlier_calendar(details, series)


def test_an_amended_calendar_cancels_the_reviews_it_no_longer_sets(
    decisions: dict[str, Decision],
) -> None:
    """A calendar that imported an earlier version removes the reviews an amendment drops:
    the amendment's file holds them, same UID, STATUS:CANCELLED at its higher SEQUENCE."""
    base = decisions["standard"]
    trust = ChosenProtocol("trust_check", {"every_days": 30})
    health = ChosenProtocol("health_assessment", {"every_days": 91})
    sprints = ChosenProtocol("sprint_cadence", {"sprint_days": 14})
    first = decision_with(trust, health, sprints, base=base)
    first_details = make_details(effective_date="2026-04-04", document_id="PC-2026-AAAA-BBBB")
    first_events = events_by_uid(charter.to_ics(first, first_details))
    assert len(first_events) == 3
    history = [frozen(first, first_details)]

    second = decision_with(trust, base=base)
    second_details = make_details(
        effective_date="2026-05-01",
        issued_at="2026-04-20T10:00:00+00:00",
        document_id="PC-2026-AAAA-BBBB",
        version=2,
    )
    events = events_by_uid(charter.to_ics(second, second_details, earlier=history))
    cancelled = {uid: e for uid, e in events.items() if e.get("STATUS") == "CANCELLED"}
    kept = calendar.series_uid(second_details.partnership_key, "trust_check")
    assert set(events) == set(first_events) and set(cancelled) == set(events) - {kept}
    for uid, event in cancelled.items():
        before = first_events[uid]
        assert event["SEQUENCE"] == 1 > before["SEQUENCE"] == 0
        assert event.decoded("DTSTAMP") == second_details.issued_at
        assert occurrences(event) == occurrences(before)
        assert str(event["SUMMARY"]) == str(before["SUMMARY"])
        assert str(event["DESCRIPTION"]) == (
            "Cancelled. Version 2 of charter PC-2026-AAAA-BBBB no longer sets this review."
        )
    # The review kept is changed in place, counted from the new effective date.
    assert "STATUS" not in events[kept] and events[kept]["SEQUENCE"] == 1
    assert occurrences(events[kept])[0] == date(2026, 6, 1)  # not Sunday 31 May

    # Version 3 sets the health assessment again and still cancels the sprint reviews, for a
    # calendar that imported version 1 and none since; its draft says it is one.
    history.append(frozen(second, second_details))
    third = decision_with(trust, health, base=base)
    third_details = make_details(
        effective_date="2026-05-01", document_id="PC-2026-AAAA-BBBB", version=3
    )
    data = charter.to_ics(third, third_details, earlier=history, draft=True)
    events = events_by_uid(data)
    cancelled = {uid: e for uid, e in events.items() if e.get("STATUS") == "CANCELLED"}
    assert set(cancelled) == {calendar.series_uid(first_details.partnership_key, "sprint_cadence")}
    assert all(e["SEQUENCE"] == 2 for e in events.values())
    assert "The draft of version 3 of charter PC-2026-AAAA-BBBB no longer sets" in " ".join(
        str(e["DESCRIPTION"]) for e in cancelled.values()
    )
    # Nothing cancels what a later version set, nor a first version's calendar anything.
    assert b"CANCELLED" not in charter.to_ics(first, first_details, earlier=history)


def test_a_draft_cancels_what_an_earlier_draft_of_its_version_set(
    decisions: dict[str, Decision],
) -> None:
    """A draft's file may be imported though never frozen: a later file of the same version
    (same SEQUENCE, stamped later) cancels what it set and the later one drops, under the
    partnership's old name too; a frozen file of that version is the file itself."""
    base = decisions["standard"]
    trust = ChosenProtocol("trust_check", {"every_days": 30})
    sprints = ChosenProtocol("sprint_cadence", {"sprint_days": 14})
    old_name = make_details(project="Old name")
    series, _ = charter.kept_calendar(
        decision_with(trust, sprints, base=base),
        old_name,
        stamped_at=old_name.issued_at,
        draft=True,
    )
    downloaded = replace(charter.earlier_calendar(old_name, series), draft=True)
    kept = calendar.load_draft_calendars(calendar.draft_calendars_to_json([], downloaded))
    assert [len(c.series) for c in kept] == [1, 1] and all(c.draft for c in kept)

    details = make_details(issued_at="2026-03-03T09:00:00+00:00")
    events = events_by_uid(charter.to_ics(decision_with(trust, base=base), details, earlier=kept))
    cancelled = {uid for uid, e in events.items() if e.get("STATUS") == "CANCELLED"}
    assert cancelled == {
        calendar.series_uid(old_name.partnership_key, "trust_check"),
        calendar.series_uid(old_name.partnership_key, "sprint_cadence"),
    }
    assert all(e["SEQUENCE"] == 0 for e in events.values())
    frozen_first = [replace(c, draft=False) for c in kept]
    assert b"CANCELLED" not in charter.to_ics(base, details, earlier=frozen_first)
    # A later download replaces what the calendar holds of a review: its dates are cancelled.
    again = replace(downloaded, series=series[:1], project="Old name")
    assert len(calendar.draft_calendars_to_json(kept, again)) == 2
    with pytest.raises(ValidationError, match="partnership key"):
        calendar.load_draft_calendars(
            [{**calendar.draft_calendars_to_json([], again)[0], "partnership_key": "x"}]
        )


def test_a_renamed_partnership_cancels_the_events_of_its_old_name(
    decisions: dict[str, Decision],
) -> None:
    """Its events are named anew (the project is part of their UID): the old ones go."""
    decision = decisions["standard"]
    before = make_details(effective_date="2026-04-01")
    after = make_details(effective_date="2026-04-01", project="Southern Lights", version=2)
    old = events_by_uid(charter.to_ics(decision, before))
    new = events_by_uid(charter.to_ics(decision, after, earlier=[frozen(decision, before)]))
    assert set(old) < set(new)
    assert all(new[uid]["STATUS"] == "CANCELLED" for uid in old)
    assert all("STATUS" not in new[uid] for uid in set(new) - set(old))


@pytest.mark.parametrize(
    ("effective", "issued_at"),
    [
        # Twelve months across both of Europe's clock changes, issued in a zone ahead of UTC.
        ("2027-03-27", "2027-03-27T00:30:00+02:00"),
        ("2027-10-30", "2027-10-30T23:30:00-07:00"),
        ("2027-12-30", "2027-12-31T23:59:59-12:00"),  # the first reviews in the next year
        ("2028-02-29", "2028-02-29T12:00:00+14:00"),
        ("2027-01-31", "2027-01-31T09:00:00Z"),
    ],
)
def test_reviews_are_whole_days_that_no_time_zone_or_clock_change_moves(
    decisions: dict[str, Decision], effective: str, issued_at: str
) -> None:
    """Each review is an all-day event (RFC 5545 3.6.1): its days written as dates, its end
    the day after (exclusive), and no local or floating time a calendar app would shift to
    its own zone; the one time in the file, the stamp, is in UTC. So no VTIMEZONE is needed,
    and the days are those the charter prints wherever the file is opened."""
    details = make_details(effective_date=effective, issued_at=issued_at)
    data = charter.to_ics(decisions["hybrid"], details)
    parsed = icalendar.Calendar.from_ical(data)
    assert not parsed.walk("VTIMEZONE") and b"TZID" not in data
    for line in unfold(data.decode()):
        name, _, value = line.partition(":")
        if name.split(";")[0] in {"DTSTART", "DTEND", "EXDATE", "RDATE"}:
            assert name.endswith(";VALUE=DATE") and re.fullmatch(r"\d{8}(,\d{8})*", value), line
        elif name == "DTSTAMP":
            assert value == datetime.fromisoformat(issued_at).astimezone(UTC).strftime(
                "%Y%m%dT%H%M%SZ"
            )
    series = calendar.review_series(decisions["hybrid"], details.start)
    events = parsed.walk("VEVENT")
    assert len(events) == len(series) > 0
    for event, item in zip(events, series, strict=True):
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert not isinstance(start, datetime) and not isinstance(end, datetime)
        assert end - start == timedelta(days=1) and start == item.scheduled[0]
        assert occurrences(event) == list(item.dates)
        assert details.start < item.dates[0] and item.dates[-1] <= calendar.twelve_months_after(
            details.start
        )
