"""The charter's fill-in fields are stored with the engagement and used by the freeze."""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

import icalendar
import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select
from webtools import csrf_token

from assess.extensions import db
from assess.models import CharterVersion, Engagement
from assess.views.charter import stored_form

pytestmark = [pytest.mark.xdist_group("charter-pdf"), pytest.mark.db]

FIELDS = {
    "effective_date": "2027-02-01",
    "project_summary": "A six-part documentary\nand its web series.",
    "mediator_internal_1": "Dana Holt",
    "mediator_external_1": "Eli Park",
    "mediator_external_2": "Fay Moss",
    "revenue_producer": "55",
    "revenue_creator": "45",
    "arbitration": "Geneva Chamber, seated in Geneva",
    "data_storage": "A shared archive at the film school",
}


def post(client: FlaskClient, path: str, data: dict[str, str]) -> Any:
    return client.post(path, data={"csrf_token": csrf_token(client, "/engagements"), **data})


def stored(app: Flask, engagement_id: int) -> dict[str, Any] | None:
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        return engagement.charter_fields


def test_saving_stores_the_fields_and_reopening_shows_them(
    app: Flask, charter_page: tuple[FlaskClient, int, str]
) -> None:
    client, engagement_id, path = charter_page
    assert stored(app, engagement_id) is None
    assert 'id="charter-version">Version 1<' in client.get(path).get_data(as_text=True)
    response = post(client, path + "/save", FIELDS)
    assert response.status_code == 303 and response.headers["Location"].endswith(path)
    assert stored(app, engagement_id) == {
        "effective_date": "2027-02-01",
        "project_summary": "A six-part documentary\nand its web series.",
        "mediators_internal": ["Dana Holt"],
        "mediators_external": ["Eli Park", "Fay Moss"],
        "revenue_split": {"producer": 55, "creator": 45},
        "arbitration": "Geneva Chamber, seated in Geneva",
        "data_storage": "A shared archive at the film school",
    }
    page = client.get(path).get_data(as_text=True)
    assert "The charter&#39;s fields are saved." in page or "fields are saved" in page
    for name, value in FIELDS.items():
        if name == "project_summary":
            assert ">A six-part documentary\nand its web series.</textarea>" in page
        else:
            assert f'name="{name}"' in page and f'value="{value}"' in page, name
    # Clearing a field and saving again stores the change.
    post(client, path + "/save", {**FIELDS, "mediator_external_2": "", "arbitration": ""})
    fields = stored(app, engagement_id)
    assert fields is not None
    assert fields["mediators_external"] == ["Eli Park"] and fields["arbitration"] == ""


def test_bad_fields_are_not_stored(app: Flask, charter_page: tuple[FlaskClient, int, str]) -> None:
    client, engagement_id, path = charter_page
    post(client, path + "/save", FIELDS)
    before = stored(app, engagement_id)
    for action in ("/save", "/preview", ".pdf", ".ics"):
        response = post(client, path + action, {**FIELDS, "revenue_creator": "60"})
        assert response.status_code == 422, action
        assert "must add up to 100" in response.get_data(as_text=True)
        assert stored(app, engagement_id) == before


def test_a_download_saves_what_it_was_made_from(
    app: Flask, charter_page: tuple[FlaskClient, int, str]
) -> None:
    client, engagement_id, path = charter_page
    response = post(client, path + ".ics", {"effective_date": "2027-03-01", "version": "2"})
    assert response.status_code == 200
    fields = stored(app, engagement_id)
    assert fields is not None
    assert fields["effective_date"] == "2027-03-01" and "version" not in fields
    assert fields["mediators_internal"] == [] and fields["revenue_split"] is None


def test_the_freeze_uses_the_stored_fields(
    app: Flask, charter_page: tuple[FlaskClient, int, str]
) -> None:
    client, engagement_id, path = charter_page
    decision_id = path.split("/")[4]
    freeze = f"/engagements/{engagement_id}/charter/freeze/{decision_id}"
    response = post(client, freeze, FIELDS)
    assert response.status_code == 303, response.get_data(as_text=True)
    fields = stored(app, engagement_id)
    with app.app_context():
        version = db.session.scalars(select(CharterVersion)).one()
        frozen = dict(version.fields)
    assert fields is not None
    for name in ("effective_date", "project_summary", "mediators_external", "revenue_split"):
        assert frozen[name] == fields[name], name
    assert frozen["arbitration"] == "Geneva Chamber, seated in Geneva"
    # A freeze with a bad field stores nothing and freezes nothing.
    response = post(client, freeze, {**FIELDS, "effective_date": "soon"})
    assert response.status_code == 422
    assert stored(app, engagement_id) == fields


def test_stored_form_reads_old_or_partial_fields() -> None:
    assert stored_form(None) == {}
    # Fields saved before versions were numbered by the freeze alone may hold one: left out.
    old = {"version": 3, "mediators_internal": ["A", "B", "C", "D"], "revenue_split": None}
    assert stored_form(old) == {
        "effective_date": "",
        "project_summary": "",
        "arbitration": "",
        "data_storage": "",
        "mediator_internal_1": "A",
        "mediator_internal_2": "B",
        "mediator_internal_3": "C",
    }


