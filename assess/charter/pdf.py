"""Write the charter as PDF/A-3b with WeasyPrint, fetching nothing but bundled assets."""

from __future__ import annotations

import hashlib
import io
import mimetypes
import re
import threading
from collections import OrderedDict
from datetime import datetime
from functools import cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import pydyf

from assess.charter.errors import CharterError
from assess.charter.fonts import FONTS
from assess.charter.render import TEMPLATES
from assess.charter.weasy import (
    CSS,
    HTML,
    Attachment,
    ColorProfile,
    FontConfiguration,
    URLFetcher,
    URLFetcherResponse,
    pango_version,
)
from assess.signing import ASSESSMENT_INFO

ASSET_SCHEME = "charter-asset"


class BundledAssetFetcher(URLFetcher):  # type: ignore[misc]
    """Serve the charter's own assets; refuse files, http(s), data: and everything else."""

    def __init__(self, assets: dict[str, Path] | None = None) -> None:
        super().__init__(timeout=1, allowed_protocols=(ASSET_SCHEME,), allow_redirects=False)
        self.assets = assets if assets is not None else asset_paths()
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        prefix = f"{ASSET_SCHEME}:"
        path = self.assets.get(url[len(prefix) :]) if url.startswith(prefix) else None
        if path is None:
            self.refused.append(url[:200])
            raise ValueError(f"the charter loads bundled assets only, refused {url[:200]!r}")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": mime})


def asset_paths() -> dict[str, Path]:
    """Map asset names to files: the fonts, and anything under templates/charter/assets/."""
    assets = {name: path for name, (path, _) in FONTS.items()}
    folder = TEMPLATES / "assets"
    if folder.is_dir():
        assets.update(
            {
                f"assets/{p.relative_to(folder).as_posix()}": p
                for p in folder.rglob("*")
                if p.is_file()
            }
        )
    return assets


def check_fonts() -> None:
    """Fail clearly when a font the charter is designed with is not installed."""
    missing = sorted({package for path, package in FONTS.values() if not path.is_file()})
    if missing:
        raise CharterError(
            "fonts missing for the charter; install the Debian packages "
            + " ".join(missing)
            + " (make system-runtime)"
        )


@cache
def _user_agent_css() -> CSS:
    return CSS(string=(TEMPLATES / "ua.css").read_text(encoding="utf-8"))


class CharterHTML(HTML):  # type: ignore[misc]
    """An HTML document styled on the charter's own user-agent stylesheet.

    WeasyPrint's default one (forms, bidi attributes, a hundred elements the charter never
    uses) made a tenth of each render; ``templates/charter/ua.css`` keeps what the charter
    and the audit page need. Swapping it this way is how WeasyPrint's own tests do it.
    """

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        return [_user_agent_css()]


render_lock = threading.RLock()  # WeasyPrint shares Pango and font state: one layout at a time


@cache
def _fetcher() -> BundledAssetFetcher:
    return BundledAssetFetcher()


@cache
def _fonts_and_css() -> tuple[FontConfiguration, CSS]:
    """Parse the stylesheet and load its fonts once per process."""
    check_fonts()
    font_config = FontConfiguration()
    stylesheet = CSS(
        string=(TEMPLATES / "charter.css").read_text(encoding="utf-8"),
        font_config=font_config,
        url_fetcher=_fetcher(),
    )
    return font_config, stylesheet


# A few lines that touch every face and script the charter uses, laid out and written once
# at worker start so that Pango, HarfBuzz and the PDF writer are initialised by then.
SPECIMEN = (
    '<html lang="en"><body><h1>Charter</h1><p class="label">Specimen</p>'
    '<p>Serif <strong>bold</strong> <em>italic</em> <span class="mono">0123</span> '
    "Ελληνικά 中文 العربية ✓</p><table><tr><th>Tier</th><td>Direct</td></tr></table>"
    "</body></html>"
)


def warm_up() -> None:
    """Load fonts, parse the stylesheet, write one small PDF and name the renderer now (at
    worker start).

    The first charter a worker renders, or tags, then costs what every later one does.
    """
    with render_lock:
        document = render_document(SPECIMEN)
        write_archival(document)
    renderer_version()


def render_document(html: str, fetcher: BundledAssetFetcher | None = None) -> Any:
    """Lay out the charter HTML into pages (a WeasyPrint Document) with the cached styles."""
    with render_lock:
        font_config, stylesheet = _fonts_and_css()
        document = CharterHTML(string=html, url_fetcher=fetcher or _fetcher(), base_url=None)
        return document.render(stylesheets=[stylesheet], font_config=font_config)


OUTPUT_INTENT = "charter-srgb"
ASSESSMENT_META = "assessmentsha256"  # the charter HTML's meta element for ASSESSMENT_INFO


@cache
def _srgb_profile() -> bytes:
    return (resources.files("weasyprint.pdf") / "sRGB2014.icc").read_bytes()


def write_archival(document: Any, **options: Any) -> bytes:
    """Write a laid-out document as tagged PDF/A-3b.

    Tagged: the structure tree (headings, lists, tables with their header cells, the chart's
    text alternative) lets a screen reader follow the charter, and a reader reflow it.
    """
    _use_srgb_output_intent(document)
    # HTML meta names know no case, so WeasyPrint reads them in lower case; the document
    # information names its entries in the case PDF readers show.
    custom = document.metadata.custom
    if ASSESSMENT_META in custom:
        custom[ASSESSMENT_INFO] = custom.pop(ASSESSMENT_META)
    pdf: bytes = document.write_pdf(
        pdf_variant="pdf/a-3b",
        pdf_tags=True,
        custom_metadata=True,  # the assessment hash, in the document information
        output_intent=OUTPUT_INTENT,
        finisher=_index_header_cells,
        **options,
    )
    return pdf


