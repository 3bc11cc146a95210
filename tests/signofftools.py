"""Helpers for the sign-off tests: an engagement with a decision, frozen and sent for sign-off."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from webtools import ANSWERS, create_engagement, csrf_token

from assess import charter
from assess.engine import evaluate
from assess.extensions import db
from assess.models import Engagement, Signatory
from assess.questionnaire import record_decision
from assess.signing.keys import load_or_create

SIGNATORIES = (
    {"name": "Ann Lee", "email": "ann@northlight.example", "role": "Executive producer"},
    {"name": "Bo Chen", "email": "bo@tidewater.example", "role": "Creative director"},
)


@pytest.fixture(scope="session")
def seal_key_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One seal key for the whole run: making a 3072-bit RSA key takes a third of a second."""
    keys = load_or_create(tmp_path_factory.mktemp("seal"))
    return {"SEAL_KEY_FILE": str(keys.key_file), "SEAL_CERT_FILE": str(keys.cert_file)}


@pytest.fixture
def shared_seal_key(app: Flask, seal_key_files: dict[str, str]) -> None:
    """Configure the app with the run's seal key, as a real deployment configures its own."""
    app.config.update(seal_key_files)


@dataclass
class Setup:
    engagement_id: int
    decision_id: int

    @property
    def charter_path(self) -> str:
        return f"/engagements/{self.engagement_id}/decisions/{self.decision_id}/charter"

    @property
    def freeze_path(self) -> str:
        return f"/engagements/{self.engagement_id}/charter/freeze/{self.decision_id}"

    def version_path(self, number: int = 1) -> str:
        return f"/engagements/{self.engagement_id}/charter/v{number}"


def record(app: Flask, engagement_id: int, answers: dict[str, int] | None = None) -> int:
    """Store a decision for the engagement; return its id."""
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        stored = record_decision(db.session, engagement, evaluate(answers or ANSWERS))
        db.session.commit()
        return stored.id


def engagement_with_decision(app: Flask, client: FlaskClient) -> Setup:
    """Create an engagement through the form and store a decision for it."""
    engagement_id = create_engagement(client)
    return Setup(engagement_id, record(app, engagement_id))


def frozen_charter(app: Flask, client: FlaskClient, **fields: str) -> tuple[Setup, str]:
    """An engagement with a decision and its charter frozen; return it and the version's path."""
    setup = engagement_with_decision(app, client)
    return setup, freeze(client, setup, **fields)


def signatory_id(app: Flask, name: str) -> int:
    """Return the id of the one signatory of that name."""
    with app.app_context():
        found: int = db.session.query(Signatory).filter_by(name=name).one().id
        return found


def post(client: FlaskClient, path: str, data: dict[str, str] | None = None) -> object:
    """Post like a browser, with the session's CSRF token (read from a public page)."""
    token = csrf_token(client, "/verify")
    return client.post(path, data={"csrf_token": token, **(data or {})})


def freeze(client: FlaskClient, setup: Setup, **fields: str) -> str:
    """Freeze the charter through the charter form; return the version page's path."""
    response = post(client, setup.freeze_path, fields)
    assert response.status_code == 303, response.get_data(as_text=True)  # type: ignore[attr-defined]
    location: str = response.headers["Location"]  # type: ignore[attr-defined]
    return location


def name_signatories(
    client: FlaskClient, version_path: str, people: Iterable[dict[str, str]] = SIGNATORIES
) -> None:
    """Add the signatories to the version, in order, through its form."""
    for person in people:
        response = post(client, f"{version_path}/signatories", person)
        assert response.status_code == 303, response.get_data(as_text=True)  # type: ignore[attr-defined]


def send(
    client: FlaskClient, version_path: str, order: str = "sequential", people: tuple = SIGNATORIES
) -> dict[str, str]:
    """Add the signatories and start the sign-off; return each one's link path by name."""
    name_signatories(client, version_path, people)
    response = post(client, f"{version_path}/start", {"order": order})
    assert response.status_code == 303, response.get_data(as_text=True)  # type: ignore[attr-defined]
    links = shown_links(client.get(version_path).get_data(as_text=True))
    assert len(links) == len(people), links
    return links


def signed_by_everyone(app: Flask, consultant: FlaskClient) -> str:
    """Freeze a new engagement's charter, send it and let every signatory approve, so that it
    is sealed; return the version's path."""
    version_path = freeze(consultant, engagement_with_decision(app, consultant))
    links = send(consultant, version_path, order="parallel")
    for person in SIGNATORIES:
        assert approve(app.test_client(), links[person["name"]], person["name"]).status_code == 303
    return version_path


def shown_links(page: str) -> dict[str, str]:
    """Return the personal links a version page shows once, each one's path by name."""
    found = re.findall(r'value="https?://[^/"]+(/sign/[^"]+)" data-name="([^"]+)"', page)
    return {name: path for path, name in found}


def approve(client: FlaskClient, link: str, name: str, **changes: str) -> object:
    return post(client, f"{link}/approve", {"full_name": name, "consent": "yes", **changes})


def upload(client: FlaskClient, data: bytes, name: str = "charter.pdf") -> Any:
    """Check a file on the public verification page, as a visitor uploads it."""
    token = csrf_token(client, "/verify")
    return client.post(
        "/verify",
        data={"csrf_token": token, "pdf": (BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def details_for_tests() -> charter.CharterDetails:
    return charter.load_details(
        {
            "project": "Tidewater",
            "parties": [
                {"side": "producer", "name": "Ann Lee", "role": "Executive producer"},
                {"side": "creator", "name": "Bo Chen", "role": "Creative director"},
            ],
            "consultant": "Cara Diaz",
            "issued_at": datetime(2026, 11, 23, tzinfo=UTC).isoformat(),
        }
    )
