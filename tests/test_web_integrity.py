"""Forms sent twice, old pages acted on, archived engagements: nothing stored twice, nothing
stored against the rules, and what each page says stays true."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from webtools import (
    ANSWERS,
    answer_through_link,
    count,
    create_engagement,
    fill_in,
    invite,
    invited_pair,
    post,
    respondent_id,
)

from assess.extensions import db
from assess.models import DecisionRecord, Engagement, Respondent
from assess.questionnaire import PAGES

pytestmark = pytest.mark.db


def run_session(client: FlaskClient, engagement_id: int, action: str = "decide") -> str:
    """Send the intake session's form with every answer; return where it leads."""
    data = {k: str(v) for k, v in ANSWERS.items()}
    response = post(client, f"/engagements/{engagement_id}/session", {**data, "action": action})
    assert response.status_code in (302, 303)
    location: str = response.headers["Location"]
    return location


def at_once(call: Callable[[], Any]) -> Any:
    """Send a request from another thread, with its own database session: another tab's
    request handled at the same moment."""
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(call()))
    thread.start()
    thread.join(60)
    return results[0]


def rules_change(app: Flask) -> None:
    """Make every stored decision look as if older rules had made it."""
    with app.app_context():
        for record in db.session.scalars(select(DecisionRecord)):
            record.data = {**record.data, "rules_version": "0ld"}
            record.rules_version = "0ld"
        db.session.commit()


