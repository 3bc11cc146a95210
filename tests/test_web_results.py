"""Facilitated sessions and the result page: snapshots, adjusting, confirming."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from webtools import (
    ANSWERS,
    CREATOR_ANSWERS,
    answer_through_link,
    create_engagement,
    invite,
    login,
    make_consultant,
    post,
    submitted,
    submitted_pair,
)

from assess.engine import evaluate
from assess.extensions import db
from assess.factors import FACTOR_KEYS, FACTORS
from assess.models import DecisionRecord, Respondent, utcnow
from assess.partnership import BY_KEY as MODEL_BY_KEY
from assess.protocols import BY_ID

pytestmark = pytest.mark.db


def decisions(app: Flask) -> list[DecisionRecord]:
    with app.app_context():
        return list(db.session.scalars(select(DecisionRecord).order_by(DecisionRecord.id)))


def run_session(client: FlaskClient, engagement_id: int, answers: dict[str, int]) -> str:
    data = {k: str(v) for k, v in answers.items()}
    response = post(client, f"/engagements/{engagement_id}/session", {**data, "action": "decide"})
    assert response.status_code == 303, response.get_data(as_text=True)
    return str(response.headers["Location"])


def session_kept_as(
    app: Flask, client: FlaskClient, change: Callable[[dict[str, Any]], dict[str, Any]]
) -> str:
    """Run a session on a new engagement, then change its stored decision as an older
    version of the app would have kept it; return the result page's path."""
    path = run_session(client, create_engagement(client), ANSWERS)
    with app.app_context():
        record = db.session.scalars(select(DecisionRecord)).one()
        record.data = change(dict(record.data))
        db.session.commit()
    return path


