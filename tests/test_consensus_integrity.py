"""A consensus stays consistent: its history, both sides, archived engagements, notes,
and the same decision from the web, the API and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from apitools import bearer, make_token
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from test_alignment import cli
from webtools import (
    ANSWERS,
    CREATOR_ANSWERS,
    consensus_of_two,
    create_engagement,
    invite,
    post,
    submitted,
)

from assess.alignment import Respondent as Aligned
from assess.consensus import Agreement, agree, history, load_agreement, summary
from assess.decision import Decision
from assess.engine import evaluate_respondents
from assess.extensions import db
from assess.models import DecisionRecord, Engagement, Invitation, Respondent, utcnow

CREATOR = {**ANSWERS, "timeline_pressure": 5, "iteration_readiness": 1}
API_ENGAGEMENT = {
    "project_name": "Tidewater",
    "client_organisation": "Northlight Films",
    "producer_name": "Ann Lee",
    "creator_name": "Bo Chen",
}


def _pair(creator: dict[str, int] = CREATOR) -> list[Aligned]:
    return [Aligned("Ann Lee", "producer", ANSWERS), Aligned("Bo Chen", "creator", creator)]


def _record(number: int, decision: Decision) -> DecisionRecord:
    return DecisionRecord(
        id=number,
        data=decision.to_dict(),
        created_at=datetime(2026, 11, 23, 9, tzinfo=UTC) + timedelta(minutes=number),
    )


# --- consensus history ----------------------------------------------------------------


def test_history_compares_an_agreement_with_the_consensus_of_the_same_answers() -> None:
    start = evaluate_respondents(_pair())  # 1
    first = agree(start, Agreement("timeline_pressure", 5, "A soft launch."))  # 2
    newer = evaluate_respondents(_pair({**CREATOR, "innovation": 1}))  # 3: Bo answered again
    # Back on decision #2's page the consultant takes the agreed value back.
    undone = agree(first, Agreement("timeline_pressure", None, "The date is fixed after all."))
    entries = history([_record(1, start), _record(2, first), _record(3, newer), _record(4, undone)])
    last = entries[-1]
    assert last.decision_id == 4
    assert not last.started, "decision #4 changes decision #2; it starts no new consensus"
    [change] = last.changes
    assert (change.factor.key, change.before, change.after) == ("timeline_pressure", 5, 4)
    assert change.note == "The date is fixed after all."


@pytest.mark.db
def test_no_change_is_made_on_a_consensus_whose_answers_changed(
    app: Flask, signed_in: FlaskClient
) -> None:
    first = consensus_of_two(app, signed_in)  # decision #1
    engagement_id = int(first.split("/")[2])
    agreed = {"factor": "iteration_readiness", "value": "3", "note": "Sprints online only."}
    assert post(signed_in, f"{first}/agree", agreed).status_code == 303  # decision #2
    with app.app_context():  # Bo's answers change (reopened and submitted again)
        bo = db.session.scalars(select(Respondent).where(Respondent.name == "Bo Chen")).one()
        bo.answers = {**CREATOR_ANSWERS, "innovation": 1}
        db.session.commit()
    assert post(signed_in, f"/engagements/{engagement_id}/consensus").status_code == 303  # #3
    undo = "We keep the cautious middle after all."
    second = f"/engagements/{engagement_id}/decisions/2"
    form = {"factor": "iteration_readiness", "value": "middle", "note": undo}
    # Decision #2 combines Bo's earlier answers: a change there would build on answers that
    # no longer stand (the history still reads such changes, see above).
    response = post(signed_in, f"{second}/agree", form)
    assert response.status_code == 409
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DecisionRecord)) == 3
    page = signed_in.get(second).get_data(as_text=True)
    assert "The answers have changed since this consensus was decided." in page
    assert "<bdi>Bo Chen</bdi>'s answers changed: innovation requirements from 4 to 1." in page
    assert 'id="agree-form"' not in page


# --- respondents all on one side --------------------------------------------------------


@pytest.mark.db
def test_web_consensus_of_one_side_is_refused_as_the_cli_refuses_it(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    submitted(
        app,
        engagement_id,
        (("Ann Lee", "producer", ANSWERS), ("Al Roy", "producer", CREATOR_ANSWERS)),
    )
    payload = {
        "respondents": [
            {"name": "Ann Lee", "side": "producer", "answers": ANSWERS},
            {"name": "Al Roy", "side": "producer", "answers": CREATOR_ANSWERS},
        ]
    }
    assert cli(payload).returncode == 2  # "needs at least one respondent on each side"
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert "none has come from the creator side yet" in page
    assert "Decide on the consensus</button>" not in page
    response = post(signed_in, f"/engagements/{engagement_id}/consensus")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalars(select(DecisionRecord)).all() == []


@pytest.mark.db
def test_api_consensus_of_one_side_is_refused_as_evaluate_respondents_refuses_it(
    app: Flask, client: FlaskClient, consultant: int
) -> None:
    payload = {
        "respondents": [
            {"name": "Ann Lee", "side": "producer", "answers": ANSWERS},
            {"name": "Al Roy", "side": "producer", "answers": CREATOR_ANSWERS},
        ]
    }
    assert client.post("/api/v1/evaluate/respondents", json=payload).status_code == 422
    headers = bearer(make_token(app, consultant))
    engagement_id = client.post("/api/v1/engagements", json=API_ENGAGEMENT, headers=headers).json[
        "id"
    ]
    base = f"/api/v1/engagements/{engagement_id}"
    for person in payload["respondents"]:
        created = client.post(
            f"{base}/respondents",
            json={"name": person["name"], "side": person["side"]},
            headers=headers,
        )
        rid = created.json["respondent"]["id"]
        answers = {"answers": person["answers"]}
        client.put(f"{base}/respondents/{rid}/answers", json=answers, headers=headers)
        assert client.post(f"{base}/respondents/{rid}/submit", headers=headers).status_code == 201
    response = client.post(f"{base}/decisions", headers=headers)
    assert response.status_code == 409, response.json
    assert "creator side" in response.json["message"]


# --- archived engagements stay read-only ------------------------------------------------


@pytest.mark.db
def test_archived_engagement_links_cannot_be_revoked_on_the_web(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    invite(signed_in, engagement_id)
    post(signed_in, f"/engagements/{engagement_id}/archive")
    with app.app_context():
        respondent_id = db.session.scalars(select(Respondent)).one().id
    response = post(signed_in, f"/engagements/{engagement_id}/respondents/{respondent_id}/revoke")
    assert response.status_code == 409
    with app.app_context():
        assert db.session.scalars(select(Invitation)).one().revoked_at is None


@pytest.mark.db
def test_archived_engagement_links_cannot_be_revoked_over_the_api(
    app: Flask, client: FlaskClient, consultant: int
) -> None:
    headers = bearer(make_token(app, consultant))
    engagement_id = client.post("/api/v1/engagements", json=API_ENGAGEMENT, headers=headers).json[
        "id"
    ]
    base = f"/api/v1/engagements/{engagement_id}/respondents"
    created = client.post(base, json={"name": "Bo Chen", "side": "creator"}, headers=headers)
    respondent_id = created.json["respondent"]["id"]
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        engagement.archived_at = utcnow()
        db.session.commit()
    response = client.delete(f"{base}/{respondent_id}/invitation", headers=headers)
    assert response.status_code == 409, response.json


# --- a consensus decided on the web is reproduced by the API -----------------------------


@pytest.mark.db
def test_a_web_consensus_with_a_note_on_the_middle_is_accepted_by_the_api(
    app: Flask, signed_in: FlaskClient, client: FlaskClient
) -> None:
    path = consensus_of_two(app, signed_in)
    form = {"factor": "timeline_pressure", "value": "middle", "note": "The date is fixed."}
    assert post(signed_in, f"{path}/agree", form).status_code == 303
    with app.app_context():
        newest = db.session.scalars(select(DecisionRecord).order_by(DecisionRecord.id.desc()))
        web = newest.first()
        assert web is not None
        alignment = web.data["alignment"]
    payload = {
        "respondents": [
            {"name": "Ann Lee", "side": "producer", "answers": ANSWERS},
            {"name": "Bo Chen", "side": "creator", "answers": CREATOR_ANSWERS},
        ],
        "consensus": alignment["agreed"],
        "notes": alignment["notes"],
    }
    response = app.test_client().post("/api/v1/evaluate/respondents", json=payload)
    assert response.status_code == 200, response.json
    assert response.json["alignment"] == alignment


# --- the agreed-value form ----------------------------------------------------------------


def test_a_note_written_on_two_lines_is_accepted() -> None:
    # The note is a <textarea rows="3"> asking for "one or two sentences".
    agreement, errors = load_agreement(
        {"factor": "innovation", "value": "3", "note": "First sentence.\r\nSecond sentence."}
    )
    assert errors == {}
    assert agreement is not None


def test_summary_of_a_note_on_a_factor_never_agreed_says_no_value_changed() -> None:
    alignment = evaluate_respondents(_pair()).alignment
    assert alignment is not None and "timeline_pressure" not in alignment.agreed
    line = summary(Agreement("timeline_pressure", None, "Why the middle."), alignment)
    middle = alignment.consensus["timeline_pressure"]
    assert line == f"Timeline pressure: stays at the cautious middle ({middle})"


# --- the Python entry point ---------------------------------------------------------------


@pytest.mark.parametrize("agreed", [{"innovation": 9}, {"innovation": 0}, {"budget": 3}])
def test_evaluate_respondents_refuses_agreed_values_off_the_scale_or_unknown(
    agreed: dict[str, int],
) -> None:
    with pytest.raises(ValueError, match=f"levels 1 to 5 of factors: {next(iter(agreed))}$"):
        evaluate_respondents(_pair(), agreed)
