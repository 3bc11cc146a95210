"""Loading and validating rules files: every defect is a clear error naming file and rule."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from assess.cli import cli
from assess.rulebook import DEFAULT_RULES_DIR, RulesError, load


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, target)
    return target


def add_rule(rules_dir: Path, text: str, stage: str = "protocols") -> None:
    (rules_dir / "90-extra.yaml").write_text(f"stage: {stage}\nrules:\n{text}")


GOOD_BECAUSE = "    because: A reason long enough to explain the rule.\n"

DEFECTS = {
    "the hit policy's name": (
        "  - id: hit-policy\n    when: {}\n    protocols: {decision_log: {}}\n" + GOOD_BECAUSE,
        "rule hit-policy: id: names the hit policy's entry in the explanation; choose another",
    ),
    "unknown factor": (
        "  - id: bad-factor\n    when: {innovashun: 4}\n    protocols: {decision_log: {}}\n"
        + GOOD_BECAUSE,
        "rule bad-factor: when.innovashun: unknown fact",
    ),
    "value outside 1..5": (
        "  - id: bad-level\n    when: {innovation: {gte: 6}}\n    protocols: {decision_log: {}}\n"
        + GOOD_BECAUSE,
        "rule bad-level: when.innovation.gte: must be an integer from 1 to 5",
    ),
    "no respondents": (
        "  - id: nobody\n    when: {respondents: 0}\n    protocols: {decision_log: {}}\n"
        + GOOD_BECAUSE,
        "rule nobody: when.respondents.eq: must be an integer from 1 to 100",
    ),
    "string level": (
        "  - id: string-level\n    when: {innovation: '4'}\n    protocols: {decision_log: {}}\n"
        + GOOD_BECAUSE,
        "rule string-level: when.innovation.eq: must be an integer from 1 to 5",
    ),
    "unknown protocol": (
        "  - id: bad-protocol\n    when: {innovation: 4}\n    protocols: {group_hug: {}}\n"
        + GOOD_BECAUSE,
        "rule bad-protocol: protocols.group_hug: unknown protocol id (expected one of "
        "escalation_ladder, mediation, communication_tiers,",
    ),
    "unknown parameter": (
        "  - id: bad-param\n    when: {innovation: 4}\n    protocols: {mediation: {days: 3}}\n"
        + GOOD_BECAUSE,
        "rule bad-param: protocols.mediation.days: unknown parameter (expected one of "
        "trigger_days, trust_threshold, brief_due_days)",
    ),
    "parameter out of range": (
        "  - id: bad-range\n    when: {innovation: 4}\n"
        "    protocols: {trust_check: {threshold: 11}}\n" + GOOD_BECAUSE,
        "rule bad-range: protocols.trust_check.threshold: must be from 1 to 10",
    ),
    "duplicate id": (
        "  - id: baseline-governance\n    when: {innovation: 4}\n"
        "    protocols: {decision_log: {}}\n" + GOOD_BECAUSE,
        "rule baseline-governance: duplicate rule id (also in ",
    ),
    "unknown operator": (
        "  - id: bad-op\n    when: {innovation: {about: 4}}\n    protocols: {decision_log: {}}\n"
        + GOOD_BECAUSE,
        "rule bad-op: when.innovation: unknown operator 'about' (expected one of eq, ne, lt, "
        "lte, gt, gte, between)",
    ),
    "malformed between": (
        "  - id: bad-between\n    when: {innovation: {between: 4}}\n"
        "    protocols: {decision_log: {}}\n" + GOOD_BECAUSE,
        "rule bad-between: when.innovation.between: must be a list [low, high]",
    ),
    "derived fact in scoring": (
        "  - id: bad-stage\n    when: {hybrid: true}\n    score: {agile: 1}\n" + GOOD_BECAUSE,
        "rule bad-stage: when.hybrid: unknown fact",
    ),
    "unknown placeholder": (
        "  - id: bad-text\n    when: {innovation: 4}\n    protocols: {decision_log: {}}\n"
        "    because: Innovation is {innovasion} of 5, which matters.\n",
        "rule bad-text: because: unknown placeholder {innovasion}",
    ),
    "brace without its pair": (
        "  - id: bad-brace\n    when: {innovation: 4}\n    protocols: {decision_log: {}}\n"
        "    because: Innovation is {innovation of 5, which matters.\n",
        "rule bad-brace: because: a { or } without its pair; write {{ or }} for a brace itself",
    ),
    "closing brace alone": (
        "  - id: lone-brace\n    when: {innovation: 4}\n    protocols: {decision_log: {}}\n"
        "    because: Innovation is innovation} of 5, which matters.\n",
        "rule lone-brace: because: a { or } without its pair; write {{ or }} for a brace itself",
    ),
    "model key in a reason": (
        "  - id: keyed-text\n    when: {hybrid: true}\n    protocols: {decision_log: {}}\n"
        "    because: The {primary} side leads this partnership.\n",
        "rule keyed-text: because: {primary} would show the client a key such as "
        "strategic_resource; write {primary_title} or {secondary_title} for a model's name",
    ),
    "true or false in a reason": (
        "  - id: bool-text\n    when: {innovation: 4}\n    protocols: {decision_log: {}}\n"
        "    because: A hybrid ({hybrid}) matters here.\n",
        "rule bool-text: because: {hybrid} would show the client True or False; say it in "
        "words, with a condition on it",
    ),
    "second model named where one model may be chosen": (
        "  - id: lone-second\n    when: {uses_agile: true}\n    protocols: {decision_log: {}}\n"
        "    because: Agile work sits alongside {secondary_title} here.\n",
        "rule lone-second: because: {secondary_title} names a hybrid's second model, and this "
        "rule also fires for a decision of one model; add hybrid: true to when, or write "
        "{primary_title}",
    ),
    "second model named by a scoring rule": (
        "  - id: scoring-second\n    when: {innovation: 4}\n    score: {agile: 1}\n"
        "    because: Innovation at 4 favours {secondary_title} as well.\n",
        "rule scoring-second: because: {secondary_title} names a hybrid's second model, and "
        "this rule also fires for a decision of one model; add hybrid: true to when, or write "
        "{primary_title}",
    ),
    "missing because": (
        "  - id: no-reason\n    when: {innovation: 4}\n    protocols: {decision_log: {}}\n",
        "rule no-reason: because: is required",
    ),
    "unknown model in a score": (
        "  - id: bad-model\n    when: {innovation: 4}\n    score: {agil: 1}\n" + GOOD_BECAUSE,
        "rule bad-model: score.agil: must be one of: integrated, strategic_resource, agile",
    ),
    "unknown key": (
        "  - id: extra-key\n    when: {innovation: 4}\n    protocols: {decision_log: {}}\n"
        "    salience: 3\n" + GOOD_BECAUSE,
        "rule extra-key: salience: unknown field",
    ),
}


@pytest.mark.parametrize("defect", DEFECTS)
def test_each_defect_is_reported_with_file_and_rule(rules_copy: Path, defect: str) -> None:
    text, expected = DEFECTS[defect]
    stage = "scoring" if "score:" in text else "protocols"
    add_rule(rules_copy, text, stage)
    with pytest.raises(RulesError) as caught:
        load(rules_copy)
    assert any(
        p.startswith(str(rules_copy / "90-extra.yaml")) and expected in p
        for p in caught.value.problems
    ), caught.value.problems


@pytest.mark.parametrize(
    "when", ["{hybrid: true}", "{model: hybrid}", "{secondary: {ne: none}}", "{secondary: agile}"]
)
def test_a_rule_that_fires_only_for_hybrids_may_name_the_second_model(
    rules_copy: Path, when: str
) -> None:
    add_rule(
        rules_copy,
        f"  - id: second-named\n    when: {when}\n    protocols: {{decision_log: {{}}}}\n"
        "    because: '{primary_title} leads and {secondary_title} supports.'\n",
    )
    [rule] = [rule for rule in load(rules_copy).rules if rule.id == "second-named"]
    titles = {"primary_title": "Agile", "secondary_title": "Integrated"}
    assert rule.explain(titles) == "Agile leads and Integrated supports."


def test_scoring_rule_must_score(rules_copy: Path) -> None:
    add_rule(
        rules_copy,
        "  - id: no-score\n    when: {innovation: 4}\n    protocols: {decision_log: {}}\n"
        + GOOD_BECAUSE,
        stage="scoring",
    )
    with pytest.raises(RulesError, match="no-score: a scoring rule gives a score"):
        load(rules_copy)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules: [\n  - id: x\n", "line 3, column 3 (expected the node content, but found '-')"),
        (
            "rules:\n\t- id: x\n",
            "line 3, column 1 (found character '\\t' that cannot start any token);"
            " use spaces, not tabs",
        ),
        ("rules:\n  - id: x\n    when: {innovation: 4\n", "line 5, column 1 (expected ',' or '}'"),
        ('rules:\n  - id: "x\n', "line 4, column 1 (found unexpected end of stream)"),
        ("rules:\n  - id: x\x00\n", "line 3, column 10 (the character U+0000 is not allowed)"),
        ("rules:\n  - id: x\x1b[0m\n", "line 3, column 10 (the character U+001B is not allowed)"),
    ],
    ids=["flow-list", "tab", "unclosed-brace", "unclosed-quote", "nul", "escape"],
)
def test_invalid_yaml_names_the_line_column_and_what_is_wrong(
    rules_copy: Path, text: str, expected: str
) -> None:
    (rules_copy / "90-extra.yaml").write_text("stage: scoring\n" + text)
    with pytest.raises(RulesError) as caught:
        load(rules_copy)
    [problem] = [p for p in caught.value.problems if "90-extra.yaml" in p]
    assert problem.startswith(f"{rules_copy / '90-extra.yaml'}: not valid YAML at {expected}")


def test_policy_must_give_every_default(rules_copy: Path) -> None:
    policy = rules_copy / "policy.yaml"
    policy.write_text(policy.read_text().replace("  sprint_cadence: {sprint_days: 14}\n", ""))
    with pytest.raises(RulesError, match=r"policy.yaml: defaults.sprint_cadence: is required"):
        load(rules_copy)


def test_version_changes_with_any_rules_file_but_not_scenarios(rules_copy: Path) -> None:
    before = load(rules_copy).version
    (rules_copy / "scenarios" / "models.yaml").write_text(
        (rules_copy / "scenarios" / "models.yaml").read_text() + "\n# note\n"
    )
    assert load(rules_copy).version == before
    scoring = rules_copy / "10-scoring.yaml"
    scoring.write_text(scoring.read_text() + "\n# a comment is still a change\n")
    assert load(rules_copy).version != before


def test_the_version_is_that_of_the_text_the_rules_were_read_from(
    rules_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file saved while the rules load (an editor, a deployment copying files in) must not
    stamp the rules read before it with the version of the text saved after."""
    from assess import rulebook

    expected = load(rules_copy).version
    scoring = rules_copy / "10-scoring.yaml"
    read = rulebook._load_rules_file

    def saved_meanwhile(path: Path, *given: Any) -> Any:
        yield from read(path, *given)
        if path == scoring:
            scoring.write_text(scoring.read_text().replace("score: {", "score: {agile: 9, ", 1))

    monkeypatch.setattr(rulebook, "_load_rules_file", saved_meanwhile)
    assert load(rules_copy).version == expected


