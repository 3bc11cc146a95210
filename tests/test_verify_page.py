"""The public verification page and `assess verify`: intact, tampered, unknown, not a PDF."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from pdftools import append_page
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from signofftools import (  # noqa: F401  (fixtures)
    approve,
    engagement_with_decision,
    freeze,
    seal_key_files,
    send,
    shared_seal_key,
    signed_by_everyone,
    upload,
)
from tsatools import TimeStampingAuthority
from webtools import csrf_token, signed_in_consultant

from assess.cli import cli
from assess.signing import sha256_hex
from assess.views import verify as verify_view

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("shared_seal_key")]


@pytest.fixture
def signed(app: Flask) -> tuple[bytes, str, bytes]:
    """A charter signed through the app: the sealed bytes, its document id, the frozen PDF."""
    return sign_through(app)[:3]


def sign_through(app: Flask) -> tuple[bytes, str, bytes, str]:
    """Sign a charter through the app; also return the version page seen afterwards."""
    consultant = signed_in_consultant(app)
    version_path = signed_by_everyone(app, consultant)
    sealed = consultant.get(f"{version_path}/signed.pdf").data
    frozen = consultant.get(f"{version_path}/charter.pdf").data
    page = consultant.get(version_path).get_data(as_text=True)
    match = re.search(r'Document <span class="doc-id">(PC-[A-Z0-9-]+)<', page)
    assert match
    return sealed, match.group(1), frozen, page


def flip_byte(pdf: bytes) -> bytes:
    """Change one byte inside the signed part, in the charter's own text."""
    middle = len(pdf) // 3
    return pdf[:middle] + bytes([pdf[middle] ^ 0x01]) + pdf[middle + 1 :]


def cli_verify(app: Flask, tmp_path: Path, data: bytes) -> Any:
    path = tmp_path / "file.pdf"
    path.write_bytes(data)
    cert = app.config["SEAL_CERT_FILE"]
    return CliRunner().invoke(cli, ["verify", str(path), "--cert", str(cert)])


def test_the_signed_charter_is_intact_on_the_page_in_pyhanko_and_the_command(
    app: Flask, client: FlaskClient, signed: tuple[bytes, str, bytes], tmp_path: Path
) -> None:
    sealed, document_id, _ = signed
    page = upload(client, sealed)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Intact and sealed" in text
    assert f'charter <span class="doc-id">{document_id}</span>, version 1' in text
    assert "Ann Lee" in text and "Bo Chen" in text
    assert "this service&#39;s certificate" in text or "this service's certificate" in text
    assert (
        "Intact: the bytes it covers are as sealed, and it allows no change after sealing" in text
    )
    assert "<dt>Since the seal</dt><dd>Nothing added or changed</dd>" in text
    assert re.search(r"<dt>Charter</dt><dd>[^<]+, between [^<]+ and [^<]+</dd>", text)

    embedded = PdfFileReader(BytesIO(sealed)).embedded_signatures[0]
    status = validate_pdf_signature(
        embedded, signer_validation_context=ValidationContext(trust_roots=[embedded.signer_cert])
    )
    assert status.bottom_line and status.intact and status.valid
    assert embedded.docmdp_level == MDPPerm.NO_CHANGES

    result = cli_verify(app, tmp_path, sealed)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Intact and sealed")


@pytest.fixture
def authority(app: Flask, tmp_path: Path) -> Iterator[TimeStampingAuthority]:
    """A time-stamping authority configured for the app, as a deployment configures one."""
    tsa = TimeStampingAuthority()
    roots = tmp_path / "tsa-roots.pem"
    roots.write_bytes(tsa.root_pem)
    app.config.update(SEAL_TSA_URL=tsa.url, SEAL_TSA_ROOT_FILE=str(roots))
    yield tsa
    tsa.close()


def test_a_configured_authority_time_stamps_the_seal(
    app: Flask, client: FlaskClient, authority: TimeStampingAuthority
) -> None:
    sealed, _, _, history = sign_through(app)
    assert authority.requests == 1
    stamped = re.search(
        r"Time-stamped (\d+ \w{3} \d{4}, [\d:]{8}) UTC by Test Time-Stamping Authority \((.+?)\)",
        history,
    )
    assert stamped and stamped.group(2) == authority.url, history
    text = upload(client, sealed).get_data(as_text=True)
    assert "Intact and sealed" in text
    assert (
        "time-stamped by Test Time-Stamping Authority (a trusted time-stamping authority)" in text
    )


