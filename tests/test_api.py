"""The JSON API: evaluation, tokens, the engagement workflow, errors as JSON, the spec."""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

import pytest
from apitools import bearer, make_token, served, sign
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from pdftools import served_in_parts
from pypdf import PdfReader
from webtools import ANSWERS, make_consultant, statements_sent
from webtools import ENGAGEMENT as FORM_ENGAGEMENT

from assess.api.tokens import ApiToken
from assess.engine import evaluate
from assess.extensions import db as database
from assess.factors import FACTOR_KEYS, FACTORS
from assess.models import CharterVersion, Engagement, Respondent, Signatory, hash_token

pytestmark = pytest.mark.db

# The web tests' engagement, without the creator's role: a role may be left out.
ENGAGEMENT = {key: value for key, value in FORM_ENGAGEMENT.items() if key != "creator_role"}


@pytest.fixture
def token(app: Flask, consultant: int) -> str:
    return make_token(app, consultant)


@pytest.fixture
def api(client: FlaskClient, token: str) -> FlaskClient:
    """A client that sends the consultant's token with every request."""
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def create_engagement(api: FlaskClient) -> int:
    response = api.post("/api/v1/engagements", json=ENGAGEMENT)
    assert response.status_code == 201, response.json
    return int(response.json["id"])


def submitted(api: FlaskClient) -> tuple[int, int, str, int]:
    """One respondent answers and submits: engagement id, respondent id, its path, decision id."""
    engagement_id = create_engagement(api)
    rid = invite(api, engagement_id, "Ann", "producer")
    base = f"/api/v1/engagements/{engagement_id}"
    api.put(f"{base}/respondents/{rid}/answers", json={"answers": ANSWERS})
    return engagement_id, rid, base, int(api.post(f"{base}/respondents/{rid}/submit").json["id"])


def invite(api: FlaskClient, engagement_id: int, name: str, side: str) -> int:
    response = api.post(
        f"/api/v1/engagements/{engagement_id}/respondents", json={"name": name, "side": side}
    )
    assert response.status_code == 201, response.json
    return int(response.json["respondent"]["id"])


def test_evaluate_returns_the_same_decision_as_the_cli(client: FlaskClient) -> None:
    response = client.post("/api/v1/evaluate", json=ANSWERS)
    assert response.status_code == 200
    cli = subprocess.run(
        [sys.executable, "-m", "assess.cli", "evaluate", "-"],
        input=json.dumps(ANSWERS),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert response.json == json.loads(cli.stdout)


def test_evaluations_at_the_same_instant_each_get_their_own_answer(app: Flask) -> None:
    # Every request reads its body with the one schema the route holds: nothing of one
    # request may leak into another's decision or errors.
    bodies = [
        {key: 1 + (number + position) % 5 for position, key in enumerate(FACTOR_KEYS)}
        for number in range(6)
    ] + [{**ANSWERS, "risk_tolerance": 9}, {**ANSWERS, "innovation": "high"}]
    answers: dict[int, Any] = {}
    start = threading.Barrier(len(bodies))

    def ask(number: int) -> None:
        client = app.test_client()
        start.wait()
        for _ in range(10):
            address = {"REMOTE_ADDR": f"10.0.0.{number + 1}"}
            response = client.post("/api/v1/evaluate", json=bodies[number], environ_base=address)
            answers.setdefault(number, []).append((response.status_code, response.json))

    threads = [threading.Thread(target=ask, args=(number,)) for number in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for number, body in enumerate(bodies[:6]):
        expected = evaluate(body, what_if=True).to_dict()
        assert answers[number] == [(200, expected)] * 10
    assert {(s, json.dumps(j["errors"])) for s, j in answers[6]} == {
        (422, json.dumps({"json": {"risk_tolerance": ["must be an integer from 1 to 5"]}}))
    }
    assert {(s, json.dumps(j["errors"])) for s, j in answers[7]} == {
        (422, json.dumps({"json": {"innovation": ["must be an integer from 1 to 5"]}}))
    }


def test_evaluate_several_respondents_reports_alignment(client: FlaskClient) -> None:
    body = {
        "respondents": [
            {"name": "Ann", "side": "producer", "answers": ANSWERS},
            {"name": "Bo", "side": "creator", "answers": {**ANSWERS, "innovation": 1}},
        ]
    }
    response = client.post("/api/v1/evaluate/respondents", json=body)
    assert response.status_code == 200
    assert response.json["alignment"]["factors"]["innovation"]["gap"] == 3


def test_evaluate_respondents_refuses_the_same_person_twice_on_a_side(
    client: FlaskClient,
) -> None:
    body = {
        "respondents": [
            {"name": "Ann Lee", "side": "producer", "answers": ANSWERS},
            {"name": "Bo Chen", "side": "creator", "answers": ANSWERS},
            {"name": "ANN LEE", "side": "producer", "answers": {**ANSWERS, "innovation": 1}},
            {"name": "Bo  Chen", "side": "creator", "answers": ANSWERS},
        ]
    }
    response = client.post("/api/v1/evaluate/respondents", json=body)
    assert response.status_code == 422
    assert response.json["errors"]["json"] == {
        "respondents": {
            "2": {
                "name": [
                    "names the same person as respondents.0 on the producer side; "
                    "list each person once"
                ]
            },
            "3": {
                "name": [
                    "names the same person as respondents.1 on the creator side; "
                    "list each person once"
                ]
            },
        }
    }


def test_notes_are_documented_and_refused_by_factor(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").json
    notes = spec["components"]["schemas"]["Respondents"]["properties"]["notes"]
    if "$ref" in notes:
        notes = spec["components"]["schemas"][notes["$ref"].rsplit("/", 1)[1]]
    # A client reading the schema knows a note goes under a factor and how long it may be.
    assert notes["additionalProperties"] is False
    assert set(notes["properties"]) == set(ANSWERS)
    assert notes["properties"]["risk_tolerance"]["maxLength"] == 280
    body = {
        "respondents": [
            {"name": "Ann Lee", "side": "producer", "answers": ANSWERS},
            {"name": "Bo Chen", "side": "creator", "answers": ANSWERS},
        ],
        "notes": {"budget": "Not a factor.", "risk_tolerance": "x" * 281},
    }
    response = client.post("/api/v1/evaluate/respondents", json=body)
    assert response.status_code == 422
    assert response.json["errors"]["json"] == {
        "notes": {
            "budget": ["unknown field"],
            "risk_tolerance": ["must be at most 280 characters"],
        }
    }


def test_the_same_person_twice_on_the_only_side_gets_both_messages(client: FlaskClient) -> None:
    ann = {"name": "Ann Lee", "side": "producer", "answers": ANSWERS}
    response = client.post("/api/v1/evaluate/respondents", json={"respondents": [ann, ann]})
    assert response.status_code == 422
    assert response.json["errors"]["json"] == {
        "respondents": {
            "_schema": ["needs at least one respondent on each side (missing: creator)"],
            "1": {
                "name": [
                    "names the same person as respondents.0 on the producer side; "
                    "list each person once"
                ]
            },
        }
    }


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("A\u0000\u0007", "must not contain control characters"),
        ("   ", "must not be empty"),
        ("\u200b\ufeff", "must not be empty"),
        ("x" * 121, "must be at most 120 characters"),
    ],
)
def test_respondent_names_follow_the_rules_of_every_other_name(
    client: FlaskClient, name: str, message: str
) -> None:
    body = {
        "respondents": [
            {"name": name, "side": "producer", "answers": ANSWERS},
            {"name": "Bo", "side": "creator", "answers": ANSWERS},
        ]
    }
    response = client.post("/api/v1/evaluate/respondents", json=body)
    assert response.status_code == 422
    assert response.json["errors"]["json"]["respondents"]["0"]["name"] == [message]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({**ANSWERS, "innovation": 6}, "innovation", "must be an integer from 1 to 5"),
        ({**ANSWERS, "innovation": "4"}, "innovation", "must be an integer from 1 to 5"),
        ({**ANSWERS, "mood": 3}, "mood", "unknown field"),
        (
            {k: v for k, v in ANSWERS.items() if k != "risk_tolerance"},
            "risk_tolerance",
            "is required",
        ),
    ],
)
def test_invalid_answers_get_per_field_messages(
    client: FlaskClient, body: dict[str, object], field: str, message: str
) -> None:
    response = client.post("/api/v1/evaluate", json=body)
    assert response.status_code == 422
    assert response.mimetype == "application/json"
    assert response.json["errors"]["json"][field] == [message]


def test_a_body_that_is_not_json_is_a_415_not_missing_fields(client: FlaskClient) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        response = client.post(
            "/api/v1/evaluate", data=json.dumps(ANSWERS), content_type=content_type
        )
        assert response.status_code == 415, content_type
        assert response.json["message"].startswith("Send the request body as JSON")
    spec = client.get("/api/v1/openapi.json").json
    assert "415" in spec["paths"]["/api/v1/evaluate"]["post"]["responses"]


def test_a_body_sent_to_a_route_that_takes_none_is_not_asked_for_as_json(
    api: FlaskClient,
) -> None:
    """Submitting takes no body: a client sending one (answers in a form, say) is told that,
    not to send it again as JSON, which the route would ignore."""
    engagement_id = create_engagement(api)
    rid = invite(api, engagement_id, "Ann", "producer")
    submit = f"/api/v1/engagements/{engagement_id}/respondents/{rid}/submit"
    response = api.post(submit, data="innovation=4", content_type="text/plain")
    assert response.status_code == 415
    assert response.json["message"] == "This route takes no request body: send it without one."


