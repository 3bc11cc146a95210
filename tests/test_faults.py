"""A part failing in the middle of an operation: the renderer, the seal, the database.

Nothing half-done is ever stored, the person is told in a page (or one line on the command
line) rather than a traceback, and the same operation works once the part is back.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from servingtools import PG_SERVER
from sqlalchemy import create_engine, text

from assess.commands import alembic_config
from assess.testing import fresh_postgres

# A migration this version is past: its consultants lack columns the app reads.
OLDER_MIGRATION = "0005_signoff_public_url"


def assess_command(
    *args: str, env: dict[str, str], given: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run the `assess` command line in its own process, as a terminal would."""
    return subprocess.run(
        [sys.executable, "-m", "assess.cli", *args],
        input=given,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@contextmanager
def database_at(kind: str, tmp_path: Path, revision: str) -> Iterator[str]:
    """A new database of that kind, migrated only as far as the revision."""
    from alembic import command as alembic_command

    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'older.sqlite3'}"
        alembic_command.upgrade(alembic_config(url), revision)
        yield url
        return
    with fresh_postgres(PG_SERVER, "assess_faults", migrated=False) as url:
        alembic_command.upgrade(alembic_config(url), revision)
        yield url
        create_engine(url).dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_commands_on_a_database_not_migrated_far_enough_say_to_upgrade(
    kind: str, tmp_path: Path
) -> None:
    with database_at(kind, tmp_path, OLDER_MIGRATION) as url:
        for args, given in (
            (["user", "create", "new@example.com", "--name", "New"], "a long password\n"),
            (["demo"], ""),
        ):
            result = assess_command(*args, env={"DATABASE_URL": url}, given=given)
            assert result.returncode == 1, result.stderr
            assert result.stderr == (
                "Error: the database is not migrated as far as this version needs; run "
                "'assess db upgrade'.\n"
            )
        engine = create_engine(url)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM consultants")).scalar() == 0
        engine.dispose()
