"""Sign-off through the web app: freeze, links, approvals in order, decline, expiry, access."""

from __future__ import annotations

import io
import random
import re
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import icalendar
import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pdftools import served_in_parts
from pypdf import PdfReader
from signofftools import (  # noqa: F401  (fixtures)
    SIGNATORIES,
    Setup,
    approve,
    engagement_with_decision,
    freeze,
    frozen_charter,
    name_signatories,
    post,
    record,
    seal_key_files,
    send,
    shared_seal_key,
    shown_links,
    signatory_id,
)
from webtools import (
    ANSWERS,
    answer_through_link,
    cookie_session,
    login,
    make_consultant,
    statements_sent,
    visible_text,
)

from assess import charter
from assess.extensions import db
from assess.models import (
    EMAIL_MAX,
    NAME_MAX,
    CharterVersion,
    Engagement,
    Signatory,
    SignOffEvent,
    utcnow,
)
from assess.models import Respondent as RespondentRecord
from assess.signing import sha256_hex
from assess.signing.verify import verify
from assess.signoff import MAX_SIGNATORIES

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("shared_seal_key")]

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36"


def test_two_signatories_approve_in_order_and_the_sealed_charter_verifies(
    app: Flask, signed_in: FlaskClient
) -> None:
    client = signed_in
    setup, version_path = frozen_charter(
        app, client, arbitration="Geneva Chamber, seated in Geneva"
    )
    assert version_path.endswith("/charter/v1")
    links = send(client, version_path)
    ann, bo = links["Ann Lee"], links["Bo Chen"]

    signatory = app.test_client()
    page = signatory.get(ann)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Approve the charter" in text
    # Its calendar is the signed charter's: nothing to plan by until everyone approved.
    assert signatory.get(f"{ann}/reviews.ics").status_code == 404

    # Bo cannot approve before Ann: it is not his turn.
    second = app.test_client()
    waiting = second.get(bo).get_data(as_text=True)
    assert "not your turn" in waiting
    assert approve(second, bo, "Bo Chen").status_code == 409

    # The frozen PDF the signatory reads is exactly the hashed one. The page shows it in a
    # frame, which only the product's own pages may do; the download may not be framed.
    assert f'<iframe class="charter-preview" src="{ann}/charter.pdf"' in text
    pdf = signatory.get(f"{ann}/charter.pdf")
    assert pdf.mimetype == "application/pdf"
    assert sha256_hex(pdf.data) in text
    assert pdf.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in pdf.headers["Content-Security-Policy"]
    assert pdf.headers["Content-Disposition"].startswith("inline")
    cover = PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert "Draft for review" not in cover  # the frozen version is the one to sign
    download = signatory.get(f"{ann}/charter.pdf?download=1")
    assert download.data == pdf.data
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in download.headers["Content-Security-Policy"]

    response = signatory.post(
        f"{ann}/approve",
        data={"csrf_token": _token(signatory), "full_name": "  ann   LEE ", "consent": "yes"},
        headers={"User-Agent": BROWSER},
        environ_base={"REMOTE_ADDR": "203.0.113.7"},
    )
    assert response.status_code == 303
    assert approve(second, bo, "Bo Chen").status_code == 303

    done = second.get(bo).get_data(as_text=True)
    assert "Signed by everyone" in done
    sealed = second.get(f"{bo}/signed.pdf")
    assert sealed.status_code == 200
    verdict = verify(sealed.data)
    assert verdict.as_sealed, verdict.summary
    assert verdict.version == 1
    assert verdict.approvers == ("Ann Lee", "Bo Chen")
    consultant_copy = client.get(f"{version_path}/signed.pdf")
    assert consultant_copy.data == sealed.data

    # Once in force, the charter's review calendar is theirs too: the consultant's file.
    assert f'href="{bo}/reviews.ics"' in done
    calendar = second.get(f"{bo}/reviews.ics")
    assert calendar.mimetype == "text/calendar"
    assert calendar.data == client.get(f"{version_path}/reviews.ics").data
    assert b"BEGIN:VEVENT" in calendar.data

    with app.app_context():
        version = db.session.query(CharterVersion).one()
        engagement = db.session.get(Engagement, setup.engagement_id)
        assert engagement is not None and engagement.signed_at is not None
        assert engagement.status == "signed"
        assert version.sign_off.sealed_sha256 == sha256_hex(sealed.data)
        approved = [e for e in version.sign_off.events if e.action == "approved"]
        assert [e.actor for e in approved] == ["Ann Lee", "Bo Chen"]
        assert approved[0].ip == "203.0.113.7"
        assert approved[0].user_agent == BROWSER
        assert {e.document_hash for e in approved} == {version.sha256}
        assert approved[0].at.tzinfo is not None
        assert [e.action for e in version.sign_off.events].count("sealed") == 1

    # The engagement page shows the status and the last step.
    overview = client.get(f"/engagements/{setup.engagement_id}").get_data(as_text=True)
    assert "Charter and sign-off" in overview and "Sealed" in overview
    # Acting again on a used link changes nothing.
    assert approve(signatory, ann, "Ann Lee").status_code == 303
    assert post(signatory, f"{ann}/decline", {"reason": "Too late"}).status_code == 409


def test_every_charter_pdf_is_served_a_byte_range_at_a_time(
    app: Flask, signed_in: FlaskClient
) -> None:
    """The frame on the sign page holds the browser's PDF viewer, which fetches a long
    document a part at a time; a download that broke off resumes from where it stopped."""
    _, version_path = frozen_charter(app, signed_in)
    links = send(signed_in, version_path)
    ann, bo = links["Ann Lee"], links["Bo Chen"]
    signatory = app.test_client()
    frozen = served_in_parts(signatory, f"{ann}/charter.pdf")
    assert served_in_parts(signatory, f"{ann}/charter.pdf?download=1") == frozen
    assert served_in_parts(signed_in, f"{version_path}/charter.pdf") == frozen
    assert approve(signatory, ann, "Ann Lee").status_code == 303
    assert approve(app.test_client(), bo, "Bo Chen").status_code == 303
    sealed = served_in_parts(signatory, f"{ann}/signed.pdf")
    assert served_in_parts(signed_in, f"{version_path}/signed.pdf") == sealed
    assert verify(sealed).as_sealed
    beyond = signatory.get(f"{ann}/signed.pdf", headers={"Range": f"bytes={len(sealed)}-"})
    assert "Download the whole file again" in beyond.get_data(as_text=True)


def _token(client: FlaskClient) -> str:
    from webtools import csrf_token

    return csrf_token(client, "/verify")


def test_decline_returns_the_charter_to_draft_with_the_reason(
    app: Flask, signed_in: FlaskClient
) -> None:
    client = signed_in
    setup, version_path = frozen_charter(app, client)
    links = send(client, version_path, order="parallel")
    signatory = app.test_client()
    # A reason is required; nothing is stored without one.
    empty = post(signatory, f"{links['Bo Chen']}/decline", {"reason": "  "})
    assert empty.status_code == 422
    assert "Enter the reason for declining" in empty.get_data(as_text=True)
    response = post(
        signatory,
        f"{links['Bo Chen']}/decline",
        {"reason": "The revenue split\nis not what we agreed."},
    )
    assert response.status_code == 303
    page = client.get(version_path).get_data(as_text=True)
    assert "Declined." in page
    assert "<bdi>Bo Chen</bdi>: <bdi>The revenue split is not what we agreed.</bdi>" in page
    assert "agreed.." not in page  # the reason's own full stop is not doubled
    ann_row = page.split('<th scope="row"><bdi>Ann Lee', 1)[1].split("</tr>", 1)[0]
    assert "status-closed" in ann_row and "Closed with this version" in ann_row
    # The other signatory learns there is nothing to do, and is no longer asked to approve.
    other = app.test_client().get(links["Ann Lee"]).get_data(as_text=True)
    assert "Another signatory asked for changes" in other
    assert "asked to approve" not in other and "Read the whole charter" not in other
    assert "Approve the charter</button>" not in other
    # The other signatory's link no longer lets anyone approve.
    assert approve(app.test_client(), links["Ann Lee"], "Ann Lee").status_code == 409
    with app.app_context():
        engagement = db.session.get(Engagement, setup.engagement_id)
        assert engagement is not None
        assert engagement.status == "charter drafted" and engagement.signed_at is None
    # Freezing again makes version 2, which the signatories can approve.
    assert freeze(client, setup).endswith("/charter/v2")


def expire_the_link(app: Flask) -> None:
    """Let every signatory's link run out a minute ago."""
    with app.app_context():
        for signatory in db.session.query(Signatory):
            signatory.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()


def signatory_row(client: FlaskClient, version_path: str, name: str) -> str:
    """The signatory's row on the consultant's version page."""
    page = client.get(version_path).get_data(as_text=True)
    return page.split(f'<th scope="row"><bdi>{name}</bdi>', 1)[1].split("</tr>", 1)[0]


def test_an_expired_link_says_so_and_cannot_approve(app: Flask, signed_in: FlaskClient) -> None:
    client = signed_in
    _, version_path = frozen_charter(app, client)
    links = send(client, version_path, order="parallel", people=SIGNATORIES[:1])
    expire_the_link(app)
    visitor = app.test_client()
    page = visitor.get(links["Ann Lee"])
    assert page.status_code == 410
    title = "<title>This link no longer works · Charter for \u2068Tidewater\u2069 · Assess</title>"
    assert title in page.get_data(as_text=True)
    assert "Approve the charter" not in page.get_data(as_text=True)
    assert approve(visitor, links["Ann Lee"], "Ann Lee").status_code == 409
    # The charter opened from a page loaded before the link expired says why it does not open.
    charter = visitor.get(f"{links['Ann Lee']}/charter.pdf?download=1")
    assert charter.status_code == 410
    assert "This link expired on" in charter.get_data(as_text=True)


def test_a_signed_charter_s_links_keep_opening_it_after_they_expire(
    app: Flask, signed_in: FlaskClient
) -> None:
    client = signed_in
    _, version_path = frozen_charter(app, client)
    links = send(client, version_path, order="parallel", people=SIGNATORIES[:1])
    assert approve(app.test_client(), links["Ann Lee"], "Ann Lee").status_code == 303
    expire_the_link(app)
    # What the link was sent for is done: the signatory keeps a way back to the signed copy,
    # and the page offering it does not also say that the link no longer works.
    visitor = app.test_client()
    page = visitor.get(links["Ann Lee"])
    text = page.get_data(as_text=True)
    assert page.status_code == 200, text
    assert "Signed by everyone" in text and "Download the signed charter" in text
    assert "no longer works" not in text and "expired on" not in text
    assert visitor.get(f"{links['Ann Lee']}/signed.pdf").status_code == 200
    assert visitor.get(f"{links['Ann Lee']}/charter.pdf").status_code == 200
    # The consultant's page says the same of the link.
    row = signatory_row(client, version_path, "Ann Lee")
    assert 'data-label="Link">Used; opens the signed charter</td>' in row, row


