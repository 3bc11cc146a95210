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


class SealingFailed(Exception):
    """A charter could not be sealed: its key, certificate or PDF stood in the way.

    Defined here, without pyHanko, so that callers can catch it without importing it.
    """


def sha256_hex(data: bytes) -> str:
    """Return the SHA-256 of ``data`` as 64 lowercase hex digits."""
    return hashlib.sha256(data).hexdigest()
