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
    answer_through_link,
    consensus_of_two,
    create_engagement,
    invite,
    login,
    make_consultant,
    of_record,
    post,
    respondent_id,
    submitted_pair,
    visible_text,
)

from assess.extensions import db
from assess.models import DecisionRecord, Engagement, Respondent, utcnow

pytestmark = pytest.mark.db

# The agreed-value form's choice of readiness for rapid iteration: who answered what, the gap.
ITERATION = "<bdi>Ann Lee</bdi>: 4, <bdi>Bo Chen</bdi>: 1 · gap 3"


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
    timeline = r"<bdi>Ann Lee</bdi>: 3, <bdi>Bo Chen</bdi>: 5 · gap 2 · now \d"
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
    # Values are agreed after discussion, not in an intake session, which is something else.
    # The consensus is the middle of the answers, which two answers may have between them.
    assert (
        "per factor the middle of the answers, rounded towards the more cautious reading when "
        "it falls between two levels, except where the parties agreed a level after discussion."
    ) in page
    assert "agreed in the session" not in page
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
        ({"factor": "innovation", "value": "3", "note": ""}, "note", "Reason: Say in a sentence"),
        ({"factor": "innovation", "value": "3", "note": " \u200b"}, "note", "Say in a sentence or"),
        (
            {"factor": "innovation", "value": "3", "note": "x" * 281},
            "note",
            "Keep the reason to 280",
        ),
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
    # The summary heads its part of the "Agreed values" section, not a section of its own.
    summary = page[page.index('id="agree-errors"') :]
    assert re.match(r"[^<]*>\s*<h3>There is a problem</h3>", summary), summary[:200]
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


