"""Every kind of page the app serves is valid HTML5 whose internal references hold: no parse
error, each id once, every label, ARIA reference and in-page link naming an element that is
there, every posted form carrying its CSRF token, a language, a title, one h1 and headings
that go down one level at a time."""

from __future__ import annotations

import functools
import hashlib
import html
import re
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from xml.etree.ElementTree import Element

import pytest
from flask import Flask
from flask.testing import FlaskClient
from signofftools import (  # noqa: F401  (fixtures)
    SIGNATORIES,
    Setup,
    approve,
    engagement_with_decision,
    freeze,
    name_signatories,
    record,
    seal_key_files,
    send,
    shown_links,
    upload,
)
from sqlalchemy import select
from tinyhtml5.parser import HTMLParser
from webtools import (
    ANSWERS,
    CREATOR_ANSWERS,
    ENGAGEMENT,
    PASSWORD,
    answer_through_link,
    app_on,
    create_engagement,
    expire_invitation,
    fill_in,
    invite,
    post,
    respondent_id,
    signed_in_consultant,
)

from assess.extensions import db
from assess.listing import PAGE_SIZE
from assess.models import Signatory, utcnow
from assess.testing import fresh_postgres

# One worker walks the journey once, for every page's test.
pytestmark = [pytest.mark.db, pytest.mark.xdist_group("markup")]


@dataclass
class Page:
    """A page as it was answered: its path, status and HTML."""

    path: str
    status: int
    markup: str


@dataclass
class Journey:
    """The pages seen on the way, by name."""

    seen: dict[str, Page] = field(default_factory=dict)

    def keep(self, name: str, response: Any, status: int = 200) -> Any:
        """Keep a page, answered as expected."""
        assert name not in self.seen, name
        assert (response.status_code, response.mimetype) == (status, "text/html"), name
        self.seen[name] = Page(response.request.path, status, response.get_data(as_text=True))
        return response

    def markup(self, name: str) -> str:
        return self.seen[name].markup


# Every page kind the journey meets.
PAGE_NAMES = (
    # Anyone's.
    "home",
    "login",
    "login-refused",
    "not-found",
    "method-not-allowed",
    "cookie-check",
    "api-docs",
    "verify",
    "verify-not-a-pdf",
    "verify-too-large",
    "too-many-attempts",
    # The consultant's engagements.
    "engagements-empty",
    "engagements-archived-empty",
    "engagement-new",
    "engagement-new-refused",
    "engagement-status-new",
    "engagements",
    "engagements-search",
    "engagements-search-none",
    "engagements-second-page",
    "engagement-edit",
    "engagement-edit-refused",
    "engagement-edit-conflict",
    "invite",
    "invite-refused",
    "engagement-new-link",
    "engagement-status-invited",
    # A respondent's questionnaire through their link.
    "survey-welcome",
    "survey-step-1",
    "survey-step-1-refused",
    "survey-step-1-unsent",
    "survey-step-2",
    "survey-step-3",
    "survey-step-4",
    "survey-review",
    "survey-result",
    "survey-expired",
    "survey-revoked",
    "survey-unknown",
    "survey-not-a-page",
    "engagement-status-in-progress",
    # Decisions, what-ifs and the consensus.
    "engagement-status-answered",
    "result-respondent",
    "result-respondent-what-if",
    "result-respondent-store-refused",
    "engagement-consensus-ready",
    "consensus",
    "consensus-what-if",
    "consensus-what-if-refused",
    "consensus-store-refused",
    "consensus-agree-refused",
    "consensus-agreed",
    "engagement-status-decided",
    "respondent-remove",
    "engagement-history",
    "engagement-reopened",
    "respondent-close",
    "respondent-close-changed",
    # The intake session.
    "session",
    "session-refused",
    "session-saved",
    "engagement-session-unfinished",
    "result-session",
    # The charter and its sign-off.
    "charter",
    "charter-refused",
    "charter-conflict",
    "charter-preview",
    "version-preparing",
    "version-signatory-refused",
    "version-start-refused",
    "engagement-status-charter-drafted",
    "version-out-for-sign-off",
    "version-start-too-late",
    "engagement-status-awaiting-sign-off",
    "sign",
    "sign-waiting",
    "sign-refused",
    "sign-unsent",
    "sign-approved",
    "sign-decline-refused",
    "sign-declined",
    "sign-closed",
    "sign-closed-refused",
    "sign-expired",
    "version-declined",
    "version-signed",
    "engagement-status-signed",
    "sign-signed",
    "charter-amend",
    "version-amendment",
    "sign-amendment",
    "version-withdrawn",
    "sign-withdrawn",
    "verify-intact",
    "verify-tampered",
    "verify-hash",
    "verify-hash-refused",
    "verify-document",
    "verify-unknown-document",
    # Archived engagements, errors and the account.
    "engagement-archived",
    "engagements-archived",
    "engagement-archived-refused",
    "engagement-delete",
    "engagement-archived-signed",
    "result-archived",
    "engagement-delete-signed",
    "engagement-delete-signed-refused",
    "engagement-not-found",
    "form-expired",
    "account",
    "account-refused",
    "api-tokens",
    "api-tokens-refused",
    "api-token-created",
    "engagements-at-the-end",
)


