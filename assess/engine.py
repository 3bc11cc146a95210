"""The one seam to durable_rules: compile the rulebook, fire it, and build a Decision.

Evaluation runs in two stages, each a durable_rules ruleset:

- ``scoring`` rules match the answers and record score contributions; the hit policy
  (``assess.policy``) turns them into a model and components.
- ``protocols`` rules match the answers plus the derived facts (model, primary, ...) and
  record protocols with parameters.

Rule actions only record which rule fired: the engine drains durable_rules' action queue
itself rather than calling a Python action per rule, which costs ~7 µs per fired rule
instead of ~40 µs (measured; see docs/performance.md). What-if variants are asserted as one
batch of facts into a single state.

durable_rules keeps its state in one C engine per process, which is not safe to share
between threads: one host per process, no background timer threads, one lock around every
use. Each stage keeps one durable_rules state for the life of the process: an evaluation
asserts its facts, drains the fired rules and retracts the facts again before releasing the
lock, also when it fails half-way. States are never deleted: in durable_rules 2.0.28,
delete_state frees uninitialised pool entries and corrupts the heap (reproducible once the
allocator reuses memory).
"""

from __future__ import annotations

import copy
import json
import os
import re
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import durable_rules_engine as native
from durable import engine as durable

from assess import partnership, policy
from assess.alignment import Alignment, Individual, Respondent, align
from assess.decision import Decision, Reason, TippingPoint, score_text
from assess.factors import FACTOR_KEYS, SCALE
from assess.rulebook import (
    HIT_POLICY,
    POLICY_FILE,
    STAGES,
    Condition,
    Rule,
    Rulebook,
    RulesError,
    derived_facts,
    display_path,
    load,
)
from assess.text import join_names

_DURABLE_OPS = {"ne": "$neq", "lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte"}
_KIND = "assessment"
# One long-lived state per stage, used under _LOCK only: sids can never collide.
_SID = "1"
_NOT_HANDLED, _OBSERVED = 1, 2
# Fired-rule messages are {"<rule id>": {"m": {... "variant": n ...}}}; rule ids are
# [a-z0-9-] (checked on load), so reading them without a full JSON parse is safe and fast.
_VARIANT = re.compile(r'"variant":\s*(\d+)')


class EngineError(RuntimeError):
    """The rules produced something the product cannot use (a rules bug, not bad input)."""


# What durable_rules 2.0.28's limits (its error codes) mean for whoever writes the rules.
_NATIVE_LIMITS = {
    108: "more rules with the same conditions than it compiles; merge some of them",
    303: (
        "more of their conditions hold for one answer set than it can follow at once; "
        "merge rules that test the same fact"
    ),
}


def _native_problem(error: Exception) -> str:
    code = re.search(r"error code: (\d+)", str(error))
    return _NATIVE_LIMITS.get(int(code[1]), str(error)) if code else str(error)


class _QuietHost(durable.Host):  # type: ignore[misc]
    """A durable_rules host that starts no background dispatch or timer threads."""

    def _run(self) -> None:
        return None


_HOST: _QuietHost | None = None
_LOCK = threading.Lock()
_ENGINES: dict[tuple[Path, str], Engine] = {}


def _host() -> _QuietHost:
    global _HOST
    if _HOST is None:
        _HOST = _QuietHost()
    return _HOST


def _record(_closure: Any) -> None:
    """Stand in for a rule action; the engine drains the action queue itself."""


def _drop_fired(handle: int) -> None:
    """Complete, unread, every rule fired in a stage's state but not yet taken.

    A batch that durable_rules refuses half-way keeps the facts before the one refused and
    the rules they fired: the next evaluation would take those rules for its own."""
    started = native.start_action(handle)
    while started:
        _, message, state = started
        while message:
            message = native.complete_and_start_action(handle, state)
        started = native.start_action(handle)


