"""Signing in and out, sessions, security headers and error pages."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from webtools import (
    ENGAGEMENT,
    PASSWORD,
    create_engagement,
    csrf_token,
    invite,
    login,
    make_consultant,
    post,
)

from assess.extensions import db
from assess.models import Consultant, Engagement

pytestmark = pytest.mark.db


def test_home_page_invites_consultants_to_sign_in(client: FlaskClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert b"Sign in as a consultant" in page.data


def test_sign_in_and_out(client: FlaskClient, consultant: int) -> None:
    response = post(client, "/login", {"email": "Cara@Example.com ", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/engagements"
    assert client.get("/engagements").status_code == 200
    assert client.get("/").headers["Location"].endswith("/engagements")

    response = post(client, "/logout")
    assert response.status_code == 302
    assert client.get("/engagements").status_code == 302


def test_signing_out_ends_a_copy_of_the_session_and_every_other_device(
    app: Flask, client: FlaskClient, consultant: int
) -> None:
    login(client)
    other_device = app.test_client()
    login(other_device)
    copied = app.test_client()  # the session cookie as someone could have taken it
    cookie = client.get_cookie("session")
    assert cookie is not None
    copied.set_cookie("session", cookie.value)
    assert copied.get("/engagements").status_code == 200

    post(client, "/logout")
    assert copied.get("/engagements").status_code == 302
    assert other_device.get("/engagements").status_code == 302
    login(client)  # signing in again starts afresh
    assert client.get("/engagements").status_code == 200


def test_a_copied_session_is_not_honoured_in_another_browser(
    app: Flask, client: FlaskClient, consultant: int
) -> None:
    """Signed in for hours (a session kept across browser restarts), and still tied to the
    browser signed in; not to its address, which changes under a signed-in laptop (another
    network, a new IPv6 address)."""
    client.environ_base["HTTP_USER_AGENT"] = "Firefox/140.0"
    login(client)
    cookie = client.get_cookie("session")
    assert cookie is not None
    copied = app.test_client()
    copied.set_cookie("session", cookie.value)
    copied.environ_base["HTTP_USER_AGENT"] = "Chrome/141.0"
    response = copied.get("/engagements")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    client.environ_base["REMOTE_ADDR"] = "2001:db8::7"
    assert client.get("/engagements").status_code == 200


def test_a_form_sent_after_signing_out_elsewhere_asks_to_sign_in_again(
    app: Flask, client: FlaskClient, consultant: int
) -> None:
    login(client)
    token = csrf_token(client, "/engagements/new")
    other_device = app.test_client()
    login(other_device)
    post(other_device, "/logout")  # ends every session, this one too

    response = client.post("/engagements/new", data={"csrf_token": token, **ENGAGEMENT})
    assert response.status_code == 302
    # Signing in leads back to the form's page (the page's script puts back what was typed).
    assert response.headers["Location"] == "/login?next=/engagements/new"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your sign-in had ended, so what you sent was not saved." in page
    assert "Sign in to see that page." not in page
    assert 'name="next" value="/engagements/new"' in page
    # Never back to an address that only takes forms: it would answer 405 after signing in.
    response = client.post("/engagements/1/archive", data={"csrf_token": token})
    assert response.headers["Location"] == "/login"
    assert "what you sent was not saved" in client.get("/login").get_data(as_text=True)
    assert count_engagements(app) == 0
    assert client.get("/engagements/new").headers["Location"] == "/login?next=%2Fengagements%2Fnew"


def count_engagements(app: Flask) -> int:
    with app.app_context():
        return len(db.session.scalars(select(Engagement)).all())


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(
    client: FlaskClient, consultant: int
) -> None:
    for email in ("cara@example.com", "nobody@example.com"):
        response = post(client, "/login", {"email": email, "password": "wrong password"})
        assert response.status_code == 422
        assert b"do not match an account" in response.data
    assert client.get("/engagements").status_code == 302


def test_login_form_reports_each_missing_field(client: FlaskClient) -> None:
    response = post(client, "/login", {"email": "", "password": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Enter the email address." in page
    assert "Enter your password." in page
    assert 'aria-invalid="true"' in page


def test_an_overlong_password_is_named_as_such(client: FlaskClient, consultant: int) -> None:
    response = post(client, "/login", {"email": "cara@example.com", "password": "x" * 1025})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Passwords have 1024 characters or fewer." in page
    assert "Enter your password." not in page


def test_login_redirects_only_to_paths_on_this_site(client: FlaskClient, consultant: int) -> None:
    data = {"email": "cara@example.com", "password": PASSWORD, "next": "//evil.example/x"}
    assert post(client, "/login", data).headers["Location"] == "/engagements"
    post(client, "/logout")
    data["next"] = "/engagements/new"
    assert post(client, "/login", data).headers["Location"] == "/engagements/new"
    # Served under a prefix, the path to go to starts with it.
    post(client, "/logout")
    under = {"SCRIPT_NAME": "/assess"}
    data["next"] = "/assess/engagements/new"
    response = post(client, "/login", data, environ_overrides=under)
    assert response.headers["Location"] == "/assess/engagements/new"
    # Tricks browsers read as another site, and line breaks that cannot go into a header.
    # An address that only takes forms, or none at all, would answer an error on arrival.
    for target in ("/logout", "/account/password", "/no/such/page"):
        post(client, "/logout")
        data["next"] = target
        assert post(client, "/login", data).headers["Location"] == "/engagements", target
    post(client, "/logout")
    data["next"] = "/engagements/new?from=list"
    assert post(client, "/login", data).headers["Location"] == "/engagements/new?from=list"
    for target in ("/\\evil.example", "/\t/evil.example", "/\r\nSet-Cookie: a=b", "/x\x00y"):
        post(client, "/logout")
        data["next"] = target
        assert post(client, "/login", data).headers["Location"] == "/engagements", target


def test_post_without_csrf_token_is_rejected(client: FlaskClient, consultant: int) -> None:
    response = client.post(
        "/login?next=/engagements/new", data={"email": "cara@example.com", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert client.get("/engagements").status_code == 302


def test_a_sign_in_page_open_too_long_is_shown_again_ready_to_send(
    client: FlaskClient, consultant: int
) -> None:
    """Nobody was signed in, so nothing 'ended': the page says so and its form works again."""
    form = {"email": "cara@example.com", "password": PASSWORD, "next": "/engagements/new"}
    page = client.post("/login", data=form).get_data(as_text=True)
    assert "This sign-in page was open too long to be sent" in page
    assert "Your form has expired" not in page and "sign-in it was opened in" not in page
    assert 'value="cara@example.com"' in page and PASSWORD not in page
    assert 'name="next" value="/engagements/new"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    signed_in = client.post("/login", data=form | {"csrf_token": token.group(1)})
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/engagements/new"


def test_an_expired_form_says_what_ends_a_sign_in(app: Flask, consultant: int) -> None:
    client = app.test_client()
    login(client)
    token = csrf_token(client, "/engagements/new")
    form = {"csrf_token": token, **ENGAGEMENT}
    # Signing in in another browser leaves this one's forms working.
    login(app.test_client())
    assert client.post("/engagements/new", data=form).status_code == 302
    # The sign-in ends (its cookie is gone, as after hours unused): the form says why.
    client.delete_cookie("session", domain="localhost")
    response = client.post("/engagements/new", data=form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "when you sign out, or after 12 hours without opening a page" in page
    assert "sign in elsewhere" not in page
    # Signed out now: the way on is signing in again, back to the form's page.
    assert '<a class="button" href="/login?next=/engagements/new">Sign in again</a>' in page
    assert "Go to the home page" not in page
    # A form of an address that only takes forms leads to the sign-in alone.
    refused = client.post("/engagements/1/archive", data={"csrf_token": token})
    assert '<a class="button" href="/login">Sign in again</a>' in refused.get_data(as_text=True)


def test_failed_logins_are_rate_limited(app: Flask, client: FlaskClient, consultant: int) -> None:
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    token = csrf_token(client)
    bad = {"csrf_token": token, "email": "cara@example.com", "password": "nope"}
    codes = [client.post("/login", data=bad).status_code for _ in range(4)]
    assert codes == [422, 422, 422, 429]
    page = client.post("/login", data={**bad, "password": PASSWORD})
    assert page.status_code == 429
    assert b"Too many attempts" in page.data
    assert "Retry-After" in page.headers


def test_failed_logins_for_one_account_are_limited_from_every_client(
    app: Flask, client: FlaskClient, consultant: int
) -> None:
    app.config["LOGIN_RATE_LIMIT"] = "100 per minute"
    app.config["ACCOUNT_LOGIN_RATE_LIMIT"] = "3 per hour"
    token = csrf_token(client)

    def attempt(email: str, password: str, address: str) -> int:
        form = {"csrf_token": token, "email": email, "password": password}
        return client.post("/login", data=form, environ_base={"REMOTE_ADDR": address}).status_code

    # The address as typed in other ways (case, spaces) is the same account.
    tries = ["cara@example.com", " Cara@Example.COM", "cara@EXAMPLE.com"]
    codes = [attempt(email, "nope", f"203.0.113.{n}") for n, email in enumerate(tries)]
    assert codes == [422, 422, 422]
    assert attempt("cara@example.com", "nope", "198.51.100.7") == 429
    # Paused for this account even with the right password, from a new client too ...
    assert attempt("cara@example.com", PASSWORD, "198.51.100.8") == 429
    # ... but not for another address tried from the same clients.
    assert attempt("dan@example.com", "nope", "203.0.113.0") == 422


def test_forms_that_name_no_account_share_no_account_s_limit(
    app: Flask, client: FlaskClient, consultant: int
) -> None:
    """A form with no address, or text that is none, tries no account: bots sending such
    forms from everywhere must not make a consultant's typo answer "Too many attempts"."""
    app.config["LOGIN_RATE_LIMIT"] = "100 per minute"
    app.config["ACCOUNT_LOGIN_RATE_LIMIT"] = "2 per hour"
    token = csrf_token(client)
    said = {
        "": "Enter the email address.",
        "not an address": "Enter an email address like name@example.com.",
        "   ": "Enter the email address.",
        "cara.example.com": "Enter an email address like name@example.com.",
    }
    for number, (email, message) in enumerate(said.items()):
        form = {"csrf_token": token, "email": email, "password": "nope"}
        address = {"REMOTE_ADDR": f"203.0.113.{number}"}
        response = client.post("/login", data=form, environ_base=address)
        assert response.status_code == 422, email
        assert message in response.get_data(as_text=True), email


