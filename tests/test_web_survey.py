"""Clients' self-assessment from an invitation link."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from webtools import ANSWERS, create_engagement, invite, post, statements_sent

from assess.extensions import db
from assess.factors import BY_KEY
from assess.models import DecisionRecord, Invitation, Respondent, utcnow
from assess.questionnaire import PAGES, answers_seen

pytestmark = pytest.mark.db


@pytest.fixture
def link(app: Flask, signed_in: FlaskClient) -> str:
    """Return the path of a fresh invitation; the client is then a stranger with the link."""
    engagement_id = create_engagement(signed_in)
    path = invite(signed_in, engagement_id)
    signed_in.delete_cookie("session")
    return path


def respondent(app: Flask) -> Respondent:
    with app.app_context():
        return db.session.scalars(select(Respondent)).one()


def answer_page(client: FlaskClient, link: str, number: int, action: str = "next") -> str:
    keys = PAGES[number - 1].keys
    data = {k: str(ANSWERS[k]) for k in keys}
    response = post(
        client, f"{link}/step/{number}", {**data, "action": action}, follow_redirects=False
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    return str(response.headers["Location"])


def test_welcome_page_needs_no_account(client: FlaskClient, link: str) -> None:
    page = client.get(link)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Welcome, <bdi>Ann Lee</bdi>" in text and "producer side" in text and "Tidewater" in text
    # Said as the footer says it: a choice is saved on moving to another page, not on the click.
    assert "Each page's answers are saved when you move on from it." in text
    assert "as you go" not in text


def test_step_pages_show_questions_anchors_and_progress(client: FlaskClient, link: str) -> None:
    page = client.get(f"{link}/step/2").get_data(as_text=True)
    assert "Step 2 of 5" in page
    assert page.count("<fieldset") == 2 and page.count("<legend>") == 2
    for key in PAGES[1].keys:
        for level in range(1, 6):
            assert f'name="{key}" value="{level}"' in page
            assert f'id="{key}-{level}"' in page and f'for="{key}-{level}"' in page
    assert "Do you already have what the project needs to happen?" in page


def factor_blocks(page: str) -> list[str]:
    """Return each factor's question block of a page, as it is written there."""
    return re.findall(r'<fieldset class="factor".*?</fieldset>', page, flags=re.DOTALL)


