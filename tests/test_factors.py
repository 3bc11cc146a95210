"""The eight questions and their level anchors read as a clear, ordered scale."""

from __future__ import annotations

from assess.engine import evaluate
from assess.factors import BY_KEY, FACTOR_KEYS, FACTORS


def test_every_factor_has_five_distinct_anchors() -> None:
    for factor in FACTORS:
        assert len(set(factor.anchors)) == 5, factor.key
        assert all(anchor.endswith(".") for anchor in factor.anchors), factor.key


def test_relationship_duration_levels_grow_in_length() -> None:
    anchors = BY_KEY["relationship_duration"].anchors
    # Level 2 must not reach beyond level 3: "one project, possibly with a follow-up" could
    # outlast "a project of a year or so", and a client could not tell which to choose.
    assert "few months" in anchors[1] and "not planned" in anchors[1]
    assert "a year or more" in anchors[2]


def test_risk_tolerance_level_4_stops_short_of_level_5() -> None:
    anchors = BY_KEY["risk_tolerance"].anchors
    # "Happy to take sizeable bets" read as bolder than level 5's "comfortable betting on
    # uncertain outcomes". Level 4 bets with known stakes; only level 5 accepts the unknown.
    assert "known" in anchors[3] and "uncertain" not in anchors[3]
    assert "uncertain" in anchors[4]


def test_resource_help_promises_no_more_than_the_rules_decide() -> None:
    # A missing critical asset weighs heavily towards a resource partnership, yet other answers
    # can outweigh it: the help must not tell the client the partnership will be built on it.
    outweighed = dict(zip(FACTOR_KEYS, (1, 1, 4, 3, 4, 3, 4, 1), strict=True))
    assert "strategic_resource" not in evaluate(outweighed).components
    help_text = BY_KEY["resource_availability"].help
    assert "is shaped around" not in help_text
    assert "weighs heavily towards a partnership built around" in help_text
