"""Two sides, one charter: partners answer apart, a value is agreed, and the PDF shows it."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from browsertools import (
    LAPTOP,
    PHONE,
    assert_accessible,
    assert_fits,
    script_ready,
    shoot,
    sign_in,
)
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect
from pypdf import PdfReader
from webtools import (
    ANSWERS,
    CREATOR_ANSWERS,
    create_engagement,
    invite,
    signed_in_consultant,
    submitted,
)

from assess.questionnaire import PAGES

pytestmark = pytest.mark.browser

NOTE = "Two-week sprints for the online episodes only; the film keeps a fixed plan."


def answer(browser: Browser, url: str, answers: dict[str, int]) -> None:
    """Answer the whole questionnaire from an invitation link, alone, in a fresh browser."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(url)
    page.get_by_role("link", name="Start the questionnaire").click()
    for number, questions in enumerate(PAGES, start=1):
        expect(page.get_by_text(f"Step {number} of 5").first).to_be_visible()
        for key in questions.keys:
            page.locator(f"label[for='{key}-{answers[key]}']").click()
        last = number == len(PAGES)
        page.get_by_role("button", name="Continue to review" if last else "Next").click()
    page.get_by_role("button", name="Submit my answers").click()
    expect(page.get_by_text("Your answers are submitted")).to_be_visible()
    context.close()


def consensus_decided(
    app: Flask, live_server: str, browser: Browser, laptop: BrowserContext
) -> tuple[int, str, Page]:
    """Ann and Bo answer apart from their links, and the consultant decides on their
    consensus. Return the engagement, Ann's link and the consultant's page, which shows where
    the partners differ."""
    client = signed_in_consultant(app)
    engagement_id = create_engagement(client)
    ann = invite(client, engagement_id)
    bo = invite(client, engagement_id, respondent_name="Bo Chen", side="creator")
    answer(browser, live_server + ann, ANSWERS)
    answer(browser, live_server + bo, CREATOR_ANSWERS)

    page = sign_in(laptop, live_server)
    page.goto(f"{live_server}/engagements/{engagement_id}")
    page.get_by_role("button", name="Decide on the consensus").click()
    expect(page.get_by_role("heading", name="Where the respondents differ")).to_be_visible()
    return engagement_id, ann, page


def pdf_text(data: bytes) -> str:
    """Return the PDF's text with whitespace collapsed, so lines wrap anywhere."""
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", " ", " ".join(p.extract_text() or "" for p in reader.pages))


