"""Finish a client notices: controls side by side line up, texts of one kind look alike."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browsertools import PHONE, lines_of, shoot, sign_in
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import BrowserContext, Locator, Page
from signofftools import (  # noqa: F401  (fixtures)
    approve,
    engagement_with_decision,
    freeze,
    name_signatories,
    seal_key_files,
    send,
    shared_seal_key,
)
from webtools import create_engagement, signed_in_consultant, submitted_pair

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}


def box_of(locator: Locator) -> dict[str, float]:
    box = locator.bounding_box()
    assert box, locator
    return box


def assert_level(*locators: Locator) -> None:
    """The controls start on one line and are of one height."""
    boxes = [box_of(locator) for locator in locators]
    tops = [box["y"] for box in boxes]
    heights = [box["height"] for box in boxes]
    assert max(tops) - min(tops) <= 1, tops
    assert max(heights) - min(heights) <= 1, heights


def opened(laptop: BrowserContext, live_server: str, path: str) -> Page:
    """Sign in on a laptop's screen and open the page."""
    page = sign_in(laptop, live_server)
    page.set_viewport_size(DESKTOP)
    page.goto(live_server + path)
    return page


def font_sizes(texts: Locator) -> set[str]:
    return {
        texts.nth(i).evaluate("e => getComputedStyle(e).fontSize") for i in range(texts.count())
    }


def frozen_version(app: Flask) -> tuple[FlaskClient, str]:
    """A charter frozen from a decision; the consultant's client and the version's path."""
    client = signed_in_consultant(app)
    return client, freeze(client, engagement_with_decision(app, client))


def test_the_token_forms_name_and_access_line_up(
    app: Flask, live_server: str, laptop: BrowserContext, artifacts: Path
) -> None:
    signed_in_consultant(app)
    page = opened(laptop, live_server, "/account/api-tokens")
    assert_level(page.locator("label[for='field-name']"), page.locator("label[for='field-access']"))
    assert_level(page.locator("#field-name"), page.locator("#field-access"))
    shoot(page, artifacts, "finish-tokens")


def test_a_date_box_is_as_tall_as_a_text_box(
    app: Flask, live_server: str, laptop: BrowserContext, artifacts: Path
) -> None:
    client = signed_in_consultant(app)
    setup = engagement_with_decision(app, client)
    page = opened(
        laptop,
        live_server,
        f"/engagements/{setup.engagement_id}/decisions/{setup.decision_id}/charter",
    )
    date, text = page.locator("#field-effective_date"), page.locator("#field-arbitration")
    assert abs(box_of(date)["height"] - box_of(text)["height"]) <= 1
    shoot(page, artifacts, "finish-charter-form")


def search_controls(page: Page) -> tuple[Locator, Locator]:
    return (
        page.get_by_role("searchbox", name="Search engagements"),
        page.get_by_role("button", name="Search"),
    )


def test_the_search_button_is_as_tall_as_the_search_box(
    app: Flask, live_server: str, laptop: BrowserContext, artifacts: Path
) -> None:
    create_engagement(signed_in_consultant(app))
    page = sign_in(laptop, live_server)
    page.goto(f"{live_server}/engagements")
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        assert_level(*search_controls(page))
        shoot(page, artifacts, f"finish-search-{viewport['width']}")


# The top of the first line of the element's text, wherever its box starts.
TEXT_TOP = """element => {
  const range = document.createRange();
  range.selectNodeContents(element);
  return range.getClientRects()[0].top;
}"""


def test_sign_out_stands_on_the_line_of_the_links_beside_it(
    app: Flask, live_server: str, laptop: BrowserContext, artifacts: Path
) -> None:
    signed_in_consultant(app)
    page = sign_in(laptop, live_server)
    nav = page.get_by_role("navigation", name="Main")
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        tops = [
            nav.get_by_role("link", name="Account").evaluate(TEXT_TOP),
            nav.get_by_role("button", name="Sign out").evaluate(TEXT_TOP),
        ]
        assert abs(tops[0] - tops[1]) <= 0.5, tops
        shoot(page, artifacts, f"finish-nav-{viewport['width']}")


def test_the_explanations_introductions_are_set_alike(
    app: Flask, live_server: str, laptop: BrowserContext, artifacts: Path
) -> None:
    client = signed_in_consultant(app)
    setup = engagement_with_decision(app, client)
    page = opened(
        laptop, live_server, f"/engagements/{setup.engagement_id}/decisions/{setup.decision_id}"
    )
    why = page.locator("section[aria-labelledby='why-title']")
    # How the models are scored, and the tipping points or the word that there are none.
    intros = why.locator(":scope > p")
    assert intros.count() >= 2
    assert len(font_sizes(intros)) == 1, font_sizes(intros)
    shoot(page, artifacts, "finish-why")