def test_a_timestamp_whose_authority_is_not_checked_does_not_read_as_trusted(
    app: Flask, client: FlaskClient, authority: TimeStampingAuthority
) -> None:
    sealed, _, _, _ = sign_through(app)
    app.config["SEAL_TSA_ROOT_FILE"] = ""
    text = upload(client, sealed).get_data(as_text=True)
    assert "Intact and sealed" in text
    assert "Trusted time" not in text
    assert (
        "time-stamped by Test Time-Stamping Authority (this service has no trusted root to"
        " check that authority against)" in text
    )


def test_an_authority_that_is_down_does_not_hold_up_the_seal(
    app: Flask, client: FlaskClient, authority: TimeStampingAuthority
) -> None:
    authority.close()
    sealed, _, _, history = sign_through(app)
    assert "Without a trusted timestamp: the time-stamping authority" in history
    text = upload(client, sealed).get_data(as_text=True)
    assert "Intact and sealed" in text and "time-stamped by" not in text


@pytest.mark.parametrize("tamper", [flip_byte, append_page], ids=["one-byte", "page-appended"])
def test_a_tampered_charter_fails_on_the_page_and_in_the_command(
    app: Flask,
    client: FlaskClient,
    signed: tuple[bytes, str, bytes],
    tmp_path: Path,
    tamper: Any,
) -> None:
    altered = tamper(signed[0])
    page = upload(client, altered)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Altered: do not rely on this file" in text
    assert "Intact and sealed" not in text
    # Nothing on the page vouches for what the altered file claims.
    assert "Recorded in the seal" not in text and "status-approved" not in text
    assert "<dt>Charter</dt>" not in text
    result = cli_verify(app, tmp_path, altered)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("ALTERED")


def change_padding(pdf: bytes) -> bytes:
    """Change one zero of the signature's padding: a byte the seal's digest leaves out."""
    at = PdfFileReader(BytesIO(pdf)).embedded_signatures[0].byte_range[2] - 5
    assert pdf[at : at + 1] == b"0"
    return pdf[:at] + b"1" + pdf[at + 1 :]


def fingerprint_lookup(client: FlaskClient, digest: str) -> str:
    token = csrf_token(client, "/verify")
    return client.post("/verify", data={"csrf_token": token, "sha256": digest}).get_data(
        as_text=True
    )


def test_a_changed_padding_byte_is_altered_everywhere_the_file_is_checked(
    app: Flask, client: FlaskClient, signed: tuple[bytes, str, bytes], tmp_path: Path
) -> None:
    """Page, command and fingerprint look-up agree: these are not the bytes that were sealed."""
    altered = change_padding(signed[0])
    text = upload(client, altered).get_data(as_text=True)
    assert "Altered: do not rely on this file" in text
    assert "Intact and sealed" not in text and "Nothing has changed" not in text
    assert "The room reserved for the signature holds 1 byte of other data." in text
    assert "<dt>Since the seal</dt><dd><strong>Changed</strong>" in text
    result = cli_verify(app, tmp_path, altered)
    assert result.exit_code == 1 and result.output.startswith("ALTERED"), result.output
    assert "Unknown fingerprint" in fingerprint_lookup(client, sha256_hex(altered))


def seal_as(
    frozen: bytes,
    keys: Any,
    document_id: str,
    sealed_at: datetime,
    base_url: str = "https://assess.example",
) -> bytes:
    """Seal a charter version with the keys given, outside the service's sign-off."""
    from assess.signing.audit import AuditEntry, AuditTrail
    from assess.signing.seal import seal

    digest = sha256_hex(frozen)
    trail = AuditTrail(
        document_id=document_id,
        version=1,
        project="Tidewater",
        document_hash=digest,
        sealed_at=sealed_at,
        base_url=base_url,
        entries=(AuditEntry("Ann Lee", "ann@x.example", "approved", sealed_at, digest),),
    )
    return seal(frozen, trail, keys)


def reseal(app: Flask, frozen: bytes, document_id: str, sealed_at: datetime) -> bytes:
    """Seal a charter version with the service's own key, outside the service's sign-off."""
    from assess.signing.keys import load

    keys = load(app.config["SEAL_KEY_FILE"], app.config["SEAL_CERT_FILE"])
    return seal_as(frozen, keys, document_id, sealed_at)