def test_partners_answer_apart_the_consultant_agrees_and_the_charter_names_the_gaps(
    app: Flask, live_server: str, browser: Browser, laptop: BrowserContext, artifacts: Path
) -> None:
    engagement_id, _, page = consensus_decided(app, live_server, browser, laptop)

    # The radar overlays both partners and the consensus, with a legend and a text alternative.
    legend = page.locator("#profile-title ~ .compare .legend")
    for name in ("Ann Lee", "Bo Chen", "Consensus"):
        expect(legend.get_by_text(name, exact=True)).to_be_visible()
    assert page.locator(".result-radar, .radar-svg").first.get_attribute("role") == "img"
    description = page.locator(".radar-svg desc").first.text_content() or ""
    assert "Ann Lee" in description and "Bo Chen" in description
    assert "Where the respondents differ" in description  # the table with every value
    # Factors by gap, significant first.
    rows = page.locator(".alignment-table tbody tr")
    assert rows.nth(0).get_attribute("class") == "gap-significant"
    assert rows.nth(1).get_attribute("class") == "gap-significant"
    assert rows.nth(2).get_attribute("class") != "gap-significant"
    expect(rows.nth(0).locator("th")).to_have_text("Readiness for rapid iteration")
    expect(rows.nth(1).locator("th")).to_have_text("Timeline pressure")

    # A note is needed: the form says so at the field, and nothing is stored.
    page.get_by_role("radio", name=re.compile("^Readiness for rapid iteration")).check()
    page.locator("label[for='agree-value-3']").click()
    page.get_by_role("button", name="Record the agreed value").click()
    expect(page.locator("#agree-error-note")).to_have_text(
        re.compile("Say in a sentence or two why the parties settled on this level")
    )
    expect(page.get_by_text("There is a problem")).to_be_visible()
    assert_accessible(page)
    expect(page.locator("#agree-value-3")).to_be_checked()
    expect(page.locator("#agree-factor-iteration_readiness")).to_be_checked()
    page.locator("#agree-title").scroll_into_view_if_needed()
    shoot(page, artifacts, "consensus-error-laptop")

    page.fill("#agree-note", NOTE)
    page.get_by_role("button", name="Record the agreed value").click()
    expect(page.get_by_text("The agreed value is stored as a new decision")).to_be_visible()
    history = page.locator(".consensus-history > li")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("Readiness for rapid iteration")
    expect(history.first).to_contain_text("Cara Diaz")
    expect(history.first.locator(".history-note")).to_have_text(NOTE)
    expect(page.locator(".alignment-table .factor-note")).to_have_text(NOTE)
    assert_accessible(page)
    page.locator("#agree-title").scroll_into_view_if_needed()
    shoot(page, artifacts, "consensus-agreed-laptop")
    consensus_url = page.url.split("#")[0]

    phone = browser.new_context(viewport=PHONE)
    small = sign_in(phone, live_server)
    small.goto(consensus_url)
    expect(small.locator(".consensus-history > li")).to_have_count(2)
    assert_fits(small)
    assert_accessible(small)
    shoot(small, artifacts, "consensus-agreed-phone")
    phone.close()

    # The charter, from the engagement: the latest decision is the agreed one.
    page.goto(f"{live_server}/engagements/{engagement_id}")
    page.get_by_role("link", name="Prepare the charter").click()
    page.fill("#field-mediator_internal_1", "Dana Holt")
    assert_accessible(page)
    shoot(page, artifacts, "charter-form-laptop")
    # Fields that belong together sit side by side on a laptop, one under the other on a phone.
    producer = page.locator("#field-revenue_producer")
    creator = page.locator("#field-revenue_creator")
    left, right = producer.bounding_box(), creator.bounding_box()
    assert left and right and left["y"] == right["y"] and left["x"] < right["x"]
    page.set_viewport_size(PHONE)
    assert_fits(page)
    left, right = producer.bounding_box(), creator.bounding_box()
    assert left and right and left["x"] == right["x"] and left["y"] < right["y"]
    shoot(page, artifacts, "charter-form-phone")
    page.set_viewport_size(LAPTOP)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the draft (PDF)").click()
    text = pdf_text(Path(download.value.path()).read_bytes())

    section = text.split("Where the Parties started apart")[-1]
    section = section.split("Roles and responsibilities")[0]
    iteration = section.split("Readiness for rapid iteration", 1)[1].split("Timeline pressure")[0]
    assert re.search(r"Ann Lee Producer side 4 ", iteration), iteration
    assert re.search(r"Bo Chen Creator side 1 ", iteration), iteration
    assert re.search(r"Agreed after discussion 3 ", iteration), iteration
    assert "Why: " + NOTE in iteration
    timeline = section.split("Timeline pressure", 1)[1]
    assert re.search(r"Ann Lee Producer side 3 ", timeline), timeline
    assert re.search(r"Bo Chen Creator side 5 ", timeline), timeline
    assert re.search(r"Cautious middle, not yet agreed 4 ", timeline), timeline

    mediation = text.split("First topics.", 1)[1].split("Disagreement brief.", 1)[0]
    assert re.match(
        r" The questions on which the Parties started apart \(section \d\) are named now as the "
        r"first topics for mediation: readiness for rapid iteration; timeline pressure\.",
        mediation,
    ), mediation
    # The gaps are the first topics the mediation clause names.
    assert text.index("Mediation protocol") < text.index("First topics.")
    assert "Dana Holt" in text

    # The HTML preview reads on a phone too: the sheet narrows, wide tables scroll inside.
    with page.context.expect_page() as opened:
        page.get_by_role("button", name="Preview the charter").click()
    preview = opened.value
    preview.set_viewport_size(PHONE)
    expect(preview.get_by_text("Where the Parties started apart").first).to_be_visible()
    assert_fits(preview)
    assert_accessible(preview)
    shoot(preview, artifacts, "charter-preview-phone")
    preview.close()


