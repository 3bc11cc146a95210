"""Web views: one blueprint per module, thin shells over the domain functions."""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for


def link_for(endpoint: str, **values: Any) -> str:
    """Return the full address of a page to hand to someone else (a personal link): on the
    configured public address when there is one, else on the address of this request."""
    base: str | None = current_app.config.get("PUBLIC_BASE_URL")
    if base is None:
        return url_for(endpoint, _external=True, **values)
    path = url_for(endpoint, **values)[len(request.script_root) :]
    return base + path
