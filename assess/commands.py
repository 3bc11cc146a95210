"""Commands for the database, consultant accounts and the demo data."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import NoReturn

import click
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from assess import emails
from assess.config import whole_number
from assess.extensions import db
from assess.forms import PASSWORD_MAX, PASSWORD_MIN
from assess.models import (
    CREATOR,
    EMAIL_MAX,
    NAME_MAX,
    PRODUCER,
    Consultant,
    Engagement,
    Party,
    Respondent,
    hold_row,
    utcnow,
)
from assess.questionnaire import decide, record_consensus, record_decision
from assess.text import Text, types_nothing

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

db_cli = AppGroup("db", help="Manage the database.")
user_cli = AppGroup("user", help="Manage consultant accounts.")


def alembic_config(url: str) -> AlembicConfig:
    """Return the Alembic configuration for the project's migrations and this database."""
    config = AlembicConfig(os.path.join(ROOT, "alembic.ini"))
    config.set_main_option("script_location", os.path.join(ROOT, "migrations"))
    config.attributes["url"] = url
    return config


def upgrade_database(url: str) -> None:
    """Apply every migration to the database at url."""
    alembic_command.upgrade(alembic_config(url), "head")


def unknown_revision(url: str) -> str | None:
    """Return the database's migration when none of the project's migrations is it."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    with db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    script = ScriptDirectory.from_config(alembic_config(url))
    for revision in current:
        try:
            script.get_revision(revision)
        except CommandError:
            return revision
    return None


def migration_order() -> list[str]:
    """Return the project's migrations, the newest first."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(""))
    return [revision.revision for revision in script.walk_revisions()]


