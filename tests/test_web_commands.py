"""The web app's commands: migrations, consultant accounts, demo data.

The tests marked ``db`` work on the suite's own database, so they run again on PostgreSQL;
the others name the database they need (a file, or the server) whichever one that is.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apitools import bearer
from flask import Flask
from flask.testing import FlaskCliRunner
from servingtools import PG_SERVER, ROOT, assess_command
from sqlalchemy import create_engine, func, inspect, make_url, select, text
from webtools import ENGAGEMENT, PASSWORD, login, make_consultant, post

from assess.commands import db_cli, demo, user_cli
from assess.extensions import db
from assess.models import Base, Consultant, DecisionRecord, Engagement, utcnow
from assess.testing import fresh_postgres


@pytest.mark.db
def test_migrations_match_the_models(app: Flask) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with app.app_context(), db.engine.connect() as connection:
        # Server defaults too: rows the migrations' own statements write take those.
        context = MigrationContext.configure(connection, opts={"compare_server_default": True})
        diff = compare_metadata(context, Base.metadata)
        assert diff == []
        assert set(inspect(connection).get_table_names()) >= set(Base.metadata.tables)


@contextlib.contextmanager
def empty_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the kind named, never migrated."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    else:
        with fresh_postgres(PG_SERVER, "assess_downgrade", migrated=False) as url:
            yield url


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_every_migration_downgrades_cleanly_and_upgrades_again(kind: str, tmp_path: Path) -> None:
    """Each migration undone leaves the schema the one before it made, down to nothing (no
    table, trigger, function, sequence or type left behind), and the whole way up again
    matches the models: a release can be rolled back."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from assess.commands import alembic_config, migration_order

    with empty_database(kind, tmp_path) as url:
        config = alembic_config(url)
        order = list(reversed(migration_order()))  # the oldest first
        after: list[dict[str, Any]] = []
        for revision in order:
            command.upgrade(config, revision)
            after.append(schema_of(url))
        for index in reversed(range(len(order))):
            command.downgrade(config, order[index - 1] if index else "base")
            if index:
                assert schema_of(url) == after[index - 1], f"downgrading {order[index]}"
        emptied = schema_of(url)
        assert set(emptied["tables"]) == {"alembic_version"} and emptied["others"] == []
        command.upgrade(config, "head")
        assert schema_of(url) == after[-1]
        engine = create_engine(url)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_server_default": True})
            assert compare_metadata(context, Base.metadata) == []
        engine.dispose()


def schema_of(url: str) -> dict[str, Any]:
    """A database's tables with their columns, indexes and keys, and the triggers,
    functions, sequences and types beside them (frozen rows refuse changes by trigger)."""
    engine = create_engine(url)
    with engine.connect() as connection:
        found = inspect(connection)
        tables = {
            name: (
                sorted(str(column) for column in found.get_columns(name)),
                sorted(str(index) for index in found.get_indexes(name)),
                sorted(str(key) for key in found.get_foreign_keys(name)),
                sorted(str(unique) for unique in found.get_unique_constraints(name)),
            )
            for name in found.get_table_names()
        }
        if connection.dialect.name == "postgresql":
            others = connection.execute(
                text(
                    "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t WHERE NOT t.tgisinternal"
                    " UNION ALL SELECT pg_get_functiondef(p.oid) FROM pg_proc p"
                    " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
                    " UNION ALL SELECT c.relname::text FROM pg_class c"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = 'public' AND c.relkind = 'S'"
                    " UNION ALL SELECT t.typname::text FROM pg_type t"
                    " JOIN pg_namespace n ON n.oid = t.typnamespace"
                    " WHERE n.nspname = 'public' AND t.typtype = 'e'"
                )
            ).scalars()
        else:
            others = connection.execute(
                text("SELECT sql FROM sqlite_master WHERE type = 'trigger'")
            ).scalars()
        code = sorted(" ".join(str(line).split()) for line in others)
    engine.dispose()
    return {"tables": tables, "others": code}


