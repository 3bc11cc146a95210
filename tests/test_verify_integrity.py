"""Signed charters stay apart and say what they are: unique document ids, damaged or foreign
files, superseded versions, archived engagements."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from signofftools import (  # noqa: F401  (fixtures)
    SIGNATORIES,
    approve,
    engagement_with_decision,
    freeze,
    post,
    record,
    seal_key_files,
    send,
    shared_seal_key,
)
from test_verify_page import seal_as, sign_through, upload
from webtools import ANSWERS, csrf_token, visible_text

from assess.extensions import db
from assess.models import CharterVersion, Signatory
from assess.signing import sha256_hex


@pytest.fixture
def signed_charter(app: Flask) -> tuple[bytes, str, bytes]:
    """A charter signed through the app: the sealed bytes, its document id, the frozen PDF."""
    return sign_through(app)[:3]


def sealed_elsewhere(frozen: bytes, folder: Path) -> bytes:
    """The frozen charter sealed with another key, as another service would seal it."""
    from assess.signing.keys import load_or_create

    keys = load_or_create(folder / "other", key_size=2048)
    at = datetime(2026, 11, 23, tzinfo=UTC)
    return seal_as(frozen, keys, "PC-2026-AAAA-BBBB", at, "https://other.example")


def result_heading(page: str) -> str:
    match = re.search(r'<h2 id="result-title">([^<]*)</h2>', page)
    assert match, page
    return match.group(1)


def fact(page: str, name: str) -> str | None:
    """Return the text of one row of the result's facts, tags removed (None if absent)."""
    match = re.search(rf"<dt>{re.escape(name)}</dt><dd[^>]*>(.*?)</dd>", page)
    return re.sub(r"<[^>]+>", "", match.group(1)) if match else None


# --- every charter has its own document id --------------------------------------------


@pytest.mark.db
@pytest.mark.usefixtures("shared_seal_key")
def test_two_engagements_never_share_a_document_id(app: Flask, signed_in: FlaskClient) -> None:
    first = engagement_with_decision(app, signed_in)
    second = engagement_with_decision(app, signed_in)  # same project, parties and answers
    freeze(signed_in, first)
    freeze(signed_in, second)
    with app.app_context():
        versions = db.session.query(CharterVersion).order_by(CharterVersion.id).all()
        ids = [v.document_id for v in versions]
        hashes = [v.sha256 for v in versions]
    assert ids[0] != ids[1], "two different charters got one document id"
    assert hashes[0] != hashes[1], "two different charters are byte-identical frozen PDFs"
    # The QR page of the first charter lists only its own versions.
    page = signed_in.get(f"/verify/{ids[0]}").get_data(as_text=True)
    assert re.findall(r'<th scope="row"><span class="stack-only">Version </span>(\d+)<', page) == [
        "1"
    ]


# --- a damaged copy is called damaged ----------------------------------------------------