def test_a_seal_this_service_did_not_keep_is_not_called_intact(
    app: Flask, client: FlaskClient, signed: tuple[bytes, str, bytes], tmp_path: Path
) -> None:
    """With the service's key, but not the sealed file this service keeps for the version:
    offline it cannot be told apart; the service knows the SHA-256 of what it sealed."""
    sealed, document_id, frozen = signed
    other = reseal(app, frozen, document_id, datetime(2026, 1, 2, tzinfo=UTC))
    assert other != sealed
    assert cli_verify(app, tmp_path, other).exit_code == 0  # a valid seal by the key
    text = upload(client, other).get_data(as_text=True)
    assert "Altered: do not rely on this file" in text and "Intact and sealed" not in text
    assert "Its bytes differ from the file this service sealed (another SHA-256)." in text
    assert "Recorded in the seal" not in text


def test_a_seal_for_a_version_this_service_never_sealed_is_not_called_intact(
    app: Flask, client: FlaskClient
) -> None:
    consultant, version_path, _links = out_for_sign_off(app)
    frozen = consultant.get(f"{version_path}/charter.pdf").data
    page = consultant.get(version_path).get_data(as_text=True)
    document_id = re.search(r"PC-\d{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", page)
    assert document_id
    other = reseal(app, frozen, document_id.group(0), datetime(2026, 1, 2, tzinfo=UTC))
    text = upload(client, other).get_data(as_text=True)
    assert "Altered: do not rely on this file" in text
    assert "This service sealed no file for that version." in text


def test_the_frozen_copy_is_recognised_but_not_as_signed(
    client: FlaskClient, signed: tuple[bytes, str, bytes]
) -> None:
    text = upload(client, signed[2]).get_data(as_text=True)
    assert "Not a signed charter" in text
    assert "unsigned frozen copy of version 1" in text
    # Where the file to rely on is, not only that there is one.
    assert (
        "this version has since been signed, so check and keep the signed charter instead "
        "(the consultant can send it if you do not have it)."
    ) in text


def out_for_sign_off(app: Flask) -> tuple[FlaskClient, str, dict[str, str]]:
    """A consultant's client, a version sent to both signatories at once, and their links."""
    consultant = signed_in_consultant(app)
    version_path = freeze(consultant, engagement_with_decision(app, consultant))
    return consultant, version_path, send(consultant, version_path, order="parallel")


def test_the_frozen_copy_of_a_charter_not_yet_signed_says_so(
    app: Flask, client: FlaskClient
) -> None:
    consultant, version_path, _links = out_for_sign_off(app)
    frozen = consultant.get(f"{version_path}/charter.pdf").data
    text = upload(client, frozen).get_data(as_text=True)
    assert "unsigned frozen copy of version 1" in text
    # There is no signed file to keep yet: the page says where the sign-off stands.
    assert "keep the signed file" not in text
    assert "not signed yet" in text


def test_the_public_page_names_approvers_only_once_a_version_is_signed(
    app: Flask, client: FlaskClient
) -> None:
    consultant, version_path, links = out_for_sign_off(app)
    approve(app.test_client(), links["Ann Lee"], "Ann Lee")
    assert "Ann Lee" in consultant.get(version_path).get_data(as_text=True)
    document_id = re.search(
        r"PC-\d{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", consultant.get(version_path).get_data(as_text=True)
    )
    assert document_id
    text = client.get(f"/verify/{document_id.group(0)}").get_data(as_text=True)
    assert "Pending" in text and "Ann Lee" not in text
    assert "Charter SHA-256" in text and "Approved SHA-256" not in text


def test_a_hash_is_looked_up_and_the_qr_page_lists_the_versions(
    client: FlaskClient, signed: tuple[bytes, str, bytes]
) -> None:
    sealed, document_id, frozen = signed
    token = csrf_token(client, "/verify")
    spaced = " ".join(re.findall(".{16}", sha256_hex(sealed).upper()))
    found = client.post("/verify", data={"csrf_token": token, "sha256": spaced})
    assert "A signed charter of this service" in found.get_data(as_text=True)
    unknown = client.post("/verify", data={"csrf_token": token, "sha256": "ab" * 32})
    assert "Unknown fingerprint" in unknown.get_data(as_text=True)
    bad = client.post("/verify", data={"csrf_token": token, "sha256": "xyz"})
    assert bad.status_code == 422
    assert "Enter the 64 hexadecimal characters of a SHA-256." in bad.get_data(as_text=True)
    assert "<title>Error: Verify a charter" in bad.get_data(as_text=True)
    assert "<title>Verify a charter" in found.get_data(as_text=True)

    listing = client.get(f"/verify/{document_id}")
    assert listing.status_code == 200
    text = listing.get_data(as_text=True)
    assert f"<title>Charter {document_id} · Verify a charter · Assess</title>" in text
    assert sha256_hex(frozen) in text and "Ann Lee" in text and "Signed" in text
    assert "ann@northlight.example" not in text  # no personal contact details in public
    assert client.get("/verify/PC-0000-NONE-0000").status_code == 404
    assert client.get("/verify/" + "x" * 300).status_code == 404


