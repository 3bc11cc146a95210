"""Files made to mislead or to wear out verification: each gets a clear, prompt answer.

The verify page is public and ``assess verify`` runs on whatever a client was sent, so
every file here is someone's attempt to pass off a changed charter or to tie up the
service. The answers are checked in a real process where a hostile file could keep the
check busy: the deadline is what a web worker would allow before it is killed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pyhanko import keys as pyhanko_keys
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pyhanko_certvalidator import registry
from signofftools import seal_key_files, shared_seal_key, upload  # noqa: F401  (fixtures)
from test_signing import authority, charter_pdf, keys, sealed, stamped  # noqa: F401
from test_verify_page import sign_through
from tsatools import TimeStampingAuthority

from assess.signing.keys import SealKeys, load_or_create
from assess.signing.seal import SEAL_FIELD, seal
from assess.signing.verify import Outcome, verify

# A web worker is killed after 30 seconds; twice that is no answer at all.
ANSWER_WITHIN_SECONDS = 60


@pytest.fixture(scope="module")
def forger(tmp_path_factory: pytest.TempPathFactory) -> SealKeys:
    """Anyone's key: what a forger seals their own files with."""
    return load_or_create(tmp_path_factory.mktemp("forger"), key_size=2048)


def bare_pdf(*extra: bytes, catalogue: bytes = b"") -> bytes:
    """A one-page PDF written by hand; ``extra`` are objects 4, 5, ... for the catalogue."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalogue + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        *extra,
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def sealed_by(owner: SealKeys, pdf: bytes) -> bytes:
    """Certify ``pdf`` with ``owner``'s key in a field named like the service's seal."""
    certificate = next(pyhanko_keys.load_certs_from_pemder_data(owner.certificate_pem()))
    signer = signers.SimpleSigner(
        signing_cert=certificate,
        signing_key=pyhanko_keys.load_private_key_from_pemder(owner.key_file, passphrase=None),
        cert_registry=registry.SimpleCertificateStore.from_certs([certificate]),
    )
    meta = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=MDPPerm.NO_CHANGES,
    )
    spec = fields.SigFieldSpec(sig_field_name=SEAL_FIELD, on_page=0, box=None)
    out = BytesIO()
    signers.PdfSigner(meta, signer=signer, new_field_spec=spec).sign_pdf(
        IncrementalPdfFileWriter(BytesIO(pdf), strict=False), output=out
    )
    return out.getvalue()


def catalogue_rewritten(pdf: bytes, times: int) -> bytes:
    """Append ``times`` small updates, each writing the catalogue again, as an editor saves."""
    reader = PdfFileReader(BytesIO(pdf), strict=False)
    root = reader.trailer.raw_get("/Root")
    size = int(reader.trailer["/Size"])
    body = BytesIO()
    reader.root.write_to_stream(body, None)
    out = bytearray(pdf)
    previous = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    for _ in range(times):
        offset = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (root.idnum, body.getvalue())
        xref = len(out)
        out += b"xref\n0 1\n0000000000 65535 f \n%d 1\n%010d 00000 n \n" % (root.idnum, offset)
        out += b"trailer\n<< /Size %d /Root %d 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
            size,
            root.idnum,
            previous,
            xref,
        )
        previous = xref
    return bytes(out)


def verified_in_a_process(path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """``assess verify`` in a real process, given the time a web worker has."""
    try:
        return subprocess.run(
            [sys.executable, "-m", "assess.cli", "verify", str(path), *options],
            capture_output=True,
            text=True,
            timeout=ANSWER_WITHIN_SECONDS,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"no answer about {path.name} within {ANSWER_WITHIN_SECONDS} seconds")


# --- files that would keep the check busy ----------------------------------------------


def test_an_attachment_list_that_refers_to_itself_gets_an_answer(
    forger: SealKeys, tmp_path: Path
) -> None:
    """Each node of the attachment list names itself twenty times: read naively, twenty to
    the sixteenth nodes to visit before giving up."""
    looping = b"<< /Kids [" + b"4 0 R " * 20 + b"] >>"
    path = tmp_path / "looping.pdf"
    path.write_bytes(
        sealed_by(forger, bare_pdf(looping, catalogue=b"/Names << /EmbeddedFiles 4 0 R >>"))
    )
    result = verified_in_a_process(path, "--cert", str(forger.cert_file))
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("ALTERED: the document: the seal states nothing"), result.stdout


def test_thousands_of_updates_after_the_seal_get_an_answer(
    sealed: bytes,  # noqa: F811
    keys: SealKeys,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A genuine seal followed by 5,000 updates (15 MB, within the size the page takes):
    any update after a seal that allows none is an alteration, whatever it changed."""
    path = tmp_path / "updated.pdf"
    path.write_bytes(catalogue_rewritten(sealed, 5000))
    result = verified_in_a_process(path, "--cert", str(keys.cert_file))
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("ALTERED: charter PC-2026-NL01-0001 version 1 was modified")
    assert "an update was added after the seal" in result.stdout


