"""Pages and API answers cost the same number of SQL statements however much an engagement
holds: respondents and their links, decisions, charter versions with their sign-offs."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from apitools import bearer, make_token, web_and_api
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from webtools import ANSWERS, CREATOR_ANSWERS, login, make_consultant, statements_sent

from assess import charter, signoff
from assess.engine import evaluate
from assess.extensions import db
from assess.models import (
    ANSWERS_REOPENED,
    CREATOR,
    PRODUCER,
    VIA_WEB,
    Consultant,
    Engagement,
    Party,
    Respondent,
    utcnow,
)
from assess.questionnaire import record_consensus, record_decision

pytestmark = pytest.mark.db


@dataclass
class Stored:
    engagement_id: int
    consensus_id: int
    versions: int
    document_id: str


@pytest.fixture
def quick_pdfs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Freezing stores stand-in PDFs: rendering real ones would only slow the test."""
    numbers = itertools.count(1)
    monkeypatch.setattr(charter, "to_pdf", lambda *_, **__: b"%%PDF-1.7 %d" % next(numbers))


def engagement_of_size(app: Flask, consultant_id: int, size: int, project: str) -> Stored:
    """Store an engagement holding ``size`` of everything: submitted respondents on each
    side, respondents still invited (one link revoked, one working), decisions on the
    consensus, charter versions each named to two signatories and sent, history lines."""
    with app.app_context():
        session = db.session
        consultant = session.get(Consultant, consultant_id)
        engagement = Engagement(
            consultant=consultant, project_name=project, client_organisation="Northlight Films"
        )
        engagement.parties.extend(
            [Party(side=PRODUCER, name="Ann Lee"), Party(side=CREATOR, name="Bo Chen")]
        )
        session.add(engagement)
        own = {PRODUCER: evaluate(ANSWERS), CREATOR: evaluate(CREATOR_ANSWERS)}
        for i in range(size):
            for side, answers in ((PRODUCER, ANSWERS), (CREATOR, CREATOR_ANSWERS)):
                respondent = Respondent(name=f"{side} {i}", side=side, answers=dict(answers))
                engagement.respondents.append(respondent)
                respondent.issue_link(None)
                respondent.submitted_at = utcnow()
                record_decision(session, engagement, own[side], respondent=respondent)
        session.flush()
        consensus = None
        for _ in range(size):
            consensus = record_consensus(session, engagement, consultant)
            session.flush()
        assert consensus is not None
        for i in range(size):
            invited = Respondent(name=f"Invited {i}", side=PRODUCER, answers={})
            engagement.respondents.append(invited)
            invited.issue_link(None)
            invited.issue_link(None)
            engagement.record(ANSWERS_REOPENED, "Cara Diaz", VIA_WEB, invited)
        details = charter.load_details(
            {
                "project": project,
                "parties": [{"side": p.side, "name": p.name} for p in engagement.parties],
            }
        )
        for _ in range(size):
            version = signoff.freeze(session, engagement, consensus, details, consultant=consultant)
            for name, email in (("Ann Lee", "ann@x.example"), ("Bo Chen", "bo@x.example")):
                signoff.add_signatory(session, version.sign_off, name=name, email=email)
            signoff.start(session, version.sign_off, sequential=True, expires_at=None)
        session.commit()
        return Stored(engagement.id, consensus.id, size, version.document_id)


def statement_counts(
    app: Flask, client: FlaskClient, paths: list[str], **kwargs: object
) -> list[int]:
    counts = []
    client.get(paths[0], **kwargs)  # a first request may record the session or token's use
    with statements_sent(app) as statements:
        for path in paths:
            statements.clear()
            response = client.get(path, **kwargs)
            assert response.status_code == 200, (path, response.status_code)
            counts.append(len(statements))
    return counts


def web_pages(stored: Stored) -> list[str]:
    base = f"/engagements/{stored.engagement_id}"
    return [
        base,
        f"{base}/charter/v{stored.versions}",
        f"{base}/charter/v1",
        f"{base}/decisions/{stored.consensus_id}",
        f"{base}/decisions/{stored.consensus_id}/charter",
        f"/verify/{stored.document_id}",
    ]


def api_paths(stored: Stored) -> list[str]:
    base = f"/api/v1/engagements/{stored.engagement_id}"
    return [
        base,
        f"{base}/respondents",
        f"{base}/decisions",
        f"{base}/decisions/{stored.consensus_id}",
        f"{base}/history",
        f"{base}/signoff",
    ]


@pytest.fixture
def small_and_large(app: Flask, consultant: int, quick_pdfs: None) -> tuple[Stored, Stored]:
    small = engagement_of_size(app, consultant, 2, "Tidewater")
    large = engagement_of_size(app, consultant, 6, "Salt Roads")
    return small, large


