"""The API tokens page: a token is shown once, stored hashed, works, and stops when revoked."""

from __future__ import annotations

import re
import threading
import time

import pytest
from apitools import bearer
from flask import Flask
from flask.testing import FlaskClient
from webtools import PASSWORD, login, post

from assess.api import account
from assess.api.tokens import ACTIVE_MAX, REVOKED_LISTED, ApiToken, issue_token
from assess.extensions import db as database
from assess.models import Consultant, hash_token, utcnow

pytestmark = pytest.mark.db

SECRET = re.compile(r'id="token-secret"[^>]*value="(asst_[^"]+)"')


FORM_NUMBER = re.compile(r'name="form_number" value="([^"]+)"')


def form_number(client: FlaskClient) -> str:
    match = FORM_NUMBER.search(client.get("/account/api-tokens").get_data(as_text=True))
    assert match, "the page has no token form"
    return match.group(1)


def create(client: FlaskClient, name: str = "CRM sync", access: str = "write") -> str:
    form = {
        "name": name,
        "access": access,
        "form_number": form_number(client),
        "password": PASSWORD,
    }
    response = post(client, "/account/api-tokens", form)
    assert response.status_code == 201
    match = SECRET.search(response.get_data(as_text=True))
    assert match, "the new token is not on the page"
    return match.group(1)


def refused(client: FlaskClient, name: str) -> str:
    """Ask for a token the page must refuse; return the page that says why."""
    form = {
        "name": name,
        "access": "read",
        "form_number": form_number(client),
        "password": PASSWORD,
    }
    response = post(client, "/account/api-tokens", form)
    assert response.status_code == 422
    return str(response.get_data(as_text=True))


def test_the_secret_never_travels_in_the_session_cookie_and_a_resent_form_makes_none(
    app: Flask, signed_in: FlaskClient
) -> None:
    number = form_number(signed_in)
    form = {"name": "CRM sync", "access": "read", "form_number": number, "password": PASSWORD}
    response = post(signed_in, "/account/api-tokens", form)
    secret = SECRET.search(response.get_data(as_text=True))
    assert response.status_code == 201 and secret
    assert response.headers["Cache-Control"] == "no-store"
    cookies = " ".join(response.headers.getlist("Set-Cookie"))
    with signed_in.session_transaction() as session:
        assert secret.group(1) not in str(dict(session)) + cookies
    # The browser's "send again" after the secret was shown: nothing new, and it says why.
    again = post(signed_in, "/account/api-tokens", form)
    assert again.status_code == 303 and again.headers["Location"] == "/account/api-tokens"
    listing = signed_in.get("/account/api-tokens").get_data(as_text=True)
    assert "That form was already sent" in listing and secret.group(1) not in listing
    with app.app_context():
        assert database.session.query(ApiToken).count() == 1
    # Two tabs opened before either was sent each make their token.
    first, second = form_number(signed_in), form_number(signed_in)
    for number, name in ((first, "First tab"), (second, "Second tab")):
        sent = post(
            signed_in,
            "/account/api-tokens",
            {"name": name, "form_number": number, "password": PASSWORD},
        )
        assert sent.status_code == 201


def test_a_refused_form_sent_again_is_refused_again_not_said_to_have_made_a_token(
    app: Flask, signed_in: FlaskClient
) -> None:
    """The browser's "send again" on the page that refused the form: the same refusal, since
    no token was made that the list could show."""
    form = {"name": "", "access": "read", "form_number": form_number(signed_in), "password": ""}
    first = post(signed_in, "/account/api-tokens", form)
    assert first.status_code == 422
    again = post(signed_in, "/account/api-tokens", form)
    assert again.status_code == 422
    assert "Enter the token name" in again.get_data(as_text=True)
    listing = signed_in.get("/account/api-tokens").get_data(as_text=True)
    assert "That form was already sent" not in listing
    with app.app_context():
        assert database.session.query(ApiToken).count() == 0


def test_token_is_shown_once_and_stored_hashed(app: Flask, signed_in: FlaskClient) -> None:
    secret = create(signed_in)
    listing = signed_in.get("/account/api-tokens").get_data(as_text=True)
    assert secret not in listing and "CRM sync" in listing and secret[:9] in listing
    # Not used yet: said as the table's other cells are, with a capital.
    assert '<td data-label="Last used">Never</td>' in listing
    with signed_in.session_transaction() as session:
        assert secret not in str(dict(session))
    with app.app_context():
        token = database.session.query(ApiToken).one()
        assert token.token_hash == hash_token(secret) and token.can_write
    assert signed_in.get("/api/v1/engagements", headers=bearer(secret)).status_code == 200


