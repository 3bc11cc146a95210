"""Browser fixtures: the app served on a local port, and laptop and phone pages."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from browsertools import LAPTOP
from flask import Flask
from playwright.sync_api import Browser, BrowserContext
from werkzeug.serving import make_server


def whole_responses(app: Flask) -> Callable[..., Iterable[bytes]]:
    """Hand the server each response body whole, its file already closed.

    Werkzeug's development server skips closing a response when the browser drops the
    connection while the server reads what is left of the request (a page left while its
    fonts load): the font file then stays open until garbage collection, which the suite
    counts as an error. Gunicorn, which serves the app in production, closes it.
    """

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return wsgi


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """Serve the app from a background thread; return its base URL."""
    server = make_server("127.0.0.1", 0, whole_responses(app), threaded=True)
    app.config["SERVER_NAME"] = f"127.0.0.1:{server.port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def laptop(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=LAPTOP)
    yield context
    context.close()


@pytest.fixture
def no_js_laptop(browser: Browser) -> Iterator[BrowserContext]:
    """A browser context with JavaScript switched off: every page must still work."""
    context = browser.new_context(viewport=LAPTOP, java_script_enabled=False)
    yield context
    context.close()
