"""The hit policy: how the records of fired rules become one decision.

This is the one place where rule outcomes are combined. Rules only record; here:

1. Scores add up per model, over every scoring rule that fired.
2. The best-scoring model is primary; ties go to the earlier model in ``tie_break``.
3. The runner-up joins as secondary (a hybrid) when it reaches ``hybrid.min_score``
   and at least ``hybrid.min_ratio`` of the primary's score.
4. A protocol is chosen when any protocols rule that fired names it. Each parameter takes
   the strictest value any fired rule gave (the catalogue says whether smaller or larger is
   stricter); parameters no fired rule set take the defaults in ``policy.yaml``.
5. Direct talks end when mediation begins: the escalation ladder's first time box and the
   mediation trigger are one deadline, the stricter (shorter) of the two values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from assess.decision import ChosenProtocol, Outweighed, Tier
from assess.partnership import MODEL_KEYS
from assess.protocols import BY_ID as PROTOCOLS
from assess.protocols import PROTOCOL_IDS
from assess.rulebook import Policy, Rule


def add_scores(fired: Iterable[Rule]) -> dict[str, float]:
    """Sum the score contributions of the fired scoring rules per model."""
    scores = dict.fromkeys(MODEL_KEYS, 0.0)
    for rule in fired:
        for model, points in rule.score.items():
            scores[model] += points
    return scores


def choose(scores: Mapping[str, float], policy: Policy) -> tuple[str, tuple[str, ...]]:
    """Return the model and its components (primary first) for these scores."""
    ranked = sorted(policy.tie_break, key=lambda m: (-scores[m], policy.tie_break.index(m)))
    primary, runner_up = ranked[0], ranked[1]
    top, second = scores[primary], scores[runner_up]
    if second >= policy.hybrid_min_score and second >= policy.hybrid_min_ratio * top:
        return "hybrid", (primary, runner_up)
    return primary, (primary,)


def merge_protocols(fired: Iterable[Rule], policy: Policy) -> tuple[ChosenProtocol, ...]:
    """Combine the protocols named by fired rules, strictest parameter value first."""
    given: dict[str, dict[str, int]] = {}
    for rule in fired:
        for pid, params in rule.protocols.items():
            merged = given.setdefault(pid, {})
            for name, value in params.items():
                param = PROTOCOLS[pid].param(name)
                assert param is not None  # the rulebook rejects unknown parameters
                if name not in merged:
                    merged[name] = value
                else:
                    merged[name] = (min if param.stricter == "min" else max)(merged[name], value)
    chosen = {pid: {**policy.defaults[pid], **given[pid]} for pid in PROTOCOL_IDS if pid in given}
    ladder, mediation = chosen.get("escalation_ladder"), chosen.get("mediation")
    if ladder is not None and mediation is not None:
        deadline = min(ladder["direct_days"], mediation["trigger_days"])
        ladder["direct_days"] = mediation["trigger_days"] = deadline
    return tuple(ChosenProtocol(pid, params) for pid, params in chosen.items())


def outweighed(rule: Rule, protocols: Iterable[ChosenProtocol]) -> tuple[Outweighed, ...]:
    """The parameter values this rule gave that the decision does not use."""
    applied = {p.id: p.params for p in protocols}
    return tuple(
        Outweighed(pid, name, value, applied[pid][name])
        for pid, params in rule.protocols.items()
        for name, value in params.items()
        if applied[pid][name] != value
    )


def escalation(protocols: Iterable[ChosenProtocol]) -> tuple[Tier, ...]:
    """Spell out the three tiers of the escalation ladder from its parameters."""
    ladder = next(p for p in protocols if p.id == "escalation_ladder")
    return (
        Tier(1, "direct", ladder.params["direct_days"]),
        Tier(2, "mediation", ladder.params["mediation_days"]),
        Tier(3, "arbitration", ladder.params["arbitration_days"]),
    )
