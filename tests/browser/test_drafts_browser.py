"""What a consultant typed survives a sign-in that ended before the form was sent."""

from __future__ import annotations

import pytest
from browsertools import script_ready, sign_in
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect
from webtools import PASSWORD, consensus_of_two, make_consultant, signed_in_consultant

pytestmark = pytest.mark.browser

SUMMARY = "Twelve short films shot in Lisbon over three weeks, edited remotely."


def charter_page(app: Flask) -> str:
    return consensus_of_two(app, signed_in_consultant(app)) + "/charter"


def sign_in_again(page: Page) -> None:
    script_ready(page)  # the script leads the sign-in back to the page of the draft
    page.fill("#field-email", "cara@example.com")
    page.fill("#field-password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def drafts_kept(page: Page) -> int:
    return int(
        page.evaluate(
            "Object.keys(sessionStorage).filter(k => k.startsWith('assess-draft:')).length"
        )
    )


def test_typing_survives_signing_out_on_another_device(
    app: Flask, live_server: str, laptop: BrowserContext, browser: Browser
) -> None:
    path = charter_page(app)
    page = sign_in(laptop, live_server)
    page.goto(live_server + path)
    page.fill("#field-project_summary", SUMMARY)

    elsewhere = browser.new_context()
    other = sign_in(elsewhere, live_server)
    other.get_by_role("button", name="Sign out").click()
    expect(other.get_by_role("heading", name="Sign in")).to_be_visible()
    other.wait_for_load_state("load")
    elsewhere.close()

    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("what you sent was not saved")).to_be_visible()
    sign_in_again(page)

    assert page.url == live_server + path
    expect(page.locator("#draft-restored")).to_contain_text("not saved yet")
    expect(page.locator("#field-project_summary")).to_have_value(SUMMARY)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("The charter's fields are saved.")).to_be_visible()

    # Put back once: the saved form opens as stored, with no notice.
    page.reload()
    expect(page.locator("#field-project_summary")).to_have_value(SUMMARY)
    expect(page.locator("#draft-restored")).to_have_count(0)
    assert drafts_kept(page) == 0


def sign_out_in_another_tab(context: BrowserContext, url: str) -> None:
    tab = context.new_page()
    tab.goto(url)
    tab.get_by_role("button", name="Sign out").click()
    # Closed only once the sign-in page has loaded: a download cut short leaves the test
    # server holding an open file.
    expect(tab.get_by_role("heading", name="Sign in")).to_be_visible()
    tab.wait_for_load_state("load")
    tab.close()


def test_typing_survives_signing_out_in_another_tab_and_signing_out_here_forgets_it(
    app: Flask, live_server: str, laptop: BrowserContext
) -> None:
    path = charter_page(app)
    page = sign_in(laptop, live_server)
    page.goto(live_server + path)
    sign_out_in_another_tab(laptop, live_server + path)

    page.fill("#field-project_summary", SUMMARY)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", name="Your form has expired")).to_be_visible()
    expect(page.get_by_text("What you typed is kept in this browser tab")).to_be_visible()

    # The sign-in page leads back to where the form was typed, which puts it back once.
    page.goto(live_server + "/login")
    sign_in_again(page)
    assert page.url == live_server + path
    expect(page.locator("#field-project_summary")).to_have_value(SUMMARY)
    expect(page.locator("#draft-restored")).to_be_visible()
    assert drafts_kept(page) == 0

    # Turned away again, signed in to another page, then signed out in this tab: the copy
    # goes with the sign-in.
    sign_out_in_another_tab(laptop, live_server + path)
    page.get_by_role("button", name="Save", exact=True).click()
    page.goto(live_server + "/login?next=/engagements")
    sign_in_again(page)
    expect(page.get_by_role("heading", name="Engagements", exact=True)).to_be_visible()
    assert drafts_kept(page) == 1
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert drafts_kept(page) == 0
    sign_in_again(page)
    page.goto(live_server + path)
    expect(page.locator("#field-project_summary")).to_have_value("")
    expect(page.locator("#draft-restored")).to_have_count(0)


def test_a_draft_is_put_back_only_for_the_consultant_who_typed_it(
    app: Flask, live_server: str, laptop: BrowserContext
) -> None:
    """A shared computer: whoever signs in next in the tab must not see what the
    consultant before them typed for their own client."""
    signed_in_consultant(app)
    make_consultant(app, email="dan@example.com", name="Dan Ito")
    page = sign_in(laptop, live_server)
    page.goto(live_server + "/engagements/new")
    sign_out_in_another_tab(laptop, live_server + "/engagements")
    page.fill("#field-project_name", "Harbour Lights")
    page.fill("#field-client_organisation", "Quayside Pictures")
    page.get_by_role("button", name="Create engagement").click()
    expect(page.get_by_role("heading", name="Your form has expired")).to_be_visible()

    page.goto(live_server + "/login")
    script_ready(page)
    page.fill("#field-email", "dan@example.com")
    page.fill("#field-password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    script_ready(page)
    assert page.url == live_server + "/engagements/new"  # where the sign-in led back to
    expect(page.locator("#field-project_name")).to_have_value("")
    expect(page.locator("#field-client_organisation")).to_have_value("")
    expect(page.locator("#draft-restored")).to_have_count(0)
    assert drafts_kept(page) == 0


def test_adjusting_a_result_after_the_sign_in_ended_leads_to_signing_in_and_back(
    app: Flask, live_server: str, laptop: BrowserContext
) -> None:
    """The preview of an adjusted answer is fetched by the script: once the sign-in has
    ended, the page must not lose its result to the sign-in page it is answered with."""
    path = consensus_of_two(app, signed_in_consultant(app))
    page = sign_in(laptop, live_server)
    page.goto(live_server + path)
    script_ready(page)
    expect(page.locator("#result-main")).to_be_visible()
    sign_out_in_another_tab(laptop, live_server + path)

    page.locator("label[for='adjust-iteration_readiness-1']").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    sign_in_again(page)
    # Back on the result, with the adjustment previewed.
    expect(page.locator("#result-main")).to_be_visible()
    assert page.url.startswith(live_server + path + "?")
    expect(page.locator("#adjust-iteration_readiness-1")).to_be_checked()
    expect(page.locator("#preview-notice")).to_contain_text("Preview, not stored.")
