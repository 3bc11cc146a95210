"""Forms far down a page, refused without JavaScript: the page opens at what went wrong."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browsertools import PHONE, assert_accessible, settled, sign_in
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect
from signofftools import seal_key_files, shared_seal_key  # noqa: F401  (fixtures)
from webtools import consensus_of_two, post, signed_in_consultant

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("shared_seal_key")]


@pytest.fixture
def no_js_phone(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    yield context
    context.close()


def summary_in_view(page: Page) -> None:
    """Fail unless the error summary is on screen as the page opens, with no script to help."""
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    settled(page)  # the page opens at the summary once it is laid out
    assert page.evaluate("window.scrollY") > 0  # the page did not just open at its top
    top, bottom = page.evaluate(
        """() => { const box = document.querySelector('.error-summary').getBoundingClientRect();
                   return [box.top, box.bottom]; }"""
    )
    assert 0 <= top and bottom <= PHONE["height"], (top, bottom)


def test_a_refused_agreed_value_or_signatory_opens_at_the_error_summary(
    app: Flask, live_server: str, no_js_phone: BrowserContext, browser: Browser
) -> None:
    client = signed_in_consultant(app)
    consensus_path = consensus_of_two(app, client)
    engagement_id, decision_id = consensus_path.strip("/").split("/")[1::2]
    version_path = post(
        client, f"/engagements/{engagement_id}/charter/freeze/{decision_id}"
    ).headers["Location"]

    page = sign_in(no_js_phone, live_server)
    page.goto(live_server + consensus_path)
    page.fill("#agree-note", "Two-week sprints for the online episodes only.")
    page.get_by_role("button", name="Record the agreed value").click()
    summary_in_view(page)
    expect(page.get_by_role("link", name="Agreed level: Choose the level")).to_be_visible()
    expect(page.locator("#agree-note")).to_have_value(
        "Two-week sprints for the online episodes only."
    )

    page.goto(live_server + version_path)
    page.fill("#field-name", "Ann Lee")
    page.fill("#field-email", "ann at northlight")
    page.get_by_role("button", name="Add signatory").click()
    summary_in_view(page)
    expect(page.locator("#field-email")).to_have_value("ann at northlight")

    page.fill("#field-email", "ann@northlight.example")
    page.get_by_role("button", name="Add signatory").click()
    expect(page.locator("#signatories .table-scroll")).to_be_visible()  # the page after it
    settled(page)  # measured as styled
    # The form to add the next one stands apart from the list, not glued to its last row.
    gap = page.evaluate(
        """() => { const box = s => document.querySelector(s).getBoundingClientRect();
                   return box('#signatories form h3').top
                          - box('#signatories .table-scroll').bottom; }"""
    )
    assert gap >= 16, gap
    page.fill("#field-expires_on", "2020-01-01")
    page.get_by_role("button", name="Create the links").click()
    summary_in_view(page)
    expect(page.get_by_role("link", name="Links expire on: Choose an expiry date")).to_be_visible()

    # The same pages with scripts on still pass the accessibility check.
    context = browser.new_context(viewport=PHONE)
    checked = sign_in(context, live_server)
    checked.goto(live_server + consensus_path)
    checked.get_by_role("button", name="Record the agreed value").click()
    expect(checked.locator(".error-summary")).to_be_focused()
    assert_accessible(checked)
    context.close()
