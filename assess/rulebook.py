"""Load the declarative rules in ``rules/``, validate them and stamp them with a version.

Files are YAML. ``policy.yaml`` holds the hit policy and protocol defaults; every other
``*.yaml`` file holds rules of one stage (``scoring`` or ``protocols``). See docs/rules.md.
"""

from __future__ import annotations

import hashlib
import itertools
import operator
import re
import string
from collections import Counter
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from marshmallow import ValidationError, fields, validate, validates_schema

from assess.factors import FACTOR_KEYS, SCALE
from assess.partnership import MODEL_KEYS
from assess.protocols import BY_ID as PROTOCOLS
from assess.schemas import Checked, Entries, flatten_errors, one_of, shown_key

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RULES_DIR = PROJECT_ROOT / "rules"
POLICY_FILE = "policy.yaml"
STAGES = ("scoring", "protocols")
# The explanation's last entry, after the rules': how the scores made the choice.
HIT_POLICY = "hit-policy"
OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte", "between")
# durable_rules 2.0.28 hangs at most this many rules of a ruleset on one chain of
# conditions: one more fails to compile, or with two conditions or more, crashes the process.
SAME_CONDITIONS_MAX = 255


@dataclass(frozen=True)
class FactKind:
    """What values a fact takes, so conditions on it can be checked when loading."""

    kind: str  # "level", "choice", "bool" or "count"
    choices: tuple[str, ...] = ()
    high: int = 5
    # A count's lowest value: gaps start at 0, but every decision has a respondent.
    low: int = 0

    def check(self, value: Any) -> str | None:
        """Return what is wrong with comparing this fact to ``value``, or None."""
        if self.kind == "bool":
            return None if isinstance(value, bool) else "must be true or false"
        if self.kind == "choice":
            return None if value in self.choices else f"must be one of {', '.join(self.choices)}"
        low = SCALE.start if self.kind == "level" else self.low
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= self.high:
            return f"must be an integer from {low} to {self.high}"
        return None

    def operators(self) -> tuple[str, ...]:
        return ("eq", "ne") if self.kind in ("bool", "choice") else OPERATORS

    def values(self) -> tuple[Any, ...]:
        """Every value the fact can take."""
        if self.kind == "bool":
            return (False, True)
        if self.kind == "choice":
            return self.choices
        return tuple(range(SCALE.start if self.kind == "level" else self.low, self.high + 1))


LEVEL = FactKind("level")
MODEL_CHOICES = (*MODEL_KEYS, "hybrid")

# Facts a protocols rule may test besides the answers: derived after scoring.
DERIVED_FACTS: dict[str, FactKind] = {
    "model": FactKind("choice", MODEL_CHOICES),
    "primary": FactKind("choice", MODEL_KEYS),
    "secondary": FactKind("choice", (*MODEL_KEYS, "none")),
    "hybrid": FactKind("bool"),
    **{f"uses_{key}": FactKind("bool") for key in MODEL_KEYS},
    # How far apart the respondents started (one respondent: no gaps).
    "respondents": FactKind("count", high=100, low=1),
    "significant_gaps": FactKind("count", high=len(FACTOR_KEYS)),
    **{f"gap_{key}": FactKind("count", high=SCALE.stop - 1 - SCALE.start) for key in FACTOR_KEYS},
}


def derived_facts(model: str, components: tuple[str, ...]) -> dict[str, Any]:
    """Facts the protocols stage may test besides the answers."""
    return {
        "model": model,
        "primary": components[0],
        "secondary": components[1] if len(components) > 1 else "none",
        "hybrid": model == "hybrid",
        **{f"uses_{key}": key in components for key in MODEL_KEYS},
    }


# What the derived facts of every possible decision are: one model, or a hybrid of two.
OUTCOMES = tuple(
    derived_facts(*outcome)
    for outcome in [
        *((key, (key,)) for key in MODEL_KEYS),
        *(("hybrid", pair) for pair in itertools.permutations(MODEL_KEYS, 2)),
    ]
)

