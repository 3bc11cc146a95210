"""Verify a sealed charter: the seal (pyHanko), changes after it, the approved bytes, the data.

The verdict rests on pyHanko's overall judgement (``bottom_line``), not on the digest alone:
a file can be intact up to its signature and still carry an update appended after it. The
digest covers everything but the signature value, so what sits there is checked too: the
signature itself and zero padding, nothing else, and nothing after the sealed file.
Besides the signature, the checks use what the seal states in ``seal.json``: the approved
charter is the first ``approved.length`` bytes of the file with SHA-256 ``approved.sha256``,
and its ``assessment.json`` has the SHA-256 the charter prints.

Who sealed is a separate question from whether the file is as sealed: the seal is checked
against its own certificate, and that certificate against the trusted one given. Without
a trusted certificate, a seal made with anyone's key is intact but unverified, never ``ok``.
"""

from __future__ import annotations

import importlib
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC
from enum import StrEnum
from io import BytesIO
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko import keys as pyhanko_keys
from pyhanko.pdf_utils.decode_limits import DecodeLimits, DocumentDecodeBudget, StreamDecodeLimits
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from assess.signing import ASSESSMENT_INFO, sha256_hex
from assess.signing.seal import ASSESSMENT_FILE, SEAL_FIELD, SEAL_FILE, embedded_file
from assess.signing.timestamps import token_certificates, token_of
from assess.text import join_names

key_loading: Any = pyhanko_keys  # unannotated in pyHanko: handled as Any at this boundary
asn1_parser: Any = importlib.import_module("asn1crypto.parser")  # ships without annotations

TIMESTAMP_BROKEN = "the timestamp does not match the seal it claims to date"
UNCHECKED_AUTHORITY = "that authority was not checked against a trusted root"
HEADER_WINDOW = 1024  # PDF readers accept the %PDF- header anywhere in the first KiB
# A sealed charter is checked in well under a second. A file can be built to keep the
# parser busy for minutes (one object of millions of entries); it gets its answer here.
CHECK_SECONDS = 10
# What a check unpacks (seal.json, assessment.json, the file's cross-reference and object
# streams) comes to kilobytes in a sealed charter. pyHanko's limits for untrusted files
# let each stream unpack to 256 MiB, several times per check: that much memory for each
# upload would let a few small files exhaust the server's.
MiB = 1024 * 1024
DECODE_LIMITS = DecodeLimits(
    per_stream=StreamDecodeLimits(max_output_size=16 * MiB),
    document_budget=DocumentDecodeBudget(base_allowance=32 * MiB, max_ratio=2),
)


class UnreadableInput(ValueError):
    """The input is not a PDF at all (as opposed to a damaged or altered one)."""


class _OutOfTime(BaseException):
    """The check ran past ``CHECK_SECONDS``.

    Not an ``Exception``: the parsers catch those to work around damage in a file, and
    running out of time is nothing to work around.
    """


class _TimedInput(BytesIO):
    """The file as the parsers read it, refusing to be read past the deadline."""

    def __init__(self, data: bytes, deadline: float) -> None:
        super().__init__(data)
        self._deadline = deadline

    def read(self, size: int | None = -1, /) -> bytes:
        if time.monotonic() > self._deadline:
            raise _OutOfTime
        return super().read(size)


