"""Sealing a real charter and verifying it: pyHanko's judgement, PDF/A, tampering, the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from answertools import INTEGRATED
from click.testing import CliRunner
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from pdfa import pdfa_3b_problems
from pdftools import (
    announced,
    append_page,
    fonts_of,
    read_aloud,
    structure_problems,
    structure_tree,
    unresolved_header_cells,
)
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader
from tsatools import TimeStampingAuthority
from weasyprint import Document

from assess import charter, create_app
from assess.charter import CharterDetails
from assess.charter.pdf import clear_cache
from assess.cli import cli
from assess.config import ConfigurationError
from assess.engine import evaluate
from assess.signing import sha256_hex
from assess.signing.audit import AuditEntry, AuditTrail, render_pdf
from assess.signing.keys import SealKeys, load_or_create, self_signed_certificate
from assess.signing.seal import SEAL_FIELD, SealError, seal
from assess.signing.timestamps import (
    AuthorityTimeStamper,
    TimestampUnavailable,
    load_roots,
    stamp_of,
)
from assess.signing.verify import Outcome, UnreadableInput, verify

SEALED_AT = datetime(2026, 3, 9, 16, 45, 3, tzinfo=UTC)
BASE_URL = "https://assess.example.org"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def details() -> CharterDetails:
    return charter.load_details(
        {
            "project": "Northern Lights: an immersive documentary",
            "parties": [
                {"side": "producer", "name": "Ann Lee", "role": "Executive Producer"},
                {"side": "creator", "name": "Bo Chen", "role": "Director"},
            ],
            "consultant": "Clara Diaz",
            "issued_at": "2026-03-02T09:00:00+00:00",
            "document_id": "PC-2026-NL01-0001",
        }
    )


@pytest.fixture(scope="session")
def charter_pdf() -> bytes:
    """The frozen charter the signatories approve: a real one, from the engine."""
    return charter.to_pdf(evaluate(INTEGRATED), details())


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> SealKeys:
    return load_or_create(tmp_path_factory.mktemp("instance") / "seal")


def make_audit(document: bytes, **overrides: Any) -> AuditTrail:
    digest = sha256_hex(document)
    entries = (
        AuditEntry(
            name="Ann Lee",
            email="ann.lee@northern.example",
            role="Executive Producer",
            action="approved",
            at=SEALED_AT - timedelta(hours=20),
            document_hash=digest,
            ip="203.0.113.7",
            user_agent=CHROME,
        ),
        AuditEntry(
            name="Bo Chen",
            email="bo@chenfilms.example",
            role="Director",
            action="approved",
            at=SEALED_AT - timedelta(minutes=1),
            document_hash=digest,
            ip="2001:db8::42",
            user_agent=SAFARI,
        ),
    )
    values: dict[str, Any] = {
        "document_id": "PC-2026-NL01-0001",
        "version": 1,
        "project": "Northern Lights: an immersive documentary",
        "document_hash": digest,
        "sealed_at": SEALED_AT,
        "base_url": BASE_URL,
        "entries": entries,
    }
    values.update(overrides)
    return AuditTrail(**values)


# The sealed file differs in each test process (its own key), and a screen reader takes
# seconds to read it: the tests that read it run in one process, which reads it once.
READS_THE_SEALED_FILE_ALOUD = pytest.mark.xdist_group("sealed-read-aloud")


@pytest.fixture(scope="session")
def sealed(charter_pdf: bytes, keys: SealKeys) -> bytes:
    return seal(charter_pdf, make_audit(charter_pdf), keys)


@pytest.fixture(scope="module")
def authority() -> Iterator[TimeStampingAuthority]:
    tsa = TimeStampingAuthority()
    yield tsa
    tsa.close()


@pytest.fixture(scope="module")
def stamped(
    charter_pdf: bytes, keys: SealKeys, authority: TimeStampingAuthority
) -> tuple[bytes, datetime, datetime]:
    """A seal time-stamped by the local authority, with the wall-clock bounds of its time."""
    before = datetime.now(UTC)
    data = seal(
        charter_pdf, make_audit(charter_pdf), keys, timestamper=AuthorityTimeStamper(authority.url)
    )
    return data, before, datetime.now(UTC)


@pytest.fixture(params=["plain", "time-stamped"])
def any_seal(request: pytest.FixtureRequest) -> bytes:
    if request.param == "plain":
        data: bytes = request.getfixturevalue("sealed")
        return data
    stamped_seal: bytes = request.getfixturevalue("stamped")[0]
    return stamped_seal


def asn1(keys: SealKeys) -> Any:
    from pyhanko.keys import load_cert_from_pemder

    path = keys.cert_file
    return load_cert_from_pemder(str(path))


def authority_roots(authority: TimeStampingAuthority) -> list[Any]:
    from pyhanko.keys import load_certs_from_pemder_data

    return list(load_certs_from_pemder_data(authority.root_pem))


def first_stream_byte(pdf: bytes, start: int = 0) -> int:
    """Return the offset of a byte inside a stream's data, after ``start``."""
    match = re.compile(rb"stream\r?\n").search(pdf, start)
    assert match is not None
    return match.end() + 40


# --- the sealed file --------------------------------------------------------------------


def test_pyhanko_judges_the_seal_valid_intact_and_certified(
    any_seal: bytes, keys: SealKeys, authority: TimeStampingAuthority
) -> None:
    reader = PdfFileReader(BytesIO(any_seal))
    [signature] = reader.embedded_signatures
    status = validate_pdf_signature(
        signature,
        ValidationContext(trust_roots=[asn1(keys)]),
        ts_validation_context=ValidationContext(trust_roots=authority_roots(authority)),
    )
    assert signature.field_name == SEAL_FIELD
    assert status.bottom_line and status.intact and status.valid and status.trusted
    assert signature.docmdp_level == MDPPerm.NO_CHANGES
    assert status.docmdp_ok
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert signature.self_reported_timestamp == SEALED_AT


