"""Every main page, as anyone meets it: no accessibility rule broken at any impact, nothing
scrolling sideways at 320 CSS pixels (a laptop zoomed to 400 %), focus always visible, and a
refused form that leads straight to each field to correct."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from browsertools import assert_accessible, assert_fits, settled, shoot, sign_in_on
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, Page, expect
from signofftools import (  # noqa: F401  (fixtures)
    Setup,
    freeze,
    record,
    seal_key_files,
    send,
    shared_seal_key,
    signed_by_everyone,
)
from signofftools import approve as approve_by_post
from sqlalchemy import select
from webtools import (
    ANSWERS,
    CREATOR_ANSWERS,
    answer_through_link,
    consensus_of_two,
    create_engagement,
    expire_invitation,
    fill_in,
    invite,
    post,
    signed_in_consultant,
)

from assess.extensions import db
from assess.models import CharterVersion, Respondent, Signatory, utcnow

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("shared_seal_key")]


def press(name: str) -> Callable[[Page], None]:
    """Send the page's form unchanged, by the button of that name."""
    return lambda page: page.get_by_role("button", name=name).click()


def type_and_press(label: str, typed: str, name: str) -> Callable[[Page], None]:
    """Type into the field of that label, then send the form by the button of that name."""

    def act(page: Page) -> None:
        page.get_by_label(label).fill(typed)
        page.get_by_role("button", name=name).click()

    return act


@dataclass
class Visit:
    """One page to look at: where it is, what to do there first and what its title says
    (of which page, or which step, it is)."""

    name: str
    path: str
    title: str
    act: Callable[[Page], None] | None = None


def respondent_of(app: Flask, name: str) -> Respondent:
    with app.app_context():
        respondent: Respondent = db.session.scalars(
            select(Respondent).where(Respondent.name == name)
        ).one()
        return respondent