class Outcome(StrEnum):
    """The one-word answer: what a caller does with the file depends on it alone."""

    INTACT = "intact"  # as sealed, by the trusted certificate
    UNVERIFIED = "unverified"  # as sealed, but no trusted certificate to say by whom
    FOREIGN = "foreign"  # as sealed, by another certificate than the trusted one
    UNTRUSTED_TIME = "untrusted-time"  # its timestamp is by an authority not trusted
    ALTERED = "altered"  # changed after the seal, or damaged
    INVALID = "invalid"  # the seal does not validate
    NOT_SEALED = "not-sealed"  # no seal, or a signature that allows later changes
    UNCHECKED = "unchecked"  # encrypted, or too long to check: not a file the service sealed


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
    trust_checked: bool = False
    timestamp_checked: bool = False
    changes: tuple[str, ...] = ()
    outcome: Outcome = Outcome.NOT_SEALED

    @property
    def ok(self) -> bool:
        """Return whether this is a charter sealed by the trusted certificate, unchanged since."""
        return self.outcome == Outcome.INTACT

    @property
    def as_sealed(self) -> bool:
        """Return whether the file is exactly as it was sealed, whoever sealed it."""
        return self.outcome in (Outcome.INTACT, Outcome.UNVERIFIED, Outcome.FOREIGN)

    @property
    def timestamp_untrusted(self) -> bool:
        """Return whether the seal's timestamp is by an authority outside the trusted ones."""
        return (
            self.timestamp_checked and self.timestamp_by is not None and not self.timestamp_trusted
        )

    @property
    def timestamp_broken(self) -> bool:
        """Return whether the seal's timestamp fails to match the seal it claims to date."""
        return TIMESTAMP_BROKEN in self.problems

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
    Without it the seal is still checked for integrity and changes, but the outcome is at
    best ``UNVERIFIED``: a key anyone can make would pass otherwise. ``tsa_roots``
    (certificates, see ``timestamps.load_roots``) are the time-stamping authorities to
    trust; without them a timestamp is checked against its own certificates.
    """
    pinned = _certificate(trusted_cert) if trusted_cert is not None else None
    if b"%PDF-" not in pdf_bytes[:HEADER_WINDOW]:
        raise UnreadableInput("not a PDF file (no %PDF- header)")
    deadline = time.monotonic() + CHECK_SECONDS
    try:
        return _verify(pdf_bytes, pinned, tsa_roots, deadline)
    except _OutOfTime:
        return _unchecked(
            f"checking the file took over {CHECK_SECONDS} seconds, "
            "which no charter sealed by this service takes"
        )


def _verify(
    pdf_bytes: bytes, pinned: Any, tsa_roots: Sequence[Any] | None, deadline: float
) -> Verdict:
    # The file is untrusted input (an upload on a public page): whatever the parsers
    # raise on it means a damaged file, reported as a verdict rather than a crash.
    try:
        reader = _reader(_TimedInput(pdf_bytes, deadline))
        if reader.encrypted:
            return _unchecked(
                "the file is encrypted (password-protected), "
                "which no charter sealed by this service is"
            )
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
        # The seal is checked against its own certificate, and that certificate against
        # the trusted one: a seal by another key then reads as intact but foreign, not
        # as broken, and integrity never depends on which certificate was given.
        own = embedded.signer_cert
        trusted = pinned is not None and pinned.sha256 == own.sha256
        token = token_of(embedded.signer_info)
        stamp_roots = list(tsa_roots or ()) or (token_certificates(token) if token else [])
        status = validate_pdf_signature(
            embedded,
            signer_validation_context=ValidationContext(trust_roots=[own]),
            ts_validation_context=ValidationContext(trust_roots=stamp_roots),
            # A seal allows no change: any update after it is an alteration, whatever it
            # changed. Analysing what each update changed takes minutes on a file of
            # thousands of them, and would tell nothing more.
            skip_diff=_updated_after(embedded, reader),
        )
        signed_end = int(embedded.byte_range[2]) + int(embedded.byte_range[3])
        changes = _changes_after_seal(pdf_bytes, reader, embedded, status, len(signatures))
    except Exception as error:
        return _damaged(f"the seal cannot be checked ({_short(error)})", sealed=True)

    certified = embedded.docmdp_level == MDPPerm.NO_CHANGES
    statement, problems = _statement(_TimedInput(pdf_bytes[:signed_end], deadline))
    stamp = status.timestamp_validity
    if stamp is not None and not (stamp.intact and stamp.valid):
        problems.append(TIMESTAMP_BROKEN)
    facts = _facts(statement) if statement is not None else {}
    approved_ok, assessment_ok = None, None
    if statement is not None and status.intact:
        try:
            approved_ok, assessment_ok, more = _check_statement(
                pdf_bytes, signed_end, statement, deadline
            )
        except Exception as error:  # the approved part is unreadable: same untrusted input
            approved_ok, more = False, [f"the approved charter cannot be read ({_short(error)})"]
        problems += more
        if statement.get("certificate_sha256") != own.sha256.hex():
            problems.append("seal.json names another certificate than the one that sealed it")
    # Seals made before seal.json said so state nothing either way.
    stated_stamp = statement.get("time_stamped") if statement is not None else None
    if stated_stamp is False and token is not None:
        changes.append(
            "a timestamp was put into the seal after sealing "
            "(the seal states it was made without one)"
        )
    elif stated_stamp is True and token is None:
        changes.append("the seal's timestamp was taken out after sealing")
    # pyHanko's bottom line, except the authority's trust: an untrusted timestamp is
    # its own outcome, and the seal beside it may well be sound.
    valid = bool(
        status.intact
        and status.valid
        and status.trusted
        and status.seed_value_ok
        and (status.docmdp_ok or status.modification_level is None)
        and (stamp is None or (stamp.intact and stamp.valid))
    )
    verdict = Verdict(
        sealed=True,
        intact=bool(status.intact),
        valid=valid,
        certified=certified,
        modified_after_seal=bool(changes),
        summary="",
        trusted=trusted,
        trust_checked=pinned is not None,
        changes=tuple(changes),
        approved_version_ok=approved_ok,
        assessment_ok=assessment_ok,
        problems=tuple(problems),
        sealed_by=_subject(own),
        timestamped_at=stamp.timestamp.astimezone(UTC).isoformat() if stamp else None,
        timestamp_by=_subject(stamp.signing_cert) if stamp else None,
        timestamp_trusted=bool(stamp and stamp.trusted and tsa_roots),
        timestamp_checked=bool(tsa_roots),
        **facts,
    )
    return _with_summary(verdict)


def compared_with_record(verdict: Verdict, file_sha256: str, sealed_sha256: str | None) -> Verdict:
    """Return the verdict on a file this service knows, against the sealed file it keeps.

    Offline, bytes the seal does not cover are checked for what they may hold; the service
    knows more: the SHA-256 of the file it sealed (``None`` when it sealed none for that
    version). Any other file is not the one sealed, however well its seal checks out.
    """
    if sealed_sha256 == file_sha256:
        return verdict
    change = (
        "its bytes differ from the file this service sealed (another SHA-256)"
        if sealed_sha256
        else "this service sealed no file for that version"
    )
    return _with_summary(
        replace(verdict, modified_after_seal=True, changes=(*verdict.changes, change))
    )


def _changes_after_seal(
    pdf_bytes: bytes, reader: PdfFileReader, embedded: Any, status: Any, signatures: int
) -> list[str]:
    """Say what the file holds besides the sealed bytes and the signature value, if anything.

    The digest covers the whole file except the signature value (the hex string of
    /Contents): room reserved for the signature, the rest zeros. Without these checks,
    that room and anything after the sealed revision could carry changed content while
    the digest still matches.
    """
    changes: list[str] = []
    if signatures > 1:
        changes.append("another signature was added after the seal")
    if _updated_after(embedded, reader):
        changes.append("an update was added after the seal (content added or changed)")
    elif status.docmdp_ok is False:
        changes.append("content was added or changed after the seal")
    byte_range = [int(n) for n in embedded.byte_range]
    if len(byte_range) != 4 or byte_range[0] != 0 or min(byte_range) < 0:
        return [*changes, "the seal's byte range is not the standard one"]
    _, first_end, second, length = byte_range
    end = second + length
    if end > len(pdf_bytes):
        changes.append("the seal's byte range reaches past the end of the file")
    elif end < len(pdf_bytes) and not changes:
        changes.append(f"{_bytes(len(pdf_bytes) - end)} appended after the sealed file")
    gap = pdf_bytes[first_end:second]
    if not re.fullmatch(rb"<(?:[0-9A-Fa-f]{2})*>", gap):
        return [*changes, "the seal's byte range leaves out more than its signature value"]
    value = bytes.fromhex(gap[1:-1].decode("ascii"))
    if value != bytes(embedded.pkcs7_content):
        return [*changes, "the seal's byte range leaves out something else than its signature"]
    used = _der_length(value)
    if used is None:
        changes.append("the signature value is not a signature")
    elif value[used:].strip(b"\0"):
        extra = len(value) - used - value[used:].count(0)
        changes.append(f"the room reserved for the signature holds {_bytes(extra)} of other data")
    changes += _unsigned_additions(embedded)
    if not changes and status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        changes.append("the seal does not cover the whole file")
    return changes


def _updated_after(embedded: Any, reader: PdfFileReader) -> bool:
    """Say whether the file has updates after the signed revision."""
    return int(embedded.signed_revision) < int(reader.xrefs.total_revisions) - 1


def _der_length(value: bytes) -> int | None:
    """Return how many bytes the DER-encoded object at the start of ``value`` takes."""
    try:
        _, _, _, header, contents, trailer = asn1_parser.parse(value)
    except ValueError:
        return None
    return len(header) + len(contents) + len(trailer)


def _unsigned_additions(embedded: Any) -> list[str]:
    """List what the signature carries beyond what a seal writes into it.

    Certificates and unsigned attributes of a CMS signature are not covered by it; the
    seal writes its own certificate and, with a timestamp, one token: anything else was
    put there later.
    """
    own = embedded.signer_cert.sha256
    signed_data = embedded.signed_data
    found: list[str] = []
    certificates = signed_data["certificates"]
    if any(c.name != "certificate" or c.chosen.sha256 != own for c in certificates or ()):
        found.append("the signature carries certificates other than the seal's")
    if signed_data["crls"].native:
        found.append("the signature carries revocation lists the seal did not write")
    attributes = embedded.signer_info["unsigned_attrs"]
    kinds = [a["type"].native for a in attributes] if attributes.native else []
    if kinds not in ([], ["signature_time_stamp_token"]) or (
        kinds and len(attributes[0]["values"]) != 1
    ):
        found.append("the signature carries unsigned data beyond its timestamp")
    return found


def sealing_certificate(pdf_bytes: bytes) -> str | None:
    """Return the SHA-256 fingerprint (hex) of the certificate that sealed a PDF, or None
    when it carries no readable seal."""
    try:
        signatures = PdfFileReader(BytesIO(pdf_bytes), strict=False).embedded_signatures
        ours = [s for s in signatures if s.field_name == SEAL_FIELD]
        return ours[0].signer_cert.sha256.hex() if ours else None
    except Exception:  # a damaged file has no certificate to name
        return None


def _reader(stream: BytesIO) -> PdfFileReader:
    return PdfFileReader(stream, strict=False, decode_limits=DECODE_LIMITS)


def _statement(signed_revision: BytesIO) -> tuple[dict[str, Any] | None, list[str]]:
    """Read ``seal.json`` as the seal saw it (the signed revision, not later updates)."""
    try:
        data = embedded_file(_reader(signed_revision), SEAL_FILE)
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
    pdf_bytes: bytes, signed_end: int, statement: dict[str, Any], deadline: float
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
    charter = _reader(_TimedInput(pdf_bytes[:length], deadline))
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

    The charter prints the hash in its text and records it as ``/AssessmentSHA256``;
    reading the page text back would take seconds, so the record is what is checked here.
    A charter made before the record was written has none.
    """
    try:
        info = charter.trailer["/Info"]
        value = info.get(f"/{ASSESSMENT_INFO}") if info is not None else None
    except (KeyError, PdfError):
        return None
    return str(value).lower() if value is not None else None


