"""The audit trail data and its page: validation, user agents, the QR code, the rendering."""

from __future__ import annotations

from datetime import UTC, datetime
from io import BytesIO

import pytest
import segno
from pypdf import PdfReader

from assess.signing import sha256_hex
from assess.signing.audit import AuditEntry, AuditTrail, qr_svg, render_html, short_user_agent

DIGEST = sha256_hex(b"frozen charter")
WHEN = datetime(2026, 3, 9, 16, 45, 3, tzinfo=UTC)


def trail(**overrides: object) -> AuditTrail:
    values: dict[str, object] = {
        "document_id": "PC-2026-NL01-0001",
        "version": 1,
        "project": "Northern Lights",
        "document_hash": DIGEST,
        "sealed_at": WHEN,
        "base_url": "https://assess.example.org/",
        "entries": (
            AuditEntry("Ann Lee", "ann@example.org", "approved", WHEN, DIGEST, role="Producer"),
        ),
    }
    values.update(overrides)
    return AuditTrail(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("agent", "short"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36",
            "Chrome 131 on Windows",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
            "Edge 131 on Windows",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "Firefox 128 on Linux",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Version/17.5 Safari/605.1.15",
            "Safari 17 on macOS",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.6778.81 Mobile Safari/537.36",
            "Chrome 131 on Android",
        ),
        ("curl/8.5.0", "curl 8"),
        ("", "not recorded"),
        ("x" * 100, "x" * 47 + "\u2026"),
    ],
)
def test_user_agents_are_shortened(agent: str, short: str) -> None:
    assert short_user_agent(agent) == short


def test_the_qr_code_encodes_the_verification_url() -> None:
    audit = trail()
    assert audit.verify_url == "https://assess.example.org/verify/PC-2026-NL01-0001"
    svg = str(qr_svg(audit.verify_url))
    assert svg.startswith("<svg") and "viewBox" in svg
    expected = segno.make(audit.verify_url, error="m", micro=False)
    modules = expected.svg_inline(scale=1, border=0, omitsize=True, dark="#1d2330")
    # The same modules, with the address as the code's text alternative.
    title = f"<title>QR code that opens {audit.verify_url}</title>"
    assert svg == modules.replace("<path", title + "<path", 1)


def test_the_page_shows_the_qr_code_inline_and_escapes_user_text() -> None:
    entry = AuditEntry(
        "<script>alert(1)</script>",
        "a@example.org",
        "approved",
        WHEN,
        DIGEST,
        user_agent='"><img src=x>',
    )
    html = render_html(trail(entries=(entry,)))
    assert "<svg" in html and "&lt;script&gt;" in html and "<script>" not in html
    assert "<img" not in html
    assert "url(" not in html and "http://" not in html  # nothing the page could fetch


def test_times_are_printed_in_utc() -> None:
    from datetime import timedelta, timezone

    paris = timezone(timedelta(hours=1))
    entry = AuditEntry("Ann Lee", "a@example.org", "approved", WHEN.astimezone(paris), DIGEST)
    assert entry.to_dict()["at"] == "2026-03-09T16:45:03+00:00"
    assert "2026-03-09 16:45:03 UTC" in render_html(trail(entries=(entry,)))


def test_bad_audit_data_is_refused() -> None:
    with pytest.raises(ValueError, match="action"):
        AuditEntry("A", "a@example.org", "signed", WHEN, DIGEST)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        AuditEntry("A", "a@example.org", "approved", WHEN.replace(tzinfo=None), DIGEST)
    with pytest.raises(ValueError, match="SHA-256"):
        AuditEntry("A", "a@example.org", "approved", WHEN, "abc")
    with pytest.raises(ValueError, match="previous_hash"):
        trail(previous_hash="ABC")


def test_a_long_trail_flows_onto_more_pages_with_the_running_header() -> None:
    from assess.signing.audit import render_pdf

    entries = tuple(
        AuditEntry(f"Signatory {i}", f"s{i}@example.org", "approved", WHEN, DIGEST, role="Crew")
        for i in range(24)
    )
    reader = PdfReader(BytesIO(render_pdf(trail(entries=entries))))
    assert len(reader.pages) >= 2
    last = reader.pages[-1].extract_text()
    assert "PC-2026-NL01-0001" in last and f"Audit page {len(reader.pages)} of" in last
    assert "Signatory 23" in last and "VERIFY THIS DOCUMENT" in last
