"""Web views: one blueprint per module, thin shells over the domain functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, current_app, g, request, url_for

Found = TypeVar("Found")


def kept_for_request(kind: str, token: str, look_up: Callable[[str], Found]) -> Found:
    """Return what a personal link's token opens, looked up once per request: the limit on
    guessing links asks before the page does. ``kind`` names what tokens of this sort open."""
    found: dict[str, Found] = g.setdefault(kind, {})
    if token not in found:
        found[token] = look_up(token)
    return found[token]


def link_for(endpoint: str, **values: Any) -> str:
    """Return the full address of a page to hand to someone else (a personal link): on the
    configured public address when there is one, else on the address of this request."""
    base: str | None = current_app.config.get("PUBLIC_BASE_URL")
    if base is None:
        return url_for(endpoint, _external=True, **values)
    path = url_for(endpoint, **values)[len(request.script_root) :]
    return base + path


def served_in_parts(response: Response, tag: str) -> Response:
    """Tag a document's answer (ETag) and answer a Range request with the part asked for
    (206), or 416 when the range is outside it: a browser's PDF viewer fetches a long document
    a part at a time, and a download that broke off resumes from where it stopped. A part
    asked for If-Range another tag is answered with the whole document, as it changed."""
    response.set_etag(tag)
    response.make_conditional(request, accept_ranges=True, complete_length=response.content_length)
    return response
