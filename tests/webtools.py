"""Helpers for the web tests: accounts, CSRF tokens and form posts like a browser's."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from assess.extensions import db as database
from assess.models import Consultant

PASSWORD = "correct horse battery"


def make_consultant(app: Flask, email: str = "cara@example.com", name: str = "Cara Diaz") -> int:
    """Store a consultant with the test password; return the id."""
    from assess.views.auth import hash_password

    with app.app_context():
        consultant = Consultant(email=email, name=name, password_hash=hash_password(PASSWORD))
        database.session.add(consultant)
        database.session.commit()
        return consultant.id


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """Return the CSRF token of the client's session, read from a page like a browser."""
    page = client.get(path, follow_redirects=True).get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert match, "page carries no CSRF token"
    return match.group(1)


def post(client: FlaskClient, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """Post a form the way a browser does, with the session's CSRF token."""
    form = {"csrf_token": csrf_token(client), **(data or {})}
    return client.post(path, data=form, **kwargs)


def login(client: FlaskClient, email: str = "cara@example.com") -> None:
    response = post(client, "/login", {"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
