"""The consultant's API tokens page: create (shown once), list and revoke."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from marshmallow import EXCLUDE, Schema, fields, validate
from werkzeug.wrappers import Response

from assess.api.tokens import NAME_MAX, ApiToken, issue_token, tokens_of
from assess.extensions import db
from assess.forms import Text, load_form
from assess.models import utcnow
from assess.views.auth import require_consultant

bp = Blueprint("api_tokens", __name__, url_prefix="/account/api-tokens")
bp.before_request(require_consultant)

MAX_ID = 2**31 - 1


class TokenForm(Schema):
    class Meta:
        unknown = EXCLUDE

    name = Text("token name", NAME_MAX)
    access = fields.String(
        load_default="read",
        validate=validate.OneOf(("read", "write"), error="Choose read only or read and write."),
    )


def _page(
    secret: str | None = None, form: object = None, errors: dict[str, list[str]] | None = None
) -> str:
    return render_template(
        "web/api/tokens.html",
        tokens=tokens_of(db.session, current_user.id),
        secret=secret,
        form=form or {},
        errors=errors or {},
    )


@bp.get("")
def index() -> str:
    """List the consultant's tokens, with the secret of the one just created, once."""
    return _page(secret=session.pop("new_api_token", None))


@bp.post("")
def create() -> tuple[str, int] | Response:
    """Create a token; its secret is shown on the next page only, as it is stored hashed.
    Redirecting there means reloading that page cannot create a second token."""
    data, errors = load_form(TokenForm(), request.form)
    if errors:
        return _page(form=request.form, errors=errors), 422
    _token, secret = issue_token(
        db.session,
        current_user._get_current_object(),
        data["name"],
        can_write=data["access"] == "write",
    )
    db.session.commit()
    session["new_api_token"] = secret
    return redirect(url_for("api_tokens.index"), code=303)


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
