"""Named cases beside the rules: answers and what the rules must decide for them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from assess.alignment import Respondent, missing_sides
from assess.decision import Decision
from assess.engine import Engine
from assess.factors import FACTOR_KEYS
from assess.partnership import MODEL_KEYS
from assess.rulebook import (
    PROTOCOL_ID,
    SCENARIO_ENTRIES,
    RulesError,
    display_path,
    misnamed,
    named,
    param_problems,
    read_yaml,
    yaml_files,
)
from assess.schemas import (
    AgreedSchema,
    AnswersSchema,
    Checked,
    Entries,
    RespondentSchema,
    flatten_errors,
    level_field,
    one_of,
    repeated_people,
)

UNKNOWN = "unknown factor"
ADD_SCENARIOS = "add the scenarios the rules must pass"
_PROTOCOL = fields.String(validate=PROTOCOL_ID)


class ExpectSchema(Checked):
    model = fields.String(required=True, validate=one_of((*MODEL_KEYS, "hybrid")))
    components = fields.List(fields.String(validate=one_of(MODEL_KEYS)), required=True)
    protocols = fields.List(_PROTOCOL)
    absent = fields.List(_PROTOCOL)
    params = Entries(
        keys=_PROTOCOL, values=Entries(keys=fields.String(), values=fields.Integer(strict=True))
    )
    significant = fields.List(fields.String(validate=validate.OneOf(FACTOR_KEYS, error=UNKNOWN)))
    consensus = Entries(
        keys=fields.String(validate=validate.OneOf(FACTOR_KEYS, error=UNKNOWN)),
        values=level_field(),
    )

    @validates_schema
    def possible(self, data: dict[str, Any], **_: Any) -> None:
        # Expectations no decision meets would fail whatever the rules say.
        model, components = data["model"], data["components"]
        if model == "hybrid" and (len(components) != 2 or len(set(components)) != 2):
            raise ValidationError(
                "a hybrid has two different models, the primary first", "components"
            )
        if model != "hybrid" and components != [model]:
            raise ValidationError(f"must be [{model}] for that model", "components")
        both = [p for p in data.get("absent", []) if p in data.get("protocols", [])]
        if both:
            raise ValidationError(f"{', '.join(both)} is also expected present", "absent")

    @validates_schema
    def known_params(self, data: dict[str, Any], **_: Any) -> None:
        # Checked here, as in the rules: a parameter the protocol does not have, or a value
        # outside its range, would only show up as a decision that never matches.
        problems = {
            pid: {name: [problem] for name, problem in param_problems(pid, params)}
            for pid, params in data.get("params", {}).items()
        }
        problems = {pid: names for pid, names in problems.items() if names}
        if problems:
            raise ValidationError(problems, "params")


class ScenarioSchema(Checked):
    """A case gives either one answer set or several respondents (and agreed values)."""

    name = fields.String(
        required=True,
        validate=validate.Regexp(r"[a-z0-9-]+\Z", error="must be lowercase-with-dashes"),
    )
    rationale = fields.String(
        required=True, validate=validate.Length(min=10, error="must be at least 10 characters")
    )
    answers = fields.Nested(AnswersSchema)
    respondents = fields.List(
        fields.Nested(RespondentSchema),
        validate=validate.Length(min=2, error="must list at least 2 respondents"),
    )
    consensus = fields.Nested(AgreedSchema)
    expect = fields.Nested(ExpectSchema, required=True)

    @validates_schema
    def one_input(self, data: dict[str, Any], **_: Any) -> None:
        if ("answers" in data) == ("respondents" in data):
            raise ValidationError("give either answers or respondents", "answers")
        # One answer set is decided as it is: agreed values beside it would be ignored, and
        # it has no gaps or consensus to expect.
        if "answers" in data and "consensus" in data:
            raise ValidationError("only with respondents", "consensus")
        for key in ("significant", "consensus"):
            if "answers" in data and key in data.get("expect", {}):
                raise ValidationError({"expect": {key: ["only with respondents"]}})
        missing = "respondents" in data and missing_sides(r["side"] for r in data["respondents"])
        if missing:  # refused as the product refuses it
            raise ValidationError(
                "needs at least one respondent on each side (missing: " + ", ".join(missing) + ")",
                "respondents",
            )
        repeated = repeated_people(data.get("respondents", []))
        if repeated:
            raise ValidationError(repeated, "respondents")


@dataclass(frozen=True)
class Scenario:
    name: str
    file: str
    rationale: str
    expect: dict[str, Any]
    answers: dict[str, int] | None = None
    respondents: tuple[Respondent, ...] = ()
    consensus: dict[str, int] | None = None

    def decide(self, engine: Engine) -> Decision:
        if self.answers is not None:
            return engine.evaluate(self.answers)
        return engine.evaluate_respondents(self.respondents, self.consensus)

    def failures(self, engine: Engine) -> list[str]:
        """Evaluate the case and return every way the decision differs from expectations."""
        decision = self.decide(engine)
        chosen = {p.id for p in decision.protocols}
        problems = []
        alignment = decision.alignment
        if "significant" in self.expect:
            got = sorted(alignment.significant) if alignment else []
            if got != sorted(self.expect["significant"]):
                problems.append(
                    f"significant gaps are {got}, expected {self.expect['significant']}"
                )
        for key, value in self.expect.get("consensus", {}).items():
            got_value = alignment.consensus[key] if alignment else None
            if got_value != value:
                problems.append(f"consensus {key} is {got_value}, expected {value}")
        if decision.model != self.expect["model"]:
            problems.append(f"model is {decision.model}, expected {self.expect['model']}")
        if list(decision.components) != self.expect["components"]:
            problems.append(
                f"components are {list(decision.components)}, expected {self.expect['components']}"
            )
        problems += [f"{p} is missing" for p in self.expect.get("protocols", []) if p not in chosen]
        problems += [f"{p} should be absent" for p in self.expect.get("absent", []) if p in chosen]
        for pid, params in self.expect.get("params", {}).items():
            protocol = decision.protocol(pid)
            for name, value in params.items():
                if protocol is None:
                    problems.append(f"{pid}.{name}: {pid} is missing, expected {value}")
                elif (given := protocol.params.get(name)) != value:
                    problems.append(f"{pid}.{name} is {given}, expected {value}")
        return problems


def load(rules_dir: Path) -> list[Scenario]:
    """Read every scenario file under ``rules_dir/scenarios``; raise RulesError if invalid.

    A folder without scenarios is refused too: a check that ran none would look like a pass.
    """
    folder = rules_dir / "scenarios"
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "folder is missing; " + ADD_SCENARIOS
        raise RulesError([f"{display_path(folder)}: {problem}"])
    scenarios: list[Scenario] = []
    problems: list[str] = misnamed(folder)
    for path in yaml_files(folder):
        name = display_path(path)
        unreadable = len(problems)
        raw = read_yaml(path, problems, SCENARIO_ENTRIES)
        if len(problems) > unreadable:
            continue
        if raw is None:  # read, but holds nothing
            problems.append(f"{name}: file is empty")
            continue
        if not isinstance(raw, list):
            problems.append(f"{name}: must be a list of scenarios")
            continue
        for index, case in enumerate(raw):
            try:
                data = ScenarioSchema().load(case)
            except ValidationError as error:
                label = named(case.get("name") if isinstance(case, dict) else None, index)
                problems += [
                    f"{name}: scenario {label}: {line}" for line in flatten_errors(error.messages)
                ]
                continue
            respondents = tuple(Respondent(**r) for r in data.pop("respondents", []))
            scenarios.append(Scenario(file=name, respondents=respondents, **data))
    first: dict[str, str] = {}
    for scenario in scenarios:
        if scenario.name in first:
            problems.append(
                f"{scenario.file}: scenario {scenario.name}: duplicate scenario name"
                f" (also in {first[scenario.name]})"
            )
        first.setdefault(scenario.name, scenario.file)
    if not scenarios and not problems:
        problems.append(f"{display_path(folder)}: no scenarios found; {ADD_SCENARIOS}")
    if problems:
        raise RulesError(problems)
    return scenarios
