"""Sign-off in a real browser: freeze, two approvals in order, download, verify; decline, expiry."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from browsertools import PHONE, assert_accessible, assert_fits, script_ready, shoot, sign_in
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect
from signofftools import (  # noqa: F401  (fixtures)
    engagement_with_decision,
    freeze,
    seal_key_files,
    send,
    shared_seal_key,
)
from webtools import signed_in_consultant

from assess.extensions import db
from assess.models import Signatory, utcnow

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("shared_seal_key")]

PEOPLE = (
    ("Ann Lee", "ann@northlight.example", "Executive producer"),
    ("Bo Chen", "bo@tidewater.example", "Creative director"),
)


def scrolling_tables(page: Page) -> list[str]:
    """Name the table regions whose content is wider than the region: they scroll sideways."""
    found: list[str] = page.evaluate(
        """() => [...document.querySelectorAll('.table-scroll')]
            .filter(region => region.scrollWidth > region.clientWidth + 1)
            .map(region => region.getAttribute('aria-label'))"""
    )
    return found


def consultant_page(app: Flask, context: BrowserContext, live_server: str) -> tuple[Page, int]:
    """Seed an engagement with a decision; sign the consultant in; return the page and id."""
    client = signed_in_consultant(app)
    setup = engagement_with_decision(app, client)
    page = sign_in(context, live_server)
    page.goto(f"{live_server}/engagements/{setup.engagement_id}")
    return page, setup.engagement_id


def freeze_and_name(page: Page, people: tuple[tuple[str, str, str], ...], order: str) -> None:
    """From the engagement page: fill the charter, freeze, name the signatories."""
    page.get_by_role("link", name="Prepare the charter").click()
    page.fill("#field-arbitration", "Geneva Chamber of Commerce, seated in Geneva")
    page.get_by_role("button", name="Freeze for sign-off").click()
    expect(page.get_by_role("heading", name="Charter version 1")).to_be_visible()
    for name, email, role in people:
        page.fill("#field-name", name)
        page.fill("#field-email", email)
        page.fill("#field-role", role)
        page.get_by_role("button", name="Add signatory").click()
    page.locator(f"label[for='order-{order}']").click()


def freeze_and_send(page: Page, people: tuple[tuple[str, str, str], ...], order: str) -> list[str]:
    """From the engagement page: fill the charter, freeze, name the signatories, send."""
    freeze_and_name(page, people, order)
    page.get_by_role("button", name="Create the links").click()
    expect(page.get_by_role("heading", name="Personal links")).to_be_visible()
    return [page.input_value(f"#link-{i}") for i in range(1, len(people) + 1)]


def approve(page: Page, name: str) -> None:
    page.fill("#field-full_name", name)
    page.locator("label[for='field-consent']").click()
    page.get_by_role("button", name="Approve the charter").click()


def test_two_signatories_approve_in_order_and_the_download_verifies(
    app: Flask,
    live_server: str,
    laptop: BrowserContext,
    browser: Browser,
    artifacts: Path,
    tmp_path: Path,
) -> None:
    page, _ = consultant_page(app, laptop, live_server)
    ann_link, bo_link = freeze_and_send(page, PEOPLE, "sequential")
    shoot(page, artifacts, "signoff-version-links")

    signatory = browser.new_context(viewport={"width": 1366, "height": 860})
    ann = signatory.new_page()
    bo_page = signatory.new_page()
    bo_page.goto(bo_link)
    expect(bo_page.get_by_text("It is not your turn yet")).to_be_visible()

    with ann.expect_response(lambda r: r.url.endswith("/charter.pdf")) as shown:
        ann.goto(ann_link)
    expect(ann.get_by_role("heading", name="Tidewater")).to_be_visible()
    # The charter shows inside the page: the browser let the frame load (a refused frame
    # would be an error page), and its bytes are the ones the page fingerprints.
    assert shown.value.status == 200
    assert shown.value.header_value("content-type") == "application/pdf"
    assert any(frame.url.endswith("/charter.pdf") for frame in ann.frames)
    fingerprint = ann.locator("#charter-hash").inner_text()
    framed = ann.request.get(shown.value.url)  # the browser hands the frame to its PDF viewer
    assert hashlib.sha256(framed.body()).hexdigest() == fingerprint
    assert_accessible(ann)
    ann.get_by_role("button", name="Approve the charter").click()  # nothing typed
    expect(ann.get_by_text("Tick the box to confirm your approval.").first).to_be_visible()
    shoot(ann, artifacts, "signoff-sign-errors")
    approve(ann, "Ann Lee")
    expect(ann.get_by_text("Thank you. Your approval is recorded.")).to_be_visible()

    bo_page.goto(bo_link)
    shoot(bo_page, artifacts, "signoff-sign-page")
    approve(bo_page, "Bo Chen")
    expect(bo_page.get_by_role("heading", name="Signed by everyone")).to_be_visible()
    with bo_page.expect_download() as info:
        bo_page.get_by_role("link", name="Download the signed charter").click()
    signed = tmp_path / "signed.pdf"
    info.value.save_as(signed)
    signatory.close()

    page.reload()
    expect(page.get_by_role("heading", name="Signed by everyone")).to_be_visible()
    shoot(page, artifacts, "signoff-version-signed")

    visitor = browser.new_context(viewport={"width": 1366, "height": 860})
    check = visitor.new_page()
    check.goto(live_server + "/verify")
    check.set_input_files("#field-pdf", str(signed))
    check.get_by_role("button", name="Verify the file").click()
    expect(check.get_by_role("heading", name="Intact and sealed")).to_be_visible()
    expect(check.get_by_role("rowheader", name="Bo Chen, Creative director")).to_be_visible()
    assert_accessible(check)
    shoot(check, artifacts, "verify-intact")

    data = bytearray(signed.read_bytes())
    data[len(data) // 3] ^= 0x01
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    check.set_input_files("#field-pdf", str(tampered))
    check.get_by_role("button", name="Verify the file").click()
    expect(check.get_by_role("heading", name="Altered: do not rely on this file")).to_be_visible()
    shoot(check, artifacts, "verify-altered")
    # On a phone, the charter's page and the engagement's versions table fit the screen.
    check.set_viewport_size(PHONE)
    check.goto(page.url.split("/engagements/")[0] + "/verify")
    check.set_input_files("#field-pdf", str(signed))
    check.get_by_role("button", name="Verify the file").click()
    check.get_by_role("link", name=re.compile(r"^PC-")).first.click()
    expect(check.get_by_role("heading", name="Versions of this charter")).to_be_visible()
    assert_fits(check)
    assert not scrolling_tables(check)  # the table stacks its rows instead
    assert_accessible(check)
    shoot(check, artifacts, "verify-document-phone")
    visitor.close()
    page.set_viewport_size(PHONE)
    page.goto(page.url.split("/charter/")[0])
    expect(page.get_by_role("heading", name="Charter and sign-off")).to_be_visible()
    assert_fits(page)
    assert not scrolling_tables(page)
    assert_accessible(page)


def test_a_decline_reaches_the_consultant_and_an_expired_link_says_so(
    app: Flask, live_server: str, laptop: BrowserContext, browser: Browser, artifacts: Path
) -> None:
    page, engagement_id = consultant_page(app, laptop, live_server)
    ann_link, bo_link = freeze_and_send(page, PEOPLE, "parallel")
    with app.app_context():
        ann = db.session.query(Signatory).filter_by(name="Ann Lee").one()
        ann.expires_at = utcnow() - timedelta(minutes=5)
        db.session.commit()

    signatory = browser.new_context(viewport=PHONE)
    expired = signatory.new_page()
    expired.goto(ann_link)
    expect(expired.get_by_text("This link no longer works.")).to_be_visible()
    expect(expired.get_by_role("button", name="Approve the charter")).to_have_count(0)
    shoot(expired, artifacts, "signoff-link-expired-phone")

    bo = signatory.new_page()
    bo.goto(bo_link)
    bo.get_by_role("button", name="Decline the charter").click()
    expect(bo.get_by_text("Enter the reason for declining.").first).to_be_visible()
    bo.fill("#field-reason", "The revenue split is not what we agreed.")
    bo.get_by_role("button", name="Decline the charter").click()
    expect(bo.get_by_text("Your decision is recorded")).to_be_visible()
    signatory.close()

    page.goto(f"{live_server}/engagements/{engagement_id}")
    expect(page.get_by_text("Bo Chen: The revenue split is not what we agreed.")).to_be_visible()
    expect(page.locator(".status-large")).to_have_text("Charter drafted")
    assert_accessible(page)
    shoot(page, artifacts, "signoff-engagement-declined")


def test_withdrawing_a_version_asks_first(
    app: Flask, live_server: str, laptop: BrowserContext, artifacts: Path
) -> None:
    page, _ = consultant_page(app, laptop, live_server)
    freeze_and_send(page, PEOPLE, "parallel")
    script_ready(page)
    expect(page.get_by_role("button", name="Copy link for Ann Lee")).to_be_visible()
    questions: list[str] = []

    def answer(accept: bool) -> None:
        def handle(dialog: Any) -> None:
            questions.append(dialog.message)
            if accept:
                dialog.accept()
            else:
                dialog.dismiss()

        page.once("dialog", handle)
        page.get_by_role("button", name="Withdraw this version").click()

    answer(accept=False)
    assert len(questions) == 1
    with app.app_context():
        assert {s.sign_off.status for s in db.session.query(Signatory)} == {"pending"}
    answer(accept=True)
    expect(
        page.get_by_text("Version 1 is withdrawn; its links show it as withdrawn")
    ).to_be_visible()
    assert questions[0].startswith("Withdraw version 1? No one can approve or decline it any more")
    shoot(page, artifacts, "signoff-withdrawn")


# Presses the withdrawal the moment the browser has drawn it, as someone on a slow connection
# may, while the rest of the page is still on its way.
PRESS_WITHDRAW_AT_ONCE = """
new MutationObserver((changes, observer) => {
  const button = [...document.querySelectorAll("button[data-confirm]")]
    .find(b => b.textContent === "Withdraw this version");
  if (button) { observer.disconnect(); button.click(); }
}).observe(document, { childList: true, subtree: true });
"""


def test_a_withdrawal_pressed_as_soon_as_it_shows_still_asks_first(
    app: Flask, live_server: str, laptop: BrowserContext
) -> None:
    client = signed_in_consultant(app)
    version = freeze(client, engagement_with_decision(app, client))
    send(client, version, order="parallel")
    page = sign_in(laptop, live_server)
    questions: list[str] = []

    def dismiss(dialog: Any) -> None:
        questions.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.add_init_script(PRESS_WITHDRAW_AT_ONCE)
    page.goto(live_server + version)
    script_ready(page)
    assert questions and questions[0].startswith("Withdraw version 1?")
    expect(page.get_by_role("button", name="Withdraw this version")).to_be_visible()
    with app.app_context():
        assert {s.sign_off.status for s in db.session.query(Signatory)} == {"pending"}


def test_without_javascript_no_copy_button_shows_and_withdrawing_still_works(
    app: Flask, live_server: str, no_js_laptop: BrowserContext
) -> None:
    page, _ = consultant_page(app, no_js_laptop, live_server)
    links = freeze_and_send(page, PEOPLE, "parallel")
    assert all(link.startswith(live_server) for link in links)
    # A copy button without the script behind it would do nothing when pressed.
    expect(page.get_by_role("button", name="Copy link for Ann Lee")).to_be_hidden()
    expect(page.locator("[data-copy]:visible")).to_have_count(0)
    page.get_by_role("button", name="Withdraw this version").click()
    expect(
        page.get_by_text("Version 1 is withdrawn; its links show it as withdrawn")
    ).to_be_visible()


def test_a_double_click_on_create_the_links_sends_once_and_shows_the_links(
    app: Flask, live_server: str, laptop: BrowserContext
) -> None:
    page, _ = consultant_page(app, laptop, live_server)
    freeze_and_name(page, PEOPLE, "parallel")
    script_ready(page)  # the second click is caught by the script
    # The first request is held until the second click has happened, as on a slow network.
    held: list[Route] = []
    page.route("**/start", lambda route: held.append(route))
    # Two clicks 150 ms apart, the second while the page waits for the answer; the page says
    # which of the two it sent.
    sent = page.get_by_role("button", name="Create the links").evaluate(
        """button => new Promise(done => {
             const sent = [];
             addEventListener("submit", event => sent.push(!event.defaultPrevented));
             button.click();
             setTimeout(() => { button.click(); done(sent); }, 150);
           })"""
    )
    assert sent == [True, False]
    for _ in range(500):  # the held request reaches the test in its own time
        if held:
            break
        page.wait_for_timeout(20)
    assert len(held) == 1
    held[0].continue_()
    page.unroute("**/start")
    expect(page.get_by_role("heading", name="Personal links")).to_be_visible()
    assert page.input_value("#link-1").startswith(live_server + "/sign/")
