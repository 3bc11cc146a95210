"""Bearer-token authentication for the consultant part of the API."""

from __future__ import annotations

from flask import g, request
from flask_smorest import abort

from assess.api.tokens import ApiToken, find_token, mark_used
from assess.extensions import db
from assess.models import Consultant

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def asks_what_a_route_takes() -> bool:
    """Say whether the request is an OPTIONS request (plain, or a CORS preflight)."""
    return request.method == "OPTIONS"


def presented_secret() -> str | None:
    """Return the token from an 'Authorization: Bearer ...' header, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def presented_token() -> ApiToken | None:
    """Return the active token the request presents, looked up once per request."""
    if "presented_token" not in g:
        secret = presented_secret()
        g.presented_token = find_token(db.session, secret) if secret else None
    token: ApiToken | None = g.presented_token
    return token


def authenticate() -> None:
    """Require a valid token; read-only tokens may not change anything (403).

    OPTIONS needs none: it asks only which methods a route takes, as the public OpenAPI
    document says, and a browser's CORS preflight never carries the token to send.
    """
    if asks_what_a_route_takes():
        return
    token = presented_token()
    if token is None and presented_secret() is None:
        abort(
            401,
            message="Send a valid API token: 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": 'Bearer realm="assess"'},
        )
    if token is None:
        # A tool that has a token must be told to replace it, not to send one (RFC 6750).
        # Whether it never existed or was revoked is not said: either way it is dead.
        abort(
            401,
            message="This API token is not valid: it may be mistyped or revoked. Create "
            "another on your account's API tokens page.",
            headers={"WWW-Authenticate": 'Bearer realm="assess", error="invalid_token"'},
        )
    assert token is not None
    if request.method in WRITE_METHODS and not token.can_write:
        abort(403, message="This token is read-only; create a token that may make changes.")
    if mark_used(token):
        db.session.commit()
    g.api_token = token


def current_token() -> ApiToken:
    token: ApiToken = g.api_token
    return token


def current_consultant() -> Consultant:
    """Return the consultant whose token authenticated this request."""
    return current_token().consultant
