"""Requests at the same instant: two last approvals on PostgreSQL are both recorded and seal
once; a freeze sent twice makes one version, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from servingtools import fresh_postgres
from signofftools import SIGNATORIES, approve, engagement_with_decision, freeze, record, send
from webtools import app_on, csrf_token, login, signed_in_consultant

import assess.signing.seal
from assess import charter, signoff
from assess.commands import upgrade_database
from assess.extensions import db
from assess.models import CharterVersion, Engagement, SignOff
from assess.signing.verify import verify


@pytest.fixture
def pg_app(tmp_path: Path) -> Iterator[Flask]:
    """The app on its own fresh PostgreSQL database, whatever DATABASE_URL says."""
    with fresh_postgres() as url, app_on(url, tmp_path) as app:
        yield app


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


@pytest.fixture(params=["sqlite", "postgresql"])
def any_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """The app on a fresh SQLite file, then on a fresh PostgreSQL database."""
    if request.param == "postgresql":
        yield request.getfixturevalue("pg_app")
        return
    path = tmp_path / "assess.sqlite3"
    upgrade_database(f"sqlite:///{path}")
    with app_on(f"sqlite:///{path}", tmp_path) as app:
        yield app


@pytest.mark.parametrize("before", ["signed", "preparing"])
def test_a_freeze_sent_twice_at_once_makes_one_version(
    any_app: Flask, before: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = any_app
    first = signed_in_consultant(app)
    second = app.test_client()
    login(second)
    setup = engagement_with_decision(app, first)
    if before == "signed":
        link = send(first, freeze(first, setup), people=SIGNATORIES[:1])["Ann Lee"]
        assert approve(app.test_client(), link, "Ann Lee").status_code == 303  # type: ignore[attr-defined]
    else:
        freeze(first, setup)
    setup = replace(setup, decision_id=record(app, setup.engagement_id))

    # Both requests read the versions before either has stored its own: rendering the
    # charter takes long enough, and a little more here makes sure of it.
    original_pdf = charter.to_pdf

    def slow_pdf(*args: Any, **kwargs: Any) -> bytes:
        time.sleep(0.3)
        return original_pdf(*args, **kwargs)

    monkeypatch.setattr(charter, "to_pdf", slow_pdf)
    forms = {
        client: {"csrf_token": csrf_token(client, "/verify"), "arbitration": "Geneva Chamber"}
        for client in (first, second)
    }
    start = threading.Barrier(2)
    answers: dict[FlaskClient, tuple[int, str | None]] = {}

    def submit(client: FlaskClient) -> None:
        start.wait()
        response = client.post(setup.freeze_path, data=forms[client])
        answers[client] = (response.status_code, response.headers.get("Location"))

    threads = [threading.Thread(target=submit, args=(c,)) for c in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    version_path = setup.version_path(2)
    assert sorted(answers.values()) == [(303, version_path), (303, version_path)]
    pages = sorted(c.get(version_path).get_data(as_text=True) for c in (first, second))
    said = ["already frozen" in page for page in pages]
    assert sorted(said) == [False, True]
    assert "Version 2 is frozen." in pages[said.index(False)]
    with app.app_context():
        versions = db.session.query(CharterVersion).order_by(CharterVersion.number).all()
        assert [v.number for v in versions] == [1, 2]
        assert versions[1].sign_off.status == "preparing"
        assert [e.action for e in versions[1].sign_off.events] == ["frozen"]
        assert versions[0].sign_off.status == ("signed" if before == "signed" else "withdrawn")
