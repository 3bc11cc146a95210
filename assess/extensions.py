"""Extensions: created once here, bound to each application with init_app."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from assess.config import ConfigurationError

# How long a writer waits for another's transaction on SQLite. Below gunicorn's worker
# timeout (30 s unless GUNICORN_TIMEOUT says otherwise), so a request kept waiting gets the
# "briefly unavailable" answer (503) instead of a worker killed in the middle of it.
SQLITE_BUSY_SECONDS = 20


class Database:
    """One engine per application and one session per request (or CLI command)."""

    def init_app(self, app: Flask) -> None:
        """Create the engine for DATABASE_URL and close the session after each request."""
        url = app.config["DATABASE_URL"]
        check_database_url(url)
        # A failed statement's values (names, answers, email addresses, password hashes)
        # stay out of its error, and so out of the error log its traceback goes to.
        options: dict[str, Any] = {"future": True, "hide_parameters": True}
        if url.startswith("sqlite"):
            # The dev server and the browser tests serve requests from several threads; a
            # writer waits for another's transaction (a sign-off sealing) rather than fail.
            options["connect_args"] = {
                "check_same_thread": False,
                "timeout": SQLITE_BUSY_SECONDS,
            }
        else:
            options["pool_pre_ping"] = True
            # A server that accepts connections but never answers must not hang requests
            # (and /healthz) for ever: give up connecting after a few seconds.
            options["connect_args"] = {"connect_timeout": 5}
            options["pool_timeout"] = 10
        if url.startswith("sqlite"):
            keep_private(make_url(url).database)
        engine = create_engine(url, **options)
        if url.startswith("sqlite"):
            event.listen(engine, "connect", _sqlite_like_postgresql)
        event.listen(engine, "handle_error", _discard_when_commit_fails)
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        app.extensions["assess.db"] = engine
        sessions = scoped_session(factory)
        app.extensions["assess.session"] = sessions

        @app.teardown_appcontext
        def remove_session(_exc: BaseException | None) -> None:
            sessions.remove()

    @property
    def engine(self) -> Engine:
        """Return the engine of the current application."""
        engine: Engine = current_app.extensions["assess.db"]
        return engine

    @property
    def session(self) -> Session:
        """Return the session of the current application context."""
        sessions: scoped_session[Session] = current_app.extensions["assess.session"]
        return sessions()


def _discard_when_commit_fails(context: ExceptionContext) -> None:
    """Close a connection whose COMMIT (or ROLLBACK) failed, rather than reuse it.

    Its transaction is then in doubt: SQLite keeps one whose COMMIT found the database
    locked open, with its writes, and SQLAlchemy would hand the connection on as reset, so
    the next request's commit would store what this one was told was not stored.
    """
    # Neither a statement nor its results: the failure is of the transaction itself.
    transaction = context.statement is None and context.execution_context is None
    if transaction and context.connection is not None and not context.is_pre_ping:
        context.is_disconnect = True
        context.invalidate_pool_on_disconnect = False  # the other connections are fine


def check_database_url(url: str) -> None:
    """Refuse a DATABASE_URL that names no database this app runs on."""
    try:
        parsed = make_url(url)
        port = parsed.port  # reading it checks it is a number
    except (ArgumentError, ValueError):
        # Not echoed: the text may hold a password.
        raise ConfigurationError("DATABASE_URL cannot be read as a database address") from None
    if port is not None and not 0 < port < 65536:
        raise ConfigurationError(f"DATABASE_URL has port {port}: a port is from 1 to 65535")
    backend = parsed.get_backend_name()
    try:
        driver = parsed.get_driver_name()
    except NoSuchModuleError:  # a scheme SQLAlchemy has no dialect for, as postgres://
        raise ConfigurationError(
            f"DATABASE_URL starts with {backend}://, not a database this app runs on; use"
            " sqlite:///PATH or postgresql://USER@HOST/DATABASE"
        ) from None
    if backend not in ("sqlite", "postgresql"):
        raise ConfigurationError(
            f"DATABASE_URL names a {backend} database; use sqlite:///PATH or"
            " postgresql://USER@HOST/DATABASE"
        )
    if backend == "postgresql" and driver != "psycopg":
        raise ConfigurationError(
            f"DATABASE_URL asks for the {driver} driver; this app talks to PostgreSQL"
            " through psycopg 3: postgresql://USER@HOST/DATABASE"
        )
    if backend == "sqlite" and driver != "pysqlite":
        raise ConfigurationError(
            f"DATABASE_URL asks for the {driver} driver; this app talks to SQLite"
            " through Python's sqlite3: sqlite:///PATH"
        )
    if backend == "sqlite" and parsed.query:
        raise ConfigurationError("DATABASE_URL for SQLite takes no options after ?: sqlite:///PATH")
    if backend == "postgresql" and parsed.query:
        from psycopg import ProgrammingError
        from psycopg.conninfo import make_conninfo

        try:  # the options after ? go to PostgreSQL's client library: it knows their names
            make_conninfo("", **dict.fromkeys(parsed.query, ""))
        except ProgrammingError as error:
            reason = str(error).strip().splitlines()[0]
            raise ConfigurationError(f"DATABASE_URL cannot be used: {reason}") from None


def keep_private(path: str | None) -> None:
    """Make the SQLite file readable by its owner only, as the secret key and the seal key
    are: SQLite would create it readable by every local user, and it holds password hashes
    and the parties' personal data. Its journal files take the same permissions."""
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    try:
        os.close(os.open(path, os.O_CREAT | os.O_RDONLY, 0o600))
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, 0o600)
    except OSError:
        return  # a folder that does not exist, or another user's file: connecting says so