def test_read_only_token_from_the_page(signed_in: FlaskClient) -> None:
    secret = create(signed_in, access="read")
    response = signed_in.post(
        "/api/v1/engagements",
        json={
            "project_name": "x",
            "client_organisation": "y",
            "producer_name": "p",
            "creator_name": "c",
        },
        headers=bearer(secret),
    )
    assert response.status_code == 403


def test_revoked_token_stops_working(app: Flask, signed_in: FlaskClient) -> None:
    secret = create(signed_in)
    listing = signed_in.get("/account/api-tokens").get_data(as_text=True)
    # Each revoke button names its token for screen readers and asks before revoking.
    assert 'Revoke<span class="visually-hidden"> CRM sync</span>' in listing
    assert 'data-confirm="Revoke the token “CRM sync”?' in listing
    assert '<span class="status status-active">Active</span>' in listing
    with app.app_context():
        token_id = database.session.query(ApiToken).one().id
    revoked = post(signed_in, f"/account/api-tokens/{token_id}/revoke")
    assert revoked.status_code == 303
    assert "Revoked" in signed_in.get("/account/api-tokens").get_data(as_text=True)
    assert signed_in.get("/api/v1/engagements", headers=bearer(secret)).status_code == 401


def test_token_name_is_required(signed_in: FlaskClient) -> None:
    form = {
        "name": "  ",
        "access": "write",
        "form_number": form_number(signed_in),
        "password": PASSWORD,
    }
    response = post(signed_in, "/account/api-tokens", form)
    assert response.status_code == 422
    assert "Enter the token name." in response.get_data(as_text=True)


def test_an_unknown_access_is_named_next_to_its_choice_and_nothing_is_stored(
    app: Flask, signed_in: FlaskClient
) -> None:
    form = {
        "name": "CRM sync",
        "access": "admin",
        "form_number": form_number(signed_in),
        "password": PASSWORD,
    }
    response = post(signed_in, "/account/api-tokens", form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'href="#field-access">Access: Choose read only or read and write.' in page
    select = re.search(r'<select id="field-access"[^>]*>', page)
    assert select, "no access choice on the page"
    assert 'aria-invalid="true"' in select.group(0)
    assert 'aria-describedby="error-access"' in select.group(0)
    assert re.search(r'id="error-access">.*Choose read only or read and write\.', page)
    assert 'value="CRM sync"' in page
    with app.app_context():
        assert database.session.query(ApiToken).count() == 0


def test_tokens_page_needs_sign_in_and_a_form_token(client: FlaskClient, consultant: int) -> None:
    assert client.get("/account/api-tokens").status_code == 302
    assert client.post("/account/api-tokens", data={"name": "x"}).status_code == 400
    anonymous = post(client, "/account/api-tokens", {"name": "x"})
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_api_does_not_accept_the_session_cookie(signed_in: FlaskClient) -> None:
    """A signed-in browser is not an API client: a cross-site page cannot use the API."""
    assert signed_in.get("/api/v1/engagements").status_code == 401


def test_made_up_tokens_are_limited_per_client_address(app: Flask, client: FlaskClient) -> None:
    app.config["API_BAD_TOKEN_RATE_LIMIT"] = "3 per minute"
    statuses = [
        client.get(
            "/api/v1/engagements", headers={"Authorization": f"Bearer guess-{n}"}
        ).status_code
        for n in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429]


def test_a_guesser_at_the_same_address_does_not_lock_out_valid_tokens(
    app: Flask, signed_in: FlaskClient
) -> None:
    secret = create(signed_in)
    revoked = create(signed_in, "Old sync")
    with app.app_context():
        database.session.query(ApiToken).filter_by(name="Old sync").one().revoked_at = utcnow()
        database.session.commit()
    app.config["API_BAD_TOKEN_RATE_LIMIT"] = "2 per minute"
    guesses = [
        signed_in.get("/api/v1/engagements", headers=bearer(f"asst_guess{n}")).status_code
        for n in range(3)
    ]
    assert guesses == [401, 401, 429]
    assert signed_in.get("/api/v1/engagements", headers=bearer(revoked)).status_code == 429
    assert signed_in.get("/api/v1/engagements", headers=bearer(secret)).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer asst_guess"},
        {"Origin": "https://crm.example", "Access-Control-Request-Method": "PATCH"},
        {"Origin": "https://crm.example", "Authorization": "Bearer asst_guess"},
    ],
)
def test_options_requests_are_not_failed_authentication_attempts(
    app: Flask, signed_in: FlaskClient, headers: dict[str, str]
) -> None:
    """A preflight (or plain OPTIONS) carries no credentials to fail: it asks what a route
    takes. Counting it as a refused token would lock a browser-based tool out, and without
    a token it would share one count with every other client's."""
    secret = create(signed_in)
    app.config["API_BAD_TOKEN_RATE_LIMIT"] = "2 per minute"
    app.config["API_TOKEN_RATE_LIMIT"] = "3 per minute"
    asked = [
        signed_in.options("/api/v1/engagements/1", headers=headers).status_code for _ in range(5)
    ]
    assert asked == [204] * 5
    assert signed_in.get("/api/v1/engagements", headers=bearer(secret)).status_code == 200
    # Only failed attempts count: the limit still holds for tokens that are refused.
    guesses = [
        signed_in.get("/api/v1/engagements", headers=bearer(f"asst_guess{n}")).status_code
        for n in range(3)
    ]
    assert guesses == [401, 401, 429]


