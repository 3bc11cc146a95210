"""Helpers for the API tests: tokens for consultants, bearer headers, a signed charter, a
request landing in the middle of another, and the app behind a real HTTP server."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.client import HTTPConnection, HTTPResponse
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from webtools import login

from assess.api.tokens import issue_token
from assess.extensions import db as database
from assess.models import Consultant


def make_token(app: Flask, consultant_id: int, *, can_write: bool = True) -> str:
    """Issue an API token for the consultant; return its secret."""
    with app.app_context():
        consultant = database.session.get(Consultant, consultant_id)
        assert consultant is not None
        _token, secret = issue_token(database.session, consultant, "tests", can_write=can_write)
        database.session.commit()
        return secret


def web_and_api(
    app: Flask, consultant_id: int, email: str = "cara@example.com"
) -> tuple[FlaskClient, FlaskClient, dict[str, str]]:
    """The consultant signed in on the web; an API client, and the header of their token."""
    web = app.test_client()
    login(web, email)
    return web, app.test_client(), bearer(make_token(app, consultant_id))


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def sign(app: Flask, engagement_id: int) -> bytes:
    """Freeze the latest decision's charter, have one signatory approve; return the sealed PDF."""
    from assess import signoff
    from assess.charter import load_details
    from assess.models import Engagement
    from assess.signing.keys import from_config

    with app.app_context():
        engagement = database.session.get(Engagement, engagement_id)
        assert engagement is not None and engagement.latest_decision is not None
        details = load_details(
            {
                "project": engagement.project_name,
                "parties": [{"side": p.side, "name": p.name} for p in engagement.parties],
            }
        )
        version = signoff.freeze(database.session, engagement, engagement.latest_decision, details)
        signatory = signoff.add_signatory(
            database.session, version.sign_off, name="Ann Lee", email="a@example.com"
        )
        signoff.start(database.session, version.sign_off, sequential=True, expires_at=None)
        keys = from_config(app.config, app.instance_path)
        sealer = signoff.Sealer(keys=keys, base_url="http://localhost")
        assert signoff.approve(
            database.session, signatory, typed_name="Ann Lee", source=signoff.Actor(), sealer=sealer
        )
        database.session.commit()
        sealed = version.sign_off.sealed_pdf
        assert sealed is not None
        return sealed


def meanwhile(
    monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, call: Callable[[], Any]
) -> list[Any]:
    """Make the first use of ``owner.name`` wait for ``call`` run from another thread (its
    own request and session): a request that lands between a check and a write."""
    original = getattr(owner, name)
    results: list[Any] = []
    started: list[bool] = []

    def hooked(*args: Any, **kwargs: Any) -> Any:
        if not started:  # the other request uses it too: only the first use waits
            started.append(True)
            thread = threading.Thread(target=lambda: results.append(call()))
            thread.start()
            thread.join(60)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, hooked)
    return results


@contextmanager
def served(app: Flask) -> Iterator[Callable[..., tuple[HTTPResponse, bytes]]]:
    """Serve the app with werkzeug's server on a free port, for what the test client does not
    show: the headers the server adds, a body sent in chunks. Yields a function that sends
    one request (method, path, body, headers) and returns the answer and its body."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def send(
        method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[HTTPResponse, bytes]:
        connection = HTTPConnection("127.0.0.1", server.port, timeout=30)
        headers = {"Host": "localhost", **(headers or {})}
        try:
            connection.request(
                method,
                path,
                body=body,
                headers=headers,
                encode_chunked=headers.get("Transfer-Encoding") == "chunked",
            )
            answer = connection.getresponse()
            return answer, answer.read()
        finally:
            connection.close()

    try:
        yield send
    finally:
        server.shutdown()
        thread.join()
