"""Throwaway databases and servers for the test suite and the benchmarks (never used by the
app)."""

from __future__ import annotations

import signal
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from assess.commands import upgrade_database


@contextmanager
def fresh_postgres(
    server_url: str, prefix: str = "assess_test", *, migrated: bool = True
) -> Iterator[str]:
    """Create a PostgreSQL database on the server, migrated unless asked not to; drop it after."""
    server = make_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        if migrated:
            upgrade_database(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def terminate(process: subprocess.Popen[bytes], grace: float = 20) -> None:
    """Stop a server as its supervisor would: asked first, killed if it will not go."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