def _check_revision(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and value not in migration_order():
        raise click.BadParameter(f"no migration is called {value}")
    return value


def _past(revision: str) -> bool:
    """Whether the database is at a later migration than revision (upgrading to it would
    leave the database as it is)."""
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    order = migration_order()
    return current in order and order.index(current) < order.index(revision)


@db_cli.command("upgrade")
# An export restores only into a database at its own migration: a backup from before an
# upgrade goes into a new database migrated that far, which then migrates on.
@click.option(
    "--to",
    "revision",
    metavar="REVISION",
    callback=_check_revision,
    help="Migrate only this far (to restore an export made by an earlier version).",
)
def db_upgrade(revision: str | None) -> None:
    """Apply the database migrations."""
    url = current_app.config["DATABASE_URL"]
    # An older version run on a database a newer one migrated (as after a rollback).
    unknown = unknown_revision(url)
    if unknown is not None:
        click.echo(
            f"Error: the database is at migration {unknown}, which this version of assess does"
            " not know: a newer version migrated it. Run that version, or restore a backup.",
            err=True,
        )
        sys.exit(1)
    if revision is not None and _past(revision):
        click.echo(
            f"Error: the database is past migration {revision} already; migrate a new,"
            " empty database to it instead.",
            err=True,
        )
        sys.exit(1)
    try:
        alembic_command.upgrade(alembic_config(url), revision or "head")
    except (OperationalError, ProgrammingError) as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else ""
        if "already exists" not in reason:
            raise
        click.echo(
            f"Error: the database already has a table the migrations create ({reason}); does"
            " DATABASE_URL name another application's database?",
            err=True,
        )
        sys.exit(1)
    click.echo(f"Database is at migration {revision}." if revision else "Database is up to date.")


def _check_email(email: str, param_hint: str = "EMAIL") -> str:
    """Take the address as the sign-in form takes it (see ``assess.emails``)."""
    try:
        address = emails.normalise(email)
    except emails.AddressError as error:
        if error.reason == "too_long":
            problem = f"longer than {EMAIL_MAX} characters"
        else:
            problem = "not a valid email address"
        raise click.BadParameter(problem, param_hint=param_hint) from None
    # Sign-in finds an account by its address whatever the case: it is stored in one.
    return address.lower()


def _check_name(_ctx: click.Context, _param: click.Parameter, name: str) -> str:
    """Check a consultant's name as the app checks every person's name."""
    try:
        checked: str = Text(NAME_MAX, load_default="").deserialize(name)
    except ValidationError as error:
        raise click.BadParameter(" ".join(map(str, error.messages))) from None
    return checked


def _read_password() -> str:
    if sys.stdin.isatty():
        password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        return password
    return sys.stdin.readline().rstrip("\r\n")


@user_cli.command("create", short_help="Create a consultant account.")
@click.argument("email")
@click.option("--name", default="", callback=_check_name, help="Name shown in the app.")
def user_create(email: str, name: str) -> None:
    """Create a consultant account; the password comes from a prompt or stdin."""
    from assess.views.auth import find_consultant, hash_password

    email = _check_email(email)
    if find_consultant(email) is not None:
        _account_exists(email)
    password = _read_new_password()
    db.session.add(Consultant(email=email, name=name, password_hash=hash_password(password)))
    try:
        db.session.commit()
    except IntegrityError:  # made by someone else while the password was typed
        db.session.rollback()
        _account_exists(email)
    click.echo(f"Created consultant {email}.")


def _account_exists(email: str) -> NoReturn:
    click.echo(f"Error: an account for {email} already exists.", err=True)
    sys.exit(1)


@user_cli.command("password", short_help="Set a new password for a consultant.")
@click.argument("email")
@click.option(
    "--revoke-tokens",
    is_flag=True,
    help="Revoke the account's API tokens too (they outlive a password otherwise).",
)
def user_password(email: str, revoke_tokens: bool) -> None:
    """Set a new password for a consultant (from a prompt or stdin); signs out their sessions."""
    from assess.api.tokens import active_tokens, revoke_all
    from assess.views.auth import find_consultant, hash_password

    consultant = find_consultant(_check_email(email))
    if consultant is None:
        click.echo(f"Error: there is no account for {email.strip()}.", err=True)
        sys.exit(1)
    consultant.set_password_hash(hash_password(_read_new_password()))
    revoked = revoke_all(db.session, consultant.id) if revoke_tokens else 0
    db.session.commit()
    said = (
        f"New password set for {consultant.email}; every session signed in with the old one"
        " is signed out."
    )
    # Tokens outlive a password, as the account page says when one is changed there: one
    # set again because it was seen leaves working whatever tokens were made with it.
    tokens = active_tokens(db.session, consultant.id)
    if revoked:
        these = "token is" if revoked == 1 else "tokens are"
        said += f" The account's {revoked} API {these} revoked."
    elif tokens:
        these = "token keeps" if tokens == 1 else "tokens keep"
        said += (
            f" The account's {tokens} active API {these} working: the consultant revokes any"
            " no longer trusted on the API tokens page, or --revoke-tokens revokes them all."
        )
    click.echo(said)


def _check_new_name(ctx: click.Context, param: click.Parameter, name: str | None) -> str | None:
    return None if name is None else _check_name(ctx, param, name)


@user_cli.command("update", short_help="Correct a consultant's name or email address.")
@click.argument("email")
@click.option("--name", callback=_check_new_name, help="The name shown in the app.")
@click.option("--email", "new_email", metavar="NEW_EMAIL", help="The address to sign in with.")
def user_update(email: str, name: str | None, new_email: str | None) -> None:
    """Correct a consultant's name or email address. Charters frozen and histories recorded
    before keep the name they were made with."""
    from assess.views.auth import find_consultant

    if name is None and new_email is None:
        raise click.UsageError("Give --name, --email or both.")
    address = _check_email(new_email, "'--email'") if new_email is not None else None
    consultant = find_consultant(_check_email(email))
    if consultant is None:
        click.echo(f"Error: there is no account for {email.strip()}.", err=True)
        sys.exit(1)
    if address is not None:
        other = find_consultant(address)
        if other is not None and other.id != consultant.id:
            _account_exists(address)
        consultant.email = address
    if name is not None:
        consultant.name = name
    try:
        db.session.commit()
    except IntegrityError:  # the address taken by an account made at this moment
        db.session.rollback()
        _account_exists(address or email)
    named = f"{consultant.name}, " if consultant.name else "no name, "
    click.echo(f"Updated the account: {named}signing in with {consultant.email}.")


@user_cli.command("delete", short_help="Delete a consultant account that holds no engagements.")
@click.argument("email")
def user_delete(email: str) -> None:
    """Delete a consultant's account for good: its email, name, password hash and API
    tokens; every session signed in with it ends. Refused while the account holds
    engagements, which would go with it."""
    from sqlalchemy import delete, func, select

    from assess.api.tokens import ApiToken
    from assess.views.auth import find_consultant

    consultant = find_consultant(_check_email(email))
    if consultant is None:
        click.echo(f"Error: there is no account for {email.strip()}.", err=True)
        sys.exit(1)
    # Held, so that an engagement created at this moment is counted, not deleted with it.
    # The versions frozen in them go with the account too: only an engagement's own
    # consultant freezes its charter.
    hold_row(db.session, Consultant, consultant.id)
    held = db.session.scalars(
        select(Engagement.signed_at).where(Engagement.consultant_id == consultant.id)
    ).all()
    if held:
        db.session.rollback()
        _account_kept(consultant.email, held)
    tokens = db.session.scalar(select(func.count()).where(ApiToken.consultant_id == consultant.id))
    # The database's cascades delete its API tokens in the same transaction.
    db.session.execute(delete(Consultant).where(Consultant.id == consultant.id))
    db.session.commit()
    these = "token" if tokens == 1 else "tokens"
    click.echo(
        f"Deleted the account of {consultant.email} and its {tokens} API {these}; every"
        " session signed in with it is signed out."
    )


def _account_kept(email: str, held: Sequence[datetime | None]) -> NoReturn:
    """Say why an account is not deleted: its engagements (``held``: when each was signed,
    if it was) would go with it; and what to do instead."""
    engagements = f"{len(held)} engagement{'' if len(held) == 1 else 's'}"
    signed = sum(1 for signed_at in held if signed_at is not None)
    if signed:
        said = (
            f"{engagements}, {signed} of them signed, which would be deleted with it; a signed"
            f" charter is kept, and its account with it, until the contract has ended and the"
            f" engagement is deleted: meanwhile 'assess user password {email}"
            " --revoke-tokens' shuts the account instead"
        )
    else:
        said = (
            f"{engagements}, which would be deleted with it; delete them first (archive each"
            " one, then 'Delete for good' on its page)"
        )
    click.echo(f"Error: the account of {email} holds {said}.", err=True)
    sys.exit(1)


def _read_new_password() -> str:
    """Read a new password, or exit 2 (bad input, as a bad email or name) saying why."""
    password = _read_password()
    if not password and not sys.stdin.isatty():
        click.echo(
            "Error: no password came on standard input; pipe one in, or run the command in a "
            "terminal to be asked for it.",
            err=True,
        )
        sys.exit(2)
    if any(0xD800 <= ord(c) <= 0xDFFF for c in password):  # undecodable bytes on stdin
        click.echo("Error: the password is not valid UTF-8 text.", err=True)
        sys.exit(2)
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        click.echo(
            f"Error: the password needs {PASSWORD_MIN} to {PASSWORD_MAX} characters.", err=True
        )
        sys.exit(2)
    if types_nothing(password):  # as the password form refuses it: the first one guessed
        click.echo("Error: the password needs more than spaces in it.", err=True)
        sys.exit(2)
    return password


DEMO_EMAIL = "demo@assess.example"
DEMO_PASSWORD = "demo-password"
DEMO_ANSWERS = {
    "innovation": 4,
    "resource_availability": 3,
    "risk_tolerance": 3,
    "relationship_duration": 4,
    "timeline_pressure": 3,
    "creative_collaboration": 5,
    "iteration_readiness": 4,
    "planning_complexity": 2,
}
DEMO_CREATOR_ANSWERS = {**DEMO_ANSWERS, "iteration_readiness": 2, "timeline_pressure": 5}


@click.command("demo", short_help="Create the demo consultant and engagement.")
@with_appcontext
def demo() -> None:
    """Create a demo consultant and an engagement with answers; print how to sign in."""
    from assess.views.auth import find_consultant, hash_password

    # Read first: `make run` starts the development server on PORT after this, and a port
    # it cannot listen on must stop the run before anything is stored or printed.
    port = whole_number("PORT", 5000, 1, 65535)

    consultant = find_consultant(DEMO_EMAIL)
    if consultant is None:
        consultant = Consultant(
            email=DEMO_EMAIL, name="Demo Consultant", password_hash=hash_password(DEMO_PASSWORD)
        )
        db.session.add(consultant)
        db.session.flush()
    if not consultant.engagements:
        engagement = Engagement(
            consultant=consultant,
            project_name="Tidewater: an interactive documentary",
            client_organisation="Northlight Films",
        )
        engagement.parties.extend(
            [
                Party(side=PRODUCER, name="Ann Lee", role="Executive producer"),
                Party(side=CREATOR, name="Bo Chen", role="Creative director"),
            ]
        )
        now = utcnow()
        for name, side, answers in (
            ("Ann Lee", PRODUCER, DEMO_ANSWERS),
            ("Bo Chen", CREATOR, DEMO_CREATOR_ANSWERS),
        ):
            respondent = Respondent(
                name=name, side=side, answers=dict(answers), step=5, submitted_at=now
            )
            engagement.respondents.append(respondent)
            record_decision(db.session, engagement, decide(answers), respondent=respondent)
        record_consensus(db.session, engagement, consultant)
        db.session.add(engagement)
    db.session.commit()
    click.echo(
        f"Demo ready. Sign in at http://127.0.0.1:{port}/login with\n"
        f"  email:    {DEMO_EMAIL}\n"
        f"  password: {DEMO_PASSWORD}"
    )