STAGE_FACTS: dict[str, dict[str, FactKind]] = {
    "scoring": {key: LEVEL for key in FACTOR_KEYS},
    "protocols": {**{key: LEVEL for key in FACTOR_KEYS}, **DERIVED_FACTS},
}


COMPARE = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}


@dataclass(frozen=True)
class Condition:
    fact: str
    op: str
    value: Any

    def holds(self, fact_value: Any) -> bool:
        return bool(COMPARE[self.op](fact_value, self.value))


@dataclass(frozen=True)
class Rule:
    id: str
    file: str
    stage: str
    conditions: tuple[Condition, ...]
    because: str
    score: dict[str, float]
    protocols: dict[str, dict[str, int]]

    def explain(self, facts: dict[str, Any]) -> str:
        """Fill the rule's reason with the facts it was fired on."""
        return self.because.format_map(facts)


@dataclass(frozen=True)
class Policy:
    hybrid_min_ratio: float
    hybrid_min_score: float
    tie_break: tuple[str, ...]
    defaults: dict[str, dict[str, int]]


@dataclass(frozen=True)
class Rulebook:
    directory: Path
    rules: tuple[Rule, ...]
    policy: Policy
    version: str

    def stage(self, name: str) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.stage == name)


class RulesError(Exception):
    """The rules files are not valid; ``problems`` names file, rule and what is wrong."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# --- schemas -----------------------------------------------------------------------------

# A typo in a protocol id is told what it could have been, as an unknown fact is.
PROTOCOL_ID = validate.OneOf(
    tuple(PROTOCOLS), error=f"unknown protocol id (expected one of {', '.join(PROTOCOLS)})"
)


class Number(fields.Float):
    """A number as YAML writes one: text such as "3" is refused, where marshmallow would
    turn it into a number."""

    def _validated(self, value: Any) -> float:
        if isinstance(value, str):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


# The points one rule may give or take from one model (the rules use single digits).
SCORE_MAX = 1000


class RuleSchema(Checked):
    id = fields.String(
        required=True,
        validate=[
            validate.Regexp(r"[a-z0-9][a-z0-9-]*\Z", error="must be lowercase-with-dashes"),
            # The result page and the changes between two charters find that entry by it.
            validate.NoneOf(
                [HIT_POLICY],
                error="names the hit policy's entry in the explanation; choose another",
            ),
        ],
    )
    when = Entries(keys=fields.String(), required=True)
    because = fields.String(
        required=True,
        validate=validate.Length(min=10, max=400, error="must be 10 to 400 characters"),
    )
    # Bounded, so that no sum of them can overflow to infinity in a decision.
    score = Entries(
        keys=fields.String(validate=one_of(MODEL_KEYS)),
        values=Number(
            validate=validate.Range(
                -SCORE_MAX, SCORE_MAX, error=f"must be -{SCORE_MAX} to {SCORE_MAX}"
            )
        ),
    )
    protocols = Entries(
        keys=fields.String(validate=PROTOCOL_ID),
        values=Entries(keys=fields.String(), values=fields.Raw(allow_none=True)),
    )


class RulesFileSchema(Checked):
    stage = fields.String(required=True, validate=one_of(STAGES))
    description = fields.String()
    # Each rule is checked on its own, so that a problem names it.
    rules = fields.List(
        fields.Raw(), required=True, validate=validate.Length(min=1, error="must list a rule")
    )


class HybridSchema(Checked):
    min_ratio = Number(
        required=True, validate=validate.Range(0, 1, error="must be a number from 0 to 1")
    )
    min_score = Number(required=True)


class PolicySchema(Checked):
    description = fields.String()
    hybrid = fields.Nested(HybridSchema, required=True)
    tie_break = fields.List(fields.String(validate=one_of(MODEL_KEYS)), required=True)
    defaults = Entries(
        keys=fields.String(validate=PROTOCOL_ID),
        values=Entries(keys=fields.String(), values=fields.Raw()),
        required=True,
    )

    @validates_schema
    def check_tie_break(self, data: dict[str, Any], **_: Any) -> None:
        if sorted(data.get("tie_break", [])) != sorted(MODEL_KEYS):
            raise ValidationError("must list each model exactly once", "tie_break")


# --- loading -----------------------------------------------------------------------------


class UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (YAML requires unique
    keys; PyYAML would silently keep the last, dropping a condition or a parameter)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                # A merged key would hide which value a rule really has: each rule says it all.
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    "merge keys (<<) are not read in rules files: write the keys out",
                    key_node.start_mark,
                )
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue  # the base class reports unhashable keys itself
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# PyYAML reads a number with an exponent but no dot or no exponent sign (1e2, 1.5e3) as
# text, as YAML 1.1 did; YAML 1.2, and whoever writes one, means a number.
UniqueKeyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+\Z"),
    list("-+0123456789"),
)


def load(directory: Path | str | None = None) -> Rulebook:
    """Read, validate and version every rules file in ``directory``; raise RulesError."""
    root = Path(directory) if directory else DEFAULT_RULES_DIR
    problems: list[str] = []
    if not root.is_dir():
        problem = "is not a folder" if root.exists() else "folder is missing"
        raise RulesError([f"{display_path(root)}: {problem}"])
    if not (root / POLICY_FILE).is_file():
        problem = "is not a file" if (root / POLICY_FILE).exists() else "file is missing"
        raise RulesError([f"{display_path(root / POLICY_FILE)}: {problem}"])
    problems.extend(misnamed(root))
    # The text each file was read from, versioned as read: a file saved meanwhile would
    # otherwise stamp these rules with the version of other ones.
    read: dict[Path, bytes] = {}
    policy = _load_policy(root / POLICY_FILE, problems, read)
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for path in rule_files(root):
        for rule in _load_rules_file(path, problems, read):
            if rule.id in seen:
                problems.append(
                    f"{rule.file}: rule {rule.id}: duplicate rule id (also in {seen[rule.id]})"
                )
            seen.setdefault(rule.id, rule.file)
            rules.append(rule)
    problems.extend(crowded(rules))
    problems.extend(missing_stages(root, rules, problems))
    if problems or policy is None:
        raise RulesError(problems)
    return Rulebook(root, tuple(rules), policy, version(read))


def missing_stages(root: Path, rules: list[Rule], problems: list[str]) -> list[str]:
    """Say that a stage has no rules: such rules load, and then decide nothing (no rule
    gives the escalation ladder and mediation every decision needs)."""
    if not rule_files(root):
        return [
            f"{display_path(root)}: no rules files; "
            f"add the scoring and protocols rules beside {POLICY_FILE}"
        ]
    if problems:  # a file in error may hold the stage's rules
        return []
    return [
        f"{display_path(root)}: no {stage} rules; a decision needs scoring and protocols rules"
        for stage in STAGES
        if not any(rule.stage == stage for rule in rules)
    ]


def crowded(rules: list[Rule]) -> Iterator[str]:
    """Name the rule past the most that durable_rules takes with exactly the same conditions
    (in the same order) in one stage."""
    counts: Counter[tuple[str, tuple[Condition, ...]]] = Counter()
    for rule in rules:
        key = (rule.stage, rule.conditions)
        counts[key] += 1
        if counts[key] == SAME_CONDITIONS_MAX + 1:
            yield (
                f"{rule.file}: rule {rule.id}: {counts[key]} {rule.stage} rules have exactly "
                f"these conditions; durable_rules compiles at most {SAME_CONDITIONS_MAX} with "
                "the same conditions: merge some of them"
            )


def rule_files(root: Path) -> list[Path]:
    """Return the rules files of a directory in the order they are read."""
    return [p for p in yaml_files(root) if p.name != POLICY_FILE]


def hidden(path: Path) -> bool:
    """Say whether a file is one an editor or a system leaves beside the rules, never part
    of them: an editor's lock (.#file, a dangling link) or a Mac's resource fork (._file)."""
    return path.name.startswith(".")


def yaml_files(folder: Path) -> list[Path]:
    """Return the ``*.yaml`` files of a folder that are read, in name order."""
    return sorted(p for p in folder.glob("*.yaml") if not hidden(p))


def misnamed(folder: Path) -> list[str]:
    """Say to rename each YAML file of a folder that is not named ``*.yaml``: only those are
    read (and versioned), so a ``70-mine.yml`` would otherwise be silently left out."""
    return [
        f"{display_path(path)}: only .yaml files are read; rename it to {path.stem}.yaml"
        for path in sorted(folder.glob("*"))
        if path.suffix.lower() in (".yml", ".yaml") and path.suffix != ".yaml" and not hidden(path)
    ]


def version(read: dict[Path, bytes]) -> str:
    """Hash every file that decides (policy, then the rules files in the order they are
    read; not scenarios) into one version."""
    digest = hashlib.sha256()
    for path, content in read.items():
        digest.update(path.name.encode() + b"\0" + content + b"\0")
    return digest.hexdigest()


def named(given: Any, index: int) -> str:
    """Name a rule or scenario in a problem by its id, or by its place in the file when the
    id is not one line of text (a list that YAML aliases multiply would never end)."""
    if isinstance(given, str) and given and given.isprintable():
        return given
    return f"#{index + 1}"


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except (ValueError, OSError, RuntimeError):  # outside the project, or a symlink loop
        return str(path)


# Where the entries of a file are, and what names one: a rules file lists its rules under
# ``rules``, a scenarios file is the list itself.
RULE_ENTRIES = ("rules", "rule", "id")
SCENARIO_ENTRIES = ("", "scenario", "name")


def read_yaml(
    path: Path,
    problems: list[str],
    entries: tuple[str, str, str] | None = None,
    read: dict[Path, bytes] | None = None,
) -> Any:
    """Return a YAML file's content, or None with the reason added to ``problems``.

    With ``entries``, a problem inside one rule or scenario (a key given twice) names it;
    ``read`` keeps the bytes the content was read from."""
    text = ""
    if path.exists() and not path.is_file():
        # A folder, or a pipe or device whose reading would wait or never end.
        problems.append(f"{display_path(path)}: is not a file")
        return None
    try:
        content = path.read_bytes()
        if read is not None:
            read[path] = content
        text = content.decode("utf-8")
        return yaml.load(text, Loader=UniqueKeyLoader)
    except yaml.reader.ReaderError as error:  # a control character: PyYAML says no line
        before = text[: error.position]
        line, column = before.count("\n") + 1, error.position - before.rfind("\n")
        problems.append(
            f"{display_path(path)}: not valid YAML at line {line}, column {column} "
            f"(the character U+{error.character:04X} is not allowed)"
        )
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None)
        detail = f" ({problem})" if problem else ""
        if problem and "'\\t'" in problem:
            detail += "; use spaces, not tabs"
        entry = _entry_at(text, mark.index, entries) if mark and entries else None
        label = f" {entry}:" if entry else ""
        problems.append(f"{display_path(path)}:{label} not valid YAML{where}{detail}")
    except RecursionError:
        problems.append(f"{display_path(path)}: nested too deeply")
    except UnicodeDecodeError as error:
        line = error.object[: error.start].count(b"\n") + 1
        byte = error.object[error.start]
        problems.append(
            f"{display_path(path)}: not UTF-8 text (byte 0x{byte:02x} at line {line});"
            " save it as UTF-8"
        )
    except OSError as error:
        problems.append(f"{display_path(path)}: cannot be read ({error})")
    return None


def _entry_at(text: str, index: int, entries: tuple[str, str, str]) -> str | None:
    """Name the rule or scenario whose text holds ``index``, as the other problems name it.

    Reading a file's structure (without building its values) passes where the values fail,
    such as a key given twice; a file whose very structure is broken names no entry."""
    under, word, key = entries
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return None
    if under and isinstance(root, yaml.MappingNode):
        root = next((v for k, v in root.value if k.value == under), None)
    if not isinstance(root, yaml.SequenceNode):
        return None
    for position, node in enumerate(root.value):
        if node.start_mark.index <= index < node.end_mark.index:
            given = (
                next((v.value for k, v in node.value if k.value == key), None)
                if isinstance(node, yaml.MappingNode)
                else None
            )
            return f"{word} {named(given, position)}"
    return None


def _load_policy(path: Path, problems: list[str], read: dict[Path, bytes]) -> Policy | None:
    name = display_path(path)
    found = len(problems)
    raw = read_yaml(path, problems, read=read)
    if raw is None:
        if len(problems) == found:
            problems.append(f"{name}: file is empty")
        return None
    if not isinstance(raw, dict):
        problems.append(f"{name}: must be a mapping of hybrid, tie_break and defaults")
        return None
    try:
        data = PolicySchema().load(raw)
    except ValidationError as error:
        problems.extend(f"{name}: {line}" for line in flatten_errors(error.messages))
        return None
    defaults = {pid: dict(params) for pid, params in data["defaults"].items()}
    for pid, protocol in PROTOCOLS.items():
        given = defaults.get(pid)
        if given is None:
            problems.append(f"{name}: defaults.{pid}: is required")
            continue
        for key, problem in param_problems(pid, given):
            problems.append(f"{name}: defaults.{pid}.{shown_key(key)}: {problem}")
        for param in protocol.params:
            if param.name not in given:
                problems.append(f"{name}: defaults.{pid}.{param.name}: is required")
    return Policy(
        hybrid_min_ratio=data["hybrid"]["min_ratio"],
        hybrid_min_score=data["hybrid"]["min_score"],
        tie_break=tuple(data["tie_break"]),
        defaults=defaults,
    )


def param_problems(protocol_id: str, params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Name each parameter the protocol does not have, or whose value it cannot take."""
    protocol = PROTOCOLS[protocol_id]
    for name, value in params.items():
        param = protocol.param(name)
        if param is None:
            known = ", ".join(p.name for p in protocol.params)
            yield name, f"unknown parameter (expected one of {known})"
        elif isinstance(value, bool) or not isinstance(value, int):
            yield name, "must be an integer"
        elif not param.low <= value <= param.high:
            yield name, f"must be from {param.low} to {param.high} {param.unit}"


