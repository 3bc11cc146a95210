"""Serving on several nodes, and faults: real gunicorn processes on PostgreSQL and Redis.

Each test module run gets its own fresh PostgreSQL database (dropped afterwards) and its own
Redis key prefix (deleted afterwards), so runs never see each other's data or counters.

A sign-off started on one node completes on the other: each signatory approves on a
different node, and the last approval seals the charter.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from apitools import bearer
from flask import Flask
from servingtools import PG_SERVER, closed_port, fresh_postgres, node
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from webtools import ANSWERS, PASSWORD

from assess import create_app
from assess.api.tokens import issue_token
from assess.extensions import db as database
from assess.models import Consultant, Engagement, Invitation, Party, Respondent, hash_token
from assess.questionnaire import PAGES
from assess.signing.verify import verify

REDIS_URL = "redis://127.0.0.1:6379/0"
TIMEOUT = 10


@pytest.fixture(scope="module")
def pg() -> Iterator[str]:
    with fresh_postgres() as url:
        yield url


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own; its counters are deleted afterwards."""
    prefix = f"assess-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)
    client.close()


def make_app(url: str) -> Flask:
    return create_app(
        {
            "SECRET_KEY": "serving-tests",
            "DATABASE_URL": url,
            "SERVER_NAME": "localhost",
            "SESSION_COOKIE_SECURE": False,
            "RATELIMIT_STORAGE_URI": "memory://",
            "PASSWORD_HASH_TIME_COST": 1,
            "PASSWORD_HASH_MEMORY_KIB": 1024,
        }
    )


def seed(url: str) -> dict[str, Any]:
    """Store a consultant with a write token, an engagement and an invited respondent."""
    from assess.views.auth import hash_password

    app = make_app(url)
    with app.app_context():
        consultant = Consultant(
            email=f"{uuid.uuid4().hex[:8]}@example.com", password_hash=hash_password(PASSWORD)
        )
        engagement = Engagement(
            consultant=consultant, project_name="Tidewater", client_organisation="Northlight"
        )
        engagement.parties.extend(
            [Party(side="producer", name="Ann", role=""), Party(side="creator", name="Bo", role="")]
        )
        respondent = Respondent(name="Ann", side="producer", answers={})
        link = Invitation.new_token()
        respondent.invitations.append(Invitation(token_hash=hash_token(link)))
        engagement.respondents.append(respondent)
        database.session.add(engagement)
        _token, secret = issue_token(database.session, consultant, "tests", can_write=True)
        database.session.commit()
        seeded = {
            "email": consultant.email,
            "token": secret,
            "link": link,
            "engagement_id": engagement.id,
            "respondent_id": respondent.id,
        }
        database.engine.dispose()
    return seeded


def stored_answers(url: str, respondent_id: int) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as connection:
        answers = connection.execute(
            text("SELECT answers FROM respondents WHERE id = :id"), {"id": respondent_id}
        ).scalar_one()
    engine.dispose()
    return dict(answers)


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert match, "page carries no CSRF token"
    return match.group(1)


def node_env(pg: str, prefix: str, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": pg,
        "REDIS_URL": REDIS_URL,
        "RATELIMIT_KEY_PREFIX": prefix,
        "SECRET_KEY": "shared-by-every-node-of-the-service",
        **extra,
    }


