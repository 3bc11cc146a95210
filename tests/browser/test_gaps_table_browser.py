"""The gaps per factor on a laptop: the whole table in view however long the partners' names,
each name heard in full and kept apart from the levels beside it, the phone's blocks as they are."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browsertools import PHONE, assert_accessible, assert_fits, shoot, sign_in
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, Page, ViewportSize, expect
from webtools import (
    ANSWERS,
    CREATOR_ANSWERS,
    create_engagement,
    post,
    signed_in_consultant,
    submitted,
)

pytestmark = pytest.mark.browser

# A laptop a consultant brings to a meeting, and a small one: the result page keeps its side
# column beside the table on both.
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
SMALL_LAPTOP: ViewportSize = {"width": 1024, "height": 768}

LONG_NAMES = (
    ("Maximiliane Oberhuber-Schwarzenegger", "producer"),
    ("Bartholomew Featherstonehaugh-Wright", "creator"),
    ("Anastasia Konstantinopoulou", "creator"),
    ("Konstantinos Papadopoulos-Alexandropoulos", "producer"),
    ("Eleonora Wittelsbach-Hohenzollern", "creator"),
)
ARABIC = "فاطمة الزهراء بنت عبد الرحمن"
WORLD_NAMES = (
    (ARABIC, "producer"),
    ("欧阳建国", "creator"),
    ("Anastasia Konstantinopoulou", "creator"),
    ("محمد بن سلمان العبدالله", "producer"),
)
# Each partner apart from the first differs from the others on a factor of their own.
ANSWER_SETS = (
    ANSWERS,
    CREATOR_ANSWERS,
    {**ANSWERS, "innovation": 1},
    {**ANSWERS, "risk_tolerance": 5},
    {**ANSWERS, "planning_complexity": 4},
)
GAPS = "#alignment-title ~ .table-scroll"


def consensus_of(app: Flask, client: FlaskClient, people: tuple[tuple[str, str], ...]) -> str:
    """The partners submit their answers; return the path of their consensus, with a value
    agreed so that the consensus column carries its note."""
    engagement_id = create_engagement(client)
    people_answering = zip(people, ANSWER_SETS, strict=False)
    submitted(app, engagement_id, ((name, side, a) for (name, side), a in people_answering))
    consensus = post(client, f"/engagements/{engagement_id}/consensus").headers["Location"]
    agreed = post(
        client,
        f"{consensus}/agree",
        {"factor": "timeline_pressure", "value": "4", "note": "Settled in the workshop."},
    )
    path: str = agreed.headers["Location"].split("#")[0]
    return path


def assert_whole_table(page: Page) -> None:
    """The region of the gaps does not scroll: every column, the consensus included, is in view."""
    page.wait_for_load_state("load")  # measured once the stylesheet applies
    scroll, client = page.locator(GAPS).evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert scroll <= client, (page.viewport_size, scroll, client)


def test_three_long_names_fit_a_laptop_each_heard_in_full(
    app: Flask, live_server: str, browser: Browser, artifacts: Path
) -> None:
    client = signed_in_consultant(app)
    path = consensus_of(app, client, LONG_NAMES[:3])
    context = browser.new_context(viewport=DESKTOP)
    page = sign_in(context, live_server)
    page.goto(live_server + path)
    expect(page.get_by_role("heading", name="Where the respondents differ")).to_be_visible()
    region = page.get_by_role("region", name="Table of the gaps per factor")
    assert_whole_table(page)
    # On the laptop each name is written out, as a column header.
    for name, _ in LONG_NAMES[:3]:
        header = region.get_by_role("columnheader", name=re.compile("^" + re.escape(name)))
        expect(header).to_have_attribute("scope", "col")
        expect(header.locator(".partner-name")).to_be_visible()
    expect(region.get_by_role("columnheader", name="Consensus")).to_be_visible()
    assert_accessible(page)
    page.locator("#alignment-title").scroll_into_view_if_needed()
    shoot(page, artifacts, "gaps-three-long-names-1280")

    # On a small laptop the given names head the columns; a screen reader still hears each in
    # full, and the pointer's title shows it.
    page.set_viewport_size(SMALL_LAPTOP)
    assert_whole_table(page)
    for name, _ in LONG_NAMES[:3]:
        header = region.get_by_role("columnheader", name=re.compile("^" + re.escape(name)))
        short = header.locator(".partner-short")
        expect(short).to_have_text(name.split()[0])
        expect(short).to_be_visible()
        expect(short).to_have_attribute("title", name)
    assert_accessible(page)
    shoot(page, artifacts, "gaps-three-long-names-1024")
    context.close()


@pytest.mark.parametrize("count", [4, 5])
def test_four_or_five_partners_keep_the_consensus_in_view(
    app: Flask, live_server: str, browser: Browser, count: int
) -> None:
    client = signed_in_consultant(app)
    path = consensus_of(app, client, LONG_NAMES[:count])
    context = browser.new_context(viewport=DESKTOP)
    page = sign_in(context, live_server)
    page.goto(live_server + path)
    expect(page.get_by_role("heading", name="Where the respondents differ")).to_be_visible()
    for viewport in (DESKTOP, SMALL_LAPTOP):
        page.set_viewport_size(viewport)
        assert_whole_table(page)
        consensus = page.locator(f"{GAPS} tbody tr").first.locator("td").last
        box, region = consensus.bounding_box(), page.locator(GAPS).bounding_box()
        assert box and region and box["x"] + box["width"] <= region["x"] + region["width"] + 1
    assert_accessible(page)
    context.close()


def test_names_written_right_to_left_keep_apart_from_their_levels(
    app: Flask, live_server: str, browser: Browser, artifacts: Path
) -> None:
    client = signed_in_consultant(app)
    path = consensus_of(app, client, WORLD_NAMES)
    context = browser.new_context(viewport=DESKTOP)
    page = sign_in(context, live_server)
    page.goto(live_server + path)
    assert_whole_table(page)
    # Every name is isolated: in the table's headers, the list below it and the agreed values'
    # choices, where the level follows the name it belongs to.
    for where in (f"{GAPS} thead", ".individual-list", "#agree-factor .choice-detail"):
        expect(page.locator(where).locator("bdi", has_text=ARABIC).first).to_be_attached()
    detail = page.locator("#agree-factor .choice-detail").first
    expect(detail).to_contain_text(re.compile(rf"^{re.escape(ARABIC)}: \d, "))
    assert_accessible(page)
    page.locator("#alignment-title").scroll_into_view_if_needed()
    shoot(page, artifacts, "gaps-world-names-1280")

    # On a phone each level reads after the name it belongs to, right of an Arabic one too.
    phone = browser.new_context(viewport=PHONE)
    small = sign_in(phone, live_server)
    small.goto(live_server + path)
    small.wait_for_load_state("load")
    assert_fits(small)
    cell = small.locator(f"{GAPS} tbody tr").first.locator(f"td[data-label='{ARABIC}']")
    offset = cell.evaluate(
        """cell => {
          const range = document.createRange();
          range.selectNodeContents(cell);  // the level: the name is the cell's ::before
          return range.getBoundingClientRect().left - cell.getBoundingClientRect().left;
        }"""
    )
    assert offset > 40, offset  # the name comes first, its level after it
    shoot(small, artifacts, "gaps-world-names-phone")
    phone.close()


def test_a_table_that_fits_is_no_tab_stop_even_after_a_preview(
    app: Flask, live_server: str, browser: Browser
) -> None:
    client = signed_in_consultant(app)
    path = consensus_of(app, client, (("Ann Lee", "producer"), ("Bo Chen", "creator")))
    context = browser.new_context(viewport=DESKTOP)
    page = sign_in(context, live_server)
    page.goto(live_server + path)
    page.wait_for_load_state("load")
    stops = "[...document.querySelectorAll('.table-scroll[tabindex]')].map(e => e.tabIndex)"
    assert set(page.evaluate(stops)) == {-1}
    # The preview replaces the table with the server's, which is a tab stop until measured.
    page.locator("label[for='adjust-planning_complexity-5']").click()
    expect(page.locator("#preview-notice")).to_be_visible()
    assert set(page.evaluate(stops)) == {-1}
    context.close()
