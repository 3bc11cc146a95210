"""Several respondents: gaps, cautious consensus, individual decisions and the CLI form."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from answertools import INTEGRATED as BASE
from hypothesis import given
from hypothesis import strategies as st

from assess.alignment import (
    JOINT,
    Respondent,
    align,
    cautious_median,
    gap_level,
    in_sentence,
)
from assess.decision import Decision
from assess.engine import evaluate, evaluate_respondents
from assess.factors import FACTOR_KEYS


def pair(producer: dict[str, int], creator: dict[str, int]) -> list[Respondent]:
    return [Respondent("Ann Lee", "producer", producer), Respondent("Bo Chen", "creator", creator)]


@pytest.mark.parametrize(("gap", "level"), [(0, "aligned"), (1, "minor"), (2, "significant")])
def test_gap_levels(gap: int, level: str) -> None:
    assert gap_level(gap) == level
    assert gap_level(4) == "significant"


@pytest.mark.parametrize(
    ("values", "cautious", "expected"),
    [
        ([2, 3], "low", 2),
        ([2, 3], "high", 3),
        ([1, 5], "low", 3),
        ([1, 2, 5], "high", 2),
        ([4], "low", 4),
        ([1, 2, 4, 5], "high", 3),
        ([1, 2, 3, 5], "high", 3),
        ([1, 2, 3, 5], "low", 2),
    ],
)
def test_cautious_median(values: list[int], cautious: str, expected: int) -> None:
    assert cautious_median(values, cautious) == expected


@given(st.lists(st.integers(1, 5), min_size=1, max_size=9), st.sampled_from(["low", "high"]))
def test_consensus_stays_between_the_answers(values: list[int], cautious: str) -> None:
    assert min(values) <= cautious_median(values, cautious) <= max(values)


def test_risk_disagreement_settles_on_the_cautious_side() -> None:
    # Risk tolerance is cautious when low; timeline pressure when high.
    alignment = align(
        pair(
            {**BASE, "risk_tolerance": 2, "timeline_pressure": 3},
            {**BASE, "risk_tolerance": 3, "timeline_pressure": 4},
        )
    )
    assert alignment.consensus["risk_tolerance"] == 2
    assert alignment.consensus["timeline_pressure"] == 4
    assert alignment.factors["risk_tolerance"].level == "minor"


def test_agreed_values_override_the_median_but_keep_the_gap() -> None:
    alignment = align(
        pair(BASE, {**BASE, "creative_collaboration": 2}), {"creative_collaboration": 3}
    )
    assert alignment.consensus["creative_collaboration"] == 3
    assert alignment.factors["creative_collaboration"].gap == 3
    assert alignment.significant == ["creative_collaboration"]


def test_decision_carries_alignment_and_individual_views() -> None:
    creator = {**BASE, "iteration_readiness": 5, "timeline_pressure": 5, "planning_complexity": 1}
    creator |= {"creative_collaboration": 2, "innovation": 3}
    decision = evaluate_respondents(pair(BASE, creator), what_if=True)
    data = decision.to_dict()["alignment"]
    assert data["factors"]["timeline_pressure"] == {
        "values": [2, 5],
        "gap": 3,
        "level": "significant",
    }
    assert data["significant"][0] == "timeline_pressure"
    individual = {i["name"]: i for i in data["individual"]}
    assert individual["Ann Lee"]["model"] == evaluate(BASE).model
    assert individual["Bo Chen"]["model"] == evaluate(creator).model
    assert individual["Ann Lee"]["model"] != individual["Bo Chen"]["model"]
    assert decision.answers == data["consensus"]
    assert "alignment-workshop" in {r.rule for r in decision.trace}
    assert Decision.from_dict(decision.to_dict()).to_dict() == decision.to_dict()


def test_single_answer_set_never_fires_alignment_rules() -> None:
    rules = {r.rule for r in evaluate(BASE).trace}
    assert not any(rule.startswith("alignment-") for rule in rules)
    assert "alignment" not in evaluate(BASE).to_dict()


def cli(payload: object, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assess.cli", "evaluate", *options],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_accepts_respondents_and_consensus() -> None:
    payload = {
        "respondents": [
            {"name": "Ann Lee", "side": "producer", "answers": BASE},
            {"name": "Bo Chen", "side": "creator", "answers": {**BASE, "risk_tolerance": 1}},
        ],
        "consensus": {"risk_tolerance": 3},
    }
    result = cli(payload)
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert decision["alignment"]["consensus"]["risk_tolerance"] == 3
    assert decision["alignment"]["significant"] == ["risk_tolerance"]
    assert set(decision["alignment"]["factors"]) == set(FACTOR_KEYS)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {"respondents": [{"name": "A", "side": "producer", "answers": BASE}] * 2},
            [
                "respondents: needs at least one respondent on each side (missing: creator)",
                "respondents.1.name: names the same person as respondents.0 on the producer "
                "side; list each person once",
            ],
        ),
        (
            {
                "respondents": [
                    {"name": "A", "side": "producer", "answers": BASE},
                    {"name": "B", "side": "director", "answers": {**BASE, "innovation": 9}},
                ]
            },
            [
                "respondents.1.answers.innovation: must be an integer from 1 to 5",
                "respondents.1.side: must be one of: producer, creator",
            ],
        ),
        (
            {
                "respondents": [
                    {"name": "A", "side": "producer", "answers": BASE},
                    {"name": "B", "side": "creator", "answers": BASE},
                ],
                "consensus": {"innovation": "high", "vibes": 2},
            },
            [
                "consensus.innovation: must be an integer from 1 to 5",
                "consensus.vibes: unknown field",
            ],
        ),
        # The wrong shapes are named in the same words as everything else.
        ({"respondents": 3}, ["respondents: must be a list"]),
        (
            {"respondents": [3, {"name": "A"}], "consensus": 4},
            [
                "consensus: must be an object",
                "respondents.0: must be an object",
                "respondents.1.answers: is required",
                "respondents.1.side: is required",
            ],
        ),
        ({"respondents": []}, ["respondents: must list 2 to 100 respondents"]),
    ],
)
def test_cli_rejects_bad_respondents_per_field(payload: object, expected: list[str]) -> None:
    result = cli(payload)
    assert result.returncode == 2
    assert result.stdout == ""
    assert sorted(result.stderr.strip().splitlines()) == sorted(expected)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Ann Lee", "Ann Lee"),
        ("Ann Lee", "ann  LEE"),
        ("Ann Lee", " Ann Lee\t"),
        # The same letters, one typed as e + a combining accent, the other precomposed.
        ("Zoe\u0301 Roy", "Zo\u00e9 Roy"),
    ],
)
def test_cli_refuses_the_same_person_twice_on_a_side(first: str, second: str) -> None:
    # Counted twice, one person's answers would outweigh everyone else's in the median.
    payload = {
        "respondents": [
            {"name": first, "side": "producer", "answers": BASE},
            {"name": "Bo Chen", "side": "creator", "answers": {**BASE, "risk_tolerance": 1}},
            {"name": second, "side": "producer", "answers": BASE},
        ]
    }
    result = cli(payload)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "respondents.2.name: names the same person as respondents.0 on the producer side; "
        "list each person once"
    ]


def test_the_same_name_may_answer_for_each_side() -> None:
    payload = {
        "respondents": [
            {"name": "Ann Lee", "side": "producer", "answers": BASE},
            {"name": "Ann Lee", "side": "creator", "answers": BASE},
        ]
    }
    result = cli(payload)
    assert result.returncode == 0, result.stderr


def test_cli_text_shows_a_name_that_would_turn_the_line_around_as_it_is_not() -> None:
    # A right-to-left override in a name would show the rest of its line reversed, so the
    # model beside the name would read as something else.
    payload = {
        "respondents": [
            {"name": "Ann\u202eLee", "side": "producer", "answers": BASE},
            {"name": "Bo Chen", "side": "creator", "answers": BASE},
        ]
    }
    result = cli(payload, "--format", "text")
    assert result.returncode == 0, result.stderr
    assert "\u202e" not in result.stdout
    assert "  Ann?Lee (producer) alone: " in result.stdout


def test_cli_keeps_the_note_that_explains_an_agreed_value() -> None:
    payload = {
        "respondents": [
            {"name": "Ann Lee", "side": "producer", "answers": BASE},
            {"name": "Bo Chen", "side": "creator", "answers": {**BASE, "risk_tolerance": 1}},
        ],
        "consensus": {"risk_tolerance": 3},
        "notes": {"risk_tolerance": "Overruns above 10% go to the steering group first."},
    }
    result = cli(payload)
    assert result.returncode == 0, result.stderr
    alignment = json.loads(result.stdout)["alignment"]
    assert alignment["notes"] == payload["notes"]


def test_cli_text_tells_an_agreed_consensus_from_the_cautious_middle() -> None:
    # 4 and 1 have their cautious middle at 2: a 3 the text did not call agreed would read
    # as the rounding gone the other way.
    note = "Overruns above 10% go to the steering group first."
    payload = {
        "respondents": [
            {"name": "Ann Lee", "side": "producer", "answers": {**BASE, "risk_tolerance": 4}},
            {"name": "Bo Chen", "side": "creator", "answers": {**BASE, "risk_tolerance": 1}},
        ],
        "consensus": {"risk_tolerance": 3},
        "notes": {"risk_tolerance": note},
    }
    result = cli(payload, "--format", "text")
    assert result.returncode == 0, result.stderr
    alignment = result.stdout.split("Alignment (largest gaps first):", 1)[1].splitlines()
    # Whose answer each number is, before the rows list them.
    assert alignment[1] == "  Answers of Ann Lee (producer) and Bo Chen (creator), in that order."
    [line] = [x for x in alignment if x.startswith("  Risk tolerance ")]
    assert line.endswith("consensus 3 (agreed)")
    assert f"    Why: {note}" in alignment
    [line] = [x for x in alignment if x.startswith("  Innovation ")]
    assert line.endswith(" (aligned), consensus " + str(BASE["innovation"]))


@pytest.mark.parametrize(
    ("notes", "expected"),
    [
        ({"budget": "Not a factor."}, "notes.budget: unknown field"),
        (
            {"risk_tolerance": "x" * 281},
            "notes.risk_tolerance: must be at most 280 characters",
        ),
        ({"risk_tolerance": " \u200b "}, "notes.risk_tolerance: must not be empty"),
        (
            {"risk_tolerance": "Agreed\x07"},
            "notes.risk_tolerance: must not contain control characters",
        ),
        (
            {"risk_tolerance": "\ud800 lone"},
            "notes.risk_tolerance: must be valid Unicode text",
        ),
    ],
)
def test_cli_rejects_malformed_notes(notes: dict[str, str], expected: str) -> None:
    payload = {
        "respondents": [
            {"name": "Ann Lee", "side": "producer", "answers": BASE},
            {"name": "Bo Chen", "side": "creator", "answers": BASE},
        ],
        "consensus": {"risk_tolerance": 3},
        "notes": notes,
    }
    result = cli(payload)
    assert result.returncode == 2
    assert result.stdout == ""
    assert any(line.startswith(expected) for line in result.stderr.splitlines()), result.stderr


def test_a_sentence_names_an_intake_session_as_the_session_it_is() -> None:
    assert in_sentence("Intake session", JOINT) == "the intake session"
    assert in_sentence("Intake session", JOINT, start=True) == "The intake session"
    assert in_sentence("Intake session 2", JOINT) == "intake session 2"
    assert in_sentence("Intake session 2", JOINT, start=True) == "Intake session 2"
    # A person keeps their name as they wrote it, even at the start of a sentence.
    assert in_sentence("de Vries", "creator", start=True) == "de Vries"
    assert in_sentence("Intake session", "producer") == "Intake session"