def test_an_update_after_the_seal_is_still_altered(sealed: bytes, keys: SealKeys) -> None:  # noqa: F811
    verdict = verify(catalogue_rewritten(sealed, 1), keys.certificate)
    assert verdict.outcome == Outcome.ALTERED
    assert verdict.intact and verdict.modified_after_seal
    assert verdict.changes == ("an update was added after the seal (content added or changed)",)


def test_a_file_that_takes_too_long_to_read_gets_an_answer(tmp_path: Path) -> None:
    """One object of three million references (18 MB, within the size the page takes):
    reading it alone keeps a parser busy for most of a minute."""
    huge = b"<< /Fields [" + b"3 0 R " * 3_000_000 + b"] >>"
    path = tmp_path / "huge.pdf"
    path.write_bytes(bare_pdf(huge, catalogue=b"/AcroForm 4 0 R"))
    result = verified_in_a_process(path)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("NOT CHECKED: checking the file took over"), result.stdout


def test_what_cannot_be_checked_in_time_is_never_intact(
    sealed: bytes,  # noqa: F811
    keys: SealKeys,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import assess.signing.verify

    monkeypatch.setattr(assess.signing.verify, "CHECK_SECONDS", 0)
    verdict = verify(sealed, keys.certificate)
    assert verdict.outcome == Outcome.UNCHECKED and not verdict.ok
    assert verdict.summary == (
        "NOT CHECKED: checking the file took over 0 seconds, which no charter sealed by this "
        "service takes: it is not the file that was sealed"
    )


def encrypted(pdf: bytes, tmp_path: Path, user_password: str) -> bytes:
    """The file as an editor saves it with a password (qpdf, AES-256)."""
    source, target = tmp_path / "in.pdf", tmp_path / "encrypted.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["qpdf", "--encrypt", user_password, "owner", "256", "--", str(source), str(target)],
        check=True,
    )
    return target.read_bytes()


@pytest.mark.parametrize("user_password", ["", "secret"], ids=["opens freely", "password"])
def test_an_encrypted_copy_of_a_sealed_charter_says_it_is_encrypted(
    sealed: bytes,  # noqa: F811
    keys: SealKeys,  # noqa: F811
    tmp_path: Path,
    user_password: str,
) -> None:
    verdict = verify(encrypted(sealed, tmp_path, user_password), keys.certificate)
    assert verdict.outcome == Outcome.UNCHECKED and not verdict.ok
    assert verdict.summary == (
        "NOT CHECKED: the file is encrypted (password-protected), which no charter sealed by "
        "this service is: it is not the file that was sealed"
    )


@pytest.mark.db
@pytest.mark.usefixtures("shared_seal_key")
def test_the_page_says_an_encrypted_copy_cannot_be_checked(app: Flask, tmp_path: Path) -> None:
    genuine = sign_through(app)[0]
    response = upload(app.test_client(), encrypted(genuine, tmp_path, ""))
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    box = text[text.index('id="result-title"') : text.index('<dl class="facts card">')]
    assert "Cannot be checked: do not rely on this file</h2>" in box
    assert (
        "<p>The file is encrypted (password-protected), which no charter sealed by this service "
        "is: it is not the charter as this service sealed it." in box
    )
    assert "damaged" not in box


def test_a_compressed_attachment_that_unpacks_to_gigabytes_is_not_unpacked(
    forger: SealKeys,
) -> None:
    """``seal.json`` of 300 KB that unpacks to 300 MB: the check reads a seal's statement,
    a few kilobytes, with the memory that takes, not hundreds of megabytes per upload."""
    import tracemalloc
    import zlib

    packer = zlib.compressobj(9)
    blank = b" " * (1 << 20)
    bomb = b"".join(packer.compress(blank) for _ in range(300)) + packer.flush()
    stream = b"<< /Type /EmbeddedFile /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream"
    pdf = sealed_by(
        forger,
        bare_pdf(
            b"<< /Names [(seal.json) 5 0 R] >>",
            b"<< /Type /Filespec /F (seal.json) /EF << /F 6 0 R >> >>",
            stream % (len(bomb), bomb),
            catalogue=b"/Names << /EmbeddedFiles 4 0 R >>",
        ),
    )
    tracemalloc.start()
    try:
        verdict = verify(pdf, forger.certificate)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert verdict.outcome == Outcome.ALTERED and not verdict.ok
    assert verdict.summary.startswith("ALTERED: the document: the sealed revision cannot be read")
    assert peak < 64 * 1024 * 1024, f"{peak / 1024 / 1024:.0f} MB"


