"""Several nodes starting at once migrate one database without a race: PostgreSQL, and the
SQLite file several commands on one machine share."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from servingtools import PG_SERVER
from sqlalchemy import create_engine, inspect, text

from assess.testing import fresh_postgres


def upgrade_at_once(url: str, count: int = 3) -> None:
    """Run `assess db upgrade` several times at once; each must succeed."""
    nodes = [
        subprocess.Popen(
            [sys.executable, "-m", "assess.cli", "db", "upgrade"],
            env={**os.environ, "DATABASE_URL": url},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    outcomes = [node.communicate(timeout=120) for node in nodes]
    assert [node.returncode for node in nodes] == [0] * count, [err for _, err in outcomes]
    assert all(out == "Database is up to date.\n" for out, _ in outcomes), outcomes


def assert_migrated_once(url: str) -> None:
    """The schema is there, and recorded at one revision."""
    engine = create_engine(url)
    with engine.connect() as connection:
        assert "engagements" in inspect(connection).get_table_names()
        versions = connection.execute(text("SELECT count(*) FROM alembic_version")).scalar()
        assert versions == 1
    engine.dispose()


def test_simultaneous_upgrades_of_one_database_all_succeed() -> None:
    with fresh_postgres(PG_SERVER, "assess_migrate", migrated=False) as url:
        upgrade_at_once(url)
        assert_migrated_once(url)


def test_simultaneous_upgrades_of_one_sqlite_file_all_succeed(tmp_path: Path) -> None:
    # The others wait for the one migrating, then find the schema up to date: none fails
    # with the database "locked", which reads as if DATABASE_URL were wrong.
    for attempt in range(2):
        url = f"sqlite:///{tmp_path / f'assess-{attempt}.sqlite3'}"
        upgrade_at_once(url, count=4)
        assert_migrated_once(url)
