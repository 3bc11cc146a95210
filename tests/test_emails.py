"""An email address is taken one way wherever it is typed: the sign-in form, the signatory
form and the command line that creates consultant accounts."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from signofftools import engagement_with_decision, freeze
from sqlalchemy import func, select
from webtools import PASSWORD, make_consultant, post

from assess.commands import user_cli
from assess.extensions import db
from assess.models import EMAIL_MAX, Consultant, Signatory

pytestmark = pytest.mark.db

# Pasted from an email signature, a PDF or another system: the same address each time.
THE_SAME_ADDRESS = [
    pytest.param("ann@northlight.example\u200b", "ann@northlight.example", id="zero-width-space"),
    pytest.param("\u200e ann@northlight.example\t", "ann@northlight.example", id="marks-spaces"),
    pytest.param("jose\u0301@northlight.example", "jos\u00e9@northlight.example", id="nfd-accent"),
    pytest.param("ann@NorthLight.EXAMPLE", "ann@northlight.example", id="upper-case-domain"),
]
NOT_AN_ADDRESS = [
    pytest.param("ann@@northlight.example", id="two-at-signs"),
    pytest.param('"ann@home"@northlight.example', id="at-sign-in-quotes"),
    pytest.param("@northlight.example", id="no-local-part"),
    pytest.param("ann@", id="no-domain"),
    pytest.param("ann@localhost", id="domain-without-dot"),
    pytest.param("ann lee@northlight.example", id="space-inside"),
]
LONG_DOMAIN = ".".join(("d" * 63, "o" * 63, "m" * 53, "example"))
TOO_LONG = "a" * (EMAIL_MAX + 1 - len(LONG_DOMAIN) - 1) + "@" + LONG_DOMAIN
INVALID = "Enter an email address like name@example.com."


def add_signatory(app: Flask, client: FlaskClient, email: str) -> tuple[int, str]:
    """Name a signatory with this address on a new charter version; return status and page."""
    version_path = freeze(client, engagement_with_decision(app, client))
    response = post(client, f"{version_path}/signatories", {"name": "Ann Lee", "email": email})
    return response.status_code, response.get_data(as_text=True)


def stored_signatories(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Signatory.email)))


def stored_consultants(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Consultant.email)))


@pytest.mark.parametrize(("typed", "meant"), THE_SAME_ADDRESS)
def test_the_command_line_creates_the_account_of_the_address_meant(
    app: Flask, runner: FlaskCliRunner, typed: str, meant: str
) -> None:
    result = runner.invoke(user_cli, ["create", typed], input="a long password\n")
    assert result.exit_code == 0, result.output
    assert stored_consultants(app) == [meant]


@pytest.mark.parametrize(("typed", "meant"), THE_SAME_ADDRESS)
def test_sign_in_finds_the_account_of_the_address_meant(
    app: Flask, client: FlaskClient, typed: str, meant: str
) -> None:
    make_consultant(app, email=meant)
    response = post(client, "/login", {"email": typed, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.mark.parametrize(("typed", "meant"), THE_SAME_ADDRESS)
def test_the_signatory_form_stores_the_address_meant(
    app: Flask, signed_in: FlaskClient, typed: str, meant: str
) -> None:
    status, page = add_signatory(app, signed_in, typed)
    assert status == 303, page
    assert stored_signatories(app) == [meant]


@pytest.mark.parametrize("typed", NOT_AN_ADDRESS)
def test_the_command_line_refuses_what_is_not_an_address(
    app: Flask, runner: FlaskCliRunner, typed: str
) -> None:
    result = runner.invoke(user_cli, ["create", typed], input="a long password\n")
    assert result.exit_code == 2
    assert "not a valid email address" in result.output
    assert stored_consultants(app) == []


# Never an account's address, whatever the rules were when accounts were made.
NEVER_AN_ACCOUNT = [
    param for param in NOT_AN_ADDRESS if param.id in ("no-local-part", "no-domain", "space-inside")
] + [pytest.param("ann.northlight.example", id="no-at-sign")]


@pytest.mark.parametrize("typed", NEVER_AN_ACCOUNT)
def test_sign_in_says_what_is_not_an_address(app: Flask, client: FlaskClient, typed: str) -> None:
    make_consultant(app, email=typed)  # even were it stored: it is no address to sign in with
    response = post(client, "/login", {"email": typed, "password": PASSWORD})
    assert response.status_code == 422
    assert INVALID in response.get_data(as_text=True)


@pytest.mark.parametrize("stored", ["admin@localhost", '"ann@home"@northlight.example'])
def test_an_account_made_before_the_address_rules_still_signs_in(
    app: Flask, client: FlaskClient, stored: str
) -> None:
    # Addresses the account command once accepted; new accounts and signatories refuse them.
    make_consultant(app, email=stored)
    response = post(client, "/login", {"email": stored.upper(), "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.mark.parametrize("typed", NOT_AN_ADDRESS)
def test_the_signatory_form_says_what_is_not_an_address(
    app: Flask, signed_in: FlaskClient, typed: str
) -> None:
    status, page = add_signatory(app, signed_in, typed)
    assert status == 422
    assert INVALID in page
    assert stored_signatories(app) == []


def test_an_address_too_long_for_the_database_is_refused_everywhere(
    app: Flask, runner: FlaskCliRunner, signed_in: FlaskClient
) -> None:
    # Counted as stored: the zero-width space after it does not count.
    assert len(TOO_LONG) == EMAIL_MAX + 1 and len(TOO_LONG[1:]) == EMAIL_MAX
    message = f"Keep the email address to {EMAIL_MAX} characters or fewer (it has 255)."
    result = runner.invoke(user_cli, ["create", TOO_LONG], input="a long password\n")
    assert result.exit_code == 2 and f"longer than {EMAIL_MAX} characters" in result.output
    response = post(app.test_client(), "/login", {"email": TOO_LONG, "password": PASSWORD})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    status, page = add_signatory(app, signed_in, TOO_LONG)
    assert status == 422 and message in page
    fits = TOO_LONG[1:] + "\u200b"
    status, page = add_signatory(app, signed_in, fits)
    assert status == 303, page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Signatory)) == 1