def test_broken_json_is_a_json_400(client: FlaskClient) -> None:
    response = client.post("/api/v1/evaluate", data="{", content_type="application/json")
    assert response.status_code == 400
    assert response.json["code"] == 400


@pytest.mark.parametrize("body", [[], "x", 3, None])
def test_a_body_that_is_not_an_object_is_refused(client: FlaskClient, body: object) -> None:
    # json=None would send no body at all.
    sent = json.dumps(body)
    response = client.post("/api/v1/evaluate", data=sent, content_type="application/json")
    assert response.status_code == 422
    assert response.mimetype == "application/json"
    # Not the fields it lacks: a null body is no more an object than a list is.
    assert response.json["message"] == "The request body must be an object."
    assert response.json["errors"] == {"json": {"_schema": ["must be an object"]}}


def test_errors_under_api_are_json_and_pages_stay_html(client: FlaskClient) -> None:
    missing = client.get("/api/v1/no-such-thing")
    assert (missing.status_code, missing.mimetype) == (404, "application/json")
    assert missing.json["message"] == "No such route in this API; /api/v1/openapi.json lists them."
    wrong_method = client.delete("/api/v1/evaluate")
    assert (wrong_method.status_code, wrong_method.mimetype) == (405, "application/json")
    assert set(wrong_method.headers["Allow"].split(", ")) == {"OPTIONS", "POST"}
    page = client.get("/no-such-page")
    assert (page.status_code, page.mimetype) == (404, "text/html")


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_an_api_path_with_an_empty_segment_is_a_json_404(api: FlaskClient, method: str) -> None:
    """Web pages merge repeated slashes with a redirect; the API's routes are the ones its
    document lists, so another spelling is not found, in JSON like every API answer."""
    for path in ("/api/v1//engagements", "/api//v1/engagements/1", "/api/v1/engagements//1"):
        response = api.open(path, method=method, json={})
        assert (response.status_code, response.mimetype) == (404, "application/json"), path
        assert "Location" not in response.headers
        assert response.json["message"] == (
            "No such route in this API; /api/v1/openapi.json lists them."
        )


def test_a_method_a_route_does_not_take_is_named_with_those_it_takes(api: FlaskClient) -> None:
    engagement_id = create_engagement(api)
    wrong_method = api.put(f"/api/v1/engagements/{engagement_id}", json={"archived": True})
    assert wrong_method.status_code == 405
    assert (
        wrong_method.json["message"] == "This route does not take PUT; it takes DELETE, GET, PATCH."
    )
    assert api.delete("/api/v1/evaluate").json["message"] == (
        "This route does not take DELETE; it takes POST."
    )


@pytest.mark.parametrize("method", ["PATCH", "DELETE", "PUT"])
@pytest.mark.parametrize(
    "path",
    ["/api/v1/engagements/2147483648", "/api/v1/engagements/1/respondents/99999999999"],
)
def test_an_id_beyond_the_largest_is_not_found_whatever_the_method(
    api: FlaskClient, path: str, method: str
) -> None:
    """No method leads anywhere at an address that names nothing: not found, not a method
    the address would not take."""
    create_engagement(api)
    response = api.open(path, method=method, json={})
    assert (response.status_code, response.mimetype) == (404, "application/json")
    assert "Allow" not in response.headers
    # An address that does name something still refuses a method it does not take.
    assert api.put("/api/v1/engagements/1", json={}).status_code == 405


@pytest.mark.parametrize("path", ["/api/v1/evaluate", "/api/v1/engagements/1"])
def test_options_under_api_list_the_methods_without_an_html_body(
    api: FlaskClient, path: str
) -> None:
    options = api.options(path)
    assert options.status_code == 204 and "Content-Type" not in options.headers
    assert "OPTIONS" in options.headers["Allow"] and options.data == b""


def test_evaluate_is_rate_limited_with_a_json_429(app: Flask, client: FlaskClient) -> None:
    app.config["API_EVALUATE_RATE_LIMIT"] = "3 per minute"
    answered = [client.post("/api/v1/evaluate", json=ANSWERS) for _ in range(4)]
    assert [r.status_code for r in answered] == [200, 200, 200, 429]
    # Every answer says how much is left; only a refusal asks the client to wait.
    assert [r.headers["X-RateLimit-Remaining"] for r in answered] == ["2", "1", "0", "0"]
    assert ["Retry-After" in r.headers for r in answered] == [False, False, False, True]
    limited = client.post("/api/v1/evaluate", json=ANSWERS)
    assert limited.json["code"] == 429 and "Retry-After" in limited.headers
    # The message is for a person: what the limit is and when to try again.
    wait = re.fullmatch(
        r"Too many requests: at most 3 per minute\. Try again in (\d+) seconds\.",
        limited.json["message"],
    )
    assert wait and abs(int(wait.group(1)) - int(limited.headers["Retry-After"])) <= 1


def test_a_limit_over_several_units_is_said_in_the_plural(app: Flask, client: FlaskClient) -> None:
    app.config["API_EVALUATE_RATE_LIMIT"] = "1 per 5 minutes"
    client.post("/api/v1/evaluate", json=ANSWERS)
    limited = client.post("/api/v1/evaluate", json=ANSWERS)
    assert limited.json["message"].startswith("Too many requests: at most 1 per 5 minutes. ")