def compile_condition(conditions: tuple[Condition, ...]) -> dict[str, Any]:
    """Translate a rule's conditions into a durable_rules expression over one fact."""
    terms: list[dict[str, Any]] = [{"kind": _KIND}]
    for c in conditions:
        terms.append({c.fact: c.value} if c.op == "eq" else {_DURABLE_OPS[c.op]: {c.fact: c.value}})
    return {"$and": terms} if len(terms) > 1 else terms[0]


class Engine:
    """A rulebook compiled into durable_rules rulesets in this process."""

    def __init__(self, rulebook: Rulebook) -> None:
        self.rulebook = rulebook
        self._rules = {r.id: r for r in rulebook.rules}
        self._order = {r.id: i for i, r in enumerate(rulebook.rules)}
        self._handles: dict[str, Any] = {}
        self._stages = {stage: rulebook.stage(stage) for stage in STAGES}
        self._policy_file = display_path(rulebook.directory / POLICY_FILE)
        host = _host()
        for stage, stage_rules in self._stages.items():
            name = f"{stage}_{rulebook.version[:16]}"
            definition = {
                rule.id: {"all": [{"m": compile_condition(rule.conditions)}], "run": _record}
                for rule in stage_rules
            }
            if name not in host._ruleset_directory:
                # register_rulesets strips keys from what it is given: hand it a copy.
                try:
                    host.register_rulesets({name: copy.deepcopy(definition)})
                except native.error as error:
                    files = sorted({rule.file for rule in stage_rules})
                    raise RulesError(
                        [
                            f"{', '.join(files)}: durable_rules cannot compile the {stage} "
                            f"rules: {_native_problem(error)}"
                        ]
                    ) from None
            self._handles[stage] = host.get_ruleset(name)._handle

    def _fire(self, stage: str, facts: list[dict[str, Any]]) -> list[tuple[Rule, int]]:
        """Assert facts, drain the fired rules, retract the facts; return rules and fact index."""
        if not self._stages[stage]:
            return []
        handle = self._handles[stage]
        batch = [{**f, "kind": _KIND, "sid": _SID, "variant": i} for i, f in enumerate(facts)]
        fired: list[tuple[Rule, int]] = []
        payload = json.dumps(batch)
        message = None
        drained = False
        with _LOCK:
            try:
                try:
                    code, state = native.assert_facts(handle, payload)
                except native.error as error:
                    raise EngineError(
                        f"durable_rules cannot evaluate the {stage} rules: {_native_problem(error)}"
                    ) from None
                if code not in (0, _NOT_HANDLED):
                    raise EngineError(f"durable_rules refused the facts (code {code})")
                started = native.start_action_for_state(handle, state)
                message = started[1] if started else None
                while message:
                    rule = self._rules[message[2 : message.index('"', 2)]]
                    variant = _VARIANT.search(message) if len(facts) > 1 else None
                    fired.append((rule, int(variant[1]) if variant else 0))
                    message = native.complete_and_start_action(handle, state)
                drained = True
            finally:
                # Empty the state for the next evaluation instead of deleting it:
                # durable_rules 2.0.28 frees uninitialised pool entries in delete_state.
                while message:
                    message = native.complete_and_start_action(handle, state)
                if not drained:
                    _drop_fired(handle)
                native.retract_facts(handle, payload)
        fired.sort(key=lambda item: (item[1], self._order[item[0].id]))
        return fired

    def evaluate(
        self,
        answers: Mapping[str, int],
        *,
        what_if: bool = False,
        alignment: Alignment | None = None,
    ) -> Decision:
        """Decide the model and protocols for validated answers (ints 1-5 per factor)."""
        base = {key: answers[key] for key in FACTOR_KEYS}
        variants = [base, *(_neighbours(base) if what_if else [])]
        by_variant: dict[int, list[Rule]] = defaultdict(list)
        for rule, index in self._fire("scoring", variants):
            by_variant[index].append(rule)
        rules = self.rulebook
        scores = policy.add_scores(by_variant[0])
        model, components = policy.choose(scores, rules.policy)
        facts = {**base, **derived_facts(model, components), **alignment_facts(alignment)}
        protocol_rules = [rule for rule, _ in self._fire("protocols", [facts])]
        protocols = policy.merge_protocols(protocol_rules, rules.policy)
        ids = {p.id for p in protocols}
        if not {"escalation_ladder", "mediation"} <= ids:
            raise EngineError("the rules must always choose escalation_ladder and mediation")
        context = {**facts, **_titles(components)}
        trace = [
            Reason(rule.id, rule.file, rule.explain(context), rule.stage, points=dict(rule.score))
            for rule in by_variant[0]
        ] + [
            Reason(
                rule.id,
                rule.file,
                rule.explain(context),
                rule.stage,
                policy.outweighed(rule, protocols),
            )
            for rule in protocol_rules
        ]
        trace.append(_hit_policy_reason(scores, model, components, rules, self._policy_file))
        tipping: list[TippingPoint] = []
        for i, variant in enumerate(variants[1:], start=1):
            outcome = policy.choose(policy.add_scores(by_variant[i]), rules.policy)
            if outcome != (model, components):
                factor = _changed(base, variant)
                tipping.append(TippingPoint(factor, base[factor], variant[factor], *outcome))
        return Decision(
            answers=base,
            model=model,
            components=components,
            scores=scores,
            protocols=protocols,
            escalation=policy.escalation(protocols),
            trace=tuple(trace),
            rules_version=rules.version,
            what_if=tuple(tipping) if what_if else None,
            facts=facts,
            alignment=alignment,
        )

    def evaluate_respondents(
        self,
        respondents: Sequence[Respondent],
        agreed: Mapping[str, int] | None = None,
        notes: Mapping[str, str] | None = None,
        *,
        what_if: bool = False,
    ) -> Decision:
        """Decide on the consensus of several respondents, with their alignment as facts."""
        aligned = align(respondents, agreed, notes)
        individual = []
        for r in respondents:
            own = self.evaluate(r.answers)
            individual.append(Individual(r.name, r.side, own.model, own.components))
        aligned = replace(aligned, individual=tuple(individual))
        return self.evaluate(aligned.consensus, what_if=what_if, alignment=aligned)