def test_verify_names_the_document_version_and_approvers(
    sealed: bytes, charter_pdf: bytes, keys: SealKeys
) -> None:
    verdict = verify(sealed, keys.certificate_pem())
    assert verdict.ok, verdict
    assert (verdict.sealed, verdict.intact, verdict.valid, verdict.certified) == (True,) * 4
    assert not verdict.modified_after_seal
    assert verdict.trusted and verdict.approved_version_ok and verdict.assessment_ok
    assert verdict.document_id == "PC-2026-NL01-0001" and verdict.version == 1
    assert verdict.approved_hash == sha256_hex(charter_pdf)
    assert verdict.approvers == ("Ann Lee", "Bo Chen")
    assert verdict.signatories[1].email == "bo@chenfilms.example"
    assert verdict.summary == (
        "Intact and sealed by assess charter seal: charter PC-2026-NL01-0001 version 1, "
        "approved by Ann Lee and Bo Chen"
    )


def test_without_a_trusted_certificate_an_intact_seal_is_unverified_never_ok(
    sealed: bytes,
) -> None:
    verdict = verify(sealed)
    assert verdict.outcome == Outcome.UNVERIFIED and verdict.as_sealed
    assert not verdict.ok and not verdict.trusted and not verdict.trust_checked
    assert verdict.summary == (
        "UNVERIFIED: charter PC-2026-NL01-0001 version 1 is intact, but who sealed it is "
        "unknown: the seal by 'assess charter seal' was not checked against a trusted "
        "certificate"
    )


def test_the_approved_charter_is_the_first_part_of_the_sealed_file(
    sealed: bytes, charter_pdf: bytes
) -> None:
    assert sealed[: len(charter_pdf)] == charter_pdf
    assert len(sealed) > len(charter_pdf)


def test_the_audit_page_is_appended_with_names_roles_hashes_and_the_link(
    sealed: bytes, charter_pdf: bytes
) -> None:
    charter_pages = len(PdfReader(BytesIO(charter_pdf)).pages)
    reader = PdfReader(BytesIO(sealed))
    assert len(reader.pages) == charter_pages + 1
    text = reader.pages[-1].extract_text()
    flat = re.sub(r"\s+", "", text)
    for expected in (
        "Audit trail",
        "Ann Lee",
        "Executive Producer",
        "ann.lee@northern.example",
        "Bo Chen",
        "Director",
        "APPROVED",
        "203.0.113.7",
        "2001:db8::42",
        "Chrome 131 on Windows",
        "Safari 17 on iOS",
        "2026-03-09 16:44:03 UTC",
        "PC-2026-NL01-0001",
        f"{BASE_URL}/verify/PC-2026-NL01-0001",
    ):
        assert expected in text, expected
    assert sha256_hex(charter_pdf) in flat
    assert "Amends" not in text  # no hash chain for a first version


@READS_THE_SEALED_FILE_ALOUD
def test_a_screen_reader_reads_the_audit_trail_after_the_charter(
    sealed: bytes, charter_pdf: bytes, tmp_path: Path
) -> None:
    # Every page of the sealed file, the audit page too, maps its content to the tree.
    elements = structure_tree(sealed)
    audit_page = len(PdfReader(BytesIO(charter_pdf)).pages)
    on_audit_page = [i for i, e in enumerate(elements) if e.page == audit_page]
    assert on_audit_page and on_audit_page == list(range(on_audit_page[0], len(elements)))
    before = structure_tree(charter_pdf)
    assert [e.role for e in elements[: len(before)]] == [e.role for e in before]
    headings = [e.text for e in read_aloud(sealed, tmp_path) if e.role == "H1"]
    assert headings[-2:] == ["Appendix B How the recommendation was reached", "Audit trail"]
    qr = [e.alt for e in elements if e.role == "Figure" and e.page == audit_page]
    assert qr == [f"QR code that opens {BASE_URL}/verify/PC-2026-NL01-0001"]


@READS_THE_SEALED_FILE_ALOUD
def test_a_screen_reader_names_each_fact_of_the_audit_page_by_its_label(
    sealed: bytes, charter_pdf: bytes, tmp_path: Path
) -> None:
    cells = announced(read_aloud(sealed, tmp_path))
    # The charter's own cells come first; its tree is the sealed file's up to the audit page.
    audit_cells = cells[len([e for e in structure_tree(charter_pdf) if e.role == "TD"]) :]
    assert ("PC-2026-NL01-0001", ["Document ID"]) in audit_cells
    assert [text for text, headers in audit_cells if not headers] == []
    assert unresolved_header_cells(sealed) == []