def test_an_expired_link_asks_for_a_new_one_only_when_one_can_be_made(
    app: Flask, signed_in: FlaskClient
) -> None:
    client = signed_in
    setup, version_path = frozen_charter(app, client)
    links = send(client, version_path, order="parallel")
    assert approve(app.test_client(), links["Ann Lee"], "Ann Lee").status_code == 303
    expire_the_link(app)
    ask = "Ask the consultant for a new one."
    # Bo Chen still has to approve: the consultant can send him a new link.
    bo = app.test_client().get(links["Bo Chen"]).get_data(as_text=True)
    assert "This link expired on" in bo and ask in bo
    # Ann Lee has approved: no new link is made for her (the consultant's page offers none),
    # and once everyone has approved, this link opens the signed charter again.
    ann = app.test_client().get(links["Ann Lee"])
    text = ann.get_data(as_text=True)
    assert ann.status_code == 410 and "This link expired on" in text
    assert ask not in text and "Once everyone has approved" in text
    assert "New link" not in signatory_row(client, version_path, "Ann Lee")
    # Nor does an archived engagement, until it is restored.
    assert post(client, f"/engagements/{setup.engagement_id}/archive").status_code == 302  # type: ignore[attr-defined]
    bo = app.test_client().get(links["Bo Chen"]).get_data(as_text=True)
    assert "This link expired on" in bo and ask not in bo
    assert "The consultant has archived this engagement" in bo
    assert post(client, f"/engagements/{setup.engagement_id}/restore").status_code == 302  # type: ignore[attr-defined]
    assert ask in app.test_client().get(links["Bo Chen"]).get_data(as_text=True)
    # A withdrawn version takes no new link either.
    assert post(client, f"{version_path}/withdraw").status_code == 303  # type: ignore[attr-defined]
    bo = app.test_client().get(links["Bo Chen"]).get_data(as_text=True)
    assert "This link expired on" in bo and ask not in bo
    assert "The consultant withdrew this version" in bo


def test_links_last_the_configured_days_and_the_form_says_so(
    app: Flask, signed_in: FlaskClient
) -> None:
    app.config["SIGNOFF_LINK_DAYS"] = 3
    client = signed_in
    _, version_path = frozen_charter(app, client)
    name_signatories(client, version_path, SIGNATORIES[:1])
    assert "Empty: in 3 days." in client.get(version_path).get_data(as_text=True)
    before = utcnow()
    assert post(client, f"{version_path}/start", {"order": "parallel"}).status_code == 303
    with app.app_context():
        expires_at = db.session.query(Signatory).one().expires_at
    assert expires_at is not None
    assert timedelta(days=3) <= expires_at - before <= timedelta(days=3, minutes=1)


def test_signatories_links_carry_the_configured_public_address(
    app: Flask, signed_in: FlaskClient
) -> None:
    app.config["PUBLIC_BASE_URL"] = "https://assess.example.com"
    _, version_path = frozen_charter(app, signed_in)
    post(signed_in, f"{version_path}/signatories", SIGNATORIES[0])
    post(signed_in, f"{version_path}/start", {"order": "sequential"})
    page = signed_in.get(version_path).get_data(as_text=True)
    assert 'value="https://assess.example.com/sign/' in page and "localhost/sign/" not in page


def test_a_new_link_replaces_the_old_and_revoking_stops_it(
    app: Flask, signed_in: FlaskClient
) -> None:
    client = signed_in
    _, version_path = frozen_charter(app, client)
    old = send(client, version_path, people=SIGNATORIES[:1])["Ann Lee"]
    ann = signatory_id(app, "Ann Lee")
    response = post(client, f"{version_path}/signatories/{ann}/link")
    assert response.status_code == 303
    page = client.get(version_path).get_data(as_text=True)
    import re

    new = re.search(r'value="https?://[^/"]+(/sign/[^"]+)"', page)
    assert new and new.group(1) != old
    replaced = app.test_client().get(old)
    assert replaced.status_code == 404
    assert "replaced by a newer link" in replaced.get_data(as_text=True)
    assert app.test_client().get(new.group(1)).status_code == 200
    assert "data-confirm=\"Revoke \u2068Ann Lee\u2069's link? It stops working at once;" in page
    post(client, f"{version_path}/signatories/{ann}/revoke")
    assert app.test_client().get(new.group(1)).status_code == 410
    with app.app_context():
        stored = db.session.query(Signatory).one()
        # Only the hash of the token is stored.
        assert stored.token_hash == sha256_hex(new.group(1).rsplit("/", 1)[1].encode())


def longest_signatory(number: int) -> dict[str, str]:
    """A signatory with the longest name and email address the form accepts. The name is
    made of letters outside the Basic Multilingual Plane that the charter's fonts print,
    picked at random: the most a name can weigh once stored as JSON (12 bytes a character),
    and hardly compressible."""
    from assess.charter.fonts import unprintable

    letters = [
        chr(point)
        for point in range(0x10000, 0x2A6E0)
        if chr(point).isalpha() and not unprintable(chr(point))
    ]
    assert len(letters) > 500
    pick = random.Random(number)
    name = "".join(pick.choice(letters) for _ in range(NAME_MAX))
    local = f"signatory-{number:02d}-".ljust(64, "x")
    domain = ".".join(("d" * 63, "o" * 63, "m" * 53, "example"))
    email = f"{local}@{domain}"
    assert len(email) == EMAIL_MAX
    return {"name": name, "email": email}


def test_the_links_for_the_most_signatories_reach_the_next_page(
    app: Flask, signed_in: FlaskClient
) -> None:
    # A browser drops a cookie larger than about 4 KB without a word: the links, shown
    # only once, would then never be shown at all.
    _, version_path = frozen_charter(app, signed_in)
    people = [longest_signatory(number) for number in range(1, MAX_SIGNATORIES + 1)]
    name_signatories(signed_in, version_path, people)
    started = post(signed_in, f"{version_path}/start", {"order": "parallel"})
    assert started.status_code == 303  # type: ignore[attr-defined]
    cookies = started.headers.getlist("Set-Cookie")  # type: ignore[attr-defined]
    assert cookies
    assert all(len(cookie.encode()) < 4093 for cookie in cookies), [len(c) for c in cookies]

    links = shown_links(signed_in.get(version_path).get_data(as_text=True))
    assert sorted(links) == sorted(person["name"] for person in people)
    for name, link in links.items():
        page = app.test_client().get(link)
        assert page.status_code == 200
        assert f"For <bdi>{name}</bdi>" in page.get_data(as_text=True)
    # Shown once: the page shows them no more.
    assert shown_links(signed_in.get(version_path).get_data(as_text=True)) == {}


def test_starting_again_says_how_to_replace_links_that_were_never_seen(
    app: Flask, signed_in: FlaskClient
) -> None:
    # A double click: the browser shows the second answer, and the first answer's links,
    # shown only once, never reach the page.
    _, version_path = frozen_charter(app, signed_in)
    send(signed_in, version_path, order="parallel")
    again = post(signed_in, f"{version_path}/start", {"order": "parallel"})
    assert again.status_code == 409  # type: ignore[attr-defined]
    text = " ".join(again.get_data(as_text=True).split())  # type: ignore[attr-defined]
    assert "This sign-off has already started" in text
    assert "make a new link for each signatory who has none" in text
    assert 'name="order"' not in text  # the page offers no second start
    for person in SIGNATORIES:
        name = person["name"]
        assert f'New link<span class="visually-hidden"> for <bdi>{name}</bdi>' in text


def test_a_link_replaced_before_the_page_shows_is_not_shown(
    app: Flask, signed_in: FlaskClient
) -> None:
    _, version_path = frozen_charter(app, signed_in)
    name_signatories(signed_in, version_path)
    post(signed_in, f"{version_path}/start", {"order": "parallel"})
    # The same consultant, signed in on another device, makes Bo a new link in between.
    elsewhere = app.test_client()
    login(elsewhere)
    bo = signatory_id(app, "Bo Chen")
    post(elsewhere, f"{version_path}/signatories/{bo}/link")
    links = shown_links(signed_in.get(version_path).get_data(as_text=True))
    assert list(links) == ["Ann Lee"]
    assert app.test_client().get(links["Ann Lee"]).status_code == 200


def test_approval_needs_the_exact_name_and_consent(app: Flask, signed_in: FlaskClient) -> None:
    client = signed_in
    setup = engagement_with_decision(app, client)
    links = send(client, freeze(client, setup), people=SIGNATORIES[:1])
    visitor = app.test_client()
    wrong = post(visitor, f"{links['Ann Lee']}/approve", {"full_name": "Anne Lee"})
    assert wrong.status_code == 422
    text = wrong.get_data(as_text=True)
    refusal = "Type your full name as shown, with every letter and accent: \u2068Ann Lee\u2069."
    assert refusal in text
    # A name the consultant misspelt cannot be approved as written: the way out is named.
    assert "If it is misspelt, decline the charter and say so" in text
    assert "Tick the box to confirm your approval." in text
    assert "<title>Error: Charter for \u2068Tidewater\u2069" in text
    # The summary of the problems comes before the charter, where the page opens, so it is
    # seen without JavaScript too (the charter preview alone is taller than a screen).
    assert text.index('class="error-summary"') < text.index('id="charter-title"')
    blank = post(visitor, f"{links['Ann Lee']}/approve", {"full_name": " ", "consent": "yes"})
    assert blank.status_code == 422 and "Enter your full name." in blank.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Signatory).one().action is None
        assert not [e for e in db.session.query(SignOffEvent) if e.action == "approved"]


def test_a_name_typed_with_a_phones_apostrophe_and_hyphen_approves(
    app: Flask, signed_in: FlaskClient
) -> None:
    # A phone's keyboard types ’ for ' and may turn - into ‐: the name is the same.
    person = {"name": "Siobhán O'Brien-Ruiz", "email": "sob@northlight.example", "role": ""}
    page = approved_as_typed(app, signed_in, person, "siobhán o’brien‐ruiz")
    hint = page.split('id="hint-full_name">', 1)[1].split("</p>", 1)[0]
    assert "Capital letters" in hint and "apostrophes" in hint and "Exactly" not in hint


def approved_as_typed(app: Flask, client: FlaskClient, person: dict[str, str], typed: str) -> str:
    """Name one signatory, approve from their link with the name as typed; return the page."""
    setup = engagement_with_decision(app, client)
    links = send(client, freeze(client, setup), people=(person,))
    link = next(iter(links.values()))
    visitor = app.test_client()
    page = visitor.get(link).get_data(as_text=True)
    assert approve(visitor, link, typed).status_code == 303
    with app.app_context():
        assert db.session.query(Signatory).one().action == "approved"
    return page


def test_a_form_sent_to_a_closed_sign_off_is_a_conflict_not_bad_input(
    app: Flask, signed_in: FlaskClient
) -> None:
    # The page no longer offers the forms: the sign-off's state is the problem, not the input.
    client = signed_in
    _, version_path = frozen_charter(app, client)
    links = send(client, version_path, order="parallel")
    assert post(client, f"{version_path}/withdraw").status_code == 303
    visitor = app.test_client()
    wrong_name = approve(visitor, links["Ann Lee"], "Someone Else")
    no_reason = post(visitor, f"{links['Bo Chen']}/decline", {"reason": " "})
    for response in (wrong_name, no_reason):
        assert response.status_code == 409
        assert "The consultant withdrew this version" in response.get_data(as_text=True)


def test_approving_twice_records_one_approval_and_shows_it(
    app: Flask, signed_in: FlaskClient
) -> None:
    """A double click sends the approval twice: the second lands on the approved page."""
    client = signed_in
    setup = engagement_with_decision(app, client)
    links = send(client, freeze(client, setup), order="parallel")
    visitor = app.test_client()
    assert approve(visitor, links["Ann Lee"], "Ann Lee").status_code == 303
    again = approve(visitor, links["Ann Lee"], "Ann Lee")
    assert again.status_code == 303  # type: ignore[attr-defined]
    page = visitor.get(links["Ann Lee"]).get_data(as_text=True)
    assert "You approved this charter on" in page and "You cannot act" not in page
    assert post(visitor, f"{links['Bo Chen']}/decline", {"reason": "Split"}).status_code == 303
    assert post(visitor, f"{links['Bo Chen']}/decline", {"reason": "Split"}).status_code == 303
    with app.app_context():
        actions = [e.action for e in db.session.query(SignOffEvent)]
        assert actions.count("approved") == 1 and actions.count("declined") == 1


