"""`make bench` compares the rules engine with the same decision written as plain Python,
after checking both agree: a rules change the floor does not follow stops the benchmark."""

from __future__ import annotations

import random

from assess.engine import evaluate
from assess.factors import FACTOR_KEYS
from benchmarks.bench_decision import plain_python


def test_the_benchmark_s_plain_python_floor_decides_as_the_rules_do() -> None:
    rng = random.Random(2026)
    for _ in range(3_000):
        answers = {key: rng.randint(1, 5) for key in FACTOR_KEYS}
        decision = evaluate(answers)
        expected = (decision.model, decision.components, {p.id for p in decision.protocols})
        assert plain_python(answers) == expected, answers