def test_session_page_shows_every_factor_with_help(signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    page = signed_in.get(f"/engagements/{engagement_id}/session").get_data(as_text=True)
    assert page.count("<fieldset") == 8 and page.count("<legend>") == 8
    for factor in FACTORS:
        assert factor.help.replace("'", "&#39;") in page
        assert factor.anchors[4].replace("'", "&#39;") in page
    assert 'class="facilitator"' in page


def test_facilitated_session_stores_a_decision_snapshot(app: Flask, signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    result_path = run_session(signed_in, engagement_id, ANSWERS)
    [record] = decisions(app)
    assert result_path == f"/engagements/{engagement_id}/decisions/{record.id}"
    expected = evaluate(ANSWERS, what_if=True)
    assert record.data == expected.to_dict()
    assert record.rules_version == expected.rules_version and record.model == expected.model

    page = signed_in.get(result_path).get_data(as_text=True)
    assert expected.title.replace("'", "&#39;") in page
    for chosen in expected.protocols:
        assert BY_ID[chosen.id].title in page
    for reason in expected.trace:
        assert reason.because.replace("'", "&#39;") in page
    assert expected.what_if  # these answers have tipping points: each one is listed
    for tipping in expected.what_if:
        assert tipping.sentence().replace("'", "&#39;") in page
    assert 'role="img"' in page and '<title id="result-radar-title">' in page
    shown = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert 'status-large status-decided">Decided</span>' in shown


def test_stored_decision_is_shown_as_stored_even_if_rules_change(
    app: Flask, signed_in: FlaskClient
) -> None:
    older = {
        "rules_version": "an-older-rules-version",
        "trace": [{"rule": "old", "file": "rules/old.yaml", "because": "An old reason."}],
    }
    path = session_kept_as(app, signed_in, lambda data: {**data, **older})
    page = signed_in.get(path).get_data(as_text=True)
    assert "An old reason." in page and "an-older-rules-" in page
    assert "Made with earlier rules." in page
    # Reasons stored before they carried their stage are listed as one.
    assert "What the recommendation rests on" not in page

    # Re-evaluating stores a new snapshot and leaves the old one as it was.
    response = post(signed_in, f"{path}/reevaluate")
    assert response.status_code == 303
    old, new = decisions(app)
    assert old.data["rules_version"] == "an-older-rules-version"
    assert (
        new.data == evaluate(ANSWERS, what_if=True).to_dict()
        and new.respondent_id == old.respondent_id
    )
    fresh = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Made with earlier rules." not in fresh
    # Why the model first, starting with the scores; then how the protocols were set.
    rests, _, tuned = fresh.partition("How the protocols were set")
    assert "What the recommendation rests on" in rests and tuned
    first_reason = rests.split("What the recommendation rests on")[1].split("<li>")[1]
    assert first_reason.startswith("Scores: ")
    governance = next(r for r in new.data["trace"] if r["rule"] == "baseline-governance")
    assert governance["because"][:40] in tuned.split("</ul>")[0]
    assert post(signed_in, f"{response.headers['Location']}/reevaluate").status_code == 302
    assert len(decisions(app)) == 2


def test_a_decision_stored_without_tipping_points_is_not_called_stable(
    app: Flask, signed_in: FlaskClient
) -> None:
    # Kept before tipping points were: nobody looked one step away from these answers.
    path = session_kept_as(
        app, signed_in, lambda data: {k: v for k, v in data.items() if k != "what_if"}
    )
    page = signed_in.get(path).get_data(as_text=True)
    assert "stable result" not in page and "Tipping points" not in page


def test_a_recommendation_no_model_fits_well_says_so(app: Flask, signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    clear = signed_in.get(run_session(signed_in, engagement_id, ANSWERS)).get_data(as_text=True)
    assert "No model fits" not in clear
    against_every_model = dict(zip(FACTOR_KEYS, (1, 5, 1, 1, 1, 1, 1, 4), strict=True))
    path = run_session(signed_in, engagement_id, against_every_model)
    page = signed_in.get(path).get_data(as_text=True)
    assert (
        '<p class="notice notice-warning">No model fits these answers well: each has as much '
        "against it as for it, or more. Integrated Co-Creation is recommended because the "
        "least speaks against it; talk the answers through before building on it.</p>"
    ) in page
    assert max(decisions(app)[-1].data["scores"].values()) <= 0


def test_session_can_be_saved_and_resumed(app: Flask, signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    response = post(
        signed_in, f"/engagements/{engagement_id}/session", {"innovation": "5", "action": "save"}
    )
    assert response.status_code == 302
    page = signed_in.get(f"/engagements/{engagement_id}/session").get_data(as_text=True)
    assert 'id="innovation-5" name="innovation" value="5" checked' in page
    assert decisions(app) == []
    run_session(signed_in, engagement_id, {k: v for k, v in ANSWERS.items() if k != "innovation"})
    [record] = decisions(app)
    assert record.answers["innovation"] == 5
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Respondent)) == 1


def test_incomplete_or_bad_session_is_refused_and_nothing_stored(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    partial = {k: str(v) for k, v in list(ANSWERS.items())[:6]}
    response = post(
        signed_in, f"/engagements/{engagement_id}/session", {**partial, "action": "decide"}
    )
    assert response.status_code == 422
    assert response.get_data(as_text=True).count("Choose one of the five levels.") >= 2
    bad = {**partial, "iteration_readiness": "7", "action": "save"}
    response = post(signed_in, f"/engagements/{engagement_id}/session", bad)
    assert response.status_code == 422
    assert b"Choose a level from 1 to 5." in response.data
    assert decisions(app) == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Respondent)) == 0


def adjusted_query(**changes: int) -> str:
    return urlencode({"adjust": "1", **{k: str(v) for k, v in {**ANSWERS, **changes}.items()}})


def test_adjusting_an_answer_previews_without_storing(app: Flask, signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    path = run_session(signed_in, engagement_id, ANSWERS)
    stored = evaluate(ANSWERS, what_if=True)
    tipping = (stored.what_if or ())[0]
    change = {tipping.factor: tipping.to_level}
    page = signed_in.get(f"{path}?{adjusted_query(**change)}").get_data(as_text=True)
    preview = evaluate({**ANSWERS, **change})
    assert "Preview, not stored." in page
    assert f"changes from <strong>{stored.title}" in page.replace("&#39;", "'")
    assert preview.title.replace("'", "&#39;") in page
    assert len(decisions(app)) == 1


def test_confirming_an_adjustment_stores_a_new_snapshot(app: Flask, signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    path = run_session(signed_in, engagement_id, ANSWERS)
    changed = {**ANSWERS, "iteration_readiness": 1}
    response = post(signed_in, f"{path}/confirm", {k: str(v) for k, v in changed.items()})
    assert response.status_code == 303
    first, second = decisions(app)
    assert first.answers == ANSWERS and second.answers == changed
    assert second.data == evaluate(changed, what_if=True).to_dict()
    assert "Adjusted from decision" in second.note
    assert response.headers["Location"].endswith(f"/decisions/{second.id}")


def test_confirming_unchanged_answers_stores_nothing(app: Flask, signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    path = run_session(signed_in, engagement_id, ANSWERS)
    response = post(signed_in, f"{path}/confirm", {k: str(v) for k, v in ANSWERS.items()})
    assert response.status_code == 302
    assert len(decisions(app)) == 1


@pytest.mark.parametrize("value", ["0", "6", "x", ""])
def test_bad_adjustment_is_reported(app: Flask, signed_in: FlaskClient, value: str) -> None:
    engagement_id = create_engagement(signed_in)
    path = run_session(signed_in, engagement_id, ANSWERS)
    query = adjusted_query().replace("innovation=4", f"innovation={value}")
    response = signed_in.get(f"{path}?{query}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r"Choose (a|one of the five) level", page)
    # The summary links to the factor's first level, as the questionnaire's does.
    assert '<a href="#adjust-innovation-1">' in page and 'id="adjust-innovation-1"' in page
    form = {k: str(v) for k, v in ANSWERS.items()} | {"innovation": value}
    assert post(signed_in, f"{path}/confirm", form).status_code == 422
    assert len(decisions(app)) == 1


def test_bad_adjustment_keeps_what_was_sent_and_marks_the_error(
    app: Flask, signed_in: FlaskClient
) -> None:
    engagement_id = create_engagement(signed_in)
    path = run_session(signed_in, engagement_id, ANSWERS)
    query = adjusted_query(innovation=9, risk_tolerance=1)
    response = signed_in.get(f"{path}?{query}")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    checked = dict(re.findall(r'<input type="radio" id="adjust-(\w+)-(\d)"[^>]* checked>', page))
    # The valid level sent comes back, not the stored one; the refused one is left unchosen.
    assert checked["risk_tolerance"] == "1"
    assert "innovation" not in checked
    assert checked == {k: str(v) for k, v in ANSWERS.items() if k != "innovation"} | {
        "risk_tolerance": "1"
    }
    # Marked as on every other form, the prefix read out before the message.
    assert re.search(
        r'<p class="field-error" id="adjust-error-innovation">'
        r'<span class="visually-hidden">Error:</span> Choose a level from 1 to 5\.</p>',
        page,
    )
    assert 'aria-describedby="adjust-error-innovation"' in page
    # Nothing is offered to store while the answers are refused.
    assert "Store as a new decision" not in page
    assert len(decisions(app)) == 1


def test_refused_confirmation_keeps_what_was_sent(app: Flask, signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    path = run_session(signed_in, engagement_id, ANSWERS)
    form = {k: str(v) for k, v in ANSWERS.items()} | {"innovation": "x", "planning_complexity": "5"}
    response = post(signed_in, f"{path}/confirm", form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    checked = dict(re.findall(r'<input type="radio" id="adjust-(\w+)-(\d)"[^>]* checked>', page))
    assert checked["planning_complexity"] == "5" and "innovation" not in checked
    assert len(decisions(app)) == 1


def test_results_are_private_to_their_consultant(app: Flask, client: FlaskClient) -> None:
    make_consultant(app)
    login(client)
    engagement_id = create_engagement(client)
    path = run_session(client, engagement_id, ANSWERS)
    other_id = create_engagement(client, project_name="Other")
    post(client, "/logout")
    make_consultant(app, "dev@example.com")
    login(client, "dev@example.com")
    assert client.get(path).status_code == 404
    form = {k: str(v) for k, v in ANSWERS.items()}
    assert post(client, f"{path}/confirm", form).status_code == 404
    post(client, "/logout")
    login(client)
    decision_id = path.rsplit("/", 1)[1]
    # A decision is only reachable through its own engagement.
    assert client.get(f"/engagements/{other_id}/decisions/{decision_id}").status_code == 404
    assert len(decisions(app)) == 1


def test_engagement_page_compares_respondents(app: Flask, signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    now = utcnow()
    with app.app_context():
        from assess.models import Engagement

        engagement = db.session.get(Engagement, engagement_id)
        assert engagement is not None
        engagement.respondents.append(
            Respondent(name="Ann Lee", side="producer", answers=dict(ANSWERS), submitted_at=now)
        )
        changed = {**ANSWERS, "innovation": 1}
        engagement.respondents.append(
            Respondent(name="Bo Chen", side="creator", answers=changed, submitted_at=now)
        )
        db.session.commit()
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert "Answers side by side" in page
    assert "1 factor</strong> differs" in page and "Discuss" in page
    assert page.count('class="series ') == 2


# How many factors the creator side answers far from the producer side, and the answers.
GAPS = {
    1: {**ANSWERS, "innovation": 1 if ANSWERS["innovation"] > 2 else 5},
    2: CREATOR_ANSWERS,
}


@pytest.mark.parametrize("gaps", sorted(GAPS))
def test_the_count_of_factors_far_apart_agrees_with_its_verb(
    app: Flask, signed_in: FlaskClient, gaps: int
) -> None:
    engagement_id = create_engagement(signed_in)
    submitted_pair(app, engagement_id, GAPS[gaps])
    engagement_page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    response = post(signed_in, f"/engagements/{engagement_id}/consensus")
    result_page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    [record] = decisions(app)
    assert record.alignment is not None and len(record.alignment.significant) == gaps
    one = gaps == 1
    said = {
        engagement_page: f"{gaps} factor{'' if one else 's'}</strong> differ{'s' if one else ''} ",
        result_page: f"{gaps} factor{'' if one else 's'}</strong> show{'s' if one else ''} a ",
    }
    advice = {engagement_page: "discuss", result_page: "settle"}
    for page, count in said.items():
        assert count in page
        assert f"{advice[page]} {'it' if one else 'these'} first" in page


def test_consensus_decision_shows_where_the_partners_differ(
    app: Flask, signed_in: FlaskClient
) -> None:
    from assess.alignment import Respondent as Answering
    from assess.engine import evaluate_respondents

    engagement_id = create_engagement(signed_in)
    creator = {**ANSWERS, "iteration_readiness": 1, "timeline_pressure": 5}
    submitted_pair(app, engagement_id, creator)
    page = signed_in.get(f"/engagements/{engagement_id}").get_data(as_text=True)
    assert "Decide on the consensus" in page
    response = post(signed_in, f"/engagements/{engagement_id}/consensus")
    assert response.status_code == 303
    [record] = decisions(app)
    expected = evaluate_respondents(
        [Answering("Ann Lee", "producer", ANSWERS), Answering("Bo Chen", "creator", creator)],
        what_if=True,
    )
    assert record.data == expected.to_dict()
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert (
        "Where the respondents differ" in page
        and "2 factors</strong> show a significant gap" in page
    )
    assert "Each respondent's answers alone" in page

    # Adjusting a consensus value keeps the partners' answers: it becomes an agreed value,
    # with the reason the parties gave.
    consensus = expected.answers
    changed = {**consensus, "timeline_pressure": 2}
    reason = {"note-timeline_pressure": "The festival date can move."}
    response = post(
        signed_in,
        f"{response.headers['Location']}/confirm",
        {**{k: str(v) for k, v in changed.items()}, **reason},
    )
    assert response.status_code == 303
    adjusted = decisions(app)[-1].decision
    assert adjusted.alignment is not None and adjusted.alignment.agreed == {"timeline_pressure": 2}
    assert adjusted.alignment.notes == {"timeline_pressure": "The festival date can move."}
    assert adjusted.answers == changed


def test_each_partner_heads_a_column_with_a_short_name_that_tells_them_apart(
    app: Flask, signed_in: FlaskClient
) -> None:
    """Where the gaps table is narrow for full names (app.css), each column shows a short one:
    the first name, with initials where two would read alike, never a title such as "Dr.";
    the full name stays in the header for screen readers and as the short name's title."""

    engagement_id = create_engagement(signed_in)
    people = ("Ann Lee", "Ann Moss", "Dr. Cy Diaz", "欧阳建国", "بو تشن")
    sides = ("producer", "creator", "producer", "creator", "producer")
    submitted(app, engagement_id, ((n, s, ANSWERS) for n, s in zip(people, sides, strict=True)))
    consensus = post(signed_in, f"/engagements/{engagement_id}/consensus").headers["Location"]
    page = signed_in.get(consensus).get_data(as_text=True)
    head = page.split('class="table alignment-table partners-many"', 1)[1].split("</thead>")[0]
    headers = re.findall(r'<th scope="col" class="num partner">(.*?)</th>', head)
    short = '<span class="partner-short" aria-hidden="true" title="{0}"><bdi>{1}</bdi></span>'
    full = '<bdi class="partner-name">{0}</bdi><span class="th-sub">{1} side</span>'
    assert headers == [
        short.format("Ann Lee", "Ann L.") + full.format("Ann Lee", "Producer"),
        short.format("Ann Moss", "Ann M.") + full.format("Ann Moss", "Creator"),
        short.format("Dr. Cy Diaz", "Cy") + full.format("Dr. Cy Diaz", "Producer"),
        full.format("欧阳建国", "Creator"),  # one word: short already
        short.format("بو تشن", "بو") + full.format("بو تشن", "Producer"),
    ]


def test_consensus_needs_two_submitted_respondents(app: Flask, signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    response = post(signed_in, f"/engagements/{engagement_id}/consensus")
    assert response.status_code == 302
    assert decisions(app) == []


def test_the_newest_decision_leads_on_to_the_charter(signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    first = run_session(signed_in, engagement_id, ANSWERS)
    page = signed_in.get(first).get_data(as_text=True)
    charter = f'href="{first}/charter">Prepare the charter</a>'
    assert charter in page and "<h1>The recommendation</h1>" in page
    assert "Technical details" in page
    # A preview is not what the charter would be made from.
    preview = signed_in.get(f"{first}?{adjusted_query(innovation=1)}").get_data(as_text=True)
    assert charter not in preview
    changed = {**ANSWERS, "innovation": 1}
    response = post(signed_in, f"{first}/confirm", {k: str(v) for k, v in changed.items()})
    second = response.headers["Location"]
    assert second.endswith("/decisions/2")
    # One answer set: the adjustment is the engagement's decision, not a what-if.
    page = signed_in.get(second).get_data(as_text=True)
    assert "The adjusted decision is stored." in page and "what-if" not in page
    assert "Decision #2 · the engagement&#39;s decision" in page.replace("'", "&#39;")
    page = signed_in.get(first).get_data(as_text=True)
    assert "answers alone — not the engagement's decision." in page
    # The charter is prepared from the newest decision, not from an older one.
    assert "Prepare the charter</a>" not in signed_in.get(first).get_data(as_text=True)
    assert "Prepare the charter</a>" in signed_in.get(second).get_data(as_text=True)


def test_the_charter_waits_for_the_consensus_when_several_respondents_submitted(
    signed_in: FlaskClient,
) -> None:
    engagement_id = create_engagement(signed_in)
    engagement_path = f"/engagements/{engagement_id}"
    for name, side, answers in (
        ("Ann Lee", "producer", ANSWERS),
        ("Bo Chen", "creator", CREATOR_ANSWERS),
    ):
        link = invite(signed_in, engagement_id, respondent_name=name, side=side)
        answer_through_link(signed_in, link, answers)
    # The newest decision is Bo's alone: a charter made from it would leave Ann's answers out.
    bo_alone = f"{engagement_path}/decisions/2"
    page = signed_in.get(bo_alone).get_data(as_text=True)
    assert "Prepare the charter</a>" not in page
    assert f'href="{engagement_path}#compare-title">Decide on the consensus first</a>' in page
    page = signed_in.get(engagement_path).get_data(as_text=True)
    assert f'href="{bo_alone}/charter"' not in page
    assert "decide on their consensus first" in page

    consensus = post(signed_in, f"{engagement_path}/consensus").headers["Location"]
    page = signed_in.get(engagement_path).get_data(as_text=True)
    # Decided: the charter is the next step, so it is the page's main button.
    assert f'class="button button-primary" href="{consensus}/charter">Prepare the charter' in page
    page = signed_in.get(consensus).get_data(as_text=True)
    assert f'href="{consensus}/charter">Prepare the charter</a>' in page


def test_ring_numbers_sit_between_axes_on_top_of_the_answers(signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    page = signed_in.get(run_session(signed_in, engagement_id, ANSWERS)).get_data(as_text=True)
    svg = page.split('class="radar-svg"', 1)[1].split("</svg>", 1)[0]
    centre = float(re.search(r'class="axis" x1="([\d.]+)"', svg).group(1))  # type: ignore[union-attr]
    axes_x = {
        float(x) for x in re.findall(r'class="axis" x1="[\d.]+" y1="[\d.]+" x2="([\d.]+)"', svg)
    }
    numbers = re.findall(r'<text class="ring-label" x="([\d.]+)" y="[\d.]+"[^>]*>(\d)</text>', svg)
    assert [n for _, n in numbers] == ["1", "2", "3", "4", "5"]
    # Drawn after every answer polygon, tipping point and dot, so nothing covers them ...
    assert svg.index('class="ring-label"') > max(
        svg.rindex(mark)
        for mark in ('class="series', 'class="dot', 'class="tipping"')
        if mark in svg
    )
    # ... and off the axes, where the answers and tipping points are drawn.
    assert all(float(x) not in axes_x and float(x) != centre for x, _ in numbers)


def test_the_reasons_say_which_model_each_argues_for_and_which_value_applies(
    app: Flask, signed_in: FlaskClient
) -> None:
    from assess.alignment import Respondent as Answers
    from assess.engine import evaluate_respondents
    from assess.extensions import db
    from assess.models import Engagement
    from assess.questionnaire import record_decision

    engagement_id = create_engagement(signed_in)
    decision = evaluate_respondents(
        [
            Answers(
                "Ann Lee", "producer", dict.fromkeys(FACTOR_KEYS, 1) | {"timeline_pressure": 5}
            ),
            Answers("Bo Chen", "creator", dict.fromkeys(FACTOR_KEYS, 4) | {"timeline_pressure": 5}),
        ]
    )
    mediation = decision.protocol("mediation")
    assert mediation is not None and mediation.params["trigger_days"] < 10
    with app.app_context():
        engagement = db.session.get(Engagement, engagement_id)
        stored = record_decision(db.session, engagement, decision)  # type: ignore[arg-type]
        db.session.commit()
        decision_id = stored.id
    page = signed_in.get(f"/engagements/{engagement_id}/decisions/{decision_id}").get_data(
        as_text=True
    )
    assert re.search(
        r"Agile Production Partnership \+3, Integrated Co-Creation \u22121</span>", page
    )
    days = mediation.params["trigger_days"]
    assert (
        "Another rule is stricter, so this applies: unresolved disagreement triggers mediation "
        f"after {days} days." in page
    )


def test_parameters_read_as_they_do_in_the_charter(app: Flask, signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    page = signed_in.get(run_session(signed_in, engagement_id, ANSWERS)).get_data(as_text=True)
    [record] = decisions(app)
    mediation = record.decision.protocol("mediation")
    assert mediation is not None
    threshold = mediation.params["trust_threshold"]
    assert f"<dd>{threshold} out of 10</dd>" in page
    days = mediation.params["trigger_days"]
    assert f"<dd>{days} day{'' if days == 1 else 's'}</dd>" in page


def headings(page: str) -> list[str]:
    """Each heading's text, tags inside it left out."""
    found = re.findall(r"<h[1-6][^>]*>(.*?)</h[1-6]>", page, re.S)
    return [re.sub(r"<[^>]+>", "", text).strip() for text in found]


def test_a_single_model_is_named_once_and_a_hybrid_names_its_two(signed_in: FlaskClient) -> None:
    engagement_id = create_engagement(signed_in)
    single = evaluate(CREATOR_ANSWERS)
    page = signed_in.get(run_session(signed_in, engagement_id, CREATOR_ANSWERS)).get_data(
        as_text=True
    )
    assert single.model != "hybrid"
    assert headings(page).count(single.title) == 1
    assert headings(page).count("Strengths") == 1
    hybrid = evaluate(ANSWERS)
    page = signed_in.get(run_session(signed_in, engagement_id, ANSWERS)).get_data(as_text=True)
    assert hybrid.model == "hybrid"
    assert headings(page).count(hybrid.title) == 1
    for part in hybrid.components:
        assert headings(page).count(MODEL_BY_KEY[part].title) == 1