def test_a_hash_pasted_with_its_algorithm_named_is_looked_up(
    client: FlaskClient, signed: tuple[bytes, str, bytes]
) -> None:
    # Tools and people label a fingerprint with its algorithm; the label is no part of it.
    sealed = signed[0]
    token = csrf_token(client, "/verify")
    digest = sha256_hex(sealed)
    for pasted in (f"sha256:{digest}", f"SHA-256: {digest.upper()}", f"SHA256={digest}"):
        found = client.post("/verify", data={"csrf_token": token, "sha256": pasted})
        assert found.status_code == 200, pasted
        assert "A signed charter of this service" in found.get_data(as_text=True)
    other = client.post("/verify", data={"csrf_token": token, "sha256": f"md5:{digest}"})
    assert other.status_code == 422


def test_a_checksum_tool_s_line_pasted_whole_is_looked_up(
    client: FlaskClient, signed: tuple[bytes, str, bytes]
) -> None:
    """Whoever checks a file they hold runs a checksum tool and pastes what it prints, the
    file's name included; the name is no part of the fingerprint."""
    digest = sha256_hex(signed[0])
    token = csrf_token(client, "/verify")
    for pasted in (
        f"{digest}  charter-PC-2026.pdf\n",  # sha256sum, shasum -a 256
        f"{digest} *C:\\Charters\\signed charter.pdf",  # sha256sum in binary mode
        f"SHA256 (signed charter.pdf) = {digest}",  # BSD sha256, shasum --tag
        f"SHA2-256(charter.pdf)= {digest}",  # openssl dgst -sha256
        f"SHA256 hash of charter.pdf:\r\n{digest.upper()}\r\n"
        "CertUtil: -hashfile command completed successfully.",  # Windows certutil
    ):
        found = client.post("/verify", data={"csrf_token": token, "sha256": pasted})
        assert found.status_code == 200, pasted
        assert "A signed charter of this service" in found.get_data(as_text=True)
        assert f'value="{digest}"' in found.get_data(as_text=True)
    two = f"{digest}  {'ab' * 32}"  # two fingerprints: which one was meant is not known
    for pasted in (f"{digest}charter.pdf", f"MD5 (charter.pdf) = {digest}", two, f"{digest}  "):
        refused = client.post("/verify", data={"csrf_token": token, "sha256": pasted})
        assert refused.status_code == (200 if pasted.strip() == digest else 422), pasted


def test_guessing_document_ids_is_rate_limited_but_real_ones_still_open(
    app: Flask, client: FlaskClient, signed: tuple[bytes, str, bytes]
) -> None:
    # The page names who approved: ids must not be found by trying them one after another.
    _sealed, document_id, _frozen = signed
    app.config["LINK_RATE_LIMIT"] = "2 per minute"
    guesses = (
        "/verify/PC-2026-0000-0001",
        "/verify/PC-2026-0000-0002",
        "/verify/PC-2026-0000-0003",
    )
    assert [client.get(path).status_code for path in guesses] == [404, 404, 429]
    assert client.get(f"/verify/{document_id}").status_code == 200
    assert client.get("/verify").status_code == 200


def test_an_unknown_document_id_leads_to_checking_the_file_itself(client: FlaskClient) -> None:
    """A visitor from a QR code or a typed address is told no charter has that id, and taken
    to the page that checks the file they hold."""
    for path in ("/verify/PC-2026-0000-0001", "/verify/" + "x" * 300):
        response = client.get(path)
        assert response.status_code == 404
        page = response.get_data(as_text=True)
        assert "No charter has this document ID" in page
        assert "the document ID printed on the charter" in page
        assert '<a class="button" href="/verify">Check the charter file</a>' in page
        assert "Go to the home page" not in page