def test_a_charter_frozen_untagged_is_sealed_with_untagged_audit_pages(
    keys: SealKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Charters frozen before charters were tagged are sealed as they were approved."""
    write = Document.write_pdf
    monkeypatch.setattr(Document, "write_pdf", lambda self, **o: write(self, **o | {"pdf_tags": 0}))
    clear_cache()  # rendered afresh, and the untagged bytes kept out of the other tests' way
    untagged = charter.to_pdf(evaluate(INTEGRATED), details())
    clear_cache()
    monkeypatch.undo()
    result = seal(untagged, make_audit(untagged), keys)
    assert verify(result, keys.certificate_pem()).ok
    reader = PdfReader(BytesIO(result))
    assert "/StructTreeRoot" not in reader.trailer["/Root"]
    assert all("/StructParents" not in page for page in reader.pages)
    assert pdfa_3b_problems(result) == []


def test_pdf_a_3b_identification_survives_the_seal(any_seal: bytes) -> None:
    assert any_seal.startswith(b"%PDF-1.")
    reader = PdfReader(BytesIO(any_seal))
    assert "/Version" not in reader.trailer["/Root"]  # pyHanko did not raise it to 2.0
    xmp = reader.xmp_metadata
    assert xmp is not None
    description = xmp.rdf_root.getElementsByTagName("rdf:Description")[0]
    assert description.getAttribute("pdfaid:part") == "3"
    assert description.getAttribute("pdfaid:conformance") == "B"
    # PDF/A wants the information dictionary and the XMP to agree.
    assert reader.metadata is not None
    assert reader.metadata.producer == xmp.pdf_producer
    assert reader.metadata.modification_date == SEALED_AT
    assert xmp.xmp_modify_date is not None
    assert xmp.xmp_modify_date.replace(tzinfo=UTC) == SEALED_AT
    assert "/OutputIntents" in reader.trailer["/Root"]
    # pyHanko declares its PAdES extension against PDF 1.7, not 2.0.
    assert reader.trailer["/Root"]["/Extensions"]["/ESIC"]["/BaseVersion"] == "/1.7"


def test_the_sealed_file_keeps_to_the_pdf_a_3b_requirements(any_seal: bytes) -> None:
    assert pdfa_3b_problems(any_seal) == []


def test_the_assessment_attachment_is_kept_and_seal_json_states_what_was_approved(
    sealed: bytes, charter_pdf: bytes, keys: SealKeys
) -> None:
    before = PdfReader(BytesIO(charter_pdf)).attachments["assessment.json"]
    after = PdfReader(BytesIO(sealed)).attachments
    assert after["assessment.json"] == before
    statement = json.loads(after["seal.json"][0])
    assert statement["approved"] == {"sha256": sha256_hex(charter_pdf), "length": len(charter_pdf)}
    assert statement["assessment_sha256"] == sha256_hex(before[0])
    assert statement["certificate_sha256"] == keys.fingerprint
    assert statement["verify_url"] == f"{BASE_URL}/verify/PC-2026-NL01-0001"
    root = PdfReader(BytesIO(sealed)).trailer["/Root"]
    associated = [spec.get_object()["/F"] for spec in root["/AF"]]
    assert list(dict.fromkeys(associated)) == ["assessment.json", "seal.json"]
    assert all(spec.get_object()["/AFRelationship"] == "/Data" for spec in root["/AF"])


def test_the_charter_prints_the_assessment_hash_the_seal_states(sealed: bytes) -> None:
    """The hash in seal.json is the one the charter's own text states for assessment.json."""
    statement = json.loads(PdfReader(BytesIO(sealed)).attachments["seal.json"][0])
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(sealed)).pages[:-1])
    assert statement["assessment_sha256"] in re.sub(r"\s+", "", text)
    # Its document information records it too, which the verify page compares in no time.
    info = PdfReader(BytesIO(sealed)).metadata
    assert info is not None and info["/AssessmentSHA256"] == statement["assessment_sha256"]


def test_every_font_is_embedded(any_seal: bytes, tmp_path: Path) -> None:
    assert all(font["emb"] == "yes" for font in fonts_of(any_seal, tmp_path))


def test_qpdf_finds_no_structural_error_in_the_sealed_file(
    any_seal: bytes, charter_pdf: bytes, tmp_path: Path
) -> None:
    assert structure_problems(any_seal, tmp_path) == ""
    # The approved charter, cut from the front of the sealed file, stands on its own.
    approved = any_seal[: len(charter_pdf)]
    assert structure_problems(approved, tmp_path) == ""


