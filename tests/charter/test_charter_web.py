"""The charter in the web app: fields with per-field errors, preview, PDF and calendar."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from calendartools import published_events
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from webtools import csrf_token, login, make_consultant

from assess.extensions import db
from assess.models import Consultant

pytestmark = [pytest.mark.db, pytest.mark.xdist_group("charter-pdf")]


@pytest.fixture
def web(charter_page: tuple[FlaskClient, int, str]) -> tuple[FlaskClient, str]:
    client, _, path = charter_page
    return client, path


def post(client: FlaskClient, path: str, data: dict[str, str]) -> Any:
    return client.post(path, data={"csrf_token": csrf_token(client, "/engagements"), **data})


def test_the_form_shows_the_decision_and_its_fields(web: tuple[FlaskClient, str]) -> None:
    client, path = web
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Integrated Co-Creation" in html
    for name in ("effective_date", "mediator_internal_1", "revenue_producer", "arbitration"):
        assert f'name="{name}"' in html
    # Every field is optional, so the form says it once instead of on each label.
    assert "Every field is optional" in html
    assert "(optional)" not in html


def test_the_two_shares_share_one_hint(web: tuple[FlaskClient, str]) -> None:
    client, path = web
    html = client.get(path).get_data(as_text=True)
    # One hint for the pair, above both, so neither input is pushed down on its own...
    assert html.count("the two shares add up to 100") == 1
    assert html.index('id="hint-revenue_split"') < html.index('name="revenue_producer"')
    # ... and each input is described by it.
    for name in ("revenue_producer", "revenue_creator"):
        tag = re.search(rf'<input id="field-{name}"[^>]*>', html)
        assert tag and 'aria-describedby="hint-revenue_split"' in tag.group(0), name
    # With an error, the input names the shared hint and its own error.
    response = post(client, path + "/preview", {"revenue_producer": "55"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    tag = re.search(r'<input id="field-revenue_creator"[^>]*>', html)
    assert tag and 'aria-describedby="hint-revenue_split error-revenue_creator"' in tag.group(0)
    assert 'aria-invalid="true"' in tag.group(0)


def test_bad_fields_come_back_with_messages_and_nothing_is_produced(
    web: tuple[FlaskClient, str],
) -> None:
    client, path = web
    data = {
        "revenue_producer": "60",
        "revenue_creator": "60",
        "effective_date": "someday",
        "mediator_internal_1": "x" * 121,
    }
    for action in ("/preview", ".pdf", ".ics"):
        response = post(client, path + action if action != "/preview" else path + action, data)
        assert response.status_code == 422
        assert response.mimetype == "text/html"
        html = response.get_data(as_text=True)
        assert "Producer and creator shares must add up to 100." in html
        assert "Must be YYYY-MM-DD." in html
        assert "Must be at most 120 characters." in html
        assert 'value="someday"' in html  # what was typed is kept


def test_preview_pdf_and_calendar_use_the_fields(web: tuple[FlaskClient, str]) -> None:
    client, path = web
    data = {
        "mediator_internal_1": "Dana <b>Holt</b>",
        "revenue_producer": "55%",  # the label says (%): typing it too is fine
        "revenue_creator": " 45 % ",
        "effective_date": "2026-04-01",
    }
    preview = post(client, path + "/preview", data)
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "Dana &lt;b&gt;Holt&lt;/b&gt;" in html and "<b>Holt" not in html
    assert '<strong class="value">55%</strong>' in html
    # The preview says it is a draft, on screen only; the documents made for signing do not.
    assert '<aside class="preview-banner" aria-label="Draft preview"><p>Draft preview' in html
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert stylesheet is not None
    css = client.get(stylesheet.group(1))
    assert css.mimetype == "text/css" and "charter-asset:" not in css.get_data(as_text=True)
    assert "@media print { .preview-banner { display: none; } }" in css.get_data(as_text=True)
    font = re.search(r'url\("([^"]+garamond-regular.otf)"\)', css.get_data(as_text=True))
    assert font is not None
    with client.get(font.group(1)) as served:
        assert served.status_code == 200 and served.data[:4] == b"OTTO"
    pdf = post(client, path + ".pdf", data)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF-1.7")
    assert "attachment;" in pdf.headers["Content-Disposition"]
    assert pdf.headers["Cache-Control"] == "no-store"
    # Not frozen yet: the file says it is a draft, by its name, on its cover and on every page.
    assert re.search(
        r'filename="charter-PC-\d{4}-\w{4}-\w{4}-draft\.pdf"', pdf.headers["Content-Disposition"]
    )
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages]
    assert "Draft for review: not the version to sign." in pages[0]
    assert "Northlight Films" in pages[0]  # the engagement's client organisation
    assert all(re.search(r"PC-\d{4}-\w{4}-\w{4} · DRAFT", text) for text in pages[1:])
    ics = post(client, path + ".ics", data)
    assert ics.mimetype == "text/calendar" and ics.data.startswith(b"BEGIN:VCALENDAR")
    assert ics.headers["Cache-Control"] == "no-store"
    assert b"DTSTART;VALUE=DATE:2026050" in ics.data  # counted from the effective date
    # Not frozen yet either: the calendar says it is a draft's, by its name and on each event.
    assert re.search(
        r'filename="reviews-PC-\d{4}-\w{4}-\w{4}-draft\.ics"', ics.headers["Content-Disposition"]
    )
    text = ics.get_data(as_text=True).replace("\r\n ", "")
    assert "\r\nX-WR-CALNAME:Draft charter reviews: Tidewater\r\n" in text
    descriptions = re.findall(r"\r\nDESCRIPTION:(.*)\r\n", text)
    assert descriptions and all("Draft of charter PC-" in d for d in descriptions)
    # The consultant organises the reviews: each event names them, by name and address.
    organizers = {
        (e["ORGANIZER"].params["CN"], str(e["ORGANIZER"])) for e in published_events(ics.data)
    }
    assert organizers == {("Cara Diaz", "mailto:cara@example.com")}


def test_assets_outside_the_bundle_are_not_served(web: tuple[FlaskClient, str]) -> None:
    client, _ = web
    for name in ("../../../../etc/passwd", "fonts/nope.otf", "charter.css"):
        assert client.get(f"/charter/assets/{name}").status_code == 404


def test_other_consultants_and_visitors_get_nothing(
    app: Flask, web: tuple[FlaskClient, str]
) -> None:
    client, path = web
    with app.app_context():
        db.session.add(Consultant(email="other@example.com", name="O", password_hash="x"))
        db.session.commit()
    other = app.test_client()
    make_consultant(app, email="dev@example.com")
    login(other, email="dev@example.com")
    assert other.get(path).status_code == 404
    assert post(other, path + ".pdf", {}).status_code == 404
    assert post(other, path + ".ics", {}).status_code == 404
    visitor = app.test_client()
    assert visitor.get(path).status_code == 302
    refused = visitor.post(path + ".ics", data={"effective_date": "2027-01-01"})
    assert refused.status_code in (302, 400) and b"VCALENDAR" not in refused.data


def test_a_calendar_downloaded_again_the_same_day_updates_the_first(
    web: tuple[FlaskClient, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A calendar app takes an event of the same UID and SEQUENCE as a change only when its
    DTSTAMP is later: a second download after changing the effective date must say so."""
    from assess.views import charter as views

    client, path = web

    def download(effective: str, at: datetime) -> dict[str, str]:
        monkeypatch.setattr(views, "utcnow", lambda: at)
        response = post(client, path + ".ics", {"effective_date": effective})
        assert response.status_code == 200
        text = response.get_data(as_text=True).replace("\r\n ", "")
        lines = text.split("\r\n")
        event = lines[lines.index("BEGIN:VEVENT") : lines.index("END:VEVENT")]
        return dict(line.split(":", 1) for line in event)

    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first = download("2026-04-01", today + timedelta(hours=10, microseconds=5))
    second = download("2026-05-01", today + timedelta(hours=10, minutes=5))
    assert first["UID"] == second["UID"] and first["SEQUENCE"] == second["SEQUENCE"]
    assert first["DTSTART;VALUE=DATE"] != second["DTSTART;VALUE=DATE"]
    assert first["DTSTAMP"] == f"{today:%Y%m%d}T100000Z"
    assert second["DTSTAMP"] == f"{today:%Y%m%d}T100500Z"
