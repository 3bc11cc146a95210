"""Verify a sealed charter: the seal (pyHanko), changes after it, the approved bytes, the data.

The verdict rests on pyHanko's overall judgement (``bottom_line``), not on the digest alone:
a file can be intact up to its signature and still carry an update appended after it.
Besides the signature, the checks use what the seal states in ``seal.json``: the approved
charter is the first ``approved.length`` bytes of the file with SHA-256 ``approved.sha256``,
and its ``assessment.json`` has the SHA-256 the charter prints.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from io import BytesIO
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko import keys as pyhanko_keys
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from assess.signing import sha256_hex
from assess.signing.seal import ASSESSMENT_FILE, SEAL_FIELD, SEAL_FILE, embedded_file
from assess.signing.timestamps import token_certificates, token_of
from assess.text import join_names

key_loading: Any = pyhanko_keys  # unannotated in pyHanko: handled as Any at this boundary

TIMESTAMP_BROKEN = "the timestamp does not match the seal it claims to date"
HEADER_WINDOW = 1024  # PDF readers accept the %PDF- header anywhere in the first KiB


class UnreadableInput(ValueError):
    """The input is not a PDF at all (as opposed to a damaged or altered one)."""


@dataclass(frozen=True)
class Signatory:
    """One action recorded in the sealed audit trail."""

    name: str
    role: str
    email: str
    action: str
    at: str
    document_hash: str


@dataclass(frozen=True)
class Verdict:
    """What verification found; ``ok`` is the one answer a caller needs.

    ``sealed``: the file carries the service's seal signature. ``intact``: the signed bytes
    hash to the signed digest. ``valid``: pyHanko's bottom line (integrity, trust in the
    signer, no disallowed changes). ``certified``: a certification signature allowing no
    changes. ``modified_after_seal``: something was written after the seal. ``trusted``:
    the signer is the trusted certificate given (False when none was given).
    ``timestamped_at``/``timestamp_by``: the trusted time a time-stamping authority added
    to the seal, and who; ``timestamp_trusted``: that authority chains to a root given.
    """

    sealed: bool
    intact: bool
    valid: bool
    certified: bool
    modified_after_seal: bool
    summary: str
    trusted: bool = False
    document_id: str | None = None
    version: int | None = None
    approved_hash: str | None = None
    previous_hash: str | None = None
    sealed_at: str | None = None
    sealed_by: str | None = None
    signatories: tuple[Signatory, ...] = ()
    approved_version_ok: bool | None = None
    assessment_ok: bool | None = None
    problems: tuple[str, ...] = ()
    timestamped_at: str | None = None
    timestamp_by: str | None = None
    timestamp_trusted: bool = False

    @property
    def ok(self) -> bool:
        """Return whether this is a sealed charter, unchanged since the seal."""
        return (
            self.sealed
            and self.intact
            and self.valid
            and self.certified
            and not self.modified_after_seal
            and not self.problems
        )

    @property
    def approvers(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.signatories if s.action == "approved")


def verify(
    pdf_bytes: bytes,
    trusted_cert: x509.Certificate | bytes | None = None,
    tsa_roots: Sequence[Any] | None = None,
) -> Verdict:
    """Check a PDF's seal and what it states; raise ``UnreadableInput`` if it is not a PDF.

    ``trusted_cert`` (a certificate, or PEM/DER bytes) is the service's seal certificate.
    Without it the signer's own certificate is taken as the trust anchor: the seal is then
    checked for integrity and changes, and the summary says the signer was not checked.
    ``tsa_roots`` (certificates, see ``timestamps.load_roots``) are the time-stamping
    authorities to trust; without them a timestamp is checked against its own certificates.
    """
    pinned = _certificate(trusted_cert) if trusted_cert is not None else None
    if b"%PDF-" not in pdf_bytes[:HEADER_WINDOW]:
        raise UnreadableInput("not a PDF file (no %PDF- header)")
    # The file is untrusted input (an upload on a public page): whatever the parsers
    # raise on it means a damaged file, reported as a verdict rather than a crash.
    try:
        reader = PdfFileReader(BytesIO(pdf_bytes), strict=False)
        signatures = reader.embedded_signatures
    except Exception as error:
        return _damaged(f"the PDF structure is damaged ({_short(error)})")
    ours = [s for s in signatures if s.field_name == SEAL_FIELD] or list(signatures)
    if not ours:
        return Verdict(
            sealed=False,
            intact=False,
            valid=False,
            certified=False,
            modified_after_seal=False,
            summary="NOT SEALED: this PDF carries no seal; it is not a signed-off charter",
        )
    embedded = ours[0]
    try:
        anchor = pinned if pinned is not None else embedded.signer_cert
        trusted = pinned is not None and anchor.sha256 == embedded.signer_cert.sha256
        token = token_of(embedded.signer_info)
        stamp_roots = list(tsa_roots or ()) or (token_certificates(token) if token else [])
        status = validate_pdf_signature(
            embedded,
            signer_validation_context=ValidationContext(trust_roots=[anchor]),
            ts_validation_context=ValidationContext(trust_roots=stamp_roots),
        )
        signed_end = int(embedded.byte_range[2]) + int(embedded.byte_range[3])
    except Exception as error:
        return _damaged(f"the seal cannot be checked ({_short(error)})", sealed=True)

    modified = (
        status.coverage != SignatureCoverageLevel.ENTIRE_FILE
        or status.docmdp_ok is False
        or len(signatures) > 1
    )
    certified = embedded.docmdp_level == MDPPerm.NO_CHANGES
    statement, problems = _statement(pdf_bytes[:signed_end])
    stamp = status.timestamp_validity
    if stamp is not None and not (stamp.intact and stamp.valid):
        problems.append(TIMESTAMP_BROKEN)
    facts = _facts(statement) if statement is not None else {}
    approved_ok, assessment_ok = None, None
    if statement is not None and status.intact:
        try:
            approved_ok, assessment_ok, more = _check_statement(pdf_bytes, signed_end, statement)
        except Exception as error:  # the approved part is unreadable: same untrusted input
            approved_ok, more = False, [f"the approved charter cannot be read ({_short(error)})"]
        problems += more
        if statement.get("certificate_sha256") != embedded.signer_cert.sha256.hex():
            problems.append("seal.json names another certificate than the one that sealed it")
    verdict = Verdict(
        sealed=True,
        intact=bool(status.intact),
        valid=bool(status.bottom_line),
        certified=certified,
        modified_after_seal=modified,
        summary="",
        trusted=trusted,
        approved_version_ok=approved_ok,
        assessment_ok=assessment_ok,
        problems=tuple(problems),
        sealed_by=_subject(embedded.signer_cert),
        timestamped_at=stamp.timestamp.astimezone(UTC).isoformat() if stamp else None,
        timestamp_by=_subject(stamp.signing_cert) if stamp else None,
        timestamp_trusted=bool(stamp and stamp.trusted and tsa_roots),
        **facts,
    )
    return _with_summary(verdict, pinned is not None, bool(tsa_roots))


def sealing_certificate(pdf_bytes: bytes) -> str | None:
    """Return the SHA-256 fingerprint (hex) of the certificate that sealed a PDF, or None
    when it carries no readable seal."""
    try:
        signatures = PdfFileReader(BytesIO(pdf_bytes), strict=False).embedded_signatures
        ours = [s for s in signatures if s.field_name == SEAL_FIELD]
        return ours[0].signer_cert.sha256.hex() if ours else None
    except Exception:  # a damaged file has no certificate to name
        return None


def _statement(signed_revision: bytes) -> tuple[dict[str, Any] | None, list[str]]:
    """Read ``seal.json`` as the seal saw it (the signed revision, not later updates)."""
    try:
        data = embedded_file(PdfFileReader(BytesIO(signed_revision), strict=False), SEAL_FILE)
    except Exception as error:
        return None, [f"the sealed revision cannot be read ({_short(error)})"]
    if data is None:
        return None, ["the seal states nothing: no seal.json in the sealed file"]
    try:
        statement = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None, ["seal.json is not valid JSON"]
    if not isinstance(statement, dict):
        return None, ["seal.json is not a JSON object"]
    return statement, []


def _facts(statement: dict[str, Any]) -> dict[str, Any]:
    approved = statement.get("approved")
    approved = approved if isinstance(approved, dict) else {}
    entries = statement.get("entries")
    entries = entries if isinstance(entries, list) else []
    version = statement.get("version")
    return {
        "document_id": _text(statement.get("document_id")),
        "version": version if isinstance(version, int) else None,
        "approved_hash": _text(approved.get("sha256")),
        "previous_hash": _text(statement.get("previous_hash")),
        "sealed_at": _text(statement.get("sealed_at")),
        "signatories": tuple(
            Signatory(
                name=str(e.get("name", "")),
                role=str(e.get("role", "")),
                email=str(e.get("email", "")),
                action=str(e.get("action", "")),
                at=str(e.get("at", "")),
                document_hash=str(e.get("document_hash", "")),
            )
            for e in entries
            if isinstance(e, dict)
        ),
    }


def _check_statement(
    pdf_bytes: bytes, signed_end: int, statement: dict[str, Any]
) -> tuple[bool, bool | None, list[str]]:
    """Check the approved bytes are the file's first part, and the assessment's hash."""
    problems: list[str] = []
    approved = statement.get("approved") or {}
    length, digest = approved.get("length"), approved.get("sha256")
    approved_ok = (
        isinstance(length, int)
        and 0 < length <= signed_end
        and sha256_hex(pdf_bytes[:length]) == digest
        and statement.get("document_hash") == digest
    )
    if not approved_ok:
        problems.append("the approved charter is not the first part of this file")
        return False, None, problems
    charter = PdfFileReader(BytesIO(pdf_bytes[:length]), strict=False)
    assessment = embedded_file(charter, ASSESSMENT_FILE)
    stated = statement.get("assessment_sha256")
    if assessment is None:
        if stated is not None:
            problems.append("assessment.json is missing from the approved charter")
        return True, None if stated is None else False, problems
    actual = sha256_hex(assessment)
    assessment_ok = actual == stated
    if not assessment_ok:
        problems.append("assessment.json does not match the hash the seal states")
    printed = _charter_stated_hash(charter)
    if printed is not None and printed != actual:
        assessment_ok = False
        problems.append("assessment.json does not match the hash the charter states")
    return True, assessment_ok, problems


def _charter_stated_hash(charter: PdfFileReader) -> str | None:
    """Return the assessment hash the charter records in its document information, if any.

    The charter prints the hash in its text; reading it back from the page text takes
    seconds, so a charter that also records it as ``/AssessmentSHA256`` is checked here.
    """
    try:
        info = charter.trailer["/Info"]
        value = info.get("/AssessmentSHA256") if info is not None else None
    except (KeyError, PdfError):
        return None
    return str(value).lower() if value is not None else None


def _with_summary(verdict: Verdict, pinned: bool, tsa_pinned: bool) -> Verdict:
    from dataclasses import replace

    what = _describe(verdict)
    stamped_by_stranger = (
        tsa_pinned and verdict.timestamp_by is not None and not verdict.timestamp_trusted
    )
    if not verdict.intact:
        line = f"ALTERED: {what} was changed after sealing; the seal no longer matches its bytes"
    elif verdict.modified_after_seal:
        line = f"ALTERED: {what} was modified after the seal (content added or changed)"
    elif pinned and not verdict.trusted:
        line = (
            f"NOT TRUSTED: {what} is sealed by {verdict.sealed_by!r}, "
            "not by this service's certificate"
        )
    elif stamped_by_stranger and TIMESTAMP_BROKEN not in verdict.problems:
        line = (
            f"NOT TRUSTED: {what} carries a timestamp by {verdict.timestamp_by!r}, "
            "not by a trusted time-stamping authority"
        )
    elif not verdict.valid:
        line = f"INVALID SEAL: {what} has a seal that does not validate"
        if TIMESTAMP_BROKEN in verdict.problems:
            line = f"INVALID SEAL: {what}: {TIMESTAMP_BROKEN}"
    elif not verdict.certified:
        line = f"NOT SEALED: {what} is signed, but not with a seal that allows no changes"
    elif verdict.problems:
        line = f"ALTERED: {what}: {verdict.problems[0]}"
    else:
        approvers = join_names(verdict.approvers) or "nobody"
        line = f"Intact and sealed by {verdict.sealed_by}: {what}, approved by {approvers}"
        if verdict.timestamped_at:
            line += (
                f"; time-stamped {verdict.timestamped_at[:16].replace('T', ' ')} UTC "
                f"by {verdict.timestamp_by}"
            )
        unchecked = [] if pinned else ["seal certificate"]
        if verdict.timestamped_at and not tsa_pinned:
            unchecked.append("time-stamping authority")
        if unchecked:
            line += f" ({' and '.join(unchecked)} not checked against a trusted one)"
    return replace(verdict, summary=line)


def _describe(verdict: Verdict) -> str:
    if verdict.document_id is None:
        return "the document"
    if verdict.version is None:
        return f"charter {verdict.document_id}"
    return f"charter {verdict.document_id} version {verdict.version}"


def _damaged(reason: str, *, sealed: bool = False) -> Verdict:
    return Verdict(
        sealed=sealed,
        intact=False,
        valid=False,
        certified=False,
        modified_after_seal=sealed,
        summary=f"ALTERED: {reason}",
        problems=(reason,),
    )


def _certificate(value: x509.Certificate | bytes) -> Any:
    """Return an asn1crypto certificate (what pyHanko takes) from PEM, DER or pyca."""
    if isinstance(value, bytes):
        value = (
            x509.load_pem_x509_certificate(value)
            if b"-----BEGIN" in value
            else x509.load_der_x509_certificate(value)
        )
    der = value.public_bytes(serialization.Encoding.DER)
    return next(key_loading.load_certs_from_pemder_data(der))


def _subject(certificate: Any) -> str:
    name = certificate.subject.native
    common_name = name.get("common_name") if isinstance(name, dict) else None
    return str(common_name or certificate.subject.human_friendly)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _short(error: BaseException) -> str:
    return re.sub(r"\s+", " ", str(error) or type(error).__name__)[:160]