def test_the_audit_page_renders(sealed: bytes, tmp_path: Path) -> None:
    path = tmp_path / "sealed.pdf"
    path.write_bytes(sealed)
    pages = len(PdfReader(BytesIO(sealed)).pages)
    subprocess.run(
        ["pdftoppm", "-r", "30", "-png", "-f", str(pages), "-l", str(pages), str(path), "p"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    [image] = tmp_path.glob("p-*.png")
    assert image.stat().st_size > 5_000  # text, tables and a QR code, not a blank page


def test_the_same_sign_off_gives_the_same_bytes(
    sealed: bytes, charter_pdf: bytes, keys: SealKeys
) -> None:
    assert seal(charter_pdf, make_audit(charter_pdf), keys) == sealed


def test_an_audit_page_rendered_beforehand_gives_the_same_seal(
    sealed: bytes, charter_pdf: bytes, keys: SealKeys
) -> None:
    audit = make_audit(charter_pdf)
    page = render_pdf(audit, signer=keys.subject)
    assert seal(charter_pdf, audit, keys, audit_pdf=page) == sealed


# --- what seal refuses ------------------------------------------------------------------


def test_seal_refuses_a_trail_for_another_version(charter_pdf: bytes, keys: SealKeys) -> None:
    other = make_audit(charter_pdf + b"\n")
    with pytest.raises(SealError, match="audit trail is for SHA-256"):
        seal(charter_pdf, other, keys)


def test_seal_refuses_approvals_of_another_version(charter_pdf: bytes, keys: SealKeys) -> None:
    audit = make_audit(charter_pdf)
    stale = replace(audit.entries[1], document_hash=sha256_hex(b"an earlier draft"))
    with pytest.raises(SealError, match="approvals for another version: Bo Chen"):
        seal(charter_pdf, replace(audit, entries=(audit.entries[0], stale)), keys)


def test_seal_refuses_a_version_nobody_approved(charter_pdf: bytes, keys: SealKeys) -> None:
    with pytest.raises(SealError, match="no signatory approved"):
        seal(charter_pdf, make_audit(charter_pdf, entries=()), keys)


def test_seal_refuses_bytes_that_are_not_a_pdf(keys: SealKeys) -> None:
    junk = b"not a charter"
    with pytest.raises(SealError, match="not a readable PDF"):
        seal(junk, make_audit(junk), keys)


def test_seal_refuses_a_charter_that_is_already_sealed(sealed: bytes, keys: SealKeys) -> None:
    with pytest.raises(SealError, match="already signed"):
        seal(sealed, make_audit(sealed), keys)


# --- amendments and declines ------------------------------------------------------------


def test_an_amendment_shows_the_hash_chain_and_a_decline_with_its_reason(
    charter_pdf: bytes, keys: SealKeys
) -> None:
    previous = sha256_hex(b"the signed version 1")
    audit = make_audit(charter_pdf, version=2, previous_hash=previous, previous_version=1)
    declined = AuditEntry(
        name="Bo Chen",
        email="bo@chenfilms.example",
        role="Director",
        action="declined",
        at=SEALED_AT - timedelta(days=2),
        document_hash=sha256_hex(b"a draft of version 2"),
        reason="Clause 4 needs the festival dates",
    )
    audit = replace(audit, entries=(declined, *audit.entries))
    sealed = seal(charter_pdf, audit, keys)
    verdict = verify(sealed, keys.certificate_pem())
    assert verdict.ok and verdict.version == 2 and verdict.previous_hash == previous
    assert verdict.approvers == ("Ann Lee", "Bo Chen")
    assert verdict.signatories[0].action == "declined"
    charter_pages = len(PdfReader(BytesIO(charter_pdf)).pages)
    audit_pages = PdfReader(BytesIO(sealed)).pages[charter_pages:]
    text = "".join(page.extract_text() for page in audit_pages)
    flat = re.sub(r"\s+", "", text)
    assert "Amends version 1" in text and "hash chain" in text and "DECLINED" in text
    assert "Clause4needsthefestivaldates" in flat
    assert previous in flat and sha256_hex(charter_pdf) in flat


def test_user_text_on_the_audit_page_is_text_not_markup(charter_pdf: bytes, keys: SealKeys) -> None:
    audit = make_audit(charter_pdf)
    hostile = replace(audit.entries[0], name='<b>Ann</b> <img src="http://127.0.0.1:9/x">')
    sealed = seal(charter_pdf, replace(audit, entries=(hostile, audit.entries[1])), keys)
    text = re.sub(r"\s+", "", PdfReader(BytesIO(sealed)).pages[-1].extract_text())
    assert "<b>Ann</b>" in text and '<imgsrc="http://127.0.0.1:9/x">' in text


# --- tampering --------------------------------------------------------------------------


def test_one_byte_changed_inside_the_signed_range_is_altered(sealed: bytes, keys: SealKeys) -> None:
    signature = PdfFileReader(BytesIO(sealed)).embedded_signatures[0]
    assert signature.byte_range[0] == 0
    position = first_stream_byte(sealed, 1000)
    assert position < signature.byte_range[1]
    tampered = bytearray(sealed)
    tampered[position] ^= 0x01
    verdict = verify(bytes(tampered), keys.certificate_pem())
    assert not verdict.ok and not verdict.intact and not verdict.valid
    assert verdict.summary.startswith("ALTERED: charter PC-2026-NL01-0001 version 1")


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_any_byte_changed_in_the_signed_ranges_fails_verification(
    sealed: bytes, keys: SealKeys, data: st.DataObject
) -> None:
    """Wherever the change lands (structure, text, fonts, attachments, the audit page)."""
    start, first, second, length = PdfFileReader(BytesIO(sealed)).embedded_signatures[0].byte_range
    position = data.draw(
        st.one_of(st.integers(start, first - 1), st.integers(second, second + length - 1))
    )
    flip = data.draw(st.integers(1, 255))
    tampered = bytearray(sealed)
    tampered[position] ^= flip
    try:
        verdict = verify(bytes(tampered), keys.certificate_pem())
    except UnreadableInput:
        assert position < 5  # only a broken %PDF- header makes it "not a PDF"
        return
    assert not verdict.ok, (position, flip)
    assert verdict.summary.startswith(("ALTERED", "NOT SEALED", "INVALID")), verdict.summary


def test_a_page_appended_after_the_seal_is_a_modification(sealed: bytes, keys: SealKeys) -> None:
    appended = append_page(sealed)
    assert appended.startswith(sealed)
    reader = PdfFileReader(BytesIO(appended))
    # The signed digest still matches: only the coverage tells of what came after it. (The
    # diff analysis that would also see it takes pyHanko tens of seconds on a tagged file.)
    status = validate_pdf_signature(
        reader.embedded_signatures[0], ValidationContext(trust_roots=[asn1(keys)]), skip_diff=True
    )
    assert status.intact and status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
    verdict = verify(appended, keys.certificate_pem())
    assert verdict.intact and verdict.modified_after_seal and not verdict.ok
    assert verdict.summary.startswith("ALTERED: charter PC-2026-NL01-0001 version 1 was modified")


def test_bytes_added_after_the_seal_are_altered(sealed: bytes, keys: SealKeys) -> None:
    verdict = verify(sealed + b"\n%%EOF\n", keys.certificate_pem())
    assert not verdict.ok and verdict.summary.startswith("ALTERED:")
    # A comment after %%EOF is no PDF structure: readers ignore it, the seal must not.
    commented = verify(sealed + b"% a note\n", keys.certificate_pem())
    assert commented.intact and commented.modified_after_seal
    assert commented.outcome == Outcome.ALTERED
    assert commented.summary == (
        "ALTERED: charter PC-2026-NL01-0001 version 1 was modified after the seal: "
        "9 bytes appended after the sealed file"
    )


def signature_gap(pdf: bytes) -> tuple[int, int]:
    """Return where the signature value (the hex string the digest leaves out) starts and ends."""
    start, first, second, length = PdfFileReader(BytesIO(pdf)).embedded_signatures[0].byte_range
    assert (start, pdf[first : first + 1], pdf[second - 1 : second]) == (0, b"<", b">")
    assert second + length == len(pdf)
    return first, second


def test_a_changed_byte_in_the_signatures_padding_is_altered(
    any_seal: bytes, keys: SealKeys
) -> None:
    """Outside the digest, but not outside the check: the room left after the signature."""
    _, end = signature_gap(any_seal)
    tampered = bytearray(any_seal)
    assert tampered[end - 5] == ord("0")
    tampered[end - 5] = ord("1")
    verdict = verify(bytes(tampered), keys.certificate_pem())
    assert verdict.intact, "the digest cannot see this change; the padding check must"
    assert not verdict.ok and verdict.modified_after_seal
    assert verdict.summary == (
        "ALTERED: charter PC-2026-NL01-0001 version 1 was modified after the seal: "
        "the room reserved for the signature holds 1 byte of other data"
    )


def test_the_signatures_padding_cannot_carry_content(sealed: bytes, keys: SealKeys) -> None:
    _, end = signature_gap(sealed)
    payload = b"Clause 9: the producer owns everything.".hex().encode()
    at = end - 1 - len(payload) - 2  # within the zeros after the signature
    tampered = sealed[:at] + payload + sealed[at + len(payload) :]
    assert len(tampered) == len(sealed)
    verdict = verify(tampered, keys.certificate_pem())
    assert verdict.outcome == Outcome.ALTERED
    assert verdict.changes == ("the room reserved for the signature holds 39 bytes of other data",)


def test_unsigned_certificates_added_to_the_signature_are_altered(
    sealed: bytes, keys: SealKeys, tmp_path: Path
) -> None:
    """A CMS signature's certificate list is not signed: the seal writes only its own."""
    from asn1crypto import cms

    begin, end = signature_gap(sealed)
    room = (end - begin - 2) // 2
    info = cms.ContentInfo.load(PdfFileReader(BytesIO(sealed)).embedded_signatures[0].pkcs7_content)
    other = load_or_create(tmp_path / "other", key_size=2048)
    extra = cms.CertificateChoices.load(asn1(other).dump())
    certificates = list(info["content"]["certificates"])[:1] + [extra]
    info["content"]["certificates"] = certificates
    der = info.dump(force=True)
    assert len(der) <= room
    value = b"<" + (der + bytes(room - len(der))).hex().upper().encode() + b">"
    tampered = sealed[:begin] + value + sealed[end:]
    verdict = verify(tampered, keys.certificate_pem())
    assert verdict.intact and verdict.outcome == Outcome.ALTERED
    assert "the signature carries certificates other than the seal's" in verdict.changes


@pytest.mark.parametrize(
    "change",
    [
        lambda r: [0, r[1], r[2], r[3] - 74],  # the end of the file left out
        lambda r: [0, r[1] - 51, r[2], r[3]],  # more than the signature left out
        lambda r: [0, r[2], r[1], r[3]],  # ranges that make no sense
    ],
    ids=["end-left-out", "gap-widened", "swapped"],
)
def test_a_changed_byte_range_is_altered(
    sealed: bytes, keys: SealKeys, change: Callable[[list[int]], list[int]]
) -> None:
    stated = [int(n) for n in PdfFileReader(BytesIO(sealed)).embedded_signatures[0].byte_range]
    old = " ".join(str(n) for n in stated).encode()
    new = " ".join(str(n) for n in change(stated)).encode()
    new += b" " * (len(old) - len(new))  # the same length: no offset elsewhere moves
    assert sealed.count(old) == 1 and len(new) == len(old)
    verdict = verify(sealed.replace(old, new), keys.certificate_pem())
    assert not verdict.ok and verdict.outcome == Outcome.ALTERED, verdict.summary


def test_a_seal_by_another_key_is_not_trusted(
    charter_pdf: bytes, keys: SealKeys, tmp_path: Path
) -> None:
    impostor = load_or_create(tmp_path / "impostor", subject="assess charter seal")
    forged = seal(charter_pdf, make_audit(charter_pdf), impostor)
    unchecked = verify(forged)  # consistent in itself, by whoever made the key ...
    assert unchecked.outcome == Outcome.UNVERIFIED and not unchecked.ok
    verdict = verify(forged, keys.certificate_pem())  # ... but not the service's seal
    assert not verdict.ok and not verdict.trusted and verdict.outcome == Outcome.FOREIGN
    # Intact as sealed, only by someone else: not called broken or altered.
    assert verdict.intact and verdict.valid and not verdict.modified_after_seal
    assert verdict.summary.startswith("NOT TRUSTED:")


def test_an_unsealed_charter_is_not_sealed(charter_pdf: bytes) -> None:
    verdict = verify(charter_pdf)
    assert not verdict.sealed and not verdict.ok
    assert verdict.summary.startswith("NOT SEALED:")


def test_a_file_that_is_not_a_pdf_is_unreadable() -> None:
    with pytest.raises(UnreadableInput):
        verify(b"PK\x03\x04 a zip file")


def test_a_damaged_pdf_is_altered_not_a_crash() -> None:
    verdict = verify(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage")
    assert not verdict.ok and verdict.summary.startswith(("ALTERED", "NOT SEALED"))


# --- trusted time from a time-stamping authority ------------------------------------------


def test_a_time_stamped_seal_carries_the_authoritys_time(
    stamped: tuple[bytes, datetime, datetime],
    keys: SealKeys,
    authority: TimeStampingAuthority,
) -> None:
    data, before, after = stamped
    verdict = verify(data, keys.certificate_pem(), authority_roots(authority))
    assert verdict.ok, verdict
    assert verdict.timestamp_by == "Test Time-Stamping Authority" and verdict.timestamp_trusted
    assert verdict.timestamped_at is not None
    stamped_at = datetime.fromisoformat(verdict.timestamped_at)
    assert before - timedelta(seconds=1) <= stamped_at <= after + timedelta(seconds=1)
    # The seal still states the sign-off's own time; the authority's is the independent one.
    assert verdict.sealed_at == SEALED_AT.isoformat()
    assert verdict.summary.endswith(
        f"approved by Ann Lee and Bo Chen; time-stamped {stamped_at:%Y-%m-%d %H:%M} UTC "
        "by Test Time-Stamping Authority"
    )


def test_the_stamp_is_read_back_for_the_history(
    stamped: tuple[bytes, datetime, datetime], sealed: bytes
) -> None:
    data, before, after = stamped
    found = stamp_of(data)
    assert found is not None
    when, authority_name = found
    assert authority_name == "Test Time-Stamping Authority"
    assert before - timedelta(seconds=1) <= when <= after + timedelta(seconds=1)
    assert stamp_of(sealed) is None


def test_one_request_to_the_authority_per_seal(
    charter_pdf: bytes, keys: SealKeys, authority: TimeStampingAuthority
) -> None:
    """The signature's room is reserved up front: no trial timestamp to measure it."""
    served = authority.requests
    seal(
        charter_pdf, make_audit(charter_pdf), keys, timestamper=AuthorityTimeStamper(authority.url)
    )
    assert authority.requests == served + 1


def test_without_the_authoritys_root_the_timestamp_is_checked_against_itself(
    stamped: tuple[bytes, datetime, datetime], keys: SealKeys
) -> None:
    verdict = verify(stamped[0], keys.certificate_pem())
    assert verdict.ok and verdict.timestamped_at and not verdict.timestamp_trusted
    stamped_at = datetime.fromisoformat(verdict.timestamped_at)
    assert verdict.summary.endswith(
        f"; time-stamped {stamped_at:%Y-%m-%d %H:%M} UTC by 'Test Time-Stamping Authority', "
        "but that authority was not checked against a trusted root"
    )
    assert verify(stamped[0]).outcome == Outcome.UNVERIFIED


def test_a_timestamp_by_another_authority_is_not_trusted(
    stamped: tuple[bytes, datetime, datetime], keys: SealKeys
) -> None:
    stranger = TimeStampingAuthority("Other Authority")
    try:
        verdict = verify(stamped[0], keys.certificate_pem(), authority_roots(stranger))
    finally:
        stranger.close()
    assert not verdict.ok and verdict.intact and not verdict.timestamp_trusted
    assert verdict.outcome == Outcome.UNTRUSTED_TIME
    assert verdict.summary == (
        "NOT TRUSTED: charter PC-2026-NL01-0001 version 1 carries a timestamp by "
        "'Test Time-Stamping Authority', not by a trusted time-stamping authority"
    )


def test_a_changed_timestamp_token_invalidates_the_seal(
    stamped: tuple[bytes, datetime, datetime], keys: SealKeys, authority: TimeStampingAuthority
) -> None:
    """The token sits in the signature's unsigned part: its own signature must catch this."""
    data = stamped[0]
    [signature] = PdfFileReader(BytesIO(data)).embedded_signatures
    [attribute] = [
        a
        for a in signature.signer_info["unsigned_attrs"]
        if a["type"].native == "signature_time_stamp_token"
    ]
    token_signature = attribute["values"][0]["content"]["signer_infos"][0]["signature"].native
    tail = token_signature[-16:].hex().encode()
    at = data.lower().find(tail)
    assert at > 0
    tampered = bytearray(data)
    tampered[at + 3] = ord("0") if tampered[at + 3] != ord("0") else ord("1")
    verdict = verify(bytes(tampered), keys.certificate_pem(), authority_roots(authority))
    assert not verdict.ok
    assert verdict.summary == (
        "INVALID SEAL: charter PC-2026-NL01-0001 version 1: "
        "the timestamp does not match the seal it claims to date"
    )


def test_an_authority_that_cannot_be_reached_or_answers_garbage_raises(
    charter_pdf: bytes, keys: SealKeys
) -> None:
    broken = TimeStampingAuthority()
    broken.garbled = True
    try:
        with pytest.raises(TimestampUnavailable, match=f"{broken.url} gave no timestamp"):
            seal(
                charter_pdf,
                make_audit(charter_pdf),
                keys,
                timestamper=AuthorityTimeStamper(broken.url),
            )
    finally:
        broken.close()
    assert broken.requests == 1
    with pytest.raises(TimestampUnavailable, match="Error in communication"):
        seal(
            charter_pdf, make_audit(charter_pdf), keys, timestamper=AuthorityTimeStamper(broken.url)
        )


def test_load_roots_refuses_a_file_without_a_certificate(tmp_path: Path) -> None:
    path = tmp_path / "roots.pem"
    path.write_text("not a certificate")
    with pytest.raises(ValueError, match="roots.pem: not a PEM or DER certificate file"):
        load_roots(path)


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("SEAL_TSA_URL", "ftp://tsa.example/", "SEAL_TSA_URL must be an http"),
        ("SEAL_TSA_ROOT_FILE", "/nonexistent/roots.pem", "SEAL_TSA_ROOT_FILE: .*No such file"),
        ("SEAL_TSA_ROOT_FILE", __file__, "SEAL_TSA_ROOT_FILE: .*not a PEM or DER certificate"),
    ],
)
def test_the_app_refuses_bad_time_stamping_settings_at_start(
    setting: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        create_app(
            {"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://", setting: value}
        )


# --- the command line -------------------------------------------------------------------


@pytest.fixture
def run_verify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    # An instance folder of its own: a seal key another run generated in the checkout's
    # instance folder would otherwise be the certificate every verification trusts.
    empty = tmp_path / "instance"
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(empty))

    def run(data: bytes, *options: str) -> Any:
        path = tmp_path / "input.pdf"
        path.write_bytes(data)
        return CliRunner().invoke(
            cli,
            ["verify", str(path), *options],
            env={"SEAL_CERT_FILE": "", "SEAL_TSA_ROOT_FILE": ""},
        )

    return run


def test_cli_exit_0_for_an_intact_sealed_charter(
    run_verify: Callable[..., Any], sealed: bytes, keys: SealKeys
) -> None:
    result = run_verify(sealed, "--cert", str(keys.cert_file))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Intact and sealed by assess charter seal: charter PC-2026")
    assert len(result.output.strip().splitlines()) == 1


def test_cli_trusts_the_certificate_generated_in_the_instance_folder(
    run_verify: Callable[..., Any], sealed: bytes, keys: SealKeys, monkeypatch: Any
) -> None:
    checked = run_verify(sealed, "--cert", str(keys.cert_file)).output
    unchecked = run_verify(sealed)
    assert unchecked.exit_code == 3 and unchecked.output.startswith("UNVERIFIED:")
    instance = keys.cert_file.parent.parent
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(instance))
    assert create_app({"TESTING": True, "DATABASE_URL": "sqlite://"}).instance_path == str(instance)
    result = run_verify(sealed)
    assert result.exit_code == 0, result.output
    assert result.output == checked