def test_engagement_pages_cost_the_same_statements_however_much_they_hold(
    app: Flask, client: FlaskClient, small_and_large: tuple[Stored, Stored]
) -> None:
    small, large = small_and_large
    login(client)
    pages = list(zip(web_pages(small), web_pages(large), strict=True))
    few = statement_counts(app, client, [s for s, _ in pages])
    many = statement_counts(app, client, [m for _, m in pages])
    assert dict(zip(web_pages(large), many, strict=True)) == dict(
        zip(web_pages(large), few, strict=True)
    )


def test_api_answers_cost_the_same_statements_however_much_they_hold(
    app: Flask, client: FlaskClient, consultant: int, small_and_large: tuple[Stored, Stored]
) -> None:
    small, large = small_and_large
    headers = bearer(make_token(app, consultant))
    few = statement_counts(app, client, api_paths(small), headers=headers)
    many = statement_counts(app, client, api_paths(large), headers=headers)
    assert dict(zip(api_paths(large), many, strict=True)) == dict(
        zip(api_paths(large), few, strict=True)
    )


def consultant_with_engagements(app: Flask, email: str, count: int) -> int:
    """Store a consultant with ``count`` engagements, each with a respondent per side
    invited by link: the producer side submitted, the creator side in every other one too,
    their decisions stored; every third engagement archived."""
    consultant_id = make_consultant(app, email=email)
    decided = {PRODUCER: evaluate(ANSWERS), CREATOR: evaluate(CREATOR_ANSWERS)}
    with app.app_context():
        for i in range(count):
            engagement = Engagement(
                consultant_id=consultant_id,
                project_name=f"Project {i}",
                client_organisation="Northlight Films",
                archived_at=utcnow() if i % 3 == 2 else None,
            )
            engagement.parties.extend(
                [Party(side=PRODUCER, name="Ann Lee"), Party(side=CREATOR, name="Bo Chen")]
            )
            for side, answers in ((PRODUCER, ANSWERS), (CREATOR, CREATOR_ANSWERS)):
                respondent = Respondent(name=side, side=side, answers={})
                engagement.respondents.append(respondent)
                respondent.issue_link(None)
                if side == PRODUCER or i % 2:
                    respondent.answers, respondent.submitted_at = dict(answers), utcnow()
                    record_decision(db.session, engagement, decided[side], respondent=respondent)
            db.session.add(engagement)
        db.session.commit()
    return consultant_id


def test_the_lists_cost_the_same_statements_for_3_engagements_as_for_30(app: Flask) -> None:
    counts = []
    for email, count in (("few@example.com", 3), ("many@example.com", 30)):
        consultant_id = consultant_with_engagements(app, email, count)
        web, api, headers = web_and_api(app, consultant_id, email)
        counts.append(
            (
                statement_counts(app, web, ["/engagements", "/engagements?archived=1"]),
                statement_counts(app, api, ["/api/v1/engagements?page_size=50"], headers=headers),
            )
        )
    assert counts[0] == counts[1]


def test_the_lists_tell_each_status_without_reading_any_stored_decision(app: Flask) -> None:
    # A stored decision is a large document; a list of engagements needs none of it.
    consultant_id = consultant_with_engagements(app, "cara@example.com", 8)
    with app.app_context():
        consultant = db.session.get(Consultant, consultant_id)
        engagements = db.session.scalars(
            select(Engagement).where(Engagement.consultant_id == consultant_id)
        ).all()
        for engagement in engagements:
            if engagement.project_name in ("Project 1", "Project 5"):
                title = record_consensus(db.session, engagement, consultant).decision.title
        db.session.commit()
    web, api, headers = web_and_api(app, consultant_id)
    web.get("/engagements")  # the first request records the session's use
    with statements_sent(app) as statements:
        listed = api.get("/api/v1/engagements?page_size=50", headers=headers).json
        page = web.get("/engagements").get_data(as_text=True)
    assert [s for s in statements if "decisions.data" in s] == []
    statuses = {e["project_name"]: e["status"] for e in listed}
    # Project 2 is archived: its creator's link does not open, so its producer's answers decide.
    decided = (1, 2, 5)
    assert statuses == {f"Project {i}": "decided" if i in decided else "answered" for i in range(8)}
    assert page.count('<span class="status status-decided">Decided</span>') == 1  # 5 archived
    assert page.count("Ready to decide on the consensus") == 2  # projects 3 and 7
    assert page.count("Waiting for") == 3  # projects 0, 4 and 6; 2 is archived
    assert f'<p class="small">{title}</p>' in page  # the decision of project 1
