"""Security headers on every response: pages, JSON, files and errors alike."""

from __future__ import annotations

from flask import Flask, Response, request

# Every page loads only its own scripts, styles and images: no inline code, no third parties.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# A JSON answer or a file is never a document that runs anything. PDFs are not sandboxed:
# browsers' PDF viewers refuse to open sandboxed documents.
DATA_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"
# A document our own pages show inline (the charter a signatory reads on the sign page).
FRAMED_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'self'"
DOCUMENT_TYPES = frozenset(
    ("text/html", "image/svg+xml", "text/css", "application/javascript", "text/javascript")
)
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
)

HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Invitation links carry their token in the path; never pass it on as a referrer.
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    # Personal links get pasted where crawlers read them: neither their pages nor the
    # charters and files behind them belong in a search index.
    "X-Robots-Tag": "noindex, nofollow",
}
# Only sent over HTTPS, where browsers honour it.
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


def frame_on_own_pages(response: Response) -> Response:
    """Let this response be shown in a frame of the product's own pages, and nowhere else."""
    response.headers["Content-Security-Policy"] = FRAMED_CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


def secure(response: Response) -> Response:
    """Add the security headers to a response."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    # A view that sets its own policy or framing has chosen it deliberately (see
    # frame_on_own_pages); every other gets ours.
    if response.mimetype in DOCUMENT_TYPES:
        policy = CONTENT_SECURITY_POLICY
    elif response.mimetype == "application/pdf":
        policy = DATA_CONTENT_SECURITY_POLICY
    else:
        policy = DATA_CONTENT_SECURITY_POLICY + "; sandbox"
    response.headers.setdefault("Content-Security-Policy", policy)
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
    if response.mimetype == "text/html" or request.path.startswith("/api/v1/engagements"):
        # Pages and consultants' data may hold personal details: never keep them in caches.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def register_security(app: Flask) -> None:
    """Install the security headers as the last step of every response."""
    app.after_request(secure)
