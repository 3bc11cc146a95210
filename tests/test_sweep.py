"""The exhaustive sweep: every one of the 5^8 answer sets yields a valid decision."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from assess.engine import evaluate
from assess.factors import FACTOR_KEYS
from assess.rulebook import DEFAULT_RULES_DIR
from assess.sweep import DECIDES, INVARIANTS, _sweep_chunk, is_misfit, sweep

RULES_DOC = Path(__file__).resolve().parents[1] / "docs" / "rules.md"


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
    # Additive scores cannot rule every misfit out, but they stay rare (9,512 when the rules
    # last changed; 38,196 before the defining factors also counted against their model).
    assert result.misfits < 0.03 * 5**8, result.misfits
    # docs/rules.md gives the shares and the misfits of the current rules.
    shown = RULES_DOC.read_text().split("| outcome | answer sets | share |")[1].split("\n\n")[0]
    rows = [row.strip("|").split("|") for row in shown.splitlines()[2:]]
    assert [tuple(cell.strip() for cell in row) for row in rows] == [
        (label, f"{count:,}", f"{share:.2%}") for label, count, share in result.shares()
    ]
    assert f"in {result.misfits:,} answer sets ({result.misfits / 5**8:.2%}" in " ".join(
        RULES_DOC.read_text().split()
    )


def test_a_misfit_is_a_leading_model_the_answers_speak_against_while_another_fits() -> None:
    plenty = dict.fromkeys(FACTOR_KEYS, 3) | {"resource_availability": 5}
    decision = evaluate(plenty)
    assert decision.components[0] != "strategic_resource" and not is_misfit(decision)
    resource_led = replace(decision, model="strategic_resource", components=("strategic_resource",))
    assert is_misfit(resource_led)
    # Nothing short, creative calls on one side, a team that needs a fixed plan: every model
    # is spoken against, so whichever leads is no misfit of the rules.
    against_all = plenty | {"creative_collaboration": 1, "iteration_readiness": 1}
    assert not is_misfit(replace(resource_led, answers=against_all))


def test_answers_the_rules_cannot_decide_are_a_failed_invariant_with_examples(
    tmp_path: Path,
) -> None:
    """The rules check runs only the scenarios: the sweep is what finds the answer sets
    the rules fail on, and names them rather than stopping at the first."""
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules)
    governance = rules / "20-governance.yaml"
    text = governance.read_text()
    baseline = "  - id: baseline-governance\n    when: {}\n"
    assert baseline in text
    governance.write_text(
        text.replace(baseline, baseline.replace("{}", "{planning_complexity: {ne: 5}}"))
    )
    result = _sweep_chunk(((1, 1, 1, 1, 1, 1), str(rules)))
    assert result.evaluated == 25
    assert list(result.violations) == [DECIDES]
    assert all(a["planning_complexity"] == 5 for a in result.violations[DECIDES])
    assert len(result.violations[DECIDES]) == 5
    assert sum(result.outcomes.values()) == 20
