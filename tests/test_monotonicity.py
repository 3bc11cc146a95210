"""Directions the domain implies: moving one answer the 'right' way never moves away.

Each case: raising (or lowering) one factor never removes a model from the components, and
protocol strictness only grows as the situation gets riskier or tighter.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assess.engine import evaluate
from assess.factors import FACTOR_KEYS

answers = st.fixed_dictionaries({key: st.integers(1, 5) for key in FACTOR_KEYS})

# (model, factor, step): moving `factor` by `step` never pushes a decision away from `model`.
TOWARDS = [
    ("strategic_resource", "resource_availability", -1),
    ("integrated", "creative_collaboration", +1),
    ("integrated", "innovation", +1),
    ("agile", "iteration_readiness", +1),
    ("agile", "planning_complexity", -1),
    ("agile", "timeline_pressure", +1),
]


def moved(base: dict[str, int], factor: str, step: int) -> dict[str, int] | None:
    level = base[factor] + step
    return {**base, factor: level} if 1 <= level <= 5 else None


@pytest.mark.parametrize(("model", "factor", "step"), TOWARDS)
@settings(max_examples=300, deadline=None)
@given(base=answers)
def test_moving_towards_a_model_never_moves_away_from_it(
    base: dict[str, int], model: str, factor: str, step: int
) -> None:
    after = moved(base, factor, step)
    if after is None:
        return
    before_decision, after_decision = evaluate(base), evaluate(after)
    if model in before_decision.components:
        assert model in after_decision.components
    if before_decision.components[0] == model:
        assert after_decision.components[0] == model
    assert after_decision.scores[model] >= before_decision.scores[model]


def param(decision_answers: dict[str, int], protocol: str, name: str) -> int:
    chosen = evaluate(decision_answers).protocol(protocol)
    assert chosen is not None
    return chosen.params[name]


@settings(max_examples=300, deadline=None)
@given(base=answers)
def test_less_risk_tolerance_never_loosens_mediation(base: dict[str, int]) -> None:
    after = moved(base, "risk_tolerance", -1)
    if after is None:
        return
    assert param(after, "mediation", "trigger_days") <= param(base, "mediation", "trigger_days")
    assert param(after, "mediation", "trust_threshold") >= param(
        base, "mediation", "trust_threshold"
    )
    assert param(after, "trust_check", "every_days") <= param(base, "trust_check", "every_days")


@settings(max_examples=300, deadline=None)
@given(base=answers)
def test_more_time_pressure_never_lengthens_escalation(base: dict[str, int]) -> None:
    after = moved(base, "timeline_pressure", +1)
    if after is None:
        return
    tiers_before = [t.max_days for t in evaluate(base).escalation]
    tiers_after = [t.max_days for t in evaluate(after).escalation]
    assert all(a <= b for a, b in zip(tiers_after, tiers_before, strict=True))
    assert param(after, "mediation", "trigger_days") <= param(base, "mediation", "trigger_days")


@settings(max_examples=300, deadline=None)
@given(base=answers)
def test_longer_relationships_keep_the_long_term_protocols(base: dict[str, int]) -> None:
    after = moved(base, "relationship_duration", +1)
    if after is None:
        return
    long_term = {"health_assessment", "retrospective", "quarterly_checkins"}
    long_term |= {"strategic_partnership_charter"}
    chosen_before = {p.id for p in evaluate(base).protocols} & long_term
    chosen_after = {p.id for p in evaluate(after).protocols} & long_term
    assert chosen_before <= chosen_after
