"""Details a reader notices at once: lines that line up, buttons of one size, room to breathe."""

from __future__ import annotations

from pathlib import Path

import pytest
from browsertools import LAPTOP, PHONE, assert_fits, lines_of, settled, shoot, sign_in
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Locator, expect
from signofftools import (  # noqa: F401  (fixtures)
    SIGNATORIES,
    engagement_with_decision,
    freeze,
    seal_key_files,
    send,
    shared_seal_key,
)
from signofftools import post as signoff_post
from webtools import (
    ANSWERS,
    consensus_of_two,
    create_engagement,
    invite,
    make_consultant,
    post,
    signed_in_consultant,
    submitted,
    submitted_pair,
)

from assess.questionnaire import PAGES

pytestmark = pytest.mark.browser

# The top of the first line of text in the element, wherever its box starts.
TEXT_TOP = """element => {
  const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT,
    { acceptNode: n => n.textContent.trim() ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP });
  const range = document.createRange();
  range.selectNodeContents(walker.nextNode());
  return range.getClientRects()[0].top;
}"""


def text_top(locator: Locator) -> float:
    top: float = locator.evaluate(TEXT_TOP)
    return top


def box_of(locator: Locator) -> dict[str, float]:
    box = locator.bounding_box()
    assert box, locator
    return box


def gap_between(upper: Locator, lower: Locator) -> float:
    """The room from the bottom of one element to the top of the next one below it."""
    above, below = upper.bounding_box(), lower.bounding_box()
    assert above and below
    return below["y"] - (above["y"] + above["height"])


def test_the_actions_of_a_row_stand_on_its_line(
    app: Flask, live_server: str, laptop: BrowserContext, artifacts: Path
) -> None:
    client = signed_in_consultant(app)
    engagement_id = create_engagement(client)
    invite(client, engagement_id)
    page = sign_in(laptop, live_server)
    page.goto(f"{live_server}/engagements/{engagement_id}")
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Ann Lee"))
    name = row.get_by_role("rowheader")
    actions = row.locator(".row-actions").locator("button, a")
    expect(actions).to_have_count(3)  # New link, Revoke link, Remove
    for control in actions.all():
        assert abs(text_top(control) - text_top(name)) <= 1, control.inner_text()
    shoot(page, artifacts, "layout-respondent-actions")


def test_the_answers_side_by_side_are_headed_by_names_as_typed(
    app: Flask, live_server: str, laptop: BrowserContext
) -> None:
    client = signed_in_consultant(app)
    engagement_id = create_engagement(client)
    submitted_pair(app, engagement_id)
    page = sign_in(laptop, live_server)
    page.goto(f"{live_server}/engagements/{engagement_id}")
    table = page.locator(".compare-table")
    for name in ("Ann Lee", "Bo Chen"):
        # What is read is what is shown: inner text carries the case the page displays.
        expect(table.get_by_role("columnheader", name=name)).to_have_text(name, use_inner_text=True)


def answered_link(app: Flask) -> str:
    """Return the link of a respondent who has answered every step and reached the review."""
    client = signed_in_consultant(app)
    link = invite(client, create_engagement(client))
    client.delete_cookie("session")
    for number, step in enumerate(PAGES, start=1):
        data = {key: str(ANSWERS[key]) for key in step.keys}
        response = post(client, f"{link}/step/{number}", {**data, "action": "next"})
        assert response.status_code == 303, response.get_data(as_text=True)
    return link


def test_the_review_pages_two_buttons_are_one_size(
    app: Flask, live_server: str, browser: Browser, artifacts: Path
) -> None:
    link = answered_link(app)
    page = browser.new_page()
    page.goto(f"{live_server}{link}/review")
    for viewport in ({"width": 1280, "height": 800}, PHONE):
        page.set_viewport_size(viewport)
        submit = page.get_by_role("button", name="Submit my answers").bounding_box()
        back = page.get_by_role("link", name="Back", exact=True).bounding_box()
        assert submit and back
        assert abs(submit["height"] - back["height"]) <= 1, (submit, back)
        assert abs(submit["y"] - back["y"]) <= 1, (submit, back)
        shoot(page, artifacts, f"layout-review-{viewport['width']}")
    page.close()