def test_a_wait_of_one_second_is_said_in_the_singular(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from assess.extensions import limiter

    app.config["API_EVALUATE_RATE_LIMIT"] = "1 per minute"
    client.post("/api/v1/evaluate", json=ANSWERS)
    # The refusal is asked for a moment before the window ends.
    moment = SimpleNamespace(time=lambda: limiter.current_limit.reset_at - 0.5)
    monkeypatch.setattr("assess.api.time", moment)
    limited = client.post("/api/v1/evaluate", json=ANSWERS)
    assert limited.json["message"].endswith(" Try again in 1 second.")


def test_both_evaluations_draw_on_one_budget_per_client(app: Flask, client: FlaskClient) -> None:
    app.config["API_EVALUATE_RATE_LIMIT"] = "3 per minute"
    pair = {
        "respondents": [
            {"name": "Ann Lee", "side": "producer", "answers": ANSWERS},
            {"name": "Bo Chen", "side": "creator", "answers": ANSWERS},
        ]
    }
    codes = [
        client.post("/api/v1/evaluate", json=ANSWERS).status_code,
        client.post("/api/v1/evaluate/respondents", json=pair).status_code,
        client.post("/api/v1/evaluate", json=ANSWERS).status_code,
        client.post("/api/v1/evaluate/respondents", json=pair).status_code,
    ]
    assert codes == [200, 200, 200, 429]


def test_engagement_routes_need_a_valid_token(app: Flask, client: FlaskClient, token: str) -> None:
    assert client.get("/api/v1/engagements").status_code == 401
    wrong = client.get("/api/v1/engagements", headers=bearer("asst_not-a-token"))
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/engagements", headers=bearer(token)).status_code == 200
    with app.app_context():
        stored = database.session.query(ApiToken).one()
        # Only the hash of the secret is kept.
        assert stored.token_hash == hash_token(token) and token not in stored.hint
        assert stored.last_used_at is not None


def test_read_only_token_cannot_change_anything(
    app: Flask, client: FlaskClient, consultant: int
) -> None:
    secret = make_token(app, consultant, can_write=False)
    assert client.get("/api/v1/engagements", headers=bearer(secret)).status_code == 200
    response = client.post("/api/v1/engagements", json=ENGAGEMENT, headers=bearer(secret))
    assert response.status_code == 403 and response.json["code"] == 403


def test_full_workflow_over_the_api(app: Flask, api: FlaskClient) -> None:
    engagement_id = create_engagement(api)
    created = api.post(
        f"/api/v1/engagements/{engagement_id}/respondents",
        json={"name": "Ann Lee", "side": "producer", "expires_in_days": 10},
    )
    assert created.status_code == 201
    assert "/i/" in created.json["url"] and created.json["expires_at"]
    ann = created.json["respondent"]["id"]
    bo = invite(api, engagement_id, "Bo Chen", "creator")
    base = f"/api/v1/engagements/{engagement_id}/respondents"

    half = {k: ANSWERS[k] for k in list(ANSWERS)[:4]}
    saved = api.put(f"{base}/{ann}/answers", json={"answers": half})
    assert saved.status_code == 200 and saved.json["status"] == "in progress"
    early = api.post(f"{base}/{ann}/submit")
    assert early.status_code == 422 and set(early.json["errors"]["answers"]) == (
        set(ANSWERS) - set(half)
    )
    api.put(f"{base}/{ann}/answers", json={"answers": ANSWERS})
    submitted = api.post(f"{base}/{ann}/submit")
    assert submitted.status_code == 201 and submitted.json["decision"]["answers"] == ANSWERS
    assert api.put(f"{base}/{ann}/answers", json={"answers": half}).status_code == 409
    assert api.post(f"{base}/{ann}/submit").status_code == 409

    assert api.post(f"/api/v1/engagements/{engagement_id}/decisions").status_code == 409
    api.put(f"{base}/{bo}/answers", json={"answers": {**ANSWERS, "innovation": 1}})
    api.post(f"{base}/{bo}/submit")
    together = api.post(f"/api/v1/engagements/{engagement_id}/decisions")
    assert together.status_code == 201 and "alignment" in together.json["decision"]

    decisions = api.get(f"/api/v1/engagements/{engagement_id}/decisions").json
    assert [d["id"] for d in decisions] == [together.json["id"], 2, 1]
    one = api.get(f"/api/v1/engagements/{engagement_id}/decisions/{together.json['id']}")
    assert one.json == together.json
    status = api.get(f"/api/v1/engagements/{engagement_id}/signoff").json
    assert status["status"] == "decided" and status["latest_decision_id"] == together.json["id"]
    listed = api.get("/api/v1/engagements").json
    assert [e["id"] for e in listed] == [engagement_id]


def test_the_engagement_names_its_decision_apart_from_the_newest_what_if(
    app: Flask, api: FlaskClient
) -> None:
    from signofftools import record

    engagement_id = create_engagement(api)
    base = f"/api/v1/engagements/{engagement_id}"
    assert api.get(base).json["decision_of_record_id"] is None
    ann = invite(api, engagement_id, "Ann", "producer")
    bo = invite(api, engagement_id, "Bo", "creator")
    api.put(f"{base}/respondents/{ann}/answers", json={"answers": ANSWERS})
    api.put(f"{base}/respondents/{bo}/answers", json={"answers": {**ANSWERS, "innovation": 1}})

    # One answer set: its decision is the engagement's while Bo is still answering.
    own = api.post(f"{base}/respondents/{ann}/submit").json
    assert own["of_record"] is True
    assert api.get(base).json["decision_of_record_id"] == own["id"]
    # Two: none until their consensus is decided, and each one's own is a what-if.
    bos = api.post(f"{base}/respondents/{bo}/submit").json
    assert bos["of_record"] is False
    assert api.get(base).json["decision_of_record_id"] is None
    consensus = api.post(f"{base}/decisions").json
    assert consensus["of_record"] is True

    # A what-if stored after the consensus is the newest decision, not the engagement's.
    what_if = record(app, engagement_id, {**ANSWERS, "risk_tolerance": 1})
    assert api.get(base).json["decision_of_record_id"] == consensus["id"]
    [listed] = api.get("/api/v1/engagements").json
    assert listed["decision_of_record_id"] == consensus["id"]
    status = api.get(f"{base}/signoff").json
    assert status["latest_decision_id"] == what_if
    assert status["decision_of_record_id"] == consensus["id"]
    decisions = api.get(f"{base}/decisions").json
    assert [(d["id"], d["of_record"]) for d in decisions] == [
        (what_if, False),
        (consensus["id"], True),
        (bos["id"], False),
        (own["id"], False),
    ]
    assert api.get(f"{base}/decisions/{consensus['id']}").json["of_record"] is True
    assert api.get(f"{base}/decisions/{what_if}").json["of_record"] is False


def test_the_openapi_document_tells_the_decision_of_record_from_the_newest(
    client: FlaskClient,
) -> None:
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    for name in ("Engagement", "SignOff"):
        properties = schemas[name]["properties"]
        assert "decision_of_record_id" in schemas[name]["required"], name
        assert "what-if" in properties["decision_of_record_id"]["description"], name
    latest = schemas["SignOff"]["properties"]["latest_decision_id"]["description"]
    assert "what-if included" in latest
    assert "of_record" in schemas["DecisionRecord"]["required"]


def test_new_invitation_replaces_the_old_link(api: FlaskClient) -> None:
    engagement_id = create_engagement(api)
    first = api.post(
        f"/api/v1/engagements/{engagement_id}/respondents", json={"name": "A", "side": "creator"}
    ).json
    rid = first["respondent"]["id"]
    second = api.post(f"/api/v1/engagements/{engagement_id}/respondents/{rid}/invitation", json={})
    assert second.status_code == 201 and second.json["url"] != first["url"]
    old_path = first["url"].split("localhost", 1)[1]
    new_path = second.json["url"].split("localhost", 1)[1]
    assert api.get(old_path).status_code == 410
    assert api.get(new_path).status_code == 200


def test_an_invitation_link_carries_the_configured_public_address(
    app: Flask, api: FlaskClient
) -> None:
    app.config["PUBLIC_BASE_URL"] = "https://assess.example.com"
    engagement_id = create_engagement(api)
    invited = api.post(
        f"/api/v1/engagements/{engagement_id}/respondents", json={"name": "A", "side": "creator"}
    )
    assert invited.json["url"].startswith("https://assess.example.com/i/")


def test_a_new_invitation_keeps_the_expiry_unless_told_otherwise(
    app: Flask, api: FlaskClient
) -> None:
    engagement_id = create_engagement(api)
    base = f"/api/v1/engagements/{engagement_id}/respondents"

    def renew(rid: int, body: dict[str, object]) -> datetime | None:
        response = api.post(f"{base}/{rid}/invitation", json=body)
        assert response.status_code == 201, response.json
        expiry = response.json["expires_at"]
        return datetime.fromisoformat(expiry) if expiry else None

    invited = api.post(base, json={"name": "A", "side": "creator", "expires_in_days": 10}).json
    rid = invited["respondent"]["id"]
    first = datetime.fromisoformat(invited["expires_at"])
    assert renew(rid, {}) == first  # resending neither extends nor shortens it
    shorter = renew(rid, {"expires_in_days": 3})
    assert shorter is not None and abs((first - shorter) - timedelta(days=7)) < timedelta(minutes=1)
    assert renew(rid, {"expires_in_days": None}) is None
    assert renew(rid, {}) is None  # a link that never expired is replaced by one alike

    # Without a working link, the new one is what an invitation makes by default, as on the
    # web: one that does not expire.
    renew(rid, {"expires_in_days": 5})
    api.delete(f"{base}/{rid}/invitation")
    assert renew(rid, {}) is None
    renew(rid, {"expires_in_days": 5})
    with app.app_context():
        respondent = database.session.get(Respondent, rid)
        assert respondent is not None
        respondent.invitations[-1].expires_at = datetime.now(UTC) - timedelta(days=1)
        database.session.commit()
    assert renew(rid, {}) is None


def test_revoking_the_invitation_stops_the_link(
    app: Flask, api: FlaskClient, consultant: int
) -> None:
    engagement_id = create_engagement(api)
    invited = api.post(
        f"/api/v1/engagements/{engagement_id}/respondents", json={"name": "A", "side": "creator"}
    ).json
    rid = invited["respondent"]["id"]
    path = f"/api/v1/engagements/{engagement_id}/respondents/{rid}/invitation"
    link = invited["url"].split("localhost", 1)[1]
    assert api.get(link).status_code == 200

    read_only = make_token(app, consultant, can_write=False)
    refused = api.delete(path, headers=bearer(read_only))
    assert refused.status_code == 403 and api.get(link).status_code == 200

    revoked = api.delete(path)
    assert revoked.status_code == 200 and revoked.json["invitation"] == "revoked"
    assert api.get(link).status_code == 410
    assert api.delete(path).status_code == 200  # revoking again changes nothing
    renewed = api.post(path, json={}).json
    assert renewed["respondent"]["invitation"] == "active"
    assert api.get(renewed["url"].split("localhost", 1)[1]).status_code == 200


def test_answers_saved_over_the_api_show_on_the_link(app: Flask, api: FlaskClient) -> None:
    engagement_id = create_engagement(api)
    rid = invite(api, engagement_id, "Ann", "producer")
    api.put(
        f"/api/v1/engagements/{engagement_id}/respondents/{rid}/answers",
        json={"answers": {"innovation": 2}},
    )
    with app.app_context():
        respondent = database.session.get(Respondent, rid)
        assert respondent is not None and respondent.answers == {"innovation": 2}


def test_saving_no_answers_is_refused_as_a_change_of_nothing(app: Flask, api: FlaskClient) -> None:
    engagement_id = create_engagement(api)
    rid = invite(api, engagement_id, "Ann", "producer")
    path = f"/api/v1/engagements/{engagement_id}/respondents/{rid}/answers"
    assert api.put(path, json={"answers": {"innovation": 2}}).status_code == 200
    refused = api.put(path, json={"answers": {}})
    assert refused.status_code == 422
    assert refused.json["errors"] == {"json": {"answers": ["must hold at least one answer"]}}
    with app.app_context():
        respondent = database.session.get(Respondent, rid)
        assert respondent is not None and respondent.answers == {"innovation": 2}


def test_archived_engagement_refuses_changes_with_409(app: Flask, api: FlaskClient) -> None:
    from assess.models import Engagement, utcnow

    engagement_id = create_engagement(api)
    with app.app_context():
        engagement = database.session.get(Engagement, engagement_id)
        assert engagement is not None
        engagement.archived_at = utcnow()
        database.session.commit()
    response = api.post(
        f"/api/v1/engagements/{engagement_id}/respondents", json={"name": "A", "side": "creator"}
    )
    assert response.status_code == 409 and response.json["code"] == 409


def test_the_api_document_says_which_links_archiving_closes(api: FlaskClient) -> None:
    # As the engagement page says: its invitation links stop opening; a signatory's link
    # still opens its charter, read-only (and a signed one for download).
    schemas = api.get("/api/v1/openapi.json").json["components"]["schemas"]
    described = schemas["EngagementUpdate"]["properties"]["archived"]["description"]
    assert "its invitation links stop opening" in described
    assert "its links stop working" not in described
    # A respondent's link keeps its own state, which says so.
    invitation = schemas["RespondentRecord"]["properties"]["invitation"]["description"]
    assert "while the engagement is archived, no link opens" in invitation
    # Its status counts no link while it is archived, as "new" again once every link stopped.
    status = schemas["Engagement"]["properties"]["status"]["description"]
    assert "or while the engagement is archived" in status


def test_charter_pdf_for_a_stored_decision(api: FlaskClient) -> None:
    engagement_id, rid, base, decision_id = submitted(api)
    pdf = api.get(f"{base}/decisions/{decision_id}/charter.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF-")
    again = api.get(f"{base}/decisions/{decision_id}/charter.pdf")
    assert again.data == pdf.data


def test_the_charter_pdf_uses_the_fields_saved_with_the_engagement(
    app: Flask, api: FlaskClient
) -> None:
    engagement_id, rid, base, decision_id = submitted(api)
    with app.app_context():
        engagement = database.session.get(Engagement, engagement_id)
        assert engagement is not None
        engagement.charter_fields = {"mediators_external": ["Elif Kaya"], "version": 2}
        database.session.commit()
    pdf = api.get(f"{base}/decisions/{decision_id}/charter.pdf")
    assert pdf.status_code == 200
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Elif Kaya" in text

    # Data the forms no longer accept (kept from before) gives a 422 that says where.
    with app.app_context():
        engagement = database.session.get(Engagement, engagement_id)
        assert engagement is not None
        engagement.project_name = "\u0958" * 150  # 300 characters once normalised
        database.session.commit()
    refused = api.get(f"{base}/decisions/{decision_id}/charter.pdf")
    assert refused.status_code == 422 and refused.mimetype == "application/json"
    assert refused.json["errors"]["engagement"]["project"] == ["must be at most 200 characters"]


def test_another_consultants_ids_are_not_found_on_every_api_route(
    app: Flask, api: FlaskClient
) -> None:
    engagement_id, rid, base, decision_id = submitted(api)
    sign(app, engagement_id)
    ids = {
        "engagement_id": engagement_id,
        "respondent_id": rid,
        "decision_id": decision_id,
        "number": 1,
    }

    other = make_token(app, make_consultant(app, "dee@example.com", "Dee"))
    bodies = {
        "{engagement_id}": {"archived": True},
        "/respondents": {"name": "X", "side": "creator"},
        "/answers": {"answers": {"innovation": 1}},
        "/invitation": {},
    }
    spec = api.get("/api/v1/openapi.json").json
    checked = 0
    for path, item in spec["paths"].items():
        if "{engagement_id}" not in path:
            continue
        for method in ("get", "post", "put", "patch", "delete"):
            if method not in item:
                continue
            url = path.format(**ids)
            body = next((b for suffix, b in bodies.items() if path.endswith(suffix)), None)
            response = api.open(url, method=method.upper(), json=body, headers=bearer(other))
            assert response.status_code == 404, (method, url, response.json)
            assert response.mimetype == "application/json"
            checked += 1
    assert checked == 20
    # The owner still sees everything, unchanged.
    assert api.get(f"{base}/respondents/{rid}").json["answers"] == ANSWERS


def test_sign_off_status_and_signed_charter(app: Flask, api: FlaskClient) -> None:
    from assess.signing.verify import verify

    engagement_id = create_engagement(api)
    rid = invite(api, engagement_id, "Ann", "producer")
    base = f"/api/v1/engagements/{engagement_id}"
    api.put(f"{base}/respondents/{rid}/answers", json={"answers": ANSWERS})
    api.post(f"{base}/respondents/{rid}/submit")
    assert api.get(f"{base}/signoff").json["versions"] == []
    assert api.get(f"{base}/versions/1/signed.pdf").status_code == 404

    sealed = sign(app, engagement_id)
    with app.app_context():  # the day the link was given to work through has passed
        database.session.query(Signatory).one().expires_at = datetime.now(UTC) - timedelta(1)
        database.session.commit()
    status = api.get(f"{base}/signoff").json
    [version] = status["versions"]
    assert version["number"] == 1 and version["sign_off"] == "signed"
    assert [(s["name"], s["action"]) for s in version["signatories"]] == [("Ann Lee", "approved")]
    # A signed charter's links keep opening it: they no longer expire.
    [signatory] = version["signatories"]
    assert (signatory["link"], signatory["link_expires_at"]) == ("active", None)
    signed = api.get(f"{base}/versions/1/signed.pdf")
    assert signed.status_code == 200 and signed.data == sealed and verify(signed.data).as_sealed


def test_the_charters_are_served_a_byte_range_at_a_time(app: Flask, api: FlaskClient) -> None:
    engagement_id, _rid, base, decision_id = submitted(api)
    draft = served_in_parts(api, f"{base}/decisions/{decision_id}/charter.pdf")
    assert draft.startswith(b"%PDF-")
    sealed = sign(app, engagement_id)
    assert served_in_parts(api, f"{base}/versions/1/signed.pdf") == sealed
    beyond = api.get(f"{base}/versions/1/signed.pdf", headers={"Range": "bytes=99999999-"})
    assert beyond.json["message"] == "The range asked for is not within the document."


def _never_sealed() -> NoReturn:
    raise AssertionError("only the last approval seals")


def test_sign_off_status_says_why_a_version_is_stuck(app: Flask, api: FlaskClient) -> None:
    from assess import signoff
    from assess.api.schemas import SignOffSchema
    from assess.charter import load_details
    from assess.engine import evaluate
    from assess.questionnaire import record_decision

    engagement_id, _, base, decision_id = submitted(api)
    actor = signoff.Actor(ip="198.51.100.4", user_agent="pytest")

    def frozen(arbitration: str) -> Any:
        engagement = database.session.get(Engagement, engagement_id)
        assert engagement is not None and engagement.latest_decision is not None
        details = load_details(
            {
                "project": engagement.project_name,
                "parties": [{"side": p.side, "name": p.name} for p in engagement.parties],
                "arbitration": arbitration,
            }
        )
        return signoff.freeze(database.session, engagement, engagement.latest_decision, details)

    with app.app_context():
        first = frozen("Geneva Chamber")
        for name, role in (("Ann Lee", "Executive producer"), ("Bo Chen", "Director")):
            email = f"{name.split()[0].lower()}@example.com"
            signoff.add_signatory(
                database.session, first.sign_off, name=name, email=email, role=role
            )
        signoff.start(database.session, first.sign_off, sequential=True, expires_at=None)
        ann, bo = first.sign_off.signatories
        sealer = signoff.Sealer(keys=_never_sealed, base_url="http://localhost")
        signoff.approve(database.session, ann, typed_name="Ann Lee", source=actor, sealer=sealer)
        signoff.decline(
            database.session, bo, reason="The release date moves to spring", source=actor
        )
        second = frozen("Zurich Chamber")
        signoff.add_signatory(database.session, second.sign_off, name="Ann Lee", email="a@x.org")
        signoff.start(database.session, second.sign_off, sequential=True, expires_at=None)
        database.session.commit()
        second_id = second.id

    status = api.get(f"{base}/signoff").json
    SignOffSchema().load(status)  # as the OpenAPI document describes it
    waiting, declined = status["versions"]
    assert (waiting["sign_off"], waiting["stale"], waiting["declined"]) == ("pending", False, None)
    # Names and reasons are set apart from the sentence (Unicode isolates), as on the pages.
    assert waiting["why"] == "Waiting for \u2068Ann Lee\u2069 to approve."
    [(state, link)] = [(s["state"], s["link"]) for s in waiting["signatories"]]
    assert (state, link) == ("invited", "active")
    assert declined["sign_off"] == "declined" and declined["stale"] is False
    assert declined["declined"]["name"] == "Bo Chen"
    assert declined["declined"]["role"] == "Director"
    assert declined["declined"]["position"] == 2
    assert declined["declined"]["reason"] == "The release date moves to spring"
    assert declined["why"].startswith("Declined by \u2068Bo Chen\u2069 on ")
    # Version 2 followed it: this one is no longer what goes back to draft.
    reason = ": \u2068The release date moves to spring.\u2069 Version 2 was frozen after it."
    assert declined["why"].endswith(reason)
    assert [s["state"] for s in declined["signatories"]] == ["approved", "declined"]

    # A decision made since overtakes the version out for sign-off: it cannot complete.
    with app.app_context():
        engagement = database.session.get(Engagement, engagement_id)
        assert engagement is not None
        newer = record_decision(
            database.session, engagement, evaluate({**ANSWERS, "timeline_pressure": 5})
        )
        database.session.commit()
        newer_id = newer.id
    assert newer_id > decision_id
    stale = api.get(f"{base}/signoff").json["versions"][0]
    assert (stale["sign_off"], stale["stale"]) == ("pending", True)
    assert stale["stale_because_decision_id"] == newer_id
    assert stale["why"].startswith("This version is stale. The answers were evaluated again on ")
    assert f"(decision #{newer_id}), after this version was frozen." in stale["why"]

    # Withdrawn: who stopped it, and what the consultant does next, said once.
    with app.app_context():
        pending = database.session.get(CharterVersion, second_id)
        assert pending is not None
        signoff.withdraw(database.session, pending.sign_off, actor="Cara Diaz")
        database.session.commit()
    withdrawn = api.get(f"{base}/signoff").json["versions"][0]
    assert withdrawn["sign_off"] == "withdrawn"
    assert withdrawn["why"].startswith("Withdrawn by \u2068Cara Diaz\u2069 on ")
    assert withdrawn["why"].count("Withdrawn") == 1 and "prepare a new version" in withdrawn["why"]

    spec = api.get("/api/v1/openapi.json").json["components"]["schemas"]
    version = spec["CharterVersion"]
    for name in ("stale", "stale_because_decision_id", "why", "declined"):
        assert name in version["properties"] and name in version["required"], name
    assert {"state", "link", "link_expires_at"} <= set(spec["SignatoryStatus"]["properties"])


def test_the_openapi_document_read_at_once_by_several_requests_is_whole_in_each(
    app: Flask,
) -> None:
    """The operations are documented when the document is first read, not at start-up."""
    documents: list[Any] = []
    start = threading.Barrier(4)

    def read() -> None:
        client = app.test_client()
        start.wait()
        documents.append(client.get("/api/v1/openapi.json").json)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    assert len(documents) == 4
    whole = app.test_client().get("/api/v1/openapi.json").json
    assert [t["name"] for t in whole["tags"]] == ["evaluate", "engagements_api"]
    assert "/api/v1/engagements/{engagement_id}/versions/{number}/signed.pdf" in whole["paths"]
    assert all(document == whole for document in documents)


def test_assess_openapi_print_prints_the_document_the_api_serves(app: Flask) -> None:
    printed = app.test_cli_runner().invoke(args=["openapi", "print"])
    assert printed.exit_code == 0, printed.output
    served = app.test_client().get("/api/v1/openapi.json").json
    assert json.loads(printed.output) == served
    assert "/api/v1/engagements/{engagement_id}/respondents" in served["paths"]


def test_openapi_document_and_docs_page(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    param = spec["paths"]["/api/v1/engagements/{engagement_id}"]["parameters"][0]["schema"]
    assert (param["minimum"], param["maximum"]) == (1, 2**31 - 1)
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/v1/engagements/{engagement_id}/respondents" in html
    # Every operation under one heading per resource, each heading once, in a client's order.
    groups = re.findall(r'<h2 class="api-group">([^<]+)</h2>', html)
    assert groups == [
        "Evaluation (no account needed)",
        "Engagements",
        "Respondents and answers",
        "Decisions and charters",
        "Sign-off",
        "Schemas",
    ]
    # Path parameters, declared once per path, get a required field on each of its operations;
    # query parameters an optional one, sent only when filled in.
    one = html.split('id="get--api-v1-engagements-engagement_id"', 1)[1].split("</details>")[0]
    assert re.search(
        r'name="engagement_id" data-param="path" type="text" inputmode="numeric" required', one
    )
    listing = html.split('id="get--api-v1-engagements"', 1)[1].split("</details>")[0]
    search = re.search(r'<input id="[^"]*-q" name="q" data-param="query"[^>]*>', listing)
    assert search and "required" not in search.group(0) and "inputmode" not in search.group(0)
    assert re.search(r'name="page" data-param="query" type="text" inputmode="numeric" ', listing)
    signoff = html.split("Sign-off</h2>", 1)[1]
    assert "/versions/{number}/signed.pdf" in signoff and "/evaluate" not in signoff
    # Served from here, not from a CDN.
    assert "https://" not in html and "//cdn" not in html
    script = client.get("/api/v1/docs/static/api-docs.js")
    assert script.status_code == 200 and b"fetch(" in script.data
    script.close()


def test_the_docs_page_sets_the_descriptions_code_as_code_not_as_markdown(
    client: FlaskClient,
) -> None:
    """The OpenAPI descriptions are CommonMark, where `x` is code; the page shows it as code,
    not with its backticks."""
    assert "`assess evaluate`" in client.get("/api/v1/openapi.json").get_data(as_text=True)
    html = client.get("/api/v1/docs").get_data(as_text=True)
    evaluate = html.split('id="post--api-v1-evaluate"', 1)[1].split("</details>")[0]
    assert "<code>assess evaluate</code>" in evaluate
    assert "`" not in html.split("</h1>", 1)[1].split('<h2 class="api-group">Schemas', 1)[0]


def test_the_openapi_document_lists_every_refusal_the_readme_names(client: FlaskClient) -> None:
    """A generated client types the errors it is told of: a body that is not JSON (400), an
    Accept header ruling out the answer (406), and a rate limit's wait (Retry-After)."""
    spec = client.get("/api/v1/openapi.json").json
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            where = f"{method.upper()} {path}"
            responses = operation["responses"]
            if "requestBody" in operation:
                assert "400" in responses, where
            assert "406" in responses, where
            assert "Retry-After" in responses["429"].get("headers", {}), where


def test_every_operation_is_named_for_a_generated_client(client: FlaskClient) -> None:
    """A client generated from the document names its methods after the operation ids:
    create_engagement, not one made of the path and method."""
    spec = client.get("/api/v1/openapi.json").json
    names = [
        operation.get("operationId")
        for item in spec["paths"].values()
        for method, operation in item.items()
        if method != "parameters"
    ]
    assert all(name and re.fullmatch(r"[a-z]+(_[a-z]+)+", name) for name in names), names
    assert len(set(names)) == len(names)
    engagement = spec["paths"]["/api/v1/engagements/{engagement_id}"]
    assert (engagement["get"]["operationId"], engagement["patch"]["operationId"]) == (
        "get_engagement",
        "update_engagement",
    )


def test_the_errors_document_says_where_stored_data_s_messages_go(api: FlaskClient) -> None:
    """A request's own fields come by location ("json", "query"); what stops a submission is
    the stored answers, whose messages come under "answers": the document says both."""
    engagement_id = create_engagement(api)
    rid = invite(api, engagement_id, "Ann", "producer")
    refused = api.post(f"/api/v1/engagements/{engagement_id}/respondents/{rid}/submit")
    assert refused.status_code == 422 and list(refused.json["errors"]) == ["answers"]
    errors = api.get("/api/v1/openapi.json").json["components"]["schemas"]["Error"]
    described = errors["properties"]["errors"]["description"]
    assert '"json"' in described and '"answers"' in described, described


def test_every_request_body_has_an_example_that_the_api_accepts(api: FlaskClient) -> None:
    """The document gives each body an example, the docs page starts from it, and it works."""
    spec = api.get("/api/v1/openapi.json").json
    html = api.get("/api/v1/docs").get_data(as_text=True)
    engagement_id = create_engagement(api)
    ids = {
        "engagement_id": engagement_id,
        "respondent_id": invite(api, engagement_id, "A", "creator"),
    }
    # Only reopened answers can be closed again: another respondent's.
    reopened = invite(api, engagement_id, "B", "producer")
    reopened_path = f"/api/v1/engagements/{engagement_id}/respondents/{reopened}"
    api.put(f"{reopened_path}/answers", json={"answers": ANSWERS})
    api.post(f"{reopened_path}/submit")
    api.post(f"{reopened_path}/reopen")
    sent = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters" or "requestBody" not in operation:
                continue
            example = operation["requestBody"]["content"]["application/json"].get("example")
            assert example, f"{method} {path} has no example body"
            anchor = f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", "")
            form = html.split(f'id="{anchor}"', 1)[1].split("</details>", 1)[0]
            assert str(escape(json.dumps(example, indent=2))) in form
            on = {**ids, "respondent_id": reopened} if path.endswith("/close") else ids
            response = api.open(path.format(**on), method=method.upper(), json=example)
            assert response.status_code in (200, 201), (method, path, response.json)
            sent.append(f"{method} {path}")
    assert len(sent) == 8, sent


def test_what_is_created_says_where_it_lives(api: FlaskClient) -> None:
    """Every 201 carries a Location that answers with what was created."""
    made = api.post("/api/v1/engagements", json=ENGAGEMENT)
    assert api.get(made.headers["Location"]).json == made.json
    base = made.headers["Location"]
    invited = api.post(f"{base}/respondents", json={"name": "Ann", "side": "producer"})
    assert api.get(invited.headers["Location"]).json == invited.json["respondent"]
    renewed = api.post(f"{invited.headers['Location']}/invitation", json={})
    assert renewed.headers["Location"] == invited.headers["Location"]
    creator = api.post(f"{base}/respondents", json={"name": "Bo", "side": "creator"})
    for respondent in (invited, creator):
        path = respondent.headers["Location"]
        api.put(f"{path}/answers", json={"answers": ANSWERS})
        submitted = api.post(f"{path}/submit")
        assert api.get(submitted.headers["Location"]).json == submitted.json
    together = api.post(f"{base}/decisions")
    assert together.status_code == 201
    assert api.get(together.headers["Location"]).json == together.json

    spec = api.get("/api/v1/openapi.json").json
    creations = [
        (method, path, operation["responses"]["201"])
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method != "parameters" and "201" in operation["responses"]
    ]
    assert len(creations) == 5
    for method, path, response in creations:
        assert "Location" in response.get("headers", {}), (method, path)


def test_an_engagement_is_changed_archived_and_restored(app: Flask, api: FlaskClient) -> None:
    engagement_id = create_engagement(api)
    path = f"/api/v1/engagements/{engagement_id}"
    before = api.get(path).json
    changed = api.patch(path, json={"client_organisation": "Northlight Ltd", "creator_role": "DoP"})
    assert changed.status_code == 200
    assert changed.json["client_organisation"] == "Northlight Ltd"
    assert changed.json["project_name"] == before["project_name"]  # left out: kept
    assert [(p["side"], p["name"], p["role"]) for p in changed.json["parties"]] == [
        ("producer", "Ann Lee", "Executive producer"),
        ("creator", "Bo Chen", "DoP"),
    ]
    assert changed.json["updated_at"] > before["updated_at"]

    archived = api.patch(path, json={"archived": True})
    assert archived.status_code == 200 and archived.json["archived"] is True
    refused = api.patch(path, json={"project_name": "Ebb"})
    assert refused.status_code == 409 and '"archived": false' in refused.json["message"]
    restored = api.patch(path, json={"archived": False, "project_name": "Ebb"})
    assert restored.status_code == 200
    assert (restored.json["archived"], restored.json["project_name"]) == (False, "Ebb")
    # Nothing sent means nothing changed: the document gives no default a client might send.
    update = api.get("/api/v1/openapi.json").json["components"]["schemas"]["EngagementUpdate"]
    assert not [name for name, field in update["properties"].items() if "default" in field]
    assert "required" not in update


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"archived": 1}, "archived", "must be true or false"),
        ({"archived": "true"}, "archived", "must be true or false"),
        ({"project_name": "  "}, "project_name", "must not be empty"),
        ({"project_name": None}, "project_name", "must be text"),
        ({"id": 7}, "id", "unknown field"),
    ],
)
def test_an_engagement_change_is_checked_field_by_field(
    api: FlaskClient, body: dict[str, object], field: str, message: str
) -> None:
    path = f"/api/v1/engagements/{create_engagement(api)}"
    before = api.get(path).json
    response = api.patch(path, json=body)
    assert response.status_code == 422 and response.json["errors"]["json"][field] == [message]
    assert api.get(path).json == before