def test_a_summary_typed_in_a_browser_keeps_its_lines(
    app: Flask, charter_page: tuple[FlaskClient, int, str]
) -> None:
    """Browsers send a textarea's line breaks as CRLF; tabs come with pasted text."""
    client, engagement_id, path = charter_page
    summary = "A six-part documentary\r\nand its web series.\r\n\tShot in 2027."
    response = post(client, path + "/save", {**FIELDS, "project_summary": summary})
    assert response.status_code == 303, response.get_data(as_text=True)
    fields = stored(app, engagement_id)
    assert fields is not None
    assert (
        fields["project_summary"] == "A six-part documentary\nand its web series.\n Shot in 2027."
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("effective_date", "9999-12-31", "Must be between 2000-01-01 and 2099-12-31."),
        ("effective_date", "1999-12-31", "Must be between 2000-01-01 and 2099-12-31."),
        ("revenue_producer", "\u00b2", "Must be a whole number."),
        ("mediator_internal_1", "\u200b\u200b", None),  # invisible: left out, as if empty
        ("arbitration", "Geneva\x00", "Must not contain control characters."),
        ("mediator_external_2", "eli park", "Names a candidate already listed."),
        (
            "data_storage",
            "A vault \U0001f5c4\ufe0f",
            "Must not contain characters the charter&#39;s fonts lack: \U0001f5c4 (U+1F5C4).",
        ),
    ],
)
def test_odd_values_are_refused_or_ignored_never_a_server_error(
    app: Flask, charter_page: tuple[FlaskClient, int, str], field: str, value: str, message: str
) -> None:
    client, engagement_id, path = charter_page
    for action in ("/save", "/preview", ".ics"):
        response = post(client, path + action, {**FIELDS, field: value})
        if message is None:
            assert response.status_code in (200, 303), action
            continue
        assert response.status_code == 422, (action, response.status_code)
        assert message in response.get_data(as_text=True)
        assert stored(app, engagement_id) is None
    if message is None:
        fields = stored(app, engagement_id)
        assert fields is not None and fields["mediators_internal"] == []


@pytest.mark.parametrize(
    ("producer", "creator", "field", "message"),
    [
        ("55", "", "revenue_creator", "Enter the creator side's share as well, or neither."),
        ("", "45", "revenue_producer", "Enter the producer side's share as well, or neither."),
        ("140", "-40", "revenue_creator", "Must be 0 to 100."),
        ("55", "45000000000000000000", "revenue_creator", "Must be 0 to 100."),
    ],
)
def test_a_share_left_empty_or_below_zero_is_named_for_what_it_is(
    app: Flask,
    charter_page: tuple[FlaskClient, int, str],
    producer: str,
    creator: str,
    field: str,
    message: str,
) -> None:
    client, engagement_id, path = charter_page
    shares = {"revenue_producer": producer, "revenue_creator": creator}
    response = post(client, path + "/save", {**FIELDS, **shares})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    shown = f'id="error-{field}"><span class="visually-hidden">Error:</span> {escape(message)}<'
    assert shown in page
    assert "whole number" not in page  # an empty input or -40 is no wrong kind of number
    assert re.search(rf'value="{producer}"\s', page) and re.search(rf'value="{creator}"\s', page)
    assert stored(app, engagement_id) is None


def test_an_engagement_that_cannot_make_a_charter_says_what_to_fix(
    app: Flask, charter_page: tuple[FlaskClient, int, str]
) -> None:
    """Data kept from before the rules were tightened: a name too long once normalised."""
    client, engagement_id, path = charter_page
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        engagement.project_name = "\u0958" * 150  # 300 characters once normalised
        db.session.commit()
    response = post(client, path + "/preview", FIELDS)
    assert response.status_code == 422
    assert (
        "The engagement cannot make a charter yet (project name: must be at most 200 "
        "characters); edit the engagement first." in response.get_data(as_text=True)
    )


def freeze_path(engagement_id: int, path: str) -> str:
    return f"/engagements/{engagement_id}/charter/freeze/{path.split('/')[4]}"


def test_drafts_after_a_freeze_carry_the_charter_s_document_id(
    app: Flask, charter_page: tuple[FlaskClient, int, str]
) -> None:
    """An amendment keeps the document id of the charter it amends: its draft says so too."""
    client, engagement_id, path = charter_page
    assert post(client, freeze_path(engagement_id, path), FIELDS).status_code == 303
    with app.app_context():
        document_id = db.session.scalars(select(CharterVersion)).one().document_id
    ics = post(client, path + ".ics", FIELDS)
    disposition = ics.headers["Content-Disposition"]
    assert disposition == f'attachment; filename="reviews-{document_id}-draft.ics"'
    text = ics.get_data(as_text=True).replace("\r\n ", "")
    assert f"Draft of charter {document_id}\\, clause" in text and "SEQUENCE:1" in text
    preview = post(client, path + "/preview", FIELDS).get_data(as_text=True)
    assert document_id in preview


