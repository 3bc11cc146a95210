"""Web views: one blueprint per module, thin shells over the domain functions."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from cryptography.fernet import Fernet, InvalidToken
from flask import Flask, Response, current_app, g, request, session, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_range_header
from werkzeug.routing import IntegerConverter

from assess.models import hash_token

Found = TypeVar("Found")


class WholeNumberConverter(IntegerConverter):
    """A number in a path, written one way only: werkzeug's int also takes leading zeros
    and any script's digits (/engagements/01, /engagements/\uff11), further addresses of
    the same page that would otherwise answer as the canonical one."""

    regex = "0|[1-9][0-9]*"


def page_at(path: str, app: Flask | None = None) -> tuple[str, Mapping[str, Any]] | None:
    """Return the endpoint and arguments of the page a GET of ``path`` (a path within the
    app) opens, or None when no page answers there."""
    try:
        endpoint, arguments = (
            (app or current_app).url_map.bind("localhost").match(path, method="GET")
        )
    except HTTPException:
        return None
    return str(endpoint), arguments


def unsent_at(
    path: str, key: str, endpoint: str
) -> tuple[dict[str, Any], Mapping[str, Any]] | None:
    """Return what the session keeps under ``key`` of a form sent too late, with the
    arguments of the page at ``path``, when that is the ``endpoint`` page of the personal
    link the form was sent through; else None."""
    kept = session.get(key)
    page = page_at(path)
    if not isinstance(kept, dict) or page is None or page[0] != endpoint:
        return None
    token = page[1].get("token")
    if not isinstance(token, str) or kept.get("link") != hash_token(token):
        return None
    return kept, page[1]


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


def sealed_for_session(token: str) -> str:
    """Return a new link's token as the session may carry it to the page that shows it once.

    The session is a cookie that is signed, not encrypted, and a browser may keep it on
    disk: a link in it in clear would open the questionnaire, or approve a charter, for
    whoever reads the cookie. Encrypted, it is readable by this service only.
    """
    return _session_cipher().encrypt(token.encode()).decode("ascii")


def opened_from_session(sealed: object) -> str:
    """Return the token ``sealed_for_session`` made ``sealed`` from; "" if it cannot be read
    (a cookie from before a change of SECRET_KEY)."""
    if not isinstance(sealed, str):
        return ""
    try:
        return _session_cipher().decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        return ""


def _session_cipher() -> Fernet:
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else bytes(secret)
    key = hashlib.sha256(b"assess: new links carried in the session\0" + secret).digest()
    return Fernet(base64.urlsafe_b64encode(key))


RANGE_HEADER = "HTTP_RANGE"  # the Range header, as WSGI names it


def served_in_parts(response: Response, tag: str) -> Response:
    """Tag a document's answer (ETag) and answer a Range request with the part asked for
    (206), or 416 when the range is outside it: a browser's PDF viewer fetches a long document
    a part at a time, and a download that broke off resumes from where it stopped. A part
    asked for If-Range another tag is answered with the whole document, as it changed."""
    response.set_etag(tag)
    length = response.content_length
    environ = dict(request.environ)
    asked = request.headers.get("Range")
    if asked is not None:
        parsed = parse_range_header(asked)
        # RFC 9110 (14.2): a Range in another unit is ignored, and one this answer cannot
        # serve as a single part may be; werkzeug would refuse both with a 416.
        if parsed is None or parsed.units != "bytes" or len(parsed.ranges) != 1:
            environ.pop(RANGE_HEADER)
        elif length and parsed.ranges[0][0] < -length:
            environ[RANGE_HEADER] = "bytes=0-"  # a suffix longer than the whole: all of it
    response.make_conditional(environ, accept_ranges=True, complete_length=length)
    return response