def test_a_new_password_or_signing_out_leaves_tokens_working_and_says_so(
    app: Flask, signed_in: FlaskClient
) -> None:
    # Tokens are for tools, not browsers: like a password, only their owner revokes them.
    # A consultant who changes a password they fear was seen is told where to do that.
    account = signed_in.get("/account").get_data(as_text=True)
    assert "API tokens keep working until you revoke them" in account
    secret = create(signed_in)
    new = "another passphrase"
    form = {"current_password": PASSWORD, "new_password": new, "confirm_password": new}
    changed = post(signed_in, "/account/password", form)
    assert changed.status_code == 303
    page = signed_in.get("/account").get_data(as_text=True)
    assert "Your 1 active API token keeps working" in page
    assert 'href="/account/api-tokens"' in page
    assert signed_in.get("/api/v1/engagements", headers=bearer(secret)).status_code == 200
    post(signed_in, "/logout")
    assert signed_in.get("/api/v1/engagements", headers=bearer(secret)).status_code == 200


def test_a_name_an_active_token_has_is_refused_and_nothing_is_stored(
    app: Flask, signed_in: FlaskClient
) -> None:
    create(signed_in, "CRM sync")
    page = refused(signed_in, " crm  SYNC ")
    assert re.search(r'id="error-name">.*You have an active token named “CRM sync”', page)
    with app.app_context():
        assert database.session.query(ApiToken).count() == 1
        database.session.query(ApiToken).one().revoked_at = utcnow()
        database.session.commit()
    create(signed_in, "CRM sync")  # the name of a revoked token is free again


def test_an_account_holds_a_bounded_number_of_active_tokens(
    app: Flask, signed_in: FlaskClient
) -> None:
    with app.app_context():
        consultant = database.session.query(Consultant).one()
        for number in range(ACTIVE_MAX):
            issue_token(database.session, consultant, f"Tool {number}", can_write=False)
        database.session.commit()
    page = refused(signed_in, "One more")
    assert re.search(rf'id="error-name">.*You have {ACTIVE_MAX} active tokens', page)
    with app.app_context():
        assert database.session.query(ApiToken).count() == ACTIVE_MAX
        database.session.query(ApiToken).filter_by(name="Tool 0").one().revoked_at = utcnow()
        database.session.commit()
    create(signed_in, "One more")  # a revoked token leaves room for a new one


def test_the_page_lists_every_active_token_and_only_the_latest_revoked(
    app: Flask, signed_in: FlaskClient
) -> None:
    with app.app_context():
        consultant = database.session.query(Consultant).one()
        issue_token(database.session, consultant, "Oldest, still active", can_write=False)
        for number in range(REVOKED_LISTED + 3):
            token, _secret = issue_token(
                database.session, consultant, f"Script run {number}", can_write=False
            )
            token.revoked_at = utcnow()
        issue_token(database.session, consultant, "Newest", can_write=False)
        database.session.commit()
    page = signed_in.get("/account/api-tokens").get_data(as_text=True)
    names = re.findall(r'<th scope="row">([^<]+)</th>', page)
    latest = [f"Script run {n}" for n in range(REVOKED_LISTED + 2, 2, -1)]
    assert names == ["Newest", *latest, "Oldest, still active"]
    assert "3 older revoked tokens are kept on record and not listed." in page


