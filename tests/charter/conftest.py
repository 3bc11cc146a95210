"""Fixtures for the charter: real decisions from the engine, engagement details, one PDF."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from webtools import create_engagement, login, make_consultant

from assess import charter
from assess.charter import CharterDetails
from assess.decision import Decision
from assess.engine import evaluate
from assess.extensions import db
from assess.factors import FACTOR_KEYS
from assess.models import Engagement
from assess.questionnaire import record_decision

ISSUED = "2026-03-02T09:00:00+00:00"

# Answer sets (in factor order) that the rules map to each kind of decision.
ANSWERS: dict[str, dict[str, int]] = {
    name: dict(zip(FACTOR_KEYS, values, strict=True))
    for name, values in {
        "standard": (3, 3, 3, 3, 3, 3, 3, 3),
        "integrated": (5, 4, 4, 4, 2, 5, 3, 3),
        "strategic_resource": (2, 1, 2, 2, 3, 2, 2, 3),
        "agile": (3, 4, 3, 2, 5, 2, 5, 1),
        "hybrid": (5, 4, 3, 4, 3, 5, 4, 2),
    }.items()
}


# One answer set, in factor order, per kind of recommendation: each model alone and each
# hybrid, primary first.
EVERY_MODEL = {
    ("strategic_resource",): "11111111",
    ("integrated",): "55555555",
    ("agile",): "11434341",
    ("strategic_resource", "agile"): "11111141",
    ("agile", "strategic_resource"): "11114141",
    ("strategic_resource", "integrated"): "11141411",
    ("integrated", "strategic_resource"): "11441411",
    ("integrated", "agile"): "11441441",
    ("agile", "integrated"): "12143441",
}


@pytest.fixture(scope="session")
def decisions() -> dict[str, Decision]:
    return {name: evaluate(answers, what_if=True) for name, answers in ANSWERS.items()}


def make_details(**overrides: Any) -> CharterDetails:
    fields: dict[str, Any] = {
        "project": "Northern Lights: an immersive documentary",
        "parties": [
            {"side": "producer", "name": "Ann Lee", "role": "Executive Producer"},
            {"side": "creator", "name": "Bo Chen", "role": "Director"},
        ],
        "consultant": "Clara Diaz",
        "issued_at": ISSUED,
        "mediators_internal": ["Dana Holt"],
        "mediators_external": ["Elif Kaya"],
        "revenue_split": {"producer": 55, "creator": 45},
    }
    fields.update(overrides)
    return charter.load_details(fields)


@pytest.fixture
def details() -> Callable[..., CharterDetails]:
    return make_details


@pytest.fixture(scope="session")
def standard_pdf(decisions: dict[str, Decision]) -> bytes:
    """The standard charter, rendered once per test process."""
    return charter.to_pdf(decisions["standard"], make_details())


class CountingServer(http.server.ThreadingHTTPServer):
    requests: list[str]


@pytest.fixture
def trap_server() -> Iterator[CountingServer]:
    """A local HTTP server that records every request it receives; none should arrive."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            server.requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = CountingServer(("127.0.0.1", 0), Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def charter_page(app: Flask, client: FlaskClient) -> tuple[FlaskClient, int, str]:
    """A signed-in consultant, their engagement and the charter path of a stored decision."""
    make_consultant(app)
    login(client)
    engagement_id = create_engagement(client)
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        decision = evaluate(ANSWERS["standard"], what_if=True)
        record = record_decision(db.session, engagement, decision)
        db.session.commit()
        decision_id = record.id
    return client, engagement_id, f"/engagements/{engagement_id}/decisions/{decision_id}/charter"
