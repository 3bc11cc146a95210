"""Pages read in full on a laptop and a phone: questions, levels and what each level means."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browsertools import LAPTOP, PHONE, assert_accessible, assert_fits, shoot, sign_in
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect
from sqlalchemy import select
from webtools import (
    ANSWERS,
    consensus_of_two,
    create_engagement,
    invite,
    signed_in_consultant,
)

from assess.engine import evaluate
from assess.extensions import db
from assess.factors import BY_KEY, FACTORS
from assess.models import DecisionRecord, Engagement, Respondent, utcnow
from assess.questionnaire import PAGES, record_decision

pytestmark = pytest.mark.browser

# A wall screen or projector the client reads from across the table.
PROJECTOR = {"width": 1920, "height": 1080}


# A closed select shows one line and cuts off the rest: list every option wider than its
# select's text box (the arrow takes about 20 pixels of the padding box).
CUT_OFF_OPTIONS = """() => {
  const ruler = document.createElement('canvas').getContext('2d');
  return [...document.querySelectorAll('select')].flatMap(select => {
    const style = getComputedStyle(select);
    ruler.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const room = select.clientWidth - parseFloat(style.paddingLeft)
      - parseFloat(style.paddingRight) - 20;
    return [...select.options]
      .filter(option => ruler.measureText(option.text).width > room)
      .map(option => `${select.id}: ${option.text}`);
  });
}"""

# Nothing of the element is cut off or sticks out of its card.
SHOWN_IN_FULL = """element => {
  const own = element.getBoundingClientRect();
  const card = element.closest('.card').getBoundingClientRect();
  return element.scrollWidth <= element.clientWidth + 1
    && own.left >= card.left - 0.5 && own.right <= card.right + 0.5;
}"""


def stacked(page: Page, key: str) -> bool:
    """Say whether a question's five levels stand one under another."""
    boxes = [page.locator(f"label[for='{key}-{level}']").bounding_box() for level in range(1, 6)]
    assert all(boxes)
    return all(
        below["y"] >= above["y"] + above["height"]
        for above, below in zip(boxes, boxes[1:], strict=False)
    )


def font_size(page: Page, selector: str) -> float:
    return float(page.eval_on_selector(selector, "e => parseFloat(getComputedStyle(e).fontSize)"))


def shown_in_full(locator: Locator) -> bool:
    return bool(locator.evaluate(SHOWN_IN_FULL))


def test_the_intake_session_reads_like_the_questionnaire_in_larger_type(
    app: Flask, live_server: str, laptop: BrowserContext, artifacts: Path
) -> None:
    client = signed_in_consultant(app)
    engagement_id = create_engagement(client)
    link = invite(client, engagement_id)

    respondent = laptop.new_page()
    respondent.goto(f"{live_server}{link}/step/1")
    session = sign_in(laptop, live_server)
    session.goto(f"{live_server}/engagements/{engagement_id}/session")
    expect(session.get_by_role("heading", name="Intake session")).to_be_visible()

    first = PAGES[0].keys
    for page in (respondent, session):
        # The same question under the same number, its levels one under another.
        expect(page.locator(f"#factor-{first[0]} .factor-label")).to_have_text(
            f"1. {BY_KEY[first[0]].label}"
        )
        expect(page.locator(f"#factor-{first[1]} .factor-help")).to_be_visible()
        for key in first:
            assert stacked(page, key), key
    # On the shared screen the type is larger, for everyone at the table.
    for part in (".factor-question", ".factor-help", ".scale-option .anchor"):
        selector = f"#factor-{first[0]} {part}"
        assert font_size(session, selector) > font_size(respondent, selector), part
    shoot(session, artifacts, "session-like-questionnaire-laptop")


