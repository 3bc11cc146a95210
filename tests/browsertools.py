"""What every browser test checks on a page: screenshots, accessibility, phone fit."""

from __future__ import annotations

from pathlib import Path

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Locator, Page, expect
from webtools import PASSWORD

AXE = Axe()
# The two screens every page is looked at on.
LAPTOP = {"width": 1366, "height": 860}
PHONE = {"width": 390, "height": 844}


def sign_in(context: BrowserContext, live_server: str, email: str = "cara@example.com") -> Page:
    """Open a page in the context and sign the consultant in there."""
    page = context.new_page()
    sign_in_on(page, live_server, email)
    return page


def sign_in_on(page: Page, live_server: str, email: str = "cara@example.com") -> None:
    """Sign the consultant in on the page; return once the signed-in page is there.

    The sign-in's answer carries the session cookie: a page opened before it arrived would
    meet the sign-in form again.
    """
    page.goto(live_server + "/login")
    page.fill("#field-email", email)
    page.fill("#field-password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def script_ready(page: Page) -> None:
    """Wait until app.js has enhanced the page now shown.

    A page's buttons show before the script has set up what it adds to them (a preview on
    change, a copy button, a draft put back); a step that needs it waits for this first.
    Only for a page reached by a click, a key press or page.goto: the page before it carried
    the same sign.
    """
    expect(page.locator("html[data-script='ready']")).to_be_attached()


def settled(page: Page) -> None:
    """Wait until the page now shown is loaded: styled, its fonts and images in, its script
    run. A page's text is visible before then, but measured or checked it would not be the
    page a visitor sees."""
    page.wait_for_load_state("load")


def shoot(page: Page, artifacts: Path, name: str) -> None:
    """Save a full-page screenshot to look at after the run."""
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def assert_accessible(page: Page) -> None:
    """Fail on any axe-core violation, whatever its impact, best practices included."""
    settled(page)
    violations = AXE.run(page).response["violations"]
    bad = [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}" for v in violations
    ]
    assert not bad, bad


def assert_fits(page: Page) -> None:
    """Fail when anything but a scrolling table makes the page scroll sideways."""
    settled(page)
    wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
                         && !e.closest('.table-scroll'))
            .slice(0, 5).map(e => e.tagName + '.' + e.className)"""
    )
    assert not wide, wide
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def lines_of(element: Locator, words: str) -> list[int]:
    """For each place the words appear in the element's text, on how many lines they are
    drawn."""
    return element.evaluate(
        """(element, words) => {
          const found = [];
          const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const at = node.data.indexOf(words);
            if (at < 0) continue;
            const range = document.createRange();
            range.setStart(node, at);
            range.setEnd(node, at + words.length);
            found.push(new Set([...range.getClientRects()].map(r => Math.round(r.top))).size);
          }
          return found;
        }""",
        words,
    )
