"""The suite's throwaway PostgreSQL databases: migrated copies, each its own, none left over."""

from __future__ import annotations

from servingtools import PG_SERVER
from sqlalchemy import create_engine, inspect, text

from assess.commands import migration_order
from assess.testing import drop_templates, fresh_postgres


def databases_named(prefix: str) -> set[str]:
    engine = create_engine(PG_SERVER)
    with engine.connect() as connection:
        names = connection.execute(
            text("SELECT datname FROM pg_database WHERE datname LIKE :p"), {"p": f"{prefix}%"}
        )
        found = {name for (name,) in names}
    engine.dispose()
    return found


def revision_and_tables(url: str) -> tuple[str | None, set[str]]:
    engine = create_engine(url)
    with engine.connect() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    return revision, tables


def test_fresh_databases_are_migrated_separate_and_dropped() -> None:
    newest = migration_order()[0]
    with fresh_postgres(PG_SERVER, "assess_throwaway") as first:
        engine = create_engine(first)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE scribble (note text)"))
        engine.dispose()
        # A database named as the server serves as well as the server's own.
        with fresh_postgres(first, "assess_throwaway") as second:
            first_revision, first_tables = revision_and_tables(first)
            second_revision, second_tables = revision_and_tables(second)
        assert first_revision == second_revision == newest
        assert "engagements" in second_tables and "scribble" in first_tables
        assert second_tables == first_tables - {"scribble"}
        assert second.rsplit("/", 1)[1] not in databases_named("assess_throwaway")
    assert not databases_named("assess_throwaway")
    # The migrated database they were copied from goes when the process is done with it.
    dropped = drop_templates()
    assert len(dropped) == 1
    assert not set(dropped) & databases_named("assess_template_")
