"""Removing a respondent, and reopening or closing again their answers, over the API: the
engagement page's rules, and the history it keeps."""

from __future__ import annotations

from datetime import datetime, timedelta
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
from assess.questionnaire import answers_seen
from assess.respondents import Refusal

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


def submitted_by_ann(api: FlaskClient) -> tuple[str, str]:
    """An engagement where Ann Lee submitted her answers; return its API path and hers."""
    base = engagement(api)
    ann, _ = invited(api, base, "Ann Lee", "producer")
    submit(api, ann)
    return base, ann


# The answers as the intake session's form sends them.
LEVELS = {key: str(level) for key, level in ANSWERS.items()}


def in_session(app: Flask, base: str, form: dict[str, str]) -> None:
    """Send the engagement's intake session form, as its consultant signed in on the web."""
    web = app.test_client()
    login(web)
    post(web, f"{base.removeprefix('/api/v1')}/session", form)


def shown_history(app: Flask, base: str) -> str:
    """Return the history on the engagement's page, as its consultant sees it on the web."""
    web = app.test_client()
    login(web)
    page = web.get(base.removeprefix("/api/v1")).get_data(as_text=True)
    return page.split('id="engagement-history-title"', 1)[1].split("</section>", 1)[0]


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
    assert "Content-Type" not in removed.headers
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
    _, ann = submitted_by_ann(api)
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
    in_session(app, base, {"innovation": "3", "action": "save"})
    [unfinished] = api.get(f"{base}/respondents").json
    assert api.delete(f"{base}/respondents/{unfinished['id']}").status_code == 204
    assert api.get(f"{base}/respondents").json == []

    in_session(app, base, {**LEVELS, "action": "decide"})
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
    history_card = shown_history(app, base)
    assert "<bdi>Cara Diaz</bdi> removed <bdi>Cy Diaz</bdi> (creator side)" in history_card
    assert "over the API" in history_card and "no answers saved" in history_card


def test_every_action_the_history_records_fits_its_column() -> None:
    from assess.models import ACTION_MAX, EVENT_ACTIONS

    column = EngagementEvent.__table__.c.action.type
    assert column.length == ACTION_MAX  # type: ignore[attr-defined]
    assert all(len(action) <= ACTION_MAX for action in EVENT_ACTIONS)


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


# --- answers reopened and closed again --------------------------------------------------------


def decisions(app: Flask) -> int:
    with app.app_context():
        return len(db.session.scalars(select(DecisionRecord.id)).all())


def test_reopened_answers_closed_again_unchanged_are_the_decision_again(
    app: Flask, api: FlaskClient
) -> None:
    base, ann = submitted_by_ann(api)
    decided = api.get(base).json
    assert decided["status"] == "decided" and decided["decision_of_record_id"] is not None

    reopened = api.post(f"{ann}/reopen")
    assert reopened.status_code == 200, reopened.json
    assert reopened.json == api.get(ann).json
    assert reopened.json["submitted_at"] is None and reopened.json["answers"] == ANSWERS
    assert api.get(base).json["decision_of_record_id"] is None
    # Reopened, the answers can change again.
    assert api.put(f"{ann}/answers", json={"answers": {"innovation": 4}}).status_code == 200

    closed = api.post(f"{ann}/close")
    assert closed.status_code == 200, closed.json
    assert closed.json == api.get(ann).json
    assert closed.json["status"] == "answered" and closed.json["submitted_at"] is not None
    again = api.get(base).json
    assert again["status"] == "decided"
    assert again["decision_of_record_id"] == decided["decision_of_record_id"]
    assert decisions(app) == 1  # no new decision
    assert api.put(f"{ann}/answers", json={"answers": {"innovation": 1}}).status_code == 409
    assert history(app) == [
        ("answers reopened", "Cara Diaz", "Ann Lee", "producer", 8, "api"),
        ("answers closed again", "Cara Diaz", "Ann Lee", "producer", 8, "api"),
    ]
    assert [(e["action"], e["via"]) for e in api.get(f"{base}/history").json] == [
        ("answers reopened", "api"),
        ("answers closed again", "api"),
    ]
    history_card = shown_history(app, base)
    assert (
        "<bdi>Cara Diaz</bdi> reopened the answers of <bdi>Ann Lee</bdi> (producer side) over "
        "the API" in history_card
    )


