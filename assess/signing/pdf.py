"""Write the audit page as PDF with WeasyPrint, with the charter's fonts and fetcher."""

from __future__ import annotations

from functools import cache
from typing import Any

from assess.charter import pdf as charter_pdf
from assess.charter.weasy import CSS, FontConfiguration
from assess.signing.audit import TEMPLATES


@cache
def _fonts_and_css() -> tuple[FontConfiguration, CSS]:
    """Parse the audit stylesheet and load its fonts once per process."""
    charter_pdf.check_fonts()
    font_config = FontConfiguration()
    stylesheet = CSS(
        string=(TEMPLATES / "audit.css").read_text(encoding="utf-8"),
        font_config=font_config,
        url_fetcher=_fetcher(),
    )
    return font_config, stylesheet


@cache
def _fetcher() -> charter_pdf.BundledAssetFetcher:
    """Serve the charter's bundled fonts; refuse files, http(s), data: and everything else."""
    return charter_pdf.BundledAssetFetcher()


def render_document(html: str) -> Any:
    """Lay out the audit HTML into pages (a WeasyPrint Document)."""
    # The charter's lock: WeasyPrint shares Pango and font state between documents.
    with charter_pdf.render_lock:
        font_config, stylesheet = _fonts_and_css()
        document = charter_pdf.CharterHTML(string=html, url_fetcher=_fetcher(), base_url=None)
        return document.render(stylesheets=[stylesheet], font_config=font_config)


def write_pdf(html: str, *, document_id: str) -> bytes:
    """Lay out the audit HTML and write it as tagged PDF/A-3b bytes."""
    with charter_pdf.render_lock:
        document = render_document(html)
        return charter_pdf.write_archival(document, pdf_identifier=f"{document_id}-audit".encode())
