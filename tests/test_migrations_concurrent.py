"""Several nodes starting at once migrate one PostgreSQL database without a race."""

from __future__ import annotations

import os
import subprocess
import sys

from servingtools import PG_SERVER
from sqlalchemy import create_engine, inspect, text

from assess.testing import fresh_postgres


def test_simultaneous_upgrades_of_one_database_all_succeed() -> None:
    with fresh_postgres(PG_SERVER, "assess_migrate", migrated=False) as url:
        nodes = [
            subprocess.Popen(
                [sys.executable, "-m", "assess.cli", "db", "upgrade"],
                env={**os.environ, "DATABASE_URL": url},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        outcomes = [node.communicate(timeout=120) for node in nodes]
        assert [node.returncode for node in nodes] == [0, 0, 0], [err for _, err in outcomes]
        engine = create_engine(url)
        with engine.connect() as connection:
            assert "engagements" in inspect(connection).get_table_names()
            versions = connection.execute(text("SELECT count(*) FROM alembic_version")).scalar()
            assert versions == 1
        engine.dispose()