def test_two_nodes_share_answers_and_rate_limits(
    pg: str, redis_prefix: str, tmp_path: Path
) -> None:
    seeded = seed(pg)
    link, rid = seeded["link"], seeded["respondent_id"]
    env = node_env(pg, redis_prefix, ASSESS_API_EVALUATE_LIMIT="5 per minute")
    env["HOME"] = str(tmp_path)  # where gunicorn would put its per-user control socket
    with node(env) as a, node(env) as b:
        # Two nodes on one host: neither claims a control socket the other would take over.
        assert not (tmp_path / ".gunicorn").exists()
        # The respondent saves the first page on node A ...
        browser = requests.Session()
        start = browser.get(f"{a.url}/i/{link}", timeout=TIMEOUT)
        assert start.status_code == 200
        first_page = {"innovation": "4", "planning_complexity": "2"}
        saved = send_form(browser, f"{a.url}/i/{link}/step/1", start, **first_page, action="save")
        assert saved.status_code == 303, saved.text
        # ... and resumes on node B, where the saved answers are shown again,
        resumed = browser.get(f"{b.url}/i/{link}", timeout=TIMEOUT)
        assert resumed.status_code == 200 and resumed.url.endswith("/step/1")
        assert re.search(r'id="innovation-4"[^>]*\bchecked', resumed.text)
        # and the session and form token made on A are accepted on B.
        onward = send_form(browser, f"{b.url}/i/{link}/step/1", start, **first_page, action="next")
        assert onward.status_code == 303 and onward.headers["Location"].endswith("/step/2")
        page_two = browser.get(f"{b.url}/i/{link}/step/2", timeout=TIMEOUT)
        second_page = {"resource_availability": "3", "risk_tolerance": "3"}
        saved = send_form(
            browser, f"{a.url}/i/{link}/step/2", page_two, **second_page, action="save"
        )
        assert saved.status_code == 303, saved.text
        assert stored_answers(pg, rid) == {
            "innovation": 4,
            "planning_complexity": 2,
            "resource_availability": 3,
            "risk_tolerance": 3,
        }
        # One limit of 5 evaluations a minute, counted across both nodes through Redis.
        codes = [
            requests.post(f"{n.url}/api/v1/evaluate", json=ANSWERS, timeout=TIMEOUT).status_code
            for n in (a, b, a, b, a, b)
        ]
        assert codes == [200, 200, 200, 200, 200, 429]


def send_form(
    browser: requests.Session,
    url: str,
    page: requests.Response,
    timeout: float = TIMEOUT,
    **fields: str,
) -> requests.Response:
    """Send a form as a browser does from the page it is on, with that page's CSRF token;
    return the answer itself, not where it redirects to."""
    data = {"csrf_token": csrf_of(page.text), **fields}
    return browser.post(url, data=data, allow_redirects=False, timeout=timeout)


def seed_sign_off(url: str) -> dict[str, Any]:
    """Freeze a decided engagement's charter with two signatories; start the sign-off."""
    from assess import signoff
    from assess.charter import load_details
    from assess.questionnaire import decide, record_decision

    seeded = seed(url)
    app = make_app(url)
    with app.app_context():
        engagement = database.session.get(Engagement, seeded["engagement_id"])
        assert engagement is not None
        record = record_decision(database.session, engagement, decide(ANSWERS))
        database.session.flush()
        details = load_details(
            {
                "project": engagement.project_name,
                "parties": [{"side": p.side, "name": p.name} for p in engagement.parties],
            }
        )
        version = signoff.freeze(database.session, engagement, record, details)
        for name in ("Ann Lee", "Bo Chen"):
            signoff.add_signatory(
                database.session, version.sign_off, name=name, email=f"{name[:2]}@example.com"
            )
        tokens = signoff.start(
            database.session, version.sign_off, sequential=False, expires_at=None
        )
        database.session.commit()
        seeded["sign_off_id"] = version.sign_off.id
        seeded["signatories"] = [
            (s.name, tokens[s.id]) for s in sorted(version.sign_off.signatories, key=lambda s: s.id)
        ]
        database.engine.dispose()
    return seeded


def test_a_sign_off_started_on_one_node_completes_on_the_other(pg: str, redis_prefix: str) -> None:
    seeded = seed_sign_off(pg)
    env = node_env(pg, redis_prefix)
    with node(env) as a, node(env) as b:
        for (name, token), server in zip(seeded["signatories"], (a, b), strict=True):
            browser = requests.Session()
            page = browser.get(f"{server.url}/sign/{token}", timeout=TIMEOUT)
            assert page.status_code == 200
            approved = send_form(
                browser,
                f"{server.url}/sign/{token}/approve",
                page,
                full_name=name,
                consent="on",
                timeout=30,  # the last approval seals the charter
            )
            assert approved.status_code == 303, approved.text[-500:]
    engine = create_engine(pg)
    try:
        with engine.connect() as connection:
            status, sealed = connection.execute(
                text("SELECT status, sealed_pdf FROM sign_offs WHERE id = :id"),
                {"id": seeded["sign_off_id"]},
            ).one()
            approvals = connection.execute(
                text("SELECT count(*) FROM sign_off_events WHERE action = 'approved'")
            ).scalar_one()
    finally:
        engine.dispose()
    assert status == "signed" and approvals == 2
    verdict = verify(bytes(sealed))
    assert verdict.as_sealed and sorted(verdict.approvers) == ["Ann Lee", "Bo Chen"]


