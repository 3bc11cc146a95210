"""Agreed values with notes: they travel in the decision JSON, and their history is read back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from webtools import ANSWERS

from assess.alignment import Alignment, Respondent, align
from assess.consensus import (
    Agreement,
    agree,
    carry_over,
    changes,
    history,
    load_agreement,
    moved_since,
    same_agreement,
    summary,
)
from assess.decision import Decision
from assess.engine import evaluate_respondents
from assess.models import Consultant, DecisionRecord
from assess.models import Respondent as RespondentRecord
from assess.questionnaire import decide

BASE = ANSWERS
CREATOR = {**BASE, "timeline_pressure": 5, "iteration_readiness": 1}


def pair(creator: dict[str, int] = CREATOR) -> list[Respondent]:
    return [Respondent("Ann Lee", "producer", BASE), Respondent("Bo Chen", "creator", creator)]


def test_notes_travel_through_the_decision_json() -> None:
    notes = {"timeline_pressure": "The festival deadline is fixed; both sides accept it."}
    decision = evaluate_respondents(pair(), {"timeline_pressure": 5}, notes)
    assert decision.alignment is not None and decision.alignment.notes == notes
    data = json.loads(json.dumps(decision.to_dict()))
    assert data["alignment"]["notes"] == notes
    # The public keys stay as documented.
    assert {"factors", "significant", "individual", "consensus"} <= set(data["alignment"])
    again = Decision.from_dict(data)
    assert again.to_dict() == decision.to_dict()
    assert again.alignment is not None and again.alignment.notes == notes


def test_alignment_without_notes_reads_back_empty() -> None:
    data = align(pair()).to_dict()
    assert data["notes"] == {}
    del data["notes"]  # stored before notes existed
    assert Alignment.from_dict(data).notes == {}


def test_empty_notes_are_not_kept() -> None:
    alignment = align(
        pair(), {"timeline_pressure": 4}, {"timeline_pressure": "", "innovation": "x"}
    )
    assert alignment.notes == {"innovation": "x"}


def test_notes_do_not_change_the_decision_itself() -> None:
    plain = evaluate_respondents(pair(), {"timeline_pressure": 4})
    noted = evaluate_respondents(pair(), {"timeline_pressure": 4}, {"timeline_pressure": "why"})
    assert (plain.model, plain.protocols, plain.trace) == (
        noted.model,
        noted.protocols,
        noted.trace,
    )


def test_adjusting_a_consensus_keeps_its_notes() -> None:
    notes = {"iteration_readiness": "Two-week sprints for the online series only."}
    stored = evaluate_respondents(pair(), {"iteration_readiness": 3}, notes, what_if=True)
    adjusted = decide({**stored.answers, "innovation": 2}, based_on=stored)
    assert adjusted.alignment is not None
    assert adjusted.alignment.notes == notes
    assert adjusted.alignment.agreed == {"iteration_readiness": 3, "innovation": 2}


def test_agree_sets_and_removes_a_value_with_its_note() -> None:
    stored = evaluate_respondents(pair(), what_if=True)
    assert stored.alignment is not None and stored.alignment.consensus["timeline_pressure"] == 4
    first = agree(stored, Agreement("timeline_pressure", 5, "A soft launch in spring."))
    assert first.alignment is not None
    assert first.alignment.agreed == {"timeline_pressure": 5}
    assert first.answers["timeline_pressure"] == 5
    assert first.alignment.notes == {"timeline_pressure": "A soft launch in spring."}
    back = agree(first, Agreement("timeline_pressure", None, "The date is fixed after all."))
    assert back.alignment is not None and back.alignment.agreed == {}
    assert back.answers["timeline_pressure"] == 4
    assert back.alignment.notes == {"timeline_pressure": "The date is fixed after all."}
    with pytest.raises(ValueError, match="only a decision on several respondents"):
        agree(decide(BASE), Agreement("innovation", 3, "one answer set has no consensus"))


def test_changes_and_summary() -> None:
    first = agree(evaluate_respondents(pair()), Agreement("timeline_pressure", 5, "A soft launch."))
    alignment = first.alignment
    assert alignment is not None
    assert not changes(alignment, Agreement("timeline_pressure", 5, "A soft launch."))
    assert changes(alignment, Agreement("timeline_pressure", 5, "Another reason."))
    assert changes(alignment, Agreement("timeline_pressure", None, "A soft launch."))
    assert changes(alignment, Agreement("innovation", 4, "Same level, now agreed."))
    assert summary(Agreement("timeline_pressure", 3, "n"), alignment) == (
        "Timeline pressure: agreed 3 (was 5)"
    )
    assert summary(Agreement("timeline_pressure", 5, "n"), alignment) == (
        "Timeline pressure: note on the agreed value 5"
    )
    assert summary(Agreement("timeline_pressure", None, "n"), alignment).endswith(
        "back to the cautious middle (was 5)"
    )
    innovation = alignment.consensus["innovation"]
    assert summary(Agreement("innovation", innovation, "n"), alignment) == (
        f"Innovation requirements: {innovation} confirmed as agreed"
    )


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"value": "3", "note": "ok"}, "factor"),
        ({"factor": "nonsense", "value": "3", "note": "ok"}, "factor"),
        ({"factor": "innovation", "note": "ok"}, "value"),
        ({"factor": "innovation", "value": "6", "note": "ok"}, "value"),
        ({"factor": "innovation", "value": "0", "note": "ok"}, "value"),
        ({"factor": "innovation", "value": "3"}, "note"),
        ({"factor": "innovation", "value": "3", "note": "   "}, "note"),
        ({"factor": "innovation", "value": "3", "note": "x" * 281}, "note"),
        ({"factor": "innovation", "value": "3", "note": "bell\x07"}, "note"),
    ],
)
def test_agreement_form_names_the_bad_field(form: dict[str, str], field: str) -> None:
    agreement, errors = load_agreement(form)
    assert agreement is None
    assert list(errors) == [field]


def test_agreement_form_reads_levels_and_the_middle() -> None:
    assert load_agreement({"factor": "innovation", "value": "2", "note": " Why \n"}) == (
        Agreement("innovation", 2, "Why"),
        {},
    )
    assert load_agreement({"factor": "innovation", "value": "middle", "note": "n"})[0] == (
        Agreement("innovation", None, "n")
    )


def _record(number: int, decision: Decision, who: Consultant | None = None) -> DecisionRecord:
    return DecisionRecord(
        id=number,
        data=decision.to_dict(),
        created_at=datetime(2026, 11, 23, 9, tzinfo=UTC) + timedelta(minutes=number),
        created_by=who,
    )


def test_history_lists_each_change_with_its_note() -> None:
    cara = Consultant(email="cara@example.com", name="Cara Diaz", password_hash="x")
    start = evaluate_respondents(pair())
    first = agree(start, Agreement("timeline_pressure", 5, "A soft launch."))
    noted = agree(first, Agreement("timeline_pressure", 5, "A soft launch in spring."))
    undone = agree(noted, Agreement("timeline_pressure", None, "The date is fixed."))
    single = decide(BASE)  # a single answer set is not part of any consensus
    rerun = evaluate_respondents(pair(), {}, undone.alignment.notes if undone.alignment else {})
    other = evaluate_respondents(pair({**CREATOR, "innovation": 1}), {"innovation": 2}, {})
    records = [
        _record(6, other, cara),
        _record(5, rerun),
        _record(1, start, cara),
        _record(2, first, cara),
        _record(3, noted, cara),
        _record(4, undone, cara),
        _record(7, single),
    ]
    entries = history(records)
    assert [e.decision_id for e in entries] == [1, 2, 3, 4, 6]
    assert entries[0].started and entries[0].changes == () and entries[0].who == "Cara Diaz"
    [set_value] = entries[1].changes
    assert (set_value.factor.key, set_value.before, set_value.after) == ("timeline_pressure", 4, 5)
    assert (set_value.before_agreed, set_value.after_agreed) == (False, True)
    assert set_value.note == "A soft launch." and set_value.value_changed
    [note_only] = entries[2].changes
    assert not note_only.value_changed and note_only.note == "A soft launch in spring."
    [removed] = entries[3].changes
    assert (removed.before, removed.after, removed.after_agreed) == (5, 4, False)
    assert entries[3].at == datetime(2026, 11, 23, 9, 4, tzinfo=UTC)
    # Different answers start a new consensus; its agreed values are listed as its start.
    assert entries[4].started
    [initial] = entries[4].changes
    assert (initial.factor.key, initial.after, initial.after_agreed) == ("innovation", 2, True)


def test_confirming_the_middle_as_agreed_is_a_change_of_value_in_the_history() -> None:
    """The level stays, but it is now agreed rather than the cautious middle: the history
    shows that move, not a mere note."""
    start = evaluate_respondents(pair())
    level = start.answers["innovation"]
    confirmed = agree(start, Agreement("innovation", level, "Both sides settle on it."))
    [entry] = history([_record(1, start), _record(2, confirmed)])[1:]
    [change] = entry.changes
    assert (change.before, change.after) == (level, level)
    assert (change.before_agreed, change.after_agreed) == (False, True)
    assert change.value_changed


def test_a_consensus_started_with_a_reason_but_no_agreed_level_lists_the_reason() -> None:
    started = evaluate_respondents(pair(), {}, {"timeline_pressure": "The date is fixed."})
    [entry] = history([_record(1, started)])
    [reason] = entry.changes
    assert (reason.factor.key, reason.after_agreed) == ("timeline_pressure", False)
    assert reason.note == "The date is fixed."
    assert reason.before == reason.after == started.answers["timeline_pressure"]


def test_a_new_consensus_that_carries_nothing_over_names_no_earlier_decision() -> None:
    first = evaluate_respondents(pair())
    anew = evaluate_respondents(pair({**CREATOR, "innovation": 1}))
    entries = history([_record(1, first), _record(2, anew)])
    assert [(e.decision_id, e.started, e.changes) for e in entries] == [
        (1, True, ()),
        (2, True, ()),
    ]
    assert entries[1].carried_from is None


def test_the_same_agreement_needs_the_same_answers_agreed_values_and_reasons() -> None:
    agreed = {key: 3 for key in BASE}
    notes = {"innovation": "Settled in the workshop."}
    decided = evaluate_respondents(pair(), agreed, notes)
    assert same_agreement(decided, evaluate_respondents(pair(), agreed, notes))
    other_reason = {"innovation": "Settled by email."}
    assert not same_agreement(decided, evaluate_respondents(pair(), agreed, other_reason))
    # Every level agreed: other answers give the same consensus, yet another agreement.
    others = evaluate_respondents(pair({**CREATOR, "innovation": 1}), agreed, notes)
    assert others.answers == decided.answers
    assert not same_agreement(decided, others)
    assert not same_agreement(decided, decide(BASE))  # a single answer set agrees nothing


def test_answers_moved_since_are_matched_to_the_same_answers_first() -> None:
    """Two respondents of one name and side (invited twice): the one whose answers the
    consensus combined is still there, so only the other is new."""
    decided = evaluate_respondents(pair())
    assert decided.alignment is not None
    when = datetime(2026, 11, 23, 9, tzinfo=UTC)

    def submitted(name: str, side: str, answers: dict[str, int]) -> RespondentRecord:
        return RespondentRecord(name=name, side=side, answers=answers, submitted_at=when)

    again = {**BASE, "innovation": 1}
    now = [
        submitted("Ann Lee", "producer", again),
        submitted("Ann Lee", "producer", BASE),
        submitted("Bo Chen", "creator", CREATOR),
    ]
    [moved] = moved_since(decided.alignment, now)
    assert (moved.name, moved.how, moved.changes) == ("Ann Lee", "joined", ())


def test_the_same_people_on_other_sides_start_a_new_consensus() -> None:
    first = evaluate_respondents(pair())
    swapped = evaluate_respondents(
        [Respondent("Ann Lee", "creator", BASE), Respondent("Bo Chen", "producer", CREATOR)]
    )
    entries = history([_record(1, first), _record(2, swapped)])
    assert [(e.decision_id, e.started) for e in entries] == [(1, True), (2, True)]


def test_agreed_levels_carry_over_whatever_order_the_respondents_come_in() -> None:
    agreed = agree(evaluate_respondents(pair()), Agreement("timeline_pressure", 5, "Spring."))
    carried = carry_over(_record(1, agreed), list(reversed(pair())))
    assert (carried.agreed, carried.notes, carried.dropped) == (
        {"timeline_pressure": 5},
        {"timeline_pressure": "Spring."},
        {},
    )