@pytest.fixture(scope="module")
def journey_app(
    migrated_database: str,
    tmp_path_factory: pytest.TempPathFactory,
    seal_key_files: dict[str, str],  # noqa: F811  (fixture)
) -> Iterator[Flask]:
    """The app on a database of this module's own: the pages are made once, for every test."""
    tmp_path = tmp_path_factory.mktemp("markup")
    with ExitStack() as stack:
        if migrated_database.startswith("postgresql"):
            url = stack.enter_context(fresh_postgres(migrated_database))
        else:
            shutil.copyfile(migrated_database, tmp_path / "assess.sqlite3")
            url = f"sqlite:///{tmp_path / 'assess.sqlite3'}"
        app = stack.enter_context(app_on(url, tmp_path))
        app.config.update(seal_key_files)
        yield app


def found(pattern: str, markup: str) -> str:
    match = re.search(pattern, markup)
    assert match, pattern
    return html.unescape(match.group(1))


def anyone_pages(app: Flask, journey: Journey) -> None:
    """The pages nobody signs in for."""
    visitor = app.test_client()
    journey.keep("home", visitor.get("/"))
    journey.keep("login", visitor.get("/login"))
    wrong = {"email": "nobody@example.com", "password": "wrong"}
    journey.keep("login-refused", post(visitor, "/login", wrong), 422)
    journey.keep("not-found", visitor.get("/no-such-page"), 404)
    journey.keep("method-not-allowed", visitor.get("/logout"), 405)
    journey.keep("cookie-check", visitor.get("/cookie-check"), 400)
    journey.keep("api-docs", visitor.get("/api/v1/docs"))
    journey.keep("verify", visitor.get("/verify"))
    not_a_pdf = upload(visitor, b"hello, this is a text file", "notes.txt")
    journey.keep("verify-not-a-pdf", not_a_pdf, 422)
    app.config["VERIFY_MAX_BYTES"] = 1024
    journey.keep("verify-too-large", upload(visitor, b"%PDF" + b"0" * 2048), 413)
    del app.config["VERIFY_MAX_BYTES"]
    limit = app.config["LOGIN_RATE_LIMIT"]
    app.config["LOGIN_RATE_LIMIT"] = "1 per minute"
    elsewhere = {"REMOTE_ADDR": "203.0.113.9"}
    assert post(visitor, "/login", wrong, environ_base=elsewhere).status_code == 422
    journey.keep("too-many-attempts", post(visitor, "/login", wrong, environ_base=elsewhere), 429)
    app.config["LOGIN_RATE_LIMIT"] = limit


def engagement_pages(client: FlaskClient, journey: Journey) -> int:
    """The list of engagements and their forms; return the engagement made."""
    journey.keep("engagements-empty", client.get("/engagements"))
    journey.keep("engagements-archived-empty", client.get("/engagements?archived=1"))
    journey.keep("engagement-new", client.get("/engagements/new"))
    journey.keep("engagement-new-refused", post(client, "/engagements/new", {}), 422)
    engagement_id = create_engagement(client)
    base = f"/engagements/{engagement_id}"
    journey.keep("engagement-status-new", client.get(base))
    journey.keep("engagements", client.get("/engagements"))
    journey.keep("engagements-search", client.get("/engagements?q=Tidewater"))
    journey.keep("engagements-search-none", client.get("/engagements?q=Nothing"))
    for number in range(PAGE_SIZE):
        create_engagement(client, project_name=f"Reel {number}")
    journey.keep("engagements-second-page", client.get("/engagements?page=2"))
    edit = journey.keep("engagement-edit", client.get(f"{base}/edit"))
    blank = {**ENGAGEMENT, "project_name": ""}
    journey.keep("engagement-edit-refused", post(client, f"{base}/edit", blank), 422)
    first_tab = found(r'name="opened_with" value="([^"]*)"', edit.get_data(as_text=True))
    assert post(client, f"{base}/edit", {**ENGAGEMENT, "project_name": "Tide"}).status_code == 302
    mine = {**ENGAGEMENT, "project_name": "Tidewater: the series", "opened_with": first_tab}
    journey.keep("engagement-edit-conflict", post(client, f"{base}/edit", mine), 409)
    assert post(client, f"{base}/edit", ENGAGEMENT).status_code == 302
    journey.keep("invite", client.get(f"{base}/invitations/new"))
    wrong = {"respondent_name": "", "side": "nobody", "expires_on": "yesterday"}
    journey.keep("invite-refused", post(client, f"{base}/invitations/new", wrong), 422)
    return engagement_id


