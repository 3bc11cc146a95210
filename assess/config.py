"""Configuration from the environment; create_app(config) overrides any key."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import SplitResult, urlsplit

import click

from assess.text import join_names

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


# Shorter keys are guessable, and whoever guesses the key can sign in as any consultant.
SECRET_KEY_MIN = 32


class ConfigurationError(click.ClickException):
    """A setting cannot work as given; the message names the setting and says why.

    A click error so that every command line building the app (``assess``, ``flask --app
    assess``) reports it as one ``Error:`` line and exit status 1, not a traceback.
    """


def _given(name: str) -> str | None:
    """Return a variable's value, or None when it is unset or blank (as ``VAR=`` in an env
    file): a blank value means the default, never "off"."""
    value = os.environ.get(name)
    return value.strip() if value is not None and value.strip() else None


def _flag(name: str, default: bool) -> bool:
    """Read a yes/no environment variable."""
    value = _given(name)
    if value is None:
        return default
    if value.lower() not in _TRUE | _FALSE:
        raise ConfigurationError(f"{name} must be on or off (1/0, true/false): {value!r}")
    return value.lower() in _TRUE


def whole_number(name: str, default: int, low: int, high: int) -> int:
    """Read a whole number within [low, high]."""
    value = _given(name)
    if value is None:
        return default
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        raise ConfigurationError(f"{name} must be a whole number from {low} to {high}: {value!r}")
    return int(value)


def rate_limit(name: str, default: str) -> str:
    """Read a rate limit such as "10 per minute;50 per hour". Refused when it cannot be
    read: Flask-Limiter would skip it silently, leaving the route unlimited."""
    from limits import parse_many

    value = _given(name)
    if value is None:
        return default
    try:
        parse_many(value)
    except ValueError:
        raise ConfigurationError(
            f"{name} must be limits such as '10 per minute;50 per hour': {value!r}"
        ) from None
    return value


def _url_parts(value: str) -> SplitResult | None:
    """Split a URL, or return None when it cannot be read (a port that is not a number)."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (reading it checks it is a number)
    except ValueError:
        return None
    return parts


def redis_url() -> str | None:
    """Return REDIS_URL after checking it names a Redis server the way the Redis client
    reads it (never echoed: it may hold a password)."""
    from redis.connection import parse_url

    value = _given("REDIS_URL")
    if value is None:
        return None
    parts = _url_parts(value)
    if parts is None:
        raise ConfigurationError("REDIS_URL has a port that is not a number")
    if parts.scheme not in ("redis", "rediss", "unix", "redis+unix"):
        raise ConfigurationError(
            "REDIS_URL must start with redis://, rediss:// or unix:// (as redis://HOST:6379/0)"
        )
    database = parts.path.strip("/") if parts.scheme in ("redis", "rediss") else ""
    if database and not (database.isascii() and database.isdigit()):
        # The Redis client would quietly use database 0 instead.
        raise ConfigurationError(
            "REDIS_URL must end with a database number, as redis://HOST:6379/0"
        )
    try:  # the options after ? (socket_timeout=...) are read as the client will read them
        parse_url(value.replace("redis+unix://", "unix://", 1))  # type: ignore[no-untyped-call]
    except ValueError as error:
        raise ConfigurationError(f"REDIS_URL cannot be used: {error}") from None
    return value


def public_base_url() -> str | None:
    """Read PUBLIC_BASE_URL: the http(s) address people reach the service at, which links
    handed out and QR codes carry. Refused unless it is one, so no link is made unusable."""
    value = _given("PUBLIC_BASE_URL")
    if value is None:
        return None
    parts = _url_parts(value)
    if parts is None or not is_web_address(value) or parts.query or parts.fragment:
        raise ConfigurationError(
            f"PUBLIC_BASE_URL must be an http(s) address such as https://assess.example.com: "
            f"{value!r}"
        )
    return value.rstrip("/")


def is_web_address(value: str) -> bool:
    """Tell whether value is an http(s) address a client can reach: a host named, a port
    that is a number, no space or control character."""
    parts = _url_parts(value)
    return (
        parts is not None
        and parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and value.isprintable()
        and " " not in value
    )


def rate_limit_storage(redis: str | None) -> str:
    """Return where rate limits count: Redis when configured, else this process's memory.
    The rate-limit library names a Redis socket redis+unix://, not unix://."""
    if redis is None:
        return "memory://"
    return "redis+unix://" + redis[len("unix://") :] if redis.startswith("unix://") else redis