def test_the_charter_cards_sentences_are_of_one_size(
    app: Flask, live_server: str, laptop: BrowserContext, artifacts: Path
) -> None:
    client = signed_in_consultant(app)
    setup = engagement_with_decision(app, client)
    submitted_pair(app, setup.engagement_id)
    page = opened(laptop, live_server, f"/engagements/{setup.engagement_id}")
    sentences = page.locator("#charter > p")
    assert sentences.count() >= 2  # nothing frozen yet, and what the charter waits for
    assert len(font_sizes(sentences)) == 1, font_sizes(sentences)
    shoot(page, artifacts, "finish-charter-card")


DISTINCT_LINES = """element => new Set(
  [...element.getClientRects()].map(r => Math.round(r.top))).size"""


@pytest.mark.usefixtures("shared_seal_key")
def test_a_signatorys_address_and_link_date_read_in_one_piece(
    app: Flask, live_server: str, laptop: BrowserContext, artifacts: Path
) -> None:
    client, path = frozen_version(app)
    # A long role widens the name column: the others are left the least room they take.
    people = (
        {
            "name": "Ann Lee",
            "email": "ann@example.com",
            "role": "Executive producer, for Northlight Films",
        },
        {"name": "Bo Chen", "email": "bo@example.com", "role": "Creative director"},
    )
    links = send(client, path, people=people)
    # Once approved, a row says when, and until when the link still opens the charter.
    response = approve(app.test_client(), links["Ann Lee"], "Ann Lee")
    assert response.status_code == 303  # type: ignore[attr-defined]
    page = opened(laptop, live_server, path)
    table = page.locator(".signatory-table")
    for address in table.locator("td[data-label='Email'] bdi").all():
        assert address.evaluate(DISTINCT_LINES) == 1, address.inner_text()
    for link in table.locator("td[data-label='Link']").all():
        until = re.search(r"until (.+)$", link.inner_text())
        assert until, link.inner_text()
        for part in until.group(1).split(", "):  # the day, and the time when one is named
            assert lines_of(link, part) == [1], link.inner_text()
    shoot(page, artifacts, "finish-signatories")


def test_a_long_title_leaves_the_status_beside_it(
    app: Flask, live_server: str, laptop: BrowserContext, artifacts: Path
) -> None:
    client = signed_in_consultant(app)
    engagement_id = create_engagement(
        client,
        project_name="Harbour Lights — a feature documentary about the last lighthouse keepers",
    )
    page = opened(laptop, live_server, f"/engagements/{engagement_id}")
    title, status = box_of(page.locator("h1")), box_of(page.locator(".page-head .status"))
    assert title["height"] > 60  # the title takes two lines
    assert status["x"] >= title["x"] + title["width"], (title, status)
    assert status["y"] < title["y"] + title["height"] / 2, (title, status)
    shoot(page, artifacts, "finish-long-title")


# Where the first line of the element's text sits: an empty inline box rests on it.
BASELINE = """element => {
  const probe = document.createElement('span');
  probe.style.cssText = 'display:inline-block;width:0;height:0';
  element.prepend(probe);
  const baseline = probe.getBoundingClientRect().bottom;
  probe.remove();
  return baseline;
}"""


@pytest.mark.usefixtures("shared_seal_key")
def test_the_fingerprint_reads_on_the_line_of_its_label(
    app: Flask, live_server: str, laptop: BrowserContext, artifacts: Path
) -> None:
    _client, path = frozen_version(app)
    page = opened(laptop, live_server, path)
    for label in ("Rules version", "SHA-256"):
        term = page.locator("dl.facts dt", has_text=label).first
        value = term.locator("xpath=following-sibling::dd[1]")
        baselines = [term.evaluate(BASELINE), value.evaluate(BASELINE)]
        assert abs(baselines[0] - baselines[1]) <= 0.5, (label, baselines)
    shoot(page, artifacts, "finish-frozen-facts")


@pytest.mark.usefixtures("shared_seal_key")
def test_the_note_under_the_frozen_documents_facts_keeps_clear_of_them(
    app: Flask, live_server: str, laptop: BrowserContext, artifacts: Path
) -> None:
    client, path = frozen_version(app)
    links = send(client, path)
    page = opened(laptop, live_server, path)
    for url in (live_server + path, live_server + links["Ann Lee"]):
        page.goto(url)
        facts = page.locator("dl.facts:has(dt:text-is('SHA-256'))")
        note = facts.locator("xpath=following-sibling::p[1]")
        gap = box_of(note)["y"] - (box_of(facts)["y"] + box_of(facts)["height"])
        assert gap >= 8, (url, gap)
    shoot(page, artifacts, "finish-fingerprint-note")


