"""Consultants' engagements: create, list, edit, archive, invite, access rules."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
from apitools import bearer, make_token
from flask import Flask
from flask.testing import FlaskClient
from signofftools import record
from sqlalchemy import select
from webtools import (
    ANSWERS,
    ENGAGEMENT,
    answer_through_link,
    cookie_session,
    count,
    create_engagement,
    fill_in,
    invite,
    invited_pair,
    login,
    make_consultant,
    of_record,
    post,
    respondent_id,
    submitted_pair,
)
from werkzeug.test import TestResponse

from assess.extensions import db
from assess.models import DecisionRecord, Engagement, Invitation, Party, Respondent, utcnow

pytestmark = pytest.mark.db


def status(app: Flask, engagement_id: int) -> str:
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        return engagement.status


def test_pages_need_a_signed_in_consultant(client: FlaskClient) -> None:
    for path in ("/engagements", "/engagements/new", "/engagements/1", "/engagements/1/session"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")


def test_create_and_list_an_engagement(signed_in: FlaskClient) -> None:
    assert b"No engagements yet" in signed_in.get("/engagements").data
    engagement_id = create_engagement(signed_in)
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert "Tidewater" in page and "Northlight Films" in page
    assert "Ann Lee" in page and "Executive producer" in page and "Bo Chen" in page
    # The notice names the next steps as the page's own buttons do.
    assert "Invite the respondents or run an intake session." in page
    assert "Run intake session</a>" in page
    listing = signed_in.get("/engagements").get_data(as_text=True)
    # The engagement's status, not the "New engagement" link every page carries.
    assert "Tidewater" in listing and 'class="status status-new">New</span>' in listing


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("project_name", "", "Enter the project name."),
        ("project_name", "   ", "Enter the project name."),
        ("project_name", "\u200b\ufeff", "Enter the project name."),
        ("project_name", "\u0958" * 150, "200 characters or fewer (it has 300)"),
        ("client_organisation", "x" * 201, "200 characters or fewer"),
        ("producer_name", "", "Enter the producer side&#39;s name."),
        ("creator_role", "r" * 121, "120 characters or fewer"),
        ("creator_name", "Bo\x00Chen", "must not contain control characters"),
        # Refused here, not once the charter is wanted: the cover would print an empty box.
        (
            "project_name",
            "\U0001f3ac Studio",
            "The project name must not contain characters the charter&#39;s fonts lack: "
            "\U0001f3ac (U+1F3AC).",
        ),
        ("producer_role", "Lead \U0001f3ac", "fonts lack: \U0001f3ac (U+1F3AC)"),
    ],
)
def test_bad_engagement_input_is_reported_per_field_and_nothing_stored(
    app: Flask, signed_in: FlaskClient, field: str, value: str, message: str
) -> None:
    response = post(signed_in, "/engagements/new", {**ENGAGEMENT, field: value})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert f'id="field-{field}"' in page and 'aria-invalid="true"' in page
    assert count(app, Engagement) == 0 and count(app, Party) == 0


def test_missing_fields_are_all_reported(signed_in: FlaskClient) -> None:
    response = post(signed_in, "/engagements/new", {})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There are 4 problems" in page


def test_edit_an_engagement(signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    form = signed_in.get(f"/engagements/{engagement_id}/edit").get_data(as_text=True)
    assert 'value="Tidewater"' in form
    changed = {**ENGAGEMENT, "project_name": "Tidewater II", "creator_role": ""}
    response = post(signed_in, f"/engagements/{engagement_id}/edit", changed)
    assert response.status_code == 302
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert "Tidewater II" in page and "Creative director" not in page


def test_bad_edit_changes_nothing(app: Flask, signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    bad = {**ENGAGEMENT, "project_name": "New name", "producer_name": "p" * 500}
    assert post(signed_in, f"/engagements/{engagement_id}/edit", bad).status_code == 422
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None and engagement.project_name == "Tidewater"


def opened_with(page: str) -> str:
    """Return what an edit form says the details were when it was opened."""
    match = re.search(r'name="opened_with" value="([^"]*)"', page)
    assert match, "the edit form carries the details it was opened with"
    return html.unescape(match.group(1))


def details(app: Flask, engagement_id: int) -> tuple[str, str]:
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        creator = engagement.party("creator")
        assert creator is not None
        return engagement.project_name, creator.name


def test_an_edit_form_opened_before_another_change_keeps_that_change(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    path = f"/engagements/{engagement_id}/edit"
    first_tab = opened_with(signed_in.get(path).get_data(as_text=True))
    second_tab = opened_with(signed_in.get(path).get_data(as_text=True))
    other = {**ENGAGEMENT, "creator_name": "Bo Chen-Li", "opened_with": second_tab}
    assert post(signed_in, path, other).status_code == 302
    # The first tab changes the project only: the creator's new name stays.
    mine = {**ENGAGEMENT, "project_name": "Tidewater II", "opened_with": first_tab}
    assert post(signed_in, path, mine).status_code == 302
    assert details(app, engagement_id) == ("Tidewater II", "Bo Chen-Li")
    # The same form sent twice finds its own change, not a conflict.
    assert post(signed_in, path, mine).status_code == 302


def test_an_edit_form_keeps_a_change_made_through_the_api_meanwhile(
    app: Flask, signed_in: FlaskClient, consultant: int
) -> None:
    engagement_id = create_engagement(signed_in)
    path = f"/engagements/{engagement_id}/edit"
    opened = opened_with(signed_in.get(path).get_data(as_text=True))
    tool = app.test_client()
    changed = tool.patch(
        f"/api/v1/engagements/{engagement_id}",
        json={"creator_name": "Bo Chen-Li"},
        headers=bearer(make_token(app, consultant)),
    )
    assert changed.status_code == 200, changed.json
    mine = {**ENGAGEMENT, "producer_role": "Line producer", "opened_with": opened}
    assert post(signed_in, path, mine).status_code == 302
    assert details(app, engagement_id) == ("Tidewater", "Bo Chen-Li")


def test_an_edit_that_meets_another_change_of_the_same_detail_asks_first(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    path = f"/engagements/{engagement_id}/edit"
    first_tab = opened_with(signed_in.get(path).get_data(as_text=True))
    other = {**ENGAGEMENT, "project_name": "Tidewater II"}
    assert post(signed_in, path, other).status_code == 302
    mine = {**ENGAGEMENT, "project_name": "Tidewater: the series", "opened_with": first_tab}
    response = post(signed_in, path, mine)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert details(app, engagement_id) == ("Tidewater II", "Bo Chen")
    assert "Changed to \u201c\u2068Tidewater II\u2069\u201d since you opened this form" in page
    assert 'href="#field-project_name"' in page and 'aria-invalid="true"' in page
    assert 'value="Tidewater: the series"' in page  # what was typed is not lost
    # Sent again from that page, it replaces the other change knowingly.
    again = {**mine, "opened_with": opened_with(page)}
    assert post(signed_in, path, again).status_code == 302
    assert details(app, engagement_id) == ("Tidewater: the series", "Bo Chen")


def test_restoring_an_engagement_that_is_not_archived_changes_nothing(
    app: Flask, signed_in: FlaskClient
) -> None:
    older = create_engagement(signed_in)
    newer = create_engagement(signed_in, project_name="Saltmarsh")
    # A second click, or a tab from before it was restored: the list keeps its order.
    assert post(signed_in, f"/engagements/{older}/restore").status_code == 302
    listing = signed_in.get("/engagements").get_data(as_text=True)
    assert listing.index(f'href="/engagements/{newer}"') < listing.index(
        f'href="/engagements/{older}"'
    )


def test_archive_and_restore(signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    link = invite(signed_in, engagement_id)
    assert post(signed_in, f"/engagements/{engagement_id}/archive").status_code == 302
    card = f'href="/engagements/{engagement_id}"'.encode()
    # The notice leads back to the engagement, where it can be restored.
    assert (
        "Its invitation links no longer open. You can restore it from "
        f'<a href="/engagements/{engagement_id}">its page</a>.'
    ) in signed_in.get("/engagements").get_data(as_text=True)
    listing = signed_in.get("/engagements").get_data(as_text=True)
    assert card.decode() not in listing
    # With every engagement archived, the list points to them rather than starting over.
    assert "No engagements yet" not in listing and "No current engagements" in listing
    assert "1 archived engagement is kept with its answers" in listing
    assert 'href="/engagements?archived=1">show it</a>' in listing
    assert card in signed_in.get("/engagements?archived=1").data
    closed = signed_in.get(link)
    assert closed.status_code == 403 and b"questionnaire is closed" in closed.data
    # The respondent's row says so too, rather than calling the link active.
    assert link_cell(signed_in, engagement_id) == "Closed while the engagement is archived"
    assert signed_in.get(f"/engagements/{engagement_id}/invitations/new").status_code == 409
    assert post(signed_in, f"/engagements/{engagement_id}/restore").status_code == 302
    assert card in signed_in.get("/engagements").data
    assert signed_in.get(link).status_code == 200
    assert link_cell(signed_in, engagement_id) == "Active"


def link_cell(client: FlaskClient, engagement_id: int) -> str:
    """The text of the first respondent's Link cell on the engagement page."""
    page = client.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    cell = re.search(r'<td class="small" data-label="Link">(.*?)</td>', page, re.S)
    assert cell, page
    return " ".join(re.sub(r"<[^>]+>", "", cell[1]).split())