def main_pages(app: Flask, client: FlaskClient) -> tuple[list[Visit], list[Visit]]:
    """Bring one engagement to every state a page shows; return the pages anyone opens and
    the pages the signed-in consultant opens."""
    engagement_id = create_engagement(client)
    base = f"/engagements/{engagement_id}"
    ann = invite(client, engagement_id)
    answer_through_link(client, ann)
    bo = invite(client, engagement_id, side="creator", respondent_name="Bo Chen")
    answer_through_link(client, bo, CREATOR_ANSWERS)
    fresh = invite(client, engagement_id, respondent_name="Cy Park")
    answered = invite(client, engagement_id, respondent_name="Di Ross")
    fill_in(client, answered)
    expired = invite(client, engagement_id, respondent_name="Eve Stone")
    revoked = invite(client, engagement_id, respondent_name="Rob Hale")
    expire_invitation(app, "Eve Stone")
    cy = respondent_of(app, "Cy Park").id
    post(client, f"{base}/respondents/{respondent_of(app, 'Rob Hale').id}/revoke")
    consensus = post(client, f"{base}/consensus").headers["Location"]
    first = freeze(client, Setup(engagement_id, int(consensus.rsplit("/", 1)[1])))
    signers = send(
        client,
        first,
        people=(
            {"name": "Ann Lee", "email": "ann@northlight.example", "role": "Executive producer"},
            {"name": "Bo Chen", "email": "bo@tidewater.example", "role": "Creative director"},
            {"name": "Eve Stone", "email": "eve@tidewater.example", "role": "Producer"},
        ),
        order="parallel",
    )
    approve_by_post(client, signers["Ann Lee"], "Ann Lee")
    with app.app_context():
        late = db.session.scalars(select(Signatory).where(Signatory.name == "Eve Stone")).one()
        late.expires_at = utcnow() - timedelta(minutes=5)
        document_id = db.session.scalars(select(CharterVersion.document_id)).one()
        db.session.commit()
    # A charter still being prepared, and an intake session's result, in engagements of their own.
    other_id = create_engagement(client, project_name="Harbour Lights")
    other = Setup(other_id, record(app, other_id))
    preparing = freeze(client, other)
    session = {**{key: str(level) for key, level in ANSWERS.items()}, "action": "decide"}
    archived = create_engagement(client, project_name="Quiet Cove")
    post(client, f"/engagements/{archived}/archive")
    single = post(
        client,
        f"/engagements/{create_engagement(client, project_name='Salt Roads')}/session",
        session,
    )
    # An archived engagement whose charter everyone signed: deleted once its contract ended.
    # Sealing runs an event loop of its own, which Playwright's, running in this thread,
    # forbids: the charter is signed in a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        signed = int(pool.submit(signed_by_everyone, app, client).result().split("/")[2])
    post(client, f"/engagements/{signed}/archive")

    anyone = [
        Visit("home", "/", "Choose how you will work together"),
        Visit("login", "/login", "Sign in"),
        Visit("login-errors", "/login", "Error: Sign in", press("Sign in")),
        Visit("welcome", fresh, "Welcome"),
        Visit("step-1", f"{fresh}/step/1", "The work (step 1 of 5)"),
        Visit("step-1-errors", f"{fresh}/step/1", "Error: The work (step 1 of 5)", press("Next")),
        Visit("step-4", f"{fresh}/step/4", "Working together (step 4 of 5)"),
        Visit("review", f"{answered}/review", "Review your answers (step 5 of 5)"),
        Visit("respondent-result", f"{ann}/result", "Your result"),
        Visit("invitation-expired", expired, "This link has expired"),
        Visit("invitation-withdrawn", revoked, "This link has been withdrawn"),
        Visit("sign", signers["Bo Chen"], "Charter for Tidewater"),
        Visit("sign-approved", signers["Ann Lee"], "Charter for Tidewater"),
        Visit("sign-expired", signers["Eve Stone"], "This link no longer works · Charter for"),
        Visit("verify", "/verify", "Verify a charter"),
        Visit("verify-document", f"/verify/{document_id}", f"Charter {document_id}"),
        Visit("not-found", "/no-such-page", "Page not found"),
        Visit("api-docs", "/api/v1/docs", "API"),
    ]
    consultant = [
        Visit("engagements", "/engagements", "Engagements"),
        Visit("engagements-none-found", "/engagements?q=Nothing", "Engagements"),
        Visit("engagement-new", "/engagements/new", "New engagement"),
        Visit(
            "engagement-new-errors",
            "/engagements/new",
            "Error: New engagement",
            press("Create engagement"),
        ),
        Visit("engagement", base, "Tidewater"),
        Visit("engagement-edit", f"{base}/edit", "Edit Tidewater"),
        Visit("invite", f"{base}/invitations/new", "Invite a respondent"),
        Visit("respondent-remove", f"{base}/respondents/{cy}/remove", "Remove Cy Park"),
        Visit("session", f"{base}/session", "Intake session"),
        Visit("engagement-archived", f"/engagements/{archived}", "Quiet Cove"),
        Visit("engagement-delete", f"/engagements/{archived}/delete", "Delete Quiet Cove"),
        Visit("engagement-delete-signed", f"/engagements/{signed}/delete", "Delete Tidewater"),
        Visit(
            "engagement-delete-signed-errors",
            f"/engagements/{signed}/delete",
            "Error: Delete Tidewater",
            type_and_press("Type the project name", "tidewater", "Delete for good"),
        ),
        Visit("result", single.headers["Location"], " · Salt Roads"),
        Visit("consensus", consensus, "Integrated Co-Creation"),
        Visit("charter", other.charter_path, "Charter · Harbour Lights"),
        Visit("version-preparing", preparing, "Charter version 1 · Harbour Lights"),
        Visit("version-out-for-sign-off", first, "Charter version 1"),
        Visit("account", "/account", "Your account"),
        Visit("account-errors", "/account", "Error: Your account", press("Change password")),
        Visit("api-tokens", "/account/api-tokens", "API tokens"),
    ]
    return anyone, consultant


# Each control that takes the keyboard, focused in turn: the ones that show no focus ring, on
# themselves or, for a choice drawn by its label, on the label.
UNFOCUSED = """() => {
  const ring = e => { const s = getComputedStyle(e);
                      return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; };
  const controls = [...document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary, iframe, [tabindex="0"]')]
    .filter(e => !e.disabled && e.getClientRects().length);
  const missing = [];
  for (const control of controls) {
    control.focus();
    if (document.activeElement !== control) continue;
    const label = control.id && document.querySelector(`label[for="${control.id}"]`);
    if (!ring(control) && !(label && ring(label))) {
      missing.push(`${control.tagName} ${control.id || control.textContent.trim()}`);
    }
  }
  document.activeElement.blur();
  return missing;
}"""


