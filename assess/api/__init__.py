"""The JSON API under /api/v1: flask-smorest blueprints, bearer tokens, JSON errors only.

Errors under /api answer in JSON (code, status, message, per-field errors); every other
path keeps the web app's HTML error pages. Both are chosen by one dispatching handler
installed over the web app's own, so neither side has to know about the other.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from apispec import BasePlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_smorest import Api, Blueprint, abort
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed, NotFound

from assess.api.schemas import TAKES_JSON, ErrorSchema
from assess.config import rate_limit
from assess.schemas import KeyGivenTwice, unique_keys
from assess.views import WholeNumberConverter

PREFIX = "/api/v1"
# Anonymous evaluations are cheap but not free: this many per client address.
EVALUATE_LIMIT_DEFAULT = "120 per minute"
# Token-authenticated calls, counted per token.
TOKEN_LIMIT_DEFAULT = "600 per minute"
# Calls with a token that is not valid, counted per client address: guessing has no use, but
# each guess costs a database lookup.
BAD_TOKEN_LIMIT_DEFAULT = "30 per minute"
DB_RETRY_SECONDS = "5"

Handler = Callable[[Any], Any]


def is_api_request() -> bool:
    """Say whether the current request is for the JSON API (or the health check)."""
    path = request.path
    return path == "/api" or path.startswith("/api/") or path == "/healthz"


def json_error(
    code: int,
    message: str,
    errors: Any = None,
    headers: dict[str, str] | None = None,
    details: dict[str, Any] | None = None,
) -> Response:
    """Return the API's error document with a status code; ``details`` adds what a client
    needs to act on this error in particular, beside the message (see ErrorSchema's
    extensions)."""
    payload: dict[str, Any] = {
        "code": code,
        "status": _status_name(code),
        "message": message,
    }
    if errors:
        payload["errors"] = errors
    payload.update(details or {})
    response = jsonify(payload)
    response.status_code = code
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _status_name(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Error"


def http_error_json(error: HTTPException) -> Response:
    """Turn an HTTP error (abort, routing, rate limit, bad JSON) into the JSON document."""
    code = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    message = (
        data.get("message")
        or _body_as_a_whole(errors)
        or _what_to_do(error)
        or error.description
        or _status_name(code)
    )
    if isinstance(error, RateLimitExceeded):
        message = f"Too many requests: at most {_in_words(error.limit.limit)}. {_try_again()}"
    # Keep the headers the error carries (Allow on 405, Retry-After on 429, ...).
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    headers.update(data.get("headers") or {})
    if code == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="assess"')
    return json_error(code, str(message), errors, headers, data.get("details"))


def _body_as_a_whole(errors: Any) -> str | None:
    """Say what is wrong with a request body that is refused as a whole (not an object, or
    an object with nothing in it), rather than speak of fields that were not sent."""
    if isinstance(errors, dict) and list(errors) == ["json"]:
        body = errors["json"]
        if isinstance(body, dict) and list(body) == ["_schema"] and len(body["_schema"]) == 1:
            return f"The request body {body['_schema'][0]}."
    return None


def _what_to_do(error: HTTPException) -> str | None:
    """Say what a client can do about the errors werkzeug words for a person at a browser."""
    code = error.code
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        # HEAD and OPTIONS come with every route; the Allow header lists them too.
        taken = sorted(set(error.valid_methods) - {"HEAD", "OPTIONS"})
        return f"This route does not take {request.method}; it takes {', '.join(taken)}."
    if code == 404:
        return f"No such route in this API; {PREFIX}/openapi.json lists them."
    if code == 413:
        limit = current_app.config["MAX_CONTENT_LENGTH"] // 1024
        return f"The request body is larger than the {limit} KiB the API takes."
    if code == 416:  # its Content-Range header says the document's length
        return "The range asked for is not within the document."
    if code == 422:
        return "Some fields are not valid; see errors for each one."
    return None


def _in_words(limit: Any) -> str:
    """Say a limit as the settings write it ("120 per minute", "10 per 5 minutes"), where
    the limits library says "120 per 1 minute" and "10 per 5 minute"."""
    unit = limit.GRANULARITY.name
    if limit.multiples == 1:
        return f"{limit.amount} per {unit}"
    return f"{limit.amount} per {limit.multiples} {unit}s"


def _try_again() -> str:
    """Say when the rate limit that was hit lets calls through again."""
    from assess.extensions import limiter

    current = limiter.current_limit
    if current is None:
        return "Try again later."
    seconds = max(1, int(current.reset_at - time.time()))
    return f"Try again in {seconds} second{'s' if seconds > 1 else ''}."


def not_migrated(error: DBAPIError) -> bool:
    """Tell whether the database lacks a table or column this version uses: it has not been
    upgraded yet (a node started before `assess db upgrade` ran)."""
    if getattr(error.orig, "sqlstate", None) in ("42P01", "42703"):  # undefined table, column
        return True
    return str(error.orig).startswith(("no such table", "no such column"))


def _database_unavailable(error: DBAPIError) -> Response | tuple[str, int, dict[str, str]]:
    """Answer 503 when the database connection failed; the pool reconnects for the next one."""
    from assess.extensions import db

    if not_migrated(error):
        reason = str(error.orig).strip().splitlines()[0]
        current_app.logger.warning(
            "Database not migrated as far as this version needs (%s): run 'assess db upgrade'",
            reason,
        )
    else:
        current_app.logger.warning("Database unavailable: %s", error.__class__.__name__)
    if is_api_request():
        return json_error(
            503,
            "The database is unavailable for a moment. Try again shortly.",
            headers={"Retry-After": DB_RETRY_SECONDS},
        )
    try:
        # The failed transaction is discarded; the page may need the database again (the
        # signed-in consultant), and if that fails too a plain page says the same.
        db.session.rollback()
        page = render_template(
            "web/error.html",
            code=503,
            title="We are briefly unavailable",
            message="Nothing you did caused this. Please try again in a moment.",
        )
    except Exception:
        page = "We are briefly unavailable. Please try again in a moment."
    return page, 503, {"Retry-After": DB_RETRY_SECONDS}


def _found_nowhere(error: HTTPException) -> HTTPException:
    """Say "not found" for a method refused at an address that names nothing.

    werkzeug refuses a method (405) once one route's pattern fits the path, before another
    route's converters read it: PATCH to an engagement id beyond the largest one would be
    "not allowed" because GET is taken at that pattern, though GET finds nothing there
    either. It is "not allowed" only where one of the methods allowed leads somewhere."""
    if not isinstance(error, MethodNotAllowed) or not error.valid_methods:
        return error
    adapter = current_app.create_url_adapter(request)
    if adapter is None:
        return error
    for method in error.valid_methods:
        try:
            adapter.match(method=method)
        except (NotFound, MethodNotAllowed):
            continue
        except HTTPException:  # a redirect: the address leads somewhere
            return error
        return error
    return NotFound()


def install_error_handlers(app: Flask) -> None:
    """Answer errors under /api in JSON, keeping the web app's handlers for everything else."""
    registered = app.error_handler_spec.setdefault(None, {}).setdefault(None, {})
    web_http: Handler | None = registered.get(HTTPException)
    web_any: Handler | None = registered.get(Exception)

    def http_error(error: HTTPException) -> Any:
        error = _found_nowhere(error)
        if is_api_request() or web_http is None:
            return http_error_json(error)
        return web_http(error)

    def unexpected(error: Exception) -> Any:
        if isinstance(error, DBAPIError) and (
            error.connection_invalidated
            or error.__class__.__name__ == "OperationalError"
            or not_migrated(error)
        ):
            return _database_unavailable(error)
        if is_api_request() or web_any is None:
            app.logger.exception("Unhandled error", exc_info=error)
            return http_error_json(InternalServerError())
        return web_any(error)

    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected)


