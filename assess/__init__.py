"""assess: choose a producer partnership model and write the charter that goes with it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response

from assess import config as app_config


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the web application; ``config`` overrides settings read from the environment."""
    app = Flask(__name__, instance_relative_config=True, template_folder="../templates")
    app.config.from_mapping(app_config.from_environment(app.instance_path))
    if config:
        app.config.from_mapping(config)
    register_rules(app)
    register_proxy(app)
    register_extensions(app)
    register_templates(app)
    register_security(app)
    register_seal_settings(app)
    register_blueprints(app)
    # The pages' error handlers must exist before the API adds its JSON ones.
    register_error_handlers(app)
    register_api(app)
    register_logging(app)
    return app


def register_logging(app: Flask) -> None:
    """Keep personal links out of the development server's request lines and the app's
    own log (an error names the path it happened on); gunicorn's access log hides them
    itself (assess.serving).

    The rate limiter's own warnings (Redis unreachable: counting in this process's memory;
    Redis back) go where the app's do: the library gives them no handler of its own, and
    the change of limits would otherwise go unnoticed.
    """
    import logging

    from flask.logging import default_handler

    from assess.access_log import hide_link_tokens

    hide_link_tokens(logging.getLogger("werkzeug"), app.logger)
    limiter_log = logging.getLogger("flask-limiter")
    if default_handler not in limiter_log.handlers:
        limiter_log.addHandler(default_handler)
    limiter_log.setLevel(logging.INFO)  # "Rate limit storage recovered" is said at INFO


def register_rules(app: Flask) -> None:
    """Compile the rules the app decides with (ASSESS_RULES_DIR, else the project's own) at
    start, so a mistake in them stops the start with its message instead of failing the
    first evaluation."""
    from assess.engine import default_engine, refusal
    from assess.rulebook import RulesError

    try:
        default_engine()
    except RulesError as error:
        raise app_config.ConfigurationError(refusal(error)) from None


def register_proxy(app: Flask) -> None:
    """Trust the configured proxies for client address and scheme (rate limits, cookies)."""
    hops = int(app.config["PROXY_HOPS"])
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )


def register_extensions(app: Flask) -> None:
    """Bind the database, CSRF protection, sign-in and rate limiting to the app."""
    from assess.extensions import csrf, db, limiter, login_manager
    from assess.views.auth import load_consultant, session_identifier

    db.init_app(app)
    csrf.init_app(app)
    # Registered first so that it runs after the limiter has added its headers.
    app.after_request(_retry_after_only_when_refused)
    app.after_request(_date_from_the_server_alone)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to see that page."
    login_manager.login_message_category = "info"
    # A stolen session cookie used from another browser is dropped, not honoured (see
    # load_consultant, which checks it for the sessions kept across browser restarts).
    login_manager.session_protection = "strong"
    login_manager._session_identifier_generator = session_identifier
    login_manager.user_loader(load_consultant)


def _retry_after_only_when_refused(response: Response) -> Response:
    """Flask-Limiter sets Retry-After on every response it counts; the header asks a client
    to wait, so it stays only on refusals (429, and 503 from an unavailable database)."""
    if response.status_code not in (429, 503):
        response.headers.pop("Retry-After", None)
    return response


def _date_from_the_server_alone(response: Response) -> Response:
    """werkzeug dates the answers it makes conditional (ETag, byte ranges, static files), and
    the server (gunicorn, the development server) dates every answer: two Date fields reach
    a client as one value that is no date."""
    response.headers.remove("Date")
    return response


def register_seal_settings(app: Flask) -> None:
    """Check the seal's key and time-stamping settings now, not at the first signed charter.

    A configured key that cannot seal would otherwise fail the last approval of a sign-off
    and every verification. Nothing is generated here: without a configured key, the
    service makes its own on first use.
    """
    from assess.signing.keys import SealKeyError, check_settings

    try:
        check_settings(app.config, instance_folder=app.instance_path)
    except SealKeyError as error:
        message = str(error)
        if error.setting and not message.startswith(error.setting):
            message = f"{error.setting}: {message}"
        raise app_config.ConfigurationError(message) from None
    url = str(app.config.get("SEAL_TSA_URL") or "")
    if url and not app_config.is_web_address(url):
        raise app_config.ConfigurationError(
            f"SEAL_TSA_URL must be an http(s) address of an RFC 3161 TSA: {url!r}"
        )
    roots_file = app.config.get("SEAL_TSA_ROOT_FILE")
    if roots_file:
        from assess.signing.timestamps import load_roots

        try:
            load_roots(roots_file)
        except (OSError, ValueError) as error:
            raise app_config.ConfigurationError(f"SEAL_TSA_ROOT_FILE: {error}") from None


def register_templates(app: Flask) -> None:
    """Give templates the domain texts and small formatting helpers."""
    from assess.views import template_helpers

    app.context_processor(template_helpers.globals_for_templates)
    for name, function in template_helpers.FILTERS.items():
        app.add_template_filter(function, name)


def register_security(app: Flask) -> None:
    """Send the security headers (CSP, framing, referrer...) on every response."""
    from assess import security

    security.register_security(app)


def register_api(app: Flask) -> None:
    """Mount the versioned JSON API and its OpenAPI document."""
    from assess import api

    api.register_api(app)


def register_blueprints(app: Flask) -> None:
    """Mount one blueprint per area of the product."""
    from assess.views import (
        WholeNumberConverter,
        auth,
        charter,
        engagements,
        main,
        results,
        signoff,
        survey,
        verify,
    )

    # Before any rule is added: each <int:...> of every blueprint (the API's too) reads it.
    app.url_map.converters["int"] = WholeNumberConverter
    for module in (main, auth, engagements, results, survey, charter, signoff, verify):
        app.register_blueprint(module.bp)
    app.register_blueprint(signoff.public)


def register_error_handlers(app: Flask) -> None:
    """Answer every error with a friendly page in the product's layout."""
    from assess.views import errors

    errors.register(app)