def test_alembic_check_on_its_own_finds_the_migrations_complete(tmp_path: Path) -> None:
    """`alembic check` and `alembic revision --autogenerate`, given a database's address, load
    no app: every table must still be in the metadata they compare with, or a generated
    migration would drop it."""
    script = (
        "import sys\n"
        "from alembic import command\n"
        "from alembic.config import Config\n"
        "config = Config('alembic.ini')\n"
        "config.set_main_option('sqlalchemy.url', sys.argv[1])\n"
        "command.upgrade(config, 'head')\n"
        "command.check(config)\n"
    )
    checked = subprocess.run(
        [sys.executable, "-c", script, f"sqlite:///{tmp_path / 'check.db'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stderr[-2000:]


@pytest.mark.db
def test_db_upgrade_is_idempotent(runner: FlaskCliRunner) -> None:
    result = runner.invoke(db_cli, ["upgrade"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


@pytest.mark.db
def test_db_upgrade_of_a_database_a_newer_version_migrated_is_one_line(
    app: Flask, runner: FlaskCliRunner
) -> None:
    with app.app_context(), db.engine.begin() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeedbeef'"))
    try:
        result = runner.invoke(db_cli, ["upgrade"])
    finally:
        with app.app_context(), db.engine.begin() as connection:
            connection.execute(
                text("UPDATE alembic_version SET version_num = :revision"), {"revision": revision}
            )
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.output == (
        "Error: the database is at migration f00dfeedbeef, which this version of assess does"
        " not know: a newer version migrated it. Run that version, or restore a backup.\n"
    )


def test_db_upgrade_of_a_database_holding_tables_it_did_not_make_is_one_line(
    tmp_path: Path,
) -> None:
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as connection:  # another application's, say
        connection.execute("CREATE TABLE consultants (id INTEGER PRIMARY KEY, name TEXT)")
    result = assess_command("db", "upgrade", env={"DATABASE_URL": f"sqlite:///{other}"})
    assert result.returncode == 1
    assert result.stderr == (
        "Error: the database already has a table the migrations create (table consultants"
        " already exists); does DATABASE_URL name another application's database?\n"
    )


@pytest.mark.parametrize("schema", ["unusable", "read-only"])
def test_a_database_account_without_rights_is_one_line_not_a_trace(schema: str) -> None:
    # Roles belong to the whole server: each run names its own, so parallel runs never meet.
    role = f"assess_no_rights_{secrets.token_hex(4)}"
    with fresh_postgres(PG_SERVER, "assess_rights") as url:
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:  # an account that may sign in, and no more
                connection.execute(text(f"CREATE ROLE {role} LOGIN"))
                connection.execute(text("REVOKE ALL ON SCHEMA public FROM PUBLIC"))
                if schema == "read-only":
                    connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
            account = make_url(url).set(username=role).render_as_string(False)
            # (Where the account cannot see the tables, other commands say to create them.)
            commands = [["db", "upgrade"]] + [["user", "create", "a@b.example"]] * (
                schema == "read-only"
            )
            for args in commands:
                result = assess_command(*args, env={"DATABASE_URL": account})
                assert result.returncode == 1, result.stderr
                assert result.stderr.startswith("Error: the database refuses this account ("), (
                    result.stderr
                )
                assert result.stderr.endswith(
                    "); check the user DATABASE_URL names and its rights.\n"
                )
        finally:
            with admin.connect() as connection:
                connection.execute(text(f"DROP OWNED BY {role}"))
                connection.execute(text(f"DROP ROLE IF EXISTS {role}"))
            admin.dispose()


@pytest.mark.db
def test_user_create_reads_the_password_from_stdin(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(user_cli, ["create", "Eve@Example.com"], input="a long password\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        consultant = db.session.scalars(select(Consultant)).one()
        assert consultant.email == "eve@example.com"
        assert consultant.password_hash.startswith("$argon2id$")
    client = app.test_client()
    response = post(client, "/login", {"email": "eve@example.com", "password": "a long password"})
    assert response.status_code == 302


@pytest.mark.db
@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-email", "a long password", "not a valid email address"),
        ("eve@example.com", "short", "needs 10 to 1024 characters"),
        # As the password form refuses it: the first password anyone would guess.
        ("eve@example.com", " " * 12, "needs more than spaces"),
        ("eve@example.com", "\x00" * 12, "needs more than spaces"),
        ("eve@example.com", "", "no password came on standard input"),
    ],
)
def test_user_create_refuses_bad_input(
    app: Flask, runner: FlaskCliRunner, email: str, password: str, message: str
) -> None:
    result = runner.invoke(user_cli, ["create", email], input=password + "\n")
    assert result.exit_code == 2  # bad input, as a bad answers file
    assert message in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Consultant)) == 0


@pytest.mark.db
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("\udcff\udcfe", "must be valid Unicode text"),  # bytes that are not UTF-8 in argv
        ("Cara\x1b[31m", "must not contain control characters"),
        ("Cara\x07", "must not contain control characters"),
        ("C" * 121, "must be at most 120 characters"),
    ],
)
def test_user_create_refuses_a_name_the_app_would_not_take(
    app: Flask, runner: FlaskCliRunner, name: str, message: str
) -> None:
    result = runner.invoke(
        user_cli, ["create", "eve@example.com", "--name", name], input="a long password\n"
    )
    assert result.exit_code == 2
    assert f"Invalid value for '--name': {message}" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Consultant)) == 0


