"""Authorisation per object on every page route, security headers everywhere, form fuzzing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from apitools import bearer, make_token
from flask import Flask, request
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from webtools import ANSWERS, create_engagement, invite, login, make_consultant, post
from werkzeug.routing import IntegerConverter

from assess.extensions import db as database
from assess.models import DecisionRecord, Engagement, Respondent, utcnow
from assess.questionnaire import decide, record_decision

pytestmark = pytest.mark.db

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def owners_objects(app: Flask, client: FlaskClient) -> dict[str, int]:
    """Have the first consultant create one of everything; return the ids by route parameter."""
    engagement_id = create_engagement(client)
    invite(client, engagement_id)
    with app.app_context():
        respondent = database.session.query(Respondent).one()
        respondent.answers = dict(ANSWERS)
        respondent.submitted_at = utcnow()
        record = record_decision(
            database.session, respondent.engagement, decide(ANSWERS), respondent=respondent
        )
        database.session.commit()
        ids = {"engagement_id": engagement_id, "respondent_id": respondent.id}
        ids["decision_id"] = record.id
        ids.update(frozen_charter(respondent.engagement, record))
    make_token(app, 1)
    ids["token_id"] = 1
    return ids


def frozen_charter(engagement: Engagement, record: DecisionRecord) -> dict[str, int]:
    """Freeze the charter of a decision as version 1 and name one signatory."""
    from assess import signoff
    from assess.charter import load_details

    details = load_details(
        {
            "project": engagement.project_name,
            "parties": [
                {"side": p.side, "name": p.name, "role": p.role} for p in engagement.parties
            ],
        }
    )
    version = signoff.freeze(database.session, engagement, record, details)
    signatory = signoff.add_signatory(
        database.session, version.sign_off, name="Ann Lee", email="ann@example.com"
    )
    database.session.commit()
    return {"number": version.number, "signatory_id": signatory.id}


# Pages of things that exist only later in the workflow (a sealed PDF after signing).
NOT_YET = {"/engagements/<int:engagement_id>/charter/v<int:number>/signed.pdf"}


def page_routes(app: Flask) -> list[tuple[str, str, list[str]]]:
    """Every page route that takes an integer id, with its methods and parameter names."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            continue
        ints = [
            name for name, conv in rule._converters.items() if isinstance(conv, IntegerConverter)
        ]
        if not ints or rule.arguments - set(ints):
            continue  # no object id, or reached by a link token rather than an account
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, rule.rule, ints))
    return found


def test_another_consultants_ids_are_not_found_on_every_page_route(
    app: Flask, signed_in: FlaskClient
) -> None:
    app.config["WTF_CSRF_ENABLED"] = False
    ids = owners_objects(app, signed_in)
    routes = page_routes(app)
    assert len(routes) >= 15
    # The owner reaches every page that can be read, so a 404 below means "not yours".
    for method, rule, _params in routes:
        url = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(ids.get(m.group(1), 1)), rule)
        if method == "GET" and rule not in NOT_YET:
            assert signed_in.get(url).status_code != 404, url

    other = app.test_client()
    make_consultant(app, "dee@example.com", "Dee")
    login(other, "dee@example.com")
    for method, rule, _params in routes:
        # Ids this test does not know yet are 1: the first consultant created the first of each.
        url = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(ids.get(m.group(1), 1)), rule)
        response = other.open(url, method=method, data={"name": "x", **ANSWERS})
        assert response.status_code == 404, (method, url, response.status_code)
    # Nothing changed for the owner.
    with app.app_context():
        respondent = database.session.query(Respondent).one()
        assert respondent.submitted_at is not None and respondent.engagement.archived_at is None