def survey_pages(app: Flask, client: FlaskClient, journey: Journey, engagement_id: int) -> str:
    """A respondent's pages through their link, and the links that no longer open; return
    the link."""
    base = f"/engagements/{engagement_id}"
    ann = {"respondent_name": "Ann Lee", "side": "producer", "expires_on": ""}
    sent = post(client, f"{base}/invitations/new", ann)
    shown = journey.keep("engagement-new-link", client.get(sent.headers["Location"]))
    link = found(r'id="invitation-link"[^>]*value="https?://[^/"]+(/i/[^"]+)"', shown.text)
    journey.keep("engagement-status-invited", client.get(base))
    respondent = app.test_client()
    journey.keep("survey-welcome", respondent.get(link))
    journey.keep("survey-step-1", respondent.get(f"{link}/step/1"))
    journey.keep("survey-step-1-refused", post(respondent, f"{link}/step/1", {}), 422)
    # Sent with the token of a session that has ended: back, filled in, to send again.
    stale = {"csrf_token": "of-a-session-that-ended", "innovation": "2"}
    unsent = respondent.post(f"{link}/step/1", data=stale)
    assert unsent.status_code == 303
    refilled = journey.keep("survey-step-1-unsent", respondent.get(unsent.headers["Location"]))
    assert 'id="unsent-answers"' in refilled.text
    fill_in(respondent, link)
    for number in (2, 3, 4):
        journey.keep(f"survey-step-{number}", respondent.get(f"{link}/step/{number}"))
    journey.keep("survey-review", respondent.get(f"{link}/review"))
    journey.keep("engagement-status-in-progress", client.get(base))
    assert post(respondent, f"{link}/review").status_code == 303
    journey.keep("survey-result", respondent.get(f"{link}/result"))
    expired = invite(client, engagement_id, respondent_name="Eve Stone")
    expire_invitation(app, "Eve Stone")
    journey.keep("survey-expired", respondent.get(expired), 410)
    revoked = invite(client, engagement_id, respondent_name="Rob Hale")
    post(client, f"{base}/respondents/{respondent_id(app, 'Rob Hale')}/revoke")
    journey.keep("survey-revoked", respondent.get(revoked), 410)
    journey.keep("survey-unknown", respondent.get("/i/no-such-token"), 404)
    journey.keep("survey-not-a-page", respondent.get(f"{link}/step/99"), 404)
    return link


def adjusted(**changes: int) -> dict[str, str]:
    """The adjust form of a result page, as sent with levels changed."""
    return {"adjust": "1", **{k: str(v) for k, v in {**ANSWERS, **changes}.items()}}


def decision_pages(
    app: Flask, client: FlaskClient, journey: Journey, engagement_id: int, link: str
) -> None:
    """A respondent's own decision, the consensus with its what-ifs and agreed values, and
    the respondents' pages the engagement leads to."""
    base = f"/engagements/{engagement_id}"
    page = journey.keep("engagement-status-answered", client.get(base))
    own = found(rf'href="({base}/decisions/\d+)"', page.text)
    journey.keep("result-respondent", client.get(own))
    journey.keep("result-respondent-what-if", client.get(own, query_string=adjusted(innovation=1)))
    refused = post(client, f"{own}/confirm", {"innovation": "9"})
    journey.keep("result-respondent-store-refused", refused, 422)
    bo = invite(client, engagement_id, respondent_name="Bo Chen", side="creator")
    answer_through_link(app.test_client(), bo, CREATOR_ANSWERS)
    journey.keep("engagement-consensus-ready", client.get(base))
    consensus = post(client, f"{base}/consensus").headers["Location"]
    journey.keep("consensus", client.get(consensus))
    what_if = adjusted(timeline_pressure=5)
    journey.keep("consensus-what-if", client.get(consensus, query_string=what_if))
    wrong = {**what_if, "innovation": "9"}
    journey.keep("consensus-what-if-refused", client.get(consensus, query_string=wrong), 422)
    del what_if["adjust"]
    journey.keep("consensus-store-refused", post(client, f"{consensus}/confirm", what_if), 422)
    refused = post(client, f"{consensus}/agree", {"factor": "nothing", "value": "9"})
    journey.keep("consensus-agree-refused", refused, 422)
    agreed = {"factor": "timeline_pressure", "value": "4", "note": "A firm date, with room."}
    stored = post(client, f"{consensus}/agree", agreed)
    assert stored.status_code == 303
    journey.keep("consensus-agreed", client.get(stored.headers["Location"]))
    journey.keep("engagement-status-decided", client.get(base))
    invite(client, engagement_id, respondent_name="Cy Park")
    remove = f"{base}/respondents/{respondent_id(app, 'Cy Park')}/remove"
    journey.keep("respondent-remove", client.get(remove))
    assert post(client, remove).status_code in (302, 303)
    journey.keep("engagement-history", client.get(base))
    ann = respondent_id(app, "Ann Lee")
    assert post(client, f"{base}/respondents/{ann}/reopen").status_code in (302, 303)
    journey.keep("engagement-reopened", client.get(base))
    journey.keep("respondent-close", client.get(f"{base}/respondents/{ann}/close"))
    changed = post(
        app.test_client(), f"{link}/step/1", {"innovation": "1", "planning_complexity": "5"}
    )
    assert changed.status_code in (302, 303)
    journey.keep("respondent-close-changed", client.get(f"{base}/respondents/{ann}/close"))
    assert post(client, f"{base}/respondents/{ann}/close").status_code in (302, 303)


