"""The API under retries, races with the questionnaire links, and hostile bodies: one
submission, one consensus, answers that match their decision, and no server errors."""

from __future__ import annotations

import io
import json
from urllib.parse import urlsplit

import pytest
from apitools import make_token, meanwhile
from flask import Flask
from flask.testing import FlaskClient
from webtools import (
    ANSWERS,
    ENGAGEMENT,
    count,
    csrf_token,
    login,
    meeting_point,
    post,
    submitted_pair,
    together,
)

import assess.api.engagements as api_module
from assess import questionnaire, respondents
from assess.extensions import db
from assess.models import DecisionRecord, Invitation, Respondent

pytestmark = pytest.mark.db


@pytest.fixture
def api(app: Flask, client: FlaskClient, consultant: int) -> FlaskClient:
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {make_token(app, consultant)}"
    return client


def invited(api: FlaskClient, name: str = "Ann Lee", side: str = "producer") -> tuple[str, str]:
    """Create an engagement with one invited respondent; return its API path and link."""
    engagement = api.post("/api/v1/engagements", json=ENGAGEMENT).json
    assert engagement is not None
    created = api.post(
        f"/api/v1/engagements/{engagement['id']}/respondents", json={"name": name, "side": side}
    ).json
    assert created is not None
    path = f"/api/v1/engagements/{engagement['id']}/respondents/{created['respondent']['id']}"
    return path, urlsplit(created["url"]).path


def stored(app: Flask, path: str) -> tuple[dict[str, int], list[dict[str, int]]]:
    """Return the respondent's stored answers and the answers of its decisions."""
    respondent_id = int(path.rsplit("/", 1)[1])
    with app.app_context():
        respondent = db.session.get(Respondent, respondent_id)
        assert respondent is not None
        decisions = db.session.query(DecisionRecord).filter_by(respondent_id=respondent_id)
        return dict(respondent.answers), [dict(d.answers) for d in decisions]