@pytest.mark.db
def test_user_create_keeps_the_name_as_the_app_does(app: Flask, runner: FlaskCliRunner) -> None:
    given = ["create", "eve@example.com", "--name", "  Eve\tDiaz "]
    assert runner.invoke(user_cli, given, input="a long password\n").exit_code == 0
    with app.app_context():
        assert db.session.scalars(select(Consultant.name)).one() == "Eve Diaz"


@pytest.mark.db
def test_user_create_takes_an_accented_address_as_the_sign_in_page_does(
    app: Flask, runner: FlaskCliRunner
) -> None:
    # Pasted from a system that writes "é" as "e" and a combining accent.
    result = runner.invoke(
        user_cli, ["create", "Jose\u0301@example.com"], input="a long password\n"
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalars(select(Consultant.email)).one() == "jos\u00e9@example.com"
    typed = {"email": "JOS\u00c9@example.com", "password": "a long password"}
    assert post(app.test_client(), "/login", typed).status_code == 302
    again = runner.invoke(
        user_cli, ["password", "jose\u0301@example.com"], input="another password\n"
    )
    assert again.exit_code == 0, again.output


@pytest.mark.db
def test_user_create_refuses_a_duplicate(runner: FlaskCliRunner) -> None:
    runner.invoke(user_cli, ["create", "eve@example.com"], input="a long password\n")
    result = runner.invoke(user_cli, ["create", "EVE@example.com"], input="a long password\n")
    assert result.exit_code == 1 and "already exists" in result.output


@pytest.mark.db
def test_an_account_made_while_the_password_was_typed_is_a_duplicate_not_a_trace(
    app: Flask, runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another operator (or `assess demo`) may make the account while the prompt waits."""
    from assess import commands
    from assess.views.auth import hash_password

    def typed_meanwhile() -> str:
        with app.app_context():
            db.session.add(Consultant(email="eve@example.com", password_hash=hash_password("x")))
            db.session.commit()
        return "a long password"

    monkeypatch.setattr(commands, "_read_new_password", typed_meanwhile)
    result = runner.invoke(user_cli, ["create", "eve@example.com"])
    assert result.exit_code == 1, result.output
    assert result.output == "Error: an account for eve@example.com already exists.\n"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Consultant)) == 1


@pytest.mark.db
def test_user_password_sets_a_new_one_and_signs_out_sessions(
    app: Flask, runner: FlaskCliRunner
) -> None:
    runner.invoke(user_cli, ["create", "eve@example.com"], input="a long password\n")
    browser = app.test_client()
    signed_in = post(browser, "/login", {"email": "eve@example.com", "password": "a long password"})
    assert signed_in.status_code == 302
    assert browser.get("/engagements").status_code == 200

    result = runner.invoke(user_cli, ["password", "EVE@example.com"], input="another passphrase\n")
    assert result.exit_code == 0, result.output
    # No session survives a password set on the command line, not one "other" than some.
    assert result.output == (
        "New password set for eve@example.com; every session signed in with the old one is"
        " signed out.\n"
    )
    assert browser.get("/engagements").status_code == 302
    old = post(
        app.test_client(), "/login", {"email": "eve@example.com", "password": "a long password"}
    )
    assert old.status_code == 422
    new = {"email": "eve@example.com", "password": "another passphrase"}
    assert post(app.test_client(), "/login", new).status_code == 302


@pytest.mark.db
def test_user_password_says_the_account_s_tokens_keep_working(
    app: Flask, runner: FlaskCliRunner
) -> None:
    """A password is set again for one lost, or feared seen: whoever saw it may have made
    tokens, which outlive it, as the account page says when a consultant changes it."""
    from assess.api.tokens import issue_token

    runner.invoke(user_cli, ["create", "eve@example.com"], input="a long password\n")
    with app.app_context():
        eve = db.session.scalar(select(Consultant))
        assert eve is not None
        for name in ("CRM sync", "Reports"):
            issue_token(db.session, eve, name, can_write=False)
        db.session.commit()
    result = runner.invoke(user_cli, ["password", "eve@example.com"], input="another passphrase\n")
    assert result.exit_code == 0, result.output
    assert result.output.endswith(
        " signed out. The account's 2 active API tokens keep working: the consultant revokes any no"
        " longer trusted on the API tokens page, or --revoke-tokens revokes them all.\n"
    )


@pytest.mark.db
def test_user_password_can_revoke_every_token_of_the_account(
    app: Flask, runner: FlaskCliRunner
) -> None:
    """The way to shut out someone who must no longer reach the account: a password they do
    not know, and none of the tokens they made."""
    from assess.api.tokens import ApiToken, issue_token

    for email in ("eve@example.com", "dan@example.com"):
        runner.invoke(user_cli, ["create", email], input="a long password\n")
    with app.app_context():
        secrets = {}
        for consultant in db.session.scalars(select(Consultant)):
            secrets[consultant.email] = issue_token(db.session, consultant, "CRM", can_write=True)[
                1
            ]
        db.session.commit()
    result = runner.invoke(
        user_cli, ["password", "eve@example.com", "--revoke-tokens"], input="another passphrase\n"
    )
    assert result.exit_code == 0, result.output
    assert result.output.endswith(" signed out. The account's 1 API token is revoked.\n")
    api = app.test_client()
    assert (
        api.get("/api/v1/engagements", headers=bearer(secrets["eve@example.com"])).status_code
        == 401
    )
    assert (
        api.get("/api/v1/engagements", headers=bearer(secrets["dan@example.com"])).status_code
        == 200
    )
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(ApiToken.revoked_at.is_(None))) == 1


@pytest.mark.db
@pytest.mark.parametrize(
    ("email", "password", "status", "message"),
    [
        (
            "nobody@example.com",
            "another passphrase",
            1,
            "there is no account for nobody@example.com",
        ),
        ("eve@example.com", "short", 2, "needs 10 to 1024 characters"),
    ],
)
def test_user_password_refuses_bad_input(
    app: Flask, runner: FlaskCliRunner, email: str, password: str, status: int, message: str
) -> None:
    runner.invoke(user_cli, ["create", "eve@example.com"], input="a long password\n")
    with app.app_context():
        before = db.session.scalars(select(Consultant.password_hash)).one()
    result = runner.invoke(user_cli, ["password", email], input=password + "\n")
    assert result.exit_code == status and message in result.output
    with app.app_context():
        assert db.session.scalars(select(Consultant.password_hash)).one() == before


@pytest.mark.db
def test_user_update_corrects_a_consultant_s_name_and_email(
    app: Flask, runner: FlaskCliRunner
) -> None:
    make_consultant(app, "eve@example.com", "Eve Adams")
    result = runner.invoke(
        user_cli,
        ["update", "EVE@example.com", "--name", "Eve Okafor", "--email", "Eve.Okafor@Example.com"],
    )
    assert result.exit_code == 0, result.output
    assert (
        result.output
        == "Updated the account: Eve Okafor, signing in with eve.okafor@example.com.\n"
    )
    browser = app.test_client()
    refused = post(browser, "/login", {"email": "eve@example.com", "password": PASSWORD})
    assert refused.status_code != 302
    login(browser, "eve.okafor@example.com")
    assert "Eve Okafor" in browser.get("/account").get_data(as_text=True)
    # The name alone, the address kept.
    result = runner.invoke(user_cli, ["update", "eve.okafor@example.com", "--name", "Eve O."])
    assert result.output == "Updated the account: Eve O., signing in with eve.okafor@example.com.\n"


@pytest.mark.db
@pytest.mark.parametrize(
    ("arguments", "status", "message"),
    [
        (["eve@example.com"], 2, "Give --name, --email or both."),
        (
            ["eve@example.com", "--email", "CARA@example.com"],
            1,
            "an account for cara@example.com already exists",
        ),
        (
            ["eve@example.com", "--email", "not an address"],
            2,
            "Invalid value for '--email': not a valid email address",
        ),
        (["eve@example.com", "--name", "Eve\nAdams"], 2, "Invalid value for '--name'"),
        (["nobody@example.com", "--name", "Eve"], 1, "there is no account for nobody@example.com"),
    ],
)
def test_user_update_refuses_what_it_cannot_take(
    app: Flask, runner: FlaskCliRunner, arguments: list[str], status: int, message: str
) -> None:
    make_consultant(app, "eve@example.com", "Eve Adams")
    make_consultant(app)
    result = runner.invoke(user_cli, ["update", *arguments])
    assert result.exit_code == status and message in result.output, result.output
    with app.app_context():
        accounts = db.session.execute(select(Consultant.email, Consultant.name)).all()
        assert sorted(map(tuple, accounts)) == [
            ("cara@example.com", "Cara Diaz"),
            ("eve@example.com", "Eve Adams"),
        ]


@pytest.mark.db
def test_user_delete_erases_an_account_with_its_tokens_and_sessions(
    app: Flask, runner: FlaskCliRunner
) -> None:
    """A consultant who leaves with no engagements left: nothing of the account stays."""
    from assess.api.tokens import ApiToken, issue_token

    eve, dan = make_consultant(app, "eve@example.com", "Eve"), make_consultant(app)
    browser = app.test_client()
    login(browser, "eve@example.com")
    with app.app_context():
        issue_token(db.session, db.session.get(Consultant, eve), "CRM", can_write=True)
        secret = issue_token(db.session, db.session.get(Consultant, eve), "BI", can_write=False)
        db.session.commit()
    result = runner.invoke(user_cli, ["delete", "EVE@example.com"])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Deleted the account of eve@example.com and its 2 API tokens; every session signed in"
        " with it is signed out.\n"
    )
    assert browser.get("/engagements").status_code == 302  # to the sign-in page
    assert (
        app.test_client().get("/api/v1/engagements", headers=bearer(secret[1])).status_code == 401
    )
    with app.app_context():
        assert db.session.scalars(select(Consultant.id)).all() == [dan]
        assert db.session.scalar(select(func.count()).select_from(ApiToken)) == 0
    again = runner.invoke(user_cli, ["delete", "eve@example.com"])
    assert again.exit_code == 1 and "there is no account for eve@example.com" in again.output


@pytest.mark.db
@pytest.mark.parametrize("signed", [False, True])
def test_user_delete_keeps_an_account_that_holds_engagements(
    app: Flask, runner: FlaskCliRunner, signed: bool
) -> None:
    # Its engagements would go with it, client work and signed charters alike.
    make_consultant(app, "eve@example.com", "Eve")
    browser = app.test_client()
    login(browser, "eve@example.com")
    for project in ("Tidewater", "Northern Lights VR"):
        created = post(browser, "/engagements/new", {**ENGAGEMENT, "project_name": project})
        assert created.status_code == 302
    if signed:
        with app.app_context():
            db.session.scalars(select(Engagement)).first().signed_at = utcnow()  # type: ignore[union-attr]
            db.session.commit()
    result = runner.invoke(user_cli, ["delete", "eve@example.com"])
    assert result.exit_code == 1
    if signed:
        assert result.output == (
            "Error: the account of eve@example.com holds 2 engagements, 1 of them signed, which"
            " would be deleted with it; a signed charter is kept, and its account with it, until"
            " the contract has ended and the engagement is deleted: meanwhile 'assess user"
            " password eve@example.com --revoke-tokens' shuts the account instead.\n"
        )
    else:
        assert result.output == (
            "Error: the account of eve@example.com holds 2 engagements, which would be deleted"
            " with it; delete them first (archive each one, then 'Delete for good' on its"
            " page).\n"
        )
    assert browser.get("/engagements").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Engagement)) == 2


@pytest.mark.db
def test_demo_creates_a_consultant_and_an_engagement_once(
    app: Flask, runner: FlaskCliRunner
) -> None:
    for _ in range(2):
        result = runner.invoke(demo)
        assert result.exit_code == 0, result.output
    assert "demo@assess.example" in result.output and "/login" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Engagement)) == 1
        assert db.session.scalar(select(func.count()).select_from(DecisionRecord)) == 3
    client = app.test_client()
    password = result.output.split("password:")[1].split()[0]
    response = post(client, "/login", {"email": "demo@assess.example", "password": password})
    assert response.status_code == 302
    page = client.get("/engagements").get_data(as_text=True)
    assert "Tidewater" in page and 'class="status status-decided">Decided</span>' in page


@pytest.mark.db
@pytest.mark.parametrize(("port", "shown"), [("8123", "8123"), ("", "5000"), (" ", "5000")])
def test_demo_names_the_port_of_the_development_server(
    runner: FlaskCliRunner, port: str, shown: str
) -> None:
    result = runner.invoke(demo, env={"PORT": port})
    assert f"http://127.0.0.1:{shown}/login" in result.output


def test_a_password_that_is_not_utf8_is_refused_not_a_crash(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 on a pipe reach Python as lone surrogates; a real process."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3"}
    command = [sys.executable, "-m", "assess.cli"]
    subprocess.run([*command, "db", "upgrade"], env=env, check=True, capture_output=True)
    result = subprocess.run(
        [*command, "user", "create", "new@example.com"],
        input=b"\xff\xfe\xfdlongpassword\n",
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.decode() == "Error: the password is not valid UTF-8 text.\n"


def test_user_create_with_standard_input_closed_is_a_usage_error(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3"}
    command = [sys.executable, "-m", "assess.cli"]
    subprocess.run([*command, "db", "upgrade"], env=env, check=True, capture_output=True)
    result = subprocess.run(  # as `assess user create ... <&-`: no file descriptor 0 at all
        ["sh", "-c", 'exec "$@" <&-', "sh", *command, "user", "create", "new@example.com"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "Error: standard input is closed; give a file, or pipe the input in.\n"
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "Error: DATABASE_URL cannot be read as a database address\n"),
        (
            "postgresql+psycopg://postgres@127.0.0.1:5432/test?foo=bar",
            'Error: DATABASE_URL cannot be used: invalid connection option "foo"\n',
        ),
        ("sqlite+aiosqlite:///x.sqlite3", "Error: DATABASE_URL asks for the aiosqlite driver"),
        # Backends SQLAlchemy has no dialect for: an older spelling, and a web address.
        (
            "postgres://postgres@127.0.0.1/test",
            "Error: DATABASE_URL starts with postgres://, not a database this app runs on; use"
            " sqlite:///PATH or postgresql://USER@HOST/DATABASE\n",
        ),
        ("https://assess.example/db", "Error: DATABASE_URL starts with https://, not a database"),
        (
            "mysql://root@127.0.0.1/test",
            "Error: DATABASE_URL names a mysql database; use sqlite:///PATH or"
            " postgresql://USER@HOST/DATABASE\n",
        ),
        (
            "sqlite:////no/such/folder/assess.sqlite3",
            "Error: the database cannot be reached (unable to open database file);"
            " check DATABASE_URL.\n",
        ),
        ("postgresql://postgres@127.0.0.1:1/test", "Connection refused"),
    ],
)
def test_a_database_url_that_cannot_work_is_one_line_not_a_trace(
    tmp_path: Path, url: str, message: str
) -> None:
    for args in (["db", "upgrade"], ["export", str(tmp_path / "backup.zip")]):
        result = assess_command(*args, env={"DATABASE_URL": url})
        assert result.returncode == 1, result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.splitlines()) == 1 and result.stdout == ""
    assert not (tmp_path / "backup.zip").exists()


def test_a_database_url_to_a_file_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("Some notes, not a database.\n" * 200)
    archive = tmp_path / "empty.zip"
    manifest = {"format": "assess-export", "format_version": 1, "revision": "x"}
    with zipfile.ZipFile(archive, "w") as written:
        written.writestr(
            "manifest.json", json.dumps(manifest | {"tables": [], "rows": {}, "sha256": {}})
        )
    for args in (
        ["db", "upgrade"],
        ["demo"],
        ["export", str(tmp_path / "backup.zip")],
        ["import", str(archive)],
    ):
        result = assess_command(*args, env={"DATABASE_URL": f"sqlite:///{notes}"})
        assert result.returncode == 1, result.stderr
        assert result.stderr == (
            "Error: the database cannot be reached (file is not a database); check DATABASE_URL.\n"
        )
    assert notes.read_text() == "Some notes, not a database.\n" * 200
    assert not (tmp_path / "backup.zip").exists()


def test_commands_on_a_database_without_tables_say_to_upgrade(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/new.sqlite3"}
    for args, given in (
        (["user", "create", "new@example.com"], "a long password\n"),
        (["demo"], ""),
    ):
        result = assess_command(*args, env=env, given=given)
        assert result.returncode == 1
        assert result.stderr == "Error: the database has no tables yet; run 'assess db upgrade'.\n"


@pytest.mark.db
def test_decisions_stored_before_the_upgrade_get_their_columns_from_their_documents(
    tmp_path: Path,
) -> None:
    from datetime import UTC, datetime

    from alembic import command as alembic_command
    from sqlalchemy import MetaData
    from webtools import ANSWERS, CREATOR_ANSWERS

    from assess.alignment import Respondent
    from assess.commands import alembic_config
    from assess.engine import evaluate, evaluate_respondents

    database = os.environ.get("DATABASE_URL", "")
    if database.startswith("postgresql"):
        fresh = fresh_postgres(database, migrated=False)
    else:
        fresh = contextlib.nullcontext(f"sqlite:///{tmp_path / 'older.sqlite3'}")
    pair = [
        Respondent("Ann Lee", "producer", ANSWERS),
        Respondent("Bo Chen", "creator", CREATOR_ANSWERS),
    ]
    hybrid = {
        **evaluate(ANSWERS).to_dict(),
        "model": "hybrid",
        "components": ["agile", "integrated"],
    }
    documents = [evaluate(ANSWERS).to_dict(), evaluate_respondents(pair).to_dict(), hybrid]
    with fresh as url:
        alembic_command.upgrade(alembic_config(url), "0008_respondent_closed_again")
        engine = create_engine(url)
        with engine.begin() as connection:
            tables = MetaData()
            tables.reflect(bind=connection)
            now = datetime.now(UTC)
            connection.execute(
                tables.tables["consultants"].insert(),
                {
                    "id": 1,
                    "email": "c@example.com",
                    "name": "",
                    "password_hash": "x",
                    "created_at": now,
                },
            )
            connection.execute(
                tables.tables["engagements"].insert(),
                {
                    "id": 1,
                    "consultant_id": 1,
                    "project_name": "P",
                    "client_organisation": "C",
                    "created_at": now,
                    "updated_at": now,
                },
            )
            connection.execute(
                tables.tables["decisions"].insert(),
                [
                    {
                        "engagement_id": 1,
                        "answers": ANSWERS,
                        "data": data,
                        "model": data["model"],
                        "rules_version": "r",
                        "note": "",
                        "created_at": now,
                    }
                    for data in documents
                ],
            )
        alembic_command.upgrade(alembic_config(url), "head")
        with engine.connect() as connection:
            stored = connection.execute(
                text("SELECT components, answer_sets_digest FROM decisions ORDER BY id")
            ).all()
        engine.dispose()
    made = [DecisionRecord(data=data, model=data["model"]) for data in documents]
    assert stored == [(d.components, d.answer_sets_digest) for d in made]
    assert [d.title for d in made] == [
        evaluate(ANSWERS).title,
        evaluate_respondents(pair).title,
        "Hybrid: Agile Production Partnership with Integrated Co-Creation",
    ]
    assert stored[0][1] is None and stored[1][1] is not None
