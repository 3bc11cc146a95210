"""gunicorn settings for production serving, all from environment variables.

    gunicorn -c python:assess.serving 'assess:create_app()'

BIND (default 127.0.0.1:8000), WEB_CONCURRENCY (worker processes; default: one per core),
GUNICORN_THREADS (threads per worker; default 4), GUNICORN_WORKER_CLASS (default gthread),
GUNICORN_TIMEOUT (seconds; default 30), GUNICORN_MAX_REQUESTS (recycle a worker after this
many requests; default 20000), GUNICORN_ACCESS_LOG ("-": stdout, the default; empty: off),
FORWARDED_ALLOW_IPS (proxies whose X-Forwarded-* headers count; default 127.0.0.1).
Each worker is a separate process with its own durable_rules host and charter caches;
all shared state lives in PostgreSQL (data) and Redis (rate-limit counters).
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any, NoReturn

from gunicorn.glogging import Logger

from assess.access_log import hide_link_tokens, without_link_tokens
from assess.config import ConfigurationError, whole_number

WORKER_CLASSES = ("gthread", "sync")


def _refuse(message: str) -> NoReturn:
    # gunicorn would print a traceback for an exception raised here; one line says it all.
    sys.exit(f"Error: {message}")


def _int(name: str, default: int, low: int = 1, high: int = 10_000_000) -> int:
    try:
        return whole_number(name, default, low, high)
    except ConfigurationError as error:
        _refuse(str(error))


def _text(name: str, default: str, allowed: tuple[str, ...] = ()) -> str:
    value = os.environ.get(name, "")
    if not value.strip():  # unset or blank: the default, as for every other setting
        return default
    if allowed and value.strip() not in allowed:
        expected = " or ".join(allowed) if allowed else "a value"
        _refuse(f"{name} must be {expected}: {value!r}")
    return value.strip()


def _bind() -> str:
    """Read BIND: HOST:PORT, [IPV6]:PORT, unix:PATH or fd://N, as gunicorn takes it. A port
    gunicorn cannot use would otherwise end it with a traceback."""
    value = _text("BIND", "127.0.0.1:8000")
    if value.startswith(("unix:", "fd://")):
        return value
    host, colon, port = value.rpartition(":")
    if colon and not host.endswith("]") and ":" in host:  # a bare IPv6 address, no port
        return value
    if colon and not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        _refuse(f"BIND must be HOST:PORT with a port from 1 to 65535: {value!r}")
    return value


bind = _bind()
workers = _int("WEB_CONCURRENCY", os.cpu_count() or 1, high=256)
# Threads overlap database waits; the rules engine serialises itself with a lock per process.
worker_class = _text("GUNICORN_WORKER_CLASS", "gthread", WORKER_CLASSES)
threads = _int("GUNICORN_THREADS", 4, high=256)
timeout = _int("GUNICORN_TIMEOUT", 30, high=3600)
graceful_timeout = 20
# One request per connection. The node serves plain HTTP behind a TLS-terminating proxy,
# which keeps the clients' connections; a connection the proxy kept open to a worker would
# bind every request on it to the worker that happened to accept it (one worker busy, the
# other idle). Closed after each answer, the next connection goes to whichever worker is
# free to take it.
keepalive = 0
# Recycle workers now and then, so a slow leak never becomes an outage.
max_requests = _int("GUNICORN_MAX_REQUESTS", 20000)
max_requests_jitter = max_requests // 10
# Set but blank turns the log off: a name of spaces would otherwise become a log file.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-").strip() or None
logger_class = "assess.serving.AccessLog"
errorlog = "-"
# gunicorn's control socket has one path per user (~/.gunicorn/gunicorn.ctl): a second node
# on the same host would take it over from the first. Nothing here uses it.
control_socket_disable = True
# Behind a reverse proxy on the same host: trust its X-Forwarded-* headers only.
forwarded_allow_ips = _text("FORWARDED_ALLOW_IPS", "127.0.0.1")


class AccessLog(Logger):  # type: ignore[misc]
    """gunicorn's logger, with personal links hidden in whatever a log line shows."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # gunicorn's own messages name the request they are about: a request line it
        # refuses, or "Error handling request /i/..." when an answer fails.
        hide_link_tokens(self.error_log)

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: without_link_tokens(value) if isinstance(value, str) else value
            for key, value in atoms.items()
        }


def on_starting(_server: Any) -> None:
    """Build the app once before gunicorn listens: a setting the app refuses then stops
    gunicorn with the app's one line, instead of a traceback from every worker.

    Built in a fresh interpreter, not here: the workers are forked from this process, and
    durable_rules' native state (compiled for ASSESS_RULES_DIR) must not be forked.
    """
    checked = subprocess.run(
        [sys.executable, "-c", "from assess.serving import check_app; check_app()"],
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if checked.returncode != 0:  # the check has said why on stderr
        sys.exit(max(checked.returncode, 1))


def check_app() -> None:
    """Build the app from the environment; exit 1 with its one line if a setting is refused.
    Warn in one line of what starts but works only on this node: Redis not answering (each
    process counts the rate limits on its own) and a shared database with no SECRET_KEY."""
    from assess import create_app

    try:
        app = create_app()
    except ConfigurationError as error:
        _refuse(error.message)
    if not os.environ.get("SECRET_KEY") and app.config["DATABASE_URL"].startswith("postgresql"):
        # The generated key is this machine's own: nodes sharing the database would each
        # refuse the others' sessions and forms (README: give them the same SECRET_KEY).
        print(
            "Warning: SECRET_KEY is not set: this node signs sessions with its own key from"
            " the instance folder; every node sharing the database needs the same SECRET_KEY",
            file=sys.stderr,
        )
    problem = redis_problem(app.config.get("REDIS_URL"))
    if problem:
        print(
            f"Warning: REDIS_URL: Redis does not answer ({problem}); rate limits count in"
            " each process's memory until it does",
            file=sys.stderr,
        )


def redis_problem(url: str | None) -> str | None:
    """Return why the Redis server at url does not answer, or None when it does (or none
    is configured)."""
    import redis

    if not url:
        return None
    client = redis.Redis.from_url(
        url.replace("redis+unix://", "unix://", 1), socket_connect_timeout=2, socket_timeout=2
    )
    try:
        client.ping()
    except redis.RedisError as error:
        return " ".join(str(error).split()) or type(error).__name__
    finally:
        client.close()
    return None


def post_worker_init(worker: Any) -> None:
    """Warm the charter renderer before the worker takes requests (fonts, styles, PDF writer).

    Without the charter fonts the worker still serves everything else; charters then fail
    with the error that names the Debian packages to install.
    """
    from assess.charter.errors import CharterError
    from assess.charter.pdf import warm_up

    try:
        warm_up()
    except CharterError as error:
        worker.log.warning("charter renderer not warmed up: %s", error)
    except Exception as error:
        # Raised from here, it would stop the worker booting, and gunicorn the whole service.
        worker.log.exception("charter renderer not warmed up: %s", error)
