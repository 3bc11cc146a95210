"""The twelve-month review calendar and its iCalendar export."""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest
from conftest import make_details
from dateutil.rrule import rrulestr
from pypdf import PdfReader

from assess import charter
from assess.alignment import Respondent
from assess.charter import calendar, render
from assess.decision import ChosenProtocol, Decision
from assess.engine import evaluate_respondents
from assess.factors import FACTOR_KEYS


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
    # Reviews on one day are listed on one line; when it wraps, no line starts with "·".
    details = make_details(effective_date=start.isoformat())
    html = charter.to_html(decision, details)
    assert "Financial review\u00a0· Trust check" in html
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
    assert f"DTSTART;VALUE=DATE:{trust.dates[0]:%Y%m%d}" in lines
    assert f"RRULE:FREQ=DAILY;INTERVAL={trust.every_days};COUNT={len(trust.dates)}" in lines
    assert "DTSTAMP:20260302T090000Z" in lines
    summary = next(line for line in lines if line.startswith("SUMMARY:Trust check"))
    assert "Fête\\; été\\, \\\\ 日本語の長いプロジェクト名" in summary


@pytest.mark.parametrize("text", ["Σέλας", "北极光", "الشفق", "é"])
def test_long_lines_fold_between_characters(text: str) -> None:
    """However the characters fall against the 75-octet limit, none is split in two."""
    for lead in range(60, 80):
        line = "SUMMARY:" + "x" * lead + text * 40
        physical = calendar._fold(line).encode().split(b"\r\n")
        assert all(len(part) <= 75 for part in physical)
        assert all(part.decode() for part in physical)  # each one valid UTF-8 by itself
        assert b"".join(part.removeprefix(b" ") for part in physical).decode() == line


def test_recurring_dates_match_the_rrule(decisions: dict[str, Decision]) -> None:
    start = date(2026, 3, 2)
    for item in calendar.review_series(decisions["hybrid"], start):
        expected = [
            item.dates[0] + timedelta(days=i * item.every_days) for i in range(len(item.dates))
        ]
        assert list(item.dates) == expected
        assert item.dates[-1] + timedelta(days=item.every_days) > calendar.twelve_months_after(
            start
        )


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
        rule = rrulestr(event["RRULE"].to_ical().decode(), dtstart=start)
        assert [day.date() for day in rule] == list(item.dates), item.title
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
        days = [d.date() for d in rrulestr(rule.to_ical().decode(), dtstart=start)]
        assert event.decoded("DTEND") - start == timedelta(days=1)  # all-day, one day each
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
