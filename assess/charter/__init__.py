"""The partnership charter: decision + engagement details -> HTML -> PDF/A-3b, and a calendar.

Runs without Flask: the CLI, the web views and the benchmarks call these functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from assess.charter import calendar
from assess.charter.details import (
    CharterDetails,
    CharterDetailsSchema,
    Party,
    RevenueSplit,
    document_id_for,
    document_id_from,
    frozen_details,
    load_details,
    parse_party,
)
from assess.charter.errors import CharterError
from assess.charter.render import assessment_json, context, render_html
from assess.decision import Decision

__all__ = [
    "CharterDetails",
    "CharterDetailsSchema",
    "CharterError",
    "Party",
    "RevenueSplit",
    "assessment_json",
    "document_id",
    "document_id_from",
    "earlier_calendar",
    "frozen_details",
    "kept_calendar",
    "load_details",
    "parse_party",
    "pdf_tag",
    "standalone_html",
    "to_html",
    "to_ics",
    "to_pdf",
]


def document_id(decision: Decision, details: CharterDetails) -> str:
    """Return the charter's document id (assigned, or derived from its content)."""
    return document_id_for(decision.to_dict(), details)


def to_html(
    decision: Decision,
    details: CharterDetails,
    *,
    stylesheet_url: str | None = None,
    banner: str | None = None,
) -> str:
    """Render the charter as HTML, the same document the PDF is made from."""
    return render_html(decision, details, stylesheet_url=stylesheet_url, banner=banner)


def standalone_html(decision: Decision, details: CharterDetails) -> str:
    """Render the charter as a single HTML file with its stylesheet inline."""
    return render_html(decision, details, inline_stylesheet=True)


def to_pdf(decision: Decision, details: CharterDetails, *, draft: bool = False) -> bytes:
    """Render the charter as PDF/A-3b bytes; same inputs give the same bytes. A ``draft``
    is marked as not the version to sign on its cover and on every page."""
    from assess.charter import pdf  # WeasyPrint loads Pango: import on first use

    return pdf.write_pdf(**_pdf_inputs(decision, details, draft))


def pdf_tag(decision: Decision, details: CharterDetails, *, draft: bool = False) -> str:
    """Name the bytes ``to_pdf`` gives for the same arguments without laying them out (the
    HTML it starts from takes milliseconds, the layout a second): an unchanged name is an
    unchanged PDF, from any process of any release."""
    from assess.charter import pdf

    return pdf.pdf_tag(**_pdf_inputs(decision, details, draft))


def _pdf_inputs(decision: Decision, details: CharterDetails, draft: bool) -> dict[str, Any]:
    return {
        "html": render_html(decision, details, draft=draft),
        "document_id": document_id(decision, details),
        "attachment": assessment_json(decision),
        "attachment_time": details.issued_at,
    }


def to_ics(
    decision: Decision,
    details: CharterDetails,
    *,
    stamped_at: datetime | None = None,
    draft: bool = False,
    earlier: Iterable[calendar.EarlierCalendar] = (),
    organizer: calendar.Organizer | None = None,
) -> bytes:
    """Export the charter's twelve-month review calendar as an iCalendar file, stamped
    (DTSTAMP) at ``stamped_at``, by default at the charter's issue time; a ``draft``'s
    says it is one. The reviews of ``earlier`` versions this one no longer sets are in it,
    cancelled; each event names the ``organizer``, if any."""
    values = context(decision, details)
    return _calendar(values, details, stamped_at, draft, earlier, organizer)[1]


def kept_calendar(
    decision: Decision,
    details: CharterDetails,
    *,
    stamped_at: datetime,
    draft: bool,
    earlier: Iterable[calendar.EarlierCalendar] = (),
    organizer: calendar.Organizer | None = None,
) -> tuple[tuple[calendar.ReviewSeries, ...], bytes]:
    """Return the review series and the calendar file of a draft downloaded now, or of a
    version frozen now, from the one schedule both are made from: a frozen file is then
    served as it was frozen, like its PDF; the series are what a later draft's or version's
    file cancels when it drops them."""
    values = context(decision, details)
    return _calendar(values, details, stamped_at, draft, earlier, organizer)


def _calendar(
    values: dict[str, Any],
    details: CharterDetails,
    stamped_at: datetime | None,
    draft: bool,
    earlier: Iterable[calendar.EarlierCalendar],
    organizer: calendar.Organizer | None,
) -> tuple[tuple[calendar.ReviewSeries, ...], bytes]:
    series: tuple[calendar.ReviewSeries, ...] = values["series"]
    data = calendar.to_ics(
        series,
        document_id=values["document_id"],
        project=details.project,
        issued_at=stamped_at or details.issued_at,
        partnership_key=details.partnership_key,
        version=details.version,
        clause_numbers=values["clause_numbers"],
        draft=draft,
        earlier=earlier,
        organizer=organizer,
    )
    return series, data


def earlier_calendar(
    details: CharterDetails, series: Iterable[calendar.ReviewSeries]
) -> calendar.EarlierCalendar:
    """Return the reviews an earlier version's calendar file gave (the ``series`` it froze),
    to cancel those a later version drops."""
    return calendar.EarlierCalendar(
        tuple(series), details.partnership_key, details.project, details.version
    )
