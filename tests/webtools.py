"""Helpers for the web tests: accounts, CSRF tokens and form posts like a browser's."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2.bccache import Bucket, BytecodeCache
from sqlalchemy import event, func, select

from assess.extensions import db as database
from assess.models import Consultant, Engagement, Invitation, Respondent, utcnow
from assess.questionnaire import PAGES

PASSWORD = "correct horse battery"


class CompiledTemplates(BytecodeCache):
    """Templates compiled once per test process, kept in memory; Jinja checks each entry
    against its template's source, so an edited template is compiled again."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


@contextmanager
def app_on(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The application on this database, configured as in production but for the tests."""
    from assess import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": database_url,
            "SERVER_NAME": "localhost",
            # The test client and the local browser tests talk plain http.
            "SESSION_COOKIE_SECURE": False,
            "REMEMBER_COOKIE_SECURE": False,
            "RATELIMIT_STORAGE_URI": "memory://",
            # Cheap hashing keeps the suite fast; the production costs are tested separately.
            "PASSWORD_HASH_TIME_COST": 1,
            "PASSWORD_HASH_MEMORY_KIB": 1024,
        }
    )
    app.instance_path = str(tmp_path / "instance")
    # Each test's app would otherwise compile every template it shows again.
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    yield app
    with app.app_context():
        database.engine.dispose()


def visible_text(markup: str) -> str:
    """The words of some HTML as they read: tags taken out, white space folded."""
    return " ".join(re.sub(r"<[^>]+>", " ", markup).split())


def make_consultant(app: Flask, email: str = "cara@example.com", name: str = "Cara Diaz") -> int:
    """Store a consultant with the test password; return the id."""
    from assess.views.auth import hash_password

    with app.app_context():
        consultant = Consultant(email=email, name=name, password_hash=hash_password(PASSWORD))
        database.session.add(consultant)
        database.session.commit()
        return consultant.id


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """Return the CSRF token of the client's session, read from a page like a browser."""
    page = client.get(path, follow_redirects=True).get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert match, "page carries no CSRF token"
    return match.group(1)


def post(client: FlaskClient, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """Post a form the way a browser does, with the session's CSRF token."""
    form = {"csrf_token": csrf_token(client), **(data or {})}
    return client.post(path, data=form, **kwargs)


def cookie_session(app: Flask, response: Any) -> str:
    """Return what the session cookie a response sets holds, as anyone holding the cookie
    can read it (the cookie is signed, not encrypted)."""
    from http.cookies import SimpleCookie

    cookies: SimpleCookie = SimpleCookie()
    for header in response.headers.getlist("Set-Cookie"):
        cookies.load(header)
    value = cookies[app.config["SESSION_COOKIE_NAME"]].value
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return str(serializer.loads(value))


def login(client: FlaskClient, email: str = "cara@example.com") -> None:
    response = post(client, "/login", {"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)


def signed_in_consultant(app: Flask) -> FlaskClient:
    """Store the test consultant and return a client signed in as them."""
    make_consultant(app)
    client = app.test_client()
    login(client)
    return client


ENGAGEMENT = {
    "project_name": "Tidewater",
    "client_organisation": "Northlight Films",
    "producer_name": "Ann Lee",
    "producer_role": "Executive producer",
    "creator_name": "Bo Chen",
    "creator_role": "Creative director",
}
ANSWERS = {
    "innovation": 4,
    "resource_availability": 3,
    "risk_tolerance": 3,
    "relationship_duration": 4,
    "timeline_pressure": 3,
    "creative_collaboration": 5,
    "iteration_readiness": 4,
    "planning_complexity": 2,
}


def create_engagement(client: FlaskClient, **changes: str) -> int:
    """Create an engagement through the form; return its id."""
    response = post(client, "/engagements/new", {**ENGAGEMENT, **changes})
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def invite(client: FlaskClient, engagement_id: int, **changes: str) -> str:
    """Invite a respondent; return the path of their link, read from the page shown once."""
    data = {"respondent_name": "Ann Lee", "side": "producer", "expires_on": "", **changes}
    response = post(client, f"/engagements/{engagement_id}/invitations/new", data)
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    match = re.search(r'id="invitation-link"[^>]*value="https?://[^/"]+(/i/[^"]+)"', page)
    assert match, "the new link is shown"
    return match.group(1)


def invited_pair(client: FlaskClient) -> tuple[int, str, str]:
    """Create an engagement and invite Ann Lee (producer side) and Bo Chen (creator side);
    return the engagement and their links."""
    engagement_id = create_engagement(client)
    ann = invite(client, engagement_id)
    bo = invite(client, engagement_id, respondent_name="Bo Chen", side="creator")
    return engagement_id, ann, bo


def fill_in(client: FlaskClient, link: str, answers: dict[str, int] = ANSWERS) -> None:
    """Answer every page of the questionnaire from an invitation link, without submitting."""
    for number, page in enumerate(PAGES, start=1):
        post(client, f"{link}/step/{number}", {k: str(answers[k]) for k in page.keys})


def answer_through_link(client: FlaskClient, link: str, answers: dict[str, int] = ANSWERS) -> None:
    """Answer every page from an invitation link and submit."""
    fill_in(client, link, answers)
    assert post(client, f"{link}/review").status_code == 303


# The creator side wants a hard, near date and no sprints: two significant gaps.
CREATOR_ANSWERS = {**ANSWERS, "timeline_pressure": 5, "iteration_readiness": 1}


def submitted(
    app: Flask, engagement_id: int, people: Iterable[tuple[str, str, Mapping[str, int]]]
) -> None:
    """Each of ``people`` (name, side, answers) has submitted their answers."""
    with app.app_context():
        engagement = database.session.get(Engagement, engagement_id)
        assert engagement is not None
        for name, side, answers in people:
            engagement.respondents.append(
                Respondent(name=name, side=side, answers=dict(answers), submitted_at=utcnow())
            )
        database.session.commit()


def submitted_pair(
    app: Flask, engagement_id: int, creator: dict[str, int] = CREATOR_ANSWERS
) -> None:
    """Ann Lee (producer side) and Bo Chen (creator side) submit their answers."""
    submitted(
        app, engagement_id, (("Ann Lee", "producer", ANSWERS), ("Bo Chen", "creator", creator))
    )


def consensus_of_two(app: Flask, client: FlaskClient) -> str:
    """Two respondents submit answers apart; decide on their consensus and return its path."""
    engagement_id = create_engagement(client)
    submitted_pair(app, engagement_id)
    response = post(client, f"/engagements/{engagement_id}/consensus")
    assert response.status_code == 303
    location: str = response.headers["Location"]
    return location


@contextmanager
def statements_sent(app: Flask) -> Iterator[list[str]]:
    """Collect the SQL statements the app sends to the database while the block runs."""
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    with app.app_context():
        engine = database.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def count(app: Flask, model: type) -> int:
    """Return how many rows of the model are stored."""
    with app.app_context():
        return int(database.session.scalar(select(func.count()).select_from(model)) or 0)


def expire_invitation(app: Flask, respondent_name: str) -> None:
    """Let the invitation of the one respondent of that name expire a minute ago."""
    with app.app_context():
        invitation = database.session.scalars(
            select(Invitation).join(Respondent).where(Respondent.name == respondent_name)
        ).one()
        invitation.expires_at = utcnow() - timedelta(minutes=1)
        database.session.commit()


def respondent_id(app: Flask, name: str) -> int:
    """Return the id of the one respondent of that name."""
    with app.app_context():
        query = select(Respondent.id).where(Respondent.name == name)
        return int(database.session.scalars(query).one())


def of_record(app: Flask, engagement_id: int) -> int | None:
    """Return the id of the engagement's decision, if it has one."""
    with app.app_context():
        engagement = database.session.get(Engagement, engagement_id)
        assert engagement is not None
        record = engagement.decision_of_record
        return record.id if record else None


# How long a request past its check waits for the other to get there too. Without the row
# held both get there and go on together; with it the other waits for the row, and this
# one goes on alone once the time is up.
MEETING = 1.5


def meeting_point(monkeypatch: pytest.MonkeyPatch, module: Any, *names: str) -> None:
    """Make each of ``module``'s functions ``names`` return only once two requests have
    called one of them, or after ``MEETING`` seconds: the place between a request's check
    and its write."""
    meet = threading.Barrier(2)

    def waiting(original: Callable[..., Any]) -> Callable[..., Any]:
        def wait_there(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            try:
                meet.wait(timeout=MEETING)
            except threading.BrokenBarrierError:
                pass
            return result

        return wait_there

    for name in names:
        monkeypatch.setattr(module, name, waiting(getattr(module, name)))


def together(*requests: Callable[[], Any]) -> list[Any]:
    """Send requests at the same instant, each from its own thread; return their responses
    in order."""
    start = threading.Barrier(len(requests))
    responses: list[Any] = [None] * len(requests)

    def send(number: int) -> None:
        start.wait()
        responses[number] = requests[number]()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(r is not None for r in responses), "a request did not finish"
    return responses