def _index_header_cells(document: Any, pdf: Any) -> None:
    """Give the structure tree the index of element ids (its ID tree) that a reader looks
    up a data cell's header cells in. WeasyPrint names each table's header cells and lists
    them on the data cells, but writes no index, so no reader could find them."""
    dictionaries = [o for o in pdf.objects if isinstance(o, dict)]
    root = next((o for o in dictionaries if o.get("Type") == "/StructTreeRoot"), None)
    named: list[Any] = [o for o in dictionaries if o.get("Type") == "/StructElem" and "ID" in o]
    if root is None or not named:
        return
    names = pydyf.Array()
    for element in sorted(named, key=lambda o: str(o["ID"].string).encode()):
        names.extend((element["ID"], element.reference))
    root["IDTree"] = pydyf.Dictionary({"Names": names})


def _use_srgb_output_intent(document: Any) -> None:
    """Give PDF/A its sRGB output intent from bytes we hold.

    WeasyPrint's own ``output_intent="srgb"`` opens the ICC file and never closes it (a
    ResourceWarning on every PDF); a profile registered under our own name avoids that.
    """
    document.color_profiles[OUTPUT_INTENT] = ColorProfile(
        io.BytesIO(_srgb_profile()), "sRGB2014.icc", "relative-colorimetric", (["r"], ["g"], ["b"])
    )
    document.output_intent = OUTPUT_INTENT


CACHE_SIZE = 32  # recent charters kept per process (~200 KiB each)
_recent: OrderedDict[str, bytes] = OrderedDict()


def write_pdf(
    html: str,
    *,
    document_id: str,
    attachment: bytes,
    attachment_time: datetime,
    fetcher: BundledAssetFetcher | None = None,
) -> bytes:
    """Lay out the charter HTML and write tagged PDF/A-3b bytes with ``assessment.json`` attached.

    The output depends only on these inputs, so a charter asked for again (preview, then
    download, then freeze for sign-off) is served from a small per-process cache.
    """
    key = inputs_key(
        html, document_id=document_id, attachment=attachment, attachment_time=attachment_time
    )
    with render_lock:
        if fetcher is None and key in _recent:
            _recent.move_to_end(key)
            return _recent[key]
        document = render_document(html, fetcher)
        data = Attachment(
            string=attachment,
            name="assessment.json",
            description="Answers, decision and rules version behind this charter",
            created=attachment_time,
            modified=attachment_time,
            relationship="Data",
        )
        pdf = write_archival(document, pdf_identifier=document_id.encode(), attachments=[data])
        if fetcher is None:
            _recent[key] = pdf
            while len(_recent) > CACHE_SIZE:
                _recent.popitem(last=False)
    return pdf


def inputs_key(html: str, *, document_id: str, attachment: bytes, attachment_time: datetime) -> str:
    """Name the inputs of ``write_pdf``: within one process, where the styles and fonts are
    loaded once, the same name gives the same bytes."""
    return hashlib.sha256(
        b"\0".join(
            (html.encode(), document_id.encode(), attachment, attachment_time.isoformat().encode())
        )
    ).hexdigest()


def pdf_tag(html: str, *, document_id: str, attachment: bytes, attachment_time: datetime) -> str:
    """Name the PDF that ``write_pdf`` makes of these inputs, without making it: the same
    name in every process and release that would write the same bytes, another one as soon
    as the inputs or the renderer differ."""
    key = inputs_key(
        html, document_id=document_id, attachment=attachment, attachment_time=attachment_time
    )
    return hashlib.sha256(f"{renderer_version()} {key}".encode()).hexdigest()


@cache
def renderer_version() -> str:
    """Name what a charter's bytes depend on besides their inputs: the stylesheets, fonts and
    other assets, the colour profile, and the versions of the libraries that lay them out.

    Read once per process, as the stylesheets and fonts are. Hashing the assets (about
    12 MB) takes a few tens of milliseconds, once; comparing sizes and times would miss a
    font replaced in place.
    """
    check_fonts()
    parts = [f"pango {pango_version()}"]
    parts += [f"{name} {metadata.version(name)}" for name in _renderer_packages()]
    files = {name: TEMPLATES / name for name in ("ua.css", "charter.css")} | asset_paths()
    for name, path in sorted(files.items()):
        parts.append(f"{name} {hashlib.sha256(path.read_bytes()).hexdigest()}")
    parts.append(f"sRGB {hashlib.sha256(_srgb_profile()).hexdigest()}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _renderer_packages() -> list[str]:
    """WeasyPrint and the packages it always needs (a CSS parser's, a font subsetter's or a
    hyphenation dictionary's release can change a charter's bytes too)."""
    needed = [r for r in metadata.requires("weasyprint") or () if ";" not in r]
    names = (re.match(r"[A-Za-z0-9._-]+", requirement) for requirement in needed)
    return ["weasyprint", *sorted({m.group().lower() for m in names if m})]


def clear_cache() -> None:
    """Forget the recently written charters (benchmarks measure fresh layouts with it)."""
    with render_lock:
        _recent.clear()