@pytest.mark.db
@pytest.mark.usefixtures("shared_seal_key")
def test_a_truncated_signed_charter_is_reported_as_damaged_not_as_unsigned(
    client: FlaskClient, signed_charter: tuple[bytes, str, bytes]
) -> None:
    truncated = signed_charter[0][: len(signed_charter[0]) // 2]  # e.g. an interrupted download
    page = upload(client, truncated)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    # A damaged copy of a sealed charter: the page cannot say it carries no seal.
    box = text[text.index('id="result-title"') : text.index('<dl class="facts card">')]
    assert "This PDF carries no seal of this service" not in box
    assert "damaged" in box


# --- another service's seal is not called an alteration -------------------------------


@pytest.mark.db
@pytest.mark.usefixtures("shared_seal_key")
def test_a_charter_sealed_by_another_service_is_not_called_altered(
    client: FlaskClient, signed_charter: tuple[bytes, str, bytes], tmp_path: Path
) -> None:
    other = sealed_elsewhere(signed_charter[2], tmp_path)
    text = upload(client, other).get_data(as_text=True)
    # The bytes are as sealed, but by someone else: not "altered", not vouched for either.
    assert result_heading(text) == "Not sealed by this service"
    assert "it was changed after the seal" not in text
    # Every row says the same: intact, only not by this service's certificate.
    seal_row = fact(text, "Seal")
    assert seal_row is not None and "Broken" not in seal_row
    assert seal_row.endswith("sealed by assess charter seal (not this service's certificate)")
    assert fact(text, "Since the seal") == "Nothing added or changed"


@pytest.mark.db
@pytest.mark.usefixtures("shared_seal_key")
@pytest.mark.parametrize("stated", ["\u0000" * 64, "0" * 10_000, "PC-2026-AAAA-BBBB\u0000"])
def test_what_a_foreign_seal_states_is_never_taken_for_a_fingerprint(
    client: FlaskClient,
    signed_charter: tuple[bytes, str, bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stated: str,
) -> None:
    # Anyone can seal a file stating anything: no text of theirs reaches the database as is.
    import json

    import assess.signing.seal
    from assess.signing.seal import seal_statement

    def forged(*args: Any) -> bytes:
        statement = json.loads(seal_statement(*args))
        statement["approved"]["sha256"] = stated
        statement["document_id"] = stated
        return json.dumps(statement).encode()

    monkeypatch.setattr(assess.signing.seal, "seal_statement", forged)
    other = sealed_elsewhere(signed_charter[2], tmp_path)
    response = upload(client, other)
    assert response.status_code == 200
    assert result_heading(response.get_data(as_text=True)) != "Intact and sealed"


# --- every row agrees with the verdict ---------------------------------------------------


@pytest.mark.db
@pytest.mark.usefixtures("shared_seal_key")
def test_data_appended_after_the_end_of_file_is_altered_in_every_row(
    client: FlaskClient, signed_charter: tuple[bytes, str, bytes]
) -> None:
    appended = signed_charter[0] + b"% a note after the end of the file\n"
    text = upload(client, appended).get_data(as_text=True)
    assert result_heading(text) == "Altered: do not rely on this file"
    seal_row = fact(text, "Seal")
    assert seal_row is not None
    assert "Valid" not in seal_row and "Intact" not in seal_row
    assert seal_row.startswith("Matches the bytes it covers only: the file differs from the one")
    assert fact(text, "Since the seal") == "Changed: 35 bytes appended after the sealed file"


def signed_by_ann(app: Flask, client: FlaskClient, setup: Any, **fields: str) -> str:
    """Freeze the charter, have Ann Lee approve it alone; return the version's path."""
    version = freeze(client, setup, **fields)
    link = send(client, version, people=SIGNATORIES[:1])["Ann Lee"]
    assert approve(app.test_client(), link, "Ann Lee").status_code == 303
    return version


def signed_then_amended(app: Flask, client: FlaskClient) -> str:
    """Sign version 1 of a new engagement's charter, then an amendment replacing it as
    version 2; return version 1's path."""
    setup = engagement_with_decision(app, client)
    first = signed_by_ann(app, client, setup, arbitration="Geneva Chamber")
    signed_by_ann(app, client, setup, arbitration="Zurich Chamber")
    return first


def result_box(page: str) -> str:
    """The text of the verify page's answer box, tags removed."""
    box = page[page.index('id="result-title"') : page.index("</section>")]
    return re.sub(r"<[^>]+>", "", box[: box.index("</div>")])


# --- a signed version replaced by an amendment says so -------------------------------


@pytest.mark.db
@pytest.mark.usefixtures("shared_seal_key")
def test_verifying_a_signed_version_that_was_amended_says_it_was_superseded(
    app: Flask, signed_in: FlaskClient
) -> None:
    first = signed_then_amended(app, signed_in)
    old_signed = signed_in.get(f"{first}/signed.pdf").data
    text = upload(app.test_client(), old_signed).get_data(as_text=True)
    assert "Intact and sealed" in text
    # The holder of version 1 must learn that version 2 now replaces it.
    assert "<p><strong>Amended since: version 2, signed on " in text


# --- an archived engagement's sign-off is read-only -----------------------------------


@pytest.mark.db
@pytest.mark.usefixtures("shared_seal_key")
def test_an_archived_engagement_cannot_send_an_amendment_for_sign_off(
    app: Flask, signed_in: FlaskClient
) -> None:
    setup = engagement_with_decision(app, signed_in)
    first = signed_by_ann(app, signed_in, setup)
    amendment = freeze(signed_in, setup, arbitration="Zurich Chamber")
    assert post(signed_in, f"{amendment}/signatories", SIGNATORIES[0]).status_code == 303
    post(signed_in, f"/engagements/{setup.engagement_id}/archive")
    # Freezing is refused on an archived engagement (409); starting the sign-off must be too:
    # the links it issues can never be used (check_can_act refuses every approval).
    started = post(signed_in, f"{amendment}/start", {"order": "parallel"})
    assert started.status_code == 409  # type: ignore[attr-defined]
    with app.app_context():
        signatories = db.session.query(Signatory).order_by(Signatory.id).all()
        assert all(s.token_hash is None for s in signatories[1:])
    # Nor can its signatories change, or the signed version's links be touched.
    added = post(signed_in, f"{amendment}/signatories", SIGNATORIES[1])
    assert added.status_code == 409  # type: ignore[attr-defined]
    with app.app_context():
        ann = db.session.query(Signatory).order_by(Signatory.id).first()
        assert ann is not None
        ann_id, before = ann.id, (ann.token_hash, ann.revoked_at)
        assert db.session.query(Signatory).count() == 2
    post(signed_in, f"{first}/signatories/{ann_id}/revoke")
    with app.app_context():
        ann = db.session.get(Signatory, ann_id)
        assert ann is not None and (ann.token_hash, ann.revoked_at) == before


@pytest.mark.db
@pytest.mark.usefixtures("shared_seal_key")
def test_an_amended_version_says_so_in_its_answer_whether_uploaded_or_looked_up(
    app: Flask, signed_in: FlaskClient
) -> None:
    """The holder of version 1 learns that version 2 replaces it in the answer itself, also
    when pasting its fingerprint; the version's pages are not theirs to see."""
    first = signed_then_amended(app, signed_in)
    old_signed = signed_in.get(f"{first}/signed.pdf").data
    visitor = app.test_client()
    uploaded = upload(visitor, old_signed).get_data(as_text=True)
    looked_up = post(visitor, "/verify", {"sha256": sha256_hex(old_signed)})
    for text in (uploaded, looked_up.get_data(as_text=True)):  # type: ignore[attr-defined]
        box = result_box(text)
        assert re.search(r"Amended since: version 2, signed on [^<]+ UTC, replaces this one\.", box)


# --- the public page agrees with the sign-off pages on where a version stands ----------


def versions_row(page: str, number: int) -> str:
    """Return the text of one version's row on a charter's public page, tags removed."""
    rows = re.findall(r"(?s)<tr>\s*<th scope=\"row\">.*?</tr>", page)
    for row in rows:
        text = visible_text(row)
        if text.startswith(f"Version {number} "):
            return text
    raise AssertionError(f"no row for version {number}")


@pytest.mark.db
@pytest.mark.usefixtures("shared_seal_key")
def test_a_stale_version_is_stale_on_the_public_page_as_on_the_sign_off_pages(
    app: Flask, signed_in: FlaskClient
) -> None:
    setup = engagement_with_decision(app, signed_in)
    version = freeze(signed_in, setup)
    link = send(signed_in, version, order="parallel")["Ann Lee"]
    frozen = signed_in.get(f"{version}/charter.pdf").data
    record(app, setup.engagement_id, {**ANSWERS, "innovation": 1, "risk_tolerance": 5})
    assert "Stale" in app.test_client().get(link).get_data(as_text=True)
    with app.app_context():
        document_id = db.session.query(CharterVersion).one().document_id
    visitor = app.test_client()
    row = versions_row(visitor.get(f"/verify/{document_id}").get_data(as_text=True), 1)
    # It can never be signed now: "Pending" and "Named once signed" promise otherwise.
    assert "Stale" in row and "Pending" not in row and "Named once signed" not in row
    looked_up = post(visitor, "/verify", {"sha256": sha256_hex(frozen)}).get_data(as_text=True)  # type: ignore[attr-defined]
    box = visible_text(looked_up[looked_up.index('id="result"') :])
    assert "will not be signed" in box and "pending" not in box
    uploaded = upload(visitor, frozen).get_data(as_text=True)
    assert "unsigned frozen copy of version 1" in uploaded
    assert "will not be signed" in uploaded and "not signed yet" not in uploaded


@pytest.mark.db
@pytest.mark.usefixtures("shared_seal_key")
def test_the_public_page_says_which_signed_version_an_amendment_replaced(
    app: Flask, signed_in: FlaskClient
) -> None:
    """The QR code on version 1's audit page opens this list: it must not read as current."""
    signed_then_amended(app, signed_in)
    with app.app_context():
        document_id = db.session.query(CharterVersion).first().document_id  # type: ignore[union-attr]
    page = app.test_client().get(f"/verify/{document_id}").get_data(as_text=True)
    assert "Replaced by version 2" in versions_row(page, 1)
    assert "Replaced" not in versions_row(page, 2)


@pytest.mark.db
@pytest.mark.usefixtures("shared_seal_key")
def test_looking_up_a_version_nobody_approved_yet_does_not_call_it_approved(
    app: Flask, signed_in: FlaskClient
) -> None:
    setup = engagement_with_decision(app, signed_in)
    version = freeze(signed_in, setup)
    frozen = signed_in.get(f"{version}/charter.pdf").data
    visitor = app.test_client()
    page = post(visitor, "/verify", {"sha256": sha256_hex(frozen)}).get_data(as_text=True)  # type: ignore[attr-defined]
    box = visible_text(page[page.index('id="result"') :])
    assert "approved content" not in box and "sign-off is preparing" not in box
    assert "is the charter frozen for sign-off as version 1 of charter" in box
    assert "Nobody has approved it yet: it is not signed." in box


@pytest.mark.db
@pytest.mark.usefixtures("shared_seal_key")
def test_the_frozen_copy_of_a_replaced_version_points_past_it(
    app: Flask, signed_in: FlaskClient
) -> None:
    """Keeping version 1's signed file is no longer the advice once version 2 replaces it."""
    first = signed_then_amended(app, signed_in)
    frozen = signed_in.get(f"{first}/charter.pdf").data
    text = upload(app.test_client(), frozen).get_data(as_text=True)
    assert result_heading(text) == "Not a signed charter"
    box = result_box(text)
    assert re.search(r"Amended since: version 2, signed on [^<]+ UTC, replaces this one\.", box)


@pytest.mark.db
@pytest.mark.usefixtures("shared_seal_key")
def test_a_version_replaced_before_it_was_signed_names_the_version_replacing_it(
    app: Flask, signed_in: FlaskClient
) -> None:
    """Version 1 went out for sign-off and was withdrawn when version 2 was frozen: someone
    holding version 1 learns it will not be signed, and which version is the one to sign."""
    setup = engagement_with_decision(app, signed_in)
    first = freeze(signed_in, setup, arbitration="Geneva Chamber")
    send(signed_in, first, people=SIGNATORIES[:1])
    freeze(signed_in, setup, arbitration="Zurich Chamber")
    frozen = signed_in.get(f"{first}/charter.pdf").data
    visitor = app.test_client()
    token = csrf_token(visitor, "/verify")
    looked_up = visitor.post("/verify", data={"csrf_token": token, "sha256": sha256_hex(frozen)})
    for page in (looked_up.get_data(as_text=True), upload(visitor, frozen).get_data(as_text=True)):
        box = result_box(page)
        assert "withdrawn" in box
        assert "Version 2 replaces it; it is not signed yet." in box, box