def test_rules_check_command_exits_1_and_prints_each_problem(rules_copy: Path) -> None:
    text, expected = DEFECTS["unknown protocol"]
    add_rule(rules_copy, text)
    result = CliRunner().invoke(cli, ["rules", "check", "--rules-dir", str(rules_copy)])
    assert result.exit_code == 1
    assert expected in result.output
    assert "Traceback" not in result.output


def test_rules_check_command_accepts_the_project_rules() -> None:
    result = CliRunner().invoke(cli, ["rules", "check"])
    assert result.exit_code == 0, result.output
    assert "scenarios pass" in result.output


@pytest.mark.parametrize("given", ["   ", " {rules} "], ids=["blank", "spaced"])
def test_rules_check_reads_the_folder_the_app_reads_from_the_environment(
    rules_copy: Path, given: str
) -> None:
    """A blank ASSESS_RULES_DIR means the project's rules, and spaces around a folder are
    not part of its name, for the command as for the app."""
    env = {"ASSESS_RULES_DIR": given.format(rules=rules_copy)}
    result = CliRunner().invoke(cli, ["rules", "check"], env=env)
    assert result.exit_code == 0, result.output
    assert "scenarios pass" in result.output


@pytest.mark.parametrize("command", ["check", "sweep"])
@pytest.mark.parametrize("kind", ["file", "missing"])
def test_a_rules_folder_that_is_not_one_is_refused_naming_where_it_was_given(
    tmp_path: Path, command: str, kind: str
) -> None:
    """The folder comes from --rules-dir or from ASSESS_RULES_DIR: the error names the one
    the user gave, not an option they never typed."""
    given = tmp_path / "rules.yaml"
    if kind == "file":
        given.write_text("stage: scoring\nrules: []\n")
    problem = "is not a folder" if kind == "file" else "does not exist"
    from_env = CliRunner().invoke(cli, ["rules", command], env={"ASSESS_RULES_DIR": str(given)})
    assert from_env.exit_code == 2, from_env.output
    assert isinstance(from_env.exception, SystemExit), from_env.exception  # not a traceback
    assert from_env.stderr.endswith(
        f"Error: Invalid value for the environment variable ASSESS_RULES_DIR: "
        f"'{given}' {problem}.\n"
    ), from_env.stderr
    assert "--rules-dir" not in from_env.stderr.replace(f"assess rules {command} --help", "")
    from_option = CliRunner().invoke(cli, ["rules", command, "--rules-dir", str(given)])
    assert from_option.exit_code == 2 and "Traceback" not in from_option.output
    assert from_option.stderr.endswith(
        f"Error: Invalid value for '--rules-dir': '{given}' {problem}.\n"
    ), from_option.stderr


