"""Trusted time for seals from an RFC 3161 time-stamping authority (TSA), when configured.

The seal's signing time is the service's own word. A timestamp token from an independent
authority, embedded in the seal (PAdES B-T), proves the sealed charter existed at that time
whatever the service's clock said. ``SEAL_TSA_URL`` names the authority; verifiers trust
the authority's certificates listed in ``SEAL_TSA_ROOT_FILE``.

The parties' approvals must not wait on a third party: when the authority cannot be
reached or refuses, sealing goes on without a timestamp and the sign-off history says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from pyhanko import keys as pyhanko_keys
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

from assess.signing import read_certificates

key_loading: Any = pyhanko_keys  # unannotated in pyHanko: handled as Any at this boundary

TIMEOUT_SECONDS = 10


class TimestampUnavailable(Exception):
    """The time-stamping authority gave no usable timestamp (unreachable, refused, garbled)."""


class AuthorityTimeStamper(RequestsHTTPTimeStamper):
    """pyHanko's HTTP time-stamp client, with every way it can fail as one exception."""

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> Any:
        try:
            return await super().async_timestamp(message_digest, md_algorithm)
        except Exception as error:  # network, HTTP status, malformed or refused reply
            reason = re.sub(r"\s+", " ", str(error) or type(error).__name__)[:200]
            raise TimestampUnavailable(
                f"the time-stamping authority {self.url} gave no timestamp ({reason})"
            ) from error


def timestamper_from_config(config: Mapping[str, Any]) -> AuthorityTimeStamper | None:
    """Return the client for ``SEAL_TSA_URL``, or None when seals carry no timestamp."""
    url = str(config.get("SEAL_TSA_URL") or "").strip()
    if not url:
        return None
    return AuthorityTimeStamper(url, timeout=TIMEOUT_SECONDS)  # type: ignore[no-untyped-call]


def authority_name(timestamper: AuthorityTimeStamper) -> str:
    """Return the authority's address for messages (without any credentials in it)."""
    return re.sub(r"//[^/@]*@", "//", str(timestamper.url))


def load_roots(path: str | Path) -> list[Any]:
    """Read the time-stamping authority certificates to trust from a PEM or DER file.

    Raises ``ValueError`` when the file holds no certificate.
    """
    data = read_certificates(path)
    try:
        roots = list(key_loading.load_certs_from_pemder_data(data))
    except Exception:  # asn1crypto raises several types, in its own terms, on non-certificates
        raise ValueError(f"{path}: not a PEM or DER certificate file") from None
    if not roots:
        raise ValueError(f"{path}: no certificate in the file")
    return roots


def token_of(signer_info: Any) -> Any | None:
    """Return the timestamp token in a CMS signer info's unsigned attributes, or None."""
    attributes = signer_info["unsigned_attrs"]
    for attribute in attributes if attributes.native is not None else ():
        if attribute["type"].native == "signature_time_stamp_token":
            for token in attribute["values"]:
                return token
    return None


def token_certificates(token: Any) -> list[Any]:
    """Return the certificates a timestamp token carries (the authority's, maybe its chain)."""
    return [c.chosen for c in token["content"]["certificates"] or ()]


def stamp_of(sealed_pdf: bytes) -> tuple[datetime, str] | None:
    """Return the time and the authority's name in a sealed PDF's timestamp, if it has one.

    Read from the token as the authority issued it, for the sign-off history; verification
    (``verify``) is what checks the token.
    """
    signatures = PdfFileReader(BytesIO(sealed_pdf), strict=False).embedded_signatures
    token = token_of(signatures[0].signer_info) if signatures else None
    if token is None:
        return None
    signed = token["content"]
    info = signed["encap_content_info"]["content"].parsed
    signer = signed["signer_infos"][0]["sid"].chosen
    authority = next(
        (
            c
            for c in token_certificates(token)
            if c.serial_number == signer["serial_number"].native and c.issuer == signer["issuer"]
        ),
        None,
    )
    name = authority.subject.native.get("common_name") if authority is not None else None
    when: datetime = info["gen_time"].native
    return when.astimezone(UTC), str(name or "an unnamed authority")
