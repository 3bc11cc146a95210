"""The exhaustive sweep: every one of the 5^8 answer sets yields a valid decision."""

from __future__ import annotations

import pytest

from assess.sweep import INVARIANTS, sweep


@pytest.mark.slow
def test_every_answer_set_gives_a_valid_decision() -> None:
    result = sweep()
    assert result.evaluated == 5**8
    assert result.violations == {}, {k: v[:2] for k, v in result.violations.items()}
    outcomes = dict(result.outcomes)
    for model in ("integrated", "strategic_resource", "agile"):
        assert outcomes.get(model, 0) > 0.1 * 5**8, model
    hybrids = sum(n for label, n in outcomes.items() if label.startswith("hybrid"))
    assert hybrids > 0.1 * 5**8
    assert sum(outcomes.values()) == 5**8
    assert len(INVARIANTS) >= 10
