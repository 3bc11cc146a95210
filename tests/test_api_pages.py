"""The lists under an engagement are read a page at a time, as the list of engagements is."""

from __future__ import annotations

import json
from typing import Any

import pytest
from apitools import make_token
from flask import Flask
from flask.testing import FlaskClient
from webtools import ANSWERS, ENGAGEMENT

from assess.engine import evaluate
from assess.extensions import db as database
from assess.models import Engagement, Respondent
from assess.questionnaire import record_decision

pytestmark = pytest.mark.db

DECISIONS, RESPONDENTS, EVENTS = 120, 60, 55


@pytest.fixture
def api(client: FlaskClient, app: Flask, consultant: int) -> FlaskClient:
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {make_token(app, consultant)}"
    return client


@pytest.fixture
def crowded(app: Flask, api: FlaskClient) -> str:
    """An engagement with more decisions, respondents and history entries than a page holds;
    return its address."""
    body = {key: value for key, value in ENGAGEMENT.items() if key != "creator_role"}
    engagement_id = api.post("/api/v1/engagements", json=body).json["id"]
    decision = evaluate(ANSWERS)
    with app.app_context():
        engagement = database.session.get(Engagement, engagement_id)
        assert engagement is not None
        for n in range(RESPONDENTS):
            side = "producer" if n % 2 else "creator"
            engagement.respondents.append(Respondent(name=f"Person {n}", side=side, answers={}))
        database.session.flush()
        for n in range(DECISIONS):
            record_decision(database.session, engagement, decision, note=f"What-if {n}")
        for n in range(EVENTS):
            engagement.record("removed", "c@example.com", "api", engagement.respondents[n])
        database.session.commit()
    return f"/api/v1/engagements/{engagement_id}"


# Each list, how many it holds, and what tells its items apart in the order it gives them.
LISTS = {
    "decisions": (DECISIONS, lambda item: item["note"]),
    "respondents": (RESPONDENTS, lambda item: item["name"]),
    "history": (EVENTS, lambda item: item["respondent_name"]),
}
ORDER = {
    "decisions": [f"What-if {n}" for n in reversed(range(DECISIONS))],  # newest first
    "respondents": [f"Person {n}" for n in range(RESPONDENTS)],
    "history": [f"Person {n}" for n in range(EVENTS)],  # oldest first
}


