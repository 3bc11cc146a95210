"""A consultant's respondents in a real browser: inviting the right person for each side,
removing one who will not answer, and a respondent changing an answer from the review."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browsertools import PHONE, assert_accessible, assert_fits, script_ready, shoot, sign_in
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect
from webtools import (
    ANSWERS,
    PASSWORD,
    create_engagement,
    invite,
    post,
    signed_in_consultant,
    submitted_pair,
)

from assess.questionnaire import PAGES

pytestmark = pytest.mark.browser


def name_field(page: Page) -> str:
    return page.locator("#field-respondent_name").input_value()


def test_the_invited_name_follows_the_side_until_the_consultant_types_one(
    app: Flask, live_server: str, laptop: BrowserContext, artifacts: Path
) -> None:
    engagement_id = create_engagement(signed_in_consultant(app))
    page = sign_in(laptop, live_server)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server}/engagements/{engagement_id}/invitations/new")
    assert name_field(page) == ""
    page.locator("label[for='side-creator']").click()
    assert name_field(page) == "Bo Chen"
    page.locator("label[for='side-producer']").click()
    assert name_field(page) == "Ann Lee"
    assert_accessible(page)
    shoot(page, artifacts, "invite-laptop")
    # A name the consultant typed is theirs: choosing a side leaves it.
    page.fill("#field-respondent_name", "Cy Diaz")
    page.locator("label[for='side-creator']").click()
    assert name_field(page) == "Cy Diaz"
    page.fill("#field-respondent_name", "")
    page.locator("label[for='side-producer']").click()
    assert name_field(page) == "Ann Lee"
    page.locator("label[for='side-creator']").click()
    page.get_by_role("button", name="Create link").click()
    expect(page.get_by_role("heading", name="Link for Bo Chen")).to_be_visible()
    expect(page.locator("#new-link")).to_contain_text("It does not expire")
    shoot(page, artifacts, "invite-new-link-laptop")
    assert not errors, errors


def test_without_javascript_a_name_left_for_the_other_side_is_caught(
    app: Flask, live_server: str, no_js_laptop: BrowserContext, artifacts: Path
) -> None:
    engagement_id = create_engagement(signed_in_consultant(app))
    page = sign_in(no_js_laptop, live_server)
    page.goto(f"{live_server}/engagements/{engagement_id}/invitations/new?side=producer")
    assert name_field(page) == "Ann Lee"
    page.locator("label[for='side-creator']").click()
    assert name_field(page) == "Ann Lee"  # nothing follows the side without JavaScript
    page.get_by_role("button", name="Create link").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    expect(page.locator("#error-respondent_name")).to_contain_text(
        "Ann Lee is the producer side's party"
    )
    shoot(page, artifacts, "invite-other-party-error-laptop")
    page.fill("#field-respondent_name", "Bo Chen")
    page.get_by_role("button", name="Create link").click()
    expect(page.get_by_role("heading", name="Link for Bo Chen")).to_be_visible()
    expect(page.get_by_role("button", name="Copy link")).to_be_hidden()  # needs the script


def test_a_respondent_who_will_not_answer_is_removed_without_javascript(
    app: Flask,
    live_server: str,
    no_js_laptop: BrowserContext,
    browser: Browser,
    artifacts: Path,
) -> None:
    client = signed_in_consultant(app)
    engagement_id = create_engagement(client)
    submitted_pair(app, engagement_id)
    invite(client, engagement_id, respondent_name="Cy Diaz", side="creator")
    page = sign_in(no_js_laptop, live_server)
    page.goto(f"{live_server}/engagements/{engagement_id}")
    page.get_by_role("link", name="Remove Cy Diaz").click()
    expect(page.get_by_role("heading", name="Remove Cy Diaz?")).to_be_visible()
    assert_fits(page)
    shoot(page, artifacts, "remove-respondent-laptop")
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("cell", name="Creator side").first).to_be_visible()
    page.get_by_role("link", name="Remove Cy Diaz").click()
    page.get_by_role("button", name="Remove Cy Diaz").click()
    expect(page.get_by_text("Cy Diaz is removed, with their saved answers")).to_be_visible()
    expect(page.get_by_role("link", name="Remove Cy Diaz")).to_have_count(0)

    # Bo Chen submitted: his answers stay.
    expect(page.get_by_role("link", name="Remove Bo Chen")).to_have_count(0)

    invite(client, engagement_id, respondent_name="Di Eng", side="producer")
    phone = browser.new_context(viewport=PHONE)
    try:
        page = sign_in(phone, live_server)
        page.goto(f"{live_server}/engagements/{engagement_id}")
        page.get_by_role("link", name="Remove Di Eng").click()
        expect(page.get_by_role("heading", name="Remove Di Eng?")).to_be_visible()
        assert_fits(page)
        assert_accessible(page)
        shoot(page, artifacts, "remove-respondent-phone")
    finally:
        phone.close()


def choose(page: Page, key: str, level: int) -> None:
    page.locator(f"label[for='{key}-{level}']").click()


def test_change_from_the_review_returns_there_without_javascript(
    app: Flask,
    live_server: str,
    no_js_laptop: BrowserContext,
    browser: Browser,
    artifacts: Path,
) -> None:
    client = signed_in_consultant(app)
    link = invite(client, create_engagement(client))
    page = no_js_laptop.new_page()
    page.goto(live_server + link)
    page.get_by_role("link", name="Start the questionnaire").click()
    for number, step in enumerate(PAGES, start=1):
        for key in step.keys:
            choose(page, key, ANSWERS[key])
        page.get_by_role("button", name="Continue to review" if number == 4 else "Next").click()
    expect(page.get_by_role("heading", name="Review your answers")).to_be_visible()
    page.get_by_role("link", name="Change answers about resources and risk").click()
    expect(page.get_by_role("heading", name="Resources and risk")).to_be_visible()
    expect(page.get_by_role("button", name="Back", exact=True)).to_have_count(0)
    shoot(page, artifacts, "survey-change-step-laptop")
    choose(page, "risk_tolerance", 5)
    page.get_by_role("button", name="Save and return to review").click()
    expect(page.get_by_role("heading", name="Review your answers")).to_be_visible()
    expect(page.locator("#review-risk_tolerance + dd .level-pill")).to_have_text("5")

    # axe-core needs JavaScript: the phone has it, and the page works the same.
    phone = browser.new_context(viewport=PHONE)
    try:
        page = phone.new_page()
        page.goto(live_server + link)
        expect(page.get_by_role("heading", name="Review your answers")).to_be_visible()
        page.get_by_role("link", name="Change answers about time").click()
        expect(page.get_by_role("button", name="Save and return to review")).to_be_visible()
        assert_fits(page)
        assert_accessible(page)
        shoot(page, artifacts, "survey-change-step-phone")
        page.get_by_role("link", name="Cancel").click()
        expect(page.get_by_role("heading", name="Review your answers")).to_be_visible()
    finally:
        phone.close()


@pytest.mark.parametrize("viewport", ["laptop", "phone"])
def test_the_pages_a_respondent_may_meet_when_a_form_cannot_be_sent_read_well(
    app: Flask, live_server: str, browser: Browser, artifacts: Path, viewport: str
) -> None:
    client = signed_in_consultant(app)
    engagement_id = create_engagement(client)
    link = invite(client, engagement_id)
    size = PHONE if viewport == "phone" else {"width": 1366, "height": 860}
    context = browser.new_context(viewport=size)
    try:
        page = context.new_page()
        # A browser that refuses cookies arrives here with none.
        page.goto(f"{live_server}/cookie-check?back={link}/step/1")
        expect(page.get_by_role("heading", name="Your browser is blocking")).to_be_visible()
        expect(page.get_by_role("link", name="Reload the page")).to_have_attribute(
            "href", f"{link}/step/1"
        )
        assert_fits(page)
        assert_accessible(page)
        shoot(page, artifacts, f"cookies-blocked-{viewport}")
        post(client, f"/engagements/{engagement_id}/archive")
        page.goto(live_server + link)
        expect(page.get_by_role("heading", name="This questionnaire is closed")).to_be_visible()
        assert_fits(page)
        assert_accessible(page)
        shoot(page, artifacts, f"survey-closed-{viewport}")
    finally:
        context.close()


def test_copying_a_link_is_confirmed_and_a_failed_copy_says_what_to_do(
    app: Flask, live_server: str, browser: Browser, artifacts: Path
) -> None:
    engagement_id = create_engagement(signed_in_consultant(app))
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = sign_in(context, live_server)
    page.goto(f"{live_server}/engagements/{engagement_id}/invitations/new?side=producer")
    page.get_by_role("button", name="Create link").click()
    script_ready(page)
    link = page.locator("#invitation-link").input_value()
    said = page.locator("#new-link [role='status']")
    page.get_by_role("button", name="Copy link").click()
    # Heard by a screen reader too, not only seen on the button.
    expect(said).to_have_text("Link copied.")
    assert page.evaluate("navigator.clipboard.readText()") == link
    # A browser may refuse the clipboard: the link is then selected, and the page says so.
    page.evaluate(
        "() => { navigator.clipboard.writeText = () => Promise.reject(new Error('refused')); }"
    )
    page.get_by_role("button", name=re.compile("^Cop")).click()
    expect(said).to_be_visible()
    expect(page.get_by_role("button", name="Copy link")).to_be_visible()
    expect(said).to_contain_text("could not be copied")
    assert page.evaluate("document.getSelection().toString()") == link
    assert_fits(page)
    shoot(page, artifacts, "copy-link-refused")
    context.close()


def test_copying_a_token_says_a_token_was_copied(
    app: Flask, live_server: str, browser: Browser
) -> None:
    signed_in_consultant(app)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = sign_in(context, live_server)
    page.goto(f"{live_server}/account/api-tokens")
    page.fill("#field-name", "CRM sync")
    page.fill("#field-password", PASSWORD)
    page.get_by_role("button", name="Create token").click()
    script_ready(page)
    said = page.locator("#new-token [role='status']")
    page.get_by_role("button", name="Copy token").click()
    # What was copied is a token, not a link.
    expect(said).to_have_text("Token copied.")
    page.evaluate(
        "() => { navigator.clipboard.writeText = () => Promise.reject(new Error('refused')); }"
    )
    page.get_by_role("button", name=re.compile("^Cop")).click()
    expect(said).to_contain_text("The token could not be copied here.")
    context.close()