def session_pages(client: FlaskClient, journey: Journey) -> None:
    """The intake session, refused, saved and finished, on an engagement of its own."""
    path = f"/engagements/{create_engagement(client, project_name='Salt Roads')}/session"
    journey.keep("session", client.get(path))
    refused = post(client, path, {"action": "decide", "innovation": "9"})
    journey.keep("session-refused", refused, 422)
    saved = post(client, path, {"action": "save", "session": "new", "innovation": "4"})
    assert saved.status_code in (302, 303)
    page = journey.keep("session-saved", client.get(path))
    journey.keep("engagement-session-unfinished", client.get(path.removesuffix("/session")))
    session = found(r'name="session" value="(\d+)"', page.text)
    answers = {k: str(v) for k, v in ANSWERS.items()}
    done = post(client, path, {**answers, "action": "decide", "session": session})
    assert done.status_code == 303
    journey.keep("result-session", client.get(done.headers["Location"]))


def charter_pages(app: Flask, client: FlaskClient, journey: Journey) -> None:
    """The charter's form and preview, and a version its signatories decline."""
    engagement_id = create_engagement(client, project_name="Harbour Lights")
    setup = Setup(engagement_id, record(app, engagement_id))
    page = journey.keep("charter", client.get(setup.charter_path))
    wrong = {"effective_date": "not a date", "review_interval_months": "0"}
    journey.keep("charter-refused", post(client, f"{setup.charter_path}/save", wrong), 422)
    opened = {"fields_opened": found(r'name="fields_opened" value="([^"]*)"', page.text)}
    saved = post(client, f"{setup.charter_path}/save", {**opened, "arbitration": "Geneva"})
    assert saved.status_code in (302, 303)
    mine = {**opened, "arbitration": "Zurich"}
    journey.keep("charter-conflict", post(client, f"{setup.charter_path}/save", mine), 409)
    journey.keep("charter-preview", post(client, f"{setup.charter_path}/preview", {}))
    version = freeze(client, setup)
    journey.keep("version-preparing", client.get(version))
    nobody = post(client, f"{version}/signatories", {"email": "not an address"})
    journey.keep("version-signatory-refused", nobody, 422)
    journey.keep("engagement-status-charter-drafted", client.get(f"/engagements/{engagement_id}"))
    eve = {"name": "Eve Stone", "email": "eve@example.com", "role": ""}
    name_signatories(client, version, (*SIGNATORIES, eve))
    never = {"order": "any", "expires_on": "2000-01-01"}
    journey.keep("version-start-refused", post(client, f"{version}/start", never), 422)
    assert post(client, f"{version}/start", {"order": "sequential"}).status_code == 303
    links = shown_links(client.get(version).get_data(as_text=True))
    journey.keep("version-out-for-sign-off", client.get(version))
    journey.keep("version-start-too-late", post(client, f"{version}/start", never), 409)
    awaiting = client.get(f"/engagements/{engagement_id}")
    journey.keep("engagement-status-awaiting-sign-off", awaiting)
    signatory = app.test_client()
    ann, bo, late = links["Ann Lee"], links["Bo Chen"], links["Eve Stone"]
    journey.keep("sign", signatory.get(ann))
    journey.keep("sign-waiting", signatory.get(bo))
    journey.keep("sign-refused", approve(signatory, ann, "Someone Else"), 422)
    # Sent with the token of a session that has ended: back, filled in, to send again.
    stale = {"csrf_token": "of-a-session-that-ended", "full_name": "Ann Lee"}
    unsent = signatory.post(f"{ann}/approve", data=stale)
    assert unsent.status_code == 303
    refilled = journey.keep("sign-unsent", signatory.get(unsent.headers["Location"]))
    assert 'id="unsent-form"' in refilled.text
    assert approve(signatory, ann, "Ann Lee").status_code == 303  # type: ignore[attr-defined]
    journey.keep("sign-approved", signatory.get(ann))
    journey.keep("sign-decline-refused", post(signatory, f"{bo}/decline", {"reason": ""}), 422)
    assert post(signatory, f"{bo}/decline", {"reason": "Wrong venue"}).status_code == 303
    journey.keep("sign-declined", signatory.get(bo))
    journey.keep("sign-closed", signatory.get(late))
    journey.keep("sign-closed-refused", approve(signatory, late, "Eve Stone"), 409)
    with app.app_context():
        found_late = select(Signatory).where(Signatory.name == "Eve Stone")
        db.session.scalars(found_late).one().expires_at = utcnow() - timedelta(minutes=5)
        db.session.commit()
    journey.keep("sign-expired", signatory.get(late), 410)
    journey.keep("version-declined", client.get(version))


