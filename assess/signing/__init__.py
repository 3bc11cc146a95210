"""Sign-off: the audit trail page, the service seal (PAdES, pyHanko) and its verification.

Runs without Flask. The web layer records approvals, then seals once all signatories
approved, and verifies uploaded files; ``assess verify`` does the same offline:

- ``assess.signing.keys``: ``from_config(config, instance_folder) -> SealKeys``
- ``assess.signing.audit``: ``AuditTrail``, ``AuditEntry``, ``render_pdf(audit)``
- ``assess.signing.seal``: ``seal(charter_pdf, audit, keys) -> bytes``
- ``assess.signing.verify``: ``verify(pdf_bytes, trusted_cert=None) -> Verdict``

The package itself imports nothing heavy: pyHanko takes about a second to import, and
the command line should pay for it only when it seals or verifies.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import Path

from cryptography.utils import CryptographyDeprecationWarning

# cryptography 51 deprecates DSA and warns whenever pyHanko, which still accepts DSA keys,
# names them. The service seals with RSA only; the warning would reach every user of
# `assess verify` and every server log without telling them anything they can act on.
warnings.filterwarnings(
    "ignore", "DSA is deprecated", CryptographyDeprecationWarning, module="pyhanko"
)

SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# The largest file verified, on the verify page and by ``assess verify``: a sealed charter is
# well under a megabyte, and anything far larger is not one.
# The charter's document information entry holding the SHA-256 of its assessment.json.
ASSESSMENT_INFO = "AssessmentSHA256"
MAX_CHARTER_BYTES = 20 * 1024 * 1024
# The largest certificate file read (a seal certificate, a bundle of time-stamping roots):
# a bundle of every public root is well under a megabyte.
MAX_CERTIFICATES_BYTES = 10 * 1024 * 1024


class SealingFailed(Exception):
    """A charter could not be sealed: its key, certificate or PDF stood in the way.

    Defined here, without pyHanko, so that callers can catch it without importing it.
    """


def read_certificates(path: str | Path) -> bytes:
    """Return a certificate file's bytes; raise ``ValueError`` when it is far larger than
    any, read no further than the limit (a device or a huge file given by mistake)."""
    with open(path, "rb") as file:
        data = file.read(MAX_CERTIFICATES_BYTES + 1)
    if len(data) > MAX_CERTIFICATES_BYTES:
        megabytes = MAX_CERTIFICATES_BYTES // (1024 * 1024)
        raise ValueError(f"{path}: larger than {megabytes} MB; not a certificate file")
    return data


def sha256_hex(data: bytes) -> str:
    """Return the SHA-256 of ``data`` as 64 lowercase hex digits."""
    return hashlib.sha256(data).hexdigest()


def is_sha256_hex(value: str) -> bool:
    """Say whether ``value`` is a SHA-256 as ``sha256_hex`` writes it."""
    return SHA256_HEX.fullmatch(value) is not None