@pytest.mark.parametrize("body", [None, {}, ""], ids=["no body", "empty object", "empty text"])
def test_an_engagement_change_must_change_something(api: FlaskClient, body: object) -> None:
    path = f"/api/v1/engagements/{create_engagement(api)}"
    before = api.get(path).json
    if body == "":
        response = api.patch(path, data=body, content_type="application/json")
    else:
        response = api.patch(path, json=body)
    assert response.status_code == 422 and response.mimetype == "application/json"
    message = "The request body must be a JSON object with at least one field to change."
    assert response.json["message"] == message
    assert response.json["errors"] == {
        "json": {"_schema": ["must be a JSON object with at least one field to change"]}
    }
    assert api.get(path).json == before
    # The document says the same: a body is required, and it names one field or more.
    operation = api.get("/api/v1/openapi.json").json["paths"]["/api/v1/engagements/{engagement_id}"]
    assert operation["patch"]["requestBody"]["required"] is True
    assert "at least one" in operation["patch"]["requestBody"]["description"]
    assert "422" in operation["patch"]["responses"]
    update = api.get("/api/v1/openapi.json").json["components"]["schemas"]["EngagementUpdate"]
    assert update["minProperties"] == 1


# What the API answers for each kind of bad text: a phrase after the JSON field's name,
# as for every other field of the API and on the command line.
TEXT_PROBLEMS = [
    (None, "is required"),
    ("x" * 201, "must be at most 200 characters"),
    ("\u0958" * 150, "must be at most 200 characters"),  # 300 characters once normalised
    # Counted as sent too, as the API document and a browser's maxlength count them: 201
    # with the white space trimming takes off, 202 before normalising makes them 101.
    ("\t" + "x" * 200, "must be at most 200 characters"),
    ("e\u0301" * 101, "must be at most 200 characters"),
    (5, "must be text"),
    (["Tidewater"], "must be text"),
    ("  \u200b", "must not be empty"),
    ("Tide\x00water", "must not contain control characters"),
    # At either end too, where trimming the white space would have taken them out unseen.
    ("\x85Tidewater", "must not contain control characters"),
    ("Tidewater\x1f", "must not contain control characters"),
    ("Tidewater\n", "must not contain control characters"),
    # Printed on the charter, where it would be an empty box.
    (
        "\U0001f3ac Studio",
        "must not contain characters the charter's fonts lack: \U0001f3ac (U+1F3AC)",
    ),
]


