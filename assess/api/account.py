"""The consultant's API tokens page: create (shown once), list and revoke."""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from marshmallow import EXCLUDE, Schema, fields, validate
from werkzeug.wrappers import Response

from assess.api.tokens import (
    ACTIVE_MAX,
    NAME_MAX,
    ApiToken,
    active_named,
    active_tokens,
    issue_token,
    tokens_of,
)
from assess.extensions import db, limiter
from assess.forms import Text, current_password_field, load_form
from assess.models import MAX_ID, Consultant, hold_row, utcnow
from assess.views.auth import (
    login_limit,
    password_again_limit,
    password_given_again,
    require_consultant,
)

bp = Blueprint("api_tokens", __name__, url_prefix="/account/api-tokens")
bp.before_request(require_consultant)


class TokenForm(Schema):
    class Meta:
        unknown = EXCLUDE

    name = Text("token name", NAME_MAX)
    # A token works without signing in, for as long as it is not revoked: whoever holds the
    # session (a borrowed laptop, a stolen cookie) must not be able to mint one.
    password = current_password_field("Enter your password.")
    access = fields.String(
        load_default="read",
        validate=validate.OneOf(("read", "write"), error="Choose read only or read and write."),
    )


# The forms of the page opened last, by their one-time number: sending one twice (a reload
# of the page that showed a secret) must not create a second token.
OPEN_FORMS = 5


def _page(
    secret: str | None = None, form: object = None, errors: dict[str, list[str]] | None = None
) -> str:
    number = secrets.token_urlsafe(16)
    tokens, older_revoked = tokens_of(db.session, current_user.id)
    session["token_forms"] = [*session.get("token_forms", [])[-(OPEN_FORMS - 1) :], number]
    return render_template(
        "web/api/tokens.html",
        tokens=tokens,
        older_revoked=older_revoked,
        secret=secret,
        form=form or {},
        errors=errors or {},
        form_number=number,
    )


@bp.get("")
def index() -> str:
    """List the consultant's tokens."""
    return _page()


@bp.post("")
@limiter.limit(login_limit, deduct_when=lambda r: r.status_code == 422)
@password_again_limit
def create() -> tuple[str, int] | Response:
    """Create a token and show its secret in this answer, once (pages are never cached): it
    is stored hashed, and never put in the session cookie, which a browser may keep."""
    forms = session.get("token_forms", [])
    number = request.form.get("form_number", "")
    if number not in forms:
        flash(
            "That form was already sent: the token it created is in the list below. Its "
            "secret was shown once; if it was not copied, revoke the token and create another.",
            "info",
        )
        return redirect(url_for("api_tokens.index"), code=303)
    data, errors = load_form(TokenForm(), request.form)
    # Every problem is said at once: the password field comes back empty, and a wrong
    # password left for a later round means typing it again only to learn it was wrong.
    typed = request.form.get("password", "")
    if typed and "password" not in errors and not password_given_again(current_user, typed):
        errors["password"] = ["That is not your password."]
    if not errors:
        # Two tabs sending at once check the names and the count one after the other.
        hold_row(db.session, Consultant, current_user.id)
    if "name" not in errors:
        named = data or load_form(TokenForm(only=("name",)), request.form)[0]
        errors = {**(_name_in_use(named["name"]) or _room_for_one_more()), **errors}
    if errors:
        # The number stays usable: sent again, the form is refused again, as no token was made.
        return _page(form=request.form, errors=errors), 422
    session["token_forms"] = [n for n in session.get("token_forms", []) if n != number]
    _token, secret = issue_token(
        db.session,
        current_user._get_current_object(),
        data["name"],
        can_write=data["access"] == "write",
    )
    db.session.commit()
    return _page(secret=secret), 201


def _room_for_one_more() -> dict[str, list[str]]:
    """Refuse a token beyond the bound, naming the way to make room."""
    if active_tokens(db.session, current_user.id) < ACTIVE_MAX:
        return {}
    return {
        "name": [
            f"You have {ACTIVE_MAX} active tokens, the most an account holds: revoke one "
            "that no tool uses any more, then create this one."
        ]
    }


def _name_in_use(name: str) -> dict[str, list[str]]:
    """Refuse the name of an active token: the list and the revoke buttons tell tokens
    apart by their names."""
    token = active_named(db.session, current_user.id, name)
    if token is None:
        return {}
    return {
        "name": [
            f"You have an active token named “{token.name}”: choose another name, "
            "or revoke that token first."
        ]
    }


@bp.post("/<int:token_id>/revoke")
def revoke(token_id: int) -> Response:
    """Revoke one of the consultant's tokens; it stops working at once."""
    token = db.session.get(ApiToken, token_id) if token_id <= MAX_ID else None
    if token is None or token.consultant_id != current_user.id:
        abort(404)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
    flash(f"The token “{token.name}” is revoked.", "info")
    return redirect(url_for("api_tokens.index"), code=303)