def test_cli_details_list_the_checks_and_signatories(
    run_verify: Callable[..., Any], sealed: bytes, keys: SealKeys
) -> None:
    result = run_verify(sealed, "--details", "--cert", str(keys.cert_file))
    assert result.exit_code == 0, result.output
    assert "intact:" in result.output
    assert "Bo Chen (Director) <bo@chenfilms.example>" in result.output


def test_cli_exit_1_for_a_changed_byte_and_an_appended_page(
    run_verify: Callable[..., Any], sealed: bytes, keys: SealKeys
) -> None:
    tampered = bytearray(sealed)
    tampered[first_stream_byte(sealed, 1000)] ^= 0x01
    for data in (bytes(tampered), append_page(sealed)):
        result = run_verify(data, "--cert", str(keys.cert_file))
        assert result.exit_code == 1, result.output
        assert result.output.startswith("ALTERED:")
        assert "Traceback" not in result.output


def test_cli_exit_1_for_a_changed_padding_byte(
    run_verify: Callable[..., Any], sealed: bytes, keys: SealKeys
) -> None:
    _, end = signature_gap(sealed)
    tampered = bytearray(sealed)
    tampered[end - 5] = ord("1")
    for options in (("--cert", str(keys.cert_file)), ()):
        result = run_verify(bytes(tampered), *options)
        assert result.exit_code == 1, result.output
        assert result.output.startswith("ALTERED: charter PC-2026-NL01-0001 version 1 was modified")


