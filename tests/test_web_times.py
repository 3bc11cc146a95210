"""Times on the pages: a date and time people read, and the exact moment for machines."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from flask import Flask
from signofftools import (  # noqa: F401  (fixtures)
    SIGNATORIES,
    seal_key_files,
    shared_seal_key,
    signed_by_everyone,
    upload,
)
from sqlalchemy import select
from webtools import signed_in_consultant

from assess.extensions import db
from assess.models import SignOff
from assess.text import time_text
from assess.views.template_helpers import iso, when

# A <time> element: what machines read, then what people read.
TIME = re.compile(r'<time datetime="([^"]+)">([^<]+)</time>')


def test_a_time_reads_as_a_date_with_utc_and_keeps_the_exact_moment() -> None:
    moment = datetime(2026, 12, 2, 8, 14, 5, 123456, tzinfo=UTC)
    assert when(moment) == "2 Dec 2026, 08:14 UTC"
    # A seal's audit data keeps its times as ISO 8601 text.
    assert when(moment.isoformat()) == "2 Dec 2026, 08:14 UTC"
    assert when(moment.astimezone(timezone(timedelta(hours=2)))) == "2 Dec 2026, 08:14 UTC"
    assert iso(moment) == iso(moment.isoformat()) == "2026-12-02T08:14:05+00:00"
    assert time_text(moment, seconds=True) == "2 Dec 2026, 08:14:05 UTC"  # a seal's timestamp
    # Text that is no time (an altered file) is shown as it is, with no machine time.
    assert when("yesterday") == "yesterday" and iso("yesterday") == ""
    assert when(None) == iso(None) == ""


@pytest.mark.db
@pytest.mark.usefixtures("shared_seal_key")
def test_the_verify_page_shows_the_seal_and_its_approvals_as_readable_times(app: Flask) -> None:
    consultant = signed_in_consultant(app)
    version_path = signed_by_everyone(app, consultant)
    sealed = consultant.get(f"{version_path}/signed.pdf").data
    with app.app_context():
        sign_off = db.session.scalars(select(SignOff)).one()
        sealed_at = sign_off.closed_at
        approved_at = {s.name: s.acted_at for s in sign_off.signatories}
    assert sealed_at is not None

    page = upload(app.test_client(), sealed).get_data(as_text=True)
    assert "Intact and sealed" in page
    verdict = page.split('id="result-title"', 1)[1].split("</p>", 1)[0]
    [(exact, shown)] = TIME.findall(verdict)
    assert datetime.fromisoformat(exact) == sealed_at.replace(microsecond=0)
    assert shown == sealed_at.strftime("%-d %b %Y, %H:%M UTC")

    recorded = page.split("Recorded in the seal", 1)[1].split("</table>", 1)[0]
    for person in SIGNATORIES:
        row = recorded.split(person["name"], 1)[1].split("</tr>", 1)[0]
        [(exact, shown)] = TIME.findall(row)
        at = approved_at[person["name"]]
        assert at is not None and datetime.fromisoformat(exact) == at.replace(microsecond=0)
        assert shown == at.strftime("%-d %b %Y, %H:%M UTC")
    # No time in ISO 8601 text is left for people to read.
    assert not re.search(r">[^<]*\d{4}-\d\d-\d\d[ T]\d\d:\d\d", page)