# Whether the focused control shows a focus ring.
FOCUS_SHOWS = """() => {
  const e = document.activeElement, s = getComputedStyle(e);
  return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
}"""


def assert_focus_shows(page: Page) -> None:
    """Fail when a control shows no focus ring as the keyboard reaches it."""
    # A key press first: the browser then draws focus as for a keyboard user.
    page.keyboard.press("Shift")
    missing = page.evaluate(UNFOCUSED)
    assert not missing, (page.url, missing)
    # A date field takes the keyboard in its parts one Tab after another (day, month, year
    # and the button of its calendar): it shows its focus in each.
    for date in page.locator("input[type=date]").all():
        date.focus()
        parts = 0
        while date.evaluate("d => document.activeElement === d"):
            assert page.evaluate(FOCUS_SHOWS), (page.url, date.get_attribute("name"), parts)
            page.keyboard.press("Tab")
            parts += 1
        assert parts == 4, parts


# Where the summary of a refused form leads: each link to a field that says what is wrong
# with it, described by its message and marked invalid (a group of choices through its
# fieldset).
SUMMARY_TARGETS = """() => [...document.querySelectorAll('.error-summary a')].map(link => {
  const target = document.getElementById(link.getAttribute('href').slice(1));
  if (!target) return `${link.textContent}: no such field`;
  const holder = target.closest('fieldset[aria-describedby]') || target;
  const said = (holder.getAttribute('aria-describedby') || '').split(' ')
    .map(id => document.getElementById(id)?.textContent || '').join(' ');
  const message = link.textContent.split(': ').slice(1).join(': ');
  if (!said.includes(message)) return `${link.textContent}: not described by its message`;
  if (holder === target && target.getAttribute('aria-invalid') !== 'true')
    return `${link.textContent}: not marked invalid`;
  return null;
}).filter(Boolean)"""

# The fields where a browser may fill in the user's own details, and what it fills in; every
# other field typed into is about someone else, or no detail of a person at all.
OWN_DETAILS = {
    ("login", "email"): "username",
    ("login", "password"): "current-password",
    ("account", "current_password"): "current-password",
    ("account", "new_password"): "new-password",
    ("account", "confirm_password"): "new-password",
    ("api-tokens", "password"): "current-password",
    ("sign", "full_name"): "name",
    ("engagement-new", "client_organisation"): "organization",
    ("engagement-edit", "client_organisation"): "organization",
}

TYPED_FIELDS = """() => Object.fromEntries(
  [...document.querySelectorAll('main input[type=text], main input[type=email], '
                                + 'main input[type=password]')]
    .map(e => [e.name, e.getAttribute('autocomplete')]))"""


def assert_autocomplete(page: Page, visit: Visit) -> None:
    for name, autocomplete in page.evaluate(TYPED_FIELDS).items():
        wanted = OWN_DETAILS.get((visit.name.removesuffix("-errors"), name), "off")
        assert autocomplete == wanted, (visit.name, name, autocomplete)


# The pages saved as screenshots, to look at after the run: one of each kind.
SHOTS = {
    "home",
    "step-1-errors",
    "review",
    "sign",
    "not-found",
    "engagements",
    "engagement-new-errors",
    "engagement",
    "engagement-delete-signed",
    "engagement-delete-signed-errors",
    "session",
    "charter",
    "version-preparing",
    "account",
}


# The room between the facts of an engagement to delete and the form that deletes it.
CONFIRM_GAP = """() => {
  const form = document.querySelector('main form[action$="/delete"]');
  return form.getBoundingClientRect().top
         - document.querySelector('main .facts').getBoundingClientRect().bottom;
}"""


def title_of(page: Page) -> str:
    # Names typed by people are isolated in the title as on the page; a reader skips the marks.
    return page.title().replace("\u2068", "").replace("\u2069", "")


