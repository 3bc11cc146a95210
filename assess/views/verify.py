"""The public verification page: upload a charter PDF or paste its SHA-256.

Anyone holding a charter can check it here, without an account: whether it was signed in
this service, which version, who approved and when, whether the seal is valid, and,
clearly, when the file was altered. ``/verify/<document id>`` (the QR code on the audit
page) lists the versions of one charter.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import TYPE_CHECKING, Any

from flask import Blueprint, abort, current_app, render_template, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields
from werkzeug.exceptions import RequestEntityTooLarge

from assess import signoff
from assess.extensions import db, limiter, link_lookups, personal_link_limit
from assess.forms import load_form
from assess.models import CharterVersion

if TYPE_CHECKING:
    from cryptography import x509

    from assess.signing.verify import Verdict
from assess.signing import MAX_CHARTER_BYTES, is_sha256_hex, sha256_hex
from assess.signing.keys import SealKeyError, SealKeys, existing_certificate
from assess.views.signoff import tsa_roots

bp = Blueprint("verify", __name__, url_prefix="/verify")
log = logging.getLogger(__name__)

DOCUMENT_ID = re.compile(r"[A-Za-z0-9-]{6,40}")
LABELS = {
    "pdf": ("Charter PDF", "field-pdf"),
    "sha256": ("SHA-256 fingerprint", "field-sha256"),
}


# Tools and people label a fingerprint with its algorithm: "sha256:...", "SHA-256: ...".
ALGORITHM_LABEL = re.compile(r"^sha-?256[:=]")


# What checksum tools print for a file, its name included: "<hex>  charter.pdf" (sha256sum,
# shasum; "*" before the name in binary mode), "SHA256 (charter.pdf) = <hex>" (BSD sha256,
# shasum --tag), "SHA2-256(charter.pdf)= <hex>" (openssl dgst), and Windows certutil's
# three lines ("SHA256 hash of charter.pdf:", the hex, "CertUtil: ... successfully.").
HEX = "[0-9a-f]{64}"
TOOL_OUTPUT = re.compile(
    rf"(?P<gnu>{HEX}) [ *](?!\s*{HEX}\Z)[^\r\n]+"  # a name, not a second fingerprint
    rf"|sha2?-?256 ?\([^\r\n]+\) ?= ?(?P<bsd>{HEX})"
    rf"|sha256 hash of [^\r\n]+:\s*(?P<certutil>(?:[0-9a-f]{{2}} ?){{32}})\s*certutil:[^\r\n]*",
    re.IGNORECASE,
)


class Sha256(fields.String):
    """A SHA-256 in hex, pasted with or without spaces or its algorithm named, any case, or
    as a checksum tool prints it with the file's name."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = str(super()._deserialize(value, attr, data, **kwargs)).strip()
        printed = TOOL_OUTPUT.fullmatch(text)
        if printed:
            text = next(found for found in printed.groups() if found)
        text = "".join(text.split()).lower()
        text = ALGORITHM_LABEL.sub("", text)
        if not is_sha256_hex(text):
            raise ValidationError("Enter the 64 hexadecimal characters of a SHA-256.")
        return text


class HashSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    sha256 = Sha256(required=True, error_messages={"required": "Paste a SHA-256."})


def upload_limit() -> int:
    return int(current_app.config.get("VERIFY_MAX_BYTES", MAX_CHARTER_BYTES))


@bp.url_value_preprocessor
def allow_uploads(_endpoint: str | None, _values: dict[str, Any] | None) -> None:
    """Accept charter-sized uploads here only (the app's form limit is far smaller).

    Runs before the CSRF check reads the form, which would otherwise refuse the upload.
    The multipart parser buffers a PDF's long binary lines against the form memory limit.
    """
    limit = upload_limit()
    if request.content_length is not None and request.content_length > limit:
        # Refused before parsing: nothing of it is read or spooled to disk.
        raise RequestEntityTooLarge()
    request.max_content_length = limit
    request.max_form_memory_size = limit


def _verify_limit() -> str:
    return str(current_app.config["VERIFY_RATE_LIMIT"])


# A charter is checked in milliseconds, but an upload built to be slow takes up to the
# check's time limit. Bounding the checks that run at once in a process keeps its other
# threads serving pages whatever is uploaded.
CHECKS_AT_ONCE = 2
checking = threading.BoundedSemaphore(CHECKS_AT_ONCE)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error: RequestEntityTooLarge) -> tuple[str, int]:
    megabytes = upload_limit() // (1024 * 1024)
    errors = {"pdf": [f"The file is larger than {megabytes} MB; a charter is much smaller."]}
    return _page(errors=errors, status=413)