def test_an_expired_link_shows_no_pending_status(app: Flask, signed_in: FlaskClient) -> None:
    client = signed_in
    setup = engagement_with_decision(app, client)
    links = send(client, freeze(client, setup), order="parallel", people=SIGNATORIES[:1])
    expire_the_link(app)
    text = app.test_client().get(links["Ann Lee"]).get_data(as_text=True)
    assert "status-pending" not in text and 'class="status status-expired">Expired<' in text
    # The time reads as every other time in the product does.
    assert re.search(r"expired on \d{1,2} \w{3} \d{4}, \d\d:\d\d UTC", text), text


def test_answers_evaluated_again_make_the_frozen_version_stale(
    app: Flask, signed_in: FlaskClient
) -> None:
    client = signed_in
    setup, version_path = frozen_charter(app, client)
    links = send(client, version_path, people=SIGNATORIES[:1])
    record(app, setup.engagement_id, {**ANSWERS, "timeline_pressure": 5})
    page = client.get(version_path).get_data(as_text=True)
    assert "This version is stale." in page
    visitor = app.test_client()
    seen = visitor.get(links["Ann Lee"]).get_data(as_text=True)
    assert "evaluated again" in seen
    assert 'class="status status-stale">Stale<' in seen and "asked to approve" not in seen
    assert re.search(r"evaluated again on \d{1,2} \w{3} \d{4}, \d\d:\d\d UTC", seen)
    response = approve(visitor, links["Ann Lee"], "Ann Lee")
    assert response.status_code == 409
    assert "cannot be signed" in response.get_data(as_text=True)  # type: ignore[attr-defined]


def test_a_signatory_is_not_labelled_as_declining_when_another_one_declined(
    app: Flask, signed_in: FlaskClient
) -> None:
    """The badge beside "For <name>" is read as what that person did."""
    setup = engagement_with_decision(app, signed_in)
    links = send(signed_in, freeze(signed_in, setup))  # in order: Bo waits for Ann
    visitor = app.test_client()
    assert post(visitor, f"{links['Ann Lee']}/decline", {"reason": "Split"}).status_code == 303
    ann = visitor.get(links["Ann Lee"]).get_data(as_text=True)
    assert 'class="status status-declined">Declined<' in ann
    bo = visitor.get(links["Bo Chen"]).get_data(as_text=True)
    assert "status-declined" not in bo
    # As the consultant's page lists them: closed with this version, without them.
    assert 'class="status status-closed">Closed<' in bo
    assert "Another signatory asked for changes" in bo


def test_a_signed_version_replaced_by_a_signed_amendment_says_so_on_its_pages(
    app: Flask, signed_in: FlaskClient
) -> None:
    """As the verify page tells whoever checks version 1: version 2 now replaces it."""
    setup = engagement_with_decision(app, signed_in)
    first = freeze(signed_in, setup)
    old_links = send(signed_in, first, order="parallel")
    visitor = app.test_client()
    for person in SIGNATORIES:
        assert approve(visitor, old_links[person["name"]], person["name"]).status_code == 303
    replaced = "Amended since: version 2, signed on "
    assert replaced not in visitor.get(old_links["Ann Lee"]).get_data(as_text=True)
    second = freeze(signed_in, setup, arbitration="Zurich Chamber")
    links = send(signed_in, second, order="parallel")
    assert approve(visitor, links["Ann Lee"], "Ann Lee").status_code == 303
    # Not before version 2 is signed: until then version 1 is the charter in force.
    assert replaced not in visitor.get(old_links["Ann Lee"]).get_data(as_text=True)
    assert approve(visitor, links["Bo Chen"], "Bo Chen").status_code == 303
    for page in (visitor.get(old_links["Bo Chen"]), signed_in.get(first)):
        text = visible_text(page.get_data(as_text=True))
        text = text.replace(" ,", ",")
        assert re.search(
            r"Amended since: version 2, signed on [^.]+ UTC, replaces this one\.", text
        )
    assert replaced not in signed_in.get(second).get_data(as_text=True)


def test_a_signatory_learns_what_declining_does_before_declining(
    app: Flask, signed_in: FlaskClient
) -> None:
    """ "Back to draft" is the consultant's view: the signatory needs to know the decline ends
    this version's sign-off for everyone, those who approved too, and what comes next."""
    links = send(signed_in, freeze(signed_in, engagement_with_decision(app, signed_in)))
    page = app.test_client().get(links["Ann Lee"]).get_data(as_text=True)
    hint = re.search(r'<p class="hint" id="hint-reason">([^<]*)</p>', page)
    assert hint is not None
    assert hint.group(1) == (
        "The consultant sees your reason. Declining ends the sign-off of this version for "
        "everyone, approvals already given included; the consultant can then prepare a "
        "corrected version and send you a new link."
    )


def test_a_signatory_who_approved_learns_who_is_still_to_approve(
    app: Flask, signed_in: FlaskClient
) -> None:
    setup = engagement_with_decision(app, signed_in)
    cy = {"name": "Cy Diaz", "email": "cy@tidewater.example", "role": "Editor"}
    links = send(signed_in, freeze(signed_in, setup), people=(*SIGNATORIES, cy))
    visitor = app.test_client()

    def notice(link: str) -> str:
        page = visitor.get(link).get_data(as_text=True)
        found = re.search(r"You approved this charter on .*?</p>", page, re.S)
        assert found is not None
        return " ".join(re.sub(r"<[^>]+>", "", found.group(0)).split())

    assert approve(visitor, links["Ann Lee"], "Ann Lee").status_code == 303
    assert "Still to approve, in this order: Bo Chen (Creative director), then Cy Diaz " in (
        notice(links["Ann Lee"])
    )
    assert approve(visitor, links["Bo Chen"], "Bo Chen").status_code == 303
    said = notice(links["Ann Lee"])
    assert "Still to approve: Cy Diaz (Editor). Once everyone has approved" in said
    assert "Bo Chen" not in said


def test_a_signatory_who_approved_learns_when_the_version_will_not_be_signed(
    app: Flask, signed_in: FlaskClient
) -> None:
    """Whoever approved first is not left waiting for a signed charter that cannot come."""
    client = signed_in
    setup = engagement_with_decision(app, client)
    visitor = app.test_client()
    waiting = "Once everyone has approved"

    links = send(client, freeze(client, setup), order="parallel")
    assert approve(visitor, links["Ann Lee"], "Ann Lee").status_code == 303
    assert waiting in visitor.get(links["Ann Lee"]).get_data(as_text=True)
    assert post(visitor, f"{links['Bo Chen']}/decline", {"reason": "Split"}).status_code == 303
    declined = visitor.get(links["Ann Lee"]).get_data(as_text=True)
    assert "You approved this charter on" in declined and waiting not in declined
    assert "Another signatory asked for changes" in declined

    version_path = freeze(client, setup)
    links = send(client, version_path, order="parallel")
    assert approve(visitor, links["Ann Lee"], "Ann Lee").status_code == 303
    assert post(client, f"{version_path}/withdraw").status_code == 303
    withdrawn = visitor.get(links["Ann Lee"]).get_data(as_text=True)
    assert waiting not in withdrawn and "The consultant withdrew this version" in withdrawn

    links = send(client, freeze(client, setup), order="parallel")
    assert approve(visitor, links["Ann Lee"], "Ann Lee").status_code == 303
    record(app, setup.engagement_id, {**ANSWERS, "timeline_pressure": 5})
    stale = visitor.get(links["Ann Lee"]).get_data(as_text=True)
    assert waiting not in stale and "evaluated again" in stale


def test_the_engagement_page_shows_a_stale_version_as_stale(
    app: Flask, signed_in: FlaskClient
) -> None:
    setup = engagement_with_decision(app, signed_in)
    send(signed_in, freeze(signed_in, setup), people=SIGNATORIES[:1])
    engagement_page = f"/engagements/{setup.engagement_id}"
    assert "status-pending" in signed_in.get(engagement_page).get_data(as_text=True)
    record(app, setup.engagement_id, {**ANSWERS, "timeline_pressure": 5})
    page = signed_in.get(engagement_page).get_data(as_text=True)
    assert 'class="status status-stale">Stale<' in page and "status-pending" not in page


def test_answers_submitted_again_unchanged_leave_the_frozen_version_current(
    app: Flask, signed_in: FlaskClient
) -> None:
    from webtools import create_engagement, invite

    from assess.signoff import stale_because

    def overtaken_by() -> int | None:
        with app.app_context():
            version = db.session.query(CharterVersion).one()
            newer = stale_because(db.session, version)
            return newer.id if newer else None

    engagement_id = create_engagement(signed_in)
    link = invite(signed_in, engagement_id)
    answer_through_link(signed_in, link)  # Ann alone answers: her decision #1 is the engagement's
    setup = Setup(engagement_id, 1)
    version_path = freeze(signed_in, setup)
    with app.app_context():
        ann = db.session.query(RespondentRecord).one().id
    reopen = f"/engagements/{engagement_id}/respondents/{ann}/reopen"

    # Reopened and submitted again as they were: decision #2 is the engagement's now, and
    # it says what #1 said, so the charter frozen from #1 still stands.
    post(signed_in, reopen)
    answer_through_link(signed_in, link)
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None and engagement.decision_of_record is not None
        assert engagement.decision_of_record.id == 2
    assert overtaken_by() is None
    page = signed_in.get(version_path).get_data(as_text=True)
    assert "This version is stale." not in page

    # Answers that change the decision make it stale.
    post(signed_in, reopen)
    answer_through_link(
        signed_in, link, {**ANSWERS, "timeline_pressure": 5, "iteration_readiness": 1}
    )
    assert overtaken_by() == 3
    assert "This version is stale." in signed_in.get(version_path).get_data(as_text=True)


def test_signatory_and_start_forms_report_each_field(app: Flask, signed_in: FlaskClient) -> None:
    client = signed_in
    _, version_path = frozen_charter(app, client)
    bad = post(client, f"{version_path}/signatories", {"name": "", "email": "not-an-email"})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert (
        "Enter the signatory&#39;s full name." in text or "Enter the signatory's full name." in text
    )
    assert "Enter an email address like name@example.com." in text
    # The audit page prints the name and role: a character no font has is refused now.
    printed = {**SIGNATORIES[0], "role": "Producer \U0001f3ac"}
    emoji = post(client, f"{version_path}/signatories", printed)
    assert emoji.status_code == 422
    assert "fonts lack: \U0001f3ac (U+1F3AC)" in emoji.get_data(as_text=True)
    # Nothing half-stored, and starting with nobody named is refused.
    early = post(client, f"{version_path}/start", {"order": "sequential"})
    assert early.status_code == 409
    post(client, f"{version_path}/signatories", SIGNATORIES[0])
    duplicate = post(client, f"{version_path}/signatories", SIGNATORIES[0])
    assert duplicate.status_code == 422
    wrong = post(client, f"{version_path}/start", {"order": "random", "expires_on": "2001-01-01"})
    assert wrong.status_code == 422
    assert "Choose in order, or all at once." in wrong.get_data(as_text=True)
    assert "Choose an expiry date after today: it is " in wrong.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Signatory).count() == 1
    # Once started, the list is fixed: a conflict with the sign-off's state, not bad input.
    post(client, f"{version_path}/signatories", SIGNATORIES[1])
    assert post(client, f"{version_path}/start", {"order": "parallel"}).status_code == 303
    late = post(client, f"{version_path}/signatories", {"name": "Cy", "email": "cy@example.com"})
    assert late.status_code == 409
    assert "only be changed before the sign-off starts" in late.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Signatory).count() == 2


