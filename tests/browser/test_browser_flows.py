"""Real browser runs: a client's self-assessment, a keyboard-only session, accessibility."""

from __future__ import annotations

from pathlib import Path

import pytest
from apitools import make_token
from browsertools import PHONE, assert_accessible, script_ready, shoot
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect
from webtools import (
    ANSWERS,
    create_engagement,
    invite,
    login,
    make_consultant,
    post,
    signed_in_consultant,
)

from assess.factors import BY_KEY as FACTORS_BY_KEY
from assess.questionnaire import PAGES

pytestmark = pytest.mark.browser


def choose(page: Page, key: str, level: int) -> None:
    page.locator(f"label[for='{key}-{level}']").click()


def seeded_link(app: Flask) -> tuple[str, int]:
    """Create a consultant, an engagement and an invitation; return the link path and id."""
    client = signed_in_consultant(app)
    engagement_id = create_engagement(client)
    return invite(client, engagement_id), engagement_id


def test_client_answers_leaves_resumes_and_sees_the_result_without_javascript(
    app: Flask,
    live_server: str,
    no_js_laptop: BrowserContext,
    browser: Browser,
    artifacts: Path,
) -> None:
    link, _ = seeded_link(app)
    page = no_js_laptop.new_page()
    page.goto(live_server + link)
    expect(page.get_by_role("heading", name="Welcome, Ann Lee")).to_be_visible()
    shoot(page, artifacts, "survey-welcome-laptop")
    page.get_by_role("link", name="Start the questionnaire").click()

    for number in (1, 2):
        expect(page.get_by_text(f"Step {number} of 5").first).to_be_visible()
        if number == 1:
            # Skipping a question is caught with a message at the question.
            choose(page, "innovation", ANSWERS["innovation"])
            page.get_by_role("button", name="Next").click()
            expect(page.get_by_text("There is a problem")).to_be_visible()
            shoot(page, artifacts, "survey-step-error-laptop")
        for key in PAGES[number - 1].keys:
            choose(page, key, ANSWERS[key])
        if number == 1:
            shoot(page, artifacts, "survey-step-laptop")
        page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Step 3 of 5").first).to_be_visible()
    page.close()

    # Later, in another browser session, the same link returns to step 3.
    phone = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = phone.new_page()
    page.goto(live_server + link)
    expect(page.get_by_text("Step 3 of 5").first).to_be_visible()
    shoot(page, artifacts, "survey-step-phone")
    for number in (3, 4):
        for key in PAGES[number - 1].keys:
            choose(page, key, ANSWERS[key])
        page.get_by_role("button", name="Continue to review" if number == 4 else "Next").click()
    expect(page.get_by_role("heading", name="Review your answers")).to_be_visible()
    shoot(page, artifacts, "survey-review-phone")
    page.get_by_role("button", name="Submit my answers").click()
    expect(page.get_by_text("Your answers are submitted")).to_be_visible()
    expect(page.get_by_text("Recommended partnership model")).to_be_visible()
    shoot(page, artifacts, "survey-result-phone")
    phone.close()


def tab_to(page: Page, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching selector has focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"could not reach {selector} with the keyboard")


def test_consultant_runs_a_session_with_the_keyboard_only(
    app: Flask, live_server: str, laptop: BrowserContext, artifacts: Path
) -> None:
    client = signed_in_consultant(app)
    engagement_id = create_engagement(client)
    second = create_engagement(client, project_name="Harbour Lights", producer_name="Ida Berg")
    post(client, f"/engagements/{second}/archive")

    page = laptop.new_page()
    # Content-Security-Policy violations and script errors show up as console errors.
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live_server + "/login")
    shoot(page, artifacts, "login-laptop")
    tab_to(page, "#field-email")
    page.keyboard.type("cara@example.com")
    tab_to(page, "#field-password")
    page.keyboard.type("correct horse battery")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Engagements")).to_be_visible()
    shoot(page, artifacts, "engagements-laptop")

    tab_to(page, f"a[href='/engagements/{engagement_id}']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/engagements/{engagement_id}")
    tab_to(page, f"a[href='/engagements/{engagement_id}/session']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/session")
    expect(page.get_by_role("heading", name="Intake session")).to_be_visible()
    shoot(page, artifacts, "session-laptop")

    for page_ in PAGES:
        for key in page_.keys:
            tab_to(page, f"input[name='{key}']")
            level = ANSWERS[key]
            if level == 1:
                page.keyboard.press("Space")
            for _ in range(level - 1):
                page.keyboard.press("ArrowDown")
            assert page.locator(f"#{key}-{level}").is_checked()
    # Focus is visible on the radio's label.
    outline = page.evaluate(
        "() => getComputedStyle(document.activeElement.nextElementSibling).outlineStyle"
    )
    assert outline == "solid"
    tab_to(page, "button[value='decide']")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Recommended partnership model")).to_be_visible()
    script_ready(page)  # an adjusted answer is previewed by the script
    shoot(page, artifacts, "result-laptop")
    title = page.locator("#recommendation-title").inner_text()

    # Adjusting an answer shows the new recommendation at once, without storing it.
    status = page.locator("#adjust-form #adjust-status[role=status]").element_handle()
    assert status.text_content() == ""
    tab_to(page, "input[name='iteration_readiness']:checked")
    for _ in range(ANSWERS["iteration_readiness"] - 1):
        page.keyboard.press("ArrowLeft")
    expect(page.locator("#adjust-iteration_readiness-1")).to_be_checked()
    anchor = FACTORS_BY_KEY["iteration_readiness"].anchor(1)
    meaning = page.locator("#adjust-iteration_readiness .level-meaning-1")
    expect(meaning).to_be_visible()
    expect(meaning).to_have_text(anchor)
    expect(page.locator("#preview-notice")).to_be_visible()
    expect(page.locator("#preview-notice")).to_contain_text("Preview, not stored.")
    # The status next to the answers is the element that was there before, refilled, so
    # screen readers announce it.
    assert "Preview: the recommendation" in (status.text_content() or "")
    shoot(page, artifacts, "result-preview-laptop")
    tab_to(page, "#preview-notice button")
    page.keyboard.press("Enter")
    expect(page.get_by_text("The adjusted decision is stored.")).to_be_visible()
    assert errors == []
    stored = page.locator("#recommendation-title").inner_text()
    expect(page.get_by_text("Decision #2")).to_be_visible()
    assert stored == page.locator("#recommendation-title").inner_text()
    assert title