@pytest.mark.parametrize(("value", "message"), TEXT_PROBLEMS)
def test_a_new_engagement_is_refused_with_messages_for_a_program(
    api: FlaskClient, value: object, message: str
) -> None:
    body = {**ENGAGEMENT, "project_name": value, "client_organisation": value}
    if value is None:
        del body["project_name"], body["client_organisation"]
    response = api.post("/api/v1/engagements", json=body)
    assert response.status_code == 422
    assert response.json["errors"]["json"] == {
        "project_name": [message],
        "client_organisation": [message],
    }


def test_every_engagement_field_names_its_own_limit(api: FlaskClient) -> None:
    missing = api.post("/api/v1/engagements", json={})
    assert missing.json["errors"]["json"] == {
        "project_name": ["is required"],
        "client_organisation": ["is required"],
        "producer_name": ["is required"],
        "creator_name": ["is required"],
    }
    long = {**ENGAGEMENT, **{key: "x" * 1000 for key in ENGAGEMENT}, "creator_role": "x" * 121}
    too_long = api.post("/api/v1/engagements", json=long)
    assert too_long.json["errors"]["json"] == {
        "project_name": ["must be at most 200 characters"],
        "client_organisation": ["must be at most 200 characters"],
        "producer_name": ["must be at most 120 characters"],
        "producer_role": ["must be at most 120 characters"],
        "creator_name": ["must be at most 120 characters"],
        "creator_role": ["must be at most 120 characters"],
    }
    wrong = {key: 1 for key in (*ENGAGEMENT, "creator_role")}
    assert api.post("/api/v1/engagements", json=wrong).json["errors"]["json"] == {
        key: ["must be text"] for key in wrong
    }
    # A role may be left out or sent empty; it is never null.
    nulls = {**ENGAGEMENT, "producer_role": None, "creator_role": ""}
    assert api.post("/api/v1/engagements", json=nulls).json["errors"]["json"] == {
        "producer_role": ["must be text"]
    }
    assert api.get("/api/v1/engagements").json == []