def test_on_a_phone_the_charter_preview_gives_each_reason_the_width_of_its_table(
    app: Flask, live_server: str, laptop: BrowserContext, artifacts: Path
) -> None:
    client = signed_in_consultant(app)
    setup = engagement_with_decision(app, client)
    page = sign_in(laptop, live_server)
    page.goto(
        f"{live_server}/engagements/{setup.engagement_id}/decisions/{setup.decision_id}/charter"
    )
    with page.context.expect_page() as opened:
        page.get_by_role("button", name=re.compile("^Preview the charter")).click()
    preview = opened.value
    preview.set_viewport_size(PHONE)
    table = box_of(preview.locator("table.trace"))
    reasons = preview.locator("table.trace td:not(.rule)")
    assert reasons.count() > 3
    for reason in reasons.all():
        assert box_of(reason)["width"] >= 0.9 * table["width"], reason.inner_text()
    shoot(preview, artifacts, "finish-preview-trace-phone")
    preview.close()


LINE_STARTS = """element => {
  const range = document.createRange();
  range.selectNodeContents(element);
  return [...range.getClientRects()].map(r => r.left);
}"""


def test_an_api_routes_summary_keeps_to_its_column_when_it_wraps(
    app: Flask, live_server: str, laptop: BrowserContext, artifacts: Path
) -> None:
    signed_in_consultant(app)
    page = opened(laptop, live_server, "/api/v1/docs")
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        routes = page.locator("details.api-operation summary")
        assert routes.count() > 10
        for route in routes.all():
            path = box_of(route.locator(".api-path"))
            starts = route.locator(".api-summary").evaluate(LINE_STARTS)
            assert min(starts) >= path["x"] - 1, (viewport, route.inner_text(), starts)
        shoot(page, artifacts, f"finish-api-docs-{viewport['width']}")


def test_a_charter_sections_note_keeps_to_its_heading_not_to_the_first_field(
    app: Flask, live_server: str, laptop: BrowserContext, artifacts: Path
) -> None:
    setup = engagement_with_decision(app, signed_in_consultant(app))
    path = f"/engagements/{setup.engagement_id}/decisions/{setup.decision_id}/charter"
    page = opened(laptop, live_server, path)
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        for section in ("Candidate mediators", "Money and disputes"):
            fieldset = page.locator("#charter-form fieldset").filter(
                has=page.locator(f"legend:text-is('{section}')")
            )
            heading, note = box_of(fieldset.locator("legend")), box_of(fieldset.locator("> .hint"))
            label = box_of(fieldset.locator("label").first)
            above = note["y"] - (heading["y"] + heading["height"])
            below = label["y"] - (note["y"] + note["height"])
            assert below >= above + 4, (section, viewport, above, below)
        shoot(page, artifacts, f"finish-charter-sections-{viewport['width']}")


@pytest.mark.usefixtures("shared_seal_key")
def test_the_status_beside_a_title_is_of_one_size_on_every_page(
    app: Flask, live_server: str, laptop: BrowserContext, artifacts: Path
) -> None:
    client = signed_in_consultant(app)
    setup = engagement_with_decision(app, client)
    version = freeze(client, setup)
    links = send(client, version)
    page = opened(laptop, live_server, f"/engagements/{setup.engagement_id}")
    sizes = {}
    pages = {
        "engagement": f"/engagements/{setup.engagement_id}",
        "version": version,
        "signatory": links["Ann Lee"],
    }
    for name, path in pages.items():
        page.goto(live_server + path)
        status = page.locator(".page-head .status")
        sizes[name] = (font_sizes(status), round(box_of(status)["height"]))
        shoot(page, artifacts, f"finish-status-{name}")
    assert len(set(map(str, sizes.values()))) == 1, sizes


# The middle of the first line of the element's text.
FIRST_LINE_MIDDLE = """element => {
  const range = document.createRange();
  range.selectNodeContents(element);
  const line = range.getClientRects()[0];
  return (line.top + line.bottom) / 2;
}"""


@pytest.mark.usefixtures("shared_seal_key")
def test_a_choices_button_stands_level_with_its_words(
    app: Flask, live_server: str, laptop: BrowserContext, artifacts: Path
) -> None:
    client, version = frozen_version(app)
    name_signatories(client, version)
    engagement = version.split("/charter/")[0]
    page = opened(laptop, live_server, f"{engagement}/invitations/new")
    for path in (f"{engagement}/invitations/new", version):
        page.goto(live_server + path)
        options = page.locator(".choice .choice-option")
        assert options.count() == 2, path
        for option in options.all():
            button = box_of(option.locator("input"))
            words: float = option.locator("label").evaluate(FIRST_LINE_MIDDLE)
            middle = button["y"] + button["height"] / 2
            assert abs(middle - words) <= 1, (path, option.inner_text(), middle, words)
        shoot(page, artifacts, "finish-choice-" + ("version" if path == version else "invite"))