def test_changed_answers_are_discarded_only_once_the_caller_has_seen_them(
    app: Flask, api: FlaskClient
) -> None:
    base, ann = submitted_by_ann(api)
    api.post(f"{ann}/reopen")
    api.put(f"{ann}/answers", json={"answers": {"timeline_pressure": 1}})

    refused = api.post(f"{ann}/close")
    assert refused.status_code == 409 and refused.json["status"] == "Conflict"
    assert refused.json["message"] == (
        "Ann Lee has changed 1 answer since their answers were reopened, without submitting "
        "it. To discard the changes and close the answers again as they were submitted, "
        'send "answers_seen" back.'
    )
    assert refused.json["changes"] == [
        {"factor": "timeline_pressure", "submitted": 3, "current": 1}
    ]
    changed = {**ANSWERS, "timeline_pressure": 1}
    assert refused.json["answers_seen"] == answers_seen(changed)
    assert api.get(ann).json["answers"] == changed

    # Changed again since: the changes that were listed are no longer all there is.
    api.put(f"{ann}/answers", json={"answers": {"innovation": 2}})
    for seen in (refused.json["answers_seen"], "innovation=2"):
        stale = api.post(f"{ann}/close", json={"answers_seen": seen})
        assert stale.status_code == 409 and len(stale.json["changes"]) == 2
    assert api.get(ann).json["answers"] == {**changed, "innovation": 2}
    assert api.get(ann).json["submitted_at"] is None

    closed = api.post(f"{ann}/close", json={"answers_seen": stale.json["answers_seen"]})
    assert closed.status_code == 200, closed.json
    assert closed.json["answers"] == ANSWERS and closed.json["submitted_at"] is not None
    assert api.get(base).json["status"] == "decided" and decisions(app) == 1
    assert [entry[0] for entry in history(app)] == [
        "answers reopened",
        "closed again, changes discarded",
    ]


def test_only_submitted_answers_reopen_and_only_reopened_ones_close(
    app: Flask, api: FlaskClient
) -> None:
    base = engagement(api)
    ann, _ = invited(api, base, "Ann Lee", "producer")
    api.put(f"{ann}/answers", json={"answers": {"innovation": 2}})
    refused = api.post(f"{ann}/reopen")
    assert refused.status_code == 409
    assert refused.json["message"] == (
        "Ann Lee's answers are not submitted, so there is nothing to reopen."
    )
    refused = api.post(f"{ann}/close")
    assert refused.status_code == 409
    assert refused.json["message"] == (
        "Ann Lee's answers are not open again, so there is nothing to close."
    )
    assert "changes" not in refused.json

    submit(api, ann)
    refused = api.post(f"{ann}/close")
    assert refused.status_code == 409 and "nothing to close" in refused.json["message"]
    # Submitted answers point to the way to change them.
    locked = api.put(f"{ann}/answers", json={"answers": {"innovation": 1}})
    assert locked.status_code == 409 and f"POST {ann}/reopen" in locked.json["message"]
    assert history(app) == []


def test_answers_whose_submitted_version_is_not_on_record_are_not_closed(
    app: Flask, api: FlaskClient
) -> None:
    base = engagement(api)
    ann, _ = invited(api, base, "Ann Lee", "producer")
    api.put(f"{ann}/answers", json={"answers": ANSWERS})
    with app.app_context():  # reopened, but no decision keeps what was submitted
        respondent = db.session.get(Respondent, int(ann.rsplit("/", 1)[1]))
        assert respondent is not None
        respondent.reopened_at = utcnow()
        db.session.commit()
    refused = api.post(f"{ann}/close")
    assert refused.status_code == 409
    assert refused.json["message"] == (
        "Ann Lee's answers as submitted are not on record, so they cannot be restored. They "
        "can submit their answers again from their link."
    )
    assert api.get(ann).json["submitted_at"] is None and history(app) == []


def test_reopening_and_closing_need_the_owner_a_writing_token_and_a_current_engagement(
    app: Flask, api: FlaskClient, consultant: int
) -> None:
    base, ann = submitted_by_ann(api)
    read_only = bearer(make_token(app, consultant, can_write=False))
    other = bearer(make_token(app, make_consultant(app, "dee@example.com", "Dee")))
    for action in ("reopen", "close"):
        assert api.post(f"{ann}/{action}", headers=read_only).status_code == 403
        refused = api.post(f"{ann}/{action}", headers=other)
        assert refused.status_code == 404 and refused.json["message"] == "No such engagement."
    assert api.post(f"{ann}/reopen").status_code == 200

    api.patch(base, json={"archived": True})
    for action in ("reopen", "close"):
        refused = api.post(f"{ann}/{action}")
        assert refused.status_code == 409 and "archived" in refused.json["message"]
    assert api.get(ann).json["submitted_at"] is None
    assert [entry[0] for entry in history(app)] == ["answers reopened"]


def test_a_finished_intake_session_reopens_and_closes_as_on_the_web(
    app: Flask, api: FlaskClient
) -> None:
    base = engagement(api)
    in_session(app, base, {**LEVELS, "action": "decide"})
    [session] = api.get(f"{base}/respondents").json
    path = f"{base}/respondents/{session['id']}"
    assert api.post(f"{path}/reopen").json["submitted_at"] is None
    closed = api.post(f"{path}/close")
    assert closed.status_code == 200 and closed.json["submitted_at"] is not None
    assert [(entry[0], entry[2]) for entry in history(app)] == [
        ("answers reopened", "Intake session"),
        ("answers closed again", "Intake session"),
    ]


