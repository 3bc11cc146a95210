"""Two signatories approve at the same instant on PostgreSQL: both recorded, sealed once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from servingtools import fresh_postgres
from signofftools import SIGNATORIES, engagement_with_decision, freeze, send
from webtools import csrf_token, signed_in_consultant

import assess.signing.seal
from assess import create_app, signoff
from assess.extensions import db
from assess.models import Engagement, SignOff
from assess.signing.verify import verify


@pytest.fixture
def pg_app(tmp_path: Path) -> Iterator[Flask]:
    """The app on its own fresh PostgreSQL database, whatever DATABASE_URL says."""
    with fresh_postgres() as url:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test-secret",
                "DATABASE_URL": url,
                "SERVER_NAME": "localhost",
                "SESSION_COOKIE_SECURE": False,
                "RATELIMIT_STORAGE_URI": "memory://",
                "PASSWORD_HASH_TIME_COST": 1,
                "PASSWORD_HASH_MEMORY_KIB": 1024,
            }
        )
        app.instance_path = str(tmp_path / "instance")
        yield app
        with app.app_context():
            db.engine.dispose()


def test_simultaneous_approvals_are_both_recorded_and_sealed_once(
    pg_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = pg_app
    consultant = signed_in_consultant(app)
    setup = engagement_with_decision(app, consultant)
    links = send(consultant, freeze(consultant, setup), order="parallel")

    seals: list[int] = []
    original_seal = assess.signing.seal.seal

    def counting_seal(*args: Any, **kwargs: Any) -> bytes:
        seals.append(1)
        return original_seal(*args, **kwargs)

    # Widen the window between reading the sign-off and writing the approval, so that
    # without the row lock both approvals would miss each other and nothing would seal.
    original_check = signoff.check_can_act

    def slow_check(*args: Any, **kwargs: Any) -> None:
        original_check(*args, **kwargs)
        time.sleep(0.3)

    monkeypatch.setattr(assess.signing.seal, "seal", counting_seal)
    monkeypatch.setattr(signoff, "check_can_act", slow_check)

    clients: dict[str, FlaskClient] = {}
    forms: dict[str, dict[str, str]] = {}
    for person in SIGNATORIES:
        client = app.test_client()
        forms[person["name"]] = {
            "csrf_token": csrf_token(client, "/verify"),
            "full_name": person["name"],
            "consent": "yes",
        }
        clients[person["name"]] = client
    start = threading.Barrier(len(SIGNATORIES))
    statuses: dict[str, int] = {}

    def approve(name: str) -> None:
        start.wait()
        response = clients[name].post(f"{links[name]}/approve", data=forms[name])
        statuses[name] = response.status_code

    threads = [threading.Thread(target=approve, args=(p["name"],)) for p in SIGNATORIES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert statuses == {"Ann Lee": 303, "Bo Chen": 303}
    assert len(seals) == 1
    with app.app_context():
        sign_off = db.session.query(SignOff).one()
        assert sign_off.status == "signed"
        assert sorted(s.action or "" for s in sign_off.signatories) == ["approved", "approved"]
        actions = [e.action for e in sign_off.events]
        assert actions.count("approved") == 2 and actions.count("sealed") == 1
        assert sign_off.sealed_pdf is not None
        verdict = verify(sign_off.sealed_pdf)
        assert verdict.as_sealed and sorted(verdict.approvers) == ["Ann Lee", "Bo Chen"]
        engagement = db.session.get(Engagement, setup.engagement_id)
        assert engagement is not None and engagement.signed_at is not None
