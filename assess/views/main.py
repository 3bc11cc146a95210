"""The home page."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

bp = Blueprint("main", __name__)


@bp.get("/")
def home() -> str | Response:
    """Send consultants to their engagements; show everyone else what the product does."""
    if current_user.is_authenticated:
        return redirect(url_for("engagements.index"))
    return render_template("web/home.html")