def test_changing_an_archived_engagement_says_it_is_archived(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    decision_id = record(app, engagement_id)
    post(signed_in, f"/engagements/{engagement_id}/archive")
    base = f"/engagements/{engagement_id}"
    refused = [
        signed_in.get(f"{base}/edit"),
        signed_in.get(f"{base}/invitations/new"),
        signed_in.get(f"{base}/session"),
        post(signed_in, f"{base}/edit", ENGAGEMENT),
        post(signed_in, f"{base}/decisions/{decision_id}/charter/save", {"version": "1"}),
        post(signed_in, f"{base}/charter/freeze/{decision_id}", {"version": "1"}),
    ]
    for response in refused:
        page = response.get_data(as_text=True)
        assert response.status_code == 409 and response.mimetype == "text/html"
        assert "This engagement is archived" in page and "already been done" not in page
        assert f'href="{base}"' in page  # back to the page that restores it


def test_a_consultant_never_sees_another_consultants_engagements(
    app: Flask, client: FlaskClient, consultant: int
) -> None:
    login(client)
    engagement_id = create_engagement(client)
    post(client, "/logout")
    make_consultant(app, "dev@example.com", "Dev")
    login(client, "dev@example.com")
    assert b"Tidewater" not in client.get("/engagements").data
    assert b"Tidewater" not in client.get("/engagements?archived=1").data
    for path in ("", "/edit", "/session", "/invitations/new"):
        assert client.get(f"/engagements/{engagement_id}{path}").status_code == 404
    for path in ("/edit", "/archive", "/restore", "/session", "/invitations/new"):
        assert post(client, f"/engagements/{engagement_id}{path}", ENGAGEMENT).status_code == 404
    with app.app_context():
        assert db.session.get(Engagement, engagement_id).archived_at is None  # type: ignore[union-attr]


def test_huge_ids_are_not_found(signed_in: FlaskClient) -> None:
    assert signed_in.get(f"/engagements/{2**70}").status_code == 404
    assert signed_in.get(f"/engagements/1/decisions/{2**70}").status_code == 404


def test_an_id_is_found_only_at_its_one_address(app: Flask, signed_in: FlaskClient) -> None:
    """Ids in addresses are ASCII digits without leading zeros: other scripts' digits and
    zero-padding would be further addresses of the same engagement, which caches, logs and
    access checks keyed on the path would tell apart."""
    engagement_id = create_engagement(signed_in)
    assert engagement_id == 1
    assert signed_in.get("/engagements/1").status_code == 200
    for path in (
        "/engagements/\uff11",  # full-width 1
        "/engagements/\u0661",  # Arabic-Indic 1
        "/engagements/01",
        "/engagements/1/charter/v\uff11",
        "/engagements/1/charter/v01",
    ):
        assert signed_in.get(path).status_code == 404, path
    for path in ("/api/v1/engagements/\uff11", "/account/api-tokens/\uff11/revoke"):
        assert signed_in.post(path).status_code == 404, path


def test_an_engagement_not_found_says_so_and_leads_back_to_the_list(
    app: Flask, signed_in: FlaskClient
) -> None:
    """A consultant on a stale or mistyped engagement address is told what is missing and
    taken to their engagements, not to a home page that only redirects there."""
    engagement_id = create_engagement(signed_in)
    for path in (
        "/engagements/99999",
        f"/engagements/{engagement_id}/decisions/99999",
        f"/engagements/{engagement_id}/charter/v9",
    ):
        response = signed_in.get(path)
        assert response.status_code == 404
        page = response.get_data(as_text=True)
        assert "No engagement of yours is at this address" in page, path
        assert '<a class="button" href="/engagements">Go to your engagements</a>' in page
        assert "Go to the home page" not in page
    other = signed_in.get("/no-such-page").get_data(as_text=True)
    assert "Page not found" in other and "No engagement of yours" not in other
    assert '<a class="button" href="/engagements">Go to your engagements</a>' in other
    signed_out = app.test_client().get("/no-such-page").get_data(as_text=True)
    assert '<a class="button" href="/">Go to the home page</a>' in signed_out


def test_invitation_link_is_shown_once_and_stored_hashed(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    in_a_month = (date.today() + timedelta(days=30)).isoformat()
    link = invite(signed_in, engagement_id, expires_on=in_a_month)
    token = link.rsplit("/", 1)[1]
    assert len(token) >= 40
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert token not in page
    assert "Not started" in page and "Active, until" in page
    with app.app_context():
        invitation = db.session.scalars(select(Invitation)).one()
        assert token not in invitation.token_hash and invitation.matches(token)


def test_an_invitation_link_carries_the_configured_public_address(
    app: Flask, signed_in: FlaskClient
) -> None:
    # Served under a path behind the proxy: the link keeps the path the app does not see.
    app.config["PUBLIC_BASE_URL"] = "https://assess.example.com/partners"
    engagement_id = create_engagement(signed_in)
    form = {"respondent_name": "Ann Lee", "side": "producer", "expires_on": ""}
    response = post(signed_in, f"/engagements/{engagement_id}/invitations/new", form)
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    link = re.search(r'id="invitation-link"[^>]*value="([^"]+)"', page)
    assert link and link.group(1).startswith("https://assess.example.com/partners/i/")
    path = link.group(1).removeprefix("https://assess.example.com/partners")
    assert signed_in.get(path).status_code == 200


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"respondent_name": ""}, "respondent_name", "Enter the respondent&#39;s name."),
        ({"respondent_name": "Ann \U0001f3ac"}, "respondent_name", "fonts lack: \U0001f3ac"),
        ({"side": "both"}, "side", "Choose the producer side or the creator side."),
        ({"side": ""}, "side", "Choose the producer side or the creator side."),
        ({"expires_on": "2020-01-01"}, "expires_on", "Choose an expiry date after today: it is "),
        ({"expires_on": "2999-01-01"}, "expires_on", "within a year"),
        ({"expires_on": "31/12/2026"}, "expires_on", "Enter the expiry date as YYYY-MM-DD."),
        ({"expires_on": "20270301"}, "expires_on", "Enter the expiry date as YYYY-MM-DD."),
        ({"expires_on": "2027-W09-1"}, "expires_on", "Enter the expiry date as YYYY-MM-DD."),
        (
            {"expires_on": "2027-02-29"},
            "expires_on",
            "Enter a day of the calendar: 2027-02-29 is not one.",
        ),
    ],
)
def test_bad_invitation_input_is_reported_and_nothing_stored(
    app: Flask, signed_in: FlaskClient, data: dict[str, str], field: str, message: str
) -> None:
    engagement_id = create_engagement(signed_in)
    form = {"respondent_name": "Ann Lee", "side": "producer", "expires_on": "", **data}
    response = post(signed_in, f"/engagements/{engagement_id}/invitations/new", form)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(app, Respondent) == 0 and count(app, Invitation) == 0