def test_another_consultants_ids_are_not_found_under_ones_own_engagement(
    app: Flask, signed_in: FlaskClient
) -> None:
    """An id of another consultant's respondent, decision, version or signatory, put in the
    address of one's own engagement, reaches nothing of theirs (web and API)."""
    app.config["WTF_CSRF_ENABLED"] = False
    ids = owners_objects(app, signed_in)
    other = app.test_client()
    dee = make_consultant(app, "dee@example.com", "Dee")
    login(other, "dee@example.com")
    mine = create_engagement(other, producer_name="Eve Park", creator_name="Finn Ode")
    own = {**ids, "engagement_id": mine}
    for method, rule, params in page_routes(app):
        if set(params) <= {"engagement_id", "token_id"}:
            continue  # nothing of the other consultant's in the address
        url = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(own[m.group(1)]), rule)
        response = other.open(url, method=method, data={"name": "x", **ANSWERS})
        if rule.endswith("/respondents/<int:respondent_id>/remove"):
            # Answered as for a respondent removed already: no name, nothing removed.
            assert response.status_code == 302, url
            assert "Ann Lee" not in other.get(response.headers["Location"]).get_data(True)
        else:
            assert response.status_code == 404, (method, url, response.status_code)
    secret = make_token(app, dee)
    for rule in app.url_map.iter_rules():
        params = set(rule.arguments) - {"engagement_id"}
        if not rule.rule.startswith("/api/v1/engagements/") or not params:
            continue
        url = re.sub(r"<[^<>]*:([^<>]+)>", lambda m: str(own[m.group(1)]), rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = other.open(url, method=method, json={}, headers=bearer(secret))
            # Some changes check their body first; none reaches the owner's objects.
            assert response.status_code in (404, 422), (method, url, response.status_code)
            assert "Ann Lee" not in response.get_data(as_text=True)
    with app.app_context():
        respondent = database.session.query(Respondent).filter_by(name="Ann Lee").one()
        assert respondent.submitted_at is not None


def assert_secure(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"
    assert "camera=()" in headers["Permissions-Policy"]
    assert headers["X-Robots-Tag"] == "noindex, nofollow"


def test_security_headers_on_every_kind_of_response(
    app: Flask, client: FlaskClient, consultant: int
) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("boom")

    responses = {
        "home page": client.get("/"),
        "sign-in page": client.get("/login"),
        "account page": client.get("/account"),
        "redirect": client.get("/engagements"),
        "page not found": client.get("/nowhere"),
        "static file": client.get("/static/app.css"),
        "server error page": client.get("/boom"),
        "api json": client.post("/api/v1/evaluate", json=ANSWERS),
        "api error": client.get("/api/v1/engagements"),
        "api 405": client.put("/api/v1/evaluate"),
        "openapi": client.get("/api/v1/openapi.json"),
        "docs page": client.get("/api/v1/docs"),
        "health": client.get("/healthz"),
        "invitation link not found": client.get("/i/unknown"),
    }
    for name, response in responses.items():
        try:
            assert_secure(response)
        except (AssertionError, KeyError) as error:
            raise AssertionError(f"{name}: {error!r}") from error
        finally:
            response.close()
    assert responses["server error page"].status_code == 500
    assert responses["home page"].headers["Cache-Control"] == "no-store"


# Files the same for everyone, which browsers may keep: the app's own assets and the
# charter's stylesheet and fonts. The API's description is public too.
PUBLIC_FILES = ("/static/", "/charter/stylesheet.css", "/charter/assets/", "/api/v1/openapi.json")


def test_no_private_page_or_file_is_kept_in_the_browser_s_cache(
    app: Flask, signed_in: FlaskClient
) -> None:
    """After signing out on a shared computer, the back button or the cache must not show
    an engagement, a charter or a respondent's answers: every page and file of an account or
    a personal link is sent no-store."""
    from signofftools import shown_links

    ids = owners_objects(app, signed_in)
    link = invite(signed_in, ids["engagement_id"], respondent_name="Di Moss")
    version = f"/engagements/{ids['engagement_id']}/charter/v{ids['number']}"
    assert post(signed_in, f"{version}/start", {"order": "sequential"}).status_code == 303
    tokens = {
        "/i/": link.rsplit("/", 1)[1],
        "/sign/": shown_links(signed_in.get(version).text)["Ann Lee"].rsplit("/", 1)[1],
    }
    secret = make_token(app, 1)
    checked = []
    for rule in app.url_map.iter_rules():
        path = rule.rule
        if "GET" not in (rule.methods or ()) or path.startswith(PUBLIC_FILES):
            continue
        if rule.arguments - set(ids) - {"token"}:
            continue  # a document id or a path of its own: not a page of anyone's
        for name in rule.arguments:
            value = ids.get(name) or next(v for k, v in tokens.items() if path.startswith(k))
            path = re.sub(rf"<[^>]*\b{name}>", str(value), path)
        response = signed_in.get(path, headers=bearer(secret))
        assert "no-store" in response.headers.get("Cache-Control", ""), (path, response.status)
        checked.append((path, response.status_code))
    opened = [path for path, status in checked if status == 200]
    assert len(opened) >= 25 and any(path.startswith("/sign/") for path in opened), checked


def test_pages_need_no_inline_script_or_style() -> None:
    """The CSP forbids inline code; no template may depend on it."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        if "charter" in path.parts:
            continue  # rendered to PDF, never served to a browser
        text = path.read_text(encoding="utf-8")
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(
            r"\sstyle=|<style|\son[a-z]+=", text
        ):
            offenders.append(str(path.relative_to(TEMPLATES)))
    assert offenders == []


def test_health_check_reports_the_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok", "database": "ok"}


def test_health_check_fails_when_the_database_is_gone(tmp_path: Path) -> None:
    from assess import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            # A directory cannot be opened as a database file.
            "DATABASE_URL": f"sqlite:///{tmp_path}",
        }
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.json["database"] == "unreachable"


@pytest.mark.parametrize("migrated_to", [None, "0009"])
def test_health_check_fails_while_the_database_is_not_migrated(
    tmp_path: Path, migrated_to: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    """A node whose database answers but lacks this version's tables and columns would fail
    every page: it is not ready for requests until `assess db upgrade` has run."""
    from alembic import command

    from assess import create_app
    from assess.commands import alembic_config, migration_order

    url = f"sqlite:///{tmp_path / 'assess.sqlite3'}"
    if migrated_to:
        revision = next(name for name in migration_order() if name.startswith(migrated_to))
        command.upgrade(alembic_config(url), revision)
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": url})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "not migrated"}
    assert "assess db upgrade" in caplog.text
    command.upgrade(alembic_config(url), "head")
    assert app.test_client().get("/healthz").status_code == 200


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_pages_on_a_database_not_migrated_answer_503_saying_to_upgrade(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A node started before `assess db upgrade` ran: its pages say it is briefly
    unavailable (not a server error), and its log says what to run."""
    import contextlib

    from apitools import bearer
    from servingtools import PG_SERVER

    from assess import create_app
    from assess.api.tokens import TOKEN_PREFIX
    from assess.testing import fresh_postgres

    with contextlib.ExitStack() as stack:
        if kind == "sqlite":
            url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        else:
            url = stack.enter_context(fresh_postgres(PG_SERVER, "assess_empty", migrated=False))
        app = create_app(
            {"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": url, "WTF_CSRF_ENABLED": False}
        )
        client = app.test_client()
        page = client.post("/login", data={"email": "a@b.example", "password": "x" * 12})
        api = client.get("/api/v1/engagements", headers=bearer(TOKEN_PREFIX + "a" * 43))
        with app.app_context():
            database.engine.dispose()
    assert page.status_code == 503 and "briefly unavailable" in page.get_data(as_text=True)
    assert api.status_code == 503 and api.json and api.json["code"] == 503
    assert "Traceback" not in caplog.text
    advice = [r.getMessage() for r in caplog.records if "assess db upgrade" in r.getMessage()]
    assert len(advice) == 2, caplog.text


def test_health_check_passes_on_a_database_a_newer_version_migrated(app: Flask) -> None:
    """During a rolling upgrade the nodes still on the older version keep serving."""
    with app.app_context(), database.engine.begin() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeedbeef'"))
    try:
        response = app.test_client().get("/healthz")
    finally:
        with app.app_context(), database.engine.begin() as connection:
            connection.execute(
                text("UPDATE alembic_version SET version_num = :revision"), {"revision": revision}
            )
    assert response.status_code == 200 and response.json["database"] == "ok"


printable = st.text(st.characters(codec="utf-8"), max_size=300)
form_values = st.dictionaries(
    st.sampled_from(
        [
            "email",
            "password",
            "project_name",
            "client_organisation",
            "producer_name",
            "creator_name",
            "respondent_name",
            "side",
            "expires_on",
            "action",
            "name",
            "access",
            "current_password",
            "new_password",
            "confirm_password",
            *ANSWERS,
        ]
    ),
    st.one_of(printable, st.integers().map(str), st.just("")),
    max_size=12,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=form_values)
def test_fuzzed_forms_never_cause_a_server_error(
    app: Flask, signed_in: FlaskClient, data: dict[str, str]
) -> None:
    app.config["WTF_CSRF_ENABLED"] = False
    app.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
    with app.app_context():
        if database.session.get(Engagement, 1) is None:
            database.session.commit()
            create_engagement(signed_in)
    for path in (
        "/engagements/new",
        "/account/api-tokens",
        "/account/password",
        "/engagements/1/edit",
        "/engagements/1/invitations/new",
        "/engagements/1/session",
    ):
        response = signed_in.post(path, data=data)
        assert response.status_code < 500, (path, data)
    assert post(app.test_client(), "/login", data).status_code < 500


def test_behind_a_proxy_the_client_address_and_https_come_from_it(database_url: str) -> None:
    from assess import create_app

    app = create_app(
        {"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": database_url, "PROXY_HOPS": 1}
    )

    @app.get("/whoami")
    def whoami() -> str:
        return f"{request.remote_addr} {request.scheme}"

    client = app.test_client()
    headers = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    response = client.get("/whoami", headers=headers)
    assert response.get_data(as_text=True) == "203.0.113.9 https"
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    # Without a configured proxy the same headers are not believed.
    direct = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": database_url})
    direct.add_url_rule("/whoami", view_func=whoami)
    assert direct.test_client().get("/whoami", headers=headers).get_data(as_text=True) == (
        "127.0.0.1 http"
    )