def test_the_intake_session_asks_every_question_as_the_questionnaire_does(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    link = invite(signed_in, engagement_id)
    session = signed_in.get(f"/engagements/{engagement_id}/session").get_data(as_text=True)
    asked = [
        block
        for number in range(1, len(PAGES) + 1)
        for block in factor_blocks(signed_in.get(f"{link}/step/{number}").get_data(as_text=True))
    ]
    # One macro writes both: the same numbered question, help text and anchored levels.
    assert len(asked) == 8 and factor_blocks(session) == asked
    order = re.findall(r'<fieldset class="factor" id="factor-(\w+)"', "".join(asked))
    assert order == [key for page in PAGES for key in page.keys]
    for number, block in enumerate(asked, start=1):
        assert f'<span class="factor-label">{number}. ' in block
        assert '<p class="factor-help">' in block and block.count('type="radio"') == 5


def test_answer_leave_resume_and_submit(app: Flask, client: FlaskClient, link: str) -> None:
    assert answer_page(client, link, 1).endswith(f"{link}/step/2")
    assert answer_page(client, link, 2).endswith(f"{link}/step/3")
    assert respondent(app).answers == {k: ANSWERS[k] for p in PAGES[:2] for k in p.keys}

    # Reopening the same link later returns to the page where they stopped.
    client.delete_cookie("session")
    resumed = client.get(link)
    assert resumed.status_code == 302 and resumed.headers["Location"].endswith("/step/3")
    page = client.get(f"{link}/step/1").get_data(as_text=True)
    assert 'value="4" checked' in page

    answer_page(client, link, 3)
    assert answer_page(client, link, 4).endswith(f"{link}/review")
    review = client.get(f"{link}/review").get_data(as_text=True)
    assert "Step 5 of 5" in review and "Review your answers" in review

    done = post(client, f"{link}/review")
    assert done.status_code == 303 and done.headers["Location"].endswith(f"{link}/result")
    result = client.get(f"{link}/result").get_data(as_text=True)
    assert "Your answers are submitted" in result and "Recommended partnership model" in result
    # These answers have tipping points: the radar and their list show, not a stable result.
    assert "<svg" in result and "<h3>Tipping points</h3>" in result
    assert "stable result" not in result
    assert "<h1>Your result</h1>" in result
    assert "Technical details" not in result  # rule ids and versions are the consultant's
    # Submitted answers are locked: the page no longer says the link can change them.
    assert "change your answers" not in result and "see your answers and this result" in result
    with app.app_context():
        record = db.session.scalars(select(DecisionRecord)).one()
        assert record.answers == ANSWERS and record.data["answers"] == ANSWERS
        assert record.rules_version == record.data["rules_version"]


def test_a_returning_respondent_is_welcomed_back_where_they_stopped(
    client: FlaskClient, link: str
) -> None:
    answer_page(client, link, 1)
    client.delete_cookie("session")
    step = client.get(link, follow_redirects=True).get_data(as_text=True)
    assert "Step 2 of 5" in step
    assert "Welcome back, <bdi>Ann Lee</bdi>. Your answers so far are saved" in step
    for number in (2, 3, 4):
        answer_page(client, link, number)
    client.delete_cookie("session")
    review = client.get(link, follow_redirects=True).get_data(as_text=True)
    assert "Review your answers" in review
    assert "Welcome back, <bdi>Ann Lee</bdi>. Every question is answered" in review
    # The welcome is said once, not again on the next page.
    assert "Welcome back" not in client.get(f"{link}/step/1").get_data(as_text=True)


def test_back_saves_and_goes_back(app: Flask, client: FlaskClient, link: str) -> None:
    answer_page(client, link, 1)
    location = post(client, f"{link}/step/2", {"resource_availability": "2", "action": "back"})
    assert location.status_code == 303 and location.headers["Location"].endswith("/step/1")
    assert respondent(app).answers["resource_availability"] == 2
    assert "risk_tolerance" not in respondent(app).answers


def test_save_for_later_keeps_partial_answers(app: Flask, client: FlaskClient, link: str) -> None:
    response = post(client, f"{link}/step/1", {"innovation": "5", "action": "save"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/step/1")
    assert respondent(app).answers == {"innovation": 5}
    assert b"Your answers are saved" in client.get(response.headers["Location"]).data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"innovation": "4"}, "Choose one of the five levels."),
        ({"innovation": "6", "planning_complexity": "2"}, "Choose a level from 1 to 5."),
        ({"innovation": "0", "planning_complexity": "2"}, "Choose a level from 1 to 5."),
        ({"innovation": "three", "planning_complexity": "2"}, "Choose a level from 1 to 5."),
        ({"innovation": "2.5", "planning_complexity": "2"}, "Choose a level from 1 to 5."),
    ],
)
def test_bad_answers_are_reported_and_nothing_is_saved(
    app: Flask, client: FlaskClient, link: str, data: dict[str, str], message: str
) -> None:
    response = post(client, f"{link}/step/1", {**data, "action": "next"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and "There is a problem" in page
    assert "<title>Error: The work (step 1 of 5)" in page  # heard first with a screen reader
    assert respondent(app).answers == {}


def test_invalid_answer_blocks_even_save_and_back(
    app: Flask, client: FlaskClient, link: str
) -> None:
    for action in ("save", "back"):
        response = post(client, f"{link}/step/2", {"risk_tolerance": "9", "action": action})
        assert response.status_code == 422
    assert respondent(app).answers == {}


def test_review_cannot_be_submitted_incomplete(app: Flask, client: FlaskClient, link: str) -> None:
    answer_page(client, link, 1)
    assert client.get(f"{link}/review").headers["Location"].endswith("/step/2")
    response = post(client, f"{link}/review")
    assert response.status_code == 422
    assert b"Answer this question before you submit." in response.data
    assert respondent(app).submitted_at is None


def test_review_errors_name_the_questions_and_lead_to_them(
    app: Flask, client: FlaskClient, link: str
) -> None:
    answer_page(client, link, 1)
    response = post(client, f"{link}/review")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    summary = re.search(r'class="error-summary".*?</div>', page, re.DOTALL)
    assert summary is not None
    assert "resource_availability:" not in summary.group(0)  # a key, not words
    assert f"{BY_KEY['resource_availability'].label}: Answer this question" in summary.group(0)
    anchors = re.findall(r'href="#([^"]+)"', summary.group(0))
    assert len(anchors) == 6
    for anchor in anchors:
        assert f'id="{anchor}"' in page, anchor


def test_submitted_answers_are_locked(app: Flask, client: FlaskClient, link: str) -> None:
    for number in range(1, 5):
        answer_page(client, link, number)
    post(client, f"{link}/review")
    changed = post(client, f"{link}/step/1", {"innovation": "1", "planning_complexity": "1"})
    assert changed.status_code == 303 and changed.headers["Location"].endswith("/result")
    assert respondent(app).answers == ANSWERS
    assert client.get(link).headers["Location"].endswith("/result")
    assert post(client, f"{link}/review").headers["Location"].endswith("/result")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DecisionRecord)) == 1