def _neighbours(base: dict[str, int]) -> list[dict[str, int]]:
    """Every answer set one step away from ``base`` on exactly one factor."""
    return [
        {**base, key: base[key] + step}
        for key in FACTOR_KEYS
        for step in (-1, 1)
        if base[key] + step in SCALE
    ]


def _changed(base: dict[str, int], variant: dict[str, int]) -> str:
    return next(key for key in FACTOR_KEYS if base[key] != variant[key])


def alignment_facts(alignment: Alignment | None) -> dict[str, int]:
    """Facts on how far apart the respondents are; a single answer set has no gaps."""
    if alignment is None:
        return {"respondents": 1, "significant_gaps": 0, **{f"gap_{k}": 0 for k in FACTOR_KEYS}}
    return alignment.facts()


def _titles(components: tuple[str, ...]) -> dict[str, str]:
    titles = [partnership.BY_KEY[c].title for c in components]
    return {"primary_title": titles[0], "secondary_title": titles[-1]}


def _hit_policy_reason(
    scores: dict[str, float],
    model: str,
    components: tuple[str, ...],
    rules: Rulebook,
    policy_file: str,
) -> Reason:
    # Equal scores are listed in the order the rules prefer, as the choice reads them.
    order = rules.policy.tie_break
    ranked = sorted(scores.items(), key=lambda item: (-item[1], order.index(item[0])))
    listing = ", ".join(f"{partnership.BY_KEY[k].title} {score_text(v)}" for k, v in ranked)
    if model == "hybrid":
        first, second = (partnership.BY_KEY[c].title for c in components)
        share = round(rules.policy.hybrid_min_ratio * 100)
        if scores[components[0]] == scores[components[1]]:
            because = (
                f"Scores: {listing}. {first} and {second} score the same, so the two are "
                f"combined, with {first} leading because it comes first in the order the "
                "rules prefer on equal scores."
            )
        else:
            because = (
                f"Scores: {listing}. {second} scores at least {share}% of {first}'s score, "
                f"so the two are combined, with {first} leading."
            )
        # A third model can reach the bar as well: say why it is left out.
        third_key, third_score = ranked[2]
        third = partnership.BY_KEY[third_key].title
        if third_score >= rules.policy.hybrid_min_score and (
            third_score >= rules.policy.hybrid_min_ratio * scores[components[0]]
        ):
            if third_score == scores[components[1]]:
                because += (
                    f" {third} scores the same as {second}; a hybrid combines two models, and "
                    f"{second} comes first in the order the rules prefer on equal scores."
                )
            else:
                because += (
                    f" {third} comes close too, but a hybrid combines only the two models that "
                    "score highest."
                )
    elif scores[model] < rules.policy.hybrid_min_score:
        title = partnership.BY_KEY[model].title
        level = [partnership.BY_KEY[k].title for k, v in ranked if v == scores[model]]
        if len(level) > 1:
            standing = (
                f"{join_names(level)} score the same; {title} is taken because it comes first "
                "in the order the rules prefer on equal scores"
            )
        else:
            standing = f"{title} leads"
        because = (
            f"Scores: {listing}. No model fits strongly: {standing}. The choice deserves "
            "discussion before the charter is signed."
        )
    elif ranked[1][1] >= rules.policy.hybrid_min_ratio * scores[model]:
        runner_up = partnership.BY_KEY[ranked[1][0]].title
        because = (
            f"Scores: {listing}. {partnership.BY_KEY[model].title} fits best; {runner_up} "
            f"comes close but scores below the {rules.policy.hybrid_min_score:g} points a "
            "secondary model needs."
        )
    else:
        because = f"Scores: {listing}. {partnership.BY_KEY[model].title} fits clearly best."
    return Reason(HIT_POLICY, policy_file, because, "scoring")