def _page(
    *,
    document_id: str | None = None,
    versions: list[CharterVersion] | None = None,
    result: dict[str, Any] | None = None,
    form: Any = None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    versions = versions or []
    page = render_template(
        "web/verify/verify.html",
        document_id=document_id,
        versions=versions,
        states={v.number: signoff.public_state(db.session, v) for v in versions},
        replaced=signoff.replaced_versions(versions),
        result=result,
        form=form or {},
        errors=errors or {},
        labels=LABELS,
        max_megabytes=upload_limit() // (1024 * 1024),
    )
    return page, status


def _document(document_id: str) -> list[CharterVersion]:
    if not DOCUMENT_ID.fullmatch(document_id):
        abort(404)
    versions = signoff.versions_of(db.session, document_id)
    if not versions:
        abort(404)
    return versions


def _known_document(document_id: str) -> list[CharterVersion] | None:
    return signoff.versions_of(db.session, document_id) or None


link_lookups[bp.name] = _known_document


@bp.get("")
def index() -> tuple[str, int]:
    """Show the upload and hash forms."""
    return _page()


@bp.get("/<document_id>")
# A charter's page names who approved it: ids are guessed no faster than personal links.
@personal_link_limit
def document(document_id: str) -> tuple[str, int]:
    """Show the versions of one charter, as the QR code on its audit page links to."""
    versions = _document(document_id)
    return _page(document_id=versions[0].document_id, versions=versions)


@bp.post("")
@limiter.limit(_verify_limit)
def check() -> tuple[str, int]:
    """Verify an uploaded PDF, or look up a pasted SHA-256."""
    upload = request.files.get("pdf")
    if upload is not None and upload.filename:
        return _check_file(upload.read())
    if request.form.get("sha256", "").strip():
        data, errors = load_form(HashSchema(), request.form)
        if errors:
            return _page(form=request.form, errors=errors, status=422)
        return _check_hash(data["sha256"])
    errors = {"pdf": ["Choose a charter PDF to upload, or paste its SHA-256 below."]}
    return _page(errors=errors, status=422)


def _check_hash(digest: str) -> tuple[str, int]:
    found = signoff.find_by_hash(db.session, digest)
    result: dict[str, Any] = {"kind": "hash", "sha256": digest, "found": None}
    if found is not None:
        version, matched = found
        result.update(found=version, matched=matched, sign_off=version.sign_off)
        result["state"] = signoff.public_state(db.session, version)
        result["superseded_by"] = signoff.superseded_by(db.session, version)
        result.update(_replaced(version))
    return _page(result=result, form={"sha256": digest})


def _replaced(version: CharterVersion) -> dict[str, Any]:
    """The version frozen to be signed instead of this unsigned one, and where it stands."""
    later = signoff.replaced_unsigned_by(db.session, version)
    state = signoff.public_state(db.session, later) if later is not None else None
    return {"replaced_by": later, "replaced_state": state}


def _check_file(data: bytes) -> tuple[str, int]:
    from assess.signing.verify import UnreadableInput, verify

    if not data:
        return _page(errors={"pdf": ["The file is empty. Choose the charter PDF."]}, status=422)
    try:
        certificate = trusted_certificate()
    except SealKeyError as error:
        log.error("cannot check uploaded charters: %s", error)
        message = (
            "Files cannot be checked right now: this service cannot read its seal "
            "certificate. Try again later; a SHA-256 can still be looked up below."
        )
        return _page(errors={"pdf": [message]}, status=503)
    # pyHanko logs its analysis of altered files with tracebacks; the verdict says it.
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
    if not checking.acquire(blocking=False):
        message = "Other files are being checked right now. Send this one again in a moment."
        return _page(errors={"pdf": [message]}, status=503)
    try:
        verdict = verify(data, certificate, tsa_roots())
    except UnreadableInput:
        errors = {"pdf": ["This file is not a PDF. Choose the charter PDF you received."]}
        return _page(errors=errors, status=422)
    finally:
        checking.release()
    digest = sha256_hex(data)
    verdict = _against_record(verdict, digest)
    found = signoff.find_by_hash(db.session, digest)
    if found is None and verdict.approved_hash:
        found = signoff.find_by_hash(db.session, verdict.approved_hash)
    result: dict[str, Any] = {
        "superseded_by": signoff.superseded_by(db.session, found[0]) if found else None,
        "kind": "file",
        "verdict": verdict,
        "sha256": digest,
        "found": found[0] if found else None,
        "matched": found[1] if found else None,
        "sign_off": found[0].sign_off if found else None,
        "state": signoff.public_state(db.session, found[0]) if found else None,
        **(_replaced(found[0]) if found else {}),
    }
    return _page(result=result)


def trusted_certificate() -> x509.Certificate | None:
    """Return the certificate this service seals with, or None before its first seal.

    Never makes a key: checking a file is no reason to create one. A configured
    certificate that cannot be read raises ``SealKeyError``.
    """
    keys: SealKeys | None = current_app.extensions.get("assess.seal_keys")
    if keys is not None:
        return keys.certificate
    return existing_certificate(current_app.config, current_app.instance_path)


def _against_record(verdict: Verdict, digest: str) -> Verdict:
    """Compare a file sealed by this service with the sealed file it keeps for that version.

    Offline, a seal proves the bytes it covers; this service also knows the whole file it
    sealed, so for a charter version it knows, any other bytes are not that file.
    """
    from assess.signing.verify import compared_with_record

    if not verdict.ok:  # already not vouched for: the first reason is the one to give
        return verdict
    version = None
    if verdict.document_id and verdict.version is not None:
        version = next(
            (v for v in _known_versions(verdict.document_id) if v.number == verdict.version),
            None,
        )
    if version is None and verdict.approved_hash:
        found = signoff.find_by_hash(db.session, verdict.approved_hash)
        version = found[0] if found and found[1] == "frozen" else None
    if version is None:
        return verdict
    sealed_sha256 = version.sign_off.sealed_sha256 if version.sign_off else None
    return compared_with_record(verdict, digest, sealed_sha256)


def _known_versions(document_id: str) -> list[CharterVersion]:
    return (
        signoff.versions_of(db.session, document_id) if DOCUMENT_ID.fullmatch(document_id) else []
    )