def test_redis_down_the_app_keeps_serving_and_limits_per_process(
    pg: str, redis_prefix: str
) -> None:
    with closed_port() as port:
        closed = f"redis://127.0.0.1:{port}/0"
        env = node_env(pg, redis_prefix, REDIS_URL=closed, ASSESS_API_EVALUATE_LIMIT="3 per minute")
        with node(env) as a:
            assert requests.get(f"{a.url}/", timeout=TIMEOUT).status_code == 200
            assert requests.get(f"{a.url}/healthz", timeout=TIMEOUT).status_code == 200
            workers = a.workers()
            started = time.monotonic()
            codes = [
                requests.post(f"{a.url}/api/v1/evaluate", json=ANSWERS, timeout=TIMEOUT).status_code
                for _ in range(4)
            ]
            elapsed = time.monotonic() - started
            # Documented degradation: counted in the worker's memory while Redis is away; a
            # worker that was replaced meanwhile would have forgotten the count.
            assert (codes, a.workers()) == ([200, 200, 200, 429], workers), a.stderr()
            assert elapsed < 5


@pytest.fixture
def pg_app(pg: str) -> Iterator[Flask]:
    """The app in this process on the module's database; its pool is closed afterwards."""
    app = make_app(pg)
    yield app
    with app.app_context():
        database.engine.dispose()


@pytest.fixture
def admin() -> Iterator[Any]:
    engine = create_engine(make_url(PG_SERVER), isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def _terminate_on(app: Flask, admin: Any, statement_start: str, containing: str = "") -> list[int]:
    """Kill the request's own PostgreSQL backend the moment it starts a given statement."""
    killed: list[int] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        upper = statement.lstrip().upper()
        if not killed and upper.startswith(statement_start) and containing in upper:
            pid = conn.connection.dbapi_connection.info.backend_pid
            with admin.connect() as connection:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            killed.append(pid)

    with app.app_context():
        event.listen(database.engine, "before_cursor_execute", before)
    return killed


def test_connection_killed_mid_request_fails_cleanly_and_the_next_succeeds(
    pg: str, pg_app: Flask, admin: Any
) -> None:
    seeded = seed(pg)
    app = pg_app
    client = app.test_client()
    base = f"/api/v1/engagements/{seeded['engagement_id']}/respondents/{seeded['respondent_id']}"
    headers = bearer(seeded["token"])
    before = stored_answers(pg, seeded["respondent_id"])

    killed = _terminate_on(app, admin, "UPDATE RESPONDENTS")
    failed = client.put(
        f"{base}/answers", json={"answers": {"timeline_pressure": 5}}, headers=headers
    )
    assert killed, "the fault was not injected"
    assert failed.status_code == 503 and failed.mimetype == "application/json"
    assert failed.json["code"] == 503 and failed.headers["Retry-After"]
    assert stored_answers(pg, seeded["respondent_id"]) == before

    again = client.put(
        f"{base}/answers", json={"answers": {"timeline_pressure": 5}}, headers=headers
    )
    assert again.status_code == 200
    assert stored_answers(pg, seeded["respondent_id"])["timeline_pressure"] == 5

    # A page answers with the HTML error page, not a traceback, and the save is not half done.
    pg_app.config["WTF_CSRF_ENABLED"] = False
    link = f"/i/{seeded['link']}"
    first_page = {key: str(ANSWERS[key]) for key in PAGES[0].keys}
    killed = _terminate_on(app, admin, "UPDATE RESPONDENTS")
    page = client.post(f"{link}/step/1", data=first_page)
    assert killed and page.status_code == 503 and page.mimetype == "text/html"
    assert "Traceback" not in page.get_data(as_text=True)
    # Saved answers send the respondent on to their step: the database is back.
    assert client.get(link).status_code == 302
    # Lost while the link is looked up (the rate limiter asks first): the page recovers.
    killed = _terminate_on(app, admin, "SELECT", containing="JOIN RESPONDENTS")
    assert client.get(link).status_code == 302 and killed

    # A signed-in consultant's page too, although the error page needs the database itself.
    signed_in = pg_app.test_client()
    login = signed_in.post("/login", data={"email": seeded["email"], "password": PASSWORD})
    assert login.status_code == 302
    killed = _terminate_on(app, admin, "SELECT")
    page = signed_in.get("/engagements")
    assert killed and page.status_code == 503 and page.mimetype == "text/html"
    assert signed_in.get("/engagements").status_code == 200


def test_connections_dropped_between_requests_are_replaced(
    pg: str, pg_app: Flask, admin: Any
) -> None:
    seeded = seed(pg)
    app = pg_app
    client = app.test_client()
    assert client.get(f"/i/{seeded['link']}").status_code in (200, 302)
    with admin.connect() as connection:
        ended = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": make_url(pg).database},
        ).scalar_one()
    assert ended >= 1
    # The pool checks a connection before handing it out (pool_pre_ping).
    assert client.get(f"/i/{seeded['link']}").status_code in (200, 302)
    assert client.get("/healthz").status_code == 200


