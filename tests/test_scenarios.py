"""Run every named scenario in rules/scenarios against the project's rules."""

from __future__ import annotations

import pytest

from assess import scenarios
from assess.engine import load_engine
from assess.rulebook import DEFAULT_RULES_DIR

CASES = scenarios.load(DEFAULT_RULES_DIR)


def test_there_are_enough_scenarios_covering_every_outcome() -> None:
    assert len(CASES) >= 20
    models = {c.expect["model"] for c in CASES}
    assert models == {"integrated", "strategic_resource", "agile", "hybrid"}
    hybrids = {tuple(c.expect["components"]) for c in CASES if c.expect["model"] == "hybrid"}
    assert len(hybrids) >= 4


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_scenario(case: scenarios.Scenario) -> None:
    assert case.failures(load_engine()) == []