def test_cli_never_exits_0_for_a_seal_it_cannot_attribute(
    run_verify: Callable[..., Any], charter_pdf: bytes, keys: SealKeys, tmp_path: Path
) -> None:
    """A forgery by a key named like the service's, with an audit trail of its own making."""
    mallory = load_or_create(tmp_path / "mallory", subject="assess charter seal")
    audit = make_audit(charter_pdf)
    forger = replace(audit.entries[0], name="Mallory", email="m@forger.example")
    forged = seal(charter_pdf, replace(audit, entries=(forger,)), mallory)
    unchecked = run_verify(forged)
    assert unchecked.exit_code == 3, unchecked.output
    assert unchecked.output.startswith("UNVERIFIED: charter PC-2026-NL01-0001 version 1 is intact")
    assert "Mallory" not in unchecked.output  # nothing it cannot vouch for is repeated
    pinned = run_verify(forged, "--cert", str(keys.cert_file), "--details")
    assert pinned.exit_code == 1, pinned.output
    assert pinned.output.startswith("NOT TRUSTED:")
    assert "trusted:             no, another certificate sealed it" in pinned.output
    assert run_verify(forged, "--cert", str(mallory.cert_file)).exit_code == 0


def test_cli_exit_1_for_an_unsealed_charter(
    run_verify: Callable[..., Any], charter_pdf: bytes
) -> None:
    result = run_verify(charter_pdf)
    assert result.exit_code == 1
    assert result.output.startswith("NOT SEALED:") and "not a signed-off charter" in result.output