def signed_pages(app: Flask, client: FlaskClient, journey: Journey) -> int:
    """A charter everyone signed, an amendment withdrawn, and the verification of the signed
    file; return the engagement."""
    setup = engagement_with_decision(app, client)
    first = freeze(client, setup, arbitration="Geneva Chamber")
    links = send(client, first, order="parallel")
    signatory = app.test_client()
    for person in SIGNATORIES:
        approved = approve(signatory, links[person["name"]], person["name"])
        assert approved.status_code == 303  # type: ignore[attr-defined]
    journey.keep("version-signed", client.get(first))
    journey.keep("engagement-status-signed", client.get(f"/engagements/{setup.engagement_id}"))
    journey.keep("sign-signed", signatory.get(links["Ann Lee"]))
    sealed = client.get(f"{first}/signed.pdf").data
    document_id = found(r'<span class="doc-id">(PC-[A-Z0-9-]+)<', journey.markup("sign-signed"))
    journey.keep("charter-amend", client.get(f"{first}/amend"))
    second = freeze(client, setup, arbitration="Zurich Chamber")
    journey.keep("version-amendment", client.get(second))
    amendment = send(client, second, order="parallel")
    journey.keep("sign-amendment", signatory.get(amendment["Ann Lee"]))
    assert post(client, f"{second}/withdraw").status_code in (302, 303)
    journey.keep("version-withdrawn", client.get(second))
    journey.keep("sign-withdrawn", signatory.get(amendment["Ann Lee"]))
    visitor = app.test_client()
    journey.keep("verify-intact", upload(visitor, sealed))
    middle = len(sealed) // 3
    tampered = sealed[:middle] + bytes([sealed[middle] ^ 0x01]) + sealed[middle + 1 :]
    journey.keep("verify-tampered", upload(visitor, tampered))
    by_hash = post(visitor, "/verify", {"sha256": hashlib.sha256(sealed).hexdigest()})
    journey.keep("verify-hash", by_hash)
    journey.keep("verify-hash-refused", post(visitor, "/verify", {"sha256": "abc"}), 422)
    journey.keep("verify-document", visitor.get(f"/verify/{document_id}"))
    journey.keep("verify-unknown-document", visitor.get("/verify/PC-NOPE-0000"), 404)
    return setup.engagement_id


def archive_pages(client: FlaskClient, journey: Journey, signed: int) -> None:
    """Archived engagements, deleting them, and what refuses a change or finds nothing."""
    base = f"/engagements/{create_engagement(client, project_name='Quiet Cove')}"
    assert post(client, f"{base}/archive").status_code in (302, 303)
    journey.keep("engagement-archived", client.get(base))
    journey.keep("engagements-archived", client.get("/engagements?archived=1"))
    journey.keep("engagement-archived-refused", client.get(f"{base}/invitations/new"), 409)
    journey.keep("engagement-delete", client.get(f"{base}/delete"))
    signed_base = f"/engagements/{signed}"
    assert post(client, f"{signed_base}/archive").status_code in (302, 303)
    signed_page = journey.keep("engagement-archived-signed", client.get(signed_base))
    decision = found(rf'href="({signed_base}/decisions/\d+)"', signed_page.text)
    journey.keep("result-archived", client.get(decision))
    journey.keep("engagement-delete-signed", client.get(f"{signed_base}/delete"))
    wrong = {"project_name": "wrong"}
    journey.keep(
        "engagement-delete-signed-refused", post(client, f"{signed_base}/delete", wrong), 422
    )
    journey.keep("engagement-not-found", client.get("/engagements/9999"), 404)
    stale = client.post(f"{base}/restore", data={"csrf_token": "stale"})
    journey.keep("form-expired", stale, 400)


