"""Where the parties started apart: every view, the agreed level and its note, mediation topics."""

from __future__ import annotations

from conftest import make_details

from assess import charter
from assess.alignment import Respondent
from assess.charter.render import discussion_items
from assess.engine import evaluate_respondents
from assess.factors import FACTOR_KEYS

NOTE = "Shared calls on story & tone <b>only</b>; the edit stays with the director."


def three_way() -> list[Respondent]:
    base = dict.fromkeys(FACTOR_KEYS, 3)
    return [
        Respondent("Ann Lee", "producer", base | {"creative_collaboration": 1}),
        Respondent("Bo Chen", "creator", base | {"creative_collaboration": 5}),
        Respondent("Cy Ode", "creator", base | {"creative_collaboration": 4, "innovation": 5}),
    ]


def test_each_discussion_item_carries_every_view_the_settled_level_and_its_note() -> None:
    notes = {"creative_collaboration": NOTE, "innovation": "Kept at the middle for now."}
    decision = evaluate_respondents(three_way(), {"creative_collaboration": 3}, notes)
    items = {item.factor.key: item for item in discussion_items(decision)}
    assert list(items) == ["creative_collaboration", "innovation"]  # largest gap first
    creative = items["creative_collaboration"]
    assert [(name, level) for name, _, level in creative.views] == [
        ("Ann Lee", 1),
        ("Bo Chen", 5),
        ("Cy Ode", 4),
    ]
    assert (creative.settled, creative.agreed, creative.note) == (3, True, NOTE)
    assert (items["innovation"].agreed, items["innovation"].note) == (
        False,
        "Kept at the middle for now.",
    )

    html = charter.to_html(decision, make_details())
    part = html.split('id="section-alignment"', 1)[1].split("</section>", 1)[0]
    assert "Cy Ode" in part and part.count('class="agreed-note"') == 2
    # The note is the consultant's text: escaped, never markup.
    assert "Shared calls on story &amp; tone &lt;b&gt;only&lt;/b&gt;" in part
    assert "<b>only</b>" not in html
    mediation = html.split('id="clause-mediation"', 1)[1].split("</article>", 1)[0]
    topics = mediation.split("First topics", 1)[1]
    assert topics.index("depth of creative collaboration") < topics.index("innovation requirements")
    assert "starts from the level this charter rests on there" in topics


def test_a_level_nobody_agreed_is_never_called_settled() -> None:
    decision = evaluate_respondents(three_way())
    html = charter.to_html(decision, make_details())
    part = html.split('id="section-alignment"', 1)[1].split("</section>", 1)[0]
    assert part.count("Cautious middle, not yet agreed") == 2
    assert "settled on" not in html.lower()
    assert "Agreed after discussion" not in part


def test_a_value_a_stricter_rule_replaced_is_named_in_the_appendix() -> None:
    far_apart = [
        Respondent("Ann Lee", "producer", dict.fromkeys(FACTOR_KEYS, 1) | {"timeline_pressure": 5}),
        Respondent("Bo Chen", "creator", dict.fromkeys(FACTOR_KEYS, 4) | {"timeline_pressure": 5}),
    ]
    decision = evaluate_respondents(far_apart)
    mediation = decision.protocol("mediation")
    assert mediation is not None and mediation.params["trigger_days"] < 10
    html = charter.to_html(decision, make_details())
    row = html.split("alignment-earlier-mediation", 1)[1].split("</tr>", 1)[0]
    assert "within 10 days at the latest" in row
    days = mediation.params["trigger_days"]
    assert (
        "Another rule is stricter, so this applies: Unresolved disagreement triggers "
        f"mediation after {days} days." in row
    )


def test_no_note_no_note_line() -> None:
    decision = evaluate_respondents(three_way(), {"creative_collaboration": 3})
    html = charter.to_html(decision, make_details())
    assert 'class="agreed-note"' not in html and "Agreed after discussion" in html


def test_partners_never_far_apart_get_a_charter_without_the_section() -> None:
    base = dict.fromkeys(FACTOR_KEYS, 3)
    close = [
        Respondent("Ann Lee", "producer", base),
        Respondent("Bo Chen", "creator", base | {"innovation": 4, "risk_tolerance": 2}),
    ]
    decision = evaluate_respondents(close)
    assert decision.alignment is not None and not decision.alignment.significant
    html = charter.to_html(decision, make_details())
    assert 'id="section-alignment"' not in html and "Bo Chen" in html
    assert charter.to_pdf(decision, make_details()).startswith(b"%PDF-")


def test_an_intake_session_is_named_as_both_parties_answering_together() -> None:
    base = dict.fromkeys(FACTOR_KEYS, 3)
    session = Respondent("Intake with Dee Park", "joint", base | {"creative_collaboration": 1})
    creator = Respondent("Bo Chen", "creator", base | {"creative_collaboration": 5})
    decision = evaluate_respondents([session, creator])
    [item] = discussion_items(decision)
    assert [side for _, side, _ in item.views] == ["Both parties together", "Creator side"]

    html = charter.to_html(decision, make_details())
    assert "(both parties together)" in html  # the chart's legend
    assert "Joint" not in html