def database_url(instance_path: str) -> str:
    """Return DATABASE_URL, or the embedded SQLite file under the instance folder."""
    value = _given("DATABASE_URL")
    if value is None:
        return f"sqlite:///{os.path.join(instance_path, 'assess.sqlite3')}"
    if not postgresql_database_named(value):
        raise ConfigurationError(
            "DATABASE_URL names no database: postgresql+psycopg://USER@HOST/DATABASE"
        )
    if sqlite_in_memory(value):
        raise ConfigurationError(
            "DATABASE_URL names an in-memory SQLite database, empty for every connection and"
            " gone at exit: name its file, as sqlite:///PATH"
        )
    return value


def sqlite_in_memory(url: str) -> bool:
    """Tell whether a URL names SQLite's in-memory database (no file, or ":memory:"): the
    app could keep nothing there, and `assess db upgrade` would migrate a database that
    vanishes as it ends."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return False  # refused, with its own reason, when the app binds it
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def postgresql_database_named(url: str) -> bool:
    """Tell whether a PostgreSQL URL names its database (true of any other URL). Without
    one, PostgreSQL's client picks the database named after the system user: migrations
    and data would land in whatever database that is (a URL whose parts were left empty)."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # not a URL, or a port that is not a number:
        return True  # refused, with its own reason, when the app binds it
    named = parsed.database or parsed.query.get("dbname")  # as libpq, also ?dbname=NAME
    return bool(parsed.get_backend_name() != "postgresql" or named)


def secret_key(instance_path: str) -> str:
    """Return SECRET_KEY, or a random key kept in the instance folder across restarts."""
    configured = os.environ.get("SECRET_KEY")
    if configured is not None and not configured.strip():
        raise ConfigurationError("SECRET_KEY is set but blank: set a long random value or unset it")
    if configured and len(configured) < SECRET_KEY_MIN:
        raise ConfigurationError(  # never echoed: part of a real key is still a secret
            f"SECRET_KEY is too short: use at least {SECRET_KEY_MIN} random characters, as"
            " printed by: python3 -c 'import secrets; print(secrets.token_hex(32))'"
        )
    if configured:
        return configured
    path = os.path.join(instance_path, "secret_key")
    try:
        if not os.path.exists(path):
            _keep_new_secret_key(path)
        with open(path, encoding="ascii") as existing:
            kept = existing.read().strip()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else "not text"
        raise ConfigurationError(
            f"the secret key kept in {path} cannot be made or read ({reason}): make the"
            " instance folder writable, or set SECRET_KEY"
        ) from None
    if len(kept) < SECRET_KEY_MIN:
        # An empty key would let the app start, then fail every page that has a form.
        raise ConfigurationError(
            f"the secret key kept in {path} is {'empty' if not kept else 'too short'}: delete"
            " the file to have a new one made (everyone signs in again), or set SECRET_KEY"
        )
    return kept


def _keep_new_secret_key(path: str) -> None:
    """Write a new random key at path. Written aside, then linked into place: concurrent
    first starts agree on one key, and a start cut short leaves no empty key behind."""
    temporary = f"{path}.{os.getpid()}.{secrets.token_hex(4)}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as created:
            created.write(secrets.token_hex(32))
            created.flush()
            os.fsync(created.fileno())
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(temporary)


def instance_folder(instance_path: str) -> None:
    """Make the instance folder when something kept in it is not configured elsewhere.

    It holds the generated secret key, the SQLite database and the generated seal key; a
    deployment that sets all three elsewhere may run on a read-only file system.
    """
    kept = [
        (what, setting)
        for what, setting in (
            ("the secret key", "SECRET_KEY"),
            ("the SQLite database", "DATABASE_URL"),
            ("the seal key", "SEAL_KEY_FILE/SEAL_CERT_FILE"),
        )
        if _given(setting.split("/")[0]) is None
    ]
    if not kept:
        return
    try:
        os.makedirs(instance_path, exist_ok=True)
    except OSError as error:
        reason = "a file is in its place" if os.path.isfile(instance_path) else error.strerror
        raise ConfigurationError(
            f"the instance folder {instance_path} cannot be made ({reason or error}):"
            f" it keeps {join_names([what for what, _ in kept])}; make it a writable folder, or set"
            f" {join_names([setting for _, setting in kept])}"
        ) from None


