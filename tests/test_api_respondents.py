"""Removing a respondent over the API: the engagement page's rules, and the history it keeps."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from apitools import bearer, make_token, meanwhile
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from webtools import ANSWERS, ENGAGEMENT, csrf_token, login, make_consultant, post

import assess.api.engagements as api_module
from assess.extensions import db
from assess.models import DecisionRecord, EngagementEvent, Invitation, Respondent, utcnow

pytestmark = pytest.mark.db


@pytest.fixture
def api(app: Flask, client: FlaskClient, consultant: int) -> FlaskClient:
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {make_token(app, consultant)}"
    return client


def engagement(api: FlaskClient) -> str:
    """Create an engagement; return its API path."""
    created = api.post("/api/v1/engagements", json=ENGAGEMENT)
    assert created.status_code == 201, created.json
    return f"/api/v1/engagements/{created.json['id']}"


def invited(api: FlaskClient, base: str, name: str, side: str) -> tuple[str, str]:
    """Invite a respondent; return their API path and the path of their link."""
    created = api.post(f"{base}/respondents", json={"name": name, "side": side})
    assert created.status_code == 201, created.json
    path = f"{base}/respondents/{created.json['respondent']['id']}"
    return path, urlsplit(created.json["url"]).path


def submit(api: FlaskClient, path: str) -> None:
    api.put(f"{path}/answers", json={"answers": ANSWERS})
    assert api.post(f"{path}/submit").status_code == 201


def history(app: Flask) -> list[tuple[str, str, str, str, int, str]]:
    with app.app_context():
        return [
            (e.action, e.actor, e.respondent_name, e.side, e.answered, e.via)
            for e in db.session.scalars(select(EngagementEvent).order_by(EngagementEvent.id))
        ]


def test_a_respondent_who_will_not_answer_is_removed_with_answers_and_links(
    app: Flask, api: FlaskClient
) -> None:
    base = engagement(api)
    ann, _ = invited(api, base, "Ann Lee", "producer")
    bo, _ = invited(api, base, "Bo Chen", "creator")
    cy, link = invited(api, base, "Cy Diaz", "creator")
    submit(api, ann)
    submit(api, bo)
    api.put(f"{cy}/answers", json={"answers": {"innovation": 2, "risk_tolerance": 4}})
    assert api.get(base).json["status"] == "answered"  # waiting for Cy
    assert api.get(link).status_code == 302  # on to the first page left to answer

    removed = api.delete(cy)
    assert removed.status_code == 204 and removed.data == b""
    assert api.get(cy).status_code == 404
    assert [r["name"] for r in api.get(f"{base}/respondents").json] == ["Ann Lee", "Bo Chen"]
    assert api.get(link).status_code == 404  # their link opens nothing any more
    with app.app_context():
        links = select(Invitation).where(Invitation.respondent_id == int(cy.rsplit("/", 1)[1]))
        assert db.session.scalars(links).all() == []
    # The engagement no longer waits for them.
    assert api.post(f"{base}/decisions").status_code == 201
    assert api.get(base).json["status"] == "decided"
    assert history(app) == [("respondent removed", "Cara Diaz", "Cy Diaz", "creator", 2, "api")]
    [entry] = api.get(f"{base}/history").json
    assert entry.pop("at").endswith("+00:00")
    assert entry == {
        "action": "respondent removed",
        "actor": "Cara Diaz",
        "via": "api",
        "respondent_name": "Cy Diaz",
        "side": "creator",
        "answered": 2,
    }

    # Removing again finds nobody, as for any respondent that does not exist.
    again = api.delete(cy)
    assert again.status_code == 404 and again.mimetype == "application/json"
    assert len(history(app)) == 1


def test_submitted_answers_and_answers_a_decision_rests_on_stay(
    app: Flask, api: FlaskClient
) -> None:
    base = engagement(api)
    ann, _ = invited(api, base, "Ann Lee", "producer")
    submit(api, ann)
    refused = api.delete(ann)
    assert refused.status_code == 409
    assert refused.json["message"] == (
        "Ann Lee has submitted their answers, so they stay with the engagement. Reopen their "
        "answers if they need to change them."
    )

    # Reopened, Ann is no longer submitted, but her decision still names her.
    respondent_id = int(ann.rsplit("/", 1)[1])
    with app.app_context():
        respondent = db.session.get(Respondent, respondent_id)
        assert respondent is not None
        respondent.submitted_at, respondent.reopened_at = None, utcnow()
        db.session.commit()
    refused = api.delete(ann)
    assert refused.status_code == 409 and "stored decisions rest on them" in refused.json["message"]
    assert api.get(ann).status_code == 200
    with app.app_context():
        assert db.session.scalars(select(DecisionRecord.respondent_id)).all() == [respondent_id]
    assert history(app) == []


def test_an_archived_engagement_keeps_its_respondents(app: Flask, api: FlaskClient) -> None:
    base = engagement(api)
    ann, _ = invited(api, base, "Ann Lee", "producer")
    api.patch(base, json={"archived": True})
    refused = api.delete(ann)
    assert refused.status_code == 409 and "archived" in refused.json["message"]
    assert api.get(ann).status_code == 200 and history(app) == []


def test_a_read_only_token_or_another_consultant_removes_nobody(
    app: Flask, api: FlaskClient, consultant: int
) -> None:
    base = engagement(api)
    ann, _ = invited(api, base, "Ann Lee", "producer")
    read_only = make_token(app, consultant, can_write=False)
    assert api.delete(ann, headers=bearer(read_only)).status_code == 403
    other = make_token(app, make_consultant(app, "dee@example.com", "Dee"))
    refused = api.delete(ann, headers=bearer(other))
    assert refused.status_code == 404 and refused.json["message"] == "No such engagement."
    assert api.get(f"{base}/history", headers=bearer(other)).status_code == 404
    assert api.get(f"{base}/history").json == []
    assert api.get(ann).status_code == 200 and history(app) == []


def test_an_unfinished_intake_session_is_removed_and_a_finished_one_stays(
    app: Flask, api: FlaskClient
) -> None:
    base = engagement(api)
    web = app.test_client()
    login(web)
    page = base.removeprefix("/api/v1")
    post(web, f"{page}/session", {"innovation": "3", "action": "save"})
    [unfinished] = api.get(f"{base}/respondents").json
    assert api.delete(f"{base}/respondents/{unfinished['id']}").status_code == 204
    assert api.get(f"{base}/respondents").json == []

    levels = {key: str(level) for key, level in ANSWERS.items()}
    post(web, f"{page}/session", {**levels, "action": "decide"})
    [finished] = api.get(f"{base}/respondents").json
    refused = api.delete(f"{base}/respondents/{finished['id']}")
    assert refused.status_code == 409 and "intake session was finished" in refused.json["message"]
    assert history(app) == [
        ("respondent removed", "Cara Diaz", "Intake session", "joint", 1, "api"),
    ]


def test_a_removal_over_the_api_shows_in_the_engagement_history(
    app: Flask, api: FlaskClient
) -> None:
    base = engagement(api)
    cy, _ = invited(api, base, "Cy Diaz", "creator")
    api.delete(cy)
    web = app.test_client()
    login(web)
    page = web.get(base.removeprefix("/api/v1")).get_data(as_text=True)
    history_card = page.split('id="engagement-history-title"', 1)[1].split("</section>", 1)[0]
    assert "<bdi>Cara Diaz</bdi> removed <bdi>Cy Diaz</bdi> (creator side)" in history_card
    assert "over the API" in history_card and "no answers saved" in history_card


def test_a_history_entry_is_never_changed(app: Flask, api: FlaskClient) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError

    from assess.models import FrozenError

    base = engagement(api)
    cy, _ = invited(api, base, "Cy Diaz", "creator")
    api.delete(cy)
    with app.app_context():
        event = db.session.scalars(select(EngagementEvent)).one()
        event.respondent_name = "Someone else"
        with pytest.raises(FrozenError):
            db.session.commit()
        db.session.rollback()
        # The database refuses it too, whatever writes to it.
        with pytest.raises(DatabaseError, match="frozen"):
            db.session.execute(text("UPDATE engagement_events SET respondent_name = 'X'"))
        db.session.rollback()
    assert [entry[2] for entry in history(app)] == ["Cy Diaz"]


def test_a_submit_on_the_link_at_the_same_moment_keeps_the_respondent(
    app: Flask, api: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = engagement(api)
    ann, link = invited(api, base, "Ann Lee", "producer")
    api.put(f"{ann}/answers", json={"answers": ANSWERS})
    other = app.test_client()
    form = {"csrf_token": csrf_token(other, link)}
    inner = meanwhile(
        monkeypatch, api_module, "not_archived", lambda: other.post(f"{link}/review", data=form)
    )
    refused = api.delete(ann)
    assert inner[0].status_code == 303
    assert refused.status_code == 409 and "has submitted their answers" in refused.json["message"]
    assert api.get(ann).json["status"] == "answered" and history(app) == []


def test_removing_twice_at_once_removes_once(
    app: Flask, api: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = engagement(api)
    cy, _ = invited(api, base, "Cy Diaz", "creator")
    inner = meanwhile(monkeypatch, api_module, "not_archived", lambda: api.delete(cy))
    outer = api.delete(cy)
    assert sorted([inner[0].status_code, outer.status_code]) == [204, 404]
    assert len(history(app)) == 1
