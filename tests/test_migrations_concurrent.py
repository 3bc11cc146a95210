"""Several nodes starting at once migrate one PostgreSQL database without a race."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

from servingtools import PG_SERVER
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url


def test_simultaneous_upgrades_of_one_database_all_succeed() -> None:
    server = make_url(PG_SERVER)
    name = f"assess_migrate_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
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
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