def verify_in_a_process(path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """``assess verify`` in a real process, with Python's default warnings shown."""
    return subprocess.run(
        [sys.executable, "-W", "default", "-m", "assess.cli", "verify", str(path), *options],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_exit_2_for_a_file_that_is_not_a_pdf(tmp_path: Path) -> None:
    """A real process: exit status 2, a clear message, no traceback."""
    path = tmp_path / "notes.pdf"
    path.write_text("meeting notes, not a PDF")
    result = verify_in_a_process(path)
    assert result.returncode == 2
    assert f"Error: {path}: not a PDF file" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_cli_verifies_in_a_real_process_without_warnings_on_stderr(
    sealed: bytes, keys: SealKeys, tmp_path: Path
) -> None:
    """Libraries' deprecation notices about algorithms the seal never uses stay out of sight."""
    path = tmp_path / "signed.pdf"
    path.write_bytes(sealed)
    result = verify_in_a_process(path, "--cert", str(keys.cert_file))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Intact and sealed by assess charter seal: charter PC-")
    assert result.stderr == ""


def test_cli_exit_2_for_a_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["verify", str(tmp_path / "missing.pdf")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_cli_says_one_line_about_a_file_it_cannot_check(tmp_path: Path) -> None:
    """A real process, with Python's default warnings: the verdict is the only line."""
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    result = verify_in_a_process(path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"Error: {path}: the file is empty, not a charter PDF"]
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda path: path.mkdir(), "is a folder, not a PDF file"),
        (lambda path: path.write_bytes(b""), "the file is empty, not a charter PDF"),
        (lambda path: path.write_text("notes"), "not a PDF file"),
        (lambda path: None, "the file does not exist"),
    ],
    ids=["folder", "empty", "not a PDF", "missing"],
)
def test_cli_refuses_what_is_not_a_charter_in_one_line(
    tmp_path: Path, make: Callable[[Path], None], problem: str
) -> None:
    path = tmp_path / "charter.pdf"
    make(path)
    result = CliRunner().invoke(cli, ["verify", str(path)])
    assert result.exit_code == 2
    assert len(result.output.splitlines()) == 1, result.output
    assert result.output.startswith(f"Error: {path}: {problem}")


