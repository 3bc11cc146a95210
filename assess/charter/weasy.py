"""WeasyPrint's names, loaded without a compiler run for every library name.

WeasyPrint asks cffi for each native library under the names it has on every platform.
On Linux all but the soname fail, and every failure makes ``ctypes.util.find_library``
run ldconfig and then gcc: twenty-two searches, 0.3 to 0.6 s of every process that
renders (the command line, each serving worker). The soname loads directly, so the search
is switched off while WeasyPrint loads its libraries. Import WeasyPrint from here.
"""

from __future__ import annotations

import ctypes.util
import sys


def _load_by_soname() -> None:
    if sys.platform != "linux":
        import weasyprint  # noqa: F401

        return
    search = ctypes.util.find_library
    ctypes.util.find_library = lambda name: None
    try:
        import weasyprint  # noqa: F401
    finally:
        ctypes.util.find_library = search


_load_by_soname()

from weasyprint import CSS, HTML, Attachment  # noqa: E402
from weasyprint.css import ColorProfile  # noqa: E402
from weasyprint.text.ffi import pango  # noqa: E402
from weasyprint.text.fonts import FontConfiguration  # noqa: E402
from weasyprint.urls import URLFetcher, URLFetcherResponse  # noqa: E402


def pango_version() -> int:
    """Return the version of the Pango that lays text out (1.50.12 is 15012)."""
    return int(pango.pango_version())


__all__ = [
    "CSS",
    "HTML",
    "Attachment",
    "ColorProfile",
    "FontConfiguration",
    "URLFetcher",
    "URLFetcherResponse",
    "pango_version",
]
