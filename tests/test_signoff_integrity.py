"""Sign-off under double clicks, races and half-finished set-ups, on whichever database the
suite runs: every action counts once, a sealed charter stays sealed, and nothing is signed
that no longer reflects the assessment."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from signofftools import (
    SIGNATORIES,
    Setup,
    approve,
    engagement_with_decision,
    freeze,
    post,
    record,
    seal_key_files,  # noqa: F401  (fixture)
    send,
    shared_seal_key,  # noqa: F401  (fixture)
)
from webtools import ANSWERS, csrf_token, login

from assess import signoff
from assess.extensions import db
from assess.models import Engagement, SignOff, utcnow
from assess.signing import keys
from assess.text import time_text

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("shared_seal_key")]


def together(app: Flask, posts: list[tuple[str, dict[str, str]]], *, signed_in: bool) -> list[Any]:
    """Send each post from its own client at the same instant; return the status codes."""
    prepared = []
    for path, form in posts:
        client = app.test_client()
        if signed_in:
            login(client)
        prepared.append((client, path, {"csrf_token": csrf_token(client, "/verify"), **form}))
    barrier = threading.Barrier(len(prepared))
    statuses: list[Any] = [None] * len(prepared)

    def run(index: int) -> None:
        client, path, form = prepared[index]
        barrier.wait()
        statuses[index] = client.post(path, data=form).status_code

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(prepared))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return statuses


def slow_down(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Widen the window between a check and its commit, as a slow request would."""
    original = getattr(signoff, name)

    def slow(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        time.sleep(0.3)
        return result

    monkeypatch.setattr(signoff, name, slow)


def stored_sign_off(app: Flask) -> tuple[str, list[str], list[str]]:
    with app.app_context():
        sign_off = db.session.query(SignOff).one()
        return (
            sign_off.status,
            sorted(s.action or "" for s in sign_off.signatories),
            [e.action for e in sign_off.events],
        )


def test_the_last_two_approvals_at_once_are_both_recorded_and_seal_once(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = engagement_with_decision(app, signed_in)
    links = send(signed_in, freeze(signed_in, setup), order="parallel")
    slow_down(monkeypatch, "check_can_act")
    form = [(p["name"], {"full_name": p["name"], "consent": "yes"}) for p in SIGNATORIES]
    statuses = together(
        app, [(f"{links[name]}/approve", data) for name, data in form], signed_in=False
    )
    assert statuses == [303, 303]
    status, actions, events = stored_sign_off(app)
    assert status == "signed" and actions == ["approved", "approved"]
    assert events.count("approved") == 2 and events.count("sealed") == 1


def test_a_double_click_on_approve_counts_once(app: Flask, signed_in: FlaskClient) -> None:
    setup = engagement_with_decision(app, signed_in)
    links = send(signed_in, freeze(signed_in, setup), order="parallel", people=SIGNATORIES[:1])
    form = {"full_name": "Ann Lee", "consent": "yes"}
    # Sealing the last approval takes a while before anything is written: the second click
    # arrives meanwhile.
    together(app, [(f"{links['Ann Lee']}/approve", form)] * 2, signed_in=False)
    status, _, events = stored_sign_off(app)
    assert status == "signed" and events.count("approved") == 1 and events.count("sealed") == 1


def test_a_withdrawal_loses_to_a_seal_that_landed_first(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = engagement_with_decision(app, signed_in)
    version_path = freeze(signed_in, setup)
    links = send(signed_in, version_path, order="parallel", people=SIGNATORIES[:1])
    signer = app.test_client()
    form = {"csrf_token": csrf_token(signer, "/verify"), "full_name": "Ann Lee", "consent": "yes"}
    original = signoff.withdraw
    approved: list[int] = []

    def withdraw_after_the_last_approval(session: Any, sign_off: Any, **kwargs: Any) -> Any:
        # The consultant's request has loaded the sign-off as pending; the approval lands now.
        def last_approval() -> None:
            approved.append(signer.post(f"{links['Ann Lee']}/approve", data=form).status_code)

        thread = threading.Thread(target=last_approval)
        thread.start()
        thread.join(120)
        return original(session, sign_off, **kwargs)

    monkeypatch.setattr(signoff, "withdraw", withdraw_after_the_last_approval)
    response = post(signed_in, f"{version_path}/withdraw")
    assert approved == [303] and response.status_code in (302, 303)
    status, _, events = stored_sign_off(app)
    assert status == "signed" and "withdrawn" not in events
    with app.app_context():
        engagement = db.session.get(Engagement, setup.engagement_id)
        assert engagement is not None and engagement.signed_at is not None
    assert signed_in.get(f"{version_path}/signed.pdf").status_code == 200


def test_two_signatories_added_at_once_both_get_a_place(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = engagement_with_decision(app, signed_in)
    version_path = freeze(signed_in, setup)
    slow_down(monkeypatch, "add_signatory")
    people = [
        (f"{version_path}/signatories", {"name": "Ann Lee", "email": "ann@northlight.example"}),
        (f"{version_path}/signatories", {"name": "Bo Chen", "email": "bo@tidewater.example"}),
    ]
    assert together(app, people, signed_in=True) == [303, 303]
    with app.app_context():
        sign_off = db.session.query(SignOff).one()
        assert sorted(s.position for s in sign_off.signatories) == [1, 2]


def test_a_superseded_decision_is_not_frozen_nor_signed(app: Flask, signed_in: FlaskClient) -> None:
    setup = engagement_with_decision(app, signed_in)
    newer = record(app, setup.engagement_id, {**ANSWERS, "timeline_pressure": 5})
    charter_page = f"/engagements/{setup.engagement_id}/decisions/{setup.decision_id}/charter"
    page = signed_in.get(charter_page).get_data(as_text=True)
    assert "Freeze for sign-off" not in page and f"the newest decision (#{newer})" in page
    refused = post(signed_in, setup.freeze_path, {"version": "1"})
    assert refused.status_code == 409
    assert f"superseded by #{newer}" in refused.get_data(as_text=True)  # type: ignore[attr-defined]
    with app.app_context():
        engagement = db.session.get(Engagement, setup.engagement_id)
        assert engagement is not None and engagement.charter_versions == []
        # A version frozen from it by other means is stale from the start.
        old = next(d for d in engagement.decisions if d.id == setup.decision_id)
        from signofftools import details_for_tests

        version = signoff.freeze(db.session, engagement, old, details_for_tests())
        assert signoff.is_stale(db.session, version)
        db.session.rollback()
    newest = Setup(setup.engagement_id, newer)
    assert post(signed_in, newest.freeze_path, {"version": "1"}).status_code == 303


def test_an_archived_engagement_is_not_signed(app: Flask, signed_in: FlaskClient) -> None:
    setup = engagement_with_decision(app, signed_in)
    links = send(signed_in, freeze(signed_in, setup), people=SIGNATORIES[:1])
    post(signed_in, f"/engagements/{setup.engagement_id}/archive")
    page = signed_in.get(links["Ann Lee"]).get_data(as_text=True)
    assert "archived this engagement" in page and "Approve the charter" not in page
    approve(signed_in, links["Ann Lee"], "Ann Lee")
    status, actions, _ = stored_sign_off(app)
    assert status == "pending" and actions == [""]


def test_an_archived_engagements_version_page_offers_no_actions(
    app: Flask, signed_in: FlaskClient
) -> None:
    pending = engagement_with_decision(app, signed_in)
    send(signed_in, freeze(signed_in, pending), people=SIGNATORIES[:1])
    preparing = engagement_with_decision(app, signed_in)
    post(signed_in, f"{freeze(signed_in, preparing)}/signatories", SIGNATORIES[0])
    for setup in (pending, preparing):
        assert "Withdraw this version" in signed_in.get(setup.version_path()).get_data(as_text=True)
        post(signed_in, f"/engagements/{setup.engagement_id}/archive")
        page = signed_in.get(setup.version_path()).get_data(as_text=True)
        assert "The engagement is archived" in page and "Restore engagement" in page
        for action in ("Withdraw this version", "New link", "Revoke link", "Remove", "Add"):
            assert f">{action}" not in page


@pytest.mark.parametrize("action", ["withdraw", "link", "revoke", "remove"])
def test_a_version_page_opened_before_the_archive_changes_nothing(
    app: Flask, signed_in: FlaskClient, action: str
) -> None:
    # Its forms are sent after the engagement was archived, from a tab opened before.
    setup = engagement_with_decision(app, signed_in)
    version_path = freeze(signed_in, setup)
    if action == "remove":
        post(signed_in, f"{version_path}/signatories", SIGNATORIES[0])
    else:
        send(signed_in, version_path, people=SIGNATORIES[:1])
    before = stored_sign_off(app)
    with app.app_context():
        signatory = db.session.query(SignOff).one().signatories[0].id
    post(signed_in, f"/engagements/{setup.engagement_id}/archive")
    path = f"{version_path}/{action}"
    if action != "withdraw":
        path = f"{version_path}/signatories/{signatory}/{action}"
    response = post(signed_in, path)
    assert response.status_code == 409  # type: ignore[attr-defined]
    assert "This engagement is archived" in response.get_data(as_text=True)  # type: ignore[attr-defined]
    assert stored_sign_off(app) == before
    with app.app_context():
        assert db.session.query(SignOff).one().signatories[0].revoked_at is None


def link_end_shown(app: Flask, client: FlaskClient, **start: str) -> str:
    """Start a one-signatory sign-off with the start form's fields; return the end of the
    link as the version page names it."""
    version_path = freeze(client, engagement_with_decision(app, client))
    post(client, f"{version_path}/signatories", SIGNATORIES[0])
    started = post(client, f"{version_path}/start", {"order": "parallel", **start})
    assert started.status_code == 303  # type: ignore[attr-defined]
    page = client.get(version_path).get_data(as_text=True)
    shown = re.search(r"Active, until ((?:<span[^>]*>[^<]+</span>(?:, )?)+)", page)
    assert shown is not None
    return re.sub(r"<[^>]+>", "", shown.group(1))


def test_the_version_page_names_the_last_day_a_link_works(
    app: Flask, signed_in: FlaskClient
) -> None:
    chosen = utcnow().date() + timedelta(days=5)
    shown = link_end_shown(app, signed_in, expires_on=chosen.isoformat())
    assert shown == f"{chosen:%-d %b %Y}, end of day UTC"


def test_the_version_page_names_the_time_a_link_made_without_a_day_stops(
    app: Flask, signed_in: FlaskClient
) -> None:
    # Made for SIGNOFF_LINK_DAYS from now, it stops at that time of day: naming only the
    # day would read as the whole day (the form's "until the end of this day"), which the
    # signatory's page and the API's link_expires_at contradict.
    shown = link_end_shown(app, signed_in)
    with app.app_context():
        ends = db.session.query(SignOff).one().signatories[0].expires_at
    assert ends is not None and ends != ends.replace(hour=0, minute=0, second=0, microsecond=0)
    assert shown == time_text(ends)


def test_a_seal_key_set_up_cut_short_is_finished_next_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = keys._write_private

    def disk_full_at_the_certificate(path: Path, data: bytes) -> None:
        if path.name == keys.CERT_FILE:
            raise OSError(28, "No space left on device")
        original(path, data)

    monkeypatch.setattr(keys, "_write_private", disk_full_at_the_certificate)
    with pytest.raises(OSError):
        keys.load_or_create(tmp_path, key_size=2048)
    monkeypatch.setattr(keys, "_write_private", original)
    key_file = tmp_path / keys.KEY_FILE
    assert key_file.exists() and not (tmp_path / keys.CERT_FILE).exists()
    first_key = key_file.read_bytes()
    loaded = keys.load_or_create(tmp_path, key_size=2048)
    assert key_file.read_bytes() == first_key  # the key is kept, a certificate made for it
    assert loaded.certificate is not None
    # A certificate left without its key signed nothing: both are made again.
    key_file.unlink()
    again = keys.load_or_create(tmp_path, key_size=2048)
    assert key_file.read_bytes() != first_key and again.certificate is not None
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
