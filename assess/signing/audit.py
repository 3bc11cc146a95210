"""The audit trail: who approved which bytes, when and from where, printed as the last page.

Input is plain data (``AuditTrail``), never database rows: the web layer copies what it
recorded into these dataclasses. The page is rendered with WeasyPrint in the charter's
look, from an autoescaped template in templates/signing/, fetching nothing but the
charter's bundled fonts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

import segno
from jinja2 import Environment
from markupsafe import Markup

from assess.charter.render import document_environment
from assess.signing import is_sha256_hex, sha256_hex

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "signing"
__all__ = ["ACTIONS", "AuditEntry", "AuditTrail", "render_html", "render_pdf", "sha256_hex"]

ISSUER = "assess"
Action = Literal["approved", "declined"]
ACTIONS: tuple[str, ...] = ("approved", "declined")
USER_AGENT_CHARS = 48


@dataclass(frozen=True)
class AuditEntry:
    """One signatory's action on one frozen version."""

    name: str
    email: str
    action: Action
    at: datetime
    document_hash: str
    role: str = ""
    ip: str = ""
    user_agent: str = ""
    reason: str = ""

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"audit action must be one of {ACTIONS}, not {self.action!r}")
        if self.at.tzinfo is None:
            raise ValueError("audit times must be timezone-aware (UTC)")
        if not is_sha256_hex(self.document_hash):
            raise ValueError("document_hash must be a SHA-256 in hex")

    @property
    def at_utc(self) -> datetime:
        return self.at.astimezone(UTC)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "email": self.email,
            "role": self.role,
            "action": self.action,
            "at": self.at_utc.isoformat(),
            "ip": self.ip,
            "user_agent": self.user_agent,
            "document_hash": self.document_hash,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class AuditTrail:
    """Everything the audit page states about one frozen charter version and its sign-off.

    ``document_hash`` is the SHA-256 of the frozen charter PDF the signatories saw;
    ``previous_hash`` is that of the signed version an amendment replaces (the hash chain).
    ``base_url`` is the service's public address: the QR code points at
    ``<base_url>/verify/<document_id>``.
    """

    document_id: str
    version: int
    project: str
    document_hash: str
    sealed_at: datetime
    base_url: str
    entries: tuple[AuditEntry, ...] = ()
    previous_hash: str | None = None
    previous_version: int | None = None
    issuer: str = ISSUER
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not is_sha256_hex(self.document_hash):
            raise ValueError("document_hash must be a SHA-256 in hex")
        if self.previous_hash is not None and not is_sha256_hex(self.previous_hash):
            raise ValueError("previous_hash must be a SHA-256 in hex")
        if self.sealed_at.tzinfo is None:
            raise ValueError("sealed_at must be timezone-aware (UTC)")

    @property
    def verify_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/verify/{self.document_id}"

    @property
    def approvals(self) -> tuple[AuditEntry, ...]:
        return tuple(e for e in self.entries if e.action == "approved")

    def to_dict(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id,
            "version": self.version,
            "project": self.project,
            "document_hash": self.document_hash,
            "previous_hash": self.previous_hash,
            "previous_version": self.previous_version,
            "sealed_at": self.sealed_at.astimezone(UTC).isoformat(),
            "verify_url": self.verify_url,
            "issuer": self.issuer,
            "entries": [e.to_dict() for e in self.entries],
        }


_BROWSERS = (
    ("Edge", r"Edg(?:e|A|iOS)?/(\d+)"),
    ("Opera", r"OPR/(\d+)"),
    ("Firefox", r"(?:Firefox|FxiOS)/(\d+)"),
    ("Chrome", r"(?:Chrome|CriOS)/(\d+)"),
    ("Safari", r"Version/(\d+)(?:\.\d+)*(?: Mobile/\S+)? Safari/"),
    ("curl", r"curl/(\d+)"),
)
_SYSTEMS = (
    ("iOS", r"iPhone|iPad|iPod"),
    ("Android", r"Android"),
    ("Windows", r"Windows"),
    ("macOS", r"Macintosh|Mac OS X"),
    ("ChromeOS", r"CrOS"),
    ("Linux", r"Linux|X11"),
)


def short_user_agent(user_agent: str) -> str:
    """Shorten a user agent to 'Browser version on System', or a clipped raw string."""
    text = " ".join(user_agent.split())
    browser = next(
        (f"{name} {m.group(1)}" for name, pattern in _BROWSERS if (m := re.search(pattern, text))),
        "",
    )
    system = next((name for name, pattern in _SYSTEMS if re.search(pattern, text)), "")
    if browser:
        return f"{browser} on {system}" if system else browser
    if len(text) > USER_AGENT_CHARS:
        return text[: USER_AGENT_CHARS - 1].rstrip() + "\u2026"
    return text or "not recorded"


def qr_svg(url: str) -> Markup:
    """Return the QR code for ``url`` as inline SVG: vector, nothing to fetch; its title is
    the text alternative a screen reader reads out."""
    code = segno.make(url, error="m", micro=False)
    svg: str = code.svg_inline(
        scale=1, border=0, omitsize=True, dark="#1d2330", title=f"QR code that opens {url}"
    )
    return Markup(svg)  # segno's own markup; the URL inside is encoded as modules, not text


@cache
def environment() -> Environment:
    """Return the audit page's Jinja environment."""
    env = document_environment(TEMPLATES)
    env.filters["short_user_agent"] = short_user_agent
    env.filters["utc"] = lambda moment: moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    env.filters["chunked"] = lambda digest: " ".join(
        digest[i : i + 16] for i in range(0, len(digest), 16)
    )
    return env


def render_html(audit: AuditTrail, *, signer: str = "") -> str:
    """Render the audit trail as HTML (the PDF is made from it)."""
    return (
        environment()
        .get_template("audit.html")
        .render(audit=audit, signer=signer or audit.issuer, qr=qr_svg(audit.verify_url))
    )


def render_pdf(audit: AuditTrail, *, signer: str = "") -> bytes:
    """Render the audit trail page(s) as a PDF/A-3b document of their own."""
    from assess.signing.pdf import write_pdf  # WeasyPrint loads Pango: import on first use

    return write_pdf(render_html(audit, signer=signer), document_id=audit.document_id)
