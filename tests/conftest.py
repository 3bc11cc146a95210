"""Shared fixtures: the app on a migrated database, clients, a CLI runner, the browser."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from pdftools import RUN_FOLDER
from sqlalchemy import create_engine, text
from webtools import app_on, login, make_consultant

from assess.commands import upgrade_database
from assess.models import Base
from assess.testing import drop_templates, fresh_postgres

ARTIFACTS = Path(__file__).parent / "artifacts"
TEST_DATABASE_URL = os.environ.get("DATABASE_URL", "")


def pytest_configure(config: pytest.Config) -> None:
    """Give the run one folder its test processes share (see pdftools.read_aloud), made
    by the process that starts the others, which inherit its environment."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        os.environ[RUN_FOLDER] = tempfile.mkdtemp(prefix="assess-tests-")


def pytest_unconfigure(config: pytest.Config) -> None:
    if "PYTEST_XDIST_WORKER" not in os.environ:
        shutil.rmtree(os.environ.pop(RUN_FOLDER), ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse two tests with one id: parallel runs (xdist) would silently run only one."""
    counts = Counter(item.nodeid for item in items)
    repeated = sorted(nodeid for nodeid, count in counts.items() if count > 1)
    if repeated:
        raise pytest.UsageError("tests share an id: " + ", ".join(repeated[:5]))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Drive Debian's chromium; Playwright's own browser download is not available."""
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium"}


@pytest.fixture(scope="session", autouse=True)
def postgres_templates() -> Iterator[None]:
    """Drop the migrated databases this process copied fresh PostgreSQL ones from."""
    yield
    drop_templates()


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Create and migrate a database for this test process; drop it afterwards.

    With DATABASE_URL pointing at PostgreSQL, each process gets its own fresh
    database; otherwise a migrated SQLite file serves as a template copied per test.
    """
    if TEST_DATABASE_URL.startswith("postgresql"):
        with fresh_postgres(TEST_DATABASE_URL) as url:
            yield url
    else:
        path = tmp_path_factory.mktemp("db") / "template.sqlite3"
        upgrade_database(f"sqlite:///{path}")
        yield str(path)


@pytest.fixture
def database_url(migrated_database: str, tmp_path: Path) -> Iterator[str]:
    """Return an empty, migrated database for one test."""
    if migrated_database.startswith("postgresql"):
        yield migrated_database
        # Emptied, ids starting again at 1: deleting a test's few rows takes a third of the
        # time truncating does, which makes new files for every table.
        engine = create_engine(migrated_database)
        with engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
            sequences = connection.execute(text("SELECT sequencename FROM pg_sequences"))
            for (sequence,) in sequences.all():
                connection.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
        engine.dispose()
    else:
        path = tmp_path / "assess.sqlite3"
        shutil.copyfile(migrated_database, path)
        yield f"sqlite:///{path}"


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """Return the application on a fresh database, configured as in production."""
    with app_on(database_url, tmp_path) as app:
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def consultant(app: Flask) -> int:
    return make_consultant(app)


@pytest.fixture
def signed_in(client: FlaskClient, consultant: int) -> FlaskClient:
    """Return a client signed in as the consultant."""
    login(client)
    return client


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Return the folder for screenshots (ignored by git)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