def test_a_form_sent_after_the_sign_off_closed_to_it_says_so_rather_than_what_to_correct(
    app: Flask, signed_in: FlaskClient
) -> None:
    """Sent from a tab opened earlier: the page that answers no longer shows the form, so a
    problem with what was typed would lead nowhere. What stops the form is said instead."""
    client = signed_in
    setup, version_path = frozen_charter(app, client)
    post(client, f"{version_path}/signatories", SIGNATORIES[0])
    ann = signatory_id(app, "Ann Lee")
    assert post(client, f"{version_path}/signatories/{ann}/remove").status_code == 303
    # Everyone was removed in another tab: the start form is gone.
    wrong = {"order": "random", "expires_on": "2001-01-01"}
    nobody = post(client, f"{version_path}/start", wrong)
    assert nobody.status_code == 409
    text = nobody.get_data(as_text=True)
    assert "Add at least one signatory first." in text
    assert 'href="#field-expires_on"' not in text and 'id="field-expires_on"' not in text
    # Started in another tab: neither the signatory form nor the start form is shown.
    send(client, version_path, people=SIGNATORIES[1:])
    for path, form in (("signatories", {"name": "", "email": "not-an-email"}), ("start", wrong)):
        late = post(client, f"{version_path}/{path}", form)
        assert late.status_code == 409, path
        text = late.get_data(as_text=True)
        assert "before the sign-off starts" in text or "has already started" in text, path
        assert 'href="#field-' not in text and 'href="#order-' not in text, path
    with app.app_context():
        assert [s.name for s in db.session.query(Signatory)] == ["Bo Chen"]


def test_another_consultant_sees_none_of_it(app: Flask, signed_in: FlaskClient) -> None:
    client = signed_in
    setup, version_path = frozen_charter(app, client)
    make_consultant(app, email="dan@example.com", name="Dan Other")
    other = app.test_client()
    login(other, "dan@example.com")
    for path in (version_path, f"{version_path}/charter.pdf", f"{version_path}/signed.pdf"):
        assert other.get(path).status_code == 404
    assert post(other, f"{version_path}/signatories", SIGNATORIES[0]).status_code == 404
    assert post(other, setup.freeze_path, {"version": "1"}).status_code == 404
    # Signed out: sent to sign in.
    assert app.test_client().get(version_path).status_code == 302
    assert app.test_client().get("/sign/not-a-token").status_code == 404
    assert app.test_client().get("/sign/" + "x" * 500).status_code == 404


def test_an_amendment_shows_its_changes_to_the_consultant_and_the_signatory(
    app: Flask, signed_in: FlaskClient
) -> None:
    client = signed_in
    setup, first = frozen_charter(app, client, arbitration="Geneva Chamber")
    link = send(client, first, people=SIGNATORIES[:1])["Ann Lee"]
    assert approve(app.test_client(), link, "Ann Lee").status_code == 303
    page = client.get(first).get_data(as_text=True)
    assert "Amend the charter" in page
    second = freeze(client, setup, arbitration="Zurich Chamber")
    assert second.endswith("/charter/v2")
    text = client.get(second).get_data(as_text=True)
    assert "Changes since signed version 1" in text
    assert "Geneva Chamber" in text and "Zurich Chamber" in text
    with app.app_context():
        versions = db.session.query(CharterVersion).order_by(CharterVersion.number).all()
        assert versions[1].previous_sha256 == versions[0].sha256
        assert versions[0].sha256 in text
    new_link = send(client, second, people=SIGNATORIES[:1])["Ann Lee"]
    signatory_page = app.test_client().get(new_link).get_data(as_text=True)
    assert "What changes from the signed version 1" in signatory_page
    assert "Zurich Chamber" in signatory_page


def test_an_amendment_s_calendar_cancels_the_reviews_it_drops(
    app: Flask, signed_in: FlaskClient
) -> None:
    """A calendar that imported the signed version keeps no review the amendment drops: the
    amendment's calendar, for the consultant, for a signatory and in its draft, cancels it
    under the same UID at a higher SEQUENCE."""
    client = signed_in
    setup, first = frozen_charter(app, client, effective_date="2027-02-06")
    link = send(client, first, people=SIGNATORIES[:1])["Ann Lee"]
    assert approve(app.test_client(), link, "Ann Lee").status_code == 303

    def events(data: bytes) -> dict[str, icalendar.Event]:
        assert all(len(line) <= 75 for line in data.split(b"\r\n"))
        parsed = icalendar.Calendar.from_ical(data)
        return {str(e["SUMMARY"]).split(":")[0]: e for e in parsed.walk("VEVENT")}

    before = events(client.get(f"{first}/reviews.ics").data)
    assert "Partnership check-in" in before and "CANCELLED" not in str(before)
    # A shorter relationship: the decision no longer sets the quarterly check-ins.
    amended = Setup(
        setup.engagement_id,
        record(app, setup.engagement_id, {**ANSWERS, "relationship_duration": 3}),
    )
    second = freeze(client, amended, effective_date="2027-02-06")
    assert second.endswith("/charter/v2")
    after = events(client.get(f"{second}/reviews.ics").data)
    assert set(after) == set(before)
    dropped, was = after["Partnership check-in"], before["Partnership check-in"]
    assert dropped["STATUS"] == "CANCELLED" and dropped["UID"] == was["UID"]
    assert dropped["SEQUENCE"] == 1 > was["SEQUENCE"]
    assert dropped.decoded("DTSTART") == was.decoded("DTSTART")
    kept = [e for title, e in after.items() if title != "Partnership check-in"]
    assert kept and all("STATUS" not in e and e["SEQUENCE"] == 1 for e in kept)
    # The signatories' copy is the same file; so is a draft's, on the next version.
    new_link = send(client, second, people=SIGNATORIES[:1])["Ann Lee"]
    assert approve(app.test_client(), new_link, "Ann Lee").status_code == 303
    signatory = app.test_client().get(f"{new_link}/reviews.ics")
    assert signatory.data == client.get(f"{second}/reviews.ics").data
    draft = post(client, amended.charter_path + ".ics", {"effective_date": "2027-02-06"})
    drafted = events(draft.data)  # type: ignore[attr-defined]
    assert drafted["Partnership check-in"]["STATUS"] == "CANCELLED"
    assert drafted["Partnership check-in"]["SEQUENCE"] == 2
    assert str(drafted["Partnership check-in"]["DESCRIPTION"]).startswith(
        "Cancelled. The draft of version 3 of charter PC-"
    )


def test_amending_opens_the_charter_form_filled_in_as_the_signed_version(
    app: Flask, signed_in: FlaskClient
) -> None:
    client = signed_in
    setup = engagement_with_decision(app, client)
    first = freeze(
        client,
        setup,
        arbitration="Geneva Chamber",
        mediator_internal_1="Dana Fox",
        revenue_producer="60",
        revenue_creator="40",
    )
    page = client.get(f"{first}/amend")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for value in ('value="Geneva Chamber"', 'value="Dana Fox"', 'value="60"'):
        assert value in text
    assert 'id="charter-version">Version 2<' in text
    assert "Freeze for sign-off" in text
    # Nothing says this is an amendment until version 1 is signed.
    assert "Amending signed version" not in text
    link = send(client, first, people=SIGNATORIES[:1])["Ann Lee"]
    assert approve(app.test_client(), link, "Ann Lee").status_code == 303
    text = client.get(f"{first}/amend").get_data(as_text=True)
    assert "<strong>Amending signed version 1.</strong>" in text
    assert "Freezing this form makes version 2" in text and f'href="{first}">Open version 1' in text
    assert client.get(f"/engagements/{setup.engagement_id}/charter/v9/amend").status_code == 404


def test_after_a_freeze_the_charter_form_proposes_the_next_version_number(
    app: Flask, signed_in: FlaskClient
) -> None:
    setup = engagement_with_decision(app, signed_in)

    def proposed() -> str:
        form = signed_in.get(setup.charter_path).get_data(as_text=True)
        assert 'name="version"' not in form  # nobody chooses it
        found = re.search(r'id="charter-version">Version (\d+)<', form)
        assert found, form
        return found.group(1)

    assert proposed() == "1"
    post(signed_in, f"{freeze(signed_in, setup)}/withdraw")
    assert proposed() == "2"  # the number the next freeze gives it
    # A version typed into a hand-made form changes nothing: the draft says version 2.
    preview = post(signed_in, f"{setup.charter_path}/preview", {"version": "7"})
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "version 7" not in text.lower()
    assert re.search(r"Charter version\s+2\s", re.sub(r"<[^>]+>", " ", text)), text


def test_freezing_again_warns_that_it_withdraws_the_open_sign_off(
    app: Flask, signed_in: FlaskClient
) -> None:
    setup = engagement_with_decision(app, signed_in)
    assert "data-confirm" not in signed_in.get(setup.charter_path).get_data(as_text=True)
    version_path = freeze(signed_in, setup)
    assert "data-confirm" not in signed_in.get(setup.charter_path).get_data(as_text=True)
    links = send(signed_in, version_path)
    assert approve(app.test_client(), links["Ann Lee"], "Ann Lee").status_code == 303  # type: ignore[attr-defined]
    for path in (setup.charter_path, f"{version_path}/amend"):
        form = signed_in.get(path).get_data(as_text=True)
        assert "Version 1 is out for sign-off (1 of 2 approved)" in form
        assert re.search(r'data-confirm="[^"]*withdraws version 1[^"]*">Freeze for sign-off', form)


def test_removing_a_signatory_closes_the_gap_in_the_order(
    app: Flask, signed_in: FlaskClient
) -> None:
    _, version_path = frozen_charter(app, signed_in)
    third = {"name": "Cy Diaz", "email": "cy@tidewater.example", "role": ""}
    name_signatories(signed_in, version_path, (*SIGNATORIES, third))
    with app.app_context():
        first = db.session.query(Signatory).order_by(Signatory.position).first()
        assert first is not None and first.name == "Ann Lee"
        first_id = first.id
    post(signed_in, f"{version_path}/signatories/{first_id}/remove")
    post(signed_in, f"{version_path}/signatories", {**SIGNATORIES[0], "name": "Ann Lee"})
    with app.app_context():
        order = db.session.query(Signatory.position, Signatory.name).order_by(Signatory.position)
        assert [tuple(row) for row in order] == [(1, "Bo Chen"), (2, "Cy Diaz"), (3, "Ann Lee")]
    page = signed_in.get(version_path).get_data(as_text=True)
    assert re.findall(r'<td data-label="Order">(\d+)</td>', page) == ["1", "2", "3"]


def test_signatories_approving_all_at_once_are_listed_without_an_order(
    app: Flask, signed_in: FlaskClient
) -> None:
    _, version_path = frozen_charter(app, signed_in)
    name_signatories(signed_in, version_path, SIGNATORIES)
    page = signed_in.get(version_path).get_data(as_text=True)
    assert len(re.findall(r'<td data-label="Order">\d+</td>', page)) == 2  # as they will sign
    assert post(signed_in, f"{version_path}/start", {"order": "parallel"}).status_code == 303
    page = signed_in.get(version_path).get_data(as_text=True)
    assert 'data-label="Order"' not in page and '<th scope="col">#</th>' not in page


def test_a_withdrawn_version_offers_the_next_one(app: Flask, signed_in: FlaskClient) -> None:
    _, version_path = frozen_charter(app, signed_in)
    post(signed_in, f"{version_path}/withdraw")
    page = signed_in.get(version_path).get_data(as_text=True)
    assert f'href="{version_path}/amend"' in page
    notice = re.search(r"<strong>Withdrawn</strong>(.*?)</p>", page, re.S)
    assert notice is not None
    said = re.sub(r"<[^>]+>", "", notice.group(1))
    assert said.startswith(" by Cara Diaz on ") and "no longer approve" in said
    assert said.count("Withdrawn") == 0


def test_a_version_withdrawn_by_a_newer_one_links_to_it(app: Flask, signed_in: FlaskClient) -> None:
    setup, first_path = frozen_charter(app, signed_in)
    second_path = freeze(signed_in, setup, arbitration="Geneva Chamber")
    page = signed_in.get(first_path).get_data(as_text=True)
    notice = re.search(r"<strong>Withdrawn</strong>(.*?)</p>", page, re.S)
    assert notice is not None
    assert f'replaced by <a href="{second_path}">version 2</a>.' in notice.group(1)
    assert "prepare a new version" not in notice.group(1)
    assert f'href="{first_path}/amend"' not in page