def test_uploads_that_are_not_charters_get_a_clear_message(app: Flask, client: FlaskClient) -> None:
    not_pdf = upload(client, b"hello, this is a text file", "notes.txt")
    assert not_pdf.status_code == 422
    assert "This file is not a PDF" in not_pdf.get_data(as_text=True)
    empty = upload(client, b"")
    assert empty.status_code == 422
    token = csrf_token(client, "/verify")
    nothing = client.post("/verify", data={"csrf_token": token})
    assert nothing.status_code == 422
    assert "Choose a charter PDF to upload" in nothing.get_data(as_text=True)
    app.config["VERIFY_MAX_BYTES"] = 1024 * 1024
    # A raw body: the test client would spool a large multipart form to a temporary file.
    huge = client.post(
        "/verify",
        data=b"%PDF-1.7\n" + b"0" * (1024 * 1024 + 10),
        content_type="multipart/form-data; boundary=x",
    )
    assert huge.status_code == 413
    assert "The file is larger than 1 MB" in huge.get_data(as_text=True)
    broken = upload(client, b"%PDF-1.7\n%%EOF\n")
    assert broken.status_code == 200
    assert "Damaged or incomplete: cannot be checked" in broken.get_data(as_text=True)
    # Without the CSRF token the form is refused, not processed.
    assert client.post("/verify", data={"sha256": "ab" * 32}).status_code == 400


def test_the_error_summary_names_the_fingerprint_field_as_its_label_does(
    client: FlaskClient,
) -> None:
    token = csrf_token(client, "/verify")
    page = client.post("/verify", data={"csrf_token": token, "sha256": "xyz"}).get_data(
        as_text=True
    )
    assert '<label for="field-sha256">SHA-256 fingerprint</label>' in page
    assert (
        '<a href="#field-sha256">SHA-256 fingerprint: '
        "Enter the 64 hexadecimal characters of a SHA-256.</a>"
    ) in page


def test_files_are_checked_a_few_at_a_time_and_a_client_a_few_times_a_minute(
    app: Flask, client: FlaskClient, signed: tuple[bytes, str, bytes]
) -> None:
    sealed, _document_id, _frozen = signed
    # Every slot taken, as by slow uploads still being checked: the next one is told to
    # come back instead of waiting on a thread the other pages need.
    for _ in range(verify_view.CHECKS_AT_ONCE):
        assert verify_view.checking.acquire(blocking=False)
    try:
        busy = upload(client, sealed)
        assert busy.status_code == 503
        assert "Send this one again in a moment." in busy.get_data(as_text=True)
        assert client.get("/verify").status_code == 200
    finally:
        for _ in range(verify_view.CHECKS_AT_ONCE):
            verify_view.checking.release()
    assert "Intact and sealed" in upload(client, sealed).get_data(as_text=True)
    app.config["VERIFY_RATE_LIMIT"] = "1 per minute"
    assert upload(client, sealed).status_code == 200
    assert upload(client, sealed).status_code == 429


def test_the_qr_page_shows_the_fingerprint_of_the_signed_file_a_client_holds(
    client: FlaskClient, signed: tuple[bytes, str, bytes]
) -> None:
    """The signed file's SHA-256 is not the approved charter's: a client who hashes the file
    they were sent finds it on the page the audit page's QR code opens."""
    sealed, document_id, frozen = signed
    text = client.get(f"/verify/{document_id}").get_data(as_text=True)
    row = text[text.index('<th scope="row">') : text.index("</tr>", text.index('<th scope="row">'))]
    cells = dict(re.findall(r'data-label="([^"]+)">([^<]*)</td>', row))
    assert cells["Charter SHA-256"] == sha256_hex(frozen)
    assert cells["Signed file SHA-256"] == sha256_hex(sealed)


def test_a_check_sent_after_the_browser_session_ended_speaks_of_no_sign_in(
    client: FlaskClient,
) -> None:
    """Anyone checks a charter here, without an account: a form refused for its token
    says what to do about the page, not about a sign-in."""
    token = csrf_token(client, "/verify")
    client.delete_cookie("session")  # the browser was closed; the page came back with it
    refused = client.post("/verify", data={"csrf_token": token, "sha256": "ab" * 32})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "Your form has expired" in page and "reload the page and send it again" in page
    assert "sign-in" not in page and "Sign in" not in page and "signed in" not in page
    assert '<a class="button" href="/verify">Reload the page</a>' in page
