"""Reading review calendars as a calendar app and a reader of the charter's PDF do."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, time

import icalendar
from dateutil.rrule import rruleset, rrulestr
from pypdf import PdfReader

MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
# A day of the month table ("8 Mar") and the titles after it, up to the next day.
DAY = r"(\d{1,2} [A-Z][a-z]{2}) (.*?)(?= \d{1,2} [A-Z][a-z]{2} |$)"


def occurrences(event: icalendar.Event) -> list[date]:
    """The days of an all-day event as a calendar app lists them: its RRULE's, less its
    EXDATEs, plus its RDATEs (RFC 5545 3.8.5)."""
    start = datetime.combine(event.decoded("DTSTART"), time())
    days = rruleset()
    days.rrule(rrulestr(event["RRULE"].to_ical().decode(), dtstart=start))
    for name, add in (("EXDATE", days.exdate), ("RDATE", days.rdate)):
        values = event.get(name, [])
        for value in values if isinstance(values, list) else [values]:
            assert value.params.get("VALUE") == "DATE"
            for day in value.dts:
                assert not isinstance(day.dt, datetime)
                add(datetime.combine(day.dt, time()))
    return [day.date() for day in days]


def events_by_title(data: bytes) -> dict[str, icalendar.Event]:
    """A calendar file's events by review title (the summary before the project's name)."""
    parsed = icalendar.Calendar.from_ical(data)
    assert not [c.errors for c in parsed.walk() if c.errors]
    return {str(e["SUMMARY"]).split(": ")[0]: e for e in parsed.walk("VEVENT")}


def published_events(data: bytes) -> list[icalendar.Event]:
    """The events of a calendar file, checked against what iTIP asks of a published one
    (RFC 5546 3.2.1): each names its organiser as a mailto: address and none an attendee,
    which would make a calendar app treat it as an invitation to answer."""
    parsed = icalendar.Calendar.from_ical(data)
    assert not [c.errors for c in parsed.walk() if c.errors]
    assert str(parsed["METHOD"]) == "PUBLISH"
    events = list(parsed.walk("VEVENT"))
    for event in events:
        assert isinstance(event.get("ORGANIZER"), icalendar.vCalAddress), event["UID"]
        assert str(event["ORGANIZER"]).startswith("mailto:"), event["UID"]
        assert "ATTENDEE" not in event, event["UID"]
    return events


def printed_calendar(pdf: bytes) -> tuple[dict[str, tuple[date, int]], dict[date, list[str]]]:
    """Read the review calendar a charter's PDF prints: each review's first date and count
    (its first table), and the titles on each day of the month table."""
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    section = text[text.rindex("REVIEW EVERY FIRST IN 12 MONTHS CLAUSE") :]
    first: dict[str, tuple[date, int]] = {}
    for title, day, count in re.findall(
        rf"^(.+?) \d+ days? (\d{{1,2}} (?:{MONTHS}) \d{{4}}) (\d+)(?: [\d.]+)?$",
        section.split("MONTH DATED REVIEWS", 1)[0],
        re.MULTILINE,
    ):
        first[title] = (datetime.strptime(day, "%d %B %Y").date(), int(count))
    table = section.split("MONTH DATED REVIEWS", 1)[1].split("Reviews held more often", 1)[0]
    table = " ".join(table.split())
    by_day: dict[date, list[str]] = {}
    for month, entries in re.findall(
        rf"((?:{MONTHS}) \d{{4}}) (.*?)(?= (?:{MONTHS}) \d{{4}} |$)", table
    ):
        year = datetime.strptime(month, "%B %Y").year
        for day, titles in re.findall(DAY, entries):
            when = datetime.strptime(f"{day} {year}", "%d %b %Y").date()
            by_day[when] = titles.split(" · ")
    return first, by_day