def test_revoking_a_link_asks_first(signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    invite(signed_in, engagement_id)
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert "data-confirm=\"Revoke \u2068Ann Lee\u2069's link? It stops working at once;" in page


def test_replacing_a_working_link_asks_first(signed_in: FlaskClient, app: Flask) -> None:
    engagement_id = create_engagement(signed_in)
    invite(signed_in, engagement_id)

    def new_link_button() -> str:
        page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
        found = re.search(r"<button[^>]*>New link<", page)
        assert found is not None
        return found.group(0)

    asked = 'data-confirm="Make a new link for \u2068Ann Lee\u2069? The link they have stops'
    assert asked in new_link_button()
    # Once no link works, a new one replaces nothing: nothing to ask.
    ann_id = respondent_id(app, "Ann Lee")
    post(signed_in, f"/engagements/{engagement_id}/respondents/{ann_id}/revoke")
    assert "data-confirm" not in new_link_button()


def test_new_link_replaces_the_old_one(signed_in: FlaskClient, app: Flask) -> None:
    engagement_id = create_engagement(signed_in)
    old = invite(signed_in, engagement_id)
    ann_id = respondent_id(app, "Ann Lee")
    response = post(signed_in, f"/engagements/{engagement_id}/respondents/{ann_id}/link")
    assert response.status_code == 302
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Link for Ann Lee" in page
    replaced = signed_in.get(old)
    assert replaced.status_code == 410 and b"link has been replaced" in replaced.data
    assert "<title>This link has been replaced · Assess</title>" in replaced.get_data(as_text=True)


def test_a_new_link_never_travels_readable_in_the_session_cookie(
    signed_in: FlaskClient, app: Flask
) -> None:
    # Carried to the page that shows it once, in a cookie a browser keeps on disk: anyone
    # holding the cookie must not be able to read the link from it.
    engagement_id = create_engagement(signed_in)
    form = {"respondent_name": "Ann Lee", "side": "producer", "expires_on": ""}
    created = post(signed_in, f"/engagements/{engagement_id}/invitations/new", form)
    assert shown_token(signed_in, created) not in cookie_session(app, created)
    ann_id = respondent_id(app, "Ann Lee")
    renewed = post(signed_in, f"/engagements/{engagement_id}/respondents/{ann_id}/link")
    assert shown_token(signed_in, renewed) not in cookie_session(app, renewed)


def shown_token(client: FlaskClient, sent: TestResponse) -> str:
    """Follow to the page that shows a new link once; return the link's token."""
    page = client.get(sent.headers["Location"]).get_data(as_text=True)
    link = re.search(r'id="invitation-link"[^>]*value="https?://[^/"]+/i/([^"]+)"', page)
    assert link, "the new link is shown"
    return link.group(1)


def test_a_new_link_revoked_before_its_page_shows_is_not_shown(
    signed_in: FlaskClient, app: Flask
) -> None:
    engagement_id = create_engagement(signed_in)
    form = {"respondent_name": "Ann Lee", "side": "producer", "expires_on": ""}
    created = post(signed_in, f"/engagements/{engagement_id}/invitations/new", form)
    # The same consultant, signed in on another device, revokes it in between.
    elsewhere = app.test_client()
    login(elsewhere)
    ann_id = respondent_id(app, "Ann Lee")
    post(elsewhere, f"/engagements/{engagement_id}/respondents/{ann_id}/revoke")
    page = signed_in.get(created.headers["Location"]).get_data(as_text=True)
    assert 'id="new-link"' not in page and "/i/" not in page


def test_revoked_link_shows_a_clear_page(signed_in: FlaskClient, app: Flask) -> None:
    engagement_id = create_engagement(signed_in)
    link = invite(signed_in, engagement_id)
    ann_id = respondent_id(app, "Ann Lee")
    post(signed_in, f"/engagements/{engagement_id}/respondents/{ann_id}/revoke")
    response = signed_in.get(link)
    assert response.status_code == 410
    assert b"link has been withdrawn" in response.data


def test_status_follows_the_engagement_from_new_to_signed(
    app: Flask, signed_in: FlaskClient
) -> None:
    from assess.models import utcnow
    from assess.questionnaire import PAGES

    engagement_id = create_engagement(signed_in)

    assert status(app, engagement_id) == "new"
    link = invite(signed_in, engagement_id)
    assert status(app, engagement_id) == "invited"
    post(signed_in, f"{link}/step/1", {"innovation": "3", "action": "save"})
    assert status(app, engagement_id) == "in progress"
    for page in PAGES:
        post(
            signed_in,
            f"{link}/step/{PAGES.index(page) + 1}",
            {k: str(ANSWERS[k]) for k in page.keys},
        )
    post(signed_in, f"{link}/review")
    # Submitting makes the respondent's decision at once.
    assert status(app, engagement_id) == "decided"
    with app.app_context():
        respondent = db.session.scalars(select(Respondent)).one()
        db.session.delete(respondent.decisions[0])
        db.session.commit()
    assert status(app, engagement_id) == "answered"
    # A charter drafted from no decision is still waiting for one.
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        engagement.charter_drafted_at = utcnow()
        db.session.commit()
    assert status(app, engagement_id) == "answered"
    record(app, engagement_id)
    assert status(app, engagement_id) == "charter drafted"
    assert "Charter drafted" in signed_in.get("/engagements").get_data(as_text=True)
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        engagement.signed_at = utcnow()
        db.session.commit()
    assert status(app, engagement_id) == "signed"


def test_a_respondent_yet_to_answer_keeps_the_engagement_from_decided(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id, ann, _ = invited_pair(signed_in)
    answer_through_link(signed_in, ann)
    assert status(app, engagement_id) == "answered"
    assert "Waiting for <bdi>Bo Chen</bdi>" in signed_in.get("/engagements").get_data(as_text=True)
    # Ann's decision stands on the answers in so far; the page says what would change it.
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert "Waiting for <bdi>Bo Chen</bdi> to submit: answers still to come would change" in page
    assert f'class="button" href="/engagements/{engagement_id}/decisions/1/charter">Prepare' in page
    path = f"/engagements/{engagement_id}/respondents/{respondent_id(app, 'Bo Chen')}/revoke"
    post(signed_in, path)
    # Bo will not answer: Ann's decision is the engagement's.
    assert status(app, engagement_id) == "decided"


def test_new_answers_after_the_consensus_put_the_status_back_to_answered(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id, ann, bo = invited_pair(signed_in)

    def shown() -> tuple[str, str]:
        page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
        listing = signed_in.get("/engagements").get_data(as_text=True)
        return page, listing

    def resubmit(name: str, answers: dict[str, int]) -> None:
        path = f"/engagements/{engagement_id}/respondents/{respondent_id(app, name)}/reopen"
        assert post(signed_in, path).status_code == 302
        answer_through_link(signed_in, ann if name == "Ann Lee" else bo, answers)

    answer_through_link(signed_in, ann)
    # Bo's link still works: the engagement waits for his answers.
    assert status(app, engagement_id) == "answered"
    # Each has a decision of their own, but nothing decides on both answers yet.
    answer_through_link(signed_in, bo, {**ANSWERS, "timeline_pressure": 5})
    assert status(app, engagement_id) == "answered"
    decided = post(signed_in, f"/engagements/{engagement_id}/consensus")
    assert decided.status_code == 303
    assert status(app, engagement_id) == "decided"
    page, listing = shown()
    assert '<span class="status status-large status-decided">Decided</span>' in page
    agreed = {"factor": "timeline_pressure", "value": "4", "note": "A soft launch first."}
    assert post(signed_in, f"{decided.headers['Location']}/agree", agreed).status_code == 303
    with app.app_context():
        decided_with_agreement = max(r.id for r in db.session.scalars(select(DecisionRecord)))

    # Ann changes an answer and submits again: the consensus no longer holds her answers.
    resubmit("Ann Lee", {**ANSWERS, "timeline_pressure": 2})
    assert status(app, engagement_id) == "answered"
    page, listing = shown()
    # What was agreed on the changed answers is named, not silently dropped.
    assert "drops what was agreed on answers that changed: timeline pressure at 4;" in page
    assert '<span class="status status-large status-answered">Answered</span>' in page
    assert "The answers have changed since the consensus in" in page
    assert f'/decisions/{decided_with_agreement}"' in page
    assert '<span class="status status-answered">Answered</span>' in listing
    assert "New answers since the last decision" in listing

    post(signed_in, f"/engagements/{engagement_id}/consensus")
    assert status(app, engagement_id) == "decided"
    # Submitting the same answers again changes nothing the consensus combines.
    resubmit("Bo Chen", {**ANSWERS, "timeline_pressure": 5})
    assert status(app, engagement_id) == "decided"
    assert "New answers since" not in shown()[1]


def test_reopened_answers_take_the_engagement_out_of_decided(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    submitted_pair(app, engagement_id)
    assert post(signed_in, f"/engagements/{engagement_id}/consensus").status_code == 303

    assert status(app, engagement_id) == "decided"
    with app.app_context():
        ann, bo = db.session.scalars(select(Respondent.id).order_by(Respondent.id)).all()
    post(signed_in, f"/engagements/{engagement_id}/respondents/{ann}/reopen")
    # Ann's answers may change: nothing decides on both sides' answers as they stand.
    assert status(app, engagement_id) == "answered"
    post(signed_in, f"/engagements/{engagement_id}/respondents/{bo}/reopen")
    assert status(app, engagement_id) == "in progress"


def decided_through_links(client: FlaskClient) -> tuple[int, str]:
    """Ann and Bo answer from their links (their own decisions #1 and #2) and the consultant
    decides their consensus (#3). Return the engagement and Ann's link."""
    engagement_id, ann, bo = invited_pair(client)
    answer_through_link(client, ann, ANSWERS)
    answer_through_link(client, bo, {**ANSWERS, "timeline_pressure": 5})
    assert post(client, f"/engagements/{engagement_id}/consensus").status_code == 303
    return engagement_id, ann


def reopened_state(app: Flask, name: str) -> tuple[dict[str, int], bool, bool, bool]:
    """A respondent's answers, and whether they are submitted, reopened and closed again."""
    with app.app_context():
        who = db.session.scalars(select(Respondent).where(Respondent.name == name)).one()
        return (
            dict(who.answers),
            who.submitted_at is not None,
            who.reopened_at is not None,
            who.closed_again_at is not None,
        )


def test_reopened_answers_never_submitted_again_can_be_closed_again_as_they_were(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id, link = decided_through_links(signed_in)
    base = f"/engagements/{engagement_id}"
    ann = respondent_id(app, "Ann Lee")
    close = f"{base}/respondents/{ann}/close"
    assert f'action="{close}"' not in signed_in.get(base).get_data(as_text=True)
    post(signed_in, f"{base}/respondents/{ann}/reopen")
    assert status(app, engagement_id) == "answered" and of_record(app, engagement_id) is None

    # Ann will not submit again: the consultant closes her answers as they were.
    page = signed_in.get(base).get_data(as_text=True)
    assert (
        "While the answers of <bdi>Ann Lee</bdi> are reopened, the engagement has no decision"
    ) in page
    assert "the engagement's decision</span>" not in page
    assert f'action="{close}"' in page
    assert (
        'Close again without changes<span class="visually-hidden"> for <bdi>Ann Lee</bdi></span>'
        in page
    )
    confirm = signed_in.get(close).get_data(as_text=True)
    assert "Close <bdi>Ann Lee</bdi>'s answers again?" in confirm
    assert "unchanged since they were reopened" in confirm
    response = post(signed_in, close)
    assert response.status_code == 302 and response.headers["Location"] == base
    page = signed_in.get(base).get_data(as_text=True)
    assert (
        "<bdi>Ann Lee</bdi>'s answers are closed again as they were submitted. No new "
        "decision is stored."
    ) in page
    assert reopened_state(app, "Ann Lee") == (ANSWERS, True, True, True)
    # The engagement's decision is the consensus again; nothing new was decided.
    assert status(app, engagement_id) == "decided" and of_record(app, engagement_id) == 3
    assert count(app, DecisionRecord) == 3
    assert signed_in.get(link).headers["Location"].endswith(f"{link}/result")
    assert f'action="{close}"' not in page
    # The history says who reopened and who closed, newest first.
    history = page.split('id="engagement-history-title"', 1)[1].split("</section>", 1)[0]
    lines = [re.sub(r"\s+", " ", line) for line in re.findall(r"</time>(.*?)</li>", history, re.S)]
    assert lines == [
        " <span><bdi>Cara Diaz</bdi> closed the answers of <bdi>Ann Lee</bdi> again as submitted"
        " (producer side)</span>",
        " <span><bdi>Cara Diaz</bdi> reopened the answers of <bdi>Ann Lee</bdi> (producer side)"
        "</span>",
    ]

    # A second click finds nothing to close.
    again = signed_in.get(post(signed_in, close).headers["Location"]).get_data(as_text=True)
    assert "<bdi>Ann Lee</bdi>'s answers are not open again, so there is nothing to close." in (
        again
    )
    assert count(app, DecisionRecord) == 3


def test_closing_again_after_changes_shows_them_and_keeps_the_submitted_answers(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id, link = decided_through_links(signed_in)
    base = f"/engagements/{engagement_id}"
    ann = respondent_id(app, "Ann Lee")
    close = f"{base}/respondents/{ann}/close"
    post(signed_in, f"{base}/respondents/{ann}/reopen")
    # Ann changes a page of answers but never submits them.
    post(signed_in, f"{link}/step/3", {"timeline_pressure": "1", "relationship_duration": "4"})
    changed = {**ANSWERS, "timeline_pressure": 1}
    assert reopened_state(app, "Ann Lee") == (changed, False, True, False)

    # Closing is not done blindly: the consultant sees what would be discarded.
    response = post(signed_in, close)
    assert response.status_code == 303 and response.headers["Location"] == close
    assert reopened_state(app, "Ann Lee") == (changed, False, True, False)
    page = signed_in.get(close).get_data(as_text=True)
    assert "<bdi>Ann Lee</bdi> has changed 1 answer since they were reopened" in page
    assert re.search(r"Timeline pressure</th>\s*<td[^>]*>3</td>\s*<td[^>]*>1</td>", page)
    assert "Closing keeps the answers as submitted and discards these changes;" in page
    assert "ask <bdi>Ann Lee</bdi> to submit them from their link" in page
    seen = re.search(r'name="answers_seen" value="([^"]*)"', page)
    assert seen is not None

    # Changed again while the page was open: nothing is discarded unseen.
    post(signed_in, f"{link}/step/1", {"innovation": "2", "planning_complexity": "2"})
    response = post(signed_in, close, {"answers_seen": seen.group(1)})
    assert response.status_code == 303 and response.headers["Location"] == close
    page = signed_in.get(close).get_data(as_text=True)
    assert "<bdi>Ann Lee</bdi>'s answers changed again while the page was open" in page
    assert "has changed 2 answers since they were reopened" in page
    assert reopened_state(app, "Ann Lee")[1:] == (False, True, False)

    seen = re.search(r'name="answers_seen" value="([^"]*)"', page)
    assert seen is not None
    response = post(signed_in, close, {"answers_seen": seen.group(1)})
    assert response.status_code == 302 and response.headers["Location"] == base
    page = signed_in.get(base).get_data(as_text=True)
    assert "the changes made since they were reopened are discarded" in page
    history = page.split('id="engagement-history-title"', 1)[1].split("</section>", 1)[0]
    assert "changes made since reopening discarded" in history
    assert reopened_state(app, "Ann Lee") == (ANSWERS, True, True, True)
    assert status(app, engagement_id) == "decided" and of_record(app, engagement_id) == 3
    assert count(app, DecisionRecord) == 3


def test_a_reopened_intake_session_can_be_closed_again(app: Flask, signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    base = f"/engagements/{engagement_id}"
    form = {k: str(v) for k, v in ANSWERS.items()}
    assert post(signed_in, f"{base}/session", {**form, "action": "decide"}).status_code == 303
    session_id = respondent_id(app, "Intake session")
    page = signed_in.get(base).get_data(as_text=True)
    assert '<span class="visually-hidden"> of the intake session</span>' in page
    post(signed_in, f"{base}/respondents/{session_id}/reopen")
    assert of_record(app, engagement_id) is None
    page = signed_in.get(base).get_data(as_text=True)
    assert "While the answers of the intake session are reopened" in page
    assert '<span class="visually-hidden"> for the intake session</span>' in page
    page = signed_in.get(f"{base}/respondents/{session_id}/close").get_data(as_text=True)
    assert "finish the session to submit them" not in page
    # A session is not a person: the page names it as the session it is.
    assert "<h1>Close the intake session's answers again?</h1>" in page
    assert "<title>Close the intake session's answers again · " in page
    response = post(signed_in, f"{base}/respondents/{session_id}/close")
    assert response.status_code == 302
    page = signed_in.get(base).get_data(as_text=True)
    assert "The intake session's answers are closed again as they were submitted." in page
    # A second click says why nothing happens, naming the session as the session it is.
    again = signed_in.get(f"{base}/respondents/{session_id}/close").headers["Location"]
    page = signed_in.get(again).get_data(as_text=True)
    assert "The intake session's answers are not open again, so there is nothing to close." in page
    assert reopened_state(app, "Intake session") == (ANSWERS, True, True, True)
    assert status(app, engagement_id) == "decided" and of_record(app, engagement_id) == 1


def test_closing_a_changed_intake_session_again_names_it_as_a_session(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    base = f"/engagements/{engagement_id}"
    form = {k: str(v) for k, v in ANSWERS.items()}
    post(signed_in, f"{base}/session", {**form, "action": "decide"})
    session_id = respondent_id(app, "Intake session")
    post(signed_in, f"{base}/respondents/{session_id}/reopen")
    changed = {**form, "innovation": "1", "session": str(session_id), "action": "save"}
    post(signed_in, f"{base}/session", changed)
    page = signed_in.get(f"{base}/respondents/{session_id}/close").get_data(as_text=True)
    assert "1 answer of the intake session changed since it was reopened on " in page
    assert "<bdi>Intake session</bdi> has changed" not in page


def test_closing_again_is_refused_to_other_consultants_and_on_an_archived_engagement(
    app: Flask, client: FlaskClient, consultant: int
) -> None:
    login(client)
    engagement_id, _ = decided_through_links(client)
    base = f"/engagements/{engagement_id}"
    ann = respondent_id(app, "Ann Lee")
    close = f"{base}/respondents/{ann}/close"
    post(client, f"{base}/respondents/{ann}/reopen")

    other = app.test_client()
    make_consultant(app, "dev@example.com", "Dev")
    login(other, "dev@example.com")
    assert other.get(close).status_code == 404
    assert post(other, close).status_code == 404

    post(client, f"{base}/archive")
    assert f'action="{close}"' not in client.get(base).get_data(as_text=True)
    for response in (client.get(close), post(client, close)):
        assert response.status_code == 409
        assert b"This engagement is archived" in response.data
    assert reopened_state(app, "Ann Lee")[1:] == (False, True, False)


def test_reopening_answers_not_submitted_says_there_is_nothing_to_reopen(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    invite(signed_in, engagement_id)
    ann_id = respondent_id(app, "Ann Lee")
    path = f"/engagements/{engagement_id}/respondents/{ann_id}/reopen"
    page = signed_in.get(post(signed_in, path).headers["Location"]).get_data(as_text=True)
    assert "open again" not in page
    assert "<bdi>Ann Lee</bdi>'s answers are not submitted, so there is nothing to reopen." in page


def test_every_form_post_needs_the_csrf_token(app: Flask, signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    link = invite(signed_in, engagement_id)
    ann_id = respondent_id(app, "Ann Lee")
    base = f"/engagements/{engagement_id}"
    paths = [
        "/logout",
        "/engagements/new",
        f"{base}/edit",
        f"{base}/archive",
        f"{base}/restore",
        f"{base}/invitations/new",
        f"{base}/respondents/{ann_id}/link",
        f"{base}/respondents/{ann_id}/revoke",
        f"{base}/respondents/{ann_id}/reopen",
        f"{base}/respondents/{ann_id}/close",
        f"{base}/respondents/{ann_id}/remove",
        f"{base}/session",
        f"{base}/consensus",
        f"{base}/decisions/1/confirm",
        f"{base}/decisions/1/reevaluate",
        f"{link}/step/1",
        f"{link}/review",
    ]
    for path in paths:
        response = signed_in.post(path, data={**ENGAGEMENT, "innovation": "3"})
        assert response.status_code == 400, path
        # Signing out refused says the consultant is still signed in, not that a form expired.
        said = b"You are still signed in" if path == "/logout" else b"Your form has expired"
        assert said in response.data, path
    assert count(app, Engagement) == 1


def submitted_many(app: Flask, engagement_id: int, names: list[str]) -> None:
    """Each named respondent submits answers of their own, sides taking turns."""
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        for i, name in enumerate(names):
            answers = {**ANSWERS, "innovation": 1 + i % 5}
            side = "producer" if i % 2 == 0 else "creator"
            engagement.respondents.append(
                Respondent(name=name, side=side, answers=answers, submitted_at=utcnow())
            )
        db.session.commit()


def test_the_chart_says_whose_answers_it_leaves_out(app: Flask, signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    names = ["Ann Lee", "Bo Chen", "Cy Diaz", "Di Eng", "Ed Fox", "Flo Gray"]
    submitted_many(app, engagement_id, names)
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    legend = page.split('class="legend"', 1)[1].split("</figcaption>", 1)[0]
    # Four are drawn; the others are named, so nobody reads the chart as everyone's.
    assert all(name in legend for name in names[:4])
    assert (
        "Not drawn, to keep the chart readable: <bdi>Ed Fox</bdi> and <bdi>Flo Gray</bdi>" in legend
    )
    description = page.split('<desc id="compare-radar-desc">', 1)[1].split("</desc>", 1)[0]
    assert "Ed Fox and Flo Gray are not drawn" in description
    # In the table, only those drawn carry a colour of the chart.
    header = page.split('class="table compare-table"', 1)[1].split("</thead>", 1)[0]
    assert header.count('class="swatch') == 4
    # With four or fewer, nothing is left out and nothing is said.
    other = create_engagement(signed_in)
    submitted_many(app, other, names[:4])
    assert "Not drawn" not in signed_in.get(f"/engagements/{other}").get_data(as_text=True)


def test_a_session_in_progress_is_resumed_from_the_toolbar(signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert ">Run intake session</a>" in page
    post(signed_in, f"/engagements/{engagement_id}/session", {"innovation": "4", "action": "save"})
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert ">Resume intake session</a>" in page and ">Run intake session</a>" not in page


def test_saving_a_session_before_any_answer_stores_no_empty_respondent(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    saved = post(signed_in, f"/engagements/{engagement_id}/session", {"action": "save"})
    assert saved.status_code == 302
    assert "Nothing to save yet" in signed_in.get(saved.headers["Location"]).get_data(as_text=True)
    assert count(app, Respondent) == 0


def test_unfinished_answers_are_drawn_as_points_without_a_shape(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    submitted_many(app, engagement_id, ["Ann Lee"])
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        started = {"innovation": 4, "risk_tolerance": 2, "timeline_pressure": 5}
        engagement.respondents.append(Respondent(name="Bo Chen", side="creator", answers=started))
        db.session.commit()
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    svg = page.split('class="radar-svg"', 1)[1].split("</svg>", 1)[0]
    # A shape would pass through the centre where Bo has not answered, reading as level 0.
    assert svg.count('<polygon class="series series-a"') == 1
    assert '<polygon class="series series-b"' not in svg
    assert svg.count('class="dot series-b"') == 3
    legend = page.split('class="legend"', 1)[1].split("</figcaption>", 1)[0]
    assert "<bdi>Bo Chen</bdi> (3 of 8 answered: points only)" in legend


def test_names_in_a_sentence_are_each_isolated_for_right_to_left_scripts() -> None:
    from assess.views.template_helpers import names

    # Unisolated, the two Arabic names would read as one right-to-left run and swap places.
    listed = names(["Ann Lee", "محمد", "<i>علي</i>"])
    assert listed == ("<bdi>Ann Lee</bdi>, <bdi>محمد</bdi> and <bdi>&lt;i&gt;علي&lt;/i&gt;</bdi>")
    assert names([]) == ""


def test_a_respondent_without_a_link_says_so(app: Flask, signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    invite(signed_in, engagement_id)
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        # answers carried over from elsewhere (an import, the demo): no link was ever issued
        engagement.respondents.append(Respondent(name="Bo Chen", side="creator", answers={}))
        db.session.commit()
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    rows = re.findall(
        r'<th scope="row">([^<]+)</th>.*?data-label="Link">\s*(.*?)\s*</td>', page, re.S
    )
    assert [(name, re.sub("<[^>]+>", "", link)) for name, link in rows] == [
        ("Ann Lee", "Active"),
        ("Bo Chen", "No link issued"),
    ]


def test_a_respondents_link_names_the_last_day_it_works(signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    chosen = date.today() + timedelta(days=30)
    invite(signed_in, engagement_id, expires_on=chosen.isoformat())
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    # The form says the link works through the chosen day (UTC): the table names that day
    # and its zone, not the midnight after it.
    shown = re.search(r"Active, until ([^<]+)<", page)
    assert shown is not None and shown.group(1).strip() == f"{chosen:%-d %b %Y}, end of day UTC"


def test_a_link_renewed_without_a_chosen_day_names_its_exact_end() -> None:
    from datetime import UTC, datetime

    from assess.views.template_helpers import link_end

    assert link_end(datetime(2027, 1, 3, 16, 25, tzinfo=UTC)) == "3 Jan 2027, 16:25 UTC"
    assert link_end(datetime(2027, 2, 1, tzinfo=UTC)) == "31 Jan 2027, end of day UTC"
    assert link_end(None) == ""


def test_the_list_says_a_consensus_is_next_once_several_respondents_submitted(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    for name, side, level in (("Ann Lee", "producer", 2), ("Bo Chen", "creator", 5)):
        link = invite(signed_in, engagement_id, respondent_name=name, side=side)
        answers = {**ANSWERS, "timeline_pressure": level}
        answer_through_link(signed_in, link, answers)
    assert status(app, engagement_id) == "answered"
    # Each submission made that respondent's own decision; nothing has combined them yet.
    listing = signed_in.get("/engagements").get_data(as_text=True)
    assert "New answers since" not in listing
    assert "Ready to decide on the consensus" in listing


# A name pasted from a right-to-left document may end in an unclosed override mark.
TURNED = "\u202eAnn Lee"


def test_a_typed_name_never_turns_the_text_after_it_around(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in, project_name=TURNED, producer_name=TURNED)
    path = f"/engagements/{engagement_id}"
    isolated = f"<bdi>{TURNED}</bdi>"
    listing = signed_in.get("/engagements").get_data(as_text=True)
    assert f"<strong>{isolated}</strong>, <bdi>Executive producer</bdi>" in listing
    page = signed_in.get(path).get_data(as_text=True)
    assert f"<dd>{isolated}<span" in page
    session = signed_in.get(f"{path}/session").get_data(as_text=True)
    assert f"together with {isolated} and <bdi>Bo Chen</bdi>. Choose" in session
    for form in (f"{path}/edit", f"{path}/invitations/new", f"{path}/session"):
        assert f'">{isolated}</a>' in signed_in.get(form).get_data(as_text=True)
    assert f"(<bdi>{TURNED}</bdi>)" in signed_in.get(f"{path}/invitations/new").get_data(
        as_text=True
    )
    archived = signed_in.get(post(signed_in, f"{path}/archive").headers["Location"])
    assert f"“{isolated}” is archived." in archived.get_data(as_text=True)
    restored = signed_in.get(post(signed_in, f"{path}/restore").headers["Location"])
    assert f"“{isolated}” is back in your engagements." in restored.get_data(as_text=True)
    # Whatever is typed is still escaped, isolated or not.
    post(signed_in, f"{path}/edit", {**ENGAGEMENT, "project_name": "<i>Tide</i>"})
    archived = signed_in.get(post(signed_in, f"{path}/archive").headers["Location"])
    assert "“<bdi>&lt;i&gt;Tide&lt;/i&gt;</bdi>” is archived." in archived.get_data(as_text=True)


def test_an_intake_session_has_no_link_to_renew_or_revoke(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    data = {k: str(v) for k, v in ANSWERS.items()}
    post(signed_in, f"/engagements/{engagement_id}/session", {**data, "action": "decide"})
    with app.app_context():
        session_id = db.session.scalars(select(Respondent.id)).one()
    base = f"/engagements/{engagement_id}/respondents/{session_id}"
    for action in ("link", "revoke"):
        assert post(signed_in, f"{base}/{action}").status_code == 404, action
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert "no longer works" not in page


def test_an_unfinished_intake_session_is_named_as_such(app: Flask, signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    path = f"/engagements/{engagement_id}/session"
    data = {k: str(v) for k, v in ANSWERS.items()}
    assert post(signed_in, path, {**data, "action": "decide"}).status_code == 303
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert "Answered in the session, no link" in page
    # A second session, saved half way: the engagement waits for the consultant, not a person.
    post(signed_in, path, {"session": "new", "innovation": "2", "action": "save"})
    assert status(app, engagement_id) == "answered"
    listing = signed_in.get("/engagements").get_data(as_text=True)
    assert "An intake session is unfinished" in listing
    assert "Waiting for" not in listing
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert re.search(r'data-label="Link">\s*In session\s*</td>', page)


def test_only_submitted_answers_count_as_differences_to_discuss(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    now = utcnow()
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        people = [
            Respondent(name="Ann Lee", side="producer", answers=dict(ANSWERS), submitted_at=now),
            Respondent(
                name="Bo Chen",
                side="creator",
                answers={**ANSWERS, "innovation": 1},
                submitted_at=now,
            ),
            # Still answering, and an intake session not finished: neither is in a consensus.
            Respondent(
                name="Cy Diaz",
                side="producer",
                answers={"timeline_pressure": 5, "risk_tolerance": 1},
            ),
            Respondent(
                name="Intake session",
                side="joint",
                facilitated=True,
                answers={"planning_complexity": 5},
            ),
        ]
        engagement.respondents.extend(people)
        db.session.commit()
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert "<strong>1 factor</strong> differs by two levels or more between the submitted" in page
    assert "Answers not submitted yet are shown but not counted." in page
    assert page.count('<span class="badge badge-warning">Discuss</span>') == 1
    assert re.search(r"Innovation requirements <span class=\"badge badge-warning\">Discuss", page)
    assert page.count('<span class="th-sub">not submitted</span>') == 2


def test_a_respondent_who_started_and_will_not_answer_can_be_removed(
    app: Flask, signed_in: FlaskClient
) -> None:
    from assess.questionnaire import PAGES

    engagement_id = create_engagement(signed_in)
    submitted_pair(app, engagement_id)
    assert post(signed_in, f"/engagements/{engagement_id}/consensus").status_code == 303
    third = invite(signed_in, engagement_id, respondent_name="Cy Diaz", side="creator")
    post(signed_in, f"{third}/step/1", {k: str(ANSWERS[k]) for k in PAGES[0].keys})
    cy = respondent_id(app, "Cy Diaz")
    base = f"/engagements/{engagement_id}"
    post(signed_in, f"{base}/respondents/{cy}/revoke")
    # A revoked link is not enough once they have answered something.
    assert status(app, engagement_id) == "answered"
    assert "Waiting for <bdi>Cy Diaz</bdi>" in signed_in.get("/engagements").get_data(as_text=True)

    page = signed_in.get(base).get_data(as_text=True)
    remove = f'href="{base}/respondents/{cy}/remove"'
    assert remove in page and 'Remove<span class="visually-hidden"> Cy Diaz</span>' in page
    # Submitted answers stay: only Cy has the action.
    assert page.count('/remove"') == 1
    assert 'id="engagement-history-title"' not in page  # nobody removed yet

    confirm = signed_in.get(f"{base}/respondents/{cy}/remove")
    assert confirm.status_code == 200
    text = confirm.get_data(as_text=True)
    assert "Remove <bdi>Cy Diaz</bdi>?" in text
    assert "Their saved answers are deleted, their link stops opening" in text
    assert "history records who removed them and when" in text
    assert "2 of 8 answered" in text and "Revoked" in text
    assert "Nobody else answers" not in text  # Bo Chen answers for the creator side
    assert f'action="{base}/respondents/{cy}/remove"' in text
    assert count(app, Respondent) == 3  # asking changes nothing

    removed = post(signed_in, f"{base}/respondents/{cy}/remove")
    assert removed.status_code == 302 and removed.headers["Location"] == base
    shown = signed_in.get(base).get_data(as_text=True)
    assert "<bdi>Cy Diaz</bdi> is removed, with their saved answers" in shown
    # The engagement's history keeps who removed whom, when, and from which side.
    history = shown.split('id="engagement-history-title"', 1)[1].split("</section>", 1)[0]
    assert "<bdi>Cara Diaz</bdi> removed <bdi>Cy Diaz</bdi> (creator side)" in history
    assert "2 of 8 answers saved" in history and "over the API" not in history
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[^"]+">', history)
    assert count(app, Respondent) == 2
    with app.app_context():
        assert db.session.scalars(select(Invitation)).all() == []
    assert status(app, engagement_id) == "decided"
    assert "Waiting for" not in signed_in.get("/engagements").get_data(as_text=True)
    # Their link opens nothing any more.
    assert signed_in.get(third).status_code == 404

    # A second click, or a page from before, is told so rather than shown an error.
    again = post(signed_in, f"{base}/respondents/{cy}/remove")
    assert again.status_code == 302
    assert "no longer part of this engagement" in signed_in.get(base).get_data(as_text=True)


def test_submitted_answers_and_answers_a_decision_rests_on_are_never_removed(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    ann = invite(signed_in, engagement_id)
    answer_through_link(signed_in, ann)
    base = f"/engagements/{engagement_id}"
    ann_id = respondent_id(app, "Ann Lee")
    path = f"{base}/respondents/{ann_id}/remove"
    assert '/remove"' not in signed_in.get(base).get_data(as_text=True)
    for attempt in (signed_in.get, lambda path: post(signed_in, path)):
        assert attempt(path).status_code == 302
        shown = signed_in.get(base).get_data(as_text=True)
        assert "<bdi>Ann Lee</bdi> has submitted their answers, so they stay" in shown
    assert count(app, Respondent) == 1

    # Reopened, Ann is no longer submitted, but her decision still names her.
    post(signed_in, f"{base}/respondents/{ann_id}/reopen")
    assert '/remove"' not in signed_in.get(base).get_data(as_text=True)
    assert post(signed_in, path).status_code == 302
    page = signed_in.get(base).get_data(as_text=True)
    assert "stored decisions rest on them" in page
    assert "or close their answers again as they were submitted" in page
    assert count(app, Respondent) == 1 and count(app, DecisionRecord) == 1


def test_removing_the_only_respondent_of_a_side_says_a_consensus_needs_it(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id, _, _ = invited_pair(signed_in)
    base = f"/engagements/{engagement_id}"
    bo = respondent_id(app, "Bo Chen")
    confirm = signed_in.get(f"{base}/respondents/{bo}/remove").get_data(as_text=True)
    assert "Nobody else answers for the creator side." in confirm
    post(signed_in, f"{base}/respondents/{bo}/remove")
    page = signed_in.get(base).get_data(as_text=True)
    assert "Nobody answers for the creator side now: a consensus needs" in page
    # The respondents card then offers to invite someone for that side, its party named.
    assert f'href="{base}/invitations/new?side=creator"' in page
    form = signed_in.get(f"{base}/invitations/new?side=creator").get_data(as_text=True)
    assert 'value="Bo Chen"' in form


def test_an_unfinished_intake_session_can_be_removed(app: Flask, signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    base = f"/engagements/{engagement_id}"
    post(signed_in, f"{base}/session", {"innovation": "3", "action": "save"})
    session_id = respondent_id(app, "Intake session")
    confirm = signed_in.get(f"{base}/respondents/{session_id}/remove").get_data(as_text=True)
    assert "Remove the unfinished intake session?" in confirm
    post(signed_in, f"{base}/respondents/{session_id}/remove")
    shown = signed_in.get(base).get_data(as_text=True)
    assert "The unfinished intake session is removed" in shown
    history = shown.split('id="engagement-history-title"', 1)[1].split("</section>", 1)[0]
    assert "removed <bdi>Intake session</bdi> (both parties together)" in history
    assert count(app, Respondent) == 0
    assert status(app, engagement_id) == "new"


def test_removing_from_an_archived_engagement_says_it_is_archived(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    invite(signed_in, engagement_id)
    base = f"/engagements/{engagement_id}"
    ann = respondent_id(app, "Ann Lee")
    post(signed_in, f"{base}/archive")
    assert '/remove"' not in signed_in.get(base).get_data(as_text=True)
    for response in (
        signed_in.get(f"{base}/respondents/{ann}/remove"),
        post(signed_in, f"{base}/respondents/{ann}/remove"),
    ):
        assert response.status_code == 409
        assert b"This engagement is archived" in response.data
    assert count(app, Respondent) == 1


def test_the_invitation_form_fills_in_a_name_only_for_the_side_its_link_names(
    signed_in: FlaskClient,
) -> None:
    engagement_id = create_engagement(signed_in)
    path = f"/engagements/{engagement_id}/invitations/new"

    def shown(query: str = "") -> tuple[str, list[str]]:
        page = signed_in.get(path + query).get_data(as_text=True)
        name = re.search(r'id="field-respondent_name"[^>]*value="([^"]*)"', page)
        assert name is not None
        checked = re.findall(r'id="side-(\w+)"[^>]*checked', page)
        return name.group(1), checked

    # Opened for no side in particular: no party's name to leave behind on the other side.
    assert shown() == ("", [])
    assert shown("?side=creator") == ("Bo Chen", ["creator"])
    assert shown("?side=producer") == ("Ann Lee", ["producer"])
    assert shown("?side=joint") == ("", [])
    # With JavaScript the name follows the side chosen: each side carries its party's name.
    page = signed_in.get(path).get_data(as_text=True)
    assert 'value="creator" data-party-name="Bo Chen"' in page
    assert 'id="invite-form" data-keep-draft' in page


@pytest.mark.parametrize("typed", ["Ann Lee", "  ann   LEE "])
def test_a_respondent_is_never_invited_under_the_other_partys_name(
    app: Flask, signed_in: FlaskClient, typed: str
) -> None:
    engagement_id = create_engagement(signed_in)
    path = f"/engagements/{engagement_id}/invitations/new"
    form = {"respondent_name": typed, "side": "creator", "expires_on": ""}
    response = post(signed_in, path, form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert (
        "<bdi>Ann Lee</bdi> is the producer side's party: choose Producer side as the side, "
        "or enter the name of the person who answers for the creator side."
    ) in page
    assert count(app, Respondent) == 0
    # The side's own party, or anyone else, is invited as asked.
    assert post(signed_in, path, {**form, "respondent_name": "Bo Chen"}).status_code == 302
    assert post(signed_in, path, {**form, "respondent_name": "Cy Diaz"}).status_code == 302
    assert post(signed_in, path, {**form, "side": "producer"}).status_code == 302
    assert count(app, Respondent) == 3


def test_the_same_name_on_both_sides_is_no_mix_up(app: Flask, signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in, creator_name="Ann Lee")
    form = {"respondent_name": "Ann Lee", "side": "creator", "expires_on": ""}
    assert post(signed_in, f"/engagements/{engagement_id}/invitations/new", form).status_code == 302


def new_link_notice(client: FlaskClient, location: str) -> str:
    page = client.get(location).get_data(as_text=True)
    notice = re.search(r'<section class="notice notice-success new-link".*?</section>', page, re.S)
    assert notice is not None
    return re.sub(r"\s+", " ", re.sub("<[^>]+>", "", notice.group(0)))


def test_a_new_link_says_how_long_it_works_and_expires_as_an_invitation_does(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    base = f"/engagements/{engagement_id}"
    form = {"respondent_name": "Ann Lee", "side": "producer", "expires_on": ""}
    created = post(signed_in, f"{base}/invitations/new", form)
    assert "It does not expire; you can revoke it at any time." in new_link_notice(
        signed_in, created.headers["Location"]
    )
    chosen = date.today() + timedelta(days=20)
    bo_form = {"respondent_name": "Bo Chen", "side": "creator", "expires_on": chosen.isoformat()}
    created = post(signed_in, f"{base}/invitations/new", bo_form)
    assert f"It works until {chosen:%-d %b %Y}, end of day UTC." in new_link_notice(
        signed_in, created.headers["Location"]
    )
    ann, bo = respondent_id(app, "Ann Lee"), respondent_id(app, "Bo Chen")

    def newest_expiry(respondent_id: int) -> object:
        with app.app_context():
            return db.session.scalars(
                select(Invitation.expires_at)
                .where(Invitation.respondent_id == respondent_id)
                .order_by(Invitation.id.desc())
            ).first()

    # Resending a working link keeps its end, and says so.
    renewed = post(signed_in, f"{base}/respondents/{bo}/link")
    notice = new_link_notice(signed_in, renewed.headers["Location"])
    until = f"{chosen:%-d %b %Y}, end of day UTC"
    assert f"It works until {until}, as the link it replaces did." in notice
    assert "Their previous link no longer works." in notice
    # After a revoke, the new link is what the invitation form makes by default.
    post(signed_in, f"{base}/respondents/{bo}/revoke")
    renewed = post(signed_in, f"{base}/respondents/{bo}/link")
    notice = new_link_notice(signed_in, renewed.headers["Location"])
    assert "It does not expire; you can revoke it at any time." in notice
    assert "previous link" not in notice
    assert newest_expiry(bo) is None
    renewed = post(signed_in, f"{base}/respondents/{ann}/link")
    assert "It does not expire, as the link it replaces did not;" in new_link_notice(
        signed_in, renewed.headers["Location"]
    )

    # Someone with no link yet (answers carried over, as in the demo) gets the same default.
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        engagement.respondents.append(Respondent(name="Cy Diaz", side="creator", answers={}))
        db.session.commit()
    cy = respondent_id(app, "Cy Diaz")
    renewed = post(signed_in, f"{base}/respondents/{cy}/link")
    assert "It does not expire" in new_link_notice(signed_in, renewed.headers["Location"])
    assert newest_expiry(cy) is None


def test_a_refused_invitation_lists_its_problems_in_the_order_of_the_form(
    signed_in: FlaskClient,
) -> None:
    engagement_id = create_engagement(signed_in)
    form = {"respondent_name": "", "side": "", "expires_on": ""}
    response = post(signed_in, f"/engagements/{engagement_id}/invitations/new", form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    summary = page.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    listed = re.findall(r'href="#([^"]+)"', summary)
    in_the_form = [ident for ident in re.findall(r' id="([^"]+)"', page) if ident in listed]
    assert listed == in_the_form == ["side-producer", "field-respondent_name"]


def test_a_refused_session_lists_its_questions_in_the_order_they_are_asked(
    signed_in: FlaskClient,
) -> None:
    engagement_id = create_engagement(signed_in)
    response = post(signed_in, f"/engagements/{engagement_id}/session", {"action": "decide"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    summary = page.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    listed = re.findall(r'href="#([^"]+)"', summary)
    asked = [ident for ident in re.findall(r' id="([^"]+)"', page) if ident in listed]
    assert len(listed) == 8 and listed == asked


def test_an_invitation_sent_twice_makes_one_respondent_whose_shown_link_works(
    app: Flask, signed_in: FlaskClient
) -> None:
    # Without JavaScript a double click sends the form twice; the browser shows only the
    # second answer, so the link made first is never seen.
    engagement_id = create_engagement(signed_in)
    form = {"respondent_name": "Ann Lee", "side": "producer", "expires_on": ""}
    path = f"/engagements/{engagement_id}/invitations/new"
    assert post(signed_in, path, form).status_code == 302
    again = post(signed_in, path, {**form, "respondent_name": " ann  lee "})
    assert again.status_code == 302
    assert count(app, Respondent) == 1
    page = signed_in.get(again.headers["Location"]).get_data(as_text=True)
    assert "Link for Ann Lee" in page
    assert "<bdi>Ann Lee</bdi> was already invited and had not started: their previous" in page
    link = re.search(r'id="invitation-link"[^>]*value="https?://[^/"]+(/i/[^"]+)"', page)
    assert link and signed_in.get(link.group(1)).status_code == 200
    with app.app_context():
        states = sorted(i.state for i in db.session.scalars(select(Invitation)))
    assert states == ["active", "revoked"]


def test_someone_already_answering_is_never_invited_a_second_time(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    link = invite(signed_in, engagement_id)
    post(signed_in, f"{link}/step/1", {"innovation": "3", "action": "save"})
    form = {"respondent_name": "Ann Lee", "side": "producer", "expires_on": ""}
    response = post(signed_in, f"/engagements/{engagement_id}/invitations/new", form)
    assert response.status_code == 422
    assert (
        "<bdi>Ann Lee</bdi> already answers for the producer side here. To send them "
        "another link, use New link next to their name on the engagement page."
    ) in response.get_data(as_text=True)
    assert count(app, Respondent) == 1 and count(app, Invitation) == 1
    assert signed_in.get(link).status_code == 302  # their link still leads to their answers


def test_an_engagement_form_sent_twice_creates_one_engagement(
    app: Flask, signed_in: FlaskClient
) -> None:
    first = post(signed_in, "/engagements/new", ENGAGEMENT)
    again = post(signed_in, "/engagements/new", ENGAGEMENT)
    assert again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"]
    assert count(app, Engagement) == 1
    # Once something is in it, the same details make a new engagement: a second round.
    engagement_id = int(first.headers["Location"].rsplit("/", 1)[1])
    invite(signed_in, engagement_id)
    third = post(signed_in, "/engagements/new", ENGAGEMENT)
    assert third.headers["Location"] != first.headers["Location"]
    assert count(app, Engagement) == 2


def test_a_typed_name_never_turns_a_question_or_a_title_around(
    app: Flask, signed_in: FlaskClient
) -> None:
    # Neither a dialog's question nor a page's title can hold <bdi>: the name is set apart
    # by the first-strong and pop isolate characters instead.

    engagement_id = create_engagement(signed_in, project_name=TURNED, producer_name=TURNED)
    link = invite(signed_in, engagement_id, respondent_name=TURNED)
    path = f"/engagements/{engagement_id}"
    titles = {
        path: f"\u2068{TURNED}\u2069",
        f"{path}/edit": f"Edit \u2068{TURNED}\u2069",
        f"{path}/session": f"Intake session · \u2068{TURNED}\u2069",
    }
    for address, title in titles.items():
        assert f"<title>{title} · Assess</title>" in signed_in.get(address).get_data(as_text=True)
    page = signed_in.get(path).get_data(as_text=True)
    assert f"data-confirm=\"Revoke \u2068{TURNED}\u2069's link? It stops working" in page
    fill_in(signed_in, link)
    turned_id = respondent_id(app, TURNED)
    remove = signed_in.get(f"{path}/respondents/{turned_id}/remove")
    assert f"<title>Remove \u2068{TURNED}\u2069 · Assess</title>" in remove.get_data(as_text=True)
    post(signed_in, f"{link}/review")
    with app.app_context():
        decision_id = db.session.scalars(select(DecisionRecord.id)).one()
    result = signed_in.get(f"{path}/decisions/{decision_id}").get_data(as_text=True)
    assert f" · \u2068{TURNED}\u2069 · Assess</title>" in result
    post(signed_in, f"/engagements/{engagement_id}/respondents/{turned_id}/reopen")
    close = signed_in.get(f"/engagements/{engagement_id}/respondents/{turned_id}/close")
    assert f"<title>Close \u2068{TURNED}\u2069's answers again · Assess</title>" in close.get_data(
        as_text=True
    )


def test_the_main_menu_marks_the_section_a_page_belongs_to(signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    nav = re.compile(r'<nav class="site-nav".*?</nav>', re.S)

    def marked(path: str) -> dict[str, str]:
        menu = nav.search(signed_in.get(path).get_data(as_text=True))
        assert menu
        found = re.findall(r'<a href="[^"]*" aria-current="(\w+)"[^>]*>(\w+)', menu.group(0))
        return {name: current for current, name in found}

    assert marked("/engagements") == {"Engagements": "page"}
    assert marked("/engagements/new") == {"New": "page"}
    session = {**{k: str(v) for k, v in ANSWERS.items()}, "action": "decide"}
    decision = post(signed_in, f"/engagements/{engagement_id}/session", session).location
    for path in (
        f"/engagements/{engagement_id}",
        f"/engagements/{engagement_id}/edit",
        f"/engagements/{engagement_id}/invitations/new",
        f"/engagements/{engagement_id}/session",
        decision,
        f"{decision}/charter",
    ):
        assert marked(path) == {"Engagements": "true"}, path
    assert marked("/account") == {"Account": "page"}
    assert marked("/account/api-tokens") == {"Account": "true"}


def test_the_invitation_page_is_titled_with_its_engagement(signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    page = signed_in.get(f"/engagements/{engagement_id}/invitations/new").get_data(as_text=True)
    assert "<title>Invite a respondent · \u2068Tidewater\u2069 · Assess</title>" in page


def test_reopening_answers_whose_link_no_longer_works_says_a_new_link_is_needed(
    signed_in: FlaskClient, app: Flask
) -> None:
    engagement_id = create_engagement(signed_in)
    link = invite(signed_in, engagement_id)
    fill_in(signed_in, link)
    post(signed_in, f"{link}/review")
    ann_id = respondent_id(app, "Ann Lee")
    base = f"/engagements/{engagement_id}/respondents/{ann_id}"
    post(signed_in, f"{base}/revoke")
    reopened = post(signed_in, f"{base}/reopen", follow_redirects=True).get_data(as_text=True)
    assert "Their link leads back to the review page" not in reopened
    assert "no working link" in reopened and "New link" in reopened
    # With a working link, the message says where it leads.
    post(signed_in, f"{base}/close")
    post(signed_in, f"{base}/link")
    again = post(signed_in, f"{base}/reopen", follow_redirects=True).get_data(as_text=True)
    assert "Their link leads back to the review page." in again
