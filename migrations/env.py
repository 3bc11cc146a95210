"""Alembic environment: migrate the database the application is configured for."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, Engine, create_engine, event, pool

# The API's token model lives with the API: imported here so that a comparison made without
# the app (alembic check, revision --autogenerate) still sees its table.
import assess.api.tokens  # noqa: F401
from assess.models import Base

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    """Return the URL given by the caller, or the application's configured database."""
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if url:
        return str(url)
    from assess import create_app

    return str(create_app().config["DATABASE_URL"])


def transactional_ddl(engine: Engine) -> None:
    """Make one transaction of the whole upgrade on SQLite, as it is on PostgreSQL, holding
    the database's write lock from its start.

    Python's sqlite3 driver opens transactions for data changes only, so each ALTER TABLE
    would stand on its own: a migration failing half-way would leave its first columns in
    place, and every later upgrade would stop on them. SQLite itself can roll schema
    changes back; with the driver's own handling off, the transaction is begun here.
    Begun IMMEDIATE, as PostgreSQL's advisory lock does there: upgrades started together
    take turns, the later ones reading the schema the first one left. A deferred transaction
    would read first and find the database locked when it came to write.
    """

    @event.listens_for(engine, "connect")
    def _driver_leaves_transactions_alone(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = database_url()
    # An upgrade waits its turn behind another (see transactional_ddl) rather than fail.
    waits = {"connect_args": {"timeout": 300}} if url.startswith("sqlite") else {}
    engine = create_engine(url, poolclass=pool.NullPool, **waits)
    if engine.dialect.name == "sqlite":
        transactional_ddl(engine)
    with engine.connect() as connection:
        # SQLite cannot alter constraints in place; batch mode rebuilds tables instead.
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            # Alembic takes SQLite for a database without transactional DDL and would commit
            # after each migration, letting a concurrent upgrade in between run the next
            # one again; with transactional_ddl above, the whole upgrade is one transaction.
            transactional_ddl=True,
            # So `alembic revision --autogenerate` and `alembic check` see a changed default.
            compare_server_default=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Several nodes may start at once: one migrates, the others wait and find
                # the schema up to date. The lock ends with the transaction.
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7243011)")
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
