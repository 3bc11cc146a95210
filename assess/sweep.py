"""Evaluate every possible answer set and check what must hold for all of them."""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from assess.decision import Decision
from assess.engine import EngineError, load_engine
from assess.factors import FACTOR_KEYS, SCALE
from assess.partnership import MODEL_KEYS
from assess.protocols import PROTOCOL_IDS

FINANCIAL_FRAMEWORKS = {"contribution_weighted_revenue", "dynamic_equity", "risk_adjusted_returns"}


def _ladder_in_order(d: Decision) -> bool:
    return [t.tier for t in d.escalation] == [1, 2, 3] and all(t.max_days > 0 for t in d.escalation)


def _components_valid(d: Decision) -> bool:
    if d.model == "hybrid":
        return len(d.components) == 2 and len(set(d.components)) == 2
    return d.components == (d.model,)


def _protocols_valid(d: Decision) -> bool:
    ids = [p.id for p in d.protocols]
    return len(ids) == len(set(ids)) and set(ids) <= set(PROTOCOL_IDS)


def _mediation_complete(d: Decision) -> bool:
    mediation = d.protocol("mediation")
    return mediation is not None and {"trigger_days", "trust_threshold"} <= set(mediation.params)


def _one_deadline(d: Decision) -> bool:
    mediation = d.protocol("mediation")
    return mediation is not None and d.escalation[0].max_days == mediation.params["trigger_days"]


def _needs(component: str, *protocols: str) -> Callable[[Decision], bool]:
    def check(d: Decision) -> bool:
        return component not in d.components or all(d.protocol(p) for p in protocols)

    return check


# The first thing to hold: the rules give every answer set a decision the product can use
# (the rules check only tries its scenarios).
DECIDES = "the rules decide every answer set"

RESOURCES_IN_HAND = "no resource partnership leads when resources are in hand"
SHARED_CREATIVE_DECISIONS = "shared creative decisions get creative veto and tension review"
PARTNER_BRINGS_ASSETS = "critical assets from a partner get boundaries and relationship building"

# Every decision must satisfy each of these; the name says what it guards.
INVARIANTS: dict[str, Callable[[Decision], bool]] = {
    "model is one of the three or a hybrid": lambda d: d.model in (*MODEL_KEYS, "hybrid"),
    "components match the model (hybrid: two distinct)": _components_valid,
    "protocol ids are known and not repeated": _protocols_valid,
    "escalation ladder and mediation are always present": lambda d: bool(
        d.protocol("escalation_ladder") and d.protocol("mediation")
    ),
    "escalation tiers are 1, 2, 3 with positive time boxes": _ladder_in_order,
    "mediation states trigger_days and trust_threshold": _mediation_complete,
    "direct talks end when mediation starts (tier 1 = mediation trigger)": _one_deadline,
    "a trust check calls for a talk before a trust rating starts mediation": lambda d: (
        (check := d.protocol("trust_check")) is None
        or (mediation := d.protocol("mediation")) is None
        or check.params["threshold"] > mediation.params["trust_threshold"]
    ),
    "at most one financial framework": lambda d: (
        len(FINANCIAL_FRAMEWORKS & {p.id for p in d.protocols}) <= 1
    ),
    "a short engagement gets no strategic partnership charter": lambda d: (
        d.answers["relationship_duration"] > 2 or not d.protocol("strategic_partnership_charter")
    ),
    "co-creation gets creative veto and tension review": _needs(
        "integrated", "creative_veto", "creative_tension_review"
    ),
    "agile work gets a sprint cadence": _needs("agile", "sprint_cadence"),
    "resource partnerships get boundaries and relationship building": _needs(
        "strategic_resource", "resource_boundaries", "relationship_building"
    ),
    # A resource partnership is reserved for when resources are the main constraint: with
    # nearly everything in hand (4 or 5), it never leads, even when every model is a misfit.
    RESOURCES_IN_HAND: lambda d: (
        d.components[0] != "strategic_resource" or d.answers["resource_availability"] <= 3
    ),
    # Disagreement over creative direction comes with shared creative decisions, whatever
    # the model: the creative-conflict protocols follow the answer, not only co-creation.
    SHARED_CREATIVE_DECISIONS: lambda d: (
        d.answers["creative_collaboration"] <= 3
        or bool(d.protocol("creative_veto") and d.protocol("creative_tension_review"))
    ),
    # A partner that brings critical assets needs the line drawn between that contribution
    # and creative input, whichever model leads.
    PARTNER_BRINGS_ASSETS: lambda d: (
        d.answers["resource_availability"] > 1
        or bool(d.protocol("resource_boundaries") and d.protocol("relationship_building"))
    ),
}