def consensus_decision(app: Flask) -> tuple[str, dict[str, int]]:
    """Two respondents answered apart; return their consensus decision's path and answers."""
    client = signed_in_consultant(app)
    path = consensus_of_two(app, client)
    with app.app_context():
        record = db.session.scalars(select(DecisionRecord)).one()
        return path, dict(record.answers)


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_every_level_and_its_meaning_reads_in_full_on_the_consensus_page(
    app: Flask, live_server: str, browser: Browser, artifacts: Path, viewport: dict[str, int]
) -> None:
    path, answers = consensus_decision(app)
    context = browser.new_context(viewport=viewport)
    page = sign_in(context, live_server)
    page.goto(live_server + path)
    expect(page.get_by_role("heading", name="Agreed values")).to_be_visible()
    assert page.evaluate(CUT_OFF_OPTIONS) == []

    # Each answer shows what its level means, in full.
    for factor in FACTORS:
        meaning = page.locator(f"#adjust-{factor.key} .level-meaning:visible")
        expect(meaning).to_have_text(factor.anchor(answers[factor.key]))
        assert shown_in_full(meaning), factor.key
        for level in range(1, 6):
            said = re.compile(rf"^{level}\W+{re.escape(factor.anchor(level))}$")
            choice = page.get_by_role("radio", name=said)
            expect(choice).to_have_count(1)
    # Choosing another level says at once what it means, and previews the recommendation.
    page.locator("label[for='adjust-timeline_pressure-1']").click()
    meaning = page.locator("#adjust-timeline_pressure .level-meaning:visible")
    expect(meaning).to_have_text(BY_KEY["timeline_pressure"].anchor(1))
    expect(page.locator("#preview-notice")).to_be_visible()

    # The agreed value: every factor with each partner's level, and each choice of level.
    for label in page.locator("#agree-form fieldset label").all():
        assert shown_in_full(label), label.inner_text()
    expect(page.locator("label[for='agree-factor-timeline_pressure']")).to_have_text(
        "Timeline pressure Ann Lee: 3, Bo Chen: 5 · gap 2 · now 4 (the cautious middle)"
    )
    expect(page.get_by_role("radio", name="No agreed value: the cautious middle")).to_be_visible()
    # Choosing a factor and a level says what that level means for that factor.
    agreed_meaning = page.locator("#agree-meaning")
    expect(agreed_meaning).to_be_hidden()
    page.locator("label[for='agree-factor-timeline_pressure']").click()
    page.locator("label[for='agree-value-4']").click()
    expect(agreed_meaning).to_have_text(
        "Timeline pressure at 4: " + BY_KEY["timeline_pressure"].anchor(4)
    )
    page.locator("label[for='agree-factor-iteration_readiness']").click()
    expect(agreed_meaning).to_have_text(
        "Readiness for rapid iteration at 4: " + BY_KEY["iteration_readiness"].anchor(4)
    )
    page.locator("label[for='agree-value-middle']").click()
    expect(agreed_meaning).to_be_hidden()
    assert_fits(page)
    assert_accessible(page)
    page.locator("#agree-title").scroll_into_view_if_needed()
    name = "laptop" if viewport == LAPTOP else "phone"
    shoot(page, artifacts, f"consensus-levels-{name}")
    context.close()


LONG_PROJECT = ("The Northern Lights Festival of Immersive Documentary Storytelling " * 3)[:200]
# An address as a client organisation: one word longer than a phone is wide.
LONG_WORD = "northernlightsimmersivedocumentarystorytellingfestival.example.org"
PEOPLE = [
    "Maria-Josefina Alexandra van der Berghe-Montgomery",
    "Christopher Alexander Wellington-Smythe III",
    "أحمد عبد الرحمن",
    "李安娜",
    "Oluwaseun Adebayo-Okonkwo",
]


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_long_names_and_many_respondents_stay_inside_their_cards(
    app: Flask, live_server: str, browser: Browser, artifacts: Path, viewport: dict[str, int]
) -> None:
    client = signed_in_consultant(app)
    engagement_id = create_engagement(
        client,
        project_name=LONG_PROJECT,
        client_organisation=LONG_WORD,
        producer_name=PEOPLE[0],
        creator_name=PEOPLE[1],
    )
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        for i, name in enumerate(PEOPLE):
            answers = {f.key: 1 + (i + n) % 5 for n, f in enumerate(FACTORS)}
            side = "producer" if i % 2 == 0 else "creator"
            engagement.respondents.append(
                Respondent(name=name, side=side, answers=answers, submitted_at=utcnow())
            )
        db.session.commit()
    context = browser.new_context(viewport=viewport)
    page = sign_in(context, live_server)
    name = "laptop" if viewport == LAPTOP else "phone"
    for path in ("/engagements", f"/engagements/{engagement_id}"):
        page.goto(live_server + path)
        assert_fits(page)
        for card in page.locator(".card").all():
            assert card.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), path
        shoot(page, artifacts, f"long-names-{path.count('/')}-{name}")
    # On a laptop every respondent's column of answers shows without scrolling sideways.
    if viewport == LAPTOP:
        table = page.locator(".compare-table")
        region = page.locator(".compare-table").locator("xpath=..")
        assert table.evaluate("e => e.scrollWidth") <= region.evaluate("e => e.clientWidth") + 1
    context.close()