def test_a_withdrawn_version_says_so_when_a_stale_tab_still_changes_it(
    app: Flask, signed_in: FlaskClient
) -> None:
    # Version 1's page, open in another tab while version 2 was frozen, is sent from.
    setup, version_path = frozen_charter(app, signed_in)
    post(signed_in, f"{version_path}/signatories", SIGNATORIES[0])
    freeze(signed_in, setup)
    added = post(signed_in, f"{version_path}/signatories", SIGNATORIES[1])
    started = post(signed_in, f"{version_path}/start", {"order": "parallel"})
    for response in (added, started):
        assert response.status_code == 409
        text = response.get_data(as_text=True)
        assert "Version 1 was withdrawn" in text and "already started" not in text
        assert "before the sign-off starts" not in text


def test_storing_a_new_decision_warns_that_it_stops_the_sign_off(
    app: Flask, signed_in: FlaskClient
) -> None:
    client = signed_in
    setup = engagement_with_decision(app, client)
    result = f"/engagements/{setup.engagement_id}/decisions/{setup.decision_id}"
    preview = f"{result}?adjust=1&" + "&".join(
        f"{key}={value}" for key, value in {**ANSWERS, "innovation": 5}.items()
    )
    warning = "is out for sign-off.</strong> A new decision makes it stale"
    assert "makes it stale" not in client.get(preview).get_data(as_text=True)  # nothing frozen
    version_path = freeze(client, setup)
    assert "Charter version 1 is frozen for sign-off." in client.get(preview).get_data(as_text=True)
    send(client, version_path, people=SIGNATORIES[:1])
    assert warning in client.get(preview).get_data(as_text=True)
    # Once a newer decision has made the version stale, there is nothing left to stop.
    record(app, setup.engagement_id, {**ANSWERS, "timeline_pressure": 5})
    assert "makes it stale" not in client.get(preview).get_data(as_text=True)


def test_the_seal_links_to_the_address_the_consultant_used_not_the_signatorys(
    app: Flask, signed_in: FlaskClient
) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader

    from assess.signing.seal import SEAL_FILE, embedded_file

    client = signed_in
    setup = engagement_with_decision(app, client)
    links = send(client, freeze(client, setup), people=SIGNATORIES[:1])
    # The last signatory's request names another host (a forged Host or X-Forwarded-Host):
    # it must not decide where the QR code in the sealed contract points.
    signatory = app.test_client()
    signatory.get(links["Ann Lee"])
    session = signatory.get_cookie("session")
    assert session is not None
    signatory.set_cookie("session", session.value, domain="phish.example")
    token = re.search(r'name="csrf-token" content="([^"]+)"', signatory.get(links["Ann Lee"]).text)
    assert token is not None
    form = {"csrf_token": token.group(1), "full_name": "Ann Lee", "consent": "yes"}
    approved = signatory.post(
        f"{links['Ann Lee']}/approve", data=form, headers={"Host": "phish.example"}
    )
    assert approved.status_code == 303
    sealed = signatory.get(f"{links['Ann Lee']}/signed.pdf").data
    seal = embedded_file(PdfFileReader(io.BytesIO(sealed)), SEAL_FILE)
    assert seal is not None and b"phish.example" not in seal
    assert b'"http://localhost/verify/' in seal