def test_rules_check_reports_a_failing_scenario(rules_copy: Path) -> None:
    scoring = rules_copy / "10-scoring.yaml"
    scoring.write_text(
        scoring.read_text().replace(
            "score: {strategic_resource: 7}", "score: {strategic_resource: 1}"
        )
    )
    result = CliRunner().invoke(cli, ["rules", "check", "--rules-dir", str(rules_copy)])
    assert result.exit_code == 1
    assert "scenario immersive-theatre-venue: model is integrated" in result.output


def test_reasons_use_the_units_and_terms_of_their_protocols() -> None:
    rules = {rule.id: rule for rule in load().rules}
    # The band is in percentage points (catalogue unit), not "points" of an unstated kind.
    assert "10 percentage points" in rules["co-creation-dynamic-equity-narrow-band"].because
    # The returns framework weighs four kinds of risk; the reason names them all and claims
    # nothing the answers do not show (high risk tolerance is not uneven risk).
    returns = rules["risk-weighted-returns"].because
    for risk in ("financial", "creative", "reputational", "opportunity-cost"):
        assert risk in returns
    assert "uneven" not in returns
    # The charter sets these cadences for its whole term: no reason promises they end.
    for rule_id in ("alignment-creative-depth", "alignment-frequent-trust-checks"):
        assert "until" not in rules[rule_id].because
        assert "while" not in rules[rule_id].because


def test_a_yml_rules_file_stops_the_start_instead_of_being_ignored(rules_copy: Path) -> None:
    (rules_copy / "70-mine.yml").write_text("stage: protocols\nrules: []\n")
    with pytest.raises(RulesError) as caught:
        load(rules_copy)
    assert caught.value.problems == [
        f"{rules_copy / '70-mine.yml'}: only .yaml files are read; rename it to 70-mine.yaml"
    ]


def test_the_rules_page_names_every_key_the_files_may_hold() -> None:
    """Whoever writes the rules learns their format from docs/rules.md alone."""
    import re

    from assess import rulebook, scenarios, schemas

    page = (DEFAULT_RULES_DIR.parent / "docs" / "rules.md").read_text()
    keys = {
        (schema.__name__, key)
        for schema in (
            rulebook.RulesFileSchema,
            rulebook.RuleSchema,
            rulebook.PolicySchema,
            rulebook.HybridSchema,
            scenarios.ScenarioSchema,
            scenarios.ExpectSchema,
            schemas.RespondentSchema,
        )
        for key in schema().fields
    }
    unnamed = sorted(
        (schema, key) for schema, key in keys if not re.search(rf"[`.\s{{]{key}(:|`)", page)
    )
    assert not unnamed