def test_the_api_docs_page_sends_calls_with_path_and_query_parameters(
    app: Flask, live_server: str, laptop: BrowserContext
) -> None:
    consultant_id = make_consultant(app)
    client = app.test_client()
    login(client)
    engagement_id = create_engagement(client, project_name="Harbour Lights")
    create_engagement(client, project_name="Salt Roads")
    secret = make_token(app, consultant_id)

    page = laptop.new_page()
    page.goto(live_server + "/api/v1/docs")
    assert_accessible(page)
    page.fill("#api-token", secret)
    # A path parameter fills the path.
    one = page.locator("#get--api-v1-engagements-engagement_id")
    one.locator("summary").click()
    one.get_by_label("engagement_id").fill(str(engagement_id))
    one.get_by_role("button", name="Send").click()
    expect(one.locator(".api-answer")).to_contain_text("200 OK")
    expect(one.locator(".api-answer")).to_contain_text('"project_name": "Harbour Lights"')
    # A query parameter is optional and sent only when filled in.
    listing = page.locator("#get--api-v1-engagements")
    listing.locator("summary").click()
    listing.get_by_label("q", exact=False).first.fill("salt")
    listing.get_by_role("button", name="Send").click()
    expect(listing.locator(".api-answer")).to_contain_text("200 OK")
    expect(listing.locator(".api-answer")).to_contain_text("Salt Roads")
    expect(listing.locator(".api-answer")).not_to_contain_text("Harbour Lights")


# What a screen reader announces by itself as it changes: live regions, and the elements whose
# role makes them one.
LIVE = "[aria-live]:not([aria-live=off]), [role=status], [role=alert], [role=log], output"


def test_the_api_docs_page_announces_an_answers_status_not_its_whole_body(
    live_server: str, laptop: BrowserContext
) -> None:
    """A decision document is thousands of characters: read out whole on each Send, it would
    drown the page. The status is announced; the body waits below, to be read at will."""
    page = laptop.new_page()
    page.goto(live_server + "/api/v1/docs")
    evaluate = page.locator("#post--api-v1-evaluate")
    evaluate.locator("summary").click()
    evaluate.get_by_role("button", name="Send").click()
    expect(evaluate.locator(".api-answer")).to_contain_text('"escalation"')
    announced = evaluate.locator(LIVE)
    expect(announced).to_have_count(1)
    expect(announced).to_have_text("200 OK")
    assert_accessible(page)


def test_the_api_docs_page_shows_the_headers_a_client_acts_on(
    app: Flask, live_server: str, laptop: BrowserContext
) -> None:
    """Where a created object lives (Location), how many pages there are (X-Pagination): the
    docs page shows them with the body; an answer without a body says so."""
    consultant_id = make_consultant(app)
    secret = make_token(app, consultant_id)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    created = client.post(
        "/api/v1/engagements",
        json={
            "project_name": "Harbour Lights",
            "client_organisation": "Northlight Films",
            "producer_name": "Ann Lee",
            "creator_name": "Bo Chen",
        },
    )
    engagement_id = created.json["id"]
    invited = client.post(
        f"/api/v1/engagements/{engagement_id}/respondents",
        json={"name": "Ann Lee", "side": "producer"},
    )
    respondent_id = invited.json["respondent"]["id"]

    page = laptop.new_page()
    page.goto(live_server + "/api/v1/docs")
    page.fill("#api-token", secret)
    create = page.locator("#post--api-v1-engagements")
    create.locator("summary").click()
    create.get_by_role("button", name="Send").click()
    expect(create.locator(".api-answer")).to_contain_text("201")
    expect(create.locator(".api-answer")).to_contain_text("Location: /api/v1/engagements/")
    listing = page.locator("#get--api-v1-engagements")
    listing.locator("summary").click()
    listing.get_by_role("button", name="Send").click()
    expect(listing.locator(".api-answer")).to_contain_text('X-Pagination: {"total": 2')
    remove = page.locator("#delete--api-v1-engagements-engagement_id-respondents-respondent_id")
    remove.locator("summary").click()
    remove.get_by_label("engagement_id").fill(str(engagement_id))
    remove.get_by_label("respondent_id").fill(str(respondent_id))
    remove.get_by_role("button", name="Send").click()
    expect(remove.locator(".api-answer")).to_contain_text("204")
    expect(remove.locator(".api-answer")).to_contain_text("(no body)")
    expect(remove.locator(".api-answer")).not_to_contain_text("bytes")