def from_environment(instance_path: str) -> dict[str, Any]:
    """Read settings from environment variables, with embedded defaults for a laptop."""
    instance_folder(instance_path)
    redis = redis_url()
    # The engine reads ASSESS_RULES_DIR itself, as the command line does without an app.
    rules_dir = _given("ASSESS_RULES_DIR")
    if rules_dir is not None and not os.path.isdir(rules_dir):
        raise ConfigurationError(f"ASSESS_RULES_DIR is not a directory: {rules_dir!r}")
    return {
        "SECRET_KEY": secret_key(instance_path),
        "DATABASE_URL": database_url(instance_path),
        "REDIS_URL": redis,
        # Cookies: never readable from JavaScript, not sent on cross-site posts, and
        # HTTPS-only unless explicitly relaxed for a plain-http laptop run.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _flag("SESSION_COOKIE_SECURE", True),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _flag("SESSION_COOKIE_SECURE", True),
        # A consultant's sign-in lasts 12 hours; a respondent's session cookie (no sign-in)
        # until the browser closes.
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        # ... and ends a week after it began, however often it is used: a session cookie
        # copied from a shared or lost computer is not good for ever.
        "SIGN_IN_MAX_AGE": timedelta(days=7),
        # A form's CSRF token lives as long as the session it belongs to, not an hour: a
        # questionnaire page left open over lunch still saves.
        "WTF_CSRF_TIME_LIMIT": None,
        # Form posts are small; anything larger is an attack or a mistake.
        "MAX_CONTENT_LENGTH": 64 * 1024,
        "MAX_FORM_MEMORY_SIZE": 64 * 1024,
        # Rate limits are shared between processes through Redis when it is configured.
        # Set explicitly: the limiter object is shared, and would otherwise keep the
        # setting of the previous app created in the same process.
        "RATELIMIT_ENABLED": _flag("ASSESS_RATE_LIMITS", True),
        "RATELIMIT_STORAGE_URI": rate_limit_storage(redis),
        # Redis down: count in this process's memory until it is back, rather than fail.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": _given("RATELIMIT_KEY_PREFIX") or "assess",
        "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": rate_limit("ASSESS_LOGIN_RATE_LIMIT", "10 per minute;50 per hour"),
        "ACCOUNT_LOGIN_RATE_LIMIT": rate_limit(
            "ASSESS_ACCOUNT_LOGIN_RATE_LIMIT", "30 per hour;100 per day"
        ),
        # A browser the consultant signed in with keeps a device cookie this long, and with
        # it signs in while the account is paused by guesses from elsewhere; its own wrong
        # passwords beyond DEVICE_LOGIN_RATE_LIMIT count as any other client's.
        "DEVICE_COOKIE_LIFETIME": timedelta(
            days=whole_number("ASSESS_DEVICE_COOKIE_DAYS", 180, 1, 3650)
        ),
        "DEVICE_LOGIN_RATE_LIMIT": rate_limit("ASSESS_DEVICE_LOGIN_RATE_LIMIT", "10 per day"),
        "VERIFY_RATE_LIMIT": rate_limit("ASSESS_VERIFY_RATE_LIMIT", "10 per minute;100 per day"),
        "LINK_RATE_LIMIT": rate_limit("ASSESS_LINK_RATE_LIMIT", "30 per minute;300 per day"),
        # Number of reverse proxies in front of the app whose X-Forwarded-* headers to trust.
        "PROXY_HOPS": whole_number("ASSESS_PROXY_HOPS", 0, 0, 10),
        # argon2id costs; stored hashes made with other costs are upgraded at sign-in.
        "PASSWORD_HASH_TIME_COST": 3,
        "PASSWORD_HASH_MEMORY_KIB": 65536,
        # Where personal links and the QR code on a signed charter point; when unset, the
        # address the consultant reached the service at.
        "PUBLIC_BASE_URL": public_base_url(),
        "SIGNOFF_LINK_DAYS": whole_number("SIGNOFF_LINK_DAYS", 14, 1, 365),
        # The service's seal: generated into the instance folder unless a real one is given.
        "SEAL_KEY_FILE": _given("SEAL_KEY_FILE"),
        "SEAL_CERT_FILE": _given("SEAL_CERT_FILE"),
        # A passphrase is taken as given, spaces and all; only a blank one means none.
        "SEAL_KEY_PASSPHRASE": os.environ["SEAL_KEY_PASSPHRASE"]
        if _given("SEAL_KEY_PASSPHRASE")
        else None,
        # An RFC 3161 time-stamping authority for trusted time in seals, and the
        # certificates that verification trusts for it.
        "SEAL_TSA_URL": _given("SEAL_TSA_URL"),
        "SEAL_TSA_ROOT_FILE": _given("SEAL_TSA_ROOT_FILE"),
    }