def test_the_intake_session_grows_on_a_projector(
    app: Flask, live_server: str, browser: Browser, artifacts: Path
) -> None:
    client = signed_in_consultant(app)
    engagement_id = create_engagement(client)
    sizes = {}
    for name, viewport in (("laptop", {"width": 1280, "height": 800}), ("projector", PROJECTOR)):
        context = browser.new_context(viewport=viewport)
        page = sign_in(context, live_server)
        page.goto(f"{live_server}/engagements/{engagement_id}/session")
        key = PAGES[0].keys[0]
        sizes[name] = [
            font_size(page, f"#factor-{key} {part}")
            for part in (".factor-question", ".factor-help", ".scale-option .anchor")
        ]
        assert_fits(page)
        shoot(page, artifacts, f"session-{name}")
        context.close()
    # Read from across a room, the wide screen's type is larger than a laptop's.
    pairs = zip(sizes["laptop"], sizes["projector"], strict=True)
    assert all(big >= small * 1.15 for small, big in pairs), sizes


def test_the_two_revenue_shares_line_up_on_a_laptop_and_stack_on_a_phone(
    app: Flask, live_server: str, browser: Browser, artifacts: Path
) -> None:
    client = signed_in_consultant(app)
    engagement_id = create_engagement(client)
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        record = record_decision(db.session, engagement, evaluate(ANSWERS))
        db.session.commit()
        path = f"/engagements/{engagement_id}/decisions/{record.id}/charter"

    def box(page: Page, selector: str) -> dict[str, float]:
        found = page.locator(selector).bounding_box(timeout=5000)
        assert found is not None, selector
        return found

    for name, size in (("laptop", LAPTOP), ("phone", PHONE)):
        context = browser.new_context(viewport=size)
        page = sign_in(context, live_server)
        page.goto(live_server + path)
        hint = box(page, "#hint-revenue_split")
        labels = [box(page, f"label[for=field-revenue_{side}]") for side in ("producer", "creator")]
        inputs = [box(page, f"#field-revenue_{side}") for side in ("producer", "creator")]
        assert hint["y"] + hint["height"] <= labels[0]["y"], name  # the hint heads the pair
        if name == "laptop":  # side by side: labels and inputs on one line each
            assert labels[0]["x"] < labels[1]["x"], name
            assert abs(labels[0]["y"] - labels[1]["y"]) < 1, (name, labels)
            assert abs(inputs[0]["y"] - inputs[1]["y"]) < 1, (name, inputs)
        else:  # stacked: each label sits right above its own input, the same way
            assert inputs[0]["y"] + inputs[0]["height"] <= labels[1]["y"], name
            gaps = [
                i["y"] - (lab["y"] + lab["height"]) for lab, i in zip(labels, inputs, strict=True)
            ]
            assert abs(gaps[0] - gaps[1]) < 1, (name, gaps)
        assert_fits(page)
        page.locator("#hint-revenue_split").scroll_into_view_if_needed()
        shoot(page, artifacts, f"charter-revenue-{name}")
        context.close()
