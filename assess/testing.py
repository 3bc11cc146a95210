"""Throwaway databases and servers for the test suite and the benchmarks (never used by the
app)."""

from __future__ import annotations

import atexit
import signal
import subprocess
import threading
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
    """Create a PostgreSQL database on the server, migrated unless asked not to; drop it after.

    A migrated one is a copy of a database this process migrated once: copying takes a
    tenth of the time migrating does.
    """
    server = make_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    template = f' TEMPLATE "{_migrated_template(server_url)}"' if migrated else ""
    _administer(server_url, f'CREATE DATABASE "{name}"{template}')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        _administer(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _administer(url: str, statement: str) -> None:
    """Run one statement that cannot run in a transaction (creating or dropping a database)."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(statement))
    admin.dispose()


# This process's migrated database on each server, by the server's maintenance database
# (which outlives any database a test named the server by).
_templates: dict[str, str] = {}
_making_template = threading.Lock()


def _migrated_template(server_url: str) -> str:
    """Name this process's migrated database on the server, made on first use. Nothing
    connects to it after migrating, as copying requires."""
    server = make_url(server_url)
    maintenance = server.set(database="postgres").render_as_string(hide_password=False)
    with _making_template:
        if maintenance in _templates:
            return _templates[maintenance]
        if not _templates:
            atexit.register(drop_templates)
        name = f"assess_template_{uuid.uuid4().hex[:12]}"
        _templates[maintenance] = name
        _administer(server_url, f'CREATE DATABASE "{name}"')
        upgrade_database(server.set(database=name).render_as_string(hide_password=False))
        return name


def drop_templates() -> list[str]:
    """Drop the databases ``fresh_postgres`` copies, at the end of a process (a test worker,
    which ends without running exit handlers, calls it itself); return their names."""
    dropped = []
    with _making_template:
        while _templates:
            maintenance, name = _templates.popitem()
            _administer(maintenance, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            dropped.append(name)
    return dropped


def terminate(process: subprocess.Popen[bytes], grace: float = 20) -> None:
    """Stop a server as its supervisor would: asked first, killed if it will not go."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