def account_pages(client: FlaskClient, journey: Journey) -> None:
    journey.keep("account", client.get("/account"))
    # Spaces only, and too few: two problems with one field.
    form = {"current_password": "wrong", "new_password": " " * 5}
    refused = post(client, "/account/password", form)
    journey.keep("account-refused", refused, 422)
    page = journey.keep("api-tokens", client.get("/account/api-tokens"))
    number = found(r'name="form_number" value="([^"]+)"', page.text)
    form = {"name": "", "access": "read", "form_number": number, "password": "wrong"}
    journey.keep("api-tokens-refused", post(client, "/account/api-tokens", form), 422)
    form = {**form, "name": "CRM sync", "password": PASSWORD}
    journey.keep("api-token-created", post(client, "/account/api-tokens", form), 201)
    journey.keep("engagements-at-the-end", client.get("/engagements"))


@pytest.fixture(scope="module")
def pages(journey_app: Flask) -> dict[str, Page]:
    """Walk a consultant's work from an empty list to a signed charter and its amendment,
    keeping each kind of page on the way, the respondents' and signatories' too."""
    app = journey_app
    journey = Journey()
    anyone_pages(app, journey)
    client = signed_in_consultant(app)
    engagement_id = engagement_pages(client, journey)
    link = survey_pages(app, client, journey, engagement_id)
    decision_pages(app, client, journey, engagement_id, link)
    session_pages(client, journey)
    charter_pages(app, client, journey)
    signed = signed_pages(app, client, journey)
    archive_pages(client, journey, signed)
    account_pages(client, journey)
    return journey.seen


def test_the_journey_meets_every_page_kind(pages: dict[str, Page]) -> None:
    assert sorted(pages) == sorted(PAGE_NAMES)


# --- What each page is checked for. ---

# Attributes that name one element by its id, on the elements they belong to.
ONE_ID = {"for": ("label", "output"), "list": ("input",)}
# Attributes that name one or more elements, their ids separated by spaces.
SEVERAL_IDS = (
    "aria-activedescendant",
    "aria-controls",
    "aria-describedby",
    "aria-details",
    "aria-errormessage",
    "aria-labelledby",
    "aria-owns",
)
# What a label may be for.
LABELABLE = {"button", "input", "meter", "output", "progress", "select", "textarea"}
# Elements whose content is phrasing only (words and what goes among words), and the flow
# elements that may not go inside them.
PHRASING = {
    "abbr", "b", "bdi", "bdo", "button", "cite", "code", "data", "dfn", "em", "i", "kbd",
    "label", "legend", "mark", "output", "p", "pre", "q", "s", "samp", "small", "span",
    "strong", "sub", "summary", "sup", "time", "u", "var",
    "h1", "h2", "h3", "h4", "h5", "h6",
}  # fmt: skip
FLOW = {
    "address", "article", "aside", "blockquote", "details", "dialog", "div", "dl",
    "fieldset", "figcaption", "figure", "footer", "form", "header", "hr", "main", "menu",
    "nav", "ol", "p", "pre", "search", "section", "table", "ul", "li", "dd", "dt",
    "h1", "h2", "h3", "h4", "h5", "h6",
}  # fmt: skip
# Elements that take clicks or the keyboard: none may go inside a link or a button.
INTERACTIVE = {"a", "button", "details", "embed", "iframe", "label", "select", "textarea"}
HEADING = re.compile(r"h([1-6])")


@functools.cache
def parse(markup: str) -> tuple[Element, list[str]]:
    """Parse a page as a browser does; return the tree and the parse errors, each with the
    line it is on."""
    parser = HTMLParser(namespace_html_elements=False)
    tree = parser.parse(markup)
    lines = markup.splitlines()
    errors = []
    for (line, column), code, data in parser.errors:
        text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        errors.append(f"{line}:{column} {code} {data or ''}: {text[:200]}")
    return tree, errors


def html_elements(tree: Element) -> Iterator[Element]:
    """The page's HTML elements, those of an SVG drawing left out."""
    return (e for e in tree.iter() if isinstance(e.tag, str) and not e.tag.startswith("{"))


def named_ids(element: Element) -> Iterator[tuple[str, str]]:
    """The ids an element names, each with the attribute that names it."""
    for attribute, tags in ONE_ID.items():
        if element.tag in tags and element.get(attribute) is not None:
            yield attribute, element.get(attribute, "")
    for attribute in SEVERAL_IDS:
        for ident in (element.get(attribute) or "").split() or (
            [""] if attribute in element.attrib else []
        ):
            yield attribute, ident
    # A link to a part of the page, and the field a copy button copies.
    href = element.get("href", "") if element.tag in ("a", "area") else ""
    for attribute, value in (("href", href), ("data-copy", element.get("data-copy", ""))):
        if value.startswith("#") and value != "#":
            yield attribute, value[1:]