def test_the_sign_off_pages_load_their_stylesheet_in_the_head(
    app: Flask, signed_in: FlaskClient
) -> None:
    _, version_path = frozen_charter(app, signed_in)
    links = send(signed_in, version_path)
    engagement_path = version_path.rsplit("/charter/", 1)[0]
    pages = {
        "engagement": signed_in.get(engagement_path),
        "version": signed_in.get(version_path),
        "sign": app.test_client().get(links["Ann Lee"]),
        "verify": app.test_client().get("/verify"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        head, body = response.get_data(as_text=True).split("</head>", 1)
        assert head.count("/static/signoff.css") == 1, name
        assert "<link" not in body, name


def test_the_engagement_page_leads_on_to_the_version_out_for_sign_off(
    app: Flask, signed_in: FlaskClient
) -> None:
    client = signed_in
    setup = engagement_with_decision(app, client)
    engagement = f"/engagements/{setup.engagement_id}"

    def card() -> str:
        page = client.get(engagement).get_data(as_text=True)
        return page.split('id="charter-title"', 1)[1].split("</section>", 1)[0]

    first = freeze(client, setup)
    assert (
        f'class="button button-primary" href="{first}">Name the signatories of version 1' in card()
    )
    link = send(client, first, people=SIGNATORIES[:1])["Ann Lee"]
    assert f'href="{first}">Follow the sign-off of version 1' in card()
    assert approve(app.test_client(), link, "Ann Lee").status_code == 303
    assert "Amend the charter" in card() and "button-primary" not in card()
    # The amendment being prepared is where to carry on; amending again would replace it.
    second = freeze(client, setup, arbitration="Zurich Chamber")
    assert f'href="{second}">Name the signatories of version 2' in card()
    assert "Amend the charter" not in card() and "Prepare a new version" in card()


def test_the_engagements_list_follows_the_newest_version_s_sign_off(
    app: Flask, signed_in: FlaskClient
) -> None:
    client = signed_in
    setup = engagement_with_decision(app, client)

    def progress() -> tuple[str, str]:
        page = client.get("/engagements").get_data(as_text=True)
        card = page.split('class="engagement-meta"', 1)[1].split("</div>", 1)[0]
        status = re.search(r'<span class="status [\w-]+">([^<]+)</span>', card)
        found = re.search(r"Version \d+:[^<]*", card)
        assert status is not None
        return status.group(1), " ".join(found.group().split()) if found else ""

    version_path = freeze(client, setup)
    assert progress() == ("Charter drafted", "Version 1: signatories to name")
    links = send(client, version_path, order="parallel")
    assert progress() == ("Awaiting sign-off", "Version 1: 0 of 2 approved")
    assert approve(app.test_client(), links["Ann Lee"], "Ann Lee").status_code == 303
    assert progress() == ("Awaiting sign-off", "Version 1: 1 of 2 approved")
    post(app.test_client(), f"{links['Bo Chen']}/decline", {"reason": "Not the agreed split."})
    assert progress() == ("Charter drafted", "Version 1: declined")
    freeze(client, setup)
    assert progress() == ("Charter drafted", "Version 2: signatories to name")


def test_freezing_again_warns_that_the_signatories_named_for_a_version_are_dropped(
    app: Flask, signed_in: FlaskClient
) -> None:
    setup, version_path = frozen_charter(app, signed_in)
    post(signed_in, f"{version_path}/signatories", SIGNATORIES[0])
    form = signed_in.get(setup.charter_path).get_data(as_text=True)
    assert "Version 1 is being prepared for sign-off (1 signatory named, no links sent yet)" in form
    assert re.search(
        r'data-confirm="[^"]*withdraws version 1 and the 1 signatory[^"]*">Freeze', form
    )
    post(signed_in, f"{version_path}/signatories", SIGNATORIES[1])
    form = signed_in.get(setup.charter_path).get_data(as_text=True)
    assert "(2 signatories named, no links sent yet)" in form


def test_pages_listing_versions_read_no_stored_pdf(app: Flask, signed_in: FlaskClient) -> None:
    """Frozen and sealed charters stay in the database until a download asks for one."""

    setup, version_path = frozen_charter(app, signed_in)
    links = send(signed_in, version_path)
    for name, link in links.items():
        assert approve(app.test_client(), link, name).status_code == 303
    pages = ["/engagements", f"/engagements/{setup.engagement_id}", version_path]
    with statements_sent(app) as statements:
        for page in pages:
            statements.clear()
            assert signed_in.get(page).status_code == 200, page
            assert statements, page
            pdfs = [s for s in statements if re.search(r"\.(sealed_)?pdf\b", s)]
            assert not pdfs, (page, pdfs)
        statements.clear()
        assert signed_in.get(f"{version_path}/signed.pdf").status_code == 200
        assert any(re.search(r"\.sealed_pdf\b", s) for s in statements)


def test_a_freeze_sent_again_finds_the_version_it_made(app: Flask, signed_in: FlaskClient) -> None:
    setup, first = frozen_charter(app, signed_in, arbitration="Geneva Chamber")
    # The same form sent again (the back button, a second tab): no copy replaces version 1.
    again = post(signed_in, setup.freeze_path, {"arbitration": "Geneva Chamber"})
    assert again.status_code == 303 and again.headers["Location"] == first  # type: ignore[attr-defined]
    page = signed_in.get(first).get_data(as_text=True)
    assert "Version 1 was already frozen from this decision with these details" in page
    assert 'class="status status-preparing"' in page
    # Anything else is a new version: other details, or a version already being signed.
    assert freeze(signed_in, setup, arbitration="Zurich Chamber").endswith("/charter/v2")
    second = setup.version_path(2)
    post(signed_in, f"{second}/signatories", SIGNATORIES[0])
    assert freeze(signed_in, setup, arbitration="Zurich Chamber").endswith("/charter/v3")
    with app.app_context():
        statuses = [v.sign_off.status for v in db.session.query(CharterVersion).order_by("number")]
        assert statuses == ["withdrawn", "withdrawn", "preparing"]


def test_an_agreed_note_shows_in_the_amendments_changes(app: Flask, signed_in: FlaskClient) -> None:
    from assess.alignment import Respondent
    from assess.consensus import Agreement, agree
    from assess.engine import evaluate_respondents
    from assess.questionnaire import record_decision

    note = "The release date is flexible; agreed in the workshop."
    setup = engagement_with_decision(app, signed_in)
    people = [
        Respondent("Ann Lee", "producer", dict(ANSWERS)),
        Respondent("Bo Chen", "creator", {**ANSWERS, "timeline_pressure": 1}),
    ]
    apart = evaluate_respondents(people, what_if=True)
    with app.app_context():  # the two answered from their links: their consensus decides
        engagement = db.session.get(Engagement, setup.engagement_id)
        assert engagement is not None
        for person in people:
            engagement.respondents.append(
                RespondentRecord(
                    name=person.name,
                    side=person.side,
                    answers=dict(person.answers),
                    submitted_at=utcnow(),
                )
            )
        db.session.commit()

    def decided(decision: object) -> Setup:
        with app.app_context():
            engagement = db.session.get(Engagement, setup.engagement_id)
            stored = record_decision(db.session, engagement, decision)  # type: ignore[arg-type]
            db.session.commit()
            return Setup(setup.engagement_id, stored.id)

    first = freeze(signed_in, decided(apart))
    link = send(signed_in, first, people=SIGNATORIES[:1])["Ann Lee"]
    assert approve(app.test_client(), link, "Ann Lee").status_code == 303
    level = apart.answers["timeline_pressure"]
    second = freeze(signed_in, decided(agree(apart, Agreement("timeline_pressure", level, note))))
    new_link = send(signed_in, second, people=SIGNATORIES[:1])["Ann Lee"]
    for page in (
        signed_in.get(second).get_data(as_text=True),
        app.test_client().get(new_link).get_data(as_text=True),
    ):
        assert "Nothing the charter says differs" not in page
        assert "Timeline pressure: level it rests on" in page
        assert f"<bdi>{level}, cautious middle, not yet agreed</bdi>" in page
        assert f"<bdi>{level}, agreed after discussion</bdi>" in page
        assert f"<bdi>{note}</bdi>" in page


RLO = "\u202e"  # right-to-left override: everything after it reads backwards, unless isolated


class _Isolation(HTMLParser):
    """Find text people typed that ends in an unclosed direction override and is not set
    apart from the page around it: neither inside <bdi> nor between Unicode isolates."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "wbr"}
    # Form controls and titles isolate their own text, or cannot hold markup.
    OWN = {"textarea", "title", "script", "style", "option"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.bare: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            shown = name in ("data-confirm", "title", "aria-label", "alt", "placeholder")
            if shown and value and not _isolated(value):
                self.bare.append(f"<{tag} {name}={value!r}>")
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            while self.open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if "bdi" in self.open or self.OWN & set(self.open):
            return
        if not _isolated(data):
            self.bare.append(f"{' > '.join(self.open[-3:])}: {data.strip()!r}")


def _isolated(text: str) -> bool:
    """Say whether every override in the text lies inside a Unicode isolate."""
    depth = 0
    for char in text:
        if char in "\u2066\u2067\u2068":
            depth += 1
        elif char == "\u2069":
            depth = max(0, depth - 1)
        elif char == RLO and depth == 0:
            return False
    return True


def bare_text(page: str) -> list[str]:
    parser = _Isolation()
    parser.feed(page)
    return parser.bare


def test_text_people_typed_is_isolated_on_the_sign_off_pages(
    app: Flask, signed_in: FlaskClient
) -> None:
    client = signed_in
    setup, version_path = frozen_charter(app, client)
    people = tuple(
        {**p, "name": p["name"] + RLO, "role": p["role"] + RLO, "email": p["email"]}
        for p in SIGNATORIES
    )
    links = send(client, version_path, people=people)
    ann, bo = (links[p["name"]] for p in people)
    visitor = app.test_client()
    # Bo's turn comes after Ann's: his page names her.
    waiting = visitor.get(bo).get_data(as_text=True)
    assert f"not your turn yet: \u2068Ann Lee{RLO}\u2069 approves first" in waiting
    wrong = post(visitor, f"{ann}/approve", {"full_name": "Someone", "consent": "yes"})
    pages = {"waiting": waiting, "wrong name": wrong.get_data(as_text=True)}  # type: ignore[attr-defined]
    assert approve(visitor, ann, f"Ann Lee{RLO}").status_code == 303
    reason = "Move the release to spring" + RLO
    assert post(visitor, f"{bo}/decline", {"reason": reason}).status_code == 303  # type: ignore[attr-defined]
    engagement = client.get(f"/engagements/{setup.engagement_id}").get_data(as_text=True)
    card = engagement.split('id="charter-title"', 1)[1].split("</section>", 1)[0]
    assert f"<strong><bdi>Bo Chen{RLO}</bdi>: <bdi>{reason}</bdi></strong>" in card
    pages |= {
        "engagement": card,
        "version": client.get(version_path).get_data(as_text=True),
        "approved": visitor.get(ann).get_data(as_text=True),
        "declined": visitor.get(bo).get_data(as_text=True),
    }
    assert f"<bdi>Bo Chen{RLO}</bdi>: <bdi>{reason}.</bdi>" in pages["version"]
    # A version still open offers to revoke a link: the question names the signatory.
    second = freeze(client, setup, arbitration="Zurich Chamber")
    send(client, second, people=people)
    pages["open"] = client.get(second).get_data(as_text=True)
    assert f"Revoke \u2068Ann Lee{RLO}\u2069's link?" in pages["open"]
    for name, page in pages.items():
        assert RLO in page, name
        assert bare_text(page) == [], name


def test_the_frozen_document_names_its_rules_version_as_the_decision_page_does(
    app: Flask, signed_in: FlaskClient
) -> None:
    setup = engagement_with_decision(app, signed_in)
    version_page = signed_in.get(freeze(signed_in, setup)).get_data(as_text=True)
    decision_page = signed_in.get(
        f"/engagements/{setup.engagement_id}/decisions/{setup.decision_id}"
    ).get_data(as_text=True)
    for page in (version_page, decision_page):
        assert re.search(r"<dt>Rules version</dt><dd[^>]*>(<code>)?[0-9a-f]{16}<", page)


def test_a_signatory_who_declined_is_not_told_their_approval_is_recorded(
    app: Flask, signed_in: FlaskClient
) -> None:
    links = send(signed_in, freeze(signed_in, engagement_with_decision(app, signed_in)))
    signatory = app.test_client()
    response = post(signatory, f"{links['Ann Lee']}/decline", {"reason": "The split is wrong."})
    assert response.status_code == 303
    page = signatory.get(links["Ann Lee"]).get_data(as_text=True)
    assert "You declined this charter" in page
    assert "approval is recorded" not in page
    assert "Your decision to decline is recorded against it" in page


def test_a_name_pasted_with_invisible_characters_approves_as_it_shows(
    app: Flask, signed_in: FlaskClient
) -> None:
    # Copied from an email signature or a PDF, a name brings marks nobody can type: a
    # left-to-right mark, a zero-width space, a soft hyphen. The signatory types what shows.
    person = {"name": "Ann\u00ad Lee\u200b\u200e", "email": "ann@northlight.example"}
    approved_as_typed(app, signed_in, person, "Ann Lee")


def test_an_email_address_is_stored_as_it_is_meant_and_named_once(
    app: Flask, signed_in: FlaskClient
) -> None:
    # Pasted with a space or an invisible character around it, or with its accent typed
    # as a separate mark: the same address, never a second signatory.
    client = signed_in
    _, version_path = frozen_charter(app, client)
    pasted = {"name": "Ann Lee", "email": " \u200bann.m\u00fcller@northlight.example\u200e "}
    assert post(client, f"{version_path}/signatories", pasted).status_code == 303
    same = ("ANN.MU\u0308LLER@northlight.example", "ann.m\u00fcller@northlight.example\u200b")
    for again in same:
        response = post(client, f"{version_path}/signatories", {"name": "Ann", "email": again})
        assert response.status_code == 422, again  # type: ignore[attr-defined]
        assert "is already a signatory." in response.get_data(as_text=True)  # type: ignore[attr-defined]
    with app.app_context():
        assert [s.email for s in db.session.query(Signatory)] == [
            "ann.m\u00fcller@northlight.example"
        ]


def test_removing_a_signatory_twice_shows_the_list_without_them(
    app: Flask, signed_in: FlaskClient
) -> None:
    # A double click sends the removal twice: the second finds the list as asked.
    client = signed_in
    _, version_path = frozen_charter(app, client)
    name_signatories(client, version_path)
    ann = signatory_id(app, "Ann Lee")
    remove = f"{version_path}/signatories/{ann}/remove"
    assert post(client, remove).status_code == 303
    again = post(client, remove)
    assert again.status_code == 303  # type: ignore[attr-defined]
    assert again.headers["Location"].endswith(f"{version_path}#signatories")  # type: ignore[attr-defined]
    assert "no longer on the list" in client.get(version_path).get_data(as_text=True)
    with app.app_context():
        assert [(s.name, s.position) for s in db.session.query(Signatory)] == [("Bo Chen", 1)]
    # Another engagement's signatory is still nobody's business here.
    other = engagement_with_decision(app, client)
    other_path = freeze(client, other)
    post(client, f"{other_path}/signatories", SIGNATORIES[0])
    theirs = signatory_id(app, "Ann Lee")
    assert post(client, f"{version_path}/signatories/{theirs}/remove").status_code == 404
    for never in (2**31, 10**20):
        assert post(client, f"{version_path}/signatories/{never}/remove").status_code == 404
    with app.app_context():
        assert db.session.query(Signatory).count() == 2


@pytest.mark.parametrize("closed_by", ["withdrawal", "decline", "nothing sent yet"])
def test_revoking_a_link_that_cannot_be_used_changes_nothing_and_says_why(
    app: Flask, signed_in: FlaskClient, closed_by: str
) -> None:
    # Sent from a page opened before the sign-off closed (or before it started): no event
    # is added to the history of a closed sign-off, and nobody is told a link stopped.
    client = signed_in
    _, version_path = frozen_charter(app, client)
    if closed_by == "nothing sent yet":
        post(client, f"{version_path}/signatories", SIGNATORIES[1])
    else:
        links = send(client, version_path, order="parallel")
        if closed_by == "withdrawal":
            post(client, f"{version_path}/withdraw")
        else:
            post(app.test_client(), f"{links['Ann Lee']}/decline", {"reason": "Not yet"})
    bo = signatory_id(app, "Bo Chen")
    with app.app_context():
        before = db.session.query(SignOffEvent).count()
    response = post(client, f"{version_path}/signatories/{bo}/revoke")
    assert response.status_code == 303  # type: ignore[attr-defined]
    page = client.get(version_path).get_data(as_text=True)
    assert "link no longer works" not in page
    refusal = (
        "has no link to revoke: links are made when the sign-off starts."
        if closed_by == "nothing sent yet"
        else "link is not revoked: this sign-off is closed"
    )
    assert refusal in page
    with app.app_context():
        assert db.session.query(SignOffEvent).count() == before
        assert db.session.query(Signatory).filter_by(id=bo).one().revoked_at is None


# Any Unicode a form field can carry, control characters and direction overrides included.
TEXT = st.text(
    st.characters(codec="utf-8") | st.sampled_from("\x00\t\n\r\u202e\u200b"), max_size=260
)
FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def version_cache() -> dict[str, str]:
    return {}


@FUZZ
@given(field=st.sampled_from(["name", "email", "role"]), value=TEXT)
def test_the_signatory_form_takes_any_text_without_failing(
    app: Flask, signed_in: FlaskClient, version_cache: dict[str, str], field: str, value: str
) -> None:
    if "path" not in version_cache:
        version_cache["path"] = freeze(signed_in, engagement_with_decision(app, signed_in))
    person = {"name": "Ann Lee", "email": "ann@northlight.example", "role": "", field: value}
    response = post(signed_in, f"{version_cache['path']}/signatories", person)
    assert response.status_code in (303, 422)  # type: ignore[attr-defined]
    with app.app_context():
        named = db.session.query(Signatory).all()
        assert len(named) == (1 if response.status_code == 303 else 0)  # type: ignore[attr-defined]
        for signatory in named:
            stored = signatory.name + signatory.email + signatory.role
            assert not re.search("[\x00-\x1f\x7f]", stored), stored
            assert signatory.name.strip() and signatory.email == signatory.email.strip()
            db.session.delete(signatory)  # the next example starts from an empty list
        db.session.commit()


@pytest.fixture
def charter_laid_out_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lay out the first charter frozen in the test, and give its bytes to every later one.

    Each decline sends the charter back to draft, so the next example freezes a new version
    to sign; laying a charter out takes seconds, and what the sign page does with the text
    posted to it does not depend on the bytes of the PDF being signed."""
    laid_out: list[bytes] = []
    lay_out = charter.to_pdf

    def to_pdf(*args: Any, **kwargs: Any) -> bytes:
        if not laid_out:
            laid_out.append(lay_out(*args, **kwargs))
        return laid_out[0]

    monkeypatch.setattr(charter, "to_pdf", to_pdf)


@settings(FUZZ, max_examples=20)
@given(full_name=TEXT, reason=TEXT)
@pytest.mark.usefixtures("charter_laid_out_once")
def test_the_sign_page_takes_any_text_without_failing(
    app: Flask, signed_in: FlaskClient, version_cache: dict[str, str], full_name: str, reason: str
) -> None:
    if "link" not in version_cache:
        setup = engagement_with_decision(app, signed_in)
        links = send(signed_in, freeze(signed_in, setup), people=SIGNATORIES[:1])
        version_cache["link"] = links["Ann Lee"]
    visitor = app.test_client()
    link = version_cache["link"]
    approved = approve(visitor, link, full_name)
    declined = post(visitor, f"{link}/decline", {"reason": reason})
    assert approved.status_code in (303, 422)  # type: ignore[attr-defined]
    assert declined.status_code in (303, 422)  # type: ignore[attr-defined]
    with app.app_context():
        signatory = db.session.query(Signatory).order_by(Signatory.id.desc()).first()
        assert signatory is not None
        events = db.session.query(SignOffEvent).filter_by(signatory_id=signatory.id)
        acted = [e.action for e in events if e.action in ("approved", "declined")]
        assert acted == ([signatory.action] if signatory.action else [])
        assert (signatory.action is None) == (declined.status_code == 422)  # type: ignore[attr-defined]
    if signatory.action is not None:
        version_cache.clear()  # the next example needs a sign-off still open


@pytest.mark.parametrize("closed_by", ["decline", "signature"])
def test_a_form_sent_again_after_the_sign_off_closed_says_what_closed_it(
    app: Flask, signed_in: FlaskClient, closed_by: str
) -> None:
    # The start and add forms, sent again from a tab opened before: no advice to make new
    # links, which a closed sign-off no longer takes.
    _, version_path = frozen_charter(app, signed_in)
    link = send(signed_in, version_path, people=SIGNATORIES[:1])["Ann Lee"]
    visitor = app.test_client()
    if closed_by == "decline":
        post(visitor, f"{link}/decline", {"reason": "Not yet"})
        said = "Version 1 was declined, so it can no longer be changed or sent."
    else:
        approve(visitor, link, "Ann Lee")
        said = "Version 1 is signed, so it can no longer be changed or sent."
    with app.app_context():
        before = db.session.query(SignOffEvent).count()
    started = post(signed_in, f"{version_path}/start", {"order": "parallel"})
    added = post(signed_in, f"{version_path}/signatories", SIGNATORIES[1])
    for response in (started, added):
        assert response.status_code == 409  # type: ignore[attr-defined]
        text = response.get_data(as_text=True)  # type: ignore[attr-defined]
        assert said in text
        assert "make a new link" not in text and "before the sign-off starts" not in text
    with app.app_context():
        assert db.session.query(SignOffEvent).count() == before
        assert db.session.query(Signatory).count() == 1


def _named(app: Flask, number: int) -> list[tuple[int, str, str, str]]:
    """Return who a version names, in order: position, name, email, role."""
    with app.app_context():
        version = db.session.query(CharterVersion).filter_by(number=number).one()
        return [(s.position, s.name, s.email, s.role) for s in version.sign_off.signatories]


NAME_AGAIN = "Name the same signatories as version 1"


@pytest.mark.parametrize("closed_by", ["decline", "signature"])
def test_a_new_version_names_the_signatories_of_the_one_before_with_one_action(
    app: Flask, signed_in: FlaskClient, closed_by: str
) -> None:
    client = signed_in
    setup, first = frozen_charter(app, client, arbitration="Geneva Chamber")
    links = send(client, first, order="parallel")
    if closed_by == "decline":
        post(app.test_client(), f"{links['Bo Chen']}/decline", {"reason": "Not agreed."})
    else:
        for name, link in links.items():
            assert approve(app.test_client(), link, name).status_code == 303
    second = freeze(client, setup, arbitration="Zurich Chamber")
    assert second.endswith("/charter/v2")
    page = client.get(second).get_data(as_text=True)
    assert NAME_AGAIN in page
    assert "<bdi>Ann Lee</bdi>" in page and "<bdi>bo@tidewater.example</bdi>" in page
    assert _named(app, 2) == []  # offered, not named until the consultant asks

    response = post(client, f"{second}/signatories/again")
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert response.headers["Location"].endswith(f"{second}#signatories")  # type: ignore[attr-defined]
    people = [(i, p["name"], p["email"], p["role"]) for i, p in enumerate(SIGNATORIES, 1)]
    assert _named(app, 2) == people
    with app.app_context():
        version = db.session.query(CharterVersion).filter_by(number=2).one()
        # Named only: no link made, nobody invited, the sign-off not started.
        assert version.sign_off.status == "preparing"
        named = version.sign_off.signatories
        assert all(s.token_hash is None and s.invited_at is None for s in named)
        assert [e.action for e in version.sign_off.events] == ["frozen"]
    page = client.get(second).get_data(as_text=True)
    assert NAME_AGAIN not in page
    assert page.count(">Remove<") == 2
    # Sent all at once last time: offered the same way again.
    assert 'value="parallel" checked' in page and 'value="sequential" checked' not in page

    # Sent again (a double click): the list stays as asked.
    again = post(client, f"{second}/signatories/again")
    assert again.status_code == 303  # type: ignore[attr-defined]
    assert "The signatories of version 1 are already named." in client.get(second).get_data(
        as_text=True
    )
    assert _named(app, 2) == people

    # Still the consultant's to change before the links go out.
    with app.app_context():
        version = db.session.query(CharterVersion).filter_by(number=2).one()
        ann = version.sign_off.signatories[0].id
    assert post(client, f"{second}/signatories/{ann}/remove").status_code == 303
    assert _named(app, 2) == [(1, "Bo Chen", "bo@tidewater.example", "Creative director")]
    assert post(client, f"{second}/start", {"order": "sequential"}).status_code == 303
    assert list(shown_links(client.get(second).get_data(as_text=True))) == ["Bo Chen"]


def test_signatories_named_again_are_all_named_or_none(app: Flask, signed_in: FlaskClient) -> None:
    client = signed_in
    setup, first = frozen_charter(app, client, arbitration="Geneva Chamber")
    name_signatories(client, first)
    second = freeze(client, setup, arbitration="Zurich Chamber")  # withdraws version 1
    # An address the signatory form refuses now (stored before the rule, say): named by
    # nobody, and the consultant learns whose and why.
    with app.app_context():
        bo = db.session.query(Signatory).filter_by(name="Bo Chen").one()
        bo.email = "bo@tidewater"
        db.session.commit()
    refused = post(client, f"{second}/signatories/again")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    text = refused.get_data(as_text=True)  # type: ignore[attr-defined]
    assert (
        "<bdi>Bo Chen</bdi> cannot be named again. Email address: "
        "Enter an email address like name@example.com." in text
    )
    assert _named(app, 2) == []
    with app.app_context():
        bo = db.session.query(Signatory).filter_by(name="Bo Chen").one()
        bo.email = "bo@tidewater.example"
        db.session.commit()
    # A person named meanwhile (from a second tab): the form's own refusal, nothing added.
    post(client, f"{second}/signatories", {"name": "Bo Chen", "email": "BO@tidewater.example"})
    duplicate = post(client, f"{second}/signatories/again")
    assert duplicate.status_code == 422  # type: ignore[attr-defined]
    assert "bo@tidewater.example\u2069 is already a signatory." in duplicate.get_data(  # type: ignore[attr-defined]
        as_text=True
    )
    assert [n for _, n, _, _ in _named(app, 2)] == ["Bo Chen"]


def test_the_newest_version_that_named_anyone_is_offered(
    app: Flask, signed_in: FlaskClient
) -> None:
    client = signed_in
    setup, first = frozen_charter(app, client, arbitration="Geneva Chamber")
    # The first version names nobody: nothing to offer, and asking is refused.
    assert "Name the same signatories" not in client.get(first).get_data(as_text=True)
    nothing = post(client, f"{first}/signatories/again")
    assert nothing.status_code == 409  # type: ignore[attr-defined]
    assert "No earlier version of this charter names signatories." in nothing.get_data(  # type: ignore[attr-defined]
        as_text=True
    )
    name_signatories(client, first, SIGNATORIES[:1])
    second = freeze(client, setup, arbitration="Zurich Chamber")
    assert "Name the same signatories" in client.get(second).get_data(as_text=True)
    # Version 2 is replaced before anyone is named on it: version 3 is offered version 1's.
    third = freeze(client, setup, arbitration="Paris Chamber")
    page = client.get(third).get_data(as_text=True)
    assert NAME_AGAIN in page
    assert post(client, f"{third}/signatories/again").status_code == 303
    assert [n for _, n, _, _ in _named(app, 3)] == ["Ann Lee"]
    page = client.get(third).get_data(as_text=True)
    assert 'value="sequential" checked' in page  # version 1 was never sent: in order


def test_only_the_consultants_own_open_version_names_signatories_again(
    app: Flask, signed_in: FlaskClient
) -> None:
    client = signed_in
    setup, first = frozen_charter(app, client, arbitration="Geneva Chamber")
    name_signatories(client, first)
    second = freeze(client, setup, arbitration="Zurich Chamber")
    make_consultant(app, email="dan@example.com", name="Dan Other")
    other = app.test_client()
    login(other, "dan@example.com")
    assert post(other, f"{second}/signatories/again").status_code == 404
    assert _named(app, 2) == []
    # Once the links are out the list is fixed.
    send(client, second, people=SIGNATORIES[1:])
    started = post(client, f"{second}/signatories/again")
    assert started.status_code == 409  # type: ignore[attr-defined]
    assert "only be changed before the sign-off starts" in started.get_data(as_text=True)  # type: ignore[attr-defined]
    assert [n for _, n, _, _ in _named(app, 2)] == ["Bo Chen"]
    # An archived engagement changes nothing.
    third = freeze(client, setup, arbitration="Paris Chamber")
    post(client, f"/engagements/{setup.engagement_id}/archive")
    assert "Name the same signatories" not in client.get(third).get_data(as_text=True)
    assert post(client, f"{third}/signatories/again").status_code == 409
    assert _named(app, 3) == []


def test_a_revoked_link_no_longer_shows_whose_charter_it_was(
    app: Flask, signed_in: FlaskClient
) -> None:
    # A link is revoked when it reached the wrong person: from then on it tells them nothing
    # of the charter, its parties or its document id (which /verify would look up).
    _, version_path = frozen_charter(app, signed_in)
    link = send(signed_in, version_path, people=SIGNATORIES[:1])["Ann Lee"]
    with app.app_context():
        document_id = db.session.query(Signatory).one().sign_off.version.document_id
    post(signed_in, f"{version_path}/signatories/{signatory_id(app, 'Ann Lee')}/revoke")

    visitor = app.test_client()
    for response in (
        visitor.get(link),
        visitor.get(f"{link}/charter.pdf"),
        approve(visitor, link, "Ann Lee"),
        post(visitor, f"{link}/decline", {"reason": "Wrong person"}),
    ):
        page = response.get_data(as_text=True)  # type: ignore[attr-defined]
        assert response.status_code == 410, page  # type: ignore[attr-defined]
        assert "This link has been withdrawn. Ask the consultant for a new one." in page
        assert ">Your personal link</p>" in page and "Error 410" not in page
        for secret in ("Tidewater", "Ann Lee", "Executive producer", document_id):
            assert secret not in page, secret


def test_signing_links_never_travel_readable_in_the_session_cookie(
    app: Flask, signed_in: FlaskClient
) -> None:
    # Anyone holding a signing link can approve in its signatory's name: the cookie that
    # carries new links to the page that shows them once must not give them away.
    _, version_path = frozen_charter(app, signed_in)
    name_signatories(signed_in, version_path, SIGNATORIES)
    started = post(signed_in, f"{version_path}/start", {"order": "parallel"})
    carried = cookie_session(app, started)
    links = shown_links(signed_in.get(version_path).get_data(as_text=True))
    assert len(links) == 2
    ann = signatory_id(app, "Ann Lee")
    renewed = post(signed_in, f"{version_path}/signatories/{ann}/link")
    carried += cookie_session(app, renewed)
    links.update(shown_links(signed_in.get(version_path).get_data(as_text=True)))
    for path in links.values():
        assert path.rsplit("/", 1)[1] not in carried


def test_a_signing_link_that_leaked_to_a_search_engine_is_not_indexed_nor_followed(
    app: Flask, signed_in: FlaskClient
) -> None:
    # A link pasted somewhere public is fetched by crawlers: neither the page nor the
    # confidential charter it frames may end up in a search index.
    _, version_path = frozen_charter(app, signed_in)
    link = send(signed_in, version_path, people=SIGNATORIES[:1])["Ann Lee"]
    visitor = app.test_client()
    for response in (visitor.get(link), visitor.get(f"{link}/charter.pdf")):
        assert response.headers["X-Robots-Tag"] == "noindex, nofollow"


def test_the_charter_form_says_why_the_version_it_corrects_was_declined(
    app: Flask, signed_in: FlaskClient
) -> None:
    # "Prepare a new version" on a declined version opens the charter form: the reason the
    # signatory gave is what the consultant has to change there, so the form repeats it.
    setup = engagement_with_decision(app, signed_in)
    version_path = freeze(signed_in, setup)
    links = send(signed_in, version_path, order="parallel")
    assert "was declined" not in signed_in.get(setup.charter_path).get_data(as_text=True)
    post(app.test_client(), f"{links['Bo Chen']}/decline", {"reason": "The split must be 50/50"})
    for path in (f"{version_path}/amend", setup.charter_path):
        page = signed_in.get(path).get_data(as_text=True)
        notice = page.split('id="declined"', 1)[1].split("</p>", 1)[0]
        text = visible_text(notice)
        assert "Version 1 was declined." in text, text
        assert "Bo Chen : The split must be 50/50." in text, text
        assert "Freezing this form makes version 2" in text, text
        assert f'href="{version_path}"' in notice
    freeze(signed_in, setup)  # the correction is frozen: nothing is declined any more
    assert "was declined" not in signed_in.get(setup.charter_path).get_data(as_text=True)


def test_the_engagements_list_follows_an_amendment_of_a_signed_charter(
    app: Flask, signed_in: FlaskClient
) -> None:
    # A signed engagement stays "Signed" while its amendment is out: the list says how far
    # the amendment has come, as the engagement page does.
    client = signed_in
    setup = engagement_with_decision(app, client)
    links = send(client, freeze(client, setup), order="parallel")
    for name, link in links.items():
        assert approve(app.test_client(), link, name).status_code == 303  # type: ignore[attr-defined]

    def progress() -> str:
        page = client.get("/engagements").get_data(as_text=True)
        card = page.split('class="engagement-meta"', 1)[1].split("</div>", 1)[0]
        assert "Signed" in card
        found = re.search(r"Version \d+:[^<]*", card)
        return " ".join(found.group().split()) if found else ""

    assert progress() == ""  # the signed version is the whole story
    amendment = freeze(client, setup, arbitration="Zurich Chamber")
    assert progress() == "Version 2: signatories to name"
    links = send(client, amendment, order="parallel")
    assert progress() == "Version 2: 0 of 2 approved"
    post(app.test_client(), f"{links['Bo Chen']}/decline", {"reason": "Keep Geneva."})
    assert progress() == "Version 2: declined"


def test_a_declined_version_a_newer_one_followed_points_at_it(
    app: Flask, signed_in: FlaskClient
) -> None:
    # Only the newest declined version is back in draft: an older one offering to prepare
    # a new version would fill the form with what was declined and withdraw the newer one.
    setup = engagement_with_decision(app, signed_in)
    first = freeze(signed_in, setup)
    links = send(signed_in, first, order="parallel")
    post(app.test_client(), f"{links['Bo Chen']}/decline", {"reason": "The split must be 50/50"})
    page = signed_in.get(first).get_data(as_text=True)
    assert "back in draft" in page and f'href="{first}/amend"' in page
    second = freeze(signed_in, setup, revenue_producer="50", revenue_creator="50")
    page = signed_in.get(first).get_data(as_text=True)
    notice = page.split("<strong>Declined.</strong>", 1)[1].split("</div>", 1)[0]
    assert "Bo Chen" in notice and "The split must be 50/50." in notice
    assert "back in draft" not in notice and f'href="{first}/amend"' not in page
    text = visible_text(notice)
    assert "Version 2 was frozen after it." in text, text
    assert f'href="{second}"' in notice


def test_a_declined_versions_links_say_once_the_corrected_version_is_frozen(
    app: Flask, signed_in: FlaskClient
) -> None:
    # "Your consultant will send you a link to the corrected version" stays a promise only
    # until it is kept: then the old link says the new version exists and has its own link.
    setup = engagement_with_decision(app, signed_in)
    first = freeze(signed_in, setup)
    links = send(signed_in, first, order="parallel")
    signatory = app.test_client()
    assert approve(signatory, links["Ann Lee"], "Ann Lee").status_code == 303  # type: ignore[attr-defined]
    post(signatory, f"{links['Bo Chen']}/decline", {"reason": "The split must be 50/50"})

    def said(name: str) -> str:
        page = signatory.get(links[name]).get_data(as_text=True)
        notice = page.split('<div class="notice notice-warning" role="status">', 1)[1]
        return visible_text(notice.split("</div>", 1)[0])

    assert "will send you a link to the corrected version" in said("Ann Lee")
    assert "Version 2" not in said("Bo Chen")
    freeze(signed_in, setup, revenue_producer="50", revenue_creator="50")
    for name in ("Ann Lee", "Bo Chen"):
        text = said(name)
        assert "will send you a link" not in text, text
        assert "Version 2 has been prepared since: it has a link of its own." in text, text


def test_a_stale_version_s_signatories_and_links_no_longer_change(
    app: Flask, signed_in: FlaskClient
) -> None:
    """A newer decision overtook the version: the page offers no way to change who signs it or
    to make links, and forms sent from a tab opened before are refused, saying why. It can
    still be withdrawn."""
    client = signed_in
    setup, first = frozen_charter(app, client)
    post(client, f"{first}/signatories", SIGNATORIES[0])
    version_path = freeze(client, setup)  # version 2, still to be named for
    post(client, f"{version_path}/signatories", SIGNATORIES[1])
    bo = signatory_id(app, "Bo Chen")
    record(app, setup.engagement_id, {**ANSWERS, "timeline_pressure": 5})
    page = client.get(version_path).get_data(as_text=True)
    assert "This version is stale." in page
    for action in ("/signatories/again", "/signatories", f"/signatories/{bo}/remove", "/start"):
        assert not re.search(f'action="{re.escape(version_path + action)}["#]', page), action
    with app.app_context():
        before = db.session.query(SignOffEvent).count()
    wrong = {"name": "", "email": "not-an-email"}
    for path, form in (
        ("signatories/again", {}),
        ("signatories", SIGNATORIES[0]),
        ("signatories", wrong),
        (f"signatories/{bo}/remove", {}),
        ("start", {"order": "parallel"}),
        ("start", {"order": "random"}),
    ):
        refused = post(client, f"{version_path}/{path}", form)
        assert refused.status_code == 409, path  # type: ignore[attr-defined]
        text = refused.get_data(as_text=True)  # type: ignore[attr-defined]
        assert "Version 2 is stale" in text and "evaluated again" in text, path
        assert "Freeze a new version from the current decision." in text, path
        assert "The consultant will freeze" not in text, path
        assert 'href="#field-' not in text and 'href="#order-' not in text, path
    with app.app_context():
        assert [s.name for s in db.session.query(Signatory).order_by(Signatory.id)] == [
            "Ann Lee",
            "Bo Chen",
        ]
        assert db.session.query(SignOffEvent).count() == before
    assert post(client, f"{version_path}/withdraw").status_code == 303
    assert "Withdrawn</strong>" in client.get(version_path).get_data(as_text=True)


def test_a_stale_version_out_for_sign_off_makes_no_new_links(
    app: Flask, signed_in: FlaskClient
) -> None:
    client = signed_in
    setup, version_path = frozen_charter(app, client)
    links = send(client, version_path, order="parallel")
    ann, bo = signatory_id(app, "Ann Lee"), signatory_id(app, "Bo Chen")
    record(app, setup.engagement_id, {**ANSWERS, "timeline_pressure": 5})
    page = client.get(version_path).get_data(as_text=True)
    assert "This version is stale." in page
    assert f'action="{version_path}/signatories/{ann}/link"' not in page
    with app.app_context():
        kept = db.session.query(Signatory).filter_by(id=ann).one().token_hash
    refused = post(client, f"{version_path}/signatories/{ann}/link")
    assert refused.status_code == 409  # type: ignore[attr-defined]
    text = refused.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Version 1 is stale" in text and "no links can be made" in text
    assert shown_links(client.get(version_path).get_data(as_text=True)) == {}
    with app.app_context():
        assert db.session.query(Signatory).filter_by(id=ann).one().token_hash == kept
    # Its links can still be stopped, and the version withdrawn.
    assert post(client, f"{version_path}/signatories/{bo}/revoke").status_code == 303
    assert app.test_client().get(links["Bo Chen"]).status_code == 410
    assert post(client, f"{version_path}/withdraw").status_code == 303


def test_a_sign_page_sent_after_its_session_ended_comes_back_with_what_was_typed(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from itsdangerous.timed import TimestampSigner

    _, version_path = frozen_charter(app, signed_in)
    link = send(signed_in, version_path, order="parallel")["Ann Lee"]
    signatory = app.test_client()
    token = re.search(r'name="csrf-token" content="([^"]+)"', signatory.get(link).text)
    assert token is not None
    # The browser closed, then the decline sent from the page it brought back.
    signatory.delete_cookie("session")
    reason = "The revenue split is not what we agreed."
    refused = signatory.post(
        f"{link}/decline", data={"csrf_token": token.group(1), "reason": reason}
    )
    assert refused.status_code == 303 and refused.headers["Location"].startswith("/cookie-check")
    back = signatory.get(refused.headers["Location"])
    assert back.status_code == 303 and back.headers["Location"] == link
    page = signatory.get(link).get_data(as_text=True)
    assert "What you typed was not sent: it was opened before your browser was closed" in page
    assert f">{reason}</textarea>" in page
    # Said once.
    assert "What you typed was not sent" not in signatory.get(link).get_data(as_text=True)

    # Left open for hours: the name typed comes back, the consent is given again.
    token = re.search(r'name="csrf-token" content="([^"]+)"', signatory.get(link).text)
    assert token is not None
    now = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now(self) + 13 * 3600)
    form = {"csrf_token": token.group(1), "full_name": "Ann Lee", "consent": "yes"}
    refused = signatory.post(f"{link}/approve", data=form)
    assert refused.status_code == 303 and refused.headers["Location"] == link
    page = signatory.get(link).get_data(as_text=True)
    assert "What you typed was not sent: it was open too long to be sent" in page
    assert (
        'name="full_name" type="text" maxlength="120" autocomplete="name" value="Ann Lee"' in page
    )
    assert 'name="consent" type="checkbox" value="yes" checked' not in page
    with app.app_context():
        assert all(s.action is None for s in db.session.query(Signatory))


def test_a_sign_page_left_open_for_hours_leads_back_to_it(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from itsdangerous.timed import TimestampSigner

    _, version_path = frozen_charter(app, signed_in)
    link = send(signed_in, version_path)["Ann Lee"]
    signatory = app.test_client()
    token = re.search(r'name="csrf-token" content="([^"]+)"', signatory.get(link).text)
    assert token is not None
    now = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now(self) + 13 * 3600)
    form = {"csrf_token": token.group(1), "consent": "yes"}  # nothing typed to keep
    refused = signatory.post(f"{link}/approve", data=form)
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "Your form has expired" in page and "open for more than 12 hours" in page
    assert "browser was closed" not in page and "answers" not in page
    assert f'<a class="button" href="{link}">Reload the page</a>' in page
    # Served under a prefix, the way back is under it too.
    refused = signatory.post(
        f"{link}/approve", data=form, environ_overrides={"SCRIPT_NAME": "/assess"}
    )
    assert f'href="/assess{link}">Reload the page</a>' in refused.get_data(as_text=True)
    with app.app_context():
        assert all(s.action is None for s in db.session.query(Signatory))