@pytest.mark.parametrize("kind", LISTS)
def test_a_long_list_of_an_engagement_comes_a_page_at_a_time(
    api: FlaskClient, crowded: str, kind: str
) -> None:
    total, key = LISTS[kind]
    first = api.get(f"{crowded}/{kind}")
    assert first.status_code == 200
    # 50 to a page unless asked otherwise, as for the engagements.
    assert [key(item) for item in first.json] == ORDER[kind][:50]
    paging = json.loads(first.headers["X-Pagination"])
    assert paging == {
        "total": total,
        "total_pages": -(-total // 50),
        "first_page": 1,
        "last_page": -(-total // 50),
        "page": 1,
        "next_page": 2,
    }
    # Page by page, every item comes once, in the list's own order.
    seen: list[Any] = []
    page: int | None = 1
    while page is not None:
        response = api.get(f"{crowded}/{kind}?page={page}&page_size=7")
        assert response.status_code == 200 and len(response.json) <= 7
        seen += [key(item) for item in response.json]
        page = json.loads(response.headers["X-Pagination"]).get("next_page")
    assert seen == ORDER[kind]
    whole = api.get(f"{crowded}/{kind}?page_size=200")
    assert [key(item) for item in whole.json] == ORDER[kind]
    assert "next_page" not in json.loads(whole.headers["X-Pagination"])
    last = api.get(f"{crowded}/{kind}?page=2&page_size={total - 1}")
    assert [key(item) for item in last.json] == ORDER[kind][-1:]
    for beyond in ("99", str(10**30)):
        past_the_end = api.get(f"{crowded}/{kind}?page={beyond}&page_size=10")
        assert past_the_end.status_code == 200 and past_the_end.json == []
    # A page's tag is its own: a client polling page 2 is not told page 1 is unchanged.
    second = api.get(f"{crowded}/{kind}?page=2")
    assert second.headers["ETag"] != first.headers["ETag"]
    unchanged = api.get(
        f"{crowded}/{kind}?page=2", headers={"If-None-Match": second.headers["ETag"]}
    )
    assert unchanged.status_code == 304


def test_the_engagements_decision_is_marked_of_record_on_whichever_page_it_falls(
    app: Flask, api: FlaskClient, crowded: str
) -> None:
    """The engagement's decision is worked out from all its decisions, not the page's: here
    newer ones, of a respondent still answering, push it onto the third page."""
    with app.app_context():
        engagement = database.session.get(Engagement, int(crowded.rsplit("/", 1)[1]))
        assert engagement is not None
        for _ in range(110):
            respondent = engagement.respondents[0]
            record_decision(database.session, engagement, evaluate(ANSWERS), respondent=respondent)
        database.session.commit()
    of_record = api.get(crowded).json["decision_of_record_id"]
    assert of_record is not None
    marked = {
        page: [
            item["id"]
            for item in api.get(f"{crowded}/decisions?page={page}").json
            if item["of_record"]
        ]
        for page in range(1, 6)
    }
    assert marked == {1: [], 2: [], 3: [of_record], 4: [], 5: []}


@pytest.mark.parametrize("kind", LISTS)
def test_bad_page_arguments_of_an_engagement_s_list_are_refused_per_field(
    api: FlaskClient, crowded: str, kind: str
) -> None:
    """In the words of the engagements' list, under "query", so one client reads both."""
    for query, messages in (
        ("page=abc", {"page": ["must be an integer"]}),
        ("page=1.5", {"page": ["must be an integer"]}),
        # Python's int() would read these as 1; a URL writes its numbers in ASCII digits.
        ("page=%D9%A1", {"page": ["must be an integer"]}),
        ("page=%201", {"page": ["must be an integer"]}),
        ("page_size=%EF%BC%95", {"page_size": ["must be an integer"]}),
        ("page=0", {"page": ["must be 1 or more"]}),
        ("page=-1", {"page": ["must be 1 or more"]}),
        ("page_size=x", {"page_size": ["must be an integer"]}),
        ("page_size=0", {"page_size": ["must be 1 to 200"]}),
        ("page_size=201", {"page_size": ["must be 1 to 200"]}),
        ("page=1&page=2", {"page": ["is given more than once"]}),
        ("sort=name", {"sort": ["unknown field"]}),
    ):
        response = api.get(f"{crowded}/{kind}?{query}")
        engagements = api.get(f"/api/v1/engagements?{query}")
        assert response.status_code == engagements.status_code == 422, query
        assert response.mimetype == "application/json", query
        assert response.json["errors"]["query"] == messages, query
        assert response.json == engagements.json, query


def test_the_openapi_document_gives_every_list_the_same_page_arguments(
    api: FlaskClient,
) -> None:
    spec = api.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    lists = [
        "/api/v1/engagements",
        *(f"/api/v1/engagements/{{engagement_id}}/{kind}" for kind in LISTS),
    ]
    documented = []
    for path in lists:
        operation = paths[path]["get"]
        parameters = {p["name"]: p for p in operation["parameters"] if p.get("in") == "query"}
        page, size = parameters["page"]["schema"], parameters["page_size"]["schema"]
        documented.append((page, size))
        assert page["minimum"] == 1 and page["default"] == 1, path
        assert (size["minimum"], size["maximum"], size["default"]) == (1, 200, 50), path
        assert "X-Pagination" in operation["responses"]["200"]["headers"], path
        assert "422" in operation["responses"], path
        assert "a page at a time" in operation["summary"] + operation.get("description", ""), path
    assert all(arguments == documented[0] for arguments in documented)
