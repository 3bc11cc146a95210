"""The pages on a touch screen, on paper and beside long values: every choice is a full tap
on a phone and on a tablet held either way, nothing a visitor types in makes a phone zoom in,
a printed page carries the content without its controls, and a table keeps to a laptop."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browsertools import LAPTOP, assert_fits, lines_of, settled, shoot, sign_in
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect
from signofftools import (  # noqa: F401  (fixtures)
    approve,
    engagement_with_decision,
    freeze,
    name_signatories,
    seal_key_files,
    send,
    shared_seal_key,
)
from webtools import (
    ANSWERS,
    CREATOR_ANSWERS,
    consensus_of_two,
    create_engagement,
    signed_in_consultant,
    submitted,
)

pytestmark = pytest.mark.browser

TAP = 44  # the smallest comfortable tap target, in CSS pixels
# A phone, and a tablet upright and on its side: each is touched, not pointed at with a mouse.
TOUCH_SCREENS: dict[str, ViewportSize] = {
    "phone": {"width": 390, "height": 844},
    "tablet": {"width": 768, "height": 1024},
    "tablet-landscape": {"width": 1180, "height": 820},
}
# An A4 page less the browser's default margins, in CSS pixels: the width a page is printed at.
PAPER: ViewportSize = {"width": 718, "height": 1000}

# Each radio button or level a visitor taps, by the box that takes the tap: its label.
CHOICES = """() => [...document.querySelectorAll('main input[type=radio]')]
  .map(input => document.querySelector(`label[for="${input.id}"]`))
  .filter(label => label && label.getClientRects().length && !label.closest('[hidden]'))
  .map(label => {
    const box = label.getBoundingClientRect();
    return [label.htmlFor, Math.round(box.width), Math.round(box.height)];
  })"""

# The fields a visitor types in whose text is smaller than 16 CSS pixels: a phone's browser
# zooms the page in on them when they take the focus, and the page no longer fits.
SMALL_TYPE = """() => [...document.querySelectorAll(
    'input:not([type=hidden]):not([type=radio]):not([type=checkbox]):not([type=file]):not([readonly]),'
    + 'select, textarea:not([readonly])')]
  .filter(e => e.getClientRects().length && parseFloat(getComputedStyle(e).fontSize) < 16)
  .map(e => `${e.id || e.name}: ${getComputedStyle(e).fontSize}`)"""

# What is only there to be clicked or typed in, drawn on the page.
CONTROLS = """() => [...document.querySelectorAll(
    '.site-nav, .skip-link, button, .button, input, select, textarea, .result-side')]
  .filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
  .map(e => `${e.tagName}.${e.className} ${e.textContent.trim().slice(0, 30)}`)"""


@pytest.fixture
def touch_screens(browser: Browser) -> Iterator[dict[str, BrowserContext]]:
    contexts = {
        name: browser.new_context(viewport=size, has_touch=True, is_mobile=name == "phone")
        for name, size in TOUCH_SCREENS.items()
    }
    yield contexts
    for context in contexts.values():
        context.close()


def assert_choices_are_taps(page: Page, at_least: int) -> None:
    settled(page)
    choices = page.evaluate(CHOICES)
    assert len(choices) >= at_least, (page.url, choices)
    small = [choice for choice in choices if choice[1] < TAP or choice[2] < TAP]
    assert not small, (page.url, small)


@pytest.mark.usefixtures("shared_seal_key")
def test_every_radio_choice_is_a_full_tap_on_a_phone_and_a_tablet(
    app: Flask, live_server: str, touch_screens: dict[str, BrowserContext], artifacts: Path
) -> None:
    """The side of an invitation, the order of approval, the factor and level agreed in a
    consensus and the levels of a what-if: short words make a short label, yet each is tapped."""
    client = signed_in_consultant(app)
    consensus = consensus_of_two(app, client)
    engagement = consensus.split("/decisions/")[0]
    version = freeze(client, engagement_with_decision(app, client))
    name_signatories(client, version)  # the order of approval is asked for once they are named
    for name, context in touch_screens.items():
        page = sign_in(context, live_server)
        page.goto(f"{live_server}{engagement}/invitations/new")
        assert_choices_are_taps(page, 2)
        page.goto(live_server + version)
        assert_choices_are_taps(page, 2)
        page.goto(live_server + consensus)
        # The factors with a gap, the five levels and the middle to agree on, and the levels
        # of each of the eight factors to adjust.
        assert_choices_are_taps(page, 2 + 6 + 8 * 5)
        shoot(page, artifacts, f"screens-choices-{name}")
        page.close()


def test_the_menu_is_a_full_tap_on_a_phone_and_a_tablet(
    app: Flask, live_server: str, touch_screens: dict[str, BrowserContext]
) -> None:
    signed_in_consultant(app)
    for name, context in touch_screens.items():
        page = sign_in(context, live_server)
        settled(page)
        items = page.locator(".site-nav a, .site-nav button").all()
        assert len(items) == 4
        for item in items:
            box = item.bounding_box()
            assert box and box["height"] >= TAP, (name, item.inner_text(), box)
        page.close()


def test_nothing_typed_in_makes_a_phone_zoom_in(
    app: Flask, live_server: str, touch_screens: dict[str, BrowserContext]
) -> None:
    client = signed_in_consultant(app)
    consensus = consensus_of_two(app, client)
    engagement = consensus.split("/decisions/")[0]
    page = touch_screens["phone"].new_page()
    page.goto(live_server + "/login")
    settled(page)
    assert not page.evaluate(SMALL_TYPE)
    page.close()
    page = sign_in(touch_screens["phone"], live_server)
    for path in (
        "/engagements",
        f"{engagement}/invitations/new",
        consensus,
        f"{consensus}/charter",
        "/account/api-tokens",
        "/api/v1/docs",
    ):
        page.goto(live_server + path)
        for operation in page.locator("details.api-operation").all():
            operation.locator("summary").click()  # its fields show once it is open
        settled(page)
        assert not page.evaluate(SMALL_TYPE), (path, page.evaluate(SMALL_TYPE))


def printed(page: Page, path: str) -> None:
    page.set_viewport_size(PAPER)
    page.emulate_media(media="print")
    page.goto(path)
    settled(page)


def test_a_printed_result_and_engagement_carry_their_content_without_controls(
    app: Flask, live_server: str, browser: Browser, artifacts: Path
) -> None:
    client = signed_in_consultant(app)
    consensus = consensus_of_two(app, client)
    engagement = consensus.split("/decisions/")[0]
    context = browser.new_context(viewport=LAPTOP)
    page = sign_in(context, live_server)

    printed(page, live_server + consensus)
    assert not page.evaluate(CONTROLS), page.evaluate(CONTROLS)
    expect(page.locator(".recommendation-title")).to_be_visible()
    expect(page.get_by_role("heading", name="Where the respondents differ")).to_be_visible()
    expect(page.locator(".radar-svg").first).to_be_visible()
    # The chart is drawn at a readable size, not squeezed into a corner of the sheet.
    chart = page.locator(".radar-svg").first.bounding_box()
    assert chart and chart["width"] >= PAPER["width"] / 2, chart
    assert_fits(page)
    shoot(page, artifacts, "screens-print-consensus")

    printed(page, live_server + engagement)
    assert not page.evaluate(CONTROLS), page.evaluate(CONTROLS)
    expect(page.get_by_role("heading", name="Respondents")).to_be_visible()
    expect(page.get_by_role("heading", name="Answers side by side")).to_be_visible()
    # A table is printed whole: a region that scrolls on screen would be cut off on paper.
    cut = page.evaluate(
        """() => [...document.querySelectorAll('.table-scroll')]
            .filter(region => region.scrollWidth > region.clientWidth + 1
                              || getComputedStyle(region).overflowX !== 'visible')
            .map(region => region.getAttribute('aria-label'))"""
    )
    assert not cut, cut
    assert_fits(page)
    shoot(page, artifacts, "screens-print-engagement")
    context.close()


# Six partners: the chart draws four of them and names the other two below its key.
PARTNERS = (
    ("Ann Lee", "producer", ANSWERS),
    ("Bo Chen", "creator", CREATOR_ANSWERS),
    ("Cy Park", "creator", {**ANSWERS, "innovation": 1}),
    ("Di Roe", "producer", {**ANSWERS, "risk_tolerance": 5}),
    ("Ed Fox", "creator", {**ANSWERS, "planning_complexity": 5}),
    ("Flo Day", "producer", {**ANSWERS, "resource_availability": 1}),
)


def test_the_partners_the_chart_leaves_out_are_named_in_a_sentence(
    app: Flask, live_server: str, browser: Browser, artifacts: Path
) -> None:
    client = signed_in_consultant(app)
    engagement_id = create_engagement(client)
    submitted(app, engagement_id, PARTNERS)
    for name, screen in (("phone", TOUCH_SCREENS["phone"]), ("laptop", LAPTOP)):
        context = browser.new_context(viewport=screen)
        page = sign_in(context, live_server)
        page.goto(f"{live_server}/engagements/{engagement_id}")
        note = page.locator(".legend-note")
        expect(note).to_contain_text("Ed Fox and Flo Day")
        settled(page)
        # The sentence wraps as text does: no word of it is split over two lines.
        for word in re.findall(r"\w+", note.inner_text()):
            drawn = lines_of(note, word)
            assert drawn and set(drawn) == {1}, (name, word, drawn)
        shoot(page, artifacts, f"screens-chart-left-out-{name}")
        context.close()


# The top of each line an element's text is drawn on.
DISTINCT_LINES = "e => new Set([...e.getClientRects()].map(r => Math.round(r.top))).size"
# As long as an address kept in one piece may be.
ORDINARY_EMAIL = "eve.stone@northlight-film-productions.uk"
LONG_EMAIL = "maximiliana.wolkonskaja-rasumowskaja@international-coproductions.example"


@pytest.mark.usefixtures("shared_seal_key")
@pytest.mark.parametrize("width", [1024, 1280, 1366])
def test_the_signatories_table_keeps_to_a_laptop_with_a_long_address(
    app: Flask, live_server: str, browser: Browser, width: int
) -> None:
    client = signed_in_consultant(app)
    version = freeze(client, engagement_with_decision(app, client))
    people = (
        {
            "name": "Maximiliana Alexandrowna Wolkonskaja-Rasumowskaja",
            "email": LONG_EMAIL,
            "role": "Head of International Co-Production",
        },
        {"name": "Dan Park", "email": "dan@x.example", "role": "Producer"},
        {"name": "Eve Stone", "email": ORDINARY_EMAIL, "role": "Producer"},
    )
    links = send(client, version, order="parallel", people=people)
    # Once approved, a row says when, and until when the link still opens the charter.
    response = approve(app.test_client(), links["Dan Park"], "Dan Park")
    assert response.status_code == 303  # type: ignore[attr-defined]
    context = browser.new_context(viewport={"width": width, "height": 860})
    page = sign_in(context, live_server)
    page.goto(live_server + version)
    settled(page)
    region = page.locator("#signatories .table-scroll")
    # Every column is in sight: "Revoke link" is not scrolled out of the card.
    assert region.evaluate("e => e.scrollWidth <= e.clientWidth"), region.evaluate(
        "e => [e.scrollWidth, e.clientWidth]"
    )
    # An ordinary address still reads in one piece.
    for address in ("dan@x.example", ORDINARY_EMAIL):
        cell = page.locator(".signatory-table td[data-label='Email'] bdi", has_text=address)
        assert cell.evaluate(DISTINCT_LINES) == 1, (width, address)
    context.close()