@pytest.mark.db
@pytest.mark.usefixtures("shared_seal_key")
def test_the_page_calls_a_cut_short_charter_damaged_in_plain_words(app: Flask) -> None:
    """An interrupted download: the answer is what to do, the parser's words come after."""
    genuine = sign_through(app)[0]
    text = upload(app.test_client(), genuine[:-500]).get_data(as_text=True)
    box = text[text.index('id="result-title"') : text.index('<dl class="facts card">')]
    assert "Damaged or incomplete: cannot be checked</h2>" in box
    first, details = re.findall(r"<p[^>]*>(.*?)</p>", box, re.S)
    assert first == (
        "This file is not a whole, readable PDF, so whether it carries a seal cannot be checked. "
        "If it is your signed charter, get the file again as you received it from the service."
    )
    assert details == "What the check found: the PDF structure is damaged (EOF marker not found)."


def stamper_of(tsa: TimeStampingAuthority) -> Any:
    """The authority's own stamper, to make tokens without a request (the forger's TSA)."""
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    handler = tsa._server.RequestHandlerClass.do_POST  # type: ignore[attr-defined]
    [stamper] = [
        c.cell_contents
        for c in handler.__closure__ or ()
        if isinstance(c.cell_contents, DummyTimeStamper)
    ]
    return stamper


def with_unsigned_part(pdf: bytes, change: Any, *, whole: bool = False) -> bytes:
    """The file with its seal's signer info (``whole``: its signed data) changed by
    ``change``, spliced back in place."""
    from asn1crypto import cms

    [signature] = PdfFileReader(BytesIO(pdf)).embedded_signatures
    first_end, second = signature.byte_range[1], signature.byte_range[2]
    content = cms.ContentInfo.load(bytes(signature.pkcs7_content))
    change(content["content"] if whole else content["content"]["signer_infos"][0])
    value = content.dump(force=True).hex().encode()
    room = second - first_end - 2
    assert len(value) <= room
    return pdf[: first_end + 1] + value + b"0" * (room - len(value)) + pdf[second - 1 :]


def with_timestamp_of(pdf: bytes, tsa: TimeStampingAuthority, at: datetime) -> bytes:
    """Put a token from ``tsa`` stating time ``at`` into the seal's unsigned part."""
    import asyncio
    import hashlib

    from asn1crypto import cms

    stamper = stamper_of(tsa)
    stamper.fixed_dt = at

    def stamp(info: Any) -> None:
        digest = hashlib.sha256(info["signature"].native).digest()
        token = asyncio.run(stamper.async_timestamp(digest, "sha256"))
        info["unsigned_attrs"] = cms.CMSAttributes(
            [cms.CMSAttribute({"type": "signature_time_stamp_token", "values": [token]})]
        )

    return with_unsigned_part(pdf, stamp)