@pytest.mark.parametrize(("value", "message"), TEXT_PROBLEMS[1:])
def test_an_engagement_change_gets_the_same_messages(
    api: FlaskClient, value: object, message: str
) -> None:
    path = f"/api/v1/engagements/{create_engagement(api)}"
    response = api.patch(path, json={"project_name": value, "creator_name": value})
    assert response.status_code == 422
    limit = message.replace("200", "120")
    assert response.json["errors"]["json"] == {
        "project_name": [message],
        "creator_name": [limit],
    }


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"name": ["is required"], "side": ["is required"]}),
        (
            {"name": "x" * 121, "side": "both"},
            {
                "name": ["must be at most 120 characters"],
                "side": ["must be one of: producer, creator"],
            },
        ),
        (
            {"name": 7, "side": None, "expires_in_days": "14"},
            {
                "name": ["must be text"],
                "side": ["must not be null"],
                "expires_in_days": ["must be an integer"],
            },
        ),
        (
            {"name": " ", "side": "creator", "expires_in_days": 0},
            {"name": ["must not be empty"], "expires_in_days": ["must be 1 to 366 days"]},
        ),
        (
            {"name": "Ann \U0001f3ac", "side": "creator"},
            {
                "name": [
                    "must not contain characters the charter's fonts lack: \U0001f3ac (U+1F3AC)"
                ]
            },
        ),
    ],
)
def test_a_respondent_is_refused_with_messages_for_a_program(
    api: FlaskClient, body: dict[str, object], errors: dict[str, list[str]]
) -> None:
    engagement_id = create_engagement(api)
    response = api.post(f"/api/v1/engagements/{engagement_id}/respondents", json=body)
    assert response.status_code == 422 and response.json["errors"]["json"] == errors


def test_the_web_forms_keep_their_sentences() -> None:
    """The same rules and limits on the engagement and invitation forms, worded for a person
    reading them under the form's labels."""
    from assess.forms import EngagementSchema, InvitationSchema, load_form

    assert load_form(EngagementSchema(), {"producer_role": "r" * 121})[1] == {
        "project_name": ["Enter the project name."],
        "client_organisation": ["Enter the client organisation."],
        "producer_name": ["Enter the producer side's name."],
        "producer_role": ["Keep the producer side's role to 120 characters or fewer (it has 121)."],
        "creator_name": ["Enter the creator side's name."],
    }
    form = {**ENGAGEMENT, "project_name": "x" * 201, "creator_name": "Bo\x00Chen"}
    assert load_form(EngagementSchema(), form)[1] == {
        "project_name": ["Keep the project name to 200 characters or fewer (it has 201)."],
        "creator_name": ["The creator side's name must not contain control characters."],
    }
    assert load_form(InvitationSchema(), {"respondent_name": " ", "side": "both"})[1] == {
        "respondent_name": ["Enter the respondent's name."],
        "side": ["Choose the producer side or the creator side."],
    }


def test_a_read_only_token_cannot_change_an_engagement(
    app: Flask, api: FlaskClient, consultant: int
) -> None:
    path = f"/api/v1/engagements/{create_engagement(api)}"
    secret = make_token(app, consultant, can_write=False)
    refused = api.patch(path, json={"archived": True}, headers=bearer(secret))
    assert refused.status_code == 403 and api.get(path).json["archived"] is False


