"""Requests that reach the server at the same instant, each in its own thread with its own
database connection, as several gunicorn workers serve them: a consultant's double click or
two tabs, a client submitting while the consultant acts. Each pair is made to interleave
where it would go wrong (both past their checks before either writes), and must still store
one consistent result: nothing twice, nothing lost, nothing the other request ruled out."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from signofftools import engagement_with_decision
from sqlalchemy import select
from webtools import (
    ANSWERS,
    ENGAGEMENT,
    answer_through_link,
    count,
    create_engagement,
    csrf_token,
    fill_in,
    invite,
    login,
    meeting_point,
    submitted_pair,
    together,
    visible_text,
)

import assess.views.charter
import assess.views.engagements
import assess.views.results
import assess.views.survey
from assess.extensions import db
from assess.models import CharterVersion, DecisionRecord, Engagement, Invitation, Respondent

pytestmark = pytest.mark.db


def tab(app: Flask, signed_in: FlaskClient) -> FlaskClient:
    """Another tab or browser of the signed-in consultant (its own flashed messages)."""
    other = app.test_client()
    login(other)
    return other


def form_post(client: FlaskClient, path: str, data: dict[str, str] | None = None) -> Any:
    """Prepare a form post (its CSRF token read first); return the call that sends it."""
    form = {"csrf_token": csrf_token(client, "/engagements"), **(data or {})}
    return lambda: client.post(path, data=form)


def answered_engagement(app: Flask, signed_in: FlaskClient) -> tuple[int, int]:
    """An engagement whose one respondent answered: its id and its decision's."""
    engagement_id = create_engagement(signed_in)
    answer_through_link(app.test_client(), invite(signed_in, engagement_id))
    with app.app_context():
        return engagement_id, db.session.scalars(select(DecisionRecord.id)).one()


def from_two_tabs(
    app: Flask, signed_in: FlaskClient, path: str, data: dict[str, str] | None = None
) -> tuple[list[Any], FlaskClient]:
    """Send one form from two tabs of the consultant at the same instant; return the two
    responses and the second tab."""
    second = tab(app, signed_in)
    return together(form_post(signed_in, path, data), form_post(second, path, data)), second


def lands_meanwhile(
    monkeypatch: pytest.MonkeyPatch, module: Any, name: str, competing: Any
) -> list[int]:
    """Send the ``competing`` request, once, when the request under test calls ``module``'s
    ``name``: after it found the link open, before it stores. Return the list the competing
    response's status is put in once sent."""
    original = getattr(module, name)
    landed: list[int] = []

    def meanwhile(*args: Any, **kwargs: Any) -> Any:
        if not landed:
            landed.append(together(competing)[0].status_code)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, meanwhile)
    return landed