def test_a_submitted_respondent_is_told_once_and_only_warned_of_changes_not_saved(
    client: FlaskClient, link: str
) -> None:
    """The result page already says the answers are submitted and how to change them: a
    second notice saying so again is noise, unless what they just sent was thrown away."""
    for number in range(1, 5):
        answer_page(client, link, number)
    post(client, f"{link}/review")
    opened = client.get(f"{link}/step/1", follow_redirects=True).get_data(as_text=True)
    assert "Your answers are submitted." in opened and 'class="flash' not in opened
    sent = {"innovation": "1", "planning_complexity": "1"}
    post(client, f"{link}/step/1", sent)
    after = client.get(f"{link}/result").get_data(as_text=True)
    assert "What you just sent was not saved: your answers were already submitted." in after
    post(client, f"{link}/review")  # a double click on Submit
    again = client.get(f"{link}/result").get_data(as_text=True)
    assert 'class="flash' not in again


def test_consultant_can_reopen_submitted_answers(
    app: Flask, client: FlaskClient, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    link = invite(signed_in, engagement_id)
    for number in range(1, 5):
        answer_page(signed_in, link, number)
    post(signed_in, f"{link}/review")
    rid = respondent(app).id
    assert (
        post(signed_in, f"/engagements/{engagement_id}/respondents/{rid}/reopen").status_code == 302
    )
    assert respondent(app).submitted_at is None and respondent(app).reopened_at is not None
    assert signed_in.get(link).headers["Location"].endswith(f"{link}/review")
    assert signed_in.get(f"{link}/review").status_code == 200


def test_unknown_token_is_not_found_and_says_what_to_do(client: FlaskClient) -> None:
    for path in ("/i/not-a-real-token", "/i/" + "x" * 500, "/i/abc/step/1", "/i/abc/result"):
        response = client.get(path)
        assert response.status_code == 404
        page = response.get_data(as_text=True)
        assert "This link does not open anything" in page and "ask your consultant" in page
        assert "Go to the home page" not in page  # a respondent has no account to go to
    elsewhere = client.get("/no-such-page").get_data(as_text=True)
    assert "Page not found" in elsewhere and "Go to the home page" in elsewhere
    assert ">Error 404</p>" in elsewhere and "Your personal link" not in elsewhere


def test_a_refused_form_on_a_personal_link_speaks_to_the_respondent(
    client: FlaskClient, link: str
) -> None:
    client.get(link)
    data = {k: str(ANSWERS[k]) for k in PAGES[0].keys}
    response = client.post(f"{link}/step/1", data=data)  # no CSRF token
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Your form has expired" in page and "reload the page" in page
    assert "Go to the home page" not in page  # as on the link's 404 page: no account
    assert ">Your personal link</p>" in page and "Error 400" not in page
    assert "sign in" not in page


def test_a_page_left_open_for_hours_still_saves(
    app: Flask, client: FlaskClient, link: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from itsdangerous.timed import TimestampSigner

    page = client.get(f"{link}/step/1").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    now = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now(self) + 5 * 3600)
    data = {k: str(ANSWERS[k]) for k in PAGES[0].keys}
    response = client.post(
        f"{link}/step/1", data={"csrf_token": token.group(1), **data, "action": "save"}
    )
    assert response.status_code == 303
    assert respondent(app).answers == {k: ANSWERS[k] for k in PAGES[0].keys}


def test_guessing_personal_links_is_rate_limited_but_real_links_still_open(
    app: Flask, client: FlaskClient, link: str
) -> None:
    app.config["LINK_RATE_LIMIT"] = "3 per minute"
    guesses = ("/i/guess-one", "/sign/guess-two", "/i/guess-three/step/1", "/sign/guess-four")
    assert [client.get(path).status_code for path in guesses] == [404, 404, 404, 429]
    refused = client.get("/i/guess-five")
    assert refused.status_code == 429
    assert b"Too many attempts" in refused.data
    assert b">Your personal link</p>" in refused.data and b"Error 429" not in refused.data
    assert "Retry-After" in refused.headers
    # A link that was really issued still opens from the same address: colleagues behind
    # one office address are not locked out by a guesser among them.
    assert client.get(link).status_code == 200
    assert client.get("/i/guess-six").status_code == 429


def test_a_paused_link_says_how_long_the_pause_lasts(app: Flask, client: FlaskClient) -> None:
    """Past the daily limit the pause lasts the rest of the day, not the minute the page
    used to promise."""
    app.config["LINK_RATE_LIMIT"] = "30 per minute;2 per day"
    assert [client.get(f"/i/guess-{n}").status_code for n in range(3)] == [404, 404, 429]
    page = client.get("/i/guess-3").get_data(as_text=True)
    assert "Try again in 24 hours." in page and "wait a minute" not in page
    app.config["LINK_RATE_LIMIT"] = "1 per minute"
    assert client.get("/sign/guess-4").status_code == 404
    page = client.get("/sign/guess-5").get_data(as_text=True)
    assert "Try again in 1 minute." in page


def test_a_respondent_at_work_never_meets_the_link_limit(
    app: Flask, client: FlaskClient, link: str
) -> None:
    app.config["LINK_RATE_LIMIT"] = "2 per minute"
    for _ in range(3):
        assert client.get(link).status_code == 200
    for number in range(1, len(PAGES) + 1):
        answer_page(client, link, number)
    assert client.get(f"{link}/review").status_code == 200


def test_unknown_step_is_not_found(client: FlaskClient, link: str) -> None:
    for number in (0, 5, 6, 2**40):
        assert client.get(f"{link}/step/{number}").status_code == 404


def test_an_unknown_step_of_a_working_link_leads_back_to_the_questionnaire(
    client: FlaskClient, link: str
) -> None:
    """The link itself works: the page does not blame it, and offers the way back in."""
    response = client.get(f"{link}/step/9")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "This page is not part of the questionnaire" in page
    assert "This link does not open anything" not in page
    assert f'<a class="button" href="{link}">Go to your questionnaire</a>' in page
    assert "Go to the home page" not in page


def test_expired_link_shows_a_clear_page(app: Flask, client: FlaskClient, link: str) -> None:
    with app.app_context():
        invitation = db.session.scalars(select(Invitation)).one()
        invitation.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    for path in (link, f"{link}/step/1", f"{link}/review", f"{link}/result"):
        response = client.get(path)
        assert response.status_code == 410
        assert b"<title>This link has expired \xc2\xb7 Assess</title>" in response.data
        # The link no longer opens the answers: the page does not say that it does.
        assert b"can see and change your answers" not in response.data
    response = post(client, f"{link}/step/1", {"innovation": "3", "planning_complexity": "3"})
    assert response.status_code == 410
    assert respondent(app).answers == {}


def test_result_before_submitting_goes_back_to_the_questionnaire(
    client: FlaskClient, link: str
) -> None:
    assert client.get(f"{link}/result").headers["Location"].endswith(link)


def test_a_questionnaire_page_costs_one_query(app: Flask, client: FlaskClient, link: str) -> None:
    with statements_sent(app) as statements:
        assert client.get(f"{link}/step/1").status_code == 200
    assert len(statements) == 1, statements


def answer_everything(client: FlaskClient, link: str) -> None:
    for number in range(1, len(PAGES) + 1):
        answer_page(client, link, number)


def test_change_on_the_review_page_comes_back_to_the_review(
    app: Flask, client: FlaskClient, link: str
) -> None:
    answer_everything(client, link)
    review = client.get(f"{link}/review").get_data(as_text=True)
    change = f'href="{link}/step/2?return_to=review"'
    assert change in review
    page = client.get(f"{link}/step/2?return_to=review").get_data(as_text=True)
    assert '<input type="hidden" name="return_to" value="review">' in page
    assert "Save and return to review" in page and f'href="{link}/review">Cancel</a>' in page
    assert '"back"' not in page  # the way back is to the review, not through step 1

    changed = {"resource_availability": "1", "risk_tolerance": "5", "return_to": "review"}
    response = post(client, f"{link}/step/2", {**changed, "action": "next"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"{link}/review")
    assert respondent(app).answers == {**ANSWERS, "resource_availability": 1, "risk_tolerance": 5}

    # A mistake keeps the step on its way back to the review.
    refused = post(client, f"{link}/step/3", {"timeline_pressure": "9", "return_to": "review"})
    assert refused.status_code == 422
    assert '<input type="hidden" name="return_to" value="review">' in refused.get_data(as_text=True)
    # So does saving for later, and the link then opens the review again.
    later = {"timeline_pressure": "1", "return_to": "review", "action": "save"}
    saved = post(client, f"{link}/step/3", later)
    assert saved.headers["Location"].endswith(f"{link}/step/3?return_to=review")
    client.delete_cookie("session")
    assert client.get(link).headers["Location"].endswith(f"{link}/review")

    # Without it, Next and Back go on as before.
    assert answer_page(client, link, 2).endswith(f"{link}/step/3")
    back = post(client, f"{link}/step/2", {"action": "back", "return_to": "review"})
    assert back.headers["Location"].endswith(f"{link}/step/1")


def test_change_before_every_question_is_answered_leads_to_the_first_gap(
    app: Flask, client: FlaskClient, link: str
) -> None:
    answer_page(client, link, 1)
    data = {k: str(ANSWERS[k]) for k in PAGES[0].keys}
    response = post(client, f"{link}/step/1", {**data, "return_to": "review"})
    assert response.headers["Location"].endswith(f"{link}/step/2")


def test_a_browser_that_refuses_cookies_is_told_to_allow_them(app: Flask, link: str) -> None:
    browser = app.test_client(use_cookies=False)
    page = browser.get(f"{link}/step/1").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    data = {"csrf_token": token.group(1), **{k: str(ANSWERS[k]) for k in PAGES[0].keys}}
    refused = browser.post(f"{link}/step/1", data=data)
    assert refused.status_code == 303
    # The answer sets a cookie and asks whether it comes back.
    assert "session=" in refused.headers.get("Set-Cookie", "")
    location = refused.headers["Location"]
    assert location.startswith("/cookie-check?back=")
    shown = browser.get(location)
    assert shown.status_code == 400
    text = shown.get_data(as_text=True)
    assert "Your browser is blocking this site&#39;s cookies" in text
    assert "Allow cookies for localhost in your browser&#39;s settings" in text
    assert "Your form has expired" not in text and "browser was closed" not in text
    assert f'href="{link}/step/1">Reload the page</a>' in text
    assert "Go to the home page" not in text
    assert ">Your personal link</p>" in text and "Error 400" not in text
    assert respondent(app).answers == {}


def test_a_page_from_before_the_browser_was_closed_says_so(
    app: Flask, client: FlaskClient, link: str
) -> None:
    answer_everything(client, link)
    page = client.get(f"{link}/review").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    client.delete_cookie("session")  # the browser was closed; the page came back with it
    refused = client.post(f"{link}/review", data={"csrf_token": token.group(1)})
    assert refused.status_code == 303
    shown = client.get(refused.headers["Location"])
    assert shown.status_code == 400
    text = shown.get_data(as_text=True)
    assert "Your form has expired" in text and "before the browser was closed" in text
    assert "cookies" not in text
    assert f'href="{link}/review">Reload the page</a>' in text
    # Reloading the explanation does not change it.
    assert "Your form has expired" in client.get(refused.headers["Location"]).get_data(as_text=True)


def test_only_a_personal_links_own_page_is_offered_to_reload(app: Flask) -> None:
    from assess.views.errors import _page_to_reload

    with app.test_request_context():
        assert _page_to_reload(app, "/i/abc/step/2") == "/i/abc/step/2"
        assert _page_to_reload(app, "/sign/abc/approve") == "/sign/abc"
        for elsewhere in ("/engagements/1", "//evil.example/i/abc", "https://evil.example/", ""):
            assert _page_to_reload(app, elsewhere) is None, elsewhere
    client = app.test_client(use_cookies=False)
    page = client.get("/cookie-check?back=/engagements").get_data(as_text=True)
    assert "Reload the page" not in page


def test_an_archived_questionnaire_says_it_is_closed_and_who_can_open_it(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    path = invite(signed_in, engagement_id)
    post(signed_in, f"/engagements/{engagement_id}/archive")
    closed = signed_in.get(path)
    assert closed.status_code == 403  # refused for now: restoring opens it again
    text = closed.get_data(as_text=True)
    assert "<title>This questionnaire is closed · Assess</title>" in text
    # No new link can be made while it is archived: the page does not send them to ask.
    assert "new link" not in text
    assert "contact the consultant who sent you this link" in text
    assert "this same link works again" in text
    post(signed_in, f"/engagements/{engagement_id}/restore")
    assert signed_in.get(path).status_code == 200


def test_the_welcome_page_counts_the_steps_in_words(client: FlaskClient, link: str) -> None:
    page = client.get(link).get_data(as_text=True)
    assert len(PAGES) == 4
    assert "There are eight questions in four short steps, then a review page." in page


def test_a_review_sent_with_questions_unanswered_lists_them_in_the_order_asked(
    client: FlaskClient, link: str
) -> None:
    response = post(client, f"{link}/review")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    summary = page.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    listed = re.findall(r'href="#([^"]+)"', summary)
    asked = [ident for ident in re.findall(r' id="([^"]+)"', page) if ident in listed]
    assert listed == asked == [f"review-{key}" for step in PAGES for key in step.keys]


# A name pasted from a right-to-left document may end in an unclosed override mark.
TURNED = "\u202eAnn Lee"


def test_a_typed_name_never_turns_a_respondents_page_around(signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in, project_name=TURNED, producer_name=TURNED)
    link = invite(signed_in, engagement_id, respondent_name=TURNED)
    isolated = f"<bdi>{TURNED}</bdi>"
    welcome = signed_in.get(link).get_data(as_text=True)
    assert f"<h1>Welcome, {isolated}</h1>" in welcome
    assert f"producer side</strong> of <strong>{isolated}</strong>." in welcome
    for number in range(1, 5):
        answer_page(signed_in, link, number)
    result = signed_in.get(post(signed_in, f"{link}/review").headers["Location"])
    page = result.get_data(as_text=True)
    assert f"Thank you, {isolated}. Your answers are submitted." in page


WRITES = ("INSERT", "UPDATE", "DELETE")


def test_opening_questionnaire_pages_writes_nothing(
    app: Flask, client: FlaskClient, link: str
) -> None:
    """Opening a page (a prefetch, a crawler following the link, the back button) never
    changes what is stored: only the forms do."""
    answer_everything(client, link)
    # Gone back to the last page: the link now resumes there.
    post(client, f"{link}/step/4", {"action": "back"})
    assert respondent(app).step == 3
    paths = [link, f"{link}/review", f"{link}/result"]
    paths += [f"{link}/step/{number}" for number in range(1, len(PAGES) + 1)]
    for method in (client.get, client.head):
        for path in paths:
            with statements_sent(app) as statements:
                assert method(path).status_code in (200, 302), path
            written = [s for s in statements if s.lstrip().upper().startswith(WRITES)]
            assert written == [], (path, written)
    assert respondent(app).step == 3


def test_a_respondent_with_every_question_answered_resumes_on_the_review(
    app: Flask, client: FlaskClient, link: str
) -> None:
    """The welcome back says to check the answers and submit: the link leads where that is
    done, whichever page they last saved from."""
    answer_everything(client, link)
    post(client, f"{link}/step/4", {"action": "back"})
    client.delete_cookie("session")
    resumed = client.get(link)
    assert resumed.status_code == 302 and resumed.headers["Location"].endswith(f"{link}/review")
    review = client.get(resumed.headers["Location"]).get_data(as_text=True)
    assert "Every question is answered: check your answers, then submit." in review


def test_a_respondent_with_questions_left_resumes_where_they_saved(
    app: Flask, client: FlaskClient, link: str
) -> None:
    answer_page(client, link, 1)
    answer_page(client, link, 2)
    post(client, f"{link}/step/3", {"action": "back"})
    assert client.get(f"{link}/review").headers["Location"].endswith(f"{link}/step/3")
    client.delete_cookie("session")
    assert client.get(link).headers["Location"].endswith(f"{link}/step/2")


def test_answers_changed_in_another_tab_are_shown_before_they_are_submitted(
    app: Flask, client: FlaskClient, link: str
) -> None:
    """Submitting locks what the review showed, never answers the respondent has not seen."""
    answer_everything(client, link)
    review = client.get(f"{link}/review").get_data(as_text=True)
    seen = re.search(r'name="answers_seen" value="([^"]*)"', review)
    assert seen is not None
    # Another tab, or a colleague on the same link, changes an answer meanwhile.
    changed = {"innovation": "1", "planning_complexity": str(ANSWERS["planning_complexity"])}
    post(client, f"{link}/step/1", {**changed, "return_to": "review"})
    refused = post(client, f"{link}/review", {"answers_seen": seen.group(1)})
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert "changed since this page was opened" in page
    assert f"{BY_KEY['innovation'].anchor(1)}" in page  # the answer as it stands now
    assert respondent(app).submitted_at is None
    fresh = re.search(r'name="answers_seen" value="([^"]*)"', page)
    assert fresh is not None and fresh.group(1) != seen.group(1)
    done = post(client, f"{link}/review", {"answers_seen": fresh.group(1)})
    assert done.status_code == 303 and respondent(app).answers["innovation"] == 1


def test_a_reopened_respondent_is_told_why_the_link_opens_again(
    app: Flask, signed_in: FlaskClient
) -> None:
    client = app.test_client()  # the respondent, in a browser of their own
    engagement_id = create_engagement(signed_in)
    link = invite(signed_in, engagement_id)
    answer_everything(client, link)
    post(client, f"{link}/review")
    rid = respondent(app).id
    post(signed_in, f"/engagements/{engagement_id}/respondents/{rid}/reopen")
    review = client.get(link, follow_redirects=True).get_data(as_text=True)
    assert "Review your answers" in review
    assert "Your consultant has reopened your answers" in review
    assert "submit them again" in review


def test_a_submission_the_consultant_closed_first_says_the_changes_were_not_kept(
    app: Flask, signed_in: FlaskClient
) -> None:
    """Reopened, changed, then closed again by the consultant as submitted while the review
    was open: the respondent's Submit must not read as if their change went in."""
    client = app.test_client()  # the respondent, in a browser of their own
    engagement_id = create_engagement(signed_in)
    link = invite(signed_in, engagement_id)
    answer_everything(client, link)
    post(client, f"{link}/review")
    rid = respondent(app).id
    base = f"/engagements/{engagement_id}/respondents/{rid}"
    post(signed_in, f"{base}/reopen")
    changed = {"innovation": "1", "planning_complexity": str(ANSWERS["planning_complexity"])}
    post(client, f"{link}/step/1", {**changed, "return_to": "review"})
    review = client.get(f"{link}/review").get_data(as_text=True)
    seen = re.search(r'name="answers_seen" value="([^"]*)"', review)
    assert seen is not None
    close = signed_in.get(f"{base}/close").get_data(as_text=True)
    shown = re.search(r'name="answers_seen" value="([^"]*)"', close)
    assert shown is not None
    post(signed_in, f"{base}/close", {"answers_seen": shown.group(1)})
    assert respondent(app).answers == ANSWERS  # closed again as submitted
    sent = post(client, f"{link}/review", {"answers_seen": seen.group(1)})
    assert sent.status_code == 303 and sent.headers["Location"].endswith(f"{link}/result")
    result = client.get(f"{link}/result").get_data(as_text=True)
    assert "What you just sent was not saved: your answers were already submitted." in result
    # A second click on a Submit that went in shows what is locked: it is not told so.
    again = post(client, f"{link}/review", {"answers_seen": answers_seen(ANSWERS)})
    assert 'class="flash' not in client.get(again.headers["Location"]).get_data(as_text=True)


def later(monkeypatch: pytest.MonkeyPatch, hours: float) -> None:
    """Move the clock that signs and checks the session cookie on by some hours."""
    from itsdangerous.timed import TimestampSigner

    now = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now(self) + hours * 3600)


def step_form(page: str) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    return token.group(1)


def checked(page: str, key: str) -> list[str]:
    return re.findall(rf'name="{key}" value="(\d)" checked', page)


UNSENT = "it was open too long to be sent, for your security"


def test_a_page_left_open_overnight_comes_back_filled_in_to_send_again(
    app: Flask, client: FlaskClient, link: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer_page(client, link, 1)
    token = step_form(client.get(f"{link}/step/2").get_data(as_text=True))
    later(monkeypatch, 15)  # the session the page was opened in has ended
    chosen = {"resource_availability": "2", "risk_tolerance": "5"}
    refused = client.post(f"{link}/step/2", data={"csrf_token": token, **chosen})
    assert refused.status_code == 303
    assert refused.headers["Location"] == f"{link}/step/2"
    shown = client.get(refused.headers["Location"])
    assert shown.status_code == 200
    page = shown.get_data(as_text=True)
    assert UNSENT in page and "was not saved" in page and "send the page again" in page
    assert "The answers you saved before are kept." in page
    assert checked(page, "resource_availability") == ["2"] and checked(page, "risk_tolerance") == [
        "5"
    ]
    # Nothing of the page was stored; the page saved before is as it was.
    assert respondent(app).answers == {k: ANSWERS[k] for k in PAGES[0].keys}
    # Said once: the page opened again shows what is stored.
    again = client.get(f"{link}/step/2").get_data(as_text=True)
    assert UNSENT not in again and checked(again, "risk_tolerance") == []
    # Sent again from the page filled in, the answers are saved.
    sent = client.post(f"{link}/step/2", data={"csrf_token": step_form(page), **chosen})
    assert sent.status_code == 303
    assert respondent(app).answers["risk_tolerance"] == 5


def test_a_page_from_before_the_browser_was_closed_comes_back_filled_in(
    app: Flask, client: FlaskClient, link: str
) -> None:
    answer_page(client, link, 1)
    answer_page(client, link, 2)
    token = step_form(client.get(f"{link}/step/1?return_to=review").get_data(as_text=True))
    client.delete_cookie("session")  # the browser was closed; the page came back with it
    chosen = {"innovation": "1", "planning_complexity": "2", "return_to": "review"}
    refused = client.post(f"{link}/step/1", data={"csrf_token": token, **chosen, "x": "y"})
    assert refused.status_code == 303 and refused.headers["Location"].startswith("/cookie-check")
    checked_cookie = client.get(refused.headers["Location"])
    assert checked_cookie.status_code == 303
    # Back to the same step, still on its way back to the review.
    assert checked_cookie.headers["Location"] == f"{link}/step/1?return_to=review"
    page = client.get(checked_cookie.headers["Location"]).get_data(as_text=True)
    assert "opened before your browser was closed" in page and "was not saved" in page
    assert checked(page, "innovation") == ["1"] and checked(page, "planning_complexity") == ["2"]
    assert 'name="return_to" value="review"' in page
    assert respondent(app).answers["innovation"] == ANSWERS["innovation"]


def test_answers_that_are_no_answers_are_not_filled_in_again(
    client: FlaskClient, link: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = step_form(client.get(f"{link}/step/1").get_data(as_text=True))
    later(monkeypatch, 15)
    sent = {"innovation": "9", "planning_complexity": "3", "risk_tolerance": "4"}
    refused = client.post(f"{link}/step/1", data={"csrf_token": token, **sent})
    page = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert UNSENT in page
    assert checked(page, "innovation") == [] and checked(page, "planning_complexity") == ["3"]
    # Only the page it was sent from is filled in: another step shows what is stored.
    refused = client.post(f"{link}/step/1", data={"csrf_token": token, **sent})
    other = client.get(f"{link}/step/2").get_data(as_text=True)
    assert UNSENT not in other and checked(other, "risk_tolerance") == []


def test_a_refused_submission_says_the_answers_are_kept_and_leads_back(
    client: FlaskClient, link: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer_everything(client, link)
    token = step_form(client.get(f"{link}/review").get_data(as_text=True))
    later(monkeypatch, 15)
    refused = client.post(f"{link}/review", data={"csrf_token": token})
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert "Your form has expired" in text and "open for more than 12 hours" in text
    assert "browser was closed" not in text and "cookies" not in text
    assert "The answers you saved before are kept." in text
    assert f'href="{link}/review">Reload the page</a>' in text


def test_a_page_opened_through_the_day_can_still_be_sent(
    app: Flask, client: FlaskClient, link: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twelve hours count from the last page opened, not from the first."""
    client.get(f"{link}/step/1")
    later(monkeypatch, 11)
    token = step_form(client.get(f"{link}/step/1").get_data(as_text=True))
    later(monkeypatch, 2)
    data = {k: str(ANSWERS[k]) for k in PAGES[0].keys}
    response = client.post(f"{link}/step/1", data={"csrf_token": token, **data})
    assert response.status_code == 303
    assert respondent(app).answers == {k: ANSWERS[k] for k in PAGES[0].keys}