def test_every_operation_has_a_one_line_summary_and_a_description(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").json
    html = client.get("/api/v1/docs").get_data(as_text=True)
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            summary, description = operation.get("summary", ""), operation.get("description", "")
            assert summary and "\n" not in summary and len(summary) <= 80, (method, path)
            assert len(description) > len(summary), (method, path)
            assert str(escape(description.split("\n")[0])) in html, (method, path)


def test_a_copy_still_current_is_answered_304_without_a_body(app: Flask, api: FlaskClient) -> None:
    """Polling the sign-off status or fetching a charter again costs a few bytes."""
    engagement_id, rid, base, decision_id = submitted(api)
    paths = [
        "/api/v1/engagements",
        base,
        f"{base}/history",
        f"{base}/signoff",
        f"{base}/respondents",
        f"{base}/respondents/{rid}",
        f"{base}/decisions",
        f"{base}/decisions/{decision_id}",
        f"{base}/decisions/{decision_id}/charter.pdf",
    ]
    spec = api.get("/api/v1/openapi.json").json
    gets = [path for path, item in spec["paths"].items() if "get" in item]
    assert len(gets) == len(paths) + 1  # the signed charter's, below
    for path in paths:
        first = api.get(path)
        tag = first.headers["ETag"]
        again = api.get(path, headers={"If-None-Match": tag})
        assert (again.status_code, again.data, again.headers["ETag"]) == (304, b"", tag), path
        assert api.get(path, headers={"If-None-Match": '"other"'}).data == first.data
    for path in gets:
        assert "304" in spec["paths"][path]["get"]["responses"], path

    before = api.get(f"{base}/signoff").headers["ETag"]
    sign(app, engagement_id)
    status = api.get(f"{base}/signoff", headers={"If-None-Match": before})
    assert (
        status.status_code == 200 and status.json["versions"] and status.headers["ETag"] != before
    )
    signed = api.get(f"{base}/versions/1/signed.pdf")
    unchanged = api.get(
        f"{base}/versions/1/signed.pdf", headers={"If-None-Match": signed.headers["ETag"]}
    )
    assert unchanged.status_code == 304
    # A page's items can stay the same while its totals change.
    page = api.get("/api/v1/engagements?page=2")
    create_engagement(api)
    later = api.get("/api/v1/engagements?page=2", headers={"If-None-Match": page.headers["ETag"]})
    assert later.status_code == 200 and later.json == page.json == []


def test_a_tagged_answer_carries_one_date_the_servers(api: FlaskClient, token: str) -> None:
    """The server (gunicorn, or the development server) dates every answer itself: a Date the
    app sets as well arrives as a second field, "Sun, 6 Dec ... GMT, Sun, 6 Dec ... GMT" to a
    client, which reads no date at all."""
    engagement_id, rid, base, decision_id = submitted(api)
    tag = api.get(base).headers["ETag"]
    asked = [
        (base, {}),
        (base, {"If-None-Match": tag}),
        (f"{base}/decisions/{decision_id}/charter.pdf", {"Range": "bytes=0-9"}),
        ("/static/app.css", {}),
    ]
    with served(api.application) as send:
        for path, headers in asked:
            answer, _ = send("GET", path, headers={**bearer(token), **headers})
            assert answer.status in (200, 206, 304), (path, answer.status)
            assert len(answer.msg.get_all("Date") or []) == 1, (path, answer.msg.get_all("Date"))


def test_a_change_made_on_a_copy_no_longer_current_is_refused_412(api: FlaskClient) -> None:
    """Two tools changing one engagement: the one that read it before the other's change,
    and says so with If-Match, does not overwrite that change unseen."""
    engagement_id = create_engagement(api)
    path = f"/api/v1/engagements/{engagement_id}"
    read = api.get(path).headers["ETag"]
    first = api.patch(path, json={"project_name": "First"}, headers={"If-Match": read})
    assert first.status_code == 200
    second = api.patch(path, json={"project_name": "Second"}, headers={"If-Match": read})
    assert second.status_code == 412
    assert second.json["message"] == (
        "The engagement changed since the copy named in If-Match: read it again (its ETag), "
        "then make the change."
    )
    assert api.get(path).json["project_name"] == "First"
    assert (
        api.patch(path, json={"project_name": "Third"}, headers={"If-Match": "*"}).status_code
        == 200
    )
    assert api.patch(path, json={"project_name": "Fourth"}).status_code == 200

    rid = invite(api, engagement_id, "Ann", "producer")
    respondent = f"{path}/respondents/{rid}"
    seen = api.get(respondent).headers["ETag"]
    api.put(f"{respondent}/answers", json={"answers": {"innovation": 4}})
    removed = api.delete(respondent, headers={"If-Match": seen})
    assert removed.status_code == 412 and api.get(respondent).status_code == 200
    spec = api.get("/api/v1/openapi.json").json["paths"]
    for operation in (
        spec["/api/v1/engagements/{engagement_id}"]["patch"],
        spec["/api/v1/engagements/{engagement_id}/respondents/{respondent_id}"]["delete"],
    ):
        assert "412" in operation["responses"]
        assert any(p.get("name") == "If-Match" for p in operation["parameters"])


def test_an_if_match_naming_the_current_copy_weakly_says_why_it_is_refused(
    api: FlaskClient,
) -> None:
    """A proxy or client that marks the ETag weak (W/) names the copy that is current: the
    change is refused (If-Match compares strongly), saying so rather than that it changed."""
    engagement_id = create_engagement(api)
    path = f"/api/v1/engagements/{engagement_id}"
    weak = "W/" + api.get(path).headers["ETag"]
    changed = api.patch(path, json={"project_name": "Changed"}, headers={"If-Match": weak})
    assert changed.status_code == 412
    assert changed.json["message"] == (
        "If-Match names the current copy's ETag as weak (W/), which no change can be made on: "
        "send it as the GET answered with it."
    )
    assert api.get(path).json["project_name"] != "Changed"


@pytest.mark.parametrize("if_match", ["", '"', ","])
def test_an_if_match_that_names_no_etag_changes_nothing(api: FlaskClient, if_match: str) -> None:
    """An If-Match left empty (a variable the tool never set) is a condition nothing meets,
    not a change made whatever changed."""
    engagement_id = create_engagement(api)
    path = f"/api/v1/engagements/{engagement_id}"
    changed = api.patch(path, json={"project_name": "Changed"}, headers={"If-Match": if_match})
    assert changed.status_code == 412
    assert changed.json["message"] == (
        "If-Match names no ETag, so no copy matches it: send the ETag the GET answered with, "
        "or * for any copy."
    )
    assert api.get(path).json["project_name"] != "Changed"
    respondent = f"{path}/respondents/{invite(api, engagement_id, 'Ann', 'producer')}"
    assert api.delete(respondent, headers={"If-Match": if_match}).status_code == 412
    assert api.get(respondent).status_code == 200


def test_a_change_answers_with_the_etag_of_the_copy_it_made(api: FlaskClient) -> None:
    """A tool that changes an engagement twice names the copy its first change made in the
    second's If-Match, without reading it again in between."""
    engagement_id = create_engagement(api)
    path = f"/api/v1/engagements/{engagement_id}"
    first = api.patch(path, json={"project_name": "First"}, headers={"If-Match": "*"})
    assert first.status_code == 200 and first.headers.get("ETag")
    assert first.headers["ETag"] == api.get(path).headers["ETag"]
    second = api.patch(
        path, json={"client_organisation": "Second"}, headers={"If-Match": first.headers["ETag"]}
    )
    assert second.status_code == 200 and second.headers["ETag"] != first.headers["ETag"]
    assert second.headers["ETag"] == api.get(path).headers["ETag"]
    stale = api.patch(
        path, json={"project_name": "Third"}, headers={"If-Match": first.headers["ETag"]}
    )
    assert stale.status_code == 412 and api.get(path).json["project_name"] == "First"

    # Each change that answers with a respondent as its GET shows it tags it the same way.
    respondent = f"{path}/respondents/{invite(api, engagement_id, 'Ann', 'producer')}"
    changes = [
        ("PUT", "/answers", {"answers": ANSWERS}),
        ("DELETE", "/invitation", None),
        ("POST", "/submit", None),
        ("POST", "/reopen", None),
        ("POST", "/close", None),
    ]
    for method, suffix, body in changes:
        changed = api.open(f"{respondent}{suffix}", method=method, json=body)
        assert changed.status_code in (200, 201), (suffix, changed.json)
        if changed.status_code == 200:
            assert changed.headers["ETag"] == api.get(respondent).headers["ETag"], suffix
    spec = api.get("/api/v1/openapi.json").json["paths"]
    etag = spec["/api/v1/engagements/{engagement_id}"]["get"]["responses"]["200"]["headers"]
    responding = "/api/v1/engagements/{engagement_id}/respondents/{respondent_id}"
    for where, method in (
        ("/api/v1/engagements/{engagement_id}", "patch"),
        (f"{responding}/answers", "put"),
        (f"{responding}/invitation", "delete"),
        (f"{responding}/reopen", "post"),
        (f"{responding}/close", "post"),
    ):
        assert spec[where][method]["responses"]["200"]["headers"]["ETag"] == etag["ETag"], where


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the charters laid out and written as PDF, by document id."""
    from assess.charter import pdf

    write_pdf = pdf.write_pdf

    def counted(html: str, **kwargs: Any) -> bytes:
        written.append(kwargs["document_id"])
        return write_pdf(html, **kwargs)

    written: list[str] = []
    monkeypatch.setattr(pdf, "write_pdf", counted)
    return written


def test_a_charter_still_current_is_answered_304_without_rendering(
    api: FlaskClient, renders: list[str]
) -> None:
    from assess.charter.pdf import clear_cache

    engagement_id, rid, base, decision_id = submitted(api)
    path = f"{base}/decisions/{decision_id}/charter.pdf"
    first = api.get(path)
    assert first.status_code == 200 and len(renders) == 1
    tag = first.headers["ETag"]
    for _ in range(3):
        again = api.get(path, headers={"If-None-Match": tag})
        assert (again.status_code, again.data, again.headers["ETag"]) == (304, b"", tag)
    assert len(renders) == 1
    # The tag names what the bytes are made from, not a copy this process happens to hold.
    clear_cache()
    fresh = api.get(path)
    assert (fresh.status_code, fresh.headers["ETag"], fresh.data) == (200, tag, first.data)


def test_whatever_changes_a_charter_changes_its_etag(
    app: Flask, api: FlaskClient, renders: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from assess.charter import pdf

    engagement_id, rid, base, decision_id = submitted(api)
    path = f"{base}/decisions/{decision_id}/charter.pdf"
    first = api.get(path)
    tags, copies = [first.headers["ETag"]], [first.data]

    def fetched_again() -> None:
        """The copy the client holds is out of date: it gets the new one, with a new tag."""
        response = api.get(path, headers={"If-None-Match": tags[-1]})
        assert response.status_code == 200
        assert response.headers["ETag"] not in tags and response.data not in copies
        tags.append(response.headers["ETag"])
        copies.append(response.data)
        assert api.get(path, headers={"If-None-Match": tags[-1]}).status_code == 304

    with app.app_context():  # a field saved on the charter page
        engagement = database.session.get(Engagement, engagement_id)
        assert engagement is not None
        engagement.charter_fields = {"mediators_external": ["Elif Kaya"]}
        database.session.commit()
    fetched_again()
    assert api.patch(base, json={"creator_role": "Director"}).status_code == 200
    fetched_again()
    # Another stylesheet, font or WeasyPrint lays the same HTML out differently.
    monkeypatch.setattr(pdf, "renderer_version", lambda: "another renderer")
    response = api.get(path, headers={"If-None-Match": tags[-1]})
    assert response.status_code == 200 and response.headers["ETag"] not in tags
    assert len(renders) == 4


def test_a_copy_is_compared_before_any_pdf_is_read_or_made(
    app: Flask, api: FlaskClient, renders: list[str]
) -> None:
    """No GET reads a stored PDF from the database, or lays a charter out, to answer 304. A
    signed charter's tag is its SHA-256, as the sign-off status gives it."""

    engagement_id, rid, base, decision_id = submitted(api)
    sealed = sign(app, engagement_id)
    digest = hashlib.sha256(sealed).hexdigest()
    assert api.get(f"{base}/signoff").json["versions"][0]["sealed_sha256"] == digest
    signed = api.get(f"{base}/versions/1/signed.pdf")
    assert signed.headers["ETag"] == f'"{digest}"' and signed.data == sealed

    ids = {"engagement_id": engagement_id, "respondent_id": rid, "decision_id": decision_id}
    spec = api.get("/api/v1/openapi.json").json
    paths = [p.format(**ids, number=1) for p, item in spec["paths"].items() if "get" in item]
    paths = [p for p in paths if p.startswith("/api/v1/engagements")]
    assert len(paths) == 10
    tags = {path: api.get(path).headers["ETag"] for path in paths}
    made = len(renders)

    with statements_sent(app) as statements:
        for path, tag in tags.items():
            statements.clear()
            response = api.get(path, headers={"If-None-Match": tag})
            assert response.status_code == 304, path
            assert statements, path
            read = [s for s in statements if re.search(r"\.(sealed_)?pdf\b", s)]
            assert not read, (path, read)
    assert len(renders) == made


@pytest.mark.parametrize("accept", ["application/xml", "text/csv, application/json;q=0"])
def test_an_answer_the_client_cannot_read_is_a_406(api: FlaskClient, accept: str) -> None:
    engagement_id, rid, base, decision_id = submitted(api)
    for method, path in (
        ("POST", "/api/v1/evaluate"),
        ("GET", base),
        ("GET", f"{base}/decisions/{decision_id}/charter.pdf"),
    ):
        body = ANSWERS if method == "POST" else None
        refused = api.open(path, method=method, json=body, headers={"Accept": accept})
        assert refused.status_code == 406 and refused.mimetype == "application/json", path
        assert refused.json["code"] == 406 and "Accept: application/" in refused.json["message"]
    # What browsers and HTTP libraries send by default still gets its answer.
    for usual in ("*/*", "text/html,application/xhtml+xml,*/*;q=0.8", "application/*", ""):
        assert api.get(base, headers={"Accept": usual}).status_code == 200, usual
    pdf = api.get(
        f"{base}/decisions/{decision_id}/charter.pdf", headers={"Accept": "application/pdf"}
    )
    assert pdf.status_code == 200


def test_a_body_over_the_limit_is_a_413_that_says_the_limit(api: FlaskClient) -> None:
    body = {**ENGAGEMENT, "project_name": "x" * 1_000_000}
    response = api.post("/api/v1/engagements", json=body)
    assert response.status_code == 413 and response.mimetype == "application/json"
    assert response.json["message"] == "The request body is larger than the 64 KiB the API takes."
    assert api.get("/api/v1/engagements").json == []
    spec = api.get("/api/v1/openapi.json").json
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters" and "requestBody" in operation:
                assert "413" in operation["responses"], (method, path)


def test_a_body_sent_in_chunks_over_the_limit_is_a_413_too(app: Flask) -> None:
    """A chunked body has no length to check beforehand: the server stops reading it at the
    limit, and the part read must not be taken for broken JSON (400), nor, padded after a
    whole object, for the object alone."""
    padded = json.dumps(ANSWERS).encode() + b" " * (64 * 1024)
    broken = json.dumps({"innovation": "x" * (64 * 1024)}).encode()

    def chunks(body: bytes) -> Iterator[bytes]:
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    with served(app) as send:
        for body in (padded, broken):
            answer, data = send(
                "POST",
                "/api/v1/evaluate",
                chunks(body),
                {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
            )
            assert answer.status == 413, data
            assert json.loads(data)["message"] == (
                "The request body is larger than the 64 KiB the API takes."
            )
        whole, _ = send(
            "POST",
            "/api/v1/evaluate",
            chunks(json.dumps(ANSWERS).encode()),
            {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        )
        assert whole.status == 200


def test_invalid_fields_are_summed_up_in_the_message(client: FlaskClient) -> None:
    response = client.post("/api/v1/evaluate", json={"innovation": 9})
    assert response.json["message"] == "Some fields are not valid; see errors for each one."


@pytest.mark.parametrize("alias", ["01", "\u0661", "\uff11", "+1", "1.0"])
def test_an_id_is_written_one_way_only(api: FlaskClient, alias: str) -> None:
    """Leading zeros and other scripts' digits are not other addresses of the same object."""
    assert create_engagement(api) == 1 and api.get("/api/v1/engagements/1").status_code == 200
    response = api.get(f"/api/v1/engagements/{alias}")
    assert response.status_code == 404 and response.mimetype == "application/json"


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        for value in node.values():
            yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


def test_the_document_allows_the_text_the_api_takes_and_refuses_the_rest(
    api: FlaskClient,
) -> None:
    """A tab is taken as a space, as in the forms; a line break is refused in a one-line
    text. A client checking its requests against the document must agree on both."""
    tabbed = api.post("/api/v1/engagements", json={**ENGAGEMENT, "creator_role": "Art\tdirector"})
    assert tabbed.status_code == 201, tabbed.json
    assert {"side": "creator", "name": "Bo Chen", "role": "Art director"} in tabbed.json["parties"]
    broken = api.post("/api/v1/engagements", json={**ENGAGEMENT, "creator_role": "Art\ndirector"})
    assert broken.status_code == 422
    patterns = set(_patterns(api.get("/api/v1/openapi.json").json))
    assert patterns
    for pattern in patterns:
        assert re.search(pattern, "Art\tdirector"), pattern
        assert not re.search(pattern, "Art\ndirector"), pattern


def test_the_openapi_document_says_what_each_answer_level_means(client: FlaskClient) -> None:
    # The factor keys are the public contract: a client that reads only the API document
    # must learn which end of the scale is which, as the questionnaire shows a person.
    schemas = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    for name in ("Answers", "PartialAnswers"):
        properties = schemas[name]["properties"]
        for factor in FACTORS:
            described = properties[factor.key]["description"]
            assert described.startswith(factor.label), (name, factor.key)
            assert f"1: {factor.anchor(1)}" in described, (name, factor.key)
            assert f"5: {factor.anchor(5)}" in described, (name, factor.key)


# A body of each kind the API refuses before any route reads it.
REFUSED_BODIES = {
    "not JSON": (b"project=Tidewater", "application/x-www-form-urlencoded"),
    "broken JSON": (b'{"project_name": ', "application/json"),
    "too large": (b'{"project_name": "' + b"x" * (64 << 10) + b'"}', "application/json"),
}


@pytest.mark.parametrize(("body", "content_type"), REFUSED_BODIES.values(), ids=REFUSED_BODIES)
def test_a_refused_body_gets_a_status_its_operation_documents(
    api: FlaskClient, body: bytes, content_type: str
) -> None:
    """Every operation a body can be sent to lists the status that body gets, those that
    take none too: a generated client types the errors it is told of."""
    engagement_id = create_engagement(api)
    respondent_id = invite(api, engagement_id, "Ann", "producer")
    ids = {"engagement_id": engagement_id, "respondent_id": respondent_id, "decision_id": 1}
    spec = api.get("/api/v1/openapi.json").json
    undocumented = []
    for path, item in spec["paths"].items():
        for method in ("post", "put", "patch"):
            if method not in item:
                continue
            response = api.open(
                path.format(**ids), method=method, data=body, content_type=content_type
            )
            assert response.status_code in (400, 413, 415), (method, path, response.json)
            if str(response.status_code) not in item[method]["responses"]:
                undocumented.append(f"{method.upper()} {path}: {response.status_code}")
    assert undocumented == []