def test_a_frozen_version_has_the_calendar_its_charter_states(
    app: Flask, charter_page: tuple[FlaskClient, int, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Downloaded on any later day, the calendar is the frozen charter's: counted from its
    issue day, numbered as its version, naming its document id."""
    import datetime as stdlib

    from webtools import login, make_consultant

    from assess.views import charter as views

    class FrozenOnMonday(stdlib.datetime):
        @classmethod
        def now(cls, tz: stdlib.tzinfo | None = None) -> FrozenOnMonday:
            return cls(2026, 3, 2, 15, tzinfo=stdlib.UTC)

    client, engagement_id, path = charter_page
    monkeypatch.setattr(views, "datetime", FrozenOnMonday)
    no_effective_date = {**FIELDS, "effective_date": ""}
    assert post(client, freeze_path(engagement_id, path), no_effective_date).status_code == 303
    monkeypatch.undo()
    with app.app_context():
        version = db.session.scalars(select(CharterVersion)).one()
        document_id, frozen_at = version.document_id, version.frozen_at
    page = client.get(f"/engagements/{engagement_id}/charter/v1").get_data(as_text=True)
    address = f"/engagements/{engagement_id}/charter/v1/reviews.ics"
    assert f'href="{address}"' in page
    response = client.get(address)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="reviews-{document_id}-v1.ics"'
    )
    assert client.get(address).data == response.data
    parsed = icalendar.Calendar.from_ical(response.data)
    events = {str(e["SUMMARY"]).split(":")[0]: e for e in parsed.walk("VEVENT")}
    weekly = events["Decision log review"]
    assert weekly.decoded("DTSTART") == date(2026, 3, 9)  # a week after the issue day
    assert weekly["SEQUENCE"] == 0 and weekly.decoded("DTSTAMP") == frozen_at.replace(microsecond=0)
    assert f" Charter {document_id}, clause" in str(weekly["DESCRIPTION"])
    assert b"draft" not in response.data.lower()  # the version that is signed
    # Only the engagement's consultant gets it.
    make_consultant(app, email="dev@example.com")
    other = app.test_client()
    login(other, email="dev@example.com")
    assert other.get(address).status_code == 404
    assert app.test_client().get(address).status_code == 302
    assert client.get(f"/engagements/{engagement_id}/charter/v2/reviews.ics").status_code == 404


def form_on(page: str) -> dict[str, str]:
    """The charter form's fields as a page holds them, its hidden fields too, as sent."""
    form = {}
    for tag in re.findall(r"<input\b[^>]*>", page):
        name, value = re.search(r'\bname="(\w+)"', tag), re.search(r'\bvalue="([^"]*)"', tag)
        if name and value:
            form[name.group(1)] = value.group(1)
    summary = re.search(r'name="project_summary"[^>]*>(.*?)</textarea>', page, re.S)
    form["project_summary"] = summary.group(1) if summary else ""
    form.pop("csrf_token", None)
    return {name: html.unescape(value) for name, value in form.items()}


def opened_form(client: FlaskClient, path: str) -> dict[str, str]:
    return form_on(client.get(path).get_data(as_text=True))


def test_a_tab_opened_before_another_saved_keeps_what_the_other_saved(
    app: Flask, charter_page: tuple[FlaskClient, int, str]
) -> None:
    client, engagement_id, path = charter_page
    post(client, path + "/save", FIELDS)
    first_tab = opened_form(client, path)
    assert first_tab["fields_opened"] and first_tab["arbitration"] == FIELDS["arbitration"]
    # Another tab saves a new arbitration; the first, still open, changes only the storage.
    second_tab = opened_form(client, path)
    post(client, path + "/save", {**second_tab, "arbitration": "ICC, seated in Paris"})
    response = post(client, path + ".ics", {**first_tab, "data_storage": "A vault"})
    assert response.status_code == 200
    fields = stored(app, engagement_id)
    assert fields is not None
    assert fields["arbitration"] == "ICC, seated in Paris" and fields["data_storage"] == "A vault"


def test_a_field_changed_in_two_tabs_asks_which_to_keep(
    app: Flask, charter_page: tuple[FlaskClient, int, str]
) -> None:
    client, engagement_id, path = charter_page
    post(client, path + "/save", FIELDS)
    first_tab = opened_form(client, path)
    post(client, path + "/save", {**opened_form(client, path), "arbitration": "ICC, Paris"})
    for action in ("/save", "/preview", ".pdf"):
        response = post(client, path + action, {**first_tab, "arbitration": "LCIA, London"})
        assert response.status_code == 409, action
        page = response.get_data(as_text=True)
        assert "Saved as \u201c\u2068ICC, Paris\u2069\u201d from another tab" in page, action
        assert 'value="LCIA, London"' in page  # what this tab typed stays in the form
        assert stored(app, engagement_id)["arbitration"] == "ICC, Paris"  # type: ignore[index]
    # Sent again from the page that said so, the form's value replaces the other tab's.
    again = form_on(page)
    assert post(client, path + "/save", again).status_code == 303
    assert stored(app, engagement_id)["arbitration"] == "LCIA, London"  # type: ignore[index]