def no_content_without_a_type(response: Response) -> Response:
    """Answer "no content" under /api with no body and no Content-Type: flask-smorest
    serialises a 204's None as JSON, and Flask calls an OPTIONS answer's empty body HTML
    (that one becomes a 204 with the Allow header alone)."""
    if not is_api_request() or response.is_streamed:
        return response
    if request.method == "OPTIONS" and response.status_code == 200 and not response.get_data():
        response.status_code = 204
    if response.status_code == 204:
        response.set_data(b"")
        del response.headers["Content-Type"]
    return response


def require_acceptable_answer() -> None:
    """Refuse (406) a request whose Accept header rules out the one type the route answers
    with, rather than send what the client said it cannot read; the error itself is JSON."""
    offered = "application/pdf" if request.path.endswith(".pdf") else "application/json"
    accepted = request.accept_mimetypes
    if accepted and accepted.best_match([offered]) is None:
        abort(406, message=f"This route answers with {offered}; send Accept: {offered}.")


def require_json_body() -> None:
    """Refuse a body that is not JSON (415): read as JSON it would look like missing fields.

    A JSON body is read once here too, so that what the parser behind the schemas lets
    through as a server error (nesting too deep, an integer of thousands of digits) is
    refused as bad JSON (400).
    """
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    if not (request.content_length or request.headers.get("Transfer-Encoding")):
        return
    if not request.is_json:
        if not getattr(current_app.view_functions.get(request.endpoint or ""), TAKES_JSON, False):
            abort(415, message="This route takes no request body: send it without one.")
        abort(415, message="Send the request body as JSON (Content-Type: application/json).")
    body = request.get_data(cache=True)
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    # A body sent in chunks has no length to refuse beforehand: the server's stream stops
    # at the limit, and what it cut there would pass for broken JSON, or, padded after a
    # whole object, for that object.
    if (
        request.content_length is None
        and len(body) >= limit
        and request.environ["wsgi.input"].read(1)
    ):
        abort(413)
    try:
        # JSON travels as UTF-8 (RFC 8259); json.loads alone would take UTF-16 too.
        json.loads(body.decode("utf-8"), object_pairs_hook=unique_keys)
    except KeyGivenTwice as twice:
        # JSON would keep the last silently: which one the sender meant is theirs to say.
        key = json.dumps(twice.args[0])
        abort(400, message=f"The request body gives {key} twice in one object.")
    except UnicodeDecodeError:
        abort(400, message="The request body is not UTF-8: send JSON encoded as UTF-8.")
    except (ValueError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else "not valid JSON"
        abort(400, message=f"The request body is {reason}.")


class IdConverter(WholeNumberConverter):
    """A database id in a path: a whole number written one way only, from 1."""

    regex = "[1-9][0-9]*"


def id_parameter(converter: IdConverter) -> dict[str, Any]:
    return {"type": "integer", "minimum": converter.min, "maximum": converter.max}


class SchemaKeywords(BasePlugin):
    """Add the JSON Schema keywords a schema's ``Meta.json_schema`` names to its component:
    rules about the object as a whole (``minProperties``), which marshmallow's plugin cannot
    read from the fields."""

    def schema_helper(self, name: str, definition: dict[str, Any], **kwargs: Any) -> Any:
        schema = kwargs.get("schema")
        if schema is None:
            return None
        meta = getattr(resolve_schema_cls(schema), "Meta", None)
        keywords = getattr(meta, "json_schema", None)
        return {**definition, **keywords} if keywords else None


class ApiBlueprint(Blueprint):  # type: ignore[misc]
    """A flask-smorest blueprint whose operations are named after their views (operationId):
    a client generated from the document then has create_engagement, not a name made of
    the path and method."""

    def route(self, rule: str, **options: Any) -> Callable[[Handler], Handler]:
        register = super().route(rule, **options)

        def decorate(view: Handler) -> Handler:
            # Set on the view itself: blp.doc would wrap it in one more call per request.
            apidoc = getattr(view, "_apidoc", {})
            manual = {**apidoc.get("manual_doc", {}), "operationId": view.__name__}
            view._apidoc = {**apidoc, "manual_doc": manual}  # type: ignore[attr-defined]
            return register(view)  # type: ignore[no-any-return]

        return decorate


class AssessApi(Api):  # type: ignore[misc]
    """flask-smorest's Api, with error handling left to install_error_handlers, and the
    operations documented in the OpenAPI document when it is first read.

    Documenting them costs about a third of building the app, and most apps never serve the
    document: command-line runs, most workers between restarts, every test's app.
    """

    ERROR_SCHEMA = ErrorSchema

    def __init__(self, app: Flask, **options: Any) -> None:
        self._undocumented: list[tuple[Blueprint, str, Any]] = []
        self._documenting = threading.RLock()
        super().__init__(app, **options)

    @property
    def spec(self) -> Any:
        """The OpenAPI document, with every registered blueprint's operations in it."""
        with self._documenting:
            while self._undocumented:
                blp, name, parameters = self._undocumented.pop(0)
                blp.register_views_in_doc(
                    self, self._app, self._spec, name=name, parameters=parameters
                )
                self._spec.tag({"name": name, "description": blp.description})
        return self._spec

    @spec.setter
    def spec(self, spec: Any) -> None:
        self._spec = spec

    def register_blueprint(self, blp: Blueprint, *, parameters: Any = None, **options: Any) -> None:
        """Serve the blueprint's routes now, as flask-smorest does; document them later."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))

    def _register_error_handlers(self) -> None:
        return None


def register_api(app: Flask) -> None:
    """Mount the JSON API, its OpenAPI document and docs page, the token pages and /healthz."""
    from assess.api import account, docs, engagements, evaluate, health
    from assess.extensions import csrf

    for key, variable, default in (
        ("API_EVALUATE_RATE_LIMIT", "ASSESS_API_EVALUATE_LIMIT", EVALUATE_LIMIT_DEFAULT),
        ("API_TOKEN_RATE_LIMIT", "ASSESS_API_TOKEN_LIMIT", TOKEN_LIMIT_DEFAULT),
        ("API_BAD_TOKEN_RATE_LIMIT", "ASSESS_API_BAD_TOKEN_LIMIT", BAD_TOKEN_LIMIT_DEFAULT),
    ):
        if key not in app.config:
            app.config[key] = rate_limit(variable, default)
    app.url_map.converters["id"] = IdConverter
    app.config.update(
        API_TITLE="Assess API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
    )
    api = AssessApi(
        app,
        spec_kwargs={
            "info": {
                "description": (
                    "Evaluate answers without an account; with a consultant's API token, "
                    "manage engagements, respondents, answers, decisions and charters."
                )
            },
            "servers": [{"url": "/"}],
            "extra_plugins": [SchemaKeywords()],
        },
    )
    api.spec.components.security_scheme(
        "token", {"type": "http", "scheme": "bearer", "description": "An API token"}
    )
    api.register_converter(IdConverter, id_parameter)
    app.extensions["assess.api"] = api
    for module in (evaluate, engagements):
        csrf.exempt(module.blp)
        api.register_blueprint(module.blp)
    csrf.exempt(health.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(docs.bp)
    app.register_blueprint(account.bp)
    app.after_request(no_content_without_a_type)
    # First of the hooks: before the rate limit or a token is looked at for a route that
    # does not exist.
    app.before_request_funcs.setdefault(None, []).insert(0, no_merged_slashes)
    install_error_handlers(app)


def no_merged_slashes() -> None:
    """Refuse an API path with an empty segment (/api/v1//engagements) as not found.

    Routing would answer it with an HTML redirect to the path with the slashes merged (or
    with the methods the merged path takes); an API client wants JSON, and the API's
    routes are the ones its document lists."""
    if is_api_request() and "//" in request.path:
        raise NotFound()