def test_a_consensus_whose_answers_changed_says_so_and_is_decided_anew_keeping_what_holds(
    app: Flask, live_server: str, browser: Browser, laptop: BrowserContext, artifacts: Path
) -> None:
    engagement_id, ann, page = consensus_decided(app, live_server, browser, laptop)
    first = page.url.split("#")[0]
    script_ready(page)  # an adjusted level is previewed by the script

    # Adjusted levels on a consensus are agreed values: each asks for its reason, and what
    # was typed survives the next adjustment's preview.
    page.locator("label[for='adjust-iteration_readiness-3']").click()
    reason = page.get_by_label("Reason for readiness for rapid iteration at 3")
    expect(reason).to_be_visible()
    reason.fill(NOTE)
    page.locator("label[for='adjust-timeline_pressure-5']").click()
    expect(page.get_by_label("Reason for timeline pressure at 5")).to_be_visible()
    expect(page.get_by_label("Reason for readiness for rapid iteration at 3")).to_have_value(NOTE)
    page.get_by_role("button", name="Store as a new decision").click()
    expect(page.get_by_text("Reason for timeline pressure at 5: Say in a sentence")).to_be_visible()
    assert_accessible(page)
    shoot(page, artifacts, "consensus-adjust-reasons-laptop")
    page.get_by_label("Reason for timeline pressure at 5").fill("The festival date is fixed.")
    page.get_by_role("button", name="Store as a new decision").click()
    expect(page.get_by_text("The agreed values are stored as a new decision")).to_be_visible()
    agreed = page.url.split("#")[0]
    expect(page.locator(".consensus-history .history-note").first).to_have_text(
        re.compile("The festival date is fixed.|" + re.escape(NOTE))
    )

    # Ann's answers are reopened; she changes her timeline and submits again.
    page.goto(f"{live_server}/engagements/{engagement_id}")
    page.get_by_role("button", name="Reopen answers of Ann Lee").click()
    context = browser.new_context(viewport=PHONE)
    phone = context.new_page()
    phone.goto(live_server + ann)
    phone.get_by_role("link", name=re.compile("Change answers about time")).click()
    phone.locator("label[for='timeline_pressure-1']").click()
    phone.get_by_role("button", name="Save and return to review").click()
    phone.get_by_role("button", name="Submit my answers").click()
    expect(phone.get_by_text("Your answers are submitted")).to_be_visible()
    context.close()

    # The consensus she was part of says so plainly, and takes no more changes.
    page.goto(agreed)
    notice = page.locator("#outdated-consensus")
    expect(notice).to_contain_text("The answers have changed since this consensus was decided.")
    expect(notice).to_contain_text("Ann Lee's answers changed: timeline pressure from 3 to 1.")
    expect(notice).to_contain_text(
        "keeps what was agreed where the answers are unchanged: readiness for rapid iteration at 3"
    )
    expect(page.locator("#agree-form")).to_have_count(0)
    assert_accessible(page)
    shoot(page, artifacts, "consensus-outdated-laptop")
    small = browser.new_context(viewport=PHONE)
    narrow = sign_in(small, live_server)
    narrow.goto(agreed)
    expect(narrow.locator("#outdated-consensus")).to_be_visible()
    assert_fits(narrow)
    shoot(narrow, artifacts, "consensus-outdated-phone")
    small.close()
    page.get_by_role("button", name="Decide on the consensus anew").click()
    expect(page.get_by_text("Kept from decision #")).to_be_visible()
    expect(page.locator(".alignment-table .factor-note")).to_have_text(NOTE)
    assert page.url.split("#")[0] not in (first, agreed)
    current = page.url.split("#")[0]

    # The engagement's decision is the new consensus: the charter is prepared from it.
    page.goto(f"{live_server}/engagements/{engagement_id}")
    page.get_by_role("link", name="Prepare the charter").click()
    assert page.url.startswith(current + "/charter")
    page.goto(first)
    expect(page.locator("#outdated-consensus")).to_contain_text("The answers as they stand")


def test_why_no_consensus_yet_reads_as_one_sentence(
    app: Flask, live_server: str, laptop: BrowserContext
) -> None:
    # Two answers from the producer side only: the page says why they are not combined yet.
    client = signed_in_consultant(app)
    engagement_id = create_engagement(client)
    submitted(
        app, engagement_id, (("Ann Lee", "producer", ANSWERS), ("Dee Park", "producer", ANSWERS))
    )
    page = sign_in(laptop, live_server)
    page.goto(f"{live_server}/engagements/{engagement_id}")
    said = page.locator("#compare-title ~ .consensus-form").first
    expect(said).to_contain_text("none has come from the creator side yet")
    # The names run in the sentence rather than each set apart on a line of its own.
    name = said.locator("bdi").first.bounding_box()
    rest = said.evaluate(
        """element => {
          const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
          let node = walker.nextNode();
          while (!node.data.includes('have submitted')) node = walker.nextNode();
          const range = document.createRange();
          range.setStart(node, node.data.indexOf('have submitted'));
          range.setEnd(node, node.data.indexOf('have submitted') + 4);
          return range.getBoundingClientRect().top;
        }"""
    )
    assert name is not None and abs(name["y"] - rest) < 4, (name, rest)