def test_reopening_twice_at_once_reopens_once(
    app: Flask, api: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, ann = submitted_by_ann(api)
    inner = meanwhile(monkeypatch, api_module, "not_archived", lambda: api.post(f"{ann}/reopen"))
    outer = api.post(f"{ann}/reopen")
    assert sorted([inner[0].status_code, outer.status_code]) == [200, 409]
    assert [entry[0] for entry in history(app)] == ["answers reopened"]


def test_the_same_person_is_invited_once_per_side_and_a_resent_request_says_where_to_renew(
    app: Flask, api: FlaskClient
) -> None:
    base = engagement(api)
    path, link = invited(api, base, "Ann Lee", "producer")
    again = api.post(f"{base}/respondents", json={"name": "  ann   LEE ", "side": "producer"})
    assert again.status_code == 409
    respondent_id = path.rsplit("/", 1)[1]
    assert again.json["message"] == (
        f"Ann Lee is already invited for the producer side (respondent {respondent_id}); "
        f"to give them a new link, POST to {path}/invitation."
    )
    assert api.get(link).status_code == 200  # the link they may have received still works
    renewed = api.post(f"{path}/invitation")
    assert renewed.status_code == 201
    assert api.get(link).status_code == 410
    # The same name answering for the other side is another person.
    invited(api, base, "Ann Lee", "creator")
    with app.app_context():
        names = [(r.name, r.side) for r in db.session.scalars(select(Respondent))]
    assert sorted(names) == [("Ann Lee", "creator"), ("Ann Lee", "producer")]


def test_a_refusal_names_an_intake_session_as_the_session_it_is() -> None:
    said = "{}'s answers are not open again, so there is nothing to close."
    assert Refusal(said, "Intake session", "joint").text == (
        "The intake session's answers are not open again, so there is nothing to close."
    )
    assert Refusal(said, "Intake session 2", "joint").text.startswith("Intake session 2's ")
    # A person's name stays as they wrote it, even at the start of a sentence.
    assert Refusal(said, "de Vries", "creator").text.startswith("de Vries's answers ")


def test_no_consensus_is_decided_while_answers_are_reopened(app: Flask, api: FlaskClient) -> None:
    """As on the web: a consensus leaving reopened answers out would never be the decision."""
    base, ann = submitted_by_ann(api)
    for name, side in (("Bo Chen", "creator"), ("Cy Diaz", "producer")):
        path, _ = invited(api, base, name, side)
        submit(api, path)
    assert api.post(f"{ann}/reopen").status_code == 200
    before = decisions(app)
    refused = api.post(f"{base}/decisions")
    assert refused.status_code == 409, refused.json
    assert refused.json["message"] == (
        "The answers of Ann Lee are open again, so a consensus now would leave them out. "
        "Decide on it once they are submitted again, or closed again as they were submitted."
    )
    assert decisions(app) == before
    assert api.post(f"{ann}/close").status_code == 200
    assert api.post(f"{base}/decisions").status_code == 201


def test_answers_back_as_an_older_consensus_combined_them_are_decided_anew(
    app: Flask, api: FlaskClient
) -> None:
    """The newest consensus, of other answers, may hold values agreed since the older one."""
    base, ann = submitted_by_ann(api)
    bo, _ = invited(api, base, "Bo Chen", "creator")
    submit(api, bo)
    first = api.post(f"{base}/decisions")
    assert first.status_code == 201

    def bo_answers(innovation: int) -> None:
        assert api.post(f"{bo}/reopen").status_code == 200
        api.put(f"{bo}/answers", json={"answers": {"innovation": innovation}})
        assert api.post(f"{bo}/submit").status_code == 201

    bo_answers(1 if ANSWERS["innovation"] != 1 else 2)
    assert api.post(f"{base}/decisions").status_code == 201
    bo_answers(ANSWERS["innovation"])
    assert api.get(f"{base}/decisions/{first.json['id']}").json["of_record"] is False
    again = api.post(f"{base}/decisions")
    assert again.status_code == 201, again.json
    assert again.json["of_record"] is True and again.json["id"] > first.json["id"]


def test_a_respondent_s_record_gives_when_their_link_stops_working_with_its_offset(
    api: FlaskClient,
) -> None:
    """As a signatory's record does: the newest link's end, as the invitation gave it, in
    ISO 8601 with its offset; null when it does not expire."""
    base = engagement(api)
    created = api.post(
        f"{base}/respondents", json={"name": "Ann Lee", "side": "producer", "expires_in_days": 3}
    )
    assert created.status_code == 201, created.json
    ends = created.json["expires_at"]
    assert datetime.fromisoformat(ends).utcoffset() == timedelta(0) and ends.endswith("+00:00")
    path = f"{base}/respondents/{created.json['respondent']['id']}"
    assert created.json["respondent"]["link_expires_at"] == ends
    assert api.get(path).json["link_expires_at"] == ends
    [listed] = api.get(f"{base}/respondents").json
    assert listed["link_expires_at"] == ends
    renewed = api.post(f"{path}/invitation", json={})
    assert renewed.json["respondent"]["link_expires_at"] == renewed.json["expires_at"] == ends
    revoked = api.delete(f"{path}/invitation").json
    assert revoked["invitation"] == "revoked" and revoked["link_expires_at"] == ends
    never = api.post(f"{path}/invitation", json={"expires_in_days": None})
    assert never.json["expires_at"] is None and never.json["respondent"]["link_expires_at"] is None