def test_the_same_name_from_two_tabs_at_once_makes_one_token(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    other_tab = app.test_client()
    login(other_tab)
    # Widen the window between checking the name and storing the token, so that without
    # holding the account both requests would find the name free.
    checked = account._room_for_one_more

    def slow_check() -> dict[str, list[str]]:
        time.sleep(0.3)
        return checked()

    monkeypatch.setattr(account, "_room_for_one_more", slow_check)
    forms = [
        (
            tab,
            {
                "name": "CRM sync",
                "access": "read",
                "form_number": form_number(tab),
                "password": PASSWORD,
            },
        )
        for tab in (signed_in, other_tab)
    ]
    start = threading.Barrier(len(forms))
    statuses: list[int] = []

    def send(tab: FlaskClient, form: dict[str, str]) -> None:
        start.wait()
        statuses.append(post(tab, "/account/api-tokens", form).status_code)

    threads = [threading.Thread(target=send, args=pair) for pair in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 422]
    with app.app_context():
        assert database.session.query(ApiToken).count() == 1


def test_a_refused_token_is_told_apart_from_a_missing_one(
    app: Flask, signed_in: FlaskClient
) -> None:
    # RFC 6750: a token that was sent but is not valid says so ("invalid_token"), so a tool
    # can tell its owner to replace it rather than to configure one.
    secret = create(signed_in)
    missing = {"Authorization": f"Basic {secret}"}, {}, {"Authorization": "Bearer "}
    for headers in missing:
        response = signed_in.get(f"/api/v1/engagements?access_token={secret}", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="assess"'
        assert "Authorization: Bearer <token>" in response.get_json()["message"]
    with app.app_context():
        database.session.query(ApiToken).one().revoked_at = utcnow()
        database.session.commit()
    for sent in (secret, "asst_made-up", "x" * 10_000):
        response = signed_in.get("/api/v1/engagements", headers=bearer(sent))
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == (
            'Bearer realm="assess", error="invalid_token"'
        )
        message = response.get_json()["message"]
        assert "not valid" in message and "revoked" in message and sent not in message


def test_the_tokens_page_leads_back_to_the_account(signed_in: FlaskClient) -> None:
    page = signed_in.get("/account/api-tokens").get_data(as_text=True)
    assert '<p class="breadcrumb"><a href="/account">Your account</a></p>' in page


def test_a_token_is_made_only_with_the_consultant_s_password(
    app: Flask, signed_in: FlaskClient
) -> None:
    """A token outlives the sign-in: whoever holds the session alone cannot mint one."""
    for password, message in (
        ("", "Enter your password."),
        ("guess", "That is not your password."),
    ):
        form = {"name": "CRM sync", "form_number": form_number(signed_in)}
        response = post(signed_in, "/account/api-tokens", form | {"password": password})
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and message in page
        assert 'href="#field-password">Your password' in page
        assert re.search(r'id="field-password" name="password" type="password"\s+value=""', page)
        assert not SECRET.search(page)
    with app.app_context():
        assert database.session.query(ApiToken).count() == 0
    assert create(signed_in).startswith("asst_")


def test_wrong_passwords_on_the_token_form_are_rate_limited(
    app: Flask, signed_in: FlaskClient
) -> None:
    app.config["LOGIN_RATE_LIMIT"] = "2 per minute"
    codes = []
    for _ in range(3):
        form = {"name": "CRM sync", "form_number": form_number(signed_in), "password": "guess"}
        codes.append(post(signed_in, "/account/api-tokens", form).status_code)
    assert codes == [422, 422, 429]


def test_a_refused_token_form_names_every_problem_at_once(
    app: Flask, signed_in: FlaskClient
) -> None:
    """The password field comes back empty: a wrong password left for a later round means
    typing it again only to learn it was wrong."""
    create(signed_in, "CRM sync")
    cases = (
        ({"name": "", "access": "admin"}, ("Enter the token name.", "Choose read only or")),
        ({"name": "crm sync", "access": "read"}, ("You have an active token named",)),
    )
    for fields, messages in cases:
        form = fields | {"password": "guess", "form_number": form_number(signed_in)}
        page = refused_page(signed_in, form)
        for message in (*messages, "That is not your password."):
            assert message in page
    with app.app_context():
        assert database.session.query(ApiToken).count() == 1


def refused_page(client: FlaskClient, form: dict[str, str]) -> str:
    response = post(client, "/account/api-tokens", form)
    assert response.status_code == 422
    page = str(response.get_data(as_text=True))
    assert not SECRET.search(page)
    return page