def test_an_intake_session_sent_again_stores_nothing_new(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    first = run_session(signed_in, engagement_id)
    # A second click on the button, then the same form sent again from the history.
    assert run_session(signed_in, engagement_id) == first
    page = signed_in.get(f"/engagements/{engagement_id}/session").get_data(as_text=True)
    assert 'name="session" value="new"' in page
    again = {**{k: str(v) for k, v in ANSWERS.items()}, "session": "1", "action": "save"}
    response = post(signed_in, f"/engagements/{engagement_id}/session", again)
    assert response.headers["Location"] == first
    assert count(app, Respondent) == 1 and count(app, DecisionRecord) == 1
    # A new session with other answers is a new session.
    other = {**{k: str(v) for k, v in ANSWERS.items()}, "innovation": "1", "action": "decide"}
    post(signed_in, f"/engagements/{engagement_id}/session", other)
    assert count(app, Respondent) == 2 and count(app, DecisionRecord) == 2


def test_adjusted_answers_and_re_evaluations_are_stored_once(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    path = run_session(signed_in, engagement_id)
    adjusted = {**{k: str(v) for k, v in ANSWERS.items()}, "innovation": "1"}
    first = post(signed_in, f"{path}/confirm", adjusted).headers["Location"]
    assert post(signed_in, f"{path}/confirm", adjusted).headers["Location"] == first
    assert count(app, DecisionRecord) == 2
    rules_change(app)
    first = post(signed_in, f"{path}/reevaluate").headers["Location"]
    assert post(signed_in, f"{path}/reevaluate").headers["Location"] == first
    assert count(app, DecisionRecord) == 3


def test_re_evaluating_old_answers_leaves_the_respondents_result_alone(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    link = invite(signed_in, engagement_id)
    answer_through_link(signed_in, link, {**ANSWERS, "innovation": 4})
    with app.app_context():
        respondent_id = db.session.scalars(select(Respondent.id)).one()
        first = db.session.scalars(select(DecisionRecord.id)).one()
    rules_change(app)
    post(signed_in, f"/engagements/{engagement_id}/respondents/{respondent_id}/reopen")
    answer_through_link(signed_in, link, {**ANSWERS, "innovation": 1})
    response = post(signed_in, f"/engagements/{engagement_id}/decisions/{first}/reevaluate")
    assert response.status_code == 303
    with app.app_context():
        newest = db.session.scalars(select(DecisionRecord).order_by(DecisionRecord.id.desc()))
        record = newest.first()
        assert record is not None and record.respondent_id is None
    result = signed_in.get(f"{link}/result").get_data(as_text=True)
    level = re.search(r'Innovation[^<]*</th><td class="num">(\d)</td>', result)
    assert level is not None and level.group(1) == "1"


def test_re_evaluating_older_answers_a_reopened_draft_matches_keeps_the_submitted_ones(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    link = invite(signed_in, engagement_id)
    older, submitted = {**ANSWERS, "innovation": 4}, {**ANSWERS, "innovation": 1}
    answer_through_link(signed_in, link, older)
    with app.app_context():
        respondent_id = db.session.scalars(select(Respondent.id)).one()
        first = db.session.scalars(select(DecisionRecord.id)).one()
    base = f"/engagements/{engagement_id}/respondents/{respondent_id}"
    post(signed_in, f"{base}/reopen")
    answer_through_link(signed_in, link, submitted)
    rules_change(app)
    # Reopened once more, the draft goes back to the older answers, unsubmitted.
    post(signed_in, f"{base}/reopen")
    fill_in(signed_in, link, older)
    assert (
        post(signed_in, f"/engagements/{engagement_id}/decisions/{first}/reevaluate").status_code
        == 303
    )
    with app.app_context():
        newest = db.session.scalars(select(DecisionRecord).order_by(DecisionRecord.id.desc()))
        record = newest.first()
        assert record is not None and record.respondent_id is None
    # Closing again restores what was last submitted, not the older answers re-evaluated.
    seen = re.search(
        r'name="answers_seen" value="([^"]+)"',
        signed_in.get(f"{base}/close").get_data(as_text=True),
    )
    post(signed_in, f"{base}/close", {"answers_seen": seen.group(1)} if seen else {})
    with app.app_context():
        respondent = db.session.get(Respondent, respondent_id)
        assert respondent is not None and respondent.locked
        assert respondent.answers == submitted


def test_a_consensus_of_long_names_keeps_its_note_within_bounds(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    for number, side in enumerate(("producer", "creator", "producer")):
        name = f"Respondent {number} " + "y" * 100
        answer_through_link(
            signed_in, invite(signed_in, engagement_id, respondent_name=name, side=side), ANSWERS
        )
    assert post(signed_in, f"/engagements/{engagement_id}/consensus").status_code == 303
    with app.app_context():
        record = db.session.scalars(select(DecisionRecord).where(DecisionRecord.note != "")).one()
        assert len(record.note) == 200 and record.note.endswith("…")
        assert record.note.startswith("Consensus of Respondent 0 ")


def test_agreeing_on_an_outdated_consensus_is_refused_and_the_engagement_stays_decided(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id, ann, bo = invited_pair(signed_in)
    answer_through_link(signed_in, ann, ANSWERS)
    answer_through_link(signed_in, bo, {**ANSWERS, "timeline_pressure": 5})
    older = post(signed_in, f"/engagements/{engagement_id}/consensus").headers["Location"]
    ann_id = respondent_id(app, "Ann Lee")
    post(signed_in, f"/engagements/{engagement_id}/respondents/{ann_id}/reopen")
    answer_through_link(signed_in, ann, {**ANSWERS, "timeline_pressure": 2})
    current = post(signed_in, f"/engagements/{engagement_id}/consensus").headers["Location"]
    agreed = {"factor": "timeline_pressure", "value": "4", "note": "Settled in the meeting."}
    # The older consensus combines Ann's earlier answers: nothing is agreed on them.
    refused = post(signed_in, f"{older}/agree", agreed)
    assert refused.status_code == 409
    assert "This consensus is out of date" in refused.get_data(as_text=True)
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None and engagement.status == "decided"
        decided = engagement.decision_of_record
        assert decided is not None and current.endswith(f"/decisions/{decided.id}")
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert f'href="{current}"' in page and "The answers have changed" not in page
    assert "New answers since" not in signed_in.get("/engagements").get_data(as_text=True)


def test_an_archived_engagement_cannot_be_changed(app: Flask, signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    path = run_session(signed_in, engagement_id)
    post(signed_in, f"/engagements/{engagement_id}/archive")
    details = {"project_name": "Changed", "client_organisation": "X"}
    assert post(signed_in, f"/engagements/{engagement_id}/edit", details).status_code == 409
    assert signed_in.get(f"/engagements/{engagement_id}/edit").status_code == 409
    fields = {"version": "2", "project_summary": "Changed after the archive."}
    assert post(signed_in, f"{path}/charter/save", fields).status_code == 409
    # Its charter can still be read, with the fields given, but they are not stored.
    preview = post(signed_in, f"{path}/charter/preview", fields)
    assert preview.status_code == 200 and "Changed after the archive." in preview.get_data(
        as_text=True
    )
    form = signed_in.get(f"{path}/charter").get_data(as_text=True)
    assert "This engagement is archived" in form and ">Save</button>" not in form
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        assert engagement.project_name == "Tidewater" and engagement.charter_fields is None


def test_a_mediator_error_shows_at_the_input_that_holds_the_name(signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    path = run_session(signed_in, engagement_id)
    form = {"version": "1", "mediator_internal_2": "Dana Holt", "mediator_internal_3": "x" * 121}
    response = post(signed_in, f"{path}/charter/save", form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="error-mediator_internal_3"' in page
    assert 'id="error-mediator_internal_1"' not in page
    assert 'id="error-mediator_internal_2"' not in page


def test_a_page_saved_after_another_tab_submitted_changes_nothing(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import assess.views.survey as survey

    engagement_id = create_engagement(signed_in)
    link = invite(signed_in, engagement_id)
    answer_through_link(signed_in, link, ANSWERS)
    with app.app_context():
        respondent = db.session.scalars(select(Respondent)).one()
        respondent.submitted_at = None  # the first tab still shows the questions
        db.session.commit()
    original = survey.load_answers_form

    def submitted_meanwhile(*args: object, **kwargs: object) -> object:
        result = original(*args, **kwargs)  # type: ignore[arg-type]
        # The other tab's submission lands between this page's check and its save.
        assert post(app.test_client(), f"{link}/review").status_code == 303
        return result

    monkeypatch.setattr(survey, "load_answers_form", submitted_meanwhile)
    keys = PAGES[0].keys
    changed = {k: "1" for k in keys}
    response = post(signed_in, f"{link}/step/1", {**changed, "action": "next"})
    assert response.status_code == 303 and response.headers["Location"] == f"{link}/result"
    with app.app_context():
        stored = db.session.scalars(select(Respondent)).one()
        assert stored.answers == ANSWERS and stored.submitted_at is not None
        decisions = db.session.scalars(select(DecisionRecord)).all()
        assert all(d.answers == ANSWERS for d in decisions)


def test_a_save_refused_after_another_tab_submitted_is_no_activity(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import assess.views.survey as survey

    engagement_id = create_engagement(signed_in)
    link = invite(signed_in, engagement_id)
    fill_in(signed_in, link, ANSWERS)
    original = survey.load_answers_form
    submitted: list[datetime] = []

    def submit_in_another_tab() -> None:
        assert post(app.test_client(), f"{link}/review").status_code == 303
        with app.app_context():
            engagement = db.session.get(Engagement, engagement_id)
            assert engagement is not None
            submitted.append(engagement.updated_at)

    def submitted_meanwhile(*args: object, **kwargs: object) -> object:
        at_once(submit_in_another_tab)  # lands between this page's check and its save
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(survey, "load_answers_form", submitted_meanwhile)
    changed = post(signed_in, f"{link}/step/1", {k: "1" for k in PAGES[0].keys})
    assert changed.headers["Location"] == f"{link}/result"
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        # Nothing changed: the engagement's latest activity stays the submission.
        assert [engagement.updated_at] == submitted
        assert engagement.respondents[0].answers == ANSWERS


def test_two_tabs_saving_different_pages_at_once_keep_both_pages(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import assess.views.survey as survey

    engagement_id = create_engagement(signed_in)
    link = invite(signed_in, engagement_id)
    original = survey.load_answers_form
    landed: list[int] = []

    def other_tab_saves_meanwhile(*args: object, **kwargs: object) -> object:
        if not landed:  # the other tab's page 2 lands while this tab's page 1 is handled
            landed.append(0)  # (its own request goes through here too)
            page = {k: str(ANSWERS[k]) for k in PAGES[1].keys}
            landed[0] = at_once(lambda: post(app.test_client(), f"{link}/step/2", page)).status_code
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(survey, "load_answers_form", other_tab_saves_meanwhile)
    page = {k: str(ANSWERS[k]) for k in PAGES[0].keys}
    assert post(signed_in, f"{link}/step/1", page).status_code == 303
    assert landed == [303]
    with app.app_context():
        stored = db.session.scalars(select(Respondent)).one()
        keys = PAGES[0].keys + PAGES[1].keys
        assert stored.answers == {k: ANSWERS[k] for k in keys}


def test_a_reopened_intake_session_opens_and_finishes_that_session(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    run_session(signed_in, engagement_id)
    post(signed_in, f"/engagements/{engagement_id}/session", {"innovation": "1", "action": "save"})
    with app.app_context():
        first, newer = db.session.scalars(select(Respondent).order_by(Respondent.id)).all()
        assert first.submitted_at is not None and newer.submitted_at is None
    reopened = post(signed_in, f"/engagements/{engagement_id}/respondents/{first.id}/reopen")
    page = signed_in.get(reopened.headers["Location"]).get_data(as_text=True)
    # The page shows the reopened session, not the newer one still open.
    assert f'name="session" value="{first.id}"' in page
    changed = {**{k: str(v) for k, v in ANSWERS.items()}, "timeline_pressure": "5"}
    decided = {**changed, "session": str(first.id), "action": "decide"}
    assert post(signed_in, f"/engagements/{engagement_id}/session", decided).status_code == 303
    with app.app_context():
        first, newer = db.session.scalars(select(Respondent).order_by(Respondent.id)).all()
        assert first.submitted_at is not None and first.answers["timeline_pressure"] == 5
        assert newer.submitted_at is None and newer.answers == {"innovation": 1}