def started_apart(respondents: list[Respondent]) -> str:
    html = charter.to_html(evaluate_respondents(respondents), make_details())
    part = html.split('id="section-alignment"', 1)[1].split("</section>", 1)[0]
    return part.split("</p>", 1)[0]


def test_how_the_parties_answered_is_said_as_it_happened() -> None:
    ann, bo, _ = three_way()
    session = Respondent("Intake session", "joint", dict(bo.answers))
    second = Respondent("Intake session 2", "joint", dict(ann.answers))
    assert "The Parties answered the assessment separately." in started_apart([ann, bo])
    # Answers given together in an intake session were not given separately.
    mixed = started_apart([ann, bo, session])
    assert "separately" not in mixed.replace("separately and together", "")
    assert (
        "The Parties answered the assessment separately and together in an intake session." in mixed
    )
    assert "The Parties answered the assessment together in 2 intake sessions." in (
        started_apart([session, second])
    )


def test_one_name_on_each_side_is_told_apart_beside_each_level() -> None:
    # One person may answer for each side: the appendix's levels say which side is which.
    base = dict.fromkeys(FACTOR_KEYS, 3)
    people = [
        Respondent("Alex Kim", "producer", base | {"innovation": 1}),
        Respondent("Alex Kim", "creator", base | {"innovation": 5}),
        Respondent("Bo Chen", "creator", base),
    ]
    html = charter.to_html(evaluate_respondents(people), make_details())
    appendix = html.split('id="section-answers"', 1)[1].split("</section>", 1)[0]
    own = appendix.split("Innovation requirements", 1)[1].split("</tr>", 1)[0]
    assert "Alex Kim\u2069 (producer side)&nbsp;1" in own
    assert "Alex Kim\u2069 (creator side)&nbsp;5" in own
    assert "Bo Chen\u2069&nbsp;3" in own  # a name nobody else has stays as it is


def test_a_level_agreed_where_the_answers_were_close_says_so_with_its_reason() -> None:
    # Both answered 2; the Parties agreed 4: the appendix says why the level is neither's.
    base = dict.fromkeys(FACTOR_KEYS, 3)
    people = [
        Respondent("Ann Lee", "producer", base | {"innovation": 2, "risk_tolerance": 1}),
        Respondent("Bo Chen", "creator", base | {"innovation": 2, "risk_tolerance": 4}),
    ]
    notes = {"innovation": "The pilot proved the format.", "risk_tolerance": "Kept low."}
    decision = evaluate_respondents(people, {"innovation": 4, "risk_tolerance": 2}, notes)
    html = charter.to_html(decision, make_details())
    appendix = html.split('id="section-answers"', 1)[1].split("</section>", 1)[0]
    innovation = appendix.split("Innovation requirements", 1)[1].split("</tr>", 1)[0]
    assert "Agreed after discussion. Why: \u2068The pilot proved the format.\u2069" in innovation
    # A gap far apart has its reason in the section on where the Parties started apart.
    risk = appendix.split("Risk tolerance", 1)[1].split("</tr>", 1)[0]
    assert "Agreed after discussion" in risk and "Kept low." not in risk
    assert (
        "Agreed after discussion"
        not in appendix.split("Resource availability", 1)[1].split("</tr>", 1)[0]
    )


def test_the_gaps_are_topics_only_for_the_clauses_the_charter_holds() -> None:
    import dataclasses

    ann, bo, _ = three_way()
    decision = evaluate_respondents([ann, bo])
    ids = [protocol.id for protocol in decision.protocols]
    assert {"alignment_workshop", "mediation"} <= set(ids)

    def opening(*dropped: str) -> str:
        kept = tuple(p for p in decision.protocols if p.id not in dropped)
        html = charter.to_html(dataclasses.replace(decision, protocols=kept), make_details())
        part = html.split('id="section-alignment"', 1)[1].split("</section>", 1)[0]
        return part.split("</p>", 1)[0]

    both = opening()
    assert "first topics for the alignment workshop (clause&nbsp;5.3) and for mediation" in both
    # A rulebook without the workshop must not promise one.
    without = opening("alignment_workshop")
    assert "workshop" not in without and "first topics for mediation (clause&nbsp;5.2)." in without
    assert "first topics" not in opening("alignment_workshop", "mediation")


def test_a_right_to_left_name_on_each_side_is_isolated_apart_from_its_side() -> None:
    # Isolated together, an Arabic name would set "(producer side)" to its left.
    base = dict.fromkeys(FACTOR_KEYS, 3)
    name = "محمد الأحمد"
    people = [
        Respondent(name, "producer", base | {"innovation": 1}),
        Respondent(name, "creator", base | {"innovation": 5}),
    ]
    html = charter.to_html(evaluate_respondents(people), make_details())
    appendix = html.split('id="section-answers"', 1)[1].split("</section>", 1)[0]
    own = appendix.split("Innovation requirements", 1)[1].split("</tr>", 1)[0]
    assert f"\u2068{name}\u2069 (producer side)&nbsp;1" in own
    assert f"\u2068{name}\u2069 (creator side)&nbsp;5" in own
