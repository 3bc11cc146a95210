"""What a questionnaire link that no longer opens the questionnaire says, and answers."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from webtools import (
    ENGAGEMENT,
    create_engagement,
    expire_invitation,
    fill_in,
    invite,
    post,
    respondent_id,
)

from assess.extensions import db
from assess.models import Respondent

pytestmark = pytest.mark.db

EYEBROW = '<p class="eyebrow">Your personal link</p>'


def dead_links(app: Flask, client: FlaskClient) -> dict[str, str]:
    """Make one link of each kind that does not open the questionnaire; the client stays
    signed in as the consultant who made them."""
    engagement_id = create_engagement(client)
    base = f"/engagements/{engagement_id}/respondents"
    expired = invite(client, engagement_id, respondent_name="Eve Stone")
    expire_invitation(app, "Eve Stone")
    withdrawn = invite(client, engagement_id, respondent_name="Rob Hale")
    post(client, f"{base}/{respondent_id(app, 'Rob Hale')}/revoke")
    replaced = invite(client, engagement_id, respondent_name="Cy Park")
    post(client, f"{base}/{respondent_id(app, 'Cy Park')}/link")
    archived_id = create_engagement(client, project_name="Quiet Cove")
    closed = invite(client, archived_id, respondent_name="Di Moss")
    post(client, f"/engagements/{archived_id}/archive")
    return {
        "unknown": "/i/not-a-link-we-made",
        "expired": expired,
        "withdrawn": withdrawn,
        "replaced": replaced,
        "closed": closed,
    }


STATUS = {"unknown": 404, "expired": 410, "withdrawn": 410, "replaced": 410, "closed": 403}
TITLE = {
    "unknown": "This link does not open anything",
    "expired": "This link has expired",
    "withdrawn": "This link has been withdrawn",
    "replaced": "This link has been replaced",
    "closed": "This questionnaire is closed",
}


def test_every_link_that_does_not_open_says_so_on_one_kind_of_page(
    app: Flask, signed_in: FlaskClient
) -> None:
    links = dead_links(app, signed_in)
    signed_in.delete_cookie("session")  # a respondent: no account
    for kind, link in links.items():
        for path in (link, f"{link}/step/1", f"{link}/review", f"{link}/result"):
            response = signed_in.get(path)
            assert response.status_code == STATUS[kind], (kind, path)
            page = response.get_data(as_text=True)
            assert f"<title>{TITLE[kind]} · Assess</title>" in page, kind
            assert re.findall(r"<h1>(.*?)</h1>", page) == [TITLE[kind]], kind
            # The respondent's pages, not the consultant's error page: no error code, no
            # way into an account, and the next step said under its own heading.
            assert EYEBROW in page and '<div class="panel link-page">' in page, kind
            assert "<h2>What to do now</h2>" in page, kind
            assert "Error 404" not in page and "Error 410" not in page, kind
            assert 'class="brand" href=' not in page and "Go to the home page" not in page
            assert "can see and change your answers" not in page, kind
            assert "not saved" not in page, kind


def test_a_dead_link_refuses_answers_with_the_same_page(app: Flask, signed_in: FlaskClient) -> None:
    links = dead_links(app, signed_in)
    for kind, link in links.items():
        response = post(signed_in, f"{link}/step/1", {"innovation": "3", "action": "save"})
        assert response.status_code == STATUS[kind], kind
        page = response.get_data(as_text=True)
        assert f"<h1>{TITLE[kind]}</h1>" in page
        submitted = post(signed_in, f"{link}/review")
        assert submitted.status_code == STATUS[kind], kind
        # Answers sent are not among those the page says are kept.
        if kind != "unknown":
            for sent in (page, submitted.get_data(as_text=True)):
                assert "<p>What you just sent was not saved.</p>" in sent, kind
    with app.app_context():
        assert all(not r.answers for r in db.session.query(Respondent))


def test_a_withdrawn_link_is_not_said_to_be_replaced(app: Flask, signed_in: FlaskClient) -> None:
    links = dead_links(app, signed_in)
    withdrawn = signed_in.get(links["withdrawn"]).get_data(as_text=True)
    assert "replaced" not in withdrawn and "newer" not in withdrawn
    assert "ask your consultant for a new link" in withdrawn
    replaced = signed_in.get(links["replaced"]).get_data(as_text=True)
    assert "Use the most recent link you received" in replaced


def test_a_withdrawn_link_tells_nothing_of_whom_it_was_for(
    app: Flask, signed_in: FlaskClient
) -> None:
    """A link is withdrawn most often because it reached the wrong person."""
    links = dead_links(app, signed_in)
    for kind in ("withdrawn", "replaced", "unknown"):
        page = signed_in.get(links[kind]).get_data(as_text=True)
        assert "Rob Hale" not in page and "Cy Park" not in page
        assert ENGAGEMENT["project_name"] not in page


def test_an_expired_link_of_submitted_answers_does_not_ask_for_them_again(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    link = invite(signed_in, engagement_id, respondent_name="Eve Stone")
    fill_in(signed_in, link)
    post(signed_in, f"{link}/review")
    expire_invitation(app, "Eve Stone")
    response = signed_in.get(link)
    assert response.status_code == 410
    page = response.get_data(as_text=True)
    assert "Your answers were submitted" in page
    assert "If you still need to answer" not in page and "saved are kept" not in page
    assert "ask your consultant for a new link" in page and "reopen your answers" in page


def test_an_expired_link_of_answers_not_submitted_says_they_are_kept(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    link = invite(signed_in, engagement_id, respondent_name="Eve Stone")
    post(signed_in, f"{link}/step/1", {"innovation": "3", "action": "save"})
    expire_invitation(app, "Eve Stone")
    page = signed_in.get(link).get_data(as_text=True)
    assert "Any answers you saved are kept." in page
    assert "Ask your consultant for a new link" in page
    assert "Your answers were submitted" not in page


def test_a_page_the_questionnaire_does_not_have_is_said_on_the_same_kind_of_page(
    signed_in: FlaskClient,
) -> None:
    engagement_id = create_engagement(signed_in)
    link = invite(signed_in, engagement_id)
    signed_in.delete_cookie("session")
    for path in (f"{link}/step/9", f"{link}/step/0", f"{link}/step/two", f"{link}/no-such"):
        response = signed_in.get(path)
        assert response.status_code == 404, path
        page = response.get_data(as_text=True)
        assert EYEBROW in page and "<h1>This page is not part of the questionnaire</h1>" in page
        assert f'<a class="button" href="{link}">Go to your questionnaire</a>' in page
        assert "This link does not open anything" not in page
    unknown = signed_in.get("/i/not-a-link-we-made/no-such-page")
    assert unknown.status_code == 404
    assert "<h1>This link does not open anything</h1>" in unknown.get_data(as_text=True)