# The answers that speak against each model: its defining factor at the wrong end.
CONTRA_INDICATIONS: dict[str, Callable[[dict[str, int]], bool]] = {
    "strategic_resource": lambda a: a["resource_availability"] >= 4,  # nothing is short
    "integrated": lambda a: a["creative_collaboration"] <= 2,  # creative calls on one side
    "agile": lambda a: a["iteration_readiness"] <= 2,  # the team needs a fixed plan
}


def is_misfit(d: Decision) -> bool:
    """Say whether the leading model is one the answers speak against while another model
    is not. Where the answers speak against all three, some model must lead anyway."""
    lead = d.components[0]
    return CONTRA_INDICATIONS[lead](d.answers) and not all(
        against(d.answers) for against in CONTRA_INDICATIONS.values()
    )


@dataclass
class SweepResult:
    evaluated: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    violations: dict[str, list[dict[str, int]]] = field(default_factory=dict)
    misfits: int = 0

    def merge(self, other: SweepResult) -> None:
        self.evaluated += other.evaluated
        self.outcomes.update(other.outcomes)
        self.misfits += other.misfits
        for name, examples in other.violations.items():
            kept = self.violations.setdefault(name, [])
            kept.extend(examples[: 5 - len(kept)])

    def shares(self) -> list[tuple[str, int, float]]:
        """Return (outcome, count, share of the input space), largest first."""
        return [(k, n, n / self.evaluated) for k, n in self.outcomes.most_common()]


def outcome_label(d: Decision) -> str:
    return "hybrid: " + " + ".join(d.components) if d.model == "hybrid" else d.model


def all_answers(prefix: tuple[int, ...] = ()) -> Iterator[dict[str, int]]:
    """Yield every answer set whose first factors are fixed to ``prefix``."""
    rest = len(FACTOR_KEYS) - len(prefix)
    for tail in itertools.product(SCALE, repeat=rest):
        yield dict(zip(FACTOR_KEYS, prefix + tail, strict=True))


def _sweep_chunk(args: tuple[tuple[int, ...], str | None]) -> SweepResult:
    prefix, rules_dir = args
    engine = load_engine(rules_dir)
    result = SweepResult()
    for answers in all_answers(prefix):
        result.evaluated += 1
        try:
            decision = engine.evaluate(answers)
        except EngineError:
            examples = result.violations.setdefault(DECIDES, [])
            if len(examples) < 5:
                examples.append(answers)
            continue
        result.outcomes[outcome_label(decision)] += 1
        result.misfits += is_misfit(decision)
        for name, holds in INVARIANTS.items():
            if not holds(decision):
                examples = result.violations.setdefault(name, [])
                if len(examples) < 5:
                    examples.append(answers)
    return result


def sweep(rules_dir: Path | str | None = None, workers: int | None = None) -> SweepResult:
    """Evaluate all 5^8 answer sets on every core and collect outcomes and violations."""
    prefixes = list(itertools.product(SCALE, repeat=2))
    jobs = [(p, str(rules_dir) if rules_dir else None) for p in prefixes]
    total = SweepResult()
    # A fresh interpreter per worker: durable_rules' native state must not be forked.
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers or os.cpu_count() or 1) as pool:
        for part in pool.imap_unordered(_sweep_chunk, jobs):
            total.merge(part)
    return total
