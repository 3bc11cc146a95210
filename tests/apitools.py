"""Helpers for the API tests: tokens for consultants, and bearer headers."""

from __future__ import annotations

from flask import Flask

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


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
