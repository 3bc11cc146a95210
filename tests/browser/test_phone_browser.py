"""On a phone, 320 and 390 pixels wide: every page a respondent, a signatory, a visitor of the
verification page or the consultant meets fits the screen, taps comfortably and breaks long values
well; the consultant's tables also keep to a tablet's width."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from browsertools import assert_accessible, lines_of, shoot, sign_in
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, BrowserContext, FilePayload, Page, ViewportSize, expect
from signofftools import (  # noqa: F401  (fixtures)
    Setup,
    engagement_with_decision,
    freeze,
    seal_key_files,
    send,
    shared_seal_key,
)
from signofftools import approve as approve_by_post
from sqlalchemy import select
from webtools import (
    ANSWERS,
    CREATOR_ANSWERS,
    PASSWORD,
    create_engagement,
    expire_invitation,
    invite,
    post,
    respondent_id,
    signed_in_consultant,
    submitted,
)

from assess.extensions import db
from assess.models import CharterVersion, Signatory, utcnow
from assess.questionnaire import PAGES

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("shared_seal_key")]

# The narrowest phone still sold, and a common one.
PHONES: dict[str, ViewportSize] = {
    "320": {"width": 320, "height": 640},
    "390": {"width": 390, "height": 844},
}
TAP = 44  # the smallest comfortable tap target, in CSS pixels
TABLET: ViewportSize = {"width": 768, "height": 1024}

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

# The widths of the lines a text occupies, one entry per line.
LINE_WIDTHS = """element => {
  const range = document.createRange();
  range.selectNodeContents(element);
  const lines = new Map();
  for (const box of range.getClientRects()) {
    const top = Math.round(box.top);
    lines.set(top, (lines.get(top) || 0) + box.width);
  }
  return [...lines.values()];
}"""

# Empty text fields (a hint shows only there) whose hint is wider than the room the field
# leaves for it, so that it reads cut off.
CUT_PLACEHOLDERS = """() => {
  const canvas = document.createElement('canvas').getContext('2d');
  return [...document.querySelectorAll('main input[placeholder]')].filter(e => {
    if (e.value) return false;
    const s = getComputedStyle(e);
    canvas.font = `${s.fontStyle} ${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
    const room = e.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
    return canvas.measureText(e.placeholder).width > room;
  }).map(e => e.name);
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
    # A page's text can be visible before its stylesheet applies: measure the styled page.
    page.wait_for_load_state("load")
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
    assert not page.evaluate(CUT_PLACEHOLDERS), (page.url, page.evaluate(CUT_PLACEHOLDERS))


def heights(page: Page, selector: str) -> list[float]:
    page.wait_for_load_state("load")
    return [
        box["height"] for box in (e.bounding_box() for e in page.locator(selector).all()) if box
    ]


def assert_hashes_wrap_evenly(page: Page) -> None:
    """Each SHA-256 stays inside its box, on at most two lines of about the same length."""
    hashes = page.locator("main p.hash, main dd.hash, main td.hash").all()
    assert hashes, page.url
    for element in hashes:
        assert element.evaluate("e => e.scrollWidth <= e.clientWidth"), page.url
        text = element.inner_text()
        digest = re.search(r"[0-9a-f]{64}", text)
        assert digest, text
        widths = element.evaluate(LINE_WIDTHS)  # of the text: a cell's label is not counted
        assert len(widths) <= 2, (page.url, digest.group(0), widths)
        assert min(widths) >= max(widths) / 2, (page.url, digest.group(0), widths)


def assert_on_one_line(page: Page, text: str) -> None:
    lines = lines_of(page.locator("main"), text)
    assert lines and all(n == 1 for n in lines), (page.url, text, lines)


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
    expire_invitation(app, "Eve")
    rob = respondent_id(app, "Rob")
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

        for link, heading in ((expired, "This link has expired"), (revoked, "withdrawn")):
            page.goto(live_server + link)
            expect(page.get_by_role("heading", name=re.compile(heading))).to_be_visible()
            assert_fits_the_phone(page)
        page.close()


def approve(page: Page, name: str) -> None:
    page.fill("#field-full_name", name)
    page.locator("label[for='field-consent']").click()
    page.get_by_role("button", name="Approve the charter").click()
    expect(
        page.get_by_text(re.compile(r"^Thank you\. (Your approval is recorded|Everyone)"))
    ).to_be_visible()


def test_a_signatory_and_a_visitor_of_the_verification_page_read_every_page_on_a_phone(
    app: Flask, live_server: str, phones: dict[str, BrowserContext], artifacts: Path
) -> None:
    client = signed_in_consultant(app)
    setup = engagement_with_decision(app, client)
    first = freeze(client, setup, arbitration="Geneva Chamber of Commerce, seated in Geneva")
    ann = send(client, first, people=({"name": "Ann Lee", "email": "ann@x.example", "role": ""},))
    signer = phones["390"].new_page()
    signer.goto(live_server + ann["Ann Lee"])
    approve(signer, "Ann Lee")  # the last approval seals the charter, in the server's thread
    signed = signer.request.get(f"{live_server}{ann['Ann Lee']}/signed.pdf")
    assert signed.status == 200
    signer.close()

    # The amendment: a change to read, a long name and role, one approval, one lapsed link.
    second = freeze(client, setup, arbitration="Zurich Chamber of Commerce, seated in Zurich")
    long_name = "Maximiliana Alexandrowna Wolkonskaja-Rasumowskaja"
    people = (
        {
            "name": long_name,
            "email": "max@x.example",
            "role": "Head of International Co-Production",
        },
        {"name": "Dan Park", "email": "dan@x.example", "role": "Producer"},
        {"name": "Eve Stone", "email": "eve@x.example", "role": "Producer"},
    )
    links = send(client, second, order="parallel", people=people)
    with app.app_context():
        eve = db.session.scalars(select(Signatory).where(Signatory.name == "Eve Stone")).one()
        eve.expires_at = utcnow() - timedelta(minutes=1)
        versions = db.session.scalars(select(CharterVersion).order_by(CharterVersion.number)).all()
        document_id, frozen = versions[1].document_id, versions[1].sha256
        db.session.commit()
    dan = phones["390"].new_page()
    dan.goto(live_server + links["Dan Park"])
    approve(dan, "Dan Park")
    dan.close()

    for width, context in phones.items():
        page = context.new_page()
        page.goto(live_server + links[long_name])
        changes = page.get_by_role("heading", name="What changes from the signed version 1")
        expect(changes).to_be_visible()
        assert_fits_the_phone(page)  # the change reads in full, not in a table scrolling away
        assert_hashes_wrap_evenly(page)
        assert_on_one_line(page, document_id)
        page.get_by_role("button", name="Approve the charter").click()
        expect(page.get_by_text("Tick the box to confirm your approval.").first).to_be_visible()
        assert_fits_the_phone(page)
        # The tick and its sentence are one box to tap, the tick inside it.
        box = page.locator("label[for='field-consent']").bounding_box()
        tick = page.locator("#field-consent").bounding_box()
        assert box and tick and box["height"] >= TAP, box
        assert box["x"] <= tick["x"] and tick["x"] + tick["width"] <= box["x"] + box["width"]
        assert box["y"] <= tick["y"] and tick["y"] + tick["height"] <= box["y"] + box["height"]
        assert min(heights(page, "main .button")) >= TAP
        assert_accessible(page)
        shoot(page, artifacts, f"phone-{width}-sign-errors")
        page.get_by_role("button", name="Decline the charter").click()
        expect(page.get_by_text("Enter the reason for declining.").first).to_be_visible()
        assert_fits_the_phone(page)

        for link, shown in (
            (links["Dan Park"], "You approved this charter"),
            (links["Eve Stone"], "This link no longer works."),
            (ann["Ann Lee"], "Signed by everyone"),
        ):
            page.goto(live_server + link)
            expect(page.get_by_text(shown)).to_be_visible()
            assert_fits_the_phone(page)
            assert_on_one_line(page, document_id)

        page.goto(live_server + "/verify")
        assert_fits_the_phone(page)
        page.get_by_role("button", name="Verify the file").click()  # no file chosen
        expect(page.get_by_text("There is a problem")).to_be_visible()
        assert_fits_the_phone(page)
        for typed, shown in (
            ("not a fingerprint", "There is a problem"),
            (frozen, "A frozen charter version of this service"),
            ("ab" * 32, "Unknown fingerprint"),
        ):
            page.fill("#field-sha256", typed)
            page.get_by_role("button", name="Look up the fingerprint").click()
            expect(page.get_by_text(shown).first).to_be_visible()
            assert_fits_the_phone(page)
            if typed == frozen:
                assert_on_one_line(page, document_id)  # in the link to the charter's page
        assert_hashes_wrap_evenly(page)  # the unknown fingerprint, repeated under its verdict
        upload: FilePayload = {
            "name": "signed.pdf",
            "mimeType": "application/pdf",
            "buffer": signed.body(),
        }
        page.set_input_files("#field-pdf", files=[upload])
        page.get_by_role("button", name="Verify the file").click()
        expect(page.get_by_role("heading", name="Intact and sealed")).to_be_visible()
        assert_fits_the_phone(page)
        assert_hashes_wrap_evenly(page)
        assert_on_one_line(page, document_id)
        shoot(page, artifacts, f"phone-{width}-verify-intact")

        page.goto(f"{live_server}/verify/{document_id}")
        expect(page.get_by_role("heading", name="Versions of this charter")).to_be_visible()
        assert_fits_the_phone(page)
        assert_hashes_wrap_evenly(page)
        assert_on_one_line(page, document_id)
        expect(page.get_by_role("rowheader", name=re.compile("^Version 2"))).to_be_visible()
        page.close()


# What the consultant taps on its own, not inside a sentence: the menu, buttons, the actions in
# a table, the path back, the decisions, a version, the levels to adjust, a summary to open.
STANDALONE = """() => [...document.querySelectorAll(`
    .site-nav a, .site-nav button, main .button, main .link-button, main .row-actions a,
    main .breadcrumb a, main .decision-list a, main .stack-table tbody th > a,
    main .level-choice label, main .details summary, main .pagination a`)]
  .filter(e => e.getClientRects().length && !e.closest('[hidden]'))
  .map(e => [e.textContent.trim().slice(0, 40), e.getBoundingClientRect().height])
  .filter(([, height]) => height < 44 - 0.5)"""

# The rendered size of each radar chart's axis labels, in CSS pixels, and whether each label
# stays inside the chart's drawing.
RADAR_LABELS = """() => [...document.querySelectorAll('main .radar-svg')].map(svg => {
  const box = svg.viewBox.baseVal, scale = svg.getBoundingClientRect().width / box.width;
  return [...svg.querySelectorAll('.axis-label')]
    .filter(label => getComputedStyle(label).display !== 'none')
    .map(label => {
      const b = label.getBBox();
      return {
        text: label.textContent, px: parseFloat(getComputedStyle(label).fontSize) * scale,
        inside: b.x >= box.x && b.y >= box.y && b.x + b.width <= box.x + box.width
          && b.y + b.height <= box.y + box.height,
      };
    });
}).flat()"""


def assert_taps(page: Page) -> None:
    """Every link or button that stands on its own is a comfortable tap."""
    small = page.evaluate(STANDALONE)
    assert not small, (page.url, small)


def assert_radar_reads(page: Page, smallest: float = 10) -> None:
    """The radar chart's factor names are large enough to read, and none is cut off."""
    labels = page.evaluate(RADAR_LABELS)
    assert len(labels) >= 8, page.url
    bad = [label for label in labels if label["px"] < smallest or not label["inside"]]
    assert not bad, (page.url, bad)


def assert_consultant_page(page: Page) -> None:
    assert_fits_the_phone(page)
    assert_taps(page)


LONG_NAME = "Maximiliana Alexandrowna Wolkonskaja-Rasumowskaja"
LONG_EMAIL = "maximiliana.wolkonskaja-rasumowskaja@international-coproductions.example"


def engagement_for_a_phone(
    app: Flask, client: FlaskClient, live_server: str, context: BrowserContext
) -> dict[str, str]:
    """An engagement with long names everywhere: three partners and their consensus with a value
    agreed, an intake session under way, a signed charter and its amendment out for sign-off to
    three people; return the paths of its pages. The charter is signed in the browser: the last
    approval seals it, in the server's thread."""
    engagement_id = create_engagement(
        client,
        project_name="Saltmarsh: a six-part documentary series about the North Sea coast",
        client_organisation="Nordsee Küstenfilm Produktionsgesellschaft mbH & Co. KG",
        producer_name=LONG_NAME,
        producer_role="Head of International Co-Production",
        creator_name="Bartholomew Featherstonehaugh-Cholmondeley",
        creator_role="Showrunner and lead writer",
    )
    submitted(
        app,
        engagement_id,
        (
            (LONG_NAME, "producer", ANSWERS),
            ("Bartholomew Featherstonehaugh-Cholmondeley", "creator", CREATOR_ANSWERS),
            ("Konstantinos Papadopoulos-Alexandropoulos", "creator", {**ANSWERS, "innovation": 1}),
        ),
    )
    consensus = post(client, f"/engagements/{engagement_id}/consensus").headers["Location"]
    agreed = (
        post(
            client,
            f"{consensus}/agree",
            {"factor": "timeline_pressure", "value": "4", "note": "Settled in the workshop."},
        )
        .headers["Location"]
        .split("#")[0]
    )
    invite(client, engagement_id, respondent_name="Eleonora Wittelsbach-Hohenzollern")
    base = f"/engagements/{engagement_id}"
    post(client, f"{base}/session", {"session": "new", "action": "save", "innovation": "2"})
    setup = Setup(engagement_id, int(agreed.rsplit("/", 1)[1]))
    first = freeze(client, setup, arbitration="Geneva Chamber of Commerce, seated in Geneva")
    signer = send(
        client, first, people=({"name": "Ann Lee", "email": "ann@x.example", "role": ""},)
    )
    page = context.new_page()
    page.goto(live_server + signer["Ann Lee"])
    approve(page, "Ann Lee")
    page.close()
    second = freeze(
        client,
        setup,
        arbitration="Zurich Chamber of Commerce, seated in Zurich",
        data_storage="https://files.northlight-films-international.example/projects/saltmarsh",
    )
    people = (
        {"name": LONG_NAME, "email": LONG_EMAIL, "role": "Head of International Co-Production"},
        {"name": "Dan Park", "email": "dan@x.example", "role": "Producer"},
        {"name": "Eve Stone", "email": "eve@x.example", "role": "Producer"},
    )
    links = send(client, second, order="parallel", people=people)
    approve_by_post(client, links["Dan Park"], "Dan Park")
    # One intake session's own result, in an engagement of its own.
    session = {**{key: str(level) for key, level in ANSWERS.items()}, "action": "decide"}
    single = post(client, f"/engagements/{create_engagement(client)}/session", session)
    return {
        "engagement": base,
        "result": agreed,
        "single": single.headers["Location"],
        "charter": f"{agreed}/charter",
        "signed": first,
        "amendment": second,
    }


def test_the_consultant_works_on_a_phone_without_anything_cut_off(
    app: Flask, live_server: str, phones: dict[str, BrowserContext], artifacts: Path
) -> None:
    client = signed_in_consultant(app)
    paths = engagement_for_a_phone(app, client, live_server, phones["390"])
    with app.app_context():
        document_id = db.session.scalars(
            select(CharterVersion.document_id).where(CharterVersion.number == 2)
        ).one()

    for width, context in phones.items():
        page = sign_in(context, live_server)
        page.goto(live_server + "/engagements")
        expect(page.get_by_role("heading", name="Engagements")).to_be_visible()
        assert_consultant_page(page)
        # The menu keeps to one line, signing out included.
        tops = {
            round(box["y"])
            for box in (
                e.bounding_box() for e in page.locator(".site-nav a, .site-nav button").all()
            )
            if box
        }
        assert len(tops) == 1, tops

        page.goto(live_server + paths["engagement"])
        assert_consultant_page(page)  # the parties' card, the answers side by side, the versions
        assert_radar_reads(page)
        page.once("dialog", lambda dialog: dialog.accept())  # the link they have stops working
        page.locator("#respondents-title ~ .table-scroll button", has_text="New link").first.click()
        expect(page.get_by_role("heading", name=re.compile("^Link for"))).to_be_visible()
        assert page.evaluate("document.activeElement.id") == "new-link"
        assert_consultant_page(page)
        shoot(page, artifacts, f"phone-{width}-engagement")

        page.goto(live_server + "/engagements/new")
        page.get_by_role("button", name="Create engagement").click()
        expect(page.get_by_text("There are 4 problems")).to_be_visible()
        assert_consultant_page(page)
        for path in ("/edit", "/invitations/new", "/session"):
            page.goto(live_server + paths["engagement"] + path)
            assert_consultant_page(page)
        page.get_by_role("button", name="See the recommendation").click()  # seven unanswered
        expect(page.get_by_text("There are 7 problems")).to_be_visible()
        assert_consultant_page(page)

        # The result: the gaps and the answers read in full, the chart's labels too.
        page.goto(live_server + paths["result"])
        expect(page.get_by_role("heading", name="Where the respondents differ")).to_be_visible()
        assert_consultant_page(page)
        assert_radar_reads(page)
        expect(page.locator(".alignment-table .factor-note")).to_have_text(
            "Settled in the workshop."
        )
        assert_accessible(page)
        shoot(page, artifacts, f"phone-{width}-consensus")
        page.get_by_role("button", name="Record the agreed value").click()  # nothing chosen
        expect(page.locator("#agree-errors")).to_be_visible()
        assert_consultant_page(page)
        page.locator("label[for='adjust-planning_complexity-5']").click()
        expect(page.locator("#preview-notice")).to_be_visible()
        assert_consultant_page(page)
        page.goto(live_server + paths["single"])
        assert_consultant_page(page)
        assert_radar_reads(page)

        # The charter's fields, and its preview in a tab of its own.
        page.goto(live_server + paths["charter"])
        assert_consultant_page(page)
        with context.expect_page() as opened:
            page.get_by_role("button", name=re.compile("^Preview the charter")).click()
        preview = opened.value
        preview.wait_for_load_state()
        assert preview.evaluate(
            "document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth"
        )
        preview.close()

        # The amendment out for sign-off: the changes read as blocks, each signatory too.
        page.goto(live_server + paths["amendment"])
        expect(page.get_by_role("heading", name="Changes since signed version 1")).to_be_visible()
        assert_consultant_page(page)
        assert_on_one_line(page, document_id)
        page.locator("#signatories button", has_text="New link").first.click()
        expect(page.get_by_role("heading", name="Personal links")).to_be_visible()
        assert_consultant_page(page)
        assert_accessible(page)
        shoot(page, artifacts, f"phone-{width}-sign-off")
        page.goto(live_server + paths["signed"])
        assert_consultant_page(page)

        page.goto(live_server + "/account")
        assert_consultant_page(page)
        page.get_by_role("link", name="Manage your API tokens").click()
        # One token per phone: an active token's name is not taken twice.
        page.fill("#field-name", f"CRM sync for the Northlight Films co-production office {width}")
        page.get_by_label("Your password").fill(PASSWORD)
        page.get_by_role("button", name="Create token").click()
        expect(page.get_by_role("heading", name="Your new token")).to_be_visible()
        assert_consultant_page(page)
        page.close()


def test_the_consultants_tables_keep_to_a_tablet(
    app: Flask, live_server: str, browser: Browser
) -> None:
    client = signed_in_consultant(app)
    context = browser.new_context(viewport=TABLET, has_touch=True)
    paths = engagement_for_a_phone(app, client, live_server, context)
    page = sign_in(context, live_server)
    for path in (paths["engagement"], paths["amendment"], paths["signed"]):
        page.goto(live_server + path)
        assert_fits_the_phone(page)  # the respondents' and the signatories' tables included
    context.close()


def test_the_token_form_lines_its_fields_up_on_a_phone_and_a_laptop(
    app: Flask, live_server: str, browser: Browser, phones: dict[str, BrowserContext]
) -> None:
    """The password sits in the column of the fields above it: beside nothing on a laptop,
    it is as wide as the token's name; on a phone, as wide as every field."""
    signed_in_consultant(app)
    laptop = browser.new_context(viewport={"width": 1280, "height": 900})
    for context in (*phones.values(), laptop):
        page = sign_in(context, live_server)
        page.goto(live_server + "/account/api-tokens")
        page.wait_for_load_state("load")
        name, password = (
            page.locator(selector).bounding_box() for selector in ("#field-name", "#field-password")
        )
        assert name and password
        assert abs(password["x"] - name["x"]) < 1
        assert abs(password["width"] - name["width"]) < 1, (name, password)
        page.close()
    laptop.close()


# A name with no place to break a line: a compound word, or a company's name given for a person.
ONE_WORD_NAME = "Nordseeküstenfilmproduktionsgesellschaftsverwaltung"


def test_a_name_of_one_long_word_breaks_in_the_chart_legend_and_the_signing_page_footer(
    app: Flask, live_server: str, phones: dict[str, BrowserContext]
) -> None:
    client = signed_in_consultant(app)
    engagement_id = create_engagement(client, producer_name=ONE_WORD_NAME)
    submitted(
        app,
        engagement_id,
        (
            (ONE_WORD_NAME, "producer", ANSWERS),
            ("Bo Chen", "creator", CREATOR_ANSWERS),
        ),
    )
    consensus = post(client, f"/engagements/{engagement_id}/consensus").headers["Location"]
    version = freeze(client, Setup(engagement_id, int(consensus.rsplit("/", 1)[1])))
    signer = {"name": ONE_WORD_NAME, "email": "film@x.example", "role": ""}
    link = send(client, version, people=(signer,))[ONE_WORD_NAME]
    for context in phones.values():
        page = sign_in(context, live_server)
        # The engagement's chart of the answers side by side, and the consensus's profile.
        # (A table may scroll to keep the name whole in its column: only the page is measured.)
        for path in (f"/engagements/{engagement_id}", consensus):
            page.goto(live_server + path)
            expect(page.locator(".legend").first).to_contain_text(ONE_WORD_NAME)
            assert_page_fits(page)
        page.goto(live_server + link)
        expect(page.locator(".site-footer")).to_contain_text(ONE_WORD_NAME)
        assert_page_fits(page)
        page.close()


def assert_page_fits(page: Page) -> None:
    """The page does not scroll sideways, and no box leaves its card."""
    page.wait_for_load_state("load")
    assert page.evaluate(
        "document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth"
    ), page.url
    assert not page.evaluate(OUT_OF_BOUNDS), (page.url, page.evaluate(OUT_OF_BOUNDS))


# The controls whose focus ring a box they sit in cuts off: the ring is drawn 5 pixels around
# the control (a 2-pixel gap, then 3 pixels of outline), and a box that scrolls or clips
# its overflow hides what of it passes its edges.
RING_CUT = """() => {
  const cut = [];
  const controls = [...document.querySelectorAll('main a[href], main button')]
    .filter(e => e.getClientRects().length);
  for (const control of controls) {
    control.focus();
    const ring = control.getBoundingClientRect();
    for (let box = control.parentElement; box && box !== document.body; box = box.parentElement) {
      const s = getComputedStyle(box);
      if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
      const edge = box.getBoundingClientRect();
      if (ring.left - 5 < edge.left - 1 || ring.right + 5 > edge.right + 1
          || ring.top - 5 < edge.top - 1 || ring.bottom + 5 > edge.bottom + 1) {
        cut.push(`${control.textContent.trim()} in ${box.className}`);
        break;
      }
    }
  }
  return cut;
}"""


def test_a_focused_control_in_a_table_shows_its_whole_focus_ring_on_a_phone(
    app: Flask, live_server: str, phones: dict[str, BrowserContext]
) -> None:
    """On a phone a table's rows stack, their controls at the left edge of the table: the ring
    around a focused one must not be cut off there."""
    client = signed_in_consultant(app)
    setup = engagement_with_decision(app, client)
    version = freeze(client, setup)
    send(client, version, people=({"name": "Ann Lee", "email": "ann@x.example", "role": ""},))
    invite(client, setup.engagement_id, respondent_name="Cy Park")
    for context in phones.values():
        page = sign_in(context, live_server)
        for path in (f"/engagements/{setup.engagement_id}", version):
            page.goto(live_server + path)
            page.wait_for_load_state("load")
            page.keyboard.press("Shift")  # the focus is then drawn as for a keyboard user
            assert not page.evaluate(RING_CUT), (path, page.evaluate(RING_CUT))
        page.close()
