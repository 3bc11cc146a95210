"""The charter's own user-agent stylesheet lays documents out exactly as WeasyPrint's does."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from charter.conftest import make_details
from pypdf import PdfReader
from weasyprint import HTML

from assess import charter
from assess.alignment import Respondent
from assess.charter import pdf as charter_pdf
from assess.charter import render
from assess.decision import Decision
from assess.engine import evaluate_respondents
from assess.factors import FACTOR_KEYS
from assess.signing import audit, sha256_hex
from assess.signing import pdf as audit_pdf


def outline(reader: PdfReader, items: list[Any] | None = None) -> list[Any]:
    """Return the bookmarks as nested (title, page number) lists."""
    entries: list[Any] = []
    for item in reader.outline if items is None else items:
        if isinstance(item, list):
            entries.append(outline(reader, item))
        else:
            entries.append((item.title, reader.get_destination_page_number(item)))
    return entries


def seen(document: Any, tmp_path: Path, name: str) -> tuple[list[bytes], list[Any]]:
    """Write the laid-out document; return every page rendered by pdftoppm, and the outline."""
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(document.write_pdf())
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(path), str(tmp_path / name)], check=True)
    pages = [page.read_bytes() for page in sorted(tmp_path.glob(f"{name}-*.png"))]
    return pages, outline(PdfReader(path))


def assert_same_pages(html: str, stylesheet: Any, tmp_path: Path) -> None:
    font_config, _ = charter_pdf._fonts_and_css()
    fetcher = charter_pdf.BundledAssetFetcher()
    rendered = {
        kind: cls(string=html, url_fetcher=fetcher, base_url=None).render(
            stylesheets=[stylesheet], font_config=font_config
        )
        for kind, cls in (("weasyprint", HTML), ("ours", charter_pdf.CharterHTML))
    }
    ours, our_outline = seen(rendered["ours"], tmp_path, "ours")
    theirs, their_outline = seen(rendered["weasyprint"], tmp_path, "weasyprint")
    assert len(ours) == len(theirs) > 0
    pairs = enumerate(zip(ours, theirs, strict=True), 1)
    differing = [number for number, (a, b) in pairs if a != b]
    assert not differing, f"pages laid out differently: {differing}"
    assert our_outline == their_outline


def apart() -> Decision:
    """Three partners far apart, with Greek, Chinese and Arabic names."""
    base = dict.fromkeys(FACTOR_KEYS, 3)
    return evaluate_respondents(
        [
            Respondent("Ελένη Παπαδοπούλου", "producer", base | {"creative_collaboration": 1}),
            Respondent("陈博", "creator", base | {"creative_collaboration": 5, "innovation": 5}),
            Respondent("ليلى حداد", "creator", base | {"timeline_pressure": 5}),
        ],
        {"creative_collaboration": 3},
        {"creative_collaboration": "Shared direction on the film, separate on the series."},
        what_if=True,
    )


@pytest.mark.parametrize("kind", ["standard", "hybrid", "apart"])
def test_charters_look_the_same_on_our_defaults(
    kind: str, decisions: dict[str, Decision], tmp_path: Path
) -> None:
    decision = apart() if kind == "apart" else decisions[kind]
    summary = "A documentary series.\nسلسلة وثائقية من ست حلقات." if kind == "apart" else ""
    html = charter.to_html(decision, make_details(project_summary=summary))
    _, stylesheet = charter_pdf._fonts_and_css()
    assert_same_pages(html, stylesheet, tmp_path)


def test_the_audit_page_looks_the_same_on_our_defaults(tmp_path: Path) -> None:
    when = datetime(2026, 3, 9, 16, 45, 3, tzinfo=UTC)
    digest = sha256_hex(b"charter")
    trail = audit.AuditTrail(
        document_id="PC-2026-NL01-0001",
        version=2,
        project="Northern Lights",
        document_hash=digest,
        sealed_at=when,
        base_url="https://assess.example.org/",
        previous_hash=digest,
        entries=tuple(
            audit.AuditEntry(name, f"{name[:3]}@example.org", "approved", when, digest, role=role)
            for name, role in (("Ann Lee", "Producer"), ("Bo Chen", "Director"))
        ),
    )
    html = audit.render_html(trail, signer="assess test seal")
    _, stylesheet = audit_pdf._fonts_and_css()
    assert_same_pages(html, stylesheet, tmp_path)


def test_the_print_stylesheet_parses_without_a_warning_and_previews_keep_the_phone_rules(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # WeasyPrint reads no media features: a rule for a phone's screen would be logged as
    # invalid by every worker that loads the print stylesheet.
    charter_pdf._fonts_and_css.cache_clear()
    with caplog.at_level("WARNING", logger="weasyprint"):
        charter_pdf._fonts_and_css()
    assert [r.getMessage() for r in caplog.records if r.name.startswith("weasyprint")] == []
    assert "@media screen and (max-width: 720px)" in render.stylesheet_text()
