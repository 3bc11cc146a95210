"""The consensus page: agreed values with a note, each change a new decision, its history."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from webtools import (
    ANSWERS,
    CREATOR_ANSWERS,
    consensus_of_two,
    create_engagement,
    login,
    make_consultant,
    post,
    submitted_pair,
)

from assess.extensions import db
from assess.models import DecisionRecord, Respondent, utcnow

pytestmark = pytest.mark.db

# The agreed-value form's choice of readiness for rapid iteration: who answered what, the gap.
ITERATION = "<bdi>Ann Lee</bdi> 4, <bdi>Bo Chen</bdi> 1 · gap 3"


def decisions(app: Flask) -> list[DecisionRecord]:
    with app.app_context():
        return list(db.session.scalars(select(DecisionRecord).order_by(DecisionRecord.id)))


def first_answers(app: Flask) -> dict[str, str]:
    return {k: str(v) for k, v in decisions(app)[0].answers.items()}


def chosen_factor(page: str) -> str:
    """Return the one factor the agreed-value form has chosen."""
    [key] = re.findall(r'<input type="radio" id="agree-factor-(\w+)"[^>]* checked>', page)
    return str(key)


def test_agreeing_a_value_stores_a_new_decision_with_its_note(
    app: Flask, signed_in: FlaskClient
) -> None:
    path = consensus_of_two(app, signed_in)
    page = signed_in.get(path).get_data(as_text=True)
    assert 'id="agree-form"' in page and "History of the consensus" in page
    # The factor with the largest open gap is offered first.
    assert chosen_factor(page) == "iteration_readiness"
    # Each factor says who answered what, each name isolated from the level after it.
    timeline = r"<bdi>Ann Lee</bdi> 3, <bdi>Bo Chen</bdi> 5 · gap 2 · now \d"
    assert re.search(r"Timeline pressure <span[^>]*>" + timeline, page)
    # ... and the level the consensus uses now, before anything is agreed.
    assert f"{ITERATION} · now 2 (the cautious middle)</span>" in page
    # A preview of adjusted answers agrees nothing: the form still says what is stored.
    adjusted = {**first_answers(app), "iteration_readiness": "5"}
    preview = signed_in.get(path, query_string={"adjust": "1", **adjusted}).get_data(as_text=True)
    assert "Preview, not stored." in preview
    assert f"{ITERATION} · now 2 (the cautious middle)</span>" in preview
    [first] = decisions(app)
    assert first.decision.alignment is not None
    assert first.decision.alignment.consensus["iteration_readiness"] == 2

    note = "Sprints for the online episodes only; the film keeps its plan."
    response = post(
        signed_in, f"{path}/agree", {"factor": "iteration_readiness", "value": "3", "note": note}
    )
    assert response.status_code == 303
    first_again, second = decisions(app)
    assert first_again.data == first.data  # the earlier decision is kept unchanged
    alignment = second.decision.alignment
    assert alignment is not None
    assert alignment.agreed == {"iteration_readiness": 3}
    assert alignment.notes == {"iteration_readiness": note}
    assert second.answers["iteration_readiness"] == 3
    assert second.data["alignment"]["notes"] == {"iteration_readiness": note}
    assert second.rules_version == first.rules_version
    assert second.created_by_id is not None and second.respondent_id is None
    assert second.note == "Readiness for rapid iteration: agreed 3 (was 2)"
    assert response.headers["Location"].endswith(f"/decisions/{second.id}#agree-title")

    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert note in page  # in the table and in the history
    assert f"{ITERATION} · now 3 (agreed)</span>" in page
    assert "Cara Diaz" in page
    history = page.split('id="history-title"', 1)[1]
    assert history.index(f"Decision #{second.id}") < history.index(f"Decision #{first.id}")
    assert "Readiness for rapid iteration" in history and "agreed" in history

    # The same value and note again: nothing new is stored.
    response = post(
        signed_in,
        response.headers["Location"].split("#")[0] + "/agree",
        {"factor": "iteration_readiness", "value": "3", "note": note},
    )
    assert response.status_code == 303 and len(decisions(app)) == 2

    # Back to the cautious middle, with a reason: a third decision, the note kept.
    response = post(
        signed_in,
        f"/engagements/{second.engagement_id}/decisions/{second.id}/agree",
        {"factor": "iteration_readiness", "value": "middle", "note": "Revisit after episode 1."},
    )
    assert response.status_code == 303
    third = decisions(app)[-1].decision
    assert third.alignment is not None and third.alignment.agreed == {}
    assert third.answers["iteration_readiness"] == 2
    assert third.alignment.notes == {"iteration_readiness": "Revisit after episode 1."}


def test_histories_say_when_for_people_and_for_machines(app: Flask, signed_in: FlaskClient) -> None:
    path = consensus_of_two(app, signed_in)
    with app.app_context():
        [record] = db.session.scalars(select(DecisionRecord)).all()
        record.created_at = datetime(2026, 12, 2, 8, 14, 5, tzinfo=UTC)
        db.session.commit()
    stamp = '<time datetime="2026-12-02T08:14:05+00:00">2 Dec 2026, 08:14 UTC</time>'
    page = signed_in.get(path).get_data(as_text=True)
    assert stamp in page.split('id="history-title"', 1)[1]
    listing = signed_in.get(path.split("/decisions/")[0]).get_data(as_text=True)
    assert stamp in listing.split('id="decisions-title"', 1)[1]


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"value": "3", "note": "ok"}, "factor", "Choose the factor the parties agreed on."),
        ({"factor": "budget", "value": "3", "note": "ok"}, "factor", "Choose one of the eight"),
        ({"factor": "innovation", "note": "ok"}, "value", "Choose the level the parties agreed"),
        ({"factor": "innovation", "value": "9", "note": "ok"}, "value", "Choose a level from 1"),
        ({"factor": "innovation", "value": "three", "note": "ok"}, "value", "Choose a level"),
        ({"factor": "innovation", "value": "3", "note": ""}, "note", "Enter the note on why."),
        ({"factor": "innovation", "value": "3", "note": "x" * 281}, "note", "280 characters"),
        ({"factor": "innovation", "value": "3", "note": "a\x00b"}, "note", "control characters"),
    ],
)
def test_bad_input_is_named_per_field_and_nothing_is_stored(
    app: Flask, signed_in: FlaskClient, form: dict[str, str], field: str, message: str
) -> None:
    path = consensus_of_two(app, signed_in)
    response = post(signed_in, f"{path}/agree", form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert f'id="agree-error-{field}"' in page
    assert page.count('class="field-error"') == 1
    # The summary links to the field: the first choice of a group, as the questionnaire's does.
    first = {"factor": "agree-factor-iteration_readiness", "value": "agree-value-1"}
    target = first.get(field, f"agree-{field}")
    assert f'<a href="#{target}">' in page and f'id="{target}"' in page
    assert len(decisions(app)) == 1
    # What was typed comes back.
    if form.get("note") and "\x00" not in form["note"]:
        assert form["note"][:50] in page


def test_several_problems_at_once(app: Flask, signed_in: FlaskClient) -> None:
    path = consensus_of_two(app, signed_in)
    response = post(signed_in, f"{path}/agree", {"factor": "x", "value": "0"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There are 3 problems" in page
    # The tab's title is the first thing a screen reader reads out on the new page.
    assert re.search(r"<title>Error: [^<]+ · Assess</title>", page)
    assert len(decisions(app)) == 1


def test_the_engagement_says_an_intake_session_stands_apart_from_the_consensus(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    data = {k: str(v) for k, v in ANSWERS.items()}
    post(signed_in, f"/engagements/{engagement_id}/session", {**data, "action": "decide"})
    submitted_pair(app, engagement_id)
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert (
        "<bdi>Ann Lee</bdi> and <bdi>Bo Chen</bdi> have submitted (the intake session's "
        "answers are not part of a consensus)"
    ) in page
    path = post(signed_in, f"/engagements/{engagement_id}/consensus").headers["Location"]
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert (
        "The consensus of <bdi>Ann Lee</bdi> and <bdi>Bo Chen</bdi> is decided (the intake "
        "session's answers are not part of it)"
    ) in page
    assert f'href="{path}"' in page
    with app.app_context():
        record = db.session.get(DecisionRecord, int(path.rsplit("/", 1)[1]))
        assert record is not None and record.note == "Consensus of Ann Lee and Bo Chen"


def test_only_consensus_decisions_take_agreed_values(app: Flask, signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    data = {k: str(v) for k, v in ANSWERS.items()}
    response = post(
        signed_in, f"/engagements/{engagement_id}/session", {**data, "action": "decide"}
    )
    path = response.headers["Location"]
    assert 'id="agree-form"' not in signed_in.get(path).get_data(as_text=True)
    form = {"factor": "innovation", "value": "3", "note": "n"}
    assert post(signed_in, f"{path}/agree", form).status_code == 404
    assert len(decisions(app)) == 1


def test_another_consultant_gets_404_and_nothing_is_stored(app: Flask, client: FlaskClient) -> None:
    make_consultant(app)
    login(client)
    path = consensus_of_two(app, client)
    other = app.test_client()
    make_consultant(app, email="dev@example.com", name="Dev Rao")
    login(other, email="dev@example.com")
    form = {"factor": "innovation", "value": "3", "note": "Not mine to agree."}
    assert post(other, f"{path}/agree", form).status_code == 404
    assert other.get(path).status_code == 404
    anonymous = app.test_client()
    assert anonymous.post(f"{path}/agree", data=form).status_code in (302, 400)
    assert len(decisions(app)) == 1


def test_archived_engagements_take_no_agreed_values(app: Flask, signed_in: FlaskClient) -> None:
    path = consensus_of_two(app, signed_in)
    engagement_id = path.split("/")[2]
    post(signed_in, f"/engagements/{engagement_id}/archive")
    page = signed_in.get(path).get_data(as_text=True)
    assert 'id="agree-form"' not in page and "restore it to record agreed values" in page
    form = {"factor": "innovation", "value": "3", "note": "n"}
    assert post(signed_in, f"{path}/agree", form).status_code == 409
    assert len(decisions(app)) == 1


def test_huge_decision_ids_are_not_found(app: Flask, signed_in: FlaskClient) -> None:
    path = consensus_of_two(app, signed_in)
    base = path.rsplit("/", 1)[0]
    form = {"factor": "innovation", "value": "3", "note": "n"}
    assert post(signed_in, f"{base}/{2**40}/agree", form).status_code == 404


def test_an_older_decision_points_at_the_newest(app: Flask, signed_in: FlaskClient) -> None:
    path = consensus_of_two(app, signed_in)
    form = {"factor": "timeline_pressure", "value": "4", "note": "A soft launch first."}
    newer = post(signed_in, f"{path}/agree", form).headers["Location"].split("#")[0]
    old_page = signed_in.get(path).get_data(as_text=True)
    assert (
        "A newer consensus of these partners exists" in old_page
        and newer.rsplit("/", 1)[1] in old_page
    )
    # The older page's history stops at itself.
    assert "A soft launch first." not in old_page
    assert "A newer consensus of these partners exists" not in signed_in.get(newer).get_data(
        as_text=True
    )


def test_a_respondents_own_newer_decision_is_not_a_newer_consensus(
    app: Flask, signed_in: FlaskClient
) -> None:
    from assess.questionnaire import decide, record_decision

    path = consensus_of_two(app, signed_in)
    with app.app_context():
        ann = db.session.scalars(select(Respondent).where(Respondent.name == "Ann Lee")).one()
        record_decision(db.session, ann.engagement, decide(dict(ANSWERS)), respondent=ann)
        db.session.commit()
    assert len(decisions(app)) == 2
    page = signed_in.get(path).get_data(as_text=True)
    assert "A newer consensus" not in page


agree_forms = st.dictionaries(
    st.sampled_from(["factor", "value", "note", "csrf_token", "adjust"]),
    st.one_of(
        st.text(max_size=300),
        st.sampled_from(["innovation", "timeline_pressure", "middle", "3", "-1", "1e9"]),
        st.integers().map(str),
    ),
    max_size=5,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(form=agree_forms)
def test_fuzzed_agreements_never_cause_a_server_error(
    app: Flask, signed_in: FlaskClient, form: dict[str, str]
) -> None:
    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        record = db.session.scalars(select(DecisionRecord).order_by(DecisionRecord.id)).first()
        path = f"/engagements/{record.engagement_id}/decisions/{record.id}" if record else ""
    if not path:
        path = consensus_of_two(app, signed_in)
    response = signed_in.post(f"{path}/agree", data=form)
    assert response.status_code in (303, 422), (form, response.status_code)
    if response.status_code == 303:
        assert signed_in.get(response.headers["Location"]).status_code == 200


def test_a_factor_can_be_chosen_from_the_address(app: Flask, signed_in: FlaskClient) -> None:
    path = consensus_of_two(app, signed_in)
    page = signed_in.get(f"{path}?agree=timeline_pressure").get_data(as_text=True)
    assert chosen_factor(page) == "timeline_pressure"
    page = signed_in.get(f"{path}?agree=%3Cscript%3E").get_data(as_text=True)
    assert chosen_factor(page) == "iteration_readiness" and "<script>" not in page


def test_the_engagement_points_at_its_consensus_until_someone_submits_again(
    app: Flask, signed_in: FlaskClient
) -> None:
    path = consensus_of_two(app, signed_in)
    engagement_path = path.split("/decisions/")[0]
    page = signed_in.get(engagement_path).get_data(as_text=True)
    assert "The consensus of <bdi>Ann Lee</bdi> and <bdi>Bo Chen</bdi> is decided:" in page
    assert f'href="{path}"' in page and "Decide on the consensus" not in page
    # A second click (or an old tab) stores nothing new and leads to the decision made.
    again = post(signed_in, f"{engagement_path}/consensus")
    assert again.status_code == 303 and again.headers["Location"] == path
    assert len(decisions(app)) == 1

    # An agreed value makes a newer consensus decision: the page follows it. Sending the
    # agreement twice (a double click, or from the older decision's page) stores it once.
    agreed = {"factor": "timeline_pressure", "value": "4", "note": "Agreed in the workshop"}
    assert post(signed_in, f"{path}/agree", agreed).status_code == 303
    twice = post(signed_in, f"{path}/agree", agreed)
    first, latest = decisions(app)
    assert twice.status_code == 303 and f"/decisions/{latest.id}" in twice.headers["Location"]
    page = signed_in.get(engagement_path).get_data(as_text=True)
    assert f'decisions/{latest.id}"' in page.split("consensus-form")[1].split("</div>")[0]

    # Bo submits changed answers: the consensus is out of date and the prompt is back.
    with app.app_context():
        bo = db.session.scalars(select(Respondent).where(Respondent.name == "Bo Chen")).one()
        bo.answers = {**CREATOR_ANSWERS, "risk_tolerance": 1}
        bo.submitted_at = utcnow()
        db.session.commit()
    page = signed_in.get(engagement_path).get_data(as_text=True)
    assert "Decide on the consensus" in page and "is decided" not in page
    assert post(signed_in, f"{engagement_path}/consensus").status_code == 303
    assert len(decisions(app)) == 3


def test_the_consensus_address_opens_the_newest_consensus(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    before = signed_in.get(f"/engagements/{engagement_id}/consensus")
    assert before.status_code == 302
    assert before.headers["Location"].endswith(f"/engagements/{engagement_id}")
    assert "No consensus yet" in signed_in.get(before.headers["Location"]).get_data(as_text=True)

    path = consensus_of_two(app, signed_in)
    engagement_id = int(path.split("/")[2])
    form = {"factor": "timeline_pressure", "value": "4", "note": "A soft launch first."}
    newer = post(signed_in, f"{path}/agree", form).headers["Location"].split("#")[0]
    opened = signed_in.get(f"/engagements/{engagement_id}/consensus")
    assert opened.status_code == 302 and opened.headers["Location"] == newer
    other = app.test_client()
    make_consultant(app, email="dev@example.com", name="Dev Rao")
    login(other, email="dev@example.com")
    assert other.get(f"/engagements/{engagement_id}/consensus").status_code == 404


def test_the_consensus_chart_says_whose_answers_it_leaves_out(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    submitted_pair(app, engagement_id)
    with app.app_context():
        from assess.models import Engagement

        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        for name, side in (("Cy Diaz", "producer"), ("Di Eng", "creator")):
            engagement.respondents.append(
                Respondent(name=name, side=side, answers=dict(ANSWERS), submitted_at=utcnow())
            )
        db.session.commit()
    path = post(signed_in, f"/engagements/{engagement_id}/consensus").headers["Location"]
    page = signed_in.get(path).get_data(as_text=True)
    legend = page.split('id="profile-title"', 1)[1].split('class="legend"', 1)[1]
    legend = legend.split("</figcaption>", 1)[0]
    assert "Ann Lee" in legend and "Cy Diaz" in legend and "Consensus" in legend
    assert "Not drawn, to keep the chart readable: <bdi>Di Eng</bdi>" in legend
    # A pair is drawn whole.
    pair = signed_in.get(consensus_of_two(app, signed_in)).get_data(as_text=True)
    assert "Not drawn" not in pair