@pytest.mark.usefixtures("shared_seal_key")
def test_the_approval_names_the_fingerprint_in_one_piece_on_a_phone(
    app: Flask, live_server: str, browser: Browser, artifacts: Path
) -> None:
    client = signed_in_consultant(app)
    setup = engagement_with_decision(app, client)
    links = send(client, freeze(client, setup))
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(live_server + links["Ann Lee"])
    consent = page.locator("label[for='field-consent']")
    expect(consent).to_contain_text("SHA-256 starting")
    assert lines_of(consent, "SHA-256") == [1]
    assert_fits(page)
    shoot(page, artifacts, "layout-consent-phone")
    context.close()


@pytest.mark.usefixtures("shared_seal_key")
def test_the_sign_off_forms_keep_room_between_their_buttons_and_what_follows(
    app: Flask, live_server: str, laptop: BrowserContext, artifacts: Path
) -> None:
    client = signed_in_consultant(app)
    path = freeze(client, engagement_with_decision(app, client))
    response = signoff_post(client, f"{path}/signatories", SIGNATORIES[0])
    assert response.status_code == 303  # type: ignore[attr-defined]
    page = sign_in(laptop, live_server)
    page.goto(live_server + path)
    withdraw = page.get_by_role("button", name="Withdraw this version")
    for viewport in ({"width": 1280, "height": 800}, PHONE):
        page.set_viewport_size(viewport)
        for form_id, name in (("#signatory-form", "Add signatory"), ("#start", "Create the links")):
            # Each form ends in a rule under its button: the button keeps clear of it.
            form = page.locator(form_id)
            button, end = form.get_by_role("button", name=name).bounding_box(), form.bounding_box()
            assert button and end
            assert end["y"] + end["height"] - (button["y"] + button["height"]) >= 16, form_id
        assert gap_between(page.locator("#start"), withdraw) >= 16
        shoot(page, artifacts, f"layout-version-preparing-{viewport['width']}")

    # Once sent, the withdrawal follows the table of signatories.
    response = signoff_post(client, f"{path}/start", {"order": "sequential"})
    assert response.status_code == 303  # type: ignore[attr-defined]
    page.reload()
    for viewport in ({"width": 1280, "height": 800}, PHONE):
        page.set_viewport_size(viewport)
        assert gap_between(page.locator("#signatories .table-scroll"), withdraw) >= 16
        shoot(page, artifacts, f"layout-version-pending-{viewport['width']}")


def test_the_search_button_stands_beside_the_search_box_on_a_phone(
    app: Flask, live_server: str, browser: Browser, artifacts: Path
) -> None:
    client = signed_in_consultant(app)
    create_engagement(client)
    context = browser.new_context(viewport=PHONE)
    page = sign_in(context, live_server)
    page.goto(f"{live_server}/engagements?q=Tidewater")
    box = page.get_by_role("searchbox", name="Search engagements").bounding_box()
    for control in (
        page.get_by_role("button", name="Search"),
        page.get_by_role("link", name="Clear"),
    ):
        beside = control.bounding_box()
        assert box and beside
        assert beside["y"] < box["y"] + box["height"] and beside["x"] > box["x"] + box["width"]
    assert_fits(page)
    shoot(page, artifacts, "layout-search-phone")
    context.close()


def test_storing_or_discarding_a_preview_are_offered_side_by_side(
    app: Flask, live_server: str, browser: Browser, artifacts: Path
) -> None:
    path = consensus_of_two(app, signed_in_consultant(app))
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = sign_in(context, live_server)
    page.goto(f"{live_server}{path}")
    level = page.locator("#adjust-form input[name='innovation']:not(:checked)").first
    page.locator(f"label[for='{level.get_attribute('id')}']").click()
    page.get_by_role("button", name="Preview recommendation").click()
    # On a consensus each changed level asks for its reason before the buttons.
    expect(page.locator("#store-form textarea")).to_have_count(1)
    store = page.get_by_role("button", name="Store as a new decision")
    discard = page.get_by_role("link", name="Discard changes")
    for viewport in ({"width": 1280, "height": 800}, PHONE):
        page.set_viewport_size(viewport)
        one, other = store.bounding_box(), discard.bounding_box()
        assert one and other
        on_one_line = abs(text_top(store) - text_top(discard)) <= 1
        stacked_alike = abs(one["x"] - other["x"]) <= 1 and abs(one["width"] - other["width"]) <= 1
        assert on_one_line or stacked_alike, (one, other)
        assert_fits(page)
        shoot(page, artifacts, f"layout-preview-actions-{viewport['width']}")
    context.close()


