"""Browser fixtures: the app served on a local port, and laptop and phone pages."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from browsertools import LAPTOP
from flask import Flask
from playwright.sync_api import Browser, BrowserContext
from werkzeug.serving import make_server


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """Serve the app from a background thread; return its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
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