def test_worker_killed_mid_request_leaves_no_half_written_record(
    pg: str, redis_prefix: str
) -> None:
    seeded = seed(pg)
    url = f"/api/v1/engagements/{seeded['engagement_id']}/respondents"
    engine = create_engine(pg, poolclass=NullPool)  # no connection outlives a failed check
    count = "SELECT count(*) FROM respondents WHERE engagement_id = :id"
    with node(node_env(pg, redis_prefix)) as a, engine.connect() as lock:
        before = lock.execute(text(count), {"id": seeded["engagement_id"]}).scalar_one()
        # Hold the invitations table: the request writes its respondent, then waits here.
        lock.execute(text("LOCK TABLE invitations IN EXCLUSIVE MODE"))
        outcome: dict[str, Any] = {}

        def call() -> None:
            try:
                outcome["status"] = requests.post(
                    f"{a.url}{url}",
                    json={"name": "Cut", "side": "creator"},
                    headers=bearer(seeded["token"]),
                    timeout=TIMEOUT,
                ).status_code
            except requests.RequestException as error:
                outcome["error"] = error

        request = threading.Thread(target=call)
        request.start()
        waiting = (
            "SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND wait_event_type = 'Lock'"
        )
        deadline = time.monotonic() + TIMEOUT
        while lock.execute(text(waiting), {"db": make_url(pg).database}).scalar_one() == 0:
            assert time.monotonic() < deadline, "the request never reached the lock"
            time.sleep(0.05)
        workers = a.workers()
        assert len(workers) == 1
        import os
        import signal

        os.kill(workers[0], signal.SIGKILL)
        request.join(TIMEOUT)
        lock.rollback()  # releases the lock
        assert "status" not in outcome or outcome["status"] >= 500
        after = lock.execute(text(count), {"id": seeded["engagement_id"]}).scalar_one()
        assert after == before
        lock.rollback()
        # The master replaces the worker (which boots as slowly as the machine is busy);
        # once it answers, the same call succeeds completely.
        a.wait_ready()
        retried = requests.post(
            f"{a.url}{url}",
            json={"name": "Whole", "side": "creator"},
            headers=bearer(seeded["token"]),
            timeout=TIMEOUT,
        )
        assert retried.status_code == 201
        rows = lock.execute(
            text(
                "SELECT r.name, count(i.id) FROM respondents r LEFT JOIN invitations i "
                "ON i.respondent_id = r.id WHERE r.engagement_id = :id GROUP BY r.name"
            ),
            {"id": seeded["engagement_id"]},
        ).all()
        assert sorted(rows) == [("Ann", 1), ("Whole", 1)]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_clients_that_keep_their_connections_are_served_by_every_worker(
    pg: str, redis_prefix: str
) -> None:
    # A reverse proxy keeping a few connections open to the node must not leave all of them
    # with the worker that happened to accept them while the other idles.
    env = node_env(pg, redis_prefix, ASSESS_API_EVALUATE_LIMIT="10000 per minute")
    with node(env, workers=2) as server:
        workers = server.workers()
        before = {pid: cpu_seconds(pid) for pid in workers}
        answers: list[tuple[int, str]] = []

        def client() -> None:
            with requests.Session() as session:  # keeps its connection while the server does
                for _ in range(60):
                    response = session.post(
                        f"{server.url}/api/v1/evaluate", json=ANSWERS, timeout=TIMEOUT
                    )
                    answers.append((response.status_code, response.headers["Connection"]))

        clients = [threading.Thread(target=client) for _ in range(4)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join()
        used = {pid: cpu_seconds(pid) - before[pid] for pid in workers}
    assert min(used.values()) >= 0.15 * sum(used.values()), used
    assert set(answers) == {(200, "close")}