def test_on_a_phone_the_what_if_is_reached_from_the_top_of_the_result(
    app: Flask, live_server: str, browser: Browser, artifacts: Path
) -> None:
    path = consensus_of_two(app, signed_in_consultant(app))
    context = browser.new_context(viewport=PHONE)
    page = sign_in(context, live_server)
    page.goto(f"{live_server}{path}")
    # On a phone the panel comes after the whole explanation, many screens down.
    form = page.locator("#adjust-form")
    assert box_of(form)["y"] > 5 * PHONE["height"]
    jump = page.get_by_role("link", name="Adjust an answer")
    expect(jump).to_be_in_viewport()
    jump.click()
    expect(page.get_by_role("heading", name="Adjust an answer")).to_be_in_viewport()
    shoot(page, artifacts, "layout-what-if-jump-phone")
    # Beside the explanation, on a laptop, the panel is in view and needs no link.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server}{path}")
    expect(jump).to_be_hidden()
    expect(form).to_be_in_viewport()
    context.close()


# A real German word, and a name typed without a space: neither has a place to break.
COMPOUND = "Donaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft"
UNSPACED = "Northlight_Films_International_Coproductions_Department_of_Documentary_Series"


@pytest.mark.parametrize("screen", ["phone", "laptop"])
def test_names_without_a_space_break_on_the_consultants_pages(
    app: Flask, live_server: str, browser: Browser, screen: str
) -> None:
    client = signed_in_consultant(app)
    engagement_id = create_engagement(
        client,
        project_name=UNSPACED,
        client_organisation=COMPOUND,
        producer_name=(UNSPACED + "_" + COMPOUND)[:120],
        creator_name=COMPOUND,
    )
    context = browser.new_context(viewport=PHONE if screen == "phone" else LAPTOP)
    page = sign_in(context, live_server)
    base = f"/engagements/{engagement_id}"
    for path in ("/engagements", base, f"{base}/edit", f"{base}/invitations/new"):
        page.goto(live_server + path)
        assert_fits(page)
    context.close()


def test_partners_names_in_the_gaps_table_are_not_cut_mid_word(
    app: Flask, live_server: str, browser: Browser
) -> None:
    client = signed_in_consultant(app)
    engagement_id = create_engagement(client)
    # A long name in one script takes the room; the others keep their words whole.
    people = (
        ("王小明" * 10, "producer", ANSWERS),
        ("Maximiliana Wolkonskaja", "creator", {**ANSWERS, "innovation": 1}),
        ("Bartholomew Featherstonehaugh", "creator", {**ANSWERS, "timeline_pressure": 1}),
    )
    submitted(app, engagement_id, people)
    consensus = post(client, f"/engagements/{engagement_id}/consensus").headers["Location"]
    for screen in (LAPTOP, PHONE):
        context = browser.new_context(viewport=screen)
        page = sign_in(context, live_server)
        page.goto(live_server + consensus)
        settled(page)
        head = page.locator(".alignment-table thead")
        for word in ("Maximiliana", "Bartholomew"):
            # A name shortened in sight is there in full for screen readers, drawn on no line.
            assert max(lines_of(head, word)) == 1, (screen, word)
        context.close()


def test_a_long_email_address_breaks_on_the_account_page(
    app: Flask, live_server: str, browser: Browser
) -> None:
    email = "maximilianawolkonskajarasumowskaja.productions@internationalcoproductions.example"
    make_consultant(app, email=email)
    for screen in (LAPTOP, PHONE):
        context = browser.new_context(viewport=screen)
        page = sign_in(context, live_server, email=email)
        page.goto(live_server + "/account")
        assert_fits(page)
        context.close()