def _load_rules_file(path: Path, problems: list[str], read: dict[Path, bytes]) -> Iterator[Rule]:
    name = display_path(path)
    found = len(problems)
    raw = read_yaml(path, problems, RULE_ENTRIES, read)
    if raw is None and len(problems) == found:  # read, but holds nothing
        problems.append(f"{name}: file is empty")
    if raw is None:
        return
    if not isinstance(raw, dict):
        problems.append(f"{name}: must be a mapping of stage and rules")
        return
    try:
        data = RulesFileSchema().load(raw)
    except ValidationError as error:
        problems.extend(f"{name}: {line}" for line in flatten_errors(error.messages))
        return
    stage = data["stage"]
    for index, raw_rule in enumerate(data["rules"]):
        if not isinstance(raw_rule, dict):
            problems.append(f"{name}: rule #{index + 1}: must be an object")
            continue
        label = f"rule {named(raw_rule.get('id'), index)}"
        rule_problems: list[str] = []
        rule = _load_rule(raw_rule, name, stage, rule_problems)
        problems.extend(f"{name}: {label}: {p}" for p in rule_problems)
        if rule is not None and not rule_problems:
            yield rule


def _load_rule(raw: dict[str, Any], file: str, stage: str, problems: list[str]) -> Rule | None:
    try:
        data = RuleSchema().load(raw)
    except ValidationError as error:
        problems.extend(flatten_errors(error.messages))
        return None
    facts = STAGE_FACTS[stage]
    found = len(problems)
    conditions = tuple(_conditions(data["when"], facts, problems))
    # Each fact can hold on its own, yet a decision never has them together (a hybrid's
    # model is "hybrid", never "agile"): the rule would silently never fire.
    on_outcome = [c for c in conditions if c.fact in OUTCOMES[0]]
    fires_for = [o for o in OUTCOMES if all(c.holds(o[c.fact]) for c in on_outcome)]
    together = bool(fires_for)
    if on_outcome and len(problems) == found and not together:
        problems.append("when: no decision has these together; the rule would never fire")
    score = dict(data.get("score", {}))
    protocols = {pid: dict(params or {}) for pid, params in data.get("protocols", {}).items()}
    if stage == "scoring" and (not score or protocols):
        problems.append("a scoring rule gives a score to at least one model and no protocols")
    if stage == "protocols" and (not protocols or score):
        problems.append("a protocols rule names at least one protocol and gives no score")
    for pid, params in protocols.items():
        problems.extend(
            f"protocols.{pid}.{shown_key(name)}: {p}" for name, p in param_problems(pid, params)
        )
    _check_because(data["because"], facts, fires_for, problems)
    return Rule(data["id"], file, stage, conditions, data["because"], score, protocols)