def _sqlite_like_postgresql(dbapi_connection: Any, _record: Any) -> None:
    """Make SQLite enforce foreign keys and compare text without case in every script,
    as PostgreSQL does (its own lower(), which ILIKE becomes, knows only ASCII).

    Deleted rows are overwritten in the file too: whatever the build's default, an
    engagement deleted for good leaves no names or answers to read in the free pages."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)


def _lower(text: Any) -> Any:
    return text.lower() if isinstance(text, str) else text


db = Database()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address)


def _link_limit() -> str:
    return str(current_app.config["LINK_RATE_LIMIT"])


def _dead_link(response: Any) -> bool:
    return response.status_code in (404, 410)


# For each blueprint of personal links (and of charter ids on /verify), how to find what a
# token opens (None: nothing).
link_lookups: dict[str, Callable[[str], object | None]] = {}


def _known_link() -> bool:
    """Say whether the request's link token was ever issued (live, expired or revoked).

    Known links are never limited: guessing is what the limit bounds, and an office whose
    people share one address must not be locked out of their own links by a guesser there.
    Asked once per limit, so the answer is kept for the request. It must not raise: the
    limiter would take any error for its storage failing.
    """
    if "known_link" not in g:
        g.known_link = _look_up_link()
    return bool(g.known_link)


def _look_up_link() -> bool:
    arguments = request.view_args or {}
    token = arguments.get("token", arguments.get("document_id"))
    look_up = link_lookups.get(request.blueprint or "")
    if look_up is None or not isinstance(token, str):
        return False
    try:
        return look_up(token) is not None
    except SQLAlchemyError:  # counted as unknown; the page itself reports the database
        db.session.rollback()
        return False


# Personal links (questionnaire, sign-off) carry unguessable tokens; this bounds guessing
# anyway. Only tokens that were never issued count, and issued links always open, so a
# respondent at work is never slowed down; one counter per client spans every kind of link.
personal_link_limit = limiter.shared_limit(
    _link_limit, scope="personal-links", deduct_when=_dead_link, exempt_when=_known_link
)