def test_a_retried_submit_stores_one_decision(
    app: Flask, api: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = invited(api)
    assert api.put(f"{path}/answers", json={"answers": ANSWERS}).status_code == 200
    inner = meanwhile(monkeypatch, api_module, "missing", lambda: api.post(f"{path}/submit"))
    outer = api.post(f"{path}/submit")
    assert sorted([inner[0].status_code, outer.status_code]) == [201, 409]
    answers, decided = stored(app, path)
    assert decided == [answers]


def test_answers_cannot_change_once_the_link_submitted_them(
    app: Flask, api: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, link = invited(api)
    assert api.put(f"{path}/answers", json={"answers": ANSWERS}).status_code == 200
    other = app.test_client()
    form = {"csrf_token": csrf_token(other, link)}
    inner = meanwhile(
        monkeypatch,
        questionnaire,
        "save_answers",
        lambda: other.post(f"{link}/review", data=form),
    )
    outer = api.put(f"{path}/answers", json={"answers": {"innovation": 1}})
    assert inner[0].status_code == 303 and outer.status_code == 409
    answers, decided = stored(app, path)
    assert answers == ANSWERS and decided == [ANSWERS]


def test_answers_saved_over_the_api_and_from_the_link_at_once_keep_both(
    app: Flask, api: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, link = invited(api)
    other = app.test_client()
    page = {"resource_availability": "2", "risk_tolerance": "4", "action": "save"}
    inner = meanwhile(
        monkeypatch, questionnaire, "save_answers", lambda: post(other, f"{link}/step/2", page)
    )
    changed = {"innovation": 1, "planning_complexity": 5}
    assert api.put(f"{path}/answers", json={"answers": changed}).status_code == 200
    assert inner[0].status_code == 303
    answers, _ = stored(app, path)
    assert answers == {**changed, "resource_availability": 2, "risk_tolerance": 4}


def test_a_submit_decides_on_the_answers_it_locks(
    app: Flask, api: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, link = invited(api)
    assert api.put(f"{path}/answers", json={"answers": ANSWERS}).status_code == 200
    other = app.test_client()
    page = {"innovation": "1", "resource_availability": "2", "action": "save"}
    inner = meanwhile(
        monkeypatch, api_module, "missing", lambda: post(other, f"{link}/step/1", page)
    )
    assert api.post(f"{path}/submit").status_code == 201
    assert inner[0].status_code == 303
    answers, decided = stored(app, path)
    assert answers["innovation"] == 1 and decided == [answers]


def test_a_consensus_posted_again_is_not_stored_again(app: Flask, api: FlaskClient) -> None:
    path, _ = invited(api)
    engagement = path.split("/respondents/")[0]
    creator = api.post(f"{engagement}/respondents", json={"name": "Bo Chen", "side": "creator"})
    assert creator.json is not None
    for respondent_id, answers in (
        (path.rsplit("/", 1)[1], ANSWERS),
        (creator.json["respondent"]["id"], {**ANSWERS, "innovation": 1}),
    ):
        base = f"{engagement}/respondents/{respondent_id}"
        api.put(f"{base}/answers", json={"answers": answers})
        assert api.post(f"{base}/submit").status_code == 201
    first = api.post(f"{engagement}/decisions")
    again = api.post(f"{engagement}/decisions")
    assert first.status_code == 201 and again.status_code == 409
    assert first.json is not None and again.json is not None
    assert f"decision {first.json['id']}" in again.json["message"]
    with app.app_context():
        assert db.session.query(DecisionRecord).filter(DecisionRecord.note != "").count() == 1


@pytest.mark.parametrize(
    "body",
    [
        "[" * 5000 + "]" * 5000,
        '{"innovation": ' + "1" * 5000 + "}",
        '{"innovation": 3,',
    ],
    ids=["nested too deeply", "integer of 5000 digits", "cut short"],
)
def test_a_body_that_json_cannot_hold_is_a_400(api: FlaskClient, body: str) -> None:
    path, _ = invited(api)
    for method, url in (("POST", "/api/v1/evaluate"), ("PUT", f"{path}/answers")):
        response = api.open(url, method=method, data=body, content_type="application/json")
        assert response.status_code == 400 and response.mimetype == "application/json"
        assert response.json is not None and "request body" in response.json["message"]


def test_a_body_not_in_utf8_is_a_400_that_says_so(api: FlaskClient) -> None:
    body = json.dumps({"innovation": 3}).encode("utf-16")
    response = api.post("/api/v1/evaluate", data=body, content_type="application/json")
    assert response.status_code == 400 and response.json is not None
    assert response.json["message"] == "The request body is not UTF-8: send JSON encoded as UTF-8."


def test_a_key_given_twice_is_a_400_that_names_it(api: FlaskClient) -> None:
    path, _ = invited(api)
    body = '{"answers": {"innovation": 1, "risk_tolerance": 2, "innovation": 5}}'
    response = api.put(f"{path}/answers", data=body, content_type="application/json")
    assert response.status_code == 400 and response.json is not None
    assert response.json["message"] == 'The request body gives "innovation" twice in one object.'
    assert api.get(path).json["answers"] == {}  # nothing stored


def test_a_chunked_body_that_is_not_json_is_a_415(api: FlaskClient) -> None:
    response = api.post(
        "/api/v1/evaluate",
        input_stream=io.BytesIO(b'{"innovation": 3}'),
        content_type="text/plain",
        headers={"Transfer-Encoding": "chunked"},
    )
    assert response.status_code == 415 and response.mimetype == "application/json"


def test_an_intake_session_is_not_answered_over_the_api(app: Flask, api: FlaskClient) -> None:
    engagement = api.post("/api/v1/engagements", json=ENGAGEMENT).json
    assert engagement is not None
    web = app.test_client()
    login(web)
    data = {k: str(v) for k, v in ANSWERS.items() if k != "innovation"}
    post(web, f"/engagements/{engagement['id']}/session", {**data, "action": "save"})
    listed = api.get(f"/api/v1/engagements/{engagement['id']}/respondents").json
    assert listed is not None
    [session] = listed
    base = f"/api/v1/engagements/{engagement['id']}/respondents/{session['id']}"
    assert api.put(f"{base}/answers", json={"answers": {"innovation": 2}}).status_code == 409
    assert api.post(f"{base}/submit").status_code == 409
    with app.app_context():
        respondent = db.session.get(Respondent, session["id"])
        assert respondent is not None and "innovation" not in respondent.answers
        assert db.session.query(DecisionRecord).count() == 0


# --- the same call sent twice at the same instant, each in its own thread ----------------------


def twin(app: Flask, api: FlaskClient) -> FlaskClient:
    """Another client with the same token: a retry, or a second tool."""
    other = app.test_client()
    other.environ_base["HTTP_AUTHORIZATION"] = api.environ_base["HTTP_AUTHORIZATION"]
    return other


def test_an_invitation_sent_twice_at_once_makes_one_respondent(
    app: Flask, api: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    engagement = api.post("/api/v1/engagements", json=ENGAGEMENT).json
    assert engagement is not None
    path = f"/api/v1/engagements/{engagement['id']}/respondents"
    meeting_point(monkeypatch, respondents, "already_invited")
    body = {"name": "Ann Lee", "side": "producer"}
    answers = together(
        lambda: api.post(path, json=body), lambda: twin(app, api).post(path, json=body)
    )
    assert sorted(a.status_code for a in answers) == [201, 409]
    assert count(app, Respondent) == 1 and count(app, Invitation) == 1


def test_a_consensus_decided_twice_at_once_is_stored_once(
    app: Flask, api: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    engagement = api.post("/api/v1/engagements", json=ENGAGEMENT).json
    assert engagement is not None
    submitted_pair(app, engagement["id"])
    path = f"/api/v1/engagements/{engagement['id']}/decisions"
    meeting_point(monkeypatch, questionnaire, "record_consensus")
    answers = together(lambda: api.post(path), lambda: twin(app, api).post(path))
    assert sorted(a.status_code for a in answers) == [201, 409]
    assert count(app, DecisionRecord) == 1


def test_two_changes_made_at_once_on_the_same_copy_are_not_both_stored(
    app: Flask, api: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    engagement = api.post("/api/v1/engagements", json=ENGAGEMENT).json
    assert engagement is not None
    path = f"/api/v1/engagements/{engagement['id']}"
    read = {"If-Match": api.get(path).headers["ETag"]}
    meeting_point(monkeypatch, api_module, "still_current")
    answers = together(
        lambda: api.patch(path, json={"project_name": "First"}, headers=read),
        lambda: twin(app, api).patch(path, json={"project_name": "Second"}, headers=read),
    )
    assert sorted(a.status_code for a in answers) == [200, 412]
    stored = next(a for a in answers if a.status_code == 200).json["project_name"]
    assert api.get(path).json["project_name"] == stored