def _with_summary(verdict: Verdict) -> Verdict:
    """Name the outcome and write the one-line verdict; the first thing wrong decides."""
    what = _describe(verdict)
    outcome = Outcome.ALTERED
    if not verdict.intact:
        line = f"ALTERED: {what} was changed after sealing; the seal no longer matches its bytes"
    elif verdict.modified_after_seal:
        line = f"ALTERED: {what} was modified after the seal: {verdict.changes[0]}"
    elif not verdict.valid:
        outcome = Outcome.INVALID
        line = f"INVALID SEAL: {what} has a seal that does not validate"
        if verdict.timestamp_broken:
            line = f"INVALID SEAL: {what}: {TIMESTAMP_BROKEN}"
    elif not verdict.certified:
        outcome = Outcome.NOT_SEALED
        line = f"NOT SEALED: {what} is signed, but not with a seal that allows no changes"
    elif verdict.problems:
        line = f"ALTERED: {what}: {verdict.problems[0]}"
    elif verdict.trust_checked and not verdict.trusted:
        outcome = Outcome.FOREIGN
        line = (
            f"NOT TRUSTED: {what} is sealed by {verdict.sealed_by!r}, "
            "not by this service's certificate"
        )
    elif verdict.timestamp_untrusted:
        outcome = Outcome.UNTRUSTED_TIME
        line = (
            f"NOT TRUSTED: {what} carries a timestamp by {verdict.timestamp_by!r}, "
            "not by a trusted time-stamping authority"
        )
    elif not verdict.trust_checked:
        outcome = Outcome.UNVERIFIED
        line = (
            f"UNVERIFIED: {what} is intact, but who sealed it is unknown: the seal by "
            f"{verdict.sealed_by!r} was not checked against a trusted certificate"
        )
    else:
        outcome = Outcome.INTACT
        line = _intact(verdict, what)
    return replace(verdict, summary=line, outcome=outcome)


