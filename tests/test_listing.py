"""A consultant's engagements, a page at a time and searchable, on the web and over the API."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from apitools import bearer, make_token
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from webtools import login, make_consultant

from assess.extensions import db
from assess.listing import PAGE_SIZE
from assess.models import CREATOR, PRODUCER, Consultant, Engagement, Party, utcnow

pytestmark = pytest.mark.db


def add_engagements(app: Flask, specs: list[tuple[str, str, str]], email: str) -> None:
    """Store engagements (project, client, creator's name), the first one the most recent."""
    now = utcnow()
    with app.app_context():
        consultant = db.session.scalars(select(Consultant).filter_by(email=email)).one()
        for age, (project, client, creator) in enumerate(specs):
            engagement = Engagement(
                consultant=consultant,
                project_name=project,
                client_organisation=client,
                updated_at=now - timedelta(minutes=age),
            )
            engagement.parties.extend(
                [Party(side=PRODUCER, name="Ann Lee"), Party(side=CREATOR, name=creator)]
            )
            db.session.add(engagement)
        db.session.commit()


def projects(page: str) -> list[str]:
    return re.findall(r'<h2><a href="/engagements/\d+">([^<]*)</a></h2>', page)


@pytest.fixture
def many(app: Flask, client: FlaskClient) -> FlaskClient:
    """Cara has 30 engagements (Project 0 the most recent); Dev has one of his own."""
    make_consultant(app)
    make_consultant(app, email="dev@example.com", name="Dev Rao")
    add_engagements(
        app,
        [(f"Project {i}", "Northlight Films", "Bo Chen") for i in range(30)],
        "cara@example.com",
    )
    add_engagements(app, [("Project 99 of Dev", "Northlight Films", "Bo")], "dev@example.com")
    login(client)
    return client


def test_the_list_shows_a_page_at_a_time(many: FlaskClient) -> None:
    first = many.get("/engagements").get_data(as_text=True)
    assert projects(first) == [f"Project {i}" for i in range(PAGE_SIZE)]
    assert "30 engagements · showing 1–25" in first
    assert "Page 1 of 2" in first and 'href="/engagements?page=2" rel="next"' in first
    second = many.get("/engagements?page=2").get_data(as_text=True)
    assert projects(second) == [f"Project {i}" for i in range(PAGE_SIZE, 30)]
    assert "showing 26–30" in second and 'href="/engagements?page=1" rel="prev"' in second
    # A page that no longer exists leads to the last one.
    gone = many.get("/engagements?page=7")
    assert gone.status_code == 302 and gone.headers["Location"] == "/engagements?page=2"


@pytest.mark.parametrize("page", ["0", "-1", "two", "1.5", "٣", "9" * 5000, ""])
def test_a_page_that_is_not_a_number_is_not_found(many: FlaskClient, page: str) -> None:
    response = many.get(f"/engagements?page={page}")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_search_needs_every_word_in_project_client_or_party(
    app: Flask, client: FlaskClient
) -> None:
    make_consultant(app)
    add_engagements(
        app,
        [
            ("Tidewater", "Northlight Films", "Bo Chen"),
            ("Salt Roads", "Harbour & Co", "Ελένη Παππά"),
            ("100% Loud", "Northlight Films", "Mia_Ross"),
        ],
        "cara@example.com",
    )
    login(client)

    def search(words: str) -> list[str]:
        return projects(
            client.get("/engagements", query_string={"q": words}).get_data(as_text=True)
        )

    assert search("tidewater") == ["Tidewater"]
    assert search("NORTHLIGHT") == ["Tidewater", "100% Loud"]
    assert search("northlight chen") == ["Tidewater"]  # every word, anywhere
    assert search("ελένη") == ["Salt Roads"]
    assert search("100%") == ["100% Loud"]
    # The wildcards of SQL are plain characters in a search.
    assert search("%") == ["100% Loud"] and search("_") == ["100% Loud"]
    assert search("\x00Salt\x01") == ["Salt Roads"]
    page = client.get("/engagements?q=nothing+like+it").get_data(as_text=True)
    assert "0 engagements match “nothing like it”" in page
    assert "No engagement matches “nothing like it”" in page
    # Escaped on the way back into the page.
    page = client.get("/engagements", query_string={"q": "<script>"}).get_data(as_text=True)
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_search_keeps_to_the_consultants_own_engagements_and_their_archive(
    app: Flask, many: FlaskClient
) -> None:
    assert projects(many.get("/engagements?q=99").get_data(as_text=True)) == []
    with app.app_context():
        engagement = db.session.scalars(
            select(Engagement).filter_by(project_name="Project 7")
        ).one()
        engagement.archived_at = utcnow()
        db.session.commit()
    current = projects(many.get("/engagements?q=project+7").get_data(as_text=True))
    assert current == ["Project 17", "Project 27"]
    archived = many.get("/engagements?q=project+7&archived=1").get_data(as_text=True)
    assert projects(archived) == ["Project 7"]


def test_the_api_lists_a_page_at_a_time_and_searches(app: Flask, many: FlaskClient) -> None:
    with app.app_context():
        cara = db.session.scalars(select(Consultant).filter_by(email="cara@example.com")).one().id
    headers = bearer(make_token(app, cara))
    first = many.get("/api/v1/engagements?page_size=10", headers=headers)
    assert first.status_code == 200
    assert [e["project_name"] for e in first.json] == [f"Project {i}" for i in range(10)]
    paging = json.loads(first.headers["X-Pagination"])
    assert paging["total"] == 30 and paging["total_pages"] == 3 and paging["next_page"] == 2
    default = many.get("/api/v1/engagements", headers=headers).json
    assert len(default) == 30  # 50 to a page unless asked otherwise
    found = many.get("/api/v1/engagements?q=project+2&archived=false", headers=headers)
    numbers = [int(e["project_name"].split()[1]) for e in found.json]
    assert numbers == [2, 12, *range(20, 30)]
    for page in ("9", str(10**30)):
        past_the_end = many.get(f"/api/v1/engagements?page={page}&page_size=10", headers=headers)
        assert past_the_end.status_code == 200 and past_the_end.json == []
    bad_archived = ("archived=maybe", "archived=1", "archived=yes", "archived=on")
    for bad in ("page=0", "page_size=500", *bad_archived, "q=" + "x" * 101, "sort=name"):
        response = many.get(f"/api/v1/engagements?{bad}", headers=headers)
        assert response.status_code == 422 and response.mimetype == "application/json", bad
    misspelt = many.get("/api/v1/engagements?archive=true", headers=headers)
    assert misspelt.json["errors"]["query"] == {"archive": ["unknown field"]}


def test_the_page_arguments_are_refused_in_the_words_of_every_other_field(
    app: Flask, many: FlaskClient
) -> None:
    """A program reads "page" and "page_size" messages beside the filters' ("must be true or
    false"): the same wording, not marshmallow's sentences ("Not a valid integer.")."""
    with app.app_context():
        cara = db.session.scalars(select(Consultant).filter_by(email="cara@example.com")).one().id
    headers = bearer(make_token(app, cara))
    for query, messages in (
        ("page=abc", {"page": ["must be an integer"]}),
        ("page=1.5", {"page": ["must be an integer"]}),
        ("page=0", {"page": ["must be 1 or more"]}),
        ("page_size=x", {"page_size": ["must be an integer"]}),
        ("page_size=0", {"page_size": ["must be 1 to 200"]}),
        ("page_size=201", {"page_size": ["must be 1 to 200"]}),
    ):
        response = many.get(f"/api/v1/engagements?{query}", headers=headers)
        assert response.status_code == 422, query
        assert response.json["errors"]["query"] == messages, query


def test_the_api_list_refuses_an_argument_given_twice(app: Flask, many: FlaskClient) -> None:
    """Which of two pages or filters was meant is the client's to say, as for a JSON key
    given twice: the first one alone would be a page the client did not ask for."""
    with app.app_context():
        cara = db.session.scalars(select(Consultant).filter_by(email="cara@example.com")).one().id
    headers = bearer(make_token(app, cara))
    for twice in (
        "page=1&page=2",
        "archived=true&archived=false",
        "q=a&q=b",
        "page_size=5&page_size=5",
    ):
        key = twice.partition("=")[0]
        response = many.get(f"/api/v1/engagements?{twice}", headers=headers)
        assert response.status_code == 422, twice
        assert response.json["errors"]["query"] == {key: ["is given more than once"]}


def test_the_list_names_the_engagements_decision_not_a_what_if_stored_after_it(
    app: Flask, client: FlaskClient
) -> None:
    from webtools import ANSWERS, consensus_of_two, post

    from assess.engine import evaluate
    from assess.questionnaire import record_decision

    make_consultant(app)
    login(client)
    path = consensus_of_two(app, client)
    engagement_id = int(path.split("/")[2])
    form = {"factor": "iteration_readiness", "value": "3", "note": "Sprints online only."}
    post(client, f"{path}/agree", form)
    what_if = {**ANSWERS, "resource_availability": 1, "innovation": 2, "creative_collaboration": 2}
    with app.app_context():  # Ann's own decision, then an adjusted copy of it
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        ann = next(r for r in engagement.respondents if r.name == "Ann Lee")
        record_decision(db.session, engagement, evaluate(ANSWERS), respondent=ann)
        record_decision(db.session, engagement, evaluate(what_if), note="Adjusted from #3")
        db.session.commit()
        agreed = engagement.decision_of_record
        assert agreed is not None and agreed.id == 2
        title = agreed.decision.title
        assert title != evaluate(what_if).title
    listing = client.get("/engagements").get_data(as_text=True)
    assert '<span class="status status-decided">Decided</span>' in listing
    assert f'<p class="small">{title}</p>' in listing
    assert evaluate(what_if).title not in listing