def test_an_intake_sessions_answers_join_the_consensus(app: Flask, signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    data = {k: str(v) for k, v in ANSWERS.items()}
    post(signed_in, f"/engagements/{engagement_id}/session", {**data, "action": "decide"})
    submitted_pair(app, engagement_id)
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    # A session is not a person: sentences name it as the session it is.
    assert "The intake session, <bdi>Ann Lee</bdi> and <bdi>Bo Chen</bdi> have submitted" in page
    path = post(signed_in, f"/engagements/{engagement_id}/consensus").headers["Location"]
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert (
        "The consensus of the intake session, <bdi>Ann Lee</bdi> and <bdi>Bo Chen</bdi> is decided"
    ) in page
    assert f'href="{path}"' in page
    with app.app_context():
        record = db.session.get(DecisionRecord, int(path.rsplit("/", 1)[1]))
        assert record is not None
        assert record.note == "Consensus of the intake session, Ann Lee and Bo Chen"
        alignment = record.decision.alignment
        assert alignment is not None
        assert [(r.name, r.side) for r in alignment.respondents] == [
            ("Intake session", "joint"),
            ("Ann Lee", "producer"),
            ("Bo Chen", "creator"),
        ]
    # Each level stands apart from the name before it: "Intake session 4" would read as the
    # fourth session.
    page = signed_in.get(path).get_data(as_text=True)
    assert (
        "<bdi>Intake session</bdi>: 4, <bdi>Ann Lee</bdi>: 4, <bdi>Bo Chen</bdi>: 1 · gap 3"
    ) in page
    # A second session is told apart from the first by its name.
    second = {**data, "innovation": "2", "action": "decide"}
    post(signed_in, f"/engagements/{engagement_id}/session", second)
    with app.app_context():
        names = db.session.scalars(select(Respondent.name).where(Respondent.facilitated)).all()
        assert sorted(names) == ["Intake session", "Intake session 2"]


def test_an_intake_session_answers_for_both_sides(app: Flask, signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    data = {k: str(v) for k, v in CREATOR_ANSWERS.items()}
    post(signed_in, f"/engagements/{engagement_id}/session", {**data, "action": "decide"})
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        engagement.respondents.append(
            Respondent(
                name="Ann Lee", side="producer", answers=dict(ANSWERS), submitted_at=utcnow()
            )
        )
        db.session.commit()
    # The session spoke for the creator side too: the consensus can be decided.
    response = post(signed_in, f"/engagements/{engagement_id}/consensus")
    assert response.status_code == 303 and "/decisions/" in response.headers["Location"]


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
        "A newer consensus of these respondents exists" in old_page
        and newer.rsplit("/", 1)[1] in old_page
    )
    # The older page's history stops at itself.
    assert "A soft launch first." not in old_page
    assert "A newer consensus of these respondents exists" not in signed_in.get(newer).get_data(
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


def test_the_consensus_address_says_what_is_missing_when_both_sides_have_submitted(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    submitted_pair(app, engagement_id)
    response = signed_in.get(f"/engagements/{engagement_id}/consensus")
    assert response.status_code == 302
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "at least two respondents have submitted" not in page
    assert "the submitted answers are ready to combine" in page
    assert not decisions(app)


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


# --- which decision is the engagement's -------------------------------------------------

AGREED_TITLE = "Hybrid: Integrated Co-Creation with Agile Production Partnership"
# Ann's answers with the resources missing: a model nobody's answers point to.
WHAT_IF = {**ANSWERS, "resource_availability": 1, "innovation": 2, "creative_collaboration": 2}
WHAT_IF_TITLE = "Hybrid: Strategic Resource Partnership with Agile Production Partnership"


def agreed_through_links(client: FlaskClient) -> tuple[int, str, str]:
    """Ann and Bo answer from their links (their own decisions #1 and #2); the consultant
    decides their consensus (#3) and agrees a value (#4). Return the engagement, the path of
    its decisions and the path of #4."""
    engagement_id = create_engagement(client)
    links = [
        (invite(client, engagement_id), ANSWERS),
        (invite(client, engagement_id, respondent_name="Bo Chen", side="creator"), CREATOR_ANSWERS),
    ]
    for link, answers in links:
        answer_through_link(client, link, answers)
    consensus = post(client, f"/engagements/{engagement_id}/consensus").headers["Location"]
    form = {"factor": "iteration_readiness", "value": "3", "note": "Sprints online only."}
    agreed = post(client, f"{consensus}/agree", form).headers["Location"].split("#")[0]
    assert agreed.endswith("/decisions/4")
    return engagement_id, f"/engagements/{engagement_id}/decisions", agreed


def test_a_what_if_stored_after_the_consensus_never_becomes_the_engagements_decision(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id, base, agreed = agreed_through_links(signed_in)
    # Ann's own decision, adjusted and stored: a what-if on one respondent's answers.
    data = {k: str(v) for k, v in WHAT_IF.items()}
    response = post(signed_in, f"{base}/1/confirm", data)
    what_if = response.headers["Location"]
    assert what_if.endswith("/decisions/5")
    flashed = signed_in.get(what_if).get_data(as_text=True)
    assert "stored as decision #5, a what-if: the engagement&#39;s decision is still #4" in flashed
    assert decisions(app)[-1].decision.title == WHAT_IF_TITLE

    assert of_record(app, engagement_id) == 4
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert '<span class="status status-large status-decided">Decided</span>' in page
    assert f'href="{agreed}/charter">Prepare the charter</a>' in page
    assert f'href="{what_if}/charter"' not in page
    assert re.search(rf'href="{agreed}">[^<]+</a> <span class="badge">the engagement', page)

    page = signed_in.get(what_if).get_data(as_text=True)
    assert "Adjusted answers, kept as a what-if — not the engagement's decision." in page
    assert f'href="{agreed}">decision #4: {AGREED_TITLE}</a>' in page
    assert "Prepare the charter" not in page
    page = signed_in.get(f"{base}/1").get_data(as_text=True)
    assert "<bdi>Ann Lee</bdi>'s answers alone — not the engagement's decision." in page
    assert ", on the consensus of <bdi>Ann Lee</bdi> and <bdi>Bo Chen</bdi>." in page, (
        "says what the engagement's decision is"
    )
    page = signed_in.get(agreed).get_data(as_text=True)
    assert "Decision #4 · the engagement's decision" in page
    assert f'href="{agreed}/charter">Prepare the charter</a>' in page

    # The charter is frozen from the consensus, never from the what-if.
    assert "Freeze for sign-off" in signed_in.get(f"{agreed}/charter").get_data(as_text=True)
    page = signed_in.get(f"{what_if}/charter").get_data(as_text=True)
    assert "Freeze for sign-off" not in page and "is a what-if, not the engagement" in page
    refused = post(signed_in, f"/engagements/{engagement_id}/charter/freeze/5", {"version": "1"})
    assert refused.status_code == 409
    assert "Decision #5 is a what-if, not the engagement's decision (#4)" in refused.get_data(
        as_text=True
    ).replace("&#39;", "'")
    frozen = post(signed_in, f"/engagements/{engagement_id}/charter/freeze/4", {"version": "1"})
    assert frozen.status_code == 303


def test_an_intake_session_after_the_consensus_joins_it_instead_of_replacing_it(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id, base, agreed = agreed_through_links(signed_in)
    data = {k: str(v) for k, v in WHAT_IF.items()}
    response = post(
        signed_in, f"/engagements/{engagement_id}/session", {**data, "action": "decide"}
    )
    session = response.headers["Location"]
    assert session.endswith("/decisions/5")
    page = signed_in.get(session).get_data(as_text=True)
    assert "The session&#39;s answers join the consensus with the others" in page
    # A session is not a person: its page names it as the session it is.
    assert "This intake session's answers alone — not the engagement's decision." in page
    assert "<bdi>Intake session</bdi>'s" not in page
    assert f'href="/engagements/{engagement_id}#compare-title">decide on it on the' in page
    assert "Prepare the charter" not in page

    # Its answers change what the consensus combines: the engagement waits for a new one.
    assert of_record(app, engagement_id) is None
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert '<span class="status status-large status-answered">Answered</span>' in page
    assert "Prepare the charter" not in page and f'href="{session}/charter"' not in page
    assert "decide on their consensus first" in page
    assert (
        "Deciding on the consensus of <bdi>Ann Lee</bdi>, <bdi>Bo Chen</bdi> and the intake "
        "session anew drops what was agreed on answers that changed: "
        "readiness for rapid iteration at 3;"
    ) in page
    # The consensus decided before says what changed, and the sentence opens with the session.
    page = signed_in.get(agreed).get_data(as_text=True)
    assert "<li>The intake session&#39;s answers were submitted since.</li>" in page
    refused = post(signed_in, f"{agreed}/agree", {"factor": "innovation", "value": "middle"})
    assert refused.status_code == 409
    said = "The intake session&#39;s answers were submitted since."
    assert said in refused.get_data(as_text=True)
    listing = signed_in.get("/engagements").get_data(as_text=True)
    assert "New answers since the last decision" in listing and WHAT_IF_TITLE not in listing

    new = post(signed_in, f"/engagements/{engagement_id}/consensus").headers["Location"]
    assert new.endswith("/decisions/6") and of_record(app, engagement_id) == 6
    alignment = decisions(app)[-1].decision.alignment
    assert alignment is not None and len(alignment.respondents) == 3
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert f'href="{new}/charter">Prepare the charter</a>' in page
    # Its history tells the new consensus from the one before by whose answers each combines.
    history = signed_in.get(new).get_data(as_text=True).split('id="history-title"', 1)[1]
    assert "Consensus of <bdi>Ann Lee</bdi>, <bdi>Bo Chen</bdi> and the intake session: " in (
        history
    )
    assert "Consensus of <bdi>Ann Lee</bdi> and <bdi>Bo Chen</bdi>: the cautious middle" in history
    assert "Consensus of the submitted answers" not in history
    # The charter made from it starts with where the parties started apart.
    fields = {"mediator_internal_1": "Dana Holt"}
    charter = post(signed_in, f"{new}/charter/preview", fields).get_data(as_text=True)
    assert "Where the Parties started apart" in charter


# --- a consensus whose answers changed --------------------------------------------------


def test_a_consensus_on_answers_that_changed_says_so_and_takes_no_changes(
    app: Flask, signed_in: FlaskClient
) -> None:
    path = consensus_of_two(app, signed_in)
    engagement_id = int(path.split("/")[2])
    with app.app_context():  # Ann reopens, changes a factor and submits again
        ann = db.session.scalars(select(Respondent).where(Respondent.name == "Ann Lee")).one()
        ann.answers = {**ANSWERS, "timeline_pressure": 1}
        db.session.commit()
    page = signed_in.get(path).get_data(as_text=True)
    assert "The answers have changed since this consensus was decided." in page
    assert "<bdi>Ann Lee</bdi>'s answers changed: timeline pressure from 3 to 1." in page
    assert f'action="/engagements/{engagement_id}/consensus"' in page
    assert "Decide on the consensus anew</button>" in page
    assert 'id="agree-form"' not in page and "Record the agreed value" not in page
    preview = signed_in.get(path, query_string={"adjust": "1", **first_answers(app)})
    assert "Store as a new decision" not in preview.get_data(as_text=True)

    # Nothing is agreed, adjusted or re-evaluated on answers that no longer stand.
    form = {"factor": "iteration_readiness", "value": "3", "note": "Sprints online only."}
    refused = post(signed_in, f"{path}/agree", form)
    assert refused.status_code == 409
    text = refused.get_data(as_text=True)
    assert "This consensus is out of date" in text and "Nothing was stored" in text
    adjusted = {**first_answers(app), "iteration_readiness": "3"}
    reason = {"note-iteration_readiness": "Sprints online only."}
    assert post(signed_in, f"{path}/confirm", {**adjusted, **reason}).status_code == 409
    assert post(signed_in, f"{path}/reevaluate").status_code == 409
    assert len(decisions(app)) == 1

    # Decided anew: the old page points to the consensus of the answers as they stand.
    new = post(signed_in, f"/engagements/{engagement_id}/consensus").headers["Location"]
    page = signed_in.get(path).get_data(as_text=True)
    assert "The answers have changed since this consensus was decided." in page
    assert f'The answers as they stand are combined in <a href="{new}">decision #2' in page
    assert 'id="agree-form"' in signed_in.get(new).get_data(as_text=True)


def test_a_consensus_whose_answers_are_reopened_waits_for_them(
    app: Flask, signed_in: FlaskClient
) -> None:
    path = consensus_of_two(app, signed_in)
    engagement_id = int(path.split("/")[2])
    ann_id = respondent_id(app, "Ann Lee")
    post(signed_in, f"/engagements/{engagement_id}/respondents/{ann_id}/reopen")
    page = signed_in.get(path).get_data(as_text=True)
    assert "<bdi>Ann Lee</bdi>'s answers are open again for changes." in page
    assert "Waiting for <bdi>Ann Lee</bdi> to submit." in page
    assert "Decide on the consensus anew</button>" not in page
    form = {"factor": "iteration_readiness", "value": "3", "note": "Sprints online only."}
    assert post(signed_in, f"{path}/agree", form).status_code == 409
    # Submitted again unchanged: the consensus holds again, with nothing new to decide.
    with app.app_context():
        ann = db.session.get(Respondent, ann_id)
        assert ann is not None
        ann.submitted_at = utcnow()
        db.session.commit()
    page = signed_in.get(path).get_data(as_text=True)
    assert "The answers have changed" not in page and 'id="agree-form"' in page
    assert of_record(app, engagement_id) == int(path.rsplit("/", 1)[1])


def test_no_consensus_is_decided_without_answers_that_are_reopened(
    app: Flask, signed_in: FlaskClient
) -> None:
    # With a third respondent reopened, the other two could still be combined: a consensus
    # that leaves out answers about to come back, never the engagement's decision.
    path = consensus_of_two(app, signed_in)
    engagement_id = int(path.split("/")[2])
    base = f"/engagements/{engagement_id}"
    cy = invite(signed_in, engagement_id, respondent_name="Cy Dahl", side="creator")
    answer_through_link(signed_in, cy)
    third = post(signed_in, f"{base}/consensus").headers["Location"]
    cy_id = respondent_id(app, "Cy Dahl")
    post(signed_in, f"{base}/respondents/{cy_id}/reopen")
    page = signed_in.get(base).get_data(as_text=True)
    assert "Decide on the consensus</button>" not in page
    waits = (
        "The answers of <bdi>Cy Dahl</bdi> are open again, so a consensus now would leave them "
        "out. Decide on it once they are submitted again, or closed again as they were submitted."
    )
    assert waits in page
    response = post(signed_in, f"{base}/consensus")
    assert response.status_code == 302 and response.headers["Location"] == base
    assert waits in signed_in.get(base).get_data(as_text=True)
    assert len(decisions(app)) == 3  # the two consensus decisions and Cy's own
    # Closed again as they were: the consensus of all three is the engagement's decision again.
    post(signed_in, f"{base}/respondents/{cy_id}/close")
    assert of_record(app, engagement_id) == int(third.rsplit("/", 1)[1])


# --- adjusting a consensus agrees values, each with its reason ---------------------------


def test_adjusted_consensus_answers_are_stored_as_agreed_values_with_their_reasons(
    app: Flask, signed_in: FlaskClient
) -> None:
    path = consensus_of_two(app, signed_in)
    adjusted = {**first_answers(app), "iteration_readiness": "3", "timeline_pressure": "5"}
    preview = signed_in.get(path, query_string={"adjust": "1", **adjusted}).get_data(as_text=True)
    assert "Each changed level is stored as agreed after discussion" in preview
    assert (
        '<label for="note-iteration_readiness">Reason for readiness for rapid iteration at 3'
        in (preview)
    )
    assert '<label for="note-timeline_pressure">Reason for timeline pressure at 5' in preview
    assert 'name="note-innovation"' not in preview

    # Without a reason for each, nothing is stored; what was typed comes back.
    reason = "Sprints for the online episodes only."
    response = post(signed_in, f"{path}/confirm", {**adjusted, "note-iteration_readiness": reason})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r"<title>Error: ", page)
    assert (
        '<a href="#note-timeline_pressure">Reason for timeline pressure at 5: Say in a sentence or '
        "two why the parties settled on this level.</a>"
    ) in page
    assert 'id="error-note-timeline_pressure"' in page and page.count('class="field-error"') == 1
    assert f">{reason}</textarea>" in page and "Preview, not stored." in page
    assert len(decisions(app)) == 1

    date = "The festival date is fixed."
    response = post(
        signed_in,
        f"{path}/confirm",
        {**adjusted, "note-iteration_readiness": reason, "note-timeline_pressure": date},
    )
    assert response.status_code == 303
    stored = decisions(app)[-1]
    alignment = stored.decision.alignment
    assert alignment is not None
    assert alignment.agreed == {"iteration_readiness": 3, "timeline_pressure": 5}
    assert alignment.notes == {"iteration_readiness": reason, "timeline_pressure": date}
    assert stored.note == (
        "Timeline pressure: agreed 5 (was 4); Readiness for rapid iteration: agreed 3 (was 2)"
    )
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    history = page.split('id="history-title"', 1)[1].split('<li class="history-entry', 2)[1]
    assert f'<q class="history-note">{reason}</q>' in history
    assert f'<q class="history-note">{date}</q>' in history
    # The charter gives each agreed level its reason, as the agreed-value form's.
    new = response.headers["Location"].split("#")[0]
    charter = post(signed_in, f"{new}/charter/preview", {}).get_data(as_text=True)
    assert reason in charter and date in charter

    # The same form again stores nothing new.
    again = post(
        signed_in,
        f"{path}/confirm",
        {**adjusted, "note-iteration_readiness": reason, "note-timeline_pressure": date},
    )
    assert again.status_code == 303 and len(decisions(app)) == 2


def test_going_back_to_the_cautious_middle_needs_no_reason_and_is_recorded(
    app: Flask, signed_in: FlaskClient
) -> None:
    path = consensus_of_two(app, signed_in)
    form = {"factor": "iteration_readiness", "value": "3", "note": "Sprints online only."}
    agreed = post(signed_in, f"{path}/agree", form).headers["Location"].split("#")[0]
    page = signed_in.get(agreed).get_data(as_text=True)
    assert "Optional when going back to the cautious middle." in page
    response = post(
        signed_in, f"{agreed}/agree", {"factor": "iteration_readiness", "value": "middle"}
    )
    assert response.status_code == 303
    last = decisions(app)[-1]
    alignment = last.decision.alignment
    assert alignment is not None and alignment.agreed == {} and alignment.notes == {}
    assert last.note == "Readiness for rapid iteration: back to the cautious middle (was 3)"
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    newest = page.split('id="history-title"', 1)[1].split('<li class="history-entry', 2)[1]
    assert "Readiness for rapid iteration" in newest and "cautious middle</span></span>" in newest
    assert "history-note" not in newest


# --- agreed values carried over ----------------------------------------------------------


def test_a_new_consensus_keeps_what_was_agreed_where_the_answers_are_unchanged(
    app: Flask, signed_in: FlaskClient
) -> None:
    path = consensus_of_two(app, signed_in)
    engagement_id = int(path.split("/")[2])
    iteration = "Sprints for the online episodes only."
    form = {"factor": "iteration_readiness", "value": "3", "note": iteration}
    second = post(signed_in, f"{path}/agree", form).headers["Location"].split("#")[0]
    form = {"factor": "timeline_pressure", "value": "4", "note": "A soft launch first."}
    third = post(signed_in, f"{second}/agree", form).headers["Location"].split("#")[0]
    with app.app_context():  # Ann's timeline changes; her other answers stand
        ann = db.session.scalars(select(Respondent).where(Respondent.name == "Ann Lee")).one()
        ann.answers = {**ANSWERS, "timeline_pressure": 1}
        db.session.commit()
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert (
        "keeps what was agreed where the answers are unchanged: readiness for rapid iteration "
        "at 3. It drops what was agreed on answers that changed: timeline pressure at 4;"
    ) in page
    response = post(signed_in, f"/engagements/{engagement_id}/consensus")
    new = response.headers["Location"]
    page = signed_in.get(new).get_data(as_text=True)
    assert (
        "Kept from decision #3, where the answers are unchanged: readiness for rapid iteration "
        "at 3. Dropped, since the answers they were agreed on changed: timeline pressure at 4."
    ) in page
    alignment = decisions(app)[-1].decision.alignment
    assert alignment is not None
    assert alignment.agreed == {"iteration_readiness": 3}
    assert alignment.notes == {"iteration_readiness": iteration}
    started = page.split('id="history-title"', 1)[1].split('<li class="history-entry', 2)[1]
    assert f'agreed on <a href="{third}">decision #3</a> where the answers are unchanged' in started
    assert f'<q class="history-note">{iteration}</q>' in started
    assert "Timeline pressure" not in started


def test_a_what_if_stored_after_a_freeze_leaves_the_version_current(
    app: Flask, signed_in: FlaskClient
) -> None:
    from assess.models import CharterVersion
    from assess.signoff import stale_because

    engagement_id, base, agreed = agreed_through_links(signed_in)
    frozen = post(signed_in, f"/engagements/{engagement_id}/charter/freeze/4", {"version": "1"})
    assert frozen.status_code == 303

    def overtaken_by() -> int | None:
        with app.app_context():
            version = db.session.scalars(select(CharterVersion)).one()
            record = stale_because(db.session, version)
            return record.id if record else None

    assert overtaken_by() is None
    data = {k: str(v) for k, v in WHAT_IF.items()}
    assert post(signed_in, f"{base}/1/confirm", data).status_code == 303
    assert overtaken_by() is None  # Ann's what-if is not the engagement's decision
    # A new decision on the consensus is: the version frozen before it is stale.
    agree = {"factor": "risk_tolerance", "value": "2", "note": "Kept cautious for the pilot."}
    assert post(signed_in, f"{agreed}/agree", agree).status_code == 303
    assert overtaken_by() == 6


def test_reopening_after_a_what_if_leaves_the_frozen_version_current(
    app: Flask, signed_in: FlaskClient
) -> None:
    from assess.models import CharterVersion
    from assess.signoff import stale_because

    engagement_id = create_engagement(signed_in)
    base = f"/engagements/{engagement_id}"
    ann_link = invite(signed_in, engagement_id)
    bo_link = invite(signed_in, engagement_id, respondent_name="Bo Chen", side="creator")
    answer_through_link(signed_in, ann_link, ANSWERS)  # decision #1
    answer_through_link(signed_in, bo_link, CREATOR_ANSWERS)  # decision #2
    assert post(signed_in, f"{base}/consensus").status_code == 303  # decision #3
    assert post(signed_in, f"{base}/charter/freeze/3", {"version": "1"}).status_code == 303
    # A what-if on Ann's own answers: decision #4, never the engagement's, so its preview
    # does not warn that it would stop the sign-off, as one on the consensus does.
    data = {k: str(v) for k, v in WHAT_IF.items()}
    query = "?adjust=1&" + "&".join(f"{k}={v}" for k, v in data.items())
    assert "makes it stale" not in signed_in.get(f"{base}/decisions/1{query}").get_data(
        as_text=True
    )
    assert "makes it stale" in signed_in.get(f"{base}/decisions/3{query}").get_data(as_text=True)
    assert post(signed_in, f"{base}/decisions/1/confirm", data).status_code == 303
    with app.app_context():
        ann, bo = db.session.scalars(select(Respondent.id).order_by(Respondent.id)).all()

    def overtaken_by() -> int | None:
        with app.app_context():
            version = db.session.scalars(select(CharterVersion)).one()
            record = stale_because(db.session, version)
            return record.id if record else None

    def version_page() -> str:
        return str(signed_in.get(f"{base}/charter/v1").get_data(as_text=True))

    assert overtaken_by() is None
    # Ann's answers are open again: nothing is decided yet, and nothing has overtaken the
    # version either; the what-if stored before is still only a what-if.
    post(signed_in, f"{base}/respondents/{ann}/reopen")
    assert of_record(app, engagement_id) is None
    assert overtaken_by() is None
    assert "This version is stale." not in version_page()
    # Submitted again unchanged: her own decision #5 repeats what the consensus holds.
    post(signed_in, f"{ann_link}/review")
    assert len(decisions(app)) == 5 and of_record(app, engagement_id) == 3
    assert overtaken_by() is None
    assert "This version is stale." not in version_page()

    # A decision that does change the consensus makes it stale, and keeps it stale while
    # answers are reopened afterwards.
    agree = {"factor": "risk_tolerance", "value": "2", "note": "Kept cautious for the pilot."}
    assert post(signed_in, f"{base}/decisions/3/agree", agree).status_code == 303
    assert overtaken_by() == 6
    post(signed_in, f"{base}/respondents/{bo}/reopen")
    assert overtaken_by() == 6
    assert "This version is stale." in version_page()


def bo_submits(app: Flask, answers: dict[str, int]) -> None:
    """Bo Chen submits these answers, as from his link."""
    with app.app_context():
        bo = db.session.scalars(select(Respondent).where(Respondent.name == "Bo Chen")).one()
        bo.answers = dict(answers)
        bo.submitted_at = utcnow()
        db.session.commit()


def test_answers_back_as_they_were_do_not_bring_back_a_consensus_agreed_on_since(
    app: Flask, signed_in: FlaskClient
) -> None:
    path = consensus_of_two(app, signed_in)
    engagement_path = path.split("/decisions/")[0]
    iteration = {"factor": "iteration_readiness", "value": "3", "note": "Sprints online only."}
    second = post(signed_in, f"{path}/agree", iteration).headers["Location"].split("#")[0]

    # Bo answers innovation differently; the consensus decided anew gets a second agreement
    # on a factor whose answers never changed.
    bo_submits(app, {**CREATOR_ANSWERS, "innovation": 1})
    third = post(signed_in, f"{engagement_path}/consensus").headers["Location"]
    timeline = {"factor": "timeline_pressure", "value": "5", "note": "The launch date is fixed."}
    assert post(signed_in, f"{third}/agree", timeline).status_code == 303
    # Bo goes back to his first answers: the consensus decided on them before the timeline
    # was agreed is not the engagement's decision again, silently without that agreement.
    bo_submits(app, CREATOR_ANSWERS)
    engagement_id = int(engagement_path.rsplit("/", 1)[1])
    assert of_record(app, engagement_id) is None
    page = signed_in.get(engagement_path).get_data(as_text=True)
    assert "is decided" not in page and "Decide on the consensus</button>" in page
    # The older consensus of these answers says why it is out of date, and takes no
    # agreement that would drop the one made since.
    page = signed_in.get(second).get_data(as_text=True)
    assert (
        "The answers have changed since this consensus was decided.</strong>" in page
        and "<li>The answers submitted now are again those it combines, but a consensus of other "
        "answers (decision #4) was decided in between, where values may have been agreed.</li>"
        in page
    )
    assert "Decide on the consensus anew</button>" in page and 'id="agree-form"' not in page
    stored = len(decisions(app))
    assert post(signed_in, f"{second}/agree", iteration | {"value": "4"}).status_code == 409
    assert len(decisions(app)) == stored
    # Decided anew, it keeps both agreements: the answers they rest on are unchanged.
    fifth = post(signed_in, f"{engagement_path}/consensus").headers["Location"]
    latest = decisions(app)[-1]
    assert fifth.endswith(f"/decisions/{latest.id}") and of_record(app, engagement_id) == latest.id
    alignment = latest.decision.alignment
    assert alignment is not None
    assert alignment.agreed == {"iteration_readiness": 3, "timeline_pressure": 5}


def test_one_name_on_each_side_is_told_apart_in_the_charts_key(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    with app.app_context():  # one person answers for each side
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        for side, answers in (("producer", ANSWERS), ("creator", CREATOR_ANSWERS)):
            engagement.respondents.append(
                Respondent(name="Alex Kim", side=side, answers=dict(answers), submitted_at=utcnow())
            )
        db.session.commit()
    keys = (
        '<span class="swatch series-a" aria-hidden="true"></span>'
        "<bdi>Alex Kim</bdi> (producer side)",
        '<span class="swatch series-b" aria-hidden="true"></span>'
        "<bdi>Alex Kim</bdi> (creator side)",
    )
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert all(key in page for key in keys)
    path = post(signed_in, f"/engagements/{engagement_id}/consensus").headers["Location"]
    page = signed_in.get(path).get_data(as_text=True)
    assert all(key in page for key in keys)
    assert "; Alex Kim (producer side); Alex Kim (creator side); Consensus." in page
    # ... and in sentences: the history of the consensus, the engagement page.
    both = "<bdi>Alex Kim</bdi> (producer side) and <bdi>Alex Kim</bdi> (creator side)"
    assert f"Consensus of {both}: the cautious middle on every factor" in page
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert f"The consensus of {both} is decided" in page


def test_a_charter_frozen_before_answers_moved_and_came_back_stays_stale(
    app: Flask, signed_in: FlaskClient
) -> None:
    from assess.models import CharterVersion
    from assess.signoff import stale_because

    engagement_id, _, agreed = agreed_through_links(signed_in)
    frozen = post(signed_in, f"/engagements/{engagement_id}/charter/freeze/4", {"version": "1"})
    assert frozen.status_code == 303

    bo_submits(app, {**CREATOR_ANSWERS, "innovation": 1})
    moved = post(signed_in, f"/engagements/{engagement_id}/consensus").headers["Location"]
    timeline = {"factor": "timeline_pressure", "value": "5", "note": "The launch date is fixed."}
    assert post(signed_in, f"{moved}/agree", timeline).status_code == 303
    bo_submits(app, CREATOR_ANSWERS)
    # The version lacks the timeline agreed since: back to its answers, it is still stale.
    with app.app_context():
        version = db.session.scalars(select(CharterVersion)).one()
        assert stale_because(db.session, version) is not None


def test_an_agreement_that_changes_nothing_says_what_stands(
    app: Flask, signed_in: FlaskClient
) -> None:
    path = consensus_of_two(app, signed_in)
    middle = {"factor": "innovation", "value": "middle", "note": ""}
    response = post(signed_in, f"{path}/agree", middle)
    assert response.status_code == 303 and len(decisions(app)) == 1
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert (
        "Innovation requirements already rests on the cautious middle, with no reason given, "
        "so nothing new was stored." in page
    )
    assert "already the agreed value" not in page
    agreed = {"factor": "innovation", "value": "4", "note": "A new format."}
    second = post(signed_in, f"{path}/agree", agreed).headers["Location"].split("#")[0]
    response = post(signed_in, f"{second}/agree", agreed)
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert (
        "Innovation requirements is already agreed at 4 with that reason, so nothing new was "
        "stored." in page
    )


def test_a_partner_keeps_one_colour_on_the_engagement_and_the_consensus(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    with app.app_context():  # Bo, still answering, sits between two who submitted
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        people = (
            ("Ann Lee", "producer", ANSWERS, utcnow()),
            ("Bo Chen", "creator", {"innovation": 2}, None),
            ("Cy Ode", "creator", CREATOR_ANSWERS, utcnow()),
        )
        for name, side, answers, submitted_at in people:
            engagement.respondents.append(
                Respondent(name=name, side=side, answers=dict(answers), submitted_at=submitted_at)
            )
        db.session.commit()
    cy = '<span class="swatch series-b" aria-hidden="true"></span><bdi>Cy Ode</bdi>'
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    bo = '<span class="swatch series-c" aria-hidden="true"></span><bdi>Bo Chen</bdi>'
    assert cy in page and bo in page
    path = post(signed_in, f"/engagements/{engagement_id}/consensus").headers["Location"]
    assert cy in signed_in.get(path).get_data(as_text=True)


def test_the_answers_side_by_side_mark_a_gap_agreed_once_it_is(
    app: Flask, signed_in: FlaskClient
) -> None:
    # "Discuss" asks the consultant to do something; once the parties have agreed a level
    # for that factor, the engagement page says so instead of asking again.
    path = consensus_of_two(app, signed_in)
    engagement_path = path.split("/decisions/")[0]

    def row(label: str) -> str:
        page = signed_in.get(engagement_path).get_data(as_text=True)
        table = page.split('class="table compare-table"', 1)[1]
        return visible_text(table.split(label, 1)[1].split("</th>")[0])

    assert row("Timeline pressure") == "Discuss"
    assert row("Readiness for rapid iteration") == "Discuss"
    agreed = {"factor": "timeline_pressure", "value": "4", "note": "Agreed in the workshop"}
    assert post(signed_in, f"{path}/agree", agreed).status_code == 303
    assert row("Timeline pressure") == "Agreed: 4"
    page = " ".join(signed_in.get(engagement_path).get_data(as_text=True).split())
    assert "where partnerships fail. 1 of them has an agreed value now." in page
    assert row("Readiness for rapid iteration") == "Discuss"


def test_a_right_to_left_name_in_the_charts_key_is_isolated_apart_from_its_side(
    app: Flask, signed_in: FlaskClient
) -> None:
    # An Arabic name isolated together with "(producer side)" would carry the side to its
    # left; not isolated at all, two such names in a row would swap places.
    engagement_id = create_engagement(signed_in)
    name = "محمد الأحمد"
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        for side, answers in (("producer", ANSWERS), ("creator", CREATOR_ANSWERS)):
            engagement.respondents.append(
                Respondent(name=name, side=side, answers=dict(answers), submitted_at=utcnow())
            )
        db.session.commit()
    keys = (
        f'<span class="swatch series-a" aria-hidden="true"></span><bdi>{name}</bdi> '
        "(producer side)",
        f'<span class="swatch series-b" aria-hidden="true"></span><bdi>{name}</bdi> (creator side)',
    )
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert all(key in page for key in keys)
    header = '<th scope="col"><span class="swatch series-a" aria-hidden="true"></span>'
    assert f"{header}<bdi>{name}</bdi> (producer side)" in page
    path = post(signed_in, f"/engagements/{engagement_id}/consensus").headers["Location"]
    page = signed_in.get(path).get_data(as_text=True)
    assert all(key in page for key in keys)
    assert f"; {name} (producer side); {name} (creator side); Consensus." in page


def test_a_consensus_names_each_right_to_left_respondent_isolated_where_it_is_listed(
    app: Flask, signed_in: FlaskClient
) -> None:
    # Two right-to-left names in one isolated note would be read as one run and swap places.
    engagement_id = create_engagement(signed_in)
    arabic, hebrew = "محمد الأحمد", "דנה לוי"
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        for name, side, answers in (
            (arabic, "producer", ANSWERS),
            (hebrew, "creator", CREATOR_ANSWERS),
        ):
            engagement.respondents.append(
                Respondent(name=name, side=side, answers=dict(answers), submitted_at=utcnow())
            )
        db.session.commit()
    path = post(signed_in, f"/engagements/{engagement_id}/consensus").headers["Location"]
    named = f"Consensus of <bdi>{arabic}</bdi> and <bdi>{hebrew}</bdi>"
    assert named in signed_in.get(path).get_data(as_text=True)
    assert named in signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