def _intact(verdict: Verdict, what: str) -> str:
    """The verdict on an intact charter: who sealed it, who approved it, and when it was
    time-stamped by whom, if it was."""
    approvers = join_names(verdict.approvers) or "nobody"
    line = f"Intact and sealed by {verdict.sealed_by}: {what}, approved by {approvers}"
    if not verdict.timestamped_at:
        return line
    when = f"{verdict.timestamped_at[:16].replace('T', ' ')} UTC"
    if verdict.timestamp_checked:
        return f"{line}; time-stamped {when} by {verdict.timestamp_by}"
    # Anyone can name an authority; only a trusted root confirms the time.
    return f"{line}; time-stamped {when} by {verdict.timestamp_by!r}, but {UNCHECKED_AUTHORITY}"


def _describe(verdict: Verdict) -> str:
    if verdict.document_id is None:
        return "the document"
    if verdict.version is None:
        return f"charter {verdict.document_id}"
    return f"charter {verdict.document_id} version {verdict.version}"


def _damaged(reason: str, *, sealed: bool = False) -> Verdict:
    return _refused(reason, f"ALTERED: {reason}", Outcome.ALTERED, sealed=sealed)


def _unchecked(reason: str) -> Verdict:
    """The verdict on a file unlike any sealed charter in a way that keeps it from a check."""
    summary = f"NOT CHECKED: {reason}: it is not the file that was sealed"
    return _refused(reason, summary, Outcome.UNCHECKED)


def _refused(reason: str, summary: str, outcome: Outcome, *, sealed: bool = False) -> Verdict:
    return Verdict(
        sealed=sealed,
        intact=False,
        valid=False,
        certified=False,
        modified_after_seal=sealed,
        summary=summary,
        problems=(reason,),
        outcome=outcome,
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


def _bytes(count: int) -> str:
    return f"{count} byte" if count == 1 else f"{count} bytes"


def _short(error: BaseException) -> str:
    return re.sub(r"\s+", " ", str(error) or type(error).__name__)[:160]
