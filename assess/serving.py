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
from typing import Any


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = _int("WEB_CONCURRENCY", os.cpu_count() or 1)
# Threads overlap database waits; the rules engine serialises itself with a lock per process.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = _int("GUNICORN_THREADS", 4)
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then, so a slow leak never becomes an outage.
max_requests = _int("GUNICORN_MAX_REQUESTS", 20000)
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
# Behind a reverse proxy on the same host: trust its X-Forwarded-* headers only.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


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
