"""On a phone, 320 and 390 pixels wide: every page a respondent meets fits the screen and
taps comfortably."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from browsertools import assert_accessible, shoot
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect
from sqlalchemy import select
from webtools import ANSWERS, create_engagement, invite, post, signed_in_consultant

from assess.extensions import db
from assess.models import Invitation, Respondent, utcnow
from assess.questionnaire import PAGES

pytestmark = pytest.mark.browser

# The narrowest phone still sold, and a common one.
PHONES: dict[str, ViewportSize] = {
    "320": {"width": 320, "height": 640},
    "390": {"width": 390, "height": 844},
}
TAP = 44  # the smallest comfortable tap target, in CSS pixels

# Boxes that pass the edge of the box they sit in, leaving the page's margins or their card:
# what a scrolling region, a clipped or an absolutely placed box holds does not count.
OUT_OF_BOUNDS = """() => {
  const contained = e => {
    for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX !== 'visible' || s.position === 'absolute') return true;
    }
    return false;
  };
  return [...document.querySelectorAll('main *')].filter(e => {
    const s = getComputedStyle(e);
    if (s.position === 'absolute' || s.display === 'none' || contained(e)) return false;
    const own = e.getBoundingClientRect(), outer = e.parentElement.getBoundingClientRect();
    return own.width > 0 && (own.right > outer.right + 1 || own.left < outer.left - 1);
  }).slice(0, 5).map(e => `${e.tagName}.${e.className} in ${e.parentElement.className}`);
}"""


@pytest.fixture
def phones(browser: Browser) -> Iterator[dict[str, BrowserContext]]:
    """A touch phone context at each width, as a phone draws it: twice the pixels."""
    contexts = {
        name: browser.new_context(
            viewport=size, device_scale_factor=2, is_mobile=True, has_touch=True
        )
        for name, size in PHONES.items()
    }
    yield contexts
    for context in contexts.values():
        context.close()


def assert_fits_the_phone(page: Page) -> None:
    """Nothing scrolls sideways: not the page, not a table, not a card past its margins."""
    assert page.evaluate(
        "document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth"
    ), page.url
    assert not page.evaluate(OUT_OF_BOUNDS), (page.url, page.evaluate(OUT_OF_BOUNDS))
    scrolling = page.evaluate(
        """() => [...document.querySelectorAll('.table-scroll')]
            .filter(region => region.scrollWidth > region.clientWidth + 1)
            .map(region => region.getAttribute('aria-label'))"""
    )
    assert not scrolling, (page.url, scrolling)


def heights(page: Page, selector: str) -> list[float]:
    return [
        box["height"] for box in (e.bounding_box() for e in page.locator(selector).all()) if box
    ]


def test_a_respondent_answers_on_a_phone_without_anything_cut_off(
    app: Flask, live_server: str, phones: dict[str, BrowserContext], artifacts: Path
) -> None:
    client = signed_in_consultant(app)
    engagement_id = create_engagement(
        client, project_name="Saltmarsh: a six-part documentary series about the North Sea coast"
    )
    links = {
        width: invite(client, engagement_id, respondent_name=f"Alexandra Konstantinopoulou {width}")
        for width in PHONES
    }
    expired = invite(client, engagement_id, respondent_name="Eve")
    revoked = invite(client, engagement_id, respondent_name="Rob")
    with app.app_context():
        invitation = db.session.scalars(
            select(Invitation).join(Respondent).where(Respondent.name == "Eve")
        ).one()
        invitation.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        rob = db.session.scalars(select(Respondent.id).where(Respondent.name == "Rob")).one()
    post(client, f"/engagements/{engagement_id}/respondents/{rob}/revoke")

    for width, context in phones.items():
        page = context.new_page()
        page.goto(live_server + links[width])
        expect(page.get_by_role("heading", name=re.compile("^Welcome"))).to_be_visible()
        assert_fits_the_phone(page)
        page.get_by_role("link", name="Start the questionnaire").click()

        # Nothing chosen: the summary's link to a question shows the question, not only
        # its first choice.
        page.get_by_role("button", name="Next").click()
        expect(page.get_by_text("There are 2 problems")).to_be_visible()
        assert_fits_the_phone(page)
        shoot(page, artifacts, f"phone-{width}-step-errors")
        page.locator(".error-summary a").last.click()
        question = page.locator("#factor-planning_complexity legend")
        top = question.evaluate("e => e.getBoundingClientRect().top")
        assert 0 <= top < PHONES[width]["height"] / 2, top
        expect(page.locator("#planning_complexity-1")).to_be_focused()

        for number, step in enumerate(PAGES, start=1):
            expect(page.get_by_text(f"Step {number} of 5").first).to_be_visible()
            choices = heights(page, ".scale-option label")
            assert len(choices) == 5 * len(step.keys) and min(choices) >= TAP, choices
            for key in step.keys:
                page.locator(f"label[for='{key}-{ANSWERS[key]}']").click()
            assert_fits_the_phone(page)
            page.get_by_role("button", name=re.compile("^(Next|Continue to review)$")).click()

        expect(page.get_by_role("heading", name="Review your answers")).to_be_visible()
        assert_fits_the_phone(page)
        change = heights(page, ".review-head a")
        assert len(change) == len(PAGES) and min(change) >= TAP, change
        assert_accessible(page)
        shoot(page, artifacts, f"phone-{width}-review")

        page.get_by_role("button", name="Submit my answers").click()
        expect(page.get_by_text("Your answers are submitted")).to_be_visible()
        assert_fits_the_phone(page)  # the answers read in full: their table does not scroll
        shoot(page, artifacts, f"phone-{width}-result")
        page.goto(f"{live_server}{links[width]}/step/2")  # locked: the result again
        expect(page.get_by_text("Your answers are submitted")).to_be_visible()
        assert_fits_the_phone(page)

        for link, heading in ((expired, "This link has expired"), (revoked, "replaced")):
            page.goto(live_server + link)
            expect(page.get_by_role("heading", name=re.compile(heading))).to_be_visible()
            assert_fits_the_phone(page)
        page.close()