def test_a_timestamp_put_into_a_seal_made_without_one_is_an_alteration(
    charter_pdf: bytes,  # noqa: F811
    keys: SealKeys,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The timestamp sits in the part of the signature the seal cannot cover: anyone can put
    one there, from an authority of their own, stating any time they like."""
    from test_signing import make_audit

    import assess.signing.seal

    monkeypatch.setattr(assess.signing.seal, "SIGNATURE_BYTES", 16384)  # room for a token
    genuine = seal(charter_pdf, make_audit(charter_pdf), keys)
    backdating = TimeStampingAuthority("Backdating Time Authority")
    try:
        forged = with_timestamp_of(genuine, backdating, datetime(2025, 1, 1, tzinfo=UTC))
    finally:
        backdating.close()
    assert verify(genuine, keys.certificate).ok
    verdict = verify(forged, keys.certificate)
    assert verdict.outcome == Outcome.ALTERED and not verdict.ok
    assert verdict.summary == (
        "ALTERED: charter PC-2026-NL01-0001 version 1 was modified after the seal: "
        "a timestamp was put into the seal after sealing (the seal states it was made without one)"
    )


def test_a_timestamp_taken_out_of_a_time_stamped_seal_is_an_alteration(
    stamped: tuple[bytes, datetime, datetime],  # noqa: F811
    keys: SealKeys,  # noqa: F811
) -> None:
    def unstamp(info: Any) -> None:
        del info["unsigned_attrs"]

    verdict = verify(with_unsigned_part(stamped[0], unstamp), keys.certificate)
    assert verdict.outcome == Outcome.ALTERED and not verdict.ok
    assert verdict.summary == (
        "ALTERED: charter PC-2026-NL01-0001 version 1 was modified after the seal: "
        "the seal's timestamp was taken out after sealing"
    )


@pytest.mark.parametrize(
    ("field", "problem"),
    [
        ("document_hash", "the approved charter is not the first part of this file"),
        ("certificate_sha256", "seal.json names another certificate than the one that sealed it"),
        ("assessment_sha256", "assessment.json does not match the hash the seal states"),
    ],
)
def test_a_seal_stating_another_hash_than_its_file_has_is_an_alteration(
    charter_pdf: bytes,  # noqa: F811
    keys: SealKeys,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    field: str,
    problem: str,
) -> None:
    """Sealed by the trusted key, but seal.json says something of the file that is not so."""
    import json

    from test_signing import make_audit

    import assess.signing.seal

    stated = assess.signing.seal.seal_statement

    def misstated(*args: Any) -> bytes:
        statement = json.loads(stated(*args))
        assert statement[field] not in (None, "0" * 64)
        statement[field] = "0" * 64
        return json.dumps(statement).encode()

    monkeypatch.setattr(assess.signing.seal, "seal_statement", misstated)
    verdict = verify(seal(charter_pdf, make_audit(charter_pdf), keys), keys.certificate)
    assert verdict.outcome == Outcome.ALTERED and verdict.intact and not verdict.ok
    assert verdict.problems == (problem,)
    assert verdict.summary == f"ALTERED: charter PC-2026-NL01-0001 version 1: {problem}"


def test_a_charter_stating_another_assessment_hash_than_it_carries_is_an_alteration(
    charter_pdf: bytes,  # noqa: F811
    keys: SealKeys,  # noqa: F811
) -> None:
    """A charter may record the assessment's hash in its document information: one whose
    record disagrees with the assessment.json it carries is not as made."""
    from pyhanko.pdf_utils import generic
    from test_signing import make_audit

    writer = IncrementalPdfFileWriter(BytesIO(charter_pdf), strict=False)
    info = generic.DictionaryObject(writer.trailer["/Info"])
    info["/AssessmentSHA256"] = generic.TextStringObject("0" * 64)
    writer.set_info(info)
    out = BytesIO()
    writer.write(out)
    misstated = out.getvalue()
    verdict = verify(seal(misstated, make_audit(misstated), keys), keys.certificate)
    problem = "assessment.json does not match the hash the charter states"
    assert verdict.outcome == Outcome.ALTERED and verdict.intact and not verdict.ok
    assert verdict.assessment_ok is False and verdict.problems == (problem,)


def test_a_second_signature_after_the_seal_is_an_alteration(
    sealed: bytes,  # noqa: F811
    keys: SealKeys,  # noqa: F811
    forger: SealKeys,
) -> None:
    certificate = next(pyhanko_keys.load_certs_from_pemder_data(forger.certificate_pem()))
    signer = signers.SimpleSigner(
        signing_cert=certificate,
        signing_key=pyhanko_keys.load_private_key_from_pemder(forger.key_file, passphrase=None),
        cert_registry=registry.SimpleCertificateStore.from_certs([certificate]),
    )
    meta = signers.PdfSignatureMetadata(field_name="Countersignature", md_algorithm="sha256")
    spec = fields.SigFieldSpec(sig_field_name="Countersignature", on_page=0, box=None)

    class Careless(signers.PdfSigner):
        """Signs whatever the seal allows: a forger's tool need not respect it."""

        def _enforce_certification_constraints(self, reader: PdfFileReader) -> None:
            return None

    out = BytesIO()
    Careless(meta, signer=signer, new_field_spec=spec).sign_pdf(
        IncrementalPdfFileWriter(BytesIO(sealed), strict=False), output=out
    )
    verdict = verify(out.getvalue(), keys.certificate)
    assert verdict.outcome == Outcome.ALTERED and not verdict.ok
    assert verdict.changes[0] == "another signature was added after the seal"


def test_a_revocation_list_put_into_the_seal_afterwards_is_an_alteration(
    sealed: bytes,  # noqa: F811
    keys: SealKeys,  # noqa: F811
    forger: SealKeys,
) -> None:
    """The signature's revocation lists are outside what it covers: the seal writes none."""
    from asn1crypto import cms
    from asn1crypto import crl as asn1_crl
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    issuer = x509.load_pem_x509_certificate(forger.certificate_pem())
    key = serialization.load_pem_private_key(forger.key_file.read_bytes(), password=None)
    revoked = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(datetime(2026, 1, 1, tzinfo=UTC))
        .next_update(datetime(2027, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    listing = asn1_crl.CertificateList.load(revoked.public_bytes(serialization.Encoding.DER))

    def add_list(signed_data: Any) -> None:
        signed_data["crls"] = cms.RevocationInfoChoices([listing])

    verdict = verify(with_unsigned_part(sealed, add_list, whole=True), keys.certificate)
    assert verdict.outcome == Outcome.ALTERED and not verdict.ok
    assert verdict.changes == ("the signature carries revocation lists the seal did not write",)