def _check_because(
    because: str,
    facts: dict[str, FactKind],
    fires_for: list[dict[str, Any]],
    problems: list[str],
) -> None:
    """Note each placeholder of a rule's reason that would not show the client words: one
    naming no fact or model title, or a fact read as a key or True/False, or the second
    model's title in a rule that also fires for a decision of one model (``fires_for``)."""
    names = set(facts) | {f"{key}_title" for key in ("primary", "secondary")}
    try:
        fields = list(string.Formatter().parse(because))
    except ValueError:  # Python's words for it are about format strings
        problems.append("because: a { or } without its pair; write {{ or }} for a brace itself")
        fields = []
    for _, placeholder, spec, conversion in fields:
        if placeholder is None:
            continue
        if placeholder not in names:
            problems.append(f"because: unknown placeholder {{{placeholder}}}")
        elif placeholder in facts and facts[placeholder].kind == "choice":
            problems.append(
                f"because: {{{placeholder}}} would show the client a key such as "
                "strategic_resource; write {primary_title} or {secondary_title} for a model's name"
            )
        elif placeholder in facts and facts[placeholder].kind == "bool":
            problems.append(
                f"because: {{{placeholder}}} would show the client True or False; say it in "
                "words, with a condition on it"
            )
        elif spec or conversion:
            problems.append(f"because: {{{placeholder}}} takes no format or conversion")
        elif placeholder == "secondary_title" and not all(o["hybrid"] for o in fires_for):
            # A decision of one model has no second: the sentence would name the first twice.
            problems.append(
                "because: {secondary_title} names a hybrid's second model, and this rule also "
                "fires for a decision of one model; add hybrid: true to when, or write "
                "{primary_title}"
            )