def reference_problems(tree: Element) -> list[str]:
    """Ids used twice or ill-formed, and references to elements that are not there."""
    by_id: dict[str, list[Element]] = {}
    for element in tree.iter():
        if element.get("id") is not None:
            by_id.setdefault(element.get("id", ""), []).append(element)
    problems = [f'id "{i}" is used {len(e)} times' for i, e in by_id.items() if len(e) > 1]
    problems += [f'id "{i}" is empty or has spaces' for i in by_id if not re.fullmatch(r"\S+", i)]
    for element in html_elements(tree):
        for attribute, ident in named_ids(element):
            if ident not in by_id:
                problems.append(f'<{element.tag} {attribute}> names "{ident}": no such element')
        target = by_id.get(element.get("for", ""), [None])[0] if element.tag == "label" else None
        if target is not None and (target.tag not in LABELABLE or target.get("type") == "hidden"):
            problems.append(f'<label for="{element.get("for")}"> is for a <{target.tag}>')
    return problems


def unnamed_errors(tree: Element) -> list[str]:
    """A field's problems that no aria-describedby names: a screen reader would not read them
    with the field."""
    named = {i for e in tree.iter() for i in (e.get("aria-describedby") or "").split()}
    return [
        f'<{e.tag} id="{e.get("id")}">'
        for e in html_elements(tree)
        if "field-error" in (e.get("class") or "").split() and e.get("id") not in named
    ]


def content_problems(tree: Element) -> list[str]:
    """Elements where HTML does not allow them (which a parser leaves in place): a block in
    words, a control inside a link or a button, a list item outside a list."""
    problems = []
    parents = {child: parent for parent in html_elements(tree) for child in parent}
    for element in html_elements(tree):
        if element.tag in PHRASING:
            blocks = sorted({e.tag for e in element.iter() if e is not element and e.tag in FLOW})
            if element.tag == "legend":
                blocks = [tag for tag in blocks if not HEADING.fullmatch(tag)]
            problems += [f"<{tag}> inside <{element.tag}>" for tag in blocks]
        if element.tag in ("a", "button"):
            inner = [e for e in element.iter() if e is not element]
            controls = [e for e in inner if e.tag in INTERACTIVE or e.get("tabindex") is not None]
            controls += [e for e in inner if e.tag == "input" and e.get("type") != "hidden"]
            problems += [f"<{e.tag}> inside <{element.tag}>" for e in controls]
        parent = parents.get(element)
        parent_tag = parent.tag if parent is not None else ""
        if element.tag == "li" and parent_tag not in ("ul", "ol", "menu"):
            problems.append(f"<li> inside <{parent_tag}>")
        if element.tag in ("dt", "dd") and parent_tag not in ("dl", "div"):
            problems.append(f"<{element.tag}> inside <{parent_tag}>")
    if len([e for e in html_elements(tree) if e.tag == "main" and "hidden" not in e.attrib]) > 1:
        problems.append("more than one <main>")
    return problems


def form_problems(tree: Element) -> list[str]:
    """Forms that post without the session's CSRF token, which the app refuses."""
    problems = []
    for form in html_elements(tree):
        if form.tag != "form" or form.get("method", "get").lower() != "post":
            continue
        tokens = [
            e.get("value")
            for e in form.iter("input")
            if e.get("name") == "csrf_token" and e.get("type") == "hidden"
        ]
        if len(tokens) != 1 or not tokens[0]:
            problems.append(f'<form action="{form.get("action")}"> carries no CSRF token')
    for form in html_elements(tree):
        if form.tag == "form" and form.get("method", "get").lower() == "get":
            if any(e.get("name") == "csrf_token" for e in form.iter("input")):
                problems.append(f'<form action="{form.get("action")}"> puts its token in the URL')
    return problems


def outline_problems(tree: Element, *, chapters: bool = False) -> list[str]:
    """A page without a language or a title, with other than one h1 (``chapters``: at least
    one), or whose headings skip a level going down."""
    problems = []
    if not tree.get("lang"):
        problems.append("<html> has no lang")
    head = next(tree.iter("head"))
    titles = ["".join(t.itertext()).strip() for t in head.iter("title")]
    if len(titles) != 1 or not titles[0]:
        problems.append(f"titles: {titles}")
    levels = [int(m[1]) for e in html_elements(tree) if (m := HEADING.fullmatch(e.tag))]
    if levels.count(1) != 1 and not (chapters and levels.count(1) >= 1):
        problems.append(f"{levels.count(1)} h1 elements")
    for before, level in zip([0, *levels], levels, strict=False):
        if level > before + 1:
            problems.append(f"h{before} followed by h{level}" if before else f"h{level} first")
    return problems