def test_deciding_on_the_consensus_twice_at_once_stores_one_decision(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    engagement_id = create_engagement(signed_in)
    submitted_pair(app, engagement_id)
    meeting_point(monkeypatch, assess.views.engagements, "carried_over")
    path = f"/engagements/{engagement_id}/consensus"
    responses, second = from_two_tabs(app, signed_in, path)
    assert [r.status_code for r in responses] == [303, 303]
    assert count(app, DecisionRecord) == 1
    # Both tabs land on the one decision; the second says it was there already.
    assert responses[0].headers["Location"] == responses[1].headers["Location"]
    pages = [
        c.get(r.headers["Location"]).get_data(as_text=True)
        for c, r in zip((signed_in, second), responses, strict=True)
    ]
    assert sum("already combined in decision" in page for page in pages) == 1


def test_adjusted_answers_confirmed_twice_at_once_are_stored_once(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    engagement_id, decision_id = answered_engagement(app, signed_in)
    meeting_point(monkeypatch, assess.views.results, "_stored_already")
    path = f"/engagements/{engagement_id}/decisions/{decision_id}/confirm"
    adjusted = {k: str(v) for k, v in {**ANSWERS, "innovation": 1}.items()}
    responses, _ = from_two_tabs(app, signed_in, path, adjusted)
    assert [r.status_code for r in responses] == [303, 303]
    assert count(app, DecisionRecord) == 2
    assert responses[0].headers["Location"] == responses[1].headers["Location"]


def test_an_invitation_sent_twice_at_once_makes_one_respondent(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    engagement_id = create_engagement(signed_in)
    meeting_point(monkeypatch, assess.views.engagements, "already_invited")
    path = f"/engagements/{engagement_id}/invitations/new"
    form = {"respondent_name": "Ann Lee", "side": "producer", "expires_on": ""}
    responses, _ = from_two_tabs(app, signed_in, path, form)
    assert [r.status_code for r in responses] == [302, 302]
    assert count(app, Respondent) == 1
    with app.app_context():
        states = sorted(i.state for i in db.session.scalars(select(Invitation)))
    assert states == ["active", "revoked"]


def test_a_new_link_made_twice_at_once_leaves_one_link_working(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    engagement_id = create_engagement(signed_in)
    old = invite(signed_in, engagement_id)
    with app.app_context():
        respondent_id = db.session.scalars(select(Respondent.id)).one()
    meeting_point(monkeypatch, Respondent, "renewed_expiry")
    path = f"/engagements/{engagement_id}/respondents/{respondent_id}/link"
    responses, second = from_two_tabs(app, signed_in, path)
    assert [r.status_code for r in responses] == [302, 302]
    with app.app_context():
        states = sorted(i.state for i in db.session.scalars(select(Invitation)))
    assert states == ["active", "revoked", "revoked"]
    assert app.test_client().get(old).status_code == 410
    # The tab that made the working link shows it; the other shows none that no longer works.
    shown = []
    for client, response in zip((signed_in, second), responses, strict=True):
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        shown += re.findall(r'id="invitation-link"[^>]*value="https?://[^/"]+(/i/[^"]+)"', page)
    assert len(shown) == 1 and app.test_client().get(shown[0]).status_code == 200


def test_charter_fields_saved_from_two_tabs_at_once_keep_both_changes(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    engagement_id, decision_id = answered_engagement(app, signed_in)
    path = f"/engagements/{engagement_id}/decisions/{decision_id}/charter"
    fields = {"arbitration": "Geneva Chamber", "data_storage": "A shared archive"}
    assert form_post(signed_in, path + "/save", fields)().status_code == 303
    page = signed_in.get(path).get_data(as_text=True)
    opened = re.search(r'name="fields_opened" value="([^"]*)"', page)
    assert opened
    shown = {**fields, "fields_opened": html.unescape(opened.group(1))}
    meeting_point(monkeypatch, assess.views.charter, "details_for")
    second = tab(app, signed_in)
    responses = together(
        form_post(signed_in, path + "/save", {**shown, "arbitration": "ICC, Paris"}),
        form_post(second, path + "/save", {**shown, "data_storage": "A vault"}),
    )
    assert [r.status_code for r in responses] == [303, 303]
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None and engagement.charter_fields is not None
        stored = engagement.charter_fields
    assert (stored["arbitration"], stored["data_storage"]) == ("ICC, Paris", "A vault")


@pytest.mark.parametrize("frozen_before", [False, True], ids=["first", "amendment"])
@pytest.mark.parametrize("same_field", [False, True], ids=["other-field", "same-field"])
def test_charter_fields_saved_from_another_tab_as_the_charter_is_frozen_are_not_lost(
    app: Flask,
    signed_in: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
    frozen_before: bool,
    same_field: bool,
) -> None:
    setup = engagement_with_decision(app, signed_in)
    fields = {"arbitration": "Geneva Chamber", "data_storage": "A shared archive"}
    if frozen_before:  # version 1 in preparation: the freeze withdraws its sign-off
        assert form_post(signed_in, setup.freeze_path, fields)().status_code == 303
    else:
        assert form_post(signed_in, setup.charter_path + "/save", fields)().status_code == 303
    page = signed_in.get(setup.charter_path).get_data(as_text=True)
    opened = re.search(r'name="fields_opened" value="([^"]*)"', page)
    assert opened
    shown = {**fields, "fields_opened": html.unescape(opened.group(1))}
    # Both past reading the engagement; the save holds it, the freeze has not held it yet.
    meeting_point(monkeypatch, assess.views.charter, "own_decision")
    saved = {"arbitration": "LCIA, London"} if same_field else {"data_storage": "A vault"}
    second = tab(app, signed_in)
    responses = together(
        form_post(signed_in, setup.freeze_path, {**shown, "arbitration": "ICC, Paris"}),
        form_post(second, setup.charter_path + "/save", {**shown, **saved}),
    )
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id := setup.engagement_id)
        assert engagement is not None and engagement.charter_fields is not None
        stored = dict(engagement.charter_fields)
        versions = db.session.scalars(
            select(CharterVersion)
            .where(CharterVersion.engagement_id == engagement_id)
            .order_by(CharterVersion.number)
        ).all()
        frozen = [dict(v.fields) for v in versions]
    before = 1 if frozen_before else 0
    if same_field:
        # The freeze shows the other tab's change rather than replace it unseen.
        assert [r.status_code for r in responses] == [409, 303]
        said = visible_text(responses[0].get_data(as_text=True))
        assert "from another tab since you opened this page" in said
        assert len(frozen) == before
        assert stored["arbitration"] == "LCIA, London"
    else:
        # The version frozen holds what the other tab saved, and so do the stored fields.
        assert [r.status_code for r in responses] == [303, 303]
        assert len(frozen) == before + 1
        both = ("ICC, Paris", "A vault")
        assert (frozen[-1]["arbitration"], frozen[-1]["data_storage"]) == both
        assert (stored["arbitration"], stored["data_storage"]) == both


def test_answers_submitted_as_the_engagement_is_archived_are_not_stored(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    engagement_id = create_engagement(signed_in)
    link = invite(signed_in, engagement_id)
    client = app.test_client()
    fill_in(client, link)
    archive = form_post(tab(app, signed_in), f"/engagements/{engagement_id}/archive")
    submit = form_post(client, f"{link}/review")
    archived = lands_meanwhile(monkeypatch, assess.views.survey, "missing", archive)
    response = submit()
    assert archived == [302]
    assert response.status_code == 403
    page = visible_text(response.get_data(as_text=True))
    assert "This questionnaire is closed" in page
    # Sent, yet not submitted: the page says so, not only that the answers are kept.
    assert "What you just sent was not saved." in page
    assert count(app, DecisionRecord) == 0
    with app.app_context():
        respondent = db.session.scalars(select(Respondent)).one()
        assert respondent.submitted_at is None and respondent.answers == ANSWERS


def test_a_page_saved_as_the_engagement_is_archived_is_not_stored(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    engagement_id = create_engagement(signed_in)
    link = invite(signed_in, engagement_id)
    client = app.test_client()
    archive = form_post(tab(app, signed_in), f"/engagements/{engagement_id}/archive")
    save = form_post(client, f"{link}/step/1", {"innovation": "4", "action": "save"})
    archived = lands_meanwhile(monkeypatch, assess.views.survey, "load_answers_form", archive)
    response = save()
    assert archived == [302]
    assert response.status_code == 403
    assert "What you just sent was not saved." in visible_text(response.get_data(as_text=True))
    with app.app_context():
        respondent = db.session.scalars(select(Respondent)).one()
        assert respondent.answers == {}


def test_answers_submitted_as_their_respondent_is_removed_answer_as_the_link_now_does(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    engagement_id = create_engagement(signed_in)
    link = invite(signed_in, engagement_id)
    client = app.test_client()
    fill_in(client, link)
    with app.app_context():
        respondent_id = db.session.scalars(select(Respondent.id)).one()
    remove = form_post(
        tab(app, signed_in), f"/engagements/{engagement_id}/respondents/{respondent_id}/remove"
    )
    submit = form_post(client, f"{link}/review")
    removed = lands_meanwhile(monkeypatch, assess.views.survey, "missing", remove)
    response = submit()
    assert removed == [302]
    # The link no longer opens, as it would have had the removal come first.
    assert response.status_code == client.get(link).status_code == 404
    assert count(app, Respondent) == count(app, DecisionRecord) == 0


def test_a_consensus_decided_as_answers_are_reopened_never_rests_on_reopened_answers(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    engagement_id = create_engagement(signed_in)
    submitted_pair(app, engagement_id)
    with app.app_context():
        ann = db.session.scalars(select(Respondent.id).where(Respondent.name == "Ann Lee")).one()
    # Each past its check, before it commits.
    meeting_point(monkeypatch, assess.views.engagements, "carried_over", "reopen_answers")
    second = tab(app, signed_in)
    responses = together(
        form_post(signed_in, f"/engagements/{engagement_id}/consensus"),
        form_post(second, f"/engagements/{engagement_id}/respondents/{ann}/reopen"),
    )
    # Whichever comes first, the other sees it.
    assert responses[0].status_code in (302, 303) and responses[1].status_code == 302
    with app.app_context():
        respondent = db.session.get(Respondent, ann)
        assert respondent is not None and respondent.reopened_at is not None
        decisions = db.session.scalars(select(DecisionRecord)).all()
        # Decided before the reopening, or refused because of it.
        assert all(d.created_at <= respondent.reopened_at for d in decisions)
    if not decisions:
        assert responses[0].headers["Location"].endswith(f"/engagements/{engagement_id}")
        page = signed_in.get(responses[0].headers["Location"]).get_data(as_text=True)
        assert "are open again, so a consensus now would leave them out" in page


def test_an_engagement_form_sent_twice_at_once_creates_one_engagement(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    meeting_point(monkeypatch, assess.views.engagements, "_empty_twin")
    second = tab(app, signed_in)
    responses = together(
        form_post(signed_in, "/engagements/new", ENGAGEMENT),
        form_post(second, "/engagements/new", ENGAGEMENT),
    )
    assert [r.status_code for r in responses] == [302, 302]
    assert responses[0].headers["Location"] == responses[1].headers["Location"]
    assert count(app, Engagement) == 1


def test_answers_submitted_twice_at_once_are_submitted_once(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A double click on Submit: the answers were all there when both clicks were checked.
    link = invite(signed_in, create_engagement(signed_in))
    client = app.test_client()
    fill_in(client, link)
    meeting_point(monkeypatch, assess.views.survey, "missing")
    first, second = form_post(client, f"{link}/review"), form_post(client, f"{link}/review")
    responses = together(first, second)
    assert [r.status_code for r in responses] == [303, 303]
    assert {r.headers["Location"] for r in responses} == {f"{link}/result"}
    assert count(app, DecisionRecord) == 1
    page = visible_text(client.get(f"{link}/result").get_data(as_text=True))
    assert "not saved" not in page


def test_an_intake_session_finished_twice_at_once_stores_one_decision(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    engagement_id = create_engagement(signed_in)
    path = f"/engagements/{engagement_id}/session"
    form = {**{k: str(v) for k, v in ANSWERS.items()}, "action": "decide"}
    assert form_post(signed_in, path, {"innovation": "4", "action": "save"})().status_code in (
        302,
        303,
    )
    meeting_point(monkeypatch, assess.views.engagements, "_open_session")
    responses, _ = from_two_tabs(app, signed_in, path, form)
    assert {r.status_code for r in responses} <= {302, 303}
    assert count(app, Respondent) == count(app, DecisionRecord) == 1


def test_a_detail_changed_in_two_tabs_at_once_is_not_overwritten_unseen(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    engagement_id = create_engagement(signed_in)
    path = f"/engagements/{engagement_id}/edit"
    page = signed_in.get(path).get_data(as_text=True)
    opened = re.search(r'name="opened_with" value="([^"]*)"', page)
    assert opened
    shown = {**ENGAGEMENT, "opened_with": html.unescape(opened.group(1))}
    meeting_point(monkeypatch, assess.views.engagements, "_changed_meanwhile")
    second = tab(app, signed_in)
    names = ("Low Tide", "High Water")
    responses = together(
        form_post(signed_in, path, {**shown, "project_name": names[0]}),
        form_post(second, path, {**shown, "project_name": names[1]}),
    )
    # The second to land shows the first's change and keeps its own in the form.
    assert sorted(r.status_code for r in responses) == [302, 409]
    codes = [r.status_code for r in responses]
    saved, typed = names[codes.index(302)], names[codes.index(409)]
    refused = responses[codes.index(409)].get_data(as_text=True)
    said = visible_text(refused).replace("\u2068", "").replace("\u2069", "")
    assert f"Changed to “{saved}” since you opened this form." in said
    assert f'value="{typed}"' in refused
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None and engagement.project_name == saved