def _between(fact: str, kind: FactKind, value: Any, problems: list[str]) -> list[Condition]:
    """Read ``between: [low, high]`` as the two conditions gte low and lte high."""
    if not (isinstance(value, list) and len(value) == 2):
        problems.append(f"when.{fact}.between: must be a list [low, high]")
        return []
    low, high = value
    if all(kind.check(v) is None for v in value) and low > high:
        problems.append(f"when.{fact}.between: low {low} is above high {high}")
        return []
    found: list[Condition] = []
    for bound, opname in zip(value, ("gte", "lte"), strict=True):
        if (problem := kind.check(bound)) is not None:
            problems.append(f"when.{fact}.between: {problem}")
        else:
            found.append(Condition(fact, opname, bound))
    return found


def _conditions(
    when: dict[str, Any], facts: dict[str, FactKind], problems: list[str]
) -> Iterator[Condition]:
    for fact, test in when.items():
        kind = facts.get(fact)
        if kind is None:
            problems.append(
                f"when.{shown_key(fact)}: unknown fact (expected one of {', '.join(facts)})"
            )
            continue
        tests = test if isinstance(test, dict) else {"eq": test}
        if not tests:
            problems.append(f"when.{fact}: needs a comparison such as {{gte: 4}}")
        found: list[Condition] = []
        for op, value in tests.items():
            if op not in kind.operators():
                problems.append(
                    f"when.{fact}: unknown operator {op!r}"
                    f" (expected one of {', '.join(kind.operators())})"
                )
            elif op == "between":
                found.extend(_between(fact, kind, value, problems))
            elif (problem := kind.check(value)) is not None:
                problems.append(f"when.{fact}.{op}: {problem}")
            else:
                found.append(Condition(fact, op, value))
        # As a between whose bounds are the wrong way round: a rule that could never fire.
        if found and not any(all(c.holds(v) for c in found) for v in kind.values()):
            problems.append(
                f"when.{fact}: no value meets these conditions together; the rule would never fire"
            )
        yield from found