# The projects of the journey: names people type, which a title sets apart from its own words
# (a name typed right to left would otherwise carry the words after it along).
PROJECTS = ("Tidewater", "Harbour Lights", "Salt Roads", "Quiet Cove")


def title_problems(tree: Element) -> list[str]:
    """Project names in the title that are not isolated."""
    title = "".join(next(tree.iter("title")).itertext())
    return [
        f"{project} in {title!r}"
        for project in PROJECTS
        for found in re.finditer(re.escape(project), title)
        if title[found.start() - 1 : found.start()] != "\u2068"
        or title[found.end() : found.end() + 1] != "\u2069"
    ]


# The charter is a document of chapters, as printed: each is an h1, which makes its
# bookmarks and the headings a screen reader lists in its PDF (see tests/charter). Its
# preview shows the same document.
CHAPTERS = {"charter-preview"}


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_the_page_is_valid_html5_with_sound_references(pages: dict[str, Page], name: str) -> None:
    tree, errors = parse(pages[name].markup)
    assert not errors
    assert not reference_problems(tree)
    assert not unnamed_errors(tree)
    assert not content_problems(tree)
    assert not form_problems(tree)
    assert not outline_problems(tree, chapters=name in CHAPTERS)
    # The charter's title is its document's, as its PDF carries it.
    assert name in CHAPTERS or not title_problems(tree)


def test_each_problem_of_a_field_has_its_own_id_and_the_field_names_them_all(
    pages: dict[str, Page],
) -> None:
    tree, _ = parse(pages["account-refused"].markup)
    assert not reference_problems(tree) and not unnamed_errors(tree)
    field = next(
        e
        for e in html_elements(tree)
        if "field" in (e.get("class") or "").split()
        and any(i.get("id") == "field-new_password" for i in e.iter("input"))
    )
    messages = [e for e in field.iter("p") if e.get("class") == "field-error"]
    assert len(messages) == 2, [("".join(m.itertext())) for m in messages]
    described = next(field.iter("input")).get("aria-describedby", "").split()
    assert described == [m.get("id") for m in messages]


def test_links_to_a_part_of_another_page_find_it(pages: dict[str, Page]) -> None:
    """A link or a form that leads to a part of another page (``/path#part``) finds that part
    on the page the path shows, in one of the states the journey saw it in."""
    ids: dict[str, set[str]] = {}
    for page in pages.values():
        ids.setdefault(page.path, set()).update(
            e.get("id", "") for e in parse(page.markup)[0].iter() if e.get("id")
        )
    checked, missing = 0, []
    for name, page in pages.items():
        for element in html_elements(parse(page.markup)[0]):
            address = element.get("href") or element.get("action") or ""
            path, _, part = address.partition("#")
            if path.startswith("/") and part and path in ids:
                checked += 1
                if part not in ids[path]:
                    missing.append(f"{name}: <{element.tag}> to {address}")
    assert checked >= 5, checked
    assert not missing


SPECIMEN = """<!doctype html>
<html><head><title> </title></head><body>
<h1>A</h1><h3>B</h3><h1>C</h1>
<p><span id="a">x</span><span id="a">y</span></p><p><label for="gone">z</label></p>
<p><a href="#nowhere">w</a> <input aria-describedby="a nothing"> <label for="a">v</label></p>
<span><div>block in words</div></span><a href="/x"><button>in a link</button></a>
<div><li>item</li></div>
<form method="POST" action="/p"><input type="hidden" name="csrf_token" value=""></form>
<form method="get" action="/g"><input type="hidden" name="csrf_token" value="t"></form>
<p><div>closes the paragraph</div></p>
<p class="field-error" id="said">named</p><input aria-describedby="said">
<p class="field-error" id="unsaid">not named</p>
</body></html>"""


def test_the_checks_find_what_they_look_for() -> None:
    tree, errors = parse(SPECIMEN)
    assert [error.split()[1] for error in errors] == ["unexpected-end-tag"]
    assert reference_problems(tree) == [
        'id "a" is used 2 times',
        '<label for> names "gone": no such element',
        '<a href> names "nowhere": no such element',
        '<input aria-describedby> names "nothing": no such element',
        '<label for="a"> is for a <span>',
    ]
    assert unnamed_errors(tree) == ['<p id="unsaid">']
    assert content_problems(tree) == [
        "<div> inside <span>",
        "<button> inside <a>",
        "<li> inside <div>",
    ]
    assert form_problems(tree) == [
        '<form action="/p"> carries no CSRF token',
        '<form action="/g"> puts its token in the URL',
    ]
    assert outline_problems(tree) == [
        "<html> has no lang",
        "titles: ['']",
        "2 h1 elements",
        "h1 followed by h3",
    ]
    assert outline_problems(tree, chapters=True) == outline_problems(tree)[:2] + [
        "h1 followed by h3"
    ]