def test_a_rate_limited_sign_in_says_how_long_to_wait(
    app: Flask, client: FlaskClient, consultant: int
) -> None:
    app.config["LOGIN_RATE_LIMIT"] = "5 per minute;2 per hour"
    bad = {"csrf_token": csrf_token(client), "email": "cara@example.com", "password": "nope"}
    codes = [client.post("/login", data=bad).status_code for _ in range(3)]
    assert codes == [422, 422, 429]
    page = client.post("/login", data=bad)
    text = page.get_data(as_text=True)
    assert page.status_code == 429 and 3500 < int(page.headers["Retry-After"]) <= 3600
    assert "Try again in 60 minutes." in text and "wait a minute" not in text


def test_successful_logins_do_not_use_up_the_limit(
    app: Flask, client: FlaskClient, consultant: int
) -> None:
    app.config["LOGIN_RATE_LIMIT"] = "2 per minute"
    for _ in range(4):
        login(client)
        post(client, "/logout")


def test_session_cookie_is_secure_by_default(database_url: str) -> None:
    from assess import create_app

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "x"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    client = app.test_client()
    client.get("/login")
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert cookie.secure and cookie.http_only and cookie.same_site == "Lax"
    with app.app_context():
        db.engine.dispose()


def test_pages_send_security_headers(client: FlaskClient) -> None:
    headers = client.get("/login").headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_unknown_page_is_a_friendly_404(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert b"Page not found" in response.data
    assert b"Traceback" not in response.data


def test_wrong_method_is_a_friendly_405(client: FlaskClient) -> None:
    response = client.get("/logout")
    assert response.status_code == 405
    page = response.get_data(as_text=True)
    # Says why a typed or bookmarked address does not open, and what to use instead.
    assert "This address only works from a button" in page
    assert "it does not open from a link or a typed address" in page
    assert "Go back to the page and use its button." in page


def test_unexpected_errors_show_a_friendly_page(app: Flask, client: FlaskClient) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/boom")
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.data
    assert b"secret internals" not in response.data


@pytest.mark.parametrize("host", ["a..b", "x" * 64 + ".example", "xn--.example"])
@pytest.mark.parametrize("path", ["/login", "/engagements", "/i/some-link", "/static/favicon.svg"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_host_that_is_no_host_name_is_a_400_not_a_500(
    app: Flask, host: str, path: str, method: str
) -> None:
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    # A deployment names no SERVER_NAME: pages are addressed by the Host a request gives.
    app.config["SERVER_NAME"] = None
    app.config["PROPAGATE_EXCEPTIONS"] = False
    # Sent as a server hands it on: the test client would make the request's address itself.
    environ = EnvironBuilder(path=path, method=method, headers={"Host": host}).get_environ()
    body, status, headers = run_wsgi_app(app, environ, buffered=True)
    assert status.startswith("400 ")
    assert b"could not be understood" in b"".join(body)
    assert headers["Content-Security-Policy"]


def test_oversized_post_is_refused(client: FlaskClient) -> None:
    response = client.post("/login", data={"email": "x" * 100_000, "password": "y"})
    assert response.status_code == 413


def test_passwords_are_stored_as_argon2id_and_upgraded_at_sign_in(
    app: Flask, client: FlaskClient
) -> None:
    from sqlalchemy import select

    from assess.extensions import db
    from assess.models import Consultant

    make_consultant(app)
    app.config["PASSWORD_HASH_TIME_COST"] = 2
    app.extensions.pop("assess.hasher")
    login(client)
    with app.app_context():
        stored = db.session.scalars(select(Consultant.password_hash)).one()
    assert stored.startswith("$argon2id$") and ",t=2," in stored and PASSWORD not in stored


def test_a_stronger_hash_at_sign_in_keeps_the_other_sessions(
    app: Flask, client: FlaskClient, consultant: int
) -> None:
    login(client)
    app.config["PASSWORD_HASH_TIME_COST"] = 4  # the cost raised since: rehashed at sign-in
    app.extensions.pop("assess.hasher")
    with app.app_context():
        before = db.session.get(Consultant, consultant).password_hash
    login(app.test_client())
    with app.app_context():
        assert db.session.get(Consultant, consultant).password_hash != before
    # The password is the same: the laptop signed in before stays signed in.
    assert client.get("/account").status_code == 200


def test_rate_limit_counts_the_client_behind_a_trusted_proxy(database_url: str) -> None:
    from assess import create_app

    app = create_app(
        {
            "DATABASE_URL": database_url,
            "PROXY_HOPS": 1,
            "LOGIN_RATE_LIMIT": "1 per minute",
            "SESSION_COOKIE_SECURE": False,
        }
    )
    client = app.test_client()
    bad = {"csrf_token": csrf_token(client), "email": "x@example.com", "password": "nope"}
    first = {"X-Forwarded-For": "203.0.113.1"}
    second = {"X-Forwarded-For": "203.0.113.2"}
    assert client.post("/login", data=bad, headers=first).status_code == 422
    assert client.post("/login", data=bad, headers=first).status_code == 429
    assert client.post("/login", data=bad, headers=second).status_code == 422
    with app.app_context():
        db.engine.dispose()


# --- the account page: a new password ---------------------------------------------------

NEW_PASSWORD = "a brand new passphrase"


def change(client: FlaskClient, current: str, new: str, again: str | None = None) -> Any:
    form = {"current_password": current, "new_password": new, "confirm_password": again or new}
    return post(client, "/account/password", form)


def test_a_new_password_signs_out_every_other_session(
    app: Flask, client: FlaskClient, consultant: int
) -> None:
    elsewhere = app.test_client()
    login(client)
    login(elsewhere)
    assert client.get("/account").status_code == 200

    response = change(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    page = client.get("/account").get_data(as_text=True)
    assert "Your password is changed." in page and "cara@example.com" in page
    assert client.get("/engagements").status_code == 200  # this session goes on
    assert elsewhere.get("/engagements").status_code == 302  # the other one is signed out

    fresh = app.test_client()
    refused = post(fresh, "/login", {"email": "cara@example.com", "password": PASSWORD})
    assert refused.status_code == 422
    accepted = post(fresh, "/login", {"email": "cara@example.com", "password": NEW_PASSWORD})
    assert accepted.status_code == 302


@pytest.mark.parametrize(
    ("current", "new", "again", "field", "message"),
    [
        ("wrong password", NEW_PASSWORD, None, "current_password", "not your current password"),
        ("", NEW_PASSWORD, None, "current_password", "Enter your current password."),
        (PASSWORD, "short", None, "new_password", "Choose a password of 10 to 1024 characters."),
        (PASSWORD, NEW_PASSWORD, "something else", "confirm_password", "passwords differ"),
        (PASSWORD, PASSWORD, None, "new_password", "other than the current one"),
        ("x" * 1025, NEW_PASSWORD, None, "current_password", "1024 characters or fewer"),
        (PASSWORD, "x" * 1025, None, "new_password", "Choose a password of 10 to 1024"),
        (PASSWORD, " " * 12, None, "new_password", "more than spaces"),
        (PASSWORD, "\u3000\u200b" * 6, None, "new_password", "more than spaces"),
        (PASSWORD, "\x00" * 20, None, "new_password", "more than spaces"),
        (PASSWORD, "\x1b\t" * 6, None, "new_password", "more than spaces"),
    ],
)
def test_a_refused_password_change_says_which_field_and_changes_nothing(
    app: Flask,
    client: FlaskClient,
    consultant: int,
    current: str,
    new: str,
    again: str | None,
    field: str,
    message: str,
) -> None:
    login(client)
    with app.app_context():
        before = db.session.get(Consultant, consultant).password_hash
    response = change(client, current, new, again)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert f'id="field-{field}"' in page and f'id="error-{field}"' in page
    assert 'value="correct' not in page and 'value="a brand' not in page  # never echoed
    with app.app_context():
        assert db.session.get(Consultant, consultant).password_hash == before
    assert client.get("/engagements").status_code == 200


@pytest.mark.parametrize(
    ("current", "new", "again", "messages"),
    [
        (
            "wrong password",
            NEW_PASSWORD,
            "something else",
            ["not your current", "passwords differ"],
        ),
        ("wrong password", "short", None, ["not your current", "10 to 1024 characters"]),
        ("", NEW_PASSWORD, "something else", ["Enter your current", "passwords differ"]),
    ],
)
def test_a_refused_password_change_names_every_problem_at_once(
    client: FlaskClient,
    consultant: int,
    current: str,
    new: str,
    again: str | None,
    messages: list[str],
) -> None:
    # The three fields are emptied each time: one problem a round would mean typing them all
    # again for each.
    login(client)
    response = change(client, current, new, again)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There are 2 problems" in page
    assert all(message in page for message in messages), messages


def test_wrong_current_passwords_are_rate_limited(
    app: Flask, client: FlaskClient, consultant: int
) -> None:
    app.config["LOGIN_RATE_LIMIT"] = "2 per minute"
    login(client)
    codes = [change(client, "wrong password", NEW_PASSWORD).status_code for _ in range(3)]
    assert codes == [422, 422, 429]


def test_passwords_given_again_are_limited_per_account_from_every_client(
    app: Flask, consultant: int
) -> None:
    """Whoever holds a session (a borrowed laptop, a stolen cookie) must not get more guesses
    at the account's password from the forms that ask for it again than the sign-in form
    allows, by spreading them over forms and clients."""
    app.config["LOGIN_RATE_LIMIT"] = "100 per minute"
    app.config["ACCOUNT_LOGIN_RATE_LIMIT"] = "2 per hour"
    office, cafe = app.test_client(), app.test_client()
    office.environ_base["REMOTE_ADDR"] = "203.0.113.1"
    cafe.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    login(office)
    login(cafe)
    # Problems other than the password are no guesses at it.
    assert change(office, PASSWORD, "short").status_code == 422
    assert change(office, "wrong password", NEW_PASSWORD).status_code == 422
    tokens_page = cafe.get("/account/api-tokens").get_data(as_text=True)
    number = re.search(r'name="form_number" value="([^"]+)"', tokens_page)
    assert number
    token_form = {"name": "CRM", "password": "guess", "form_number": number.group(1)}
    assert post(cafe, "/account/api-tokens", token_form).status_code == 422
    assert change(office, "another guess", NEW_PASSWORD).status_code == 429


def test_guesses_at_the_sign_in_form_leave_the_password_change_open(
    app: Flask, client: FlaskClient, consultant: int
) -> None:
    """The consultant who fears their password is being guessed can still change it."""
    app.config["LOGIN_RATE_LIMIT"] = "100 per minute"
    app.config["ACCOUNT_LOGIN_RATE_LIMIT"] = "2 per hour"
    login(client)
    guesser = app.test_client()
    form = {"csrf_token": csrf_token(guesser), "email": "cara@example.com", "password": "x"}
    codes = [guesser.post("/login", data=form).status_code for _ in range(3)]
    assert codes == [422, 422, 429]
    assert change(client, PASSWORD, NEW_PASSWORD).status_code == 303


def test_the_account_page_needs_a_signed_in_consultant(client: FlaskClient) -> None:
    assert client.get("/account").headers["Location"].startswith("/login")
    response = change(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_head_request_never_signs_in(client: FlaskClient, consultant: int) -> None:
    # HEAD is answered like GET: the credentials in its body are never read.
    form = {"email": "cara@example.com", "password": PASSWORD}
    for _ in range(3):
        response = client.open("/login", method="HEAD", data=form)
        assert response.status_code == 200
    assert client.get("/account").status_code == 302


def test_a_head_request_saves_no_answers(app: Flask, signed_in: FlaskClient) -> None:
    from sqlalchemy import select
    from webtools import create_engagement, invite

    from assess.models import Respondent

    link = invite(signed_in, create_engagement(signed_in))
    response = signed_in.open(f"{link}/step/1", method="HEAD", data={"innovation": "2"})
    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalars(select(Respondent)).one().answers == {}


def test_a_sign_in_ends_a_week_after_it_began_however_often_it_is_used(
    client: FlaskClient, consultant: int
) -> None:
    login(client)
    with client.session_transaction() as session:
        began = session["signed_in_at"]
        assert abs(began - time.time()) < 60
        session["signed_in_at"] = began - 6 * 86400  # six days ago, used every day since
    assert client.get("/account").status_code == 200
    with client.session_transaction() as session:
        session["signed_in_at"] = began - 7 * 86400 - 60
    response = client.get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(client)  # signing in again starts a new week
    assert client.get("/account").status_code == 200


def test_signing_out_forgets_what_the_session_held(client: FlaskClient, consultant: int) -> None:
    login(client)
    with client.session_transaction() as session:
        session["new_link"] = {"engagement_id": 1, "respondent_id": 1, "token": "secret"}
    post(client, "/logout")
    with client.session_transaction() as session:
        assert "new_link" not in session and "_user_id" not in session
    assert client.get("/account").status_code == 302


def test_signing_in_starts_a_new_session_and_form_token(
    app: Flask, client: FlaskClient, consultant: int
) -> None:
    # A session cookie planted before sign-in (by a page on a sibling domain, say) must not
    # carry over: its form token is known to whoever planted it.
    planted = csrf_token(client)
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    login(client)
    with client.session_transaction() as session:
        assert "planted" not in session and session.get("csrf_token") is None
    assert csrf_token(client, "/engagements/new") != planted
    response = client.post("/engagements/new", data={"csrf_token": planted, **ENGAGEMENT})
    assert response.status_code == 400
    assert count_engagements(app) == 0


def test_a_password_is_the_same_however_its_accents_are_encoded(
    app: Flask, client: FlaskClient, consultant: int
) -> None:
    # "é" is one character from one keyboard, "e" and a combining accent from another.
    composed, decomposed = "café au lait 2024", "cafe\u0301 au lait 2024"
    login(client)
    assert change(client, PASSWORD, decomposed).status_code == 303
    fresh = app.test_client()
    response = post(fresh, "/login", {"email": "cara@example.com", "password": composed})
    assert response.status_code == 302
    # A password stored before accents were unified is still taken as typed, then rehashed.
    from assess.views.auth import hasher

    with app.app_context():
        db.session.get(Consultant, consultant).password_hash = hasher().hash(decomposed)
        db.session.commit()
    response = post(
        app.test_client(), "/login", {"email": "cara@example.com", "password": decomposed}
    )
    assert response.status_code == 302
    response = post(
        app.test_client(), "/login", {"email": "cara@example.com", "password": composed}
    )
    assert response.status_code == 302


def test_the_accents_of_a_new_password_are_compared_as_they_read(
    app: Flask, client: FlaskClient, consultant: int
) -> None:
    composed, decomposed = "café au lait 2024", "cafe\u0301 au lait 2024"
    login(client)
    # Typed again on another keyboard, the confirmation is the same password.
    assert change(client, PASSWORD, composed, decomposed).status_code == 303
    with app.app_context():
        before = db.session.get(Consultant, consultant).password_hash
    response = change(client, composed, decomposed)
    assert response.status_code == 422
    assert "other than the current one" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Consultant, consultant).password_hash == before


def test_signing_out_in_a_second_tab_after_the_first_says_so(
    client: FlaskClient, consultant: int
) -> None:
    login(client)
    second_tab = csrf_token(client, "/engagements")
    post(client, "/logout")  # in the first tab: the session, and its form token, are gone

    response = client.post("/logout", data={"csrf_token": second_tab})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "You are signed out" in client.get("/login").get_data(as_text=True)


def test_a_sign_out_forged_from_another_site_signs_nobody_out(
    client: FlaskClient, consultant: int
) -> None:
    login(client)
    response = client.post("/logout")
    assert response.status_code == 400
    assert client.get("/engagements").status_code == 200


def test_a_sign_out_button_from_before_signing_in_again_says_who_is_still_signed_in(
    client: FlaskClient, consultant: int
) -> None:
    """Walking away from a shared computer after pressing Sign out: the page must not leave
    the consultant believing they are signed out."""
    login(client)
    first_tab = csrf_token(client, "/engagements")
    post(client, "/logout")
    login(client)  # in another tab: a new session and form token
    response = client.post("/logout", data={"csrf_token": first_tab})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "<h1>You are still signed in</h1>" in page and "Your form has expired" not in page
    assert "could not sign you out" in page and "Use Sign out at the top of this page" in page
    assert client.get("/engagements").status_code == 200
    # The page's own Sign out works.
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    assert client.post("/logout", data={"csrf_token": token.group(1)}).status_code == 302
    assert client.get("/engagements").status_code == 302


def test_signing_in_from_a_second_tab_after_the_first_leads_to_the_engagements(
    client: FlaskClient, consultant: int
) -> None:
    second_tab = csrf_token(client, "/login")
    login(client)  # in the first tab: a new session, with a new form token

    form = {"csrf_token": second_tab, "email": "cara@example.com", "password": PASSWORD}
    response = client.post("/login", data=form)
    assert response.status_code == 302
    assert response.headers["Location"] == "/engagements"


# --- device cookies: a browser that signed in keeps signing in under a guessing attack ---

DEVICE_COOKIE = "device"


def pause_the_account(app: Flask, email: str = "cara@example.com") -> None:
    """Guess at the account's password from clients all over until it is paused."""
    guesser = app.test_client()
    token = csrf_token(guesser)
    codes = []
    for number in range(20):
        form = {"csrf_token": token, "email": email, "password": "a guess"}
        address = {"REMOTE_ADDR": f"203.0.113.{number}"}
        codes.append(guesser.post("/login", data=form, environ_base=address).status_code)
        if codes[-1] == 429:
            break
    assert codes[-1] == 429 and set(codes[:-1]) == {422}, codes


def sign_in_again(client: FlaskClient, password: str = PASSWORD) -> int:
    return int(
        post(client, "/login", {"email": "cara@example.com", "password": password}).status_code
    )


def device_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie(DEVICE_COOKIE, path="/login")
    assert cookie is not None, "no device cookie"
    return cookie.value


def browser_with(app: Flask, value: str) -> FlaskClient:
    browser = app.test_client()
    browser.set_cookie(DEVICE_COOKIE, value, path="/login")
    return browser


@pytest.fixture
def under_attack(app: Flask, consultant: int) -> Flask:
    """Limits low enough to pause the account with a few guesses, and none per client."""
    app.config["LOGIN_RATE_LIMIT"] = "100 per minute"
    app.config["ACCOUNT_LOGIN_RATE_LIMIT"] = "3 per hour"
    return app


def test_signing_in_gives_the_browser_a_device_cookie_for_the_sign_in_page(
    app: Flask, client: FlaskClient, consultant: int
) -> None:
    response = post(client, "/login", {"email": "cara@example.com", "password": PASSWORD})
    assert response.status_code == 302
    set_cookie = next(
        header
        for header in response.headers.getlist("Set-Cookie")
        if header.startswith(DEVICE_COOKIE + "=")
    )
    attributes = {part.strip().split("=")[0].lower() for part in set_cookie.split(";")}
    assert {"httponly", "path", "max-age"} <= attributes and "secure" not in attributes
    assert "SameSite=Lax" in set_cookie and "Path=/login;" in set_cookie + ";"
    assert "Max-Age=15552000" in set_cookie  # 180 days
    # It names the account by number only: the email address is not in it.
    assert "cara" not in device_cookie(client).lower()

    # Secure when the service's cookies are.
    app.config["SESSION_COOKIE_SECURE"] = True
    secure = app.test_client()
    page = secure.get("/login", base_url="https://localhost").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token
    form = {"csrf_token": token.group(1), "email": "cara@example.com", "password": PASSWORD}
    referer = {"Referer": "https://localhost/login"}  # checked by the form over https
    response = secure.post("/login", data=form, base_url="https://localhost", headers=referer)
    assert response.status_code == 302
    device = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("device=")]
    assert len(device) == 1 and "; Secure" in device[0]


def test_a_browser_signed_in_before_signs_in_while_the_account_is_paused(
    under_attack: Flask,
) -> None:
    laptop = under_attack.test_client()
    login(laptop)
    post(laptop, "/logout")  # the device cookie outlives the sign-in
    pause_the_account(under_attack)

    assert sign_in_again(laptop) == 302
    # Any other browser is refused as before, even with the right password.
    assert sign_in_again(under_attack.test_client()) == 429


def test_a_known_browser_s_wrong_passwords_leave_the_account_s_limit_alone(
    under_attack: Flask,
) -> None:
    laptop = under_attack.test_client()
    login(laptop)
    post(laptop, "/logout")
    assert [sign_in_again(laptop, "a typo") for _ in range(3)] == [422, 422, 422]
    # The account still has all three of its failed sign-ins for everyone else.
    elsewhere = under_attack.test_client()
    codes = [sign_in_again(elsewhere, "a guess") for _ in range(4)]
    assert codes == [422, 422, 422, 429]


def test_a_known_browser_still_meets_the_limit_per_client(app: Flask, consultant: int) -> None:
    app.config["LOGIN_RATE_LIMIT"] = "2 per minute"
    laptop = app.test_client()
    login(laptop)
    post(laptop, "/logout")
    assert [sign_in_again(laptop, "a typo") for _ in range(2)] == [422, 422]
    assert sign_in_again(laptop) == 429


def test_a_known_browser_that_keeps_failing_is_paused_with_the_others(
    under_attack: Flask,
) -> None:
    """A device cookie is not a password: one taken from the consultant's computer, or a
    shared computer's, must not give unlimited guesses at the account."""
    under_attack.config["DEVICE_LOGIN_RATE_LIMIT"] = "2 per day"
    laptop = under_attack.test_client()
    login(laptop)
    post(laptop, "/logout")
    pause_the_account(under_attack)

    assert [sign_in_again(laptop, "a typo") for _ in range(2)] == [422, 422]
    assert sign_in_again(laptop) == 429  # now counted as any other client: paused


def test_a_browser_given_a_new_password_signs_in_with_it_while_paused(
    under_attack: Flask,
) -> None:
    laptop = under_attack.test_client()
    login(laptop)
    old = device_cookie(laptop)
    assert change(laptop, PASSWORD, NEW_PASSWORD).status_code == 303
    assert device_cookie(laptop) != old
    post(laptop, "/logout")
    pause_the_account(under_attack)

    assert sign_in_again(laptop, NEW_PASSWORD) == 302
    # The cookie given with the old password is worth nothing now.
    assert sign_in_again(browser_with(under_attack, old), NEW_PASSWORD) == 429


def tampered(value: str) -> str:
    """Change the signature's first character: its last may differ only in padding bits,
    which decode to the same bytes."""
    at = value.rindex(".") + 1
    return value[:at] + ("A" if value[at] != "A" else "B") + value[at + 1 :]


@pytest.mark.parametrize(
    "case",
    [
        "made up",
        "tampered with",
        "for another account",
        "expired",
        "from before a new password on the command line",
        "from before a new email address",
    ],
)
def test_a_device_cookie_that_is_not_valid_for_the_account_gives_no_exemption(
    under_attack: Flask, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    from itsdangerous.timed import TimestampSigner

    from assess.commands import user_cli

    email = "cara@example.com"
    laptop = under_attack.test_client()
    if case == "for another account":
        make_consultant(under_attack, "dee@example.com", "Dee")
        login(laptop, "dee@example.com")
    elif case == "expired":
        issued = time.time() - 181 * 86400
        with monkeypatch.context() as earlier:
            earlier.setattr(TimestampSigner, "get_timestamp", lambda _self: int(issued))
            login(laptop)
    else:
        login(laptop)
    value = device_cookie(laptop)
    runner = under_attack.test_cli_runner()
    if case == "made up":
        value = "WzEsImFiYyIsImRlZiJd.aaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbb"
    elif case == "tampered with":
        value = tampered(value)
    elif case == "from before a new password on the command line":
        result = runner.invoke(user_cli, ["password", email], input=NEW_PASSWORD + "\n")
        assert result.exit_code == 0, result.output
    elif case == "from before a new email address":
        email = "cara@studio.example"
        result = runner.invoke(user_cli, ["update", "cara@example.com", "--email", email])
        assert result.exit_code == 0, result.output
    password = NEW_PASSWORD if "password" in case else PASSWORD
    pause_the_account(under_attack, email)

    browser = browser_with(under_attack, value)
    response = post(browser, "/login", {"email": email, "password": password})
    assert response.status_code == 429


def test_a_device_cookie_is_worth_nothing_to_a_consultant_who_signs_in_elsewhere(
    under_attack: Flask,
) -> None:
    """Only the account the browser signed in to is exempt, not another one typed there."""
    make_consultant(under_attack, "dee@example.com", "Dee")
    shared = under_attack.test_client()
    login(shared, "dee@example.com")
    post(shared, "/logout")
    pause_the_account(under_attack)
    assert sign_in_again(shared) == 429
    login(shared, "dee@example.com")


def test_a_device_cookie_is_worth_nothing_for_an_address_its_account_gave_up(
    under_attack: Flask,
) -> None:
    """An address changed on the command line voids the cookies given for the old one, also
    once another account signs in with it."""
    from assess.commands import user_cli

    laptop = under_attack.test_client()
    login(laptop)
    post(laptop, "/logout")
    runner = under_attack.test_cli_runner()
    moved = ["update", "cara@example.com", "--email", "cara@studio.example"]
    assert runner.invoke(user_cli, moved).exit_code == 0
    make_consultant(under_attack, "cara@example.com", "Another Cara")
    pause_the_account(under_attack)
    # The old cookie gives no exemption for the address now another account's.
    assert sign_in_again(laptop) == 429


def test_a_new_secret_key_ends_every_session_with_clear_pages(
    app: Flask, client: FlaskClient, consultant: int
) -> None:
    """A deploy that changes SECRET_KEY leaves every cookie signed with the old one: each is
    treated as ended, never as an error."""
    login(client)
    engagement_id = create_engagement(client)
    link = invite(client, engagement_id)
    token = csrf_token(client, "/engagements/new")
    respondent = app.test_client()
    step = respondent.get(f"{link}/step/1").get_data(as_text=True)
    answer_token = re.search(r'name="csrf_token" value="([^"]+)"', step)
    assert answer_token is not None
    app.config["SECRET_KEY"] = "a new key the deploy brought, long and random"

    opened = client.get(f"/engagements/{engagement_id}")
    assert opened.status_code == 302 and opened.headers["Location"].startswith("/login?next=")
    expired = client.post("/engagements/new", data={"csrf_token": token, **ENGAGEMENT})
    assert expired.status_code == 400
    assert "Your form has expired" in expired.get_data(as_text=True)
    assert "Sign in again</a>" in expired.get_data(as_text=True)
    sign_in = client.post("/login", data={"csrf_token": token, "email": "cara@example.com"})
    assert sign_in.status_code == 400
    assert "This sign-in page was open too long" in sign_in.get_data(as_text=True)
    signed_out = client.post("/logout", data={"csrf_token": token})
    assert signed_out.status_code == 302 and signed_out.headers["Location"] == "/login"
    # The browser's device cookie, signed with the old key too, is simply not honoured.
    login(client)
    assert client.get("/engagements").status_code == 200
    assert count_engagements(app) == 1

    answers = {"csrf_token": answer_token.group(1), "innovation": "2"}
    refused = respondent.post(f"{link}/step/1", data=answers)
    assert refused.status_code == 303 and refused.headers["Location"] == f"{link}/step/1"
    page = respondent.get(refused.headers["Location"]).get_data(as_text=True)
    assert "was not saved" in page and 'name="innovation" value="2" checked' in page