def test_cli_refuses_a_file_larger_than_the_verify_page_takes(tmp_path: Path) -> None:
    from assess.signing import MAX_CHARTER_BYTES
    from assess.views.verify import upload_limit

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})
    with app.test_request_context():
        assert upload_limit() == MAX_CHARTER_BYTES
    path = tmp_path / "huge.pdf"
    with path.open("wb") as file:  # sparse: no disk is spent on it
        file.truncate(MAX_CHARTER_BYTES + 1)
    result = CliRunner().invoke(cli, ["verify", str(path)])
    assert result.exit_code == 2
    assert result.output == f"Error: {path}: larger than 20 MB; a charter is much smaller\n"


def test_cli_reads_no_more_of_an_endless_file_than_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A device or pipe has no size to look at first: what is read past the limit stops it."""
    import assess.signing

    monkeypatch.setattr(assess.signing, "MAX_CHARTER_BYTES", 1024)
    result = CliRunner().invoke(cli, ["verify", "/dev/zero"])
    assert result.exit_code == 2
    assert result.output.startswith("Error: /dev/zero: larger than ")


def test_cli_says_when_it_may_not_read_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "charter.pdf"
    path.write_bytes(b"%PDF-1.7")

    def refused(*_args: Any, **_kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Path, "open", refused)
    result = CliRunner().invoke(cli, ["verify", str(path)])
    assert result.exit_code == 2
    assert result.output == f"Error: cannot read {path}: Permission denied\n"


def test_cli_details_show_the_trusted_time(
    run_verify: Callable[..., Any],
    stamped: tuple[bytes, datetime, datetime],
    keys: SealKeys,
    authority: TimeStampingAuthority,
    tmp_path: Path,
) -> None:
    roots = tmp_path / "tsa-roots.pem"
    roots.write_bytes(authority.root_pem)
    options = ("--details", "--cert", str(keys.cert_file), "--tsa-root", str(roots))
    result = run_verify(stamped[0], *options)
    assert result.exit_code == 0, result.output
    assert "time-stamped:" in result.output
    assert "by Test Time-Stamping Authority (trusted)" in result.output
    roots.write_text("not a certificate")
    refused = run_verify(stamped[0], *options)
    assert refused.exit_code == 2 and "not a PEM or DER certificate file" in refused.output


def test_cli_says_plainly_when_the_timestamp_s_authority_was_not_checked(
    run_verify: Callable[..., Any], stamped: tuple[bytes, datetime, datetime], keys: SealKeys
) -> None:
    """Without --tsa-root the file is still intact (exit 0), but nothing says the authority
    that dated it is one to trust: the output must not read as if it were."""
    result = run_verify(stamped[0], "--details", "--cert", str(keys.cert_file))
    assert result.exit_code == 0, result.output
    verdict, *details = result.output.splitlines()
    assert verdict.startswith("Intact and sealed by assess charter seal: ")
    assert verdict.endswith(
        "by 'Test Time-Stamping Authority', but that authority was not checked against a "
        "trusted root: give its root certificate with --tsa-root to check it"
    )
    [line] = [line for line in details if "time-stamped:" in line]
    assert line.endswith(
        "by Test Time-Stamping Authority (authority not checked against a trusted root)"
    )
    assert "trusted)" not in result.output


NOT_CERTIFICATES = {
    "text": b"not a certificate",
    "broken-pem": b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    "random": bytes(range(7, 250)) * 2,
}


@pytest.mark.parametrize("option", ["--cert", "--tsa-root"])
@pytest.mark.parametrize("content", NOT_CERTIFICATES.values(), ids=NOT_CERTIFICATES.keys())
def test_cli_rejects_a_certificate_file_that_is_not_one_in_plain_words(
    run_verify: Callable[..., Any], sealed: bytes, tmp_path: Path, option: str, content: bytes
) -> None:
    """The parser's own message (ASN.1 tags, byte counts) means nothing to whoever checks."""
    bogus = tmp_path / "cert.pem"
    bogus.write_bytes(content)
    result = run_verify(sealed, option, str(bogus))
    assert result.exit_code == 2
    assert result.output == f"Error: {bogus}: not a PEM or DER certificate file\n"


@pytest.mark.parametrize("option", ["--cert", "--tsa-root"])
def test_cli_refuses_a_certificate_file_far_too_large_without_reading_it_all(
    run_verify: Callable[..., Any], sealed: bytes, tmp_path: Path, option: str
) -> None:
    """A file given by mistake (a video, a disk image) is not read into memory whole."""
    huge = tmp_path / "cert.pem"
    with huge.open("wb") as file:
        file.truncate(2**40)  # a terabyte of nothing: the file system stores none of it
    result = run_verify(sealed, option, str(huge))
    assert result.exit_code == 2, result.output
    assert result.output == f"Error: {huge}: larger than 10 MB; not a certificate file\n"


def test_cli_shows_the_file_s_text_without_line_breaks_or_terminal_controls(
    run_verify: Callable[..., Any], charter_pdf: bytes, keys: SealKeys
) -> None:
    """Whoever seals a file writes its names: none may clear the screen, reverse the text
    or add a line that reads as another verdict."""
    audit = make_audit(charter_pdf)
    named = replace(
        audit.entries[0],
        name="Ann\x1b[2J\nIntact and sealed by the tax office",
        role="Director\u202e",
    )
    forged = seal(charter_pdf, replace(audit, entries=(named, audit.entries[1])), keys)
    result = run_verify(forged, "--details", "--cert", str(keys.cert_file))
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Intact and sealed by assess charter seal")
    assert "approved by Ann?[2J?Intact and sealed by the tax office and Bo Chen" in lines[0]
    assert not any(line.lstrip().startswith("Intact") for line in lines[1:])
    assert any("Ann?[2J?Intact and sealed by the tax office (Director?)" in line for line in lines)


def test_a_certificate_made_for_the_key_signs_documents(keys: SealKeys) -> None:
    """The generated certificate is fit for document signing and names the service."""
    from cryptography import x509

    certificate = self_signed_certificate(keys.private_key, "assess charter seal")
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
