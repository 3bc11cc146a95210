"""Times on the pages: a date and time people read, and the exact moment for machines."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta, timezone

import pytest
from apitools import bearer, make_token
from flask import Flask
from signofftools import (  # noqa: F401  (fixtures)
    SIGNATORIES,
    engagement_with_decision,
    freeze,
    post,
    seal_key_files,
    shared_seal_key,
    shown_links,
    signed_by_everyone,
    upload,
)
from sqlalchemy import select
from webtools import create_engagement, invite, make_consultant, signed_in_consultant

from assess.extensions import db
from assess.models import Consultant, Engagement, Invitation, Respondent, Signatory, SignOff, utcnow
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


def _text(markup: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", "", markup).split())


@pytest.mark.db
@pytest.mark.usefixtures("shared_seal_key")
def test_a_link_chosen_to_work_through_a_day_names_that_day_in_utc_wherever_it_is_shown(
    app: Flask,
) -> None:
    """The form says a link works until the end of the chosen day (UTC): the engagement
    page, the new link's notice, the version page and the expired link's page say the same
    day and the zone, never the midnight after it nor a day without a zone."""
    consultant = signed_in_consultant(app)
    chosen = utcnow().date() + timedelta(days=9)
    end = f"{chosen:%-d %b %Y}, end of day UTC"
    engagement_id = create_engagement(consultant)
    sent = post(
        consultant,
        f"/engagements/{engagement_id}/invitations/new",
        {"respondent_name": "Ann Lee", "side": "producer", "expires_on": chosen.isoformat()},
    )
    page = _text(consultant.get(sent.headers["Location"]).get_data(as_text=True))
    assert f"It works until {end}." in page
    assert f"Active, until {end}" in page

    setup = engagement_with_decision(app, consultant)
    version_path = freeze(consultant, setup)
    post(consultant, f"{version_path}/signatories", SIGNATORIES[0])
    started = post(
        consultant, f"{version_path}/start", {"order": "parallel", "expires_on": chosen.isoformat()}
    )
    assert started.status_code == 303
    page = consultant.get(version_path).get_data(as_text=True)
    [link] = shown_links(page).values()
    assert f"Active, until {end}" in _text(page)

    # The day has passed: the link stopped at the midnight (UTC) that ended it.
    with app.app_context():
        signatory = db.session.scalars(select(Signatory)).one()
        signatory.expires_at = datetime.combine(utcnow().date(), time(), UTC)
        db.session.commit()
    yesterday = f"{utcnow().date() - timedelta(days=1):%-d %b %Y}, end of day UTC"
    expired = app.test_client().get(link)
    assert expired.status_code == 410
    assert f"This link expired on {yesterday}." in _text(expired.get_data(as_text=True))
    # The API says why the sign-off waits in the same words.
    with app.app_context():
        token = bearer(make_token(app, db.session.scalars(select(Consultant.id)).one()))
    status = app.test_client().get(
        f"/api/v1/engagements/{setup.engagement_id}/signoff", headers=token
    )
    [version] = status.get_json()["versions"]
    assert f"link expired on {yesterday}: send a new one." in version["why"]


@pytest.mark.db
def test_a_stored_link_works_up_to_its_expiry_and_not_at_it_on_either_database(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite keeps a time without its zone and PostgreSQL in the server's: read back, the
    expiry is the same instant, compared with an aware now without error, and the link stops
    at that instant exactly."""
    ends = datetime(2026, 12, 13, tzinfo=UTC)  # a link chosen to work through 12 Dec
    with app.app_context():
        engagement = Engagement(
            consultant_id=make_consultant(app), project_name="P", client_organisation="C"
        )
        respondent = Respondent(name="Ann Lee", side="producer", answers={})
        engagement.respondents.append(respondent)
        db.session.add(engagement)
        respondent.issue_link(ends)
        db.session.commit()
        stored_id = respondent.id
    with app.app_context():
        link = db.session.get(Respondent, stored_id).invitations[-1]  # type: ignore[union-attr]
        assert link.expires_at == ends and link.expires_at.tzinfo is not None
        for now, state in [
            (ends - timedelta(microseconds=1), "active"),
            (ends, "expired"),
            (ends + timedelta(microseconds=1), "expired"),
        ]:
            monkeypatch.setattr("assess.models.utcnow", lambda now=now: now)
            assert link.state == state, now


@pytest.mark.db
def test_an_expiry_day_refused_as_today_names_today_in_utc(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 01:00 UTC it is still the evening before in the Americas: a consultant there who
    chooses what is tomorrow for them is told which day counts as today, and its zone."""
    consultant = signed_in_consultant(app)
    engagement_id = create_engagement(consultant)
    monkeypatch.setattr("assess.forms.utcnow", lambda: datetime(2026, 12, 8, 1, tzinfo=UTC))
    form = {"respondent_name": "Ann Lee", "side": "producer", "expires_on": "2026-12-08"}
    refused = post(consultant, f"/engagements/{engagement_id}/invitations/new", form)
    assert refused.status_code == 422
    message = "Choose an expiry date after today: it is 8 Dec 2026 in UTC."
    assert message in _text(refused.get_data(as_text=True))
    sent = post(
        consultant,
        f"/engagements/{engagement_id}/invitations/new",
        {**form, "expires_on": "2026-12-09"},
    )
    assert sent.status_code == 302
    with app.app_context():
        [link] = db.session.scalars(select(Invitation)).all()
        assert link.expires_at == datetime(2026, 12, 10, tzinfo=UTC)


@pytest.mark.db
@pytest.mark.usefixtures("shared_seal_key")
def test_whoever_a_link_is_sent_to_reads_until_when_it_works_and_in_which_zone(
    app: Flask,
) -> None:
    """The respondent and the signatory, not only the consultant, are told how long their
    link works, as the consultant's pages say it; a link that does not expire says nothing."""
    consultant = signed_in_consultant(app)
    chosen = utcnow().date() + timedelta(days=9)
    end = f"{chosen:%-d %b %Y}, end of day UTC"
    engagement_id = create_engagement(consultant)
    respondent = app.test_client()
    for expires_on, said in [(chosen.isoformat(), f", until {end}."), ("", ".")]:
        link = invite(consultant, engagement_id, expires_on=expires_on)
        page = _text(respondent.get(link).get_data(as_text=True))
        assert f"Open the same link to continue later{said}" in page

    setup = engagement_with_decision(app, consultant)
    version_path = freeze(consultant, setup)
    post(consultant, f"{version_path}/signatories", SIGNATORIES[0])
    post(
        consultant, f"{version_path}/start", {"order": "parallel", "expires_on": chosen.isoformat()}
    )
    [link] = shown_links(consultant.get(version_path).get_data(as_text=True)).values()
    page = _text(app.test_client().get(link).get_data(as_text=True))
    assert f"This link works until {end}." in page