def load_engine(rules_dir: Path | str | None = None) -> Engine:
    """Return the engine for a rules directory, compiling it once per process and version."""
    rulebook = load(rules_dir)
    key = (rulebook.directory.resolve(), rulebook.version)
    with _LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = Engine(rulebook)
    return engine


_DEFAULTS: dict[str, Engine] = {}


def default_engine() -> Engine:
    """Return the engine for the deployment's rules, compiled on first use: those in
    ASSESS_RULES_DIR when it is set, else the project's own."""
    directory = os.environ.get("ASSESS_RULES_DIR", "").strip()
    engine = _DEFAULTS.get(directory)
    if engine is None:
        engine = _DEFAULTS[directory] = load_engine(directory or None)
    return engine


def refusal(error: RulesError) -> str:
    """Say in one line why the deployment's rules do not load: the first problem, where
    the rules came from, and where to see every problem."""
    rules = (
        "the rules in ASSESS_RULES_DIR"
        if os.environ.get("ASSESS_RULES_DIR", "").strip()
        else "the rules"
    )
    return f"{rules} do not load: {error.problems[0]}; 'assess rules check' lists all."


def evaluate(answers: Mapping[str, int], *, what_if: bool = False) -> Decision:
    """Decide with the project's rules; ``answers`` must already be validated."""
    return default_engine().evaluate(answers, what_if=what_if)


def evaluate_respondents(
    respondents: Sequence[Respondent],
    agreed: Mapping[str, int] | None = None,
    notes: Mapping[str, str] | None = None,
    *,
    what_if: bool = False,
) -> Decision:
    """Decide on several respondents' consensus with the project's rules."""
    return default_engine().evaluate_respondents(respondents, agreed, notes, what_if=what_if)