def test_every_main_page_passes_every_accessibility_rule_and_reflows_at_320_pixels(
    app: Flask, live_server: str, browser: Browser, artifacts: Path
) -> None:
    """320 CSS pixels is what a 1280-pixel laptop shows zoomed to 400 %: nothing may scroll
    sideways, and the same pages are the phone's."""
    anyone, consultant = main_pages(app, signed_in_consultant(app))
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    for visits in (anyone, consultant):
        if visits is consultant:
            sign_in_on(page, live_server)
        for visit in visits:
            page.goto(live_server + visit.path)
            if visit.act:
                visit.act(page)
            settled(page)
            assert visit.title in title_of(page), (visit.name, page.title())
            assert_accessible(page)
            assert_fits(page)
            assert_autocomplete(page, visit)
            if visit.title.startswith("Error: "):
                expect(page.locator(".error-summary")).to_be_focused()
                assert not page.evaluate(SUMMARY_TARGETS), (
                    visit.name,
                    page.evaluate(SUMMARY_TARGETS),
                )
            assert_focus_shows(page)
            if visit.name.startswith("engagement-delete"):
                # What is asked to delete stands apart from the facts above it.
                assert page.evaluate(CONFIRM_GAP) >= 20, (visit.name, page.evaluate(CONFIRM_GAP))
            if visit.name in SHOTS:
                shoot(page, artifacts, f"{visit.name}-320")
            if visit.name == "charter":
                # The charter's preview, in a tab of its own, is read as a page too.
                with context.expect_page() as opened:
                    page.get_by_role("button", name="Preview the charter").click()
                preview = opened.value
                assert_accessible(preview)
                # Its wide tables scroll on their own; the page does not.
                assert preview.evaluate(
                    "document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth"
                )
                shoot(preview, artifacts, "charter-preview-320")
                preview.close()
    context.close()


def test_the_charter_in_the_signing_page_shows_the_focus_on_a_wide_screen(
    app: Flask, live_server: str, browser: Browser
) -> None:
    """A keyboard user tabs into the charter's frame to scroll it: the frame shows it has the
    focus (a phone shows no frame, so the pages at 320 pixels do not meet it)."""
    anyone, _ = main_pages(app, signed_in_consultant(app))
    sign = next(visit for visit in anyone if visit.name == "sign")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_server + sign.path)
    expect(page.locator("iframe.charter-preview")).to_be_visible()
    assert_focus_shows(page)
    page.close()


# How a box is drawn: what a high contrast theme leaves of its colours and lines. A box with
# no background of its own shows the one behind it.
LOOK = r"""e => {
  const s = getComputedStyle(e);
  const clear = colour => /^rgba\(.*, 0\)$/.test(colour);
  let behind = e;
  while (behind && clear(getComputedStyle(behind).backgroundColor))
    behind = behind.parentElement;
  return [behind ? getComputedStyle(behind).backgroundColor : 'canvas', s.color,
          s.borderTopColor, s.borderTopWidth, s.outlineStyle];
}"""


# The elements that would move or fade: a transition or an animation that takes time.
MOVING = """() => [...document.querySelectorAll('*')].filter(e => {
  const s = getComputedStyle(e);
  return [s.transitionDuration, s.animationDuration].some(d => d.split(', ').some(parseFloat));
}).map(e => e.tagName + '.' + e.className)"""


def test_a_high_contrast_theme_shows_the_chosen_level_and_the_focus_and_nothing_moves(
    app: Flask, live_server: str, browser: Browser, artifacts: Path
) -> None:
    """In a high contrast theme the browser draws every box in the theme's few colours: a
    level chosen must still stand out from the others, and a focused control still show. A
    reader who asks for less motion sees no transition."""
    client = signed_in_consultant(app)
    consensus = consensus_of_two(app, client)
    link = invite(client, int(consensus.split("/")[2]), respondent_name="Cy Park")
    context = browser.new_context(forced_colors="active", reduced_motion="reduce")
    page = context.new_page()
    page.goto(f"{live_server}{link}/step/1")
    assert not page.evaluate(MOVING)
    page.locator("label[for='innovation-3']").click()
    chosen = page.locator("label[for='innovation-3'] .level").evaluate(LOOK)
    assert chosen != page.locator("label[for='innovation-2'] .level").evaluate(LOOK)
    assert_focus_shows(page)
    shoot(page, artifacts, "step-forced-colours")

    sign_in_on(page, live_server)
    page.goto(live_server + consensus)
    current = page.locator("#adjust-form input[type=radio]:checked").first.get_attribute("id")
    other = page.locator("#adjust-form input[type=radio]:not(:checked)").first.get_attribute("id")
    chosen = page.locator(f"label[for='{current}']").evaluate(LOOK)
    assert chosen != page.locator(f"label[for='{other}']").evaluate(LOOK)
    assert not page.evaluate(MOVING)
    assert_focus_shows(page)
    shoot(page, artifacts, "consensus-forced-colours")
    context.close()
