"""`assess rules check` names the file and the problem for every unreadable or ambiguous
rules or scenario file, without a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from assess.cli import cli
from assess.rulebook import DEFAULT_RULES_DIR, load

GOOD_BECAUSE = "    because: A reason long enough to explain the rule.\n"


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, target)
    return target


def rules_check(rules_dir: Path) -> Any:
    return CliRunner().invoke(cli, ["rules", "check", "--rules-dir", str(rules_dir)])


def refused_output(rules_dir: Path) -> str:
    """Run the check, which must fail by naming the problems, not with a traceback; return
    what it printed."""
    result = rules_check(rules_dir)
    assert result.exit_code == 1, result.output[:2000]
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    output: str = result.output
    return output


def edit(rules_dir: Path, file: str, old: str, new: str) -> Path:
    """Replace the first `old` in one of the copied files with `new`; return that file."""
    path = rules_dir / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return path


# --- unreadable scenario files and deep nesting ---------------------------------------


@pytest.mark.parametrize(
    "make",
    [lambda path: path.write_bytes(b"- name: caf\xe9\n"), lambda path: path.mkdir()],
    ids=["not-utf8", "a-folder"],
)
def test_rules_check_reports_a_scenario_file_it_cannot_read(rules_copy: Path, make: Any) -> None:
    make(rules_copy / "scenarios" / "extra.yaml")
    assert "extra.yaml" in refused_output(rules_copy)


@pytest.mark.parametrize("where", ["rules", "scenarios"])
def test_rules_check_reports_deeply_nested_yaml(rules_copy: Path, where: str) -> None:
    nested = "[" * 5000 + "]" * 5000
    if where == "rules":
        (rules_copy / "90-extra.yaml").write_text(f"stage: protocols\nrules:\n- {nested}\n")
    else:
        (rules_copy / "scenarios" / "extra.yaml").write_text(f"- {nested}\n")
    output = refused_output(rules_copy)
    assert "extra.yaml" in output


# --- rules that would silently mean something else ------------------------------------


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        # YAML keeps the last of two equal keys: one condition would be lost.
        ("{innovation: {gte: 4}, innovation: {lte: 1}}", "duplicate key 'innovation'"),
        # A merged mapping would hide which conditions the rule really has.
        ("{<<: {innovation: 4}, risk_tolerance: 2}", "merge keys (<<) are not read"),
        # A range that can never hold: the rule would never fire.
        ("{innovation: {between: [4, 2]}}", "rule odd-rule: when.innovation.between"),
        # Conditions no value can meet together, or one none of its values can.
        *(
            (when, f"rule odd-rule: when.{fact}: no value meets these conditions together")
            for when, fact in (
                ("{innovation: {gte: 4, lte: 2}}", "innovation"),
                ("{innovation: {lt: 1}}", "innovation"),
                ("{gap_innovation: {gt: 4}}", "gap_innovation"),
                # Every decision rests on at least one answer set.
                ("{respondents: {lt: 1}}", "respondents"),
                ("{model: {eq: agile, ne: agile}}", "model"),
                ("{hybrid: {eq: true, ne: true}}", "hybrid"),
            )
        ),
        # Facts of one decision that never go together: a hybrid's model is "hybrid".
        *(
            (when, "rule odd-rule: when: no decision has these together; the rule would never fire")
            for when in (
                "{model: agile, hybrid: true}",
                "{model: agile, secondary: integrated}",
                "{primary: agile, uses_agile: false}",
                "{secondary: none, hybrid: true}",
                "{model: integrated, innovation: 4, primary: agile}",
            )
        ),
    ],
)
def test_a_condition_that_cannot_mean_what_it_says_is_reported(
    rules_copy: Path, when: str, expected: str
) -> None:
    (rules_copy / "90-extra.yaml").write_text(
        "stage: protocols\nrules:\n"
        "  - id: odd-rule\n"
        f"    when: {when}\n"
        "    protocols: {decision_log: {}}\n" + GOOD_BECAUSE
    )
    output = refused_output(rules_copy)
    assert "90-extra.yaml" in output and expected in output


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "20-governance.yaml",
            "when: {innovation: {gte: 4}}",
            "when: {innovation: {gte: 4}, innovation: 5}",
            "20-governance.yaml: rule blameless-debriefs-for-new-ground: not valid YAML at "
            "line 44, column 34 (duplicate key 'innovation')",
        ),
        (
            "20-governance.yaml",
            "  - id: blameless-debriefs-for-new-ground\n",
            "  - id: blameless-debriefs-for-new-ground\n    because: Said twice over here.\n",
            "20-governance.yaml: rule blameless-debriefs-for-new-ground: not valid YAML at "
            "line 48, column 5 (duplicate key 'because')",
        ),
        (
            "20-governance.yaml",
            "when: {innovation: {gte: 4}}",
            "when: {<<: {innovation: 4}}",
            "20-governance.yaml: rule blameless-debriefs-for-new-ground: not valid YAML at "
            "line 44, column 12 (merge keys (<<) are not read in rules files",
        ),
        (
            "scenarios/edges.yaml",
            "answers: {innovation: 1,",
            "answers: {innovation: 1, innovation: 2,",
            "scenarios/edges.yaml: scenario everything-at-one: not valid YAML at line 4, "
            "column 28 (duplicate key 'innovation')",
        ),
        # Outside any rule, the line and column say where.
        (
            "20-governance.yaml",
            "stage: protocols\n",
            "stage: protocols\nstage: scoring\n",
            "20-governance.yaml: not valid YAML at line 2, column 1 (duplicate key 'stage')",
        ),
    ],
    ids=["condition", "rule-key", "merge-key", "scenario", "top-level"],
)
def test_a_key_given_twice_names_the_rule_or_scenario_it_is_in(
    rules_copy: Path, file: str, old: str, new: str, expected: str
) -> None:
    edit(rules_copy, file, old, new)
    output = refused_output(rules_copy)
    assert f"{rules_copy / expected}" in output, output


@pytest.mark.parametrize(
    ("file", "old", "new"),
    [
        ("10-scoring.yaml", "- id: innovation-is-the-goal", '- id: "innovation-is-the-goal\\n"'),
        ("scenarios/edges.yaml", "- name: everything-at-one", '- name: "everything-at-one\\n"'),
    ],
    ids=["rule", "scenario"],
)
def test_an_id_ending_in_a_line_break_is_not_lowercase_with_dashes(
    rules_copy: Path, file: str, old: str, new: str
) -> None:
    edit(rules_copy, file, old, new)
    output = refused_output(rules_copy)
    assert "must be lowercase-with-dashes" in output


def test_points_that_could_add_up_to_infinity_are_refused(rules_copy: Path) -> None:
    (rules_copy / "99-huge.yaml").write_text(
        "stage: scoring\nrules:\n"
        "  - id: huge\n    when: {}\n    score: {agile: 1.7e308}\n" + GOOD_BECAUSE
    )
    output = refused_output(rules_copy)
    assert "99-huge.yaml" in output and "must be -1000 to 1000" in output


# --- files that are not what a rules file is --------------------------------------------


@pytest.mark.parametrize("where", ["rules", "scenarios"])
def test_rules_check_reports_a_symlink_loop(rules_copy: Path, where: str) -> None:
    folder = rules_copy if where == "rules" else rules_copy / "scenarios"
    (folder / "90-a.yaml").symlink_to(folder / "91-b.yaml")
    (folder / "91-b.yaml").symlink_to(folder / "90-a.yaml")
    output = refused_output(rules_copy)
    assert "90-a.yaml: cannot be read" in output


@pytest.mark.parametrize("where", ["rules", "scenarios"])
def test_a_named_pipe_among_the_rules_is_refused_instead_of_waited_on(
    rules_copy: Path, where: str
) -> None:
    """Reading a pipe waits for a writer that never comes: the check would never end."""
    folder = rules_copy if where == "rules" else rules_copy / "scenarios"
    os.mkfifo(folder / "90-pipe.yaml")
    result = subprocess.run(
        [sys.executable, "-m", "assess.cli", "rules", "check", "--rules-dir", str(rules_copy)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"{folder / '90-pipe.yaml'}: is not a file\n"


@pytest.mark.parametrize(
    ("file", "content", "expected"),
    [
        ("90-extra.yaml", "- stage: protocols\n", "must be a mapping of stage and rules"),
        ("policy.yaml", "just some words\n", "must be a mapping of hybrid, tie_break and defaults"),
    ],
    ids=["rules-as-list", "policy-as-text"],
)
def test_a_rules_file_that_is_not_a_mapping_says_so(
    rules_copy: Path, file: str, content: str, expected: str
) -> None:
    (rules_copy / file).write_text(content)
    output = refused_output(rules_copy)
    assert [line for line in output.splitlines() if file in line] == [
        f"{rules_copy / file}: {expected}"
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "rules:\n",
            'rules:\n  - id: odd-rule\n    when: {"timeline\\npressure": 5}\n'
            "    protocols: {decision_log: {}}\n" + GOOD_BECAUSE,
            "rule odd-rule: when.'timeline\\npressure': unknown fact",
        ),
        (
            "rules:\n",
            'rules:\n  - id: odd-rule\n    when: {}\n    protocols: {"decision\\x1b[31mlog": {}}\n'
            + GOOD_BECAUSE,
            "rule odd-rule: protocols.'decision\\x1b[31mlog': unknown protocol id",
        ),
        (
            "rules:\n",
            'rules:\n  - id: odd-rule\n    when: {}\n    protocols: {decision_log: {"a\\rb": 3}}\n'
            + GOOD_BECAUSE,
            "rule odd-rule: protocols.decision_log.'a\\rb': unknown parameter",
        ),
        ("stage:", '"the\\nend": 1\nstage:', "'the\\nend': unknown field"),
    ],
    ids=["fact", "protocol", "parameter", "file-key"],
)
def test_a_key_with_a_line_break_or_control_character_is_written_out_escaped(
    rules_copy: Path, old: str, new: str, expected: str
) -> None:
    """Written as it is, a key would break a problem over two lines (the app's start says
    one) or send a terminal its control sequences."""
    path = edit(rules_copy, "20-governance.yaml", old, new)
    lines = refused_output(rules_copy).splitlines()
    assert any(line.startswith(f"{path}: {expected}") for line in lines), lines
    assert all(line.startswith(str(path)) and line.isprintable() for line in lines), lines


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "10-scoring.yaml",
            "{integrated: 3,",
            "{integrated: .nan,",
            "rule innovation-is-the-goal: score.integrated",
        ),
        ("policy.yaml", "min_score: 6", "min_score: 1e400", "hybrid.min_score"),
    ],
    ids=["score", "policy"],
)
def test_a_number_that_is_not_finite_is_named_in_plain_words(
    rules_copy: Path, file: str, old: str, new: str, expected: str
) -> None:
    edit(rules_copy, file, old, new)
    output = refused_output(rules_copy)
    assert f"{file}: " in output and f"{expected}: must be a finite number" in output


@pytest.mark.parametrize("where", ["rules", "scenarios"])
def test_a_yml_file_is_refused_with_a_line_saying_to_rename_it(
    rules_copy: Path, where: str
) -> None:
    folder = rules_copy if where == "rules" else rules_copy / "scenarios"
    (folder / "70-mine.yml").write_text("stage: protocols\nrules: []\n")
    output = refused_output(rules_copy)
    assert output == (
        f"{folder / '70-mine.yml'}: only .yaml files are read; rename it to 70-mine.yaml\n"
    )


# --- a check that runs no scenario ------------------------------------------------------

ADD = "add the scenarios the rules must pass"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda folder: None, f"folder is missing; {ADD}"),
        (lambda folder: folder.write_text("- name: x\n"), "is not a folder"),
        (lambda folder: folder.mkdir(), f"no scenarios found; {ADD}"),
    ],
    ids=["missing", "a-file", "empty"],
)
def test_rules_check_that_runs_no_scenario_does_not_pass(
    rules_copy: Path, make: Any, expected: str
) -> None:
    folder = rules_copy / "scenarios"
    shutil.rmtree(folder)
    make(folder)
    output = refused_output(rules_copy)
    assert output == f"{folder}: {expected}\n"


# --- YAML aliases that expand far beyond the file ---------------------------------------


def multiplied(level: int) -> str:
    """A YAML value that defines anchor a<level>: ten times the one before, 10**(level+1)
    strings in all from a few bytes (a "billion laughs")."""
    if level == 0:
        return "&a0 [" + ", ".join(["laugh"] * 10) + "]"
    return f"&a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]"


ANSWERS_YAML = (
    "{innovation: 5, resource_availability: 4, risk_tolerance: 4, relationship_duration: 4, "
    "timeline_pressure: 2, creative_collaboration: 5, iteration_readiness: 3, "
    "planning_complexity: 3}"
)


@pytest.mark.parametrize(
    ("file", "content", "expected"),
    [
        (
            "90-extra.yaml",
            "stage: scoring\nrules:\n"
            + "".join(
                f"  - {{id: {multiplied(level)}, when: {{}}, score: {{agile: 1}},"
                " because: A reason long enough to explain the rule.}\n"
                for level in range(5)
            ),
            "rule #5: id: must be text",
        ),
        (
            "scenarios/extra.yaml",
            "".join(
                f"- {{name: {multiplied(level)}, rationale: Ten characters at least,"
                f" answers: {ANSWERS_YAML}, expect: {{model: agile, components: [agile]}}}}\n"
                for level in range(5)
            ),
            "scenario #5: name: must be text",
        ),
        (
            "scenarios/extra.yaml",
            "- name: multiplied-consensus\n  rationale: Ten characters at least\n"
            f"  answers: {ANSWERS_YAML}\n"
            "  expect:\n    model: integrated\n    components: [integrated]\n    consensus:\n"
            + "".join(
                f"      {factor}: {multiplied(level)}\n"
                for level, factor in enumerate(
                    (
                        "innovation",
                        "risk_tolerance",
                        "timeline_pressure",
                        "iteration_readiness",
                        "planning_complexity",
                    )
                )
            ),
            "scenario multiplied-consensus: expect.consensus.planning_complexity: "
            "must be an integer from 1 to 5",
        ),
        (
            "90-extra.yaml",
            'stage: scoring\nrules:\n  - id: "two\\nlines"\n    when: {}\n'
            "    score: {agile: 1}\n" + GOOD_BECAUSE,
            "rule #1: id: must be lowercase-with-dashes",
        ),
    ],
    ids=["rule-id", "scenario-name", "scenario-consensus", "id-of-two-lines"],
)
def test_a_value_that_is_not_text_is_never_written_out_in_a_problem(
    rules_copy: Path, file: str, content: str, expected: str
) -> None:
    (rules_copy / file).write_text(content)
    output = refused_output(rules_copy)
    lines = output.splitlines()
    assert f"{rules_copy / file}: {expected}" in lines, output[:2000]
    assert all(len(line) < 300 and "laugh" not in line for line in lines), output[:500]


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "10-scoring.yaml",
            "{integrated: 3,",
            '{integrated: "3",',
            "rule innovation-is-the-goal: score.integrated: must be a number",
        ),
        ("policy.yaml", "min_score: 6", 'min_score: "6"', "hybrid.min_score: must be a number"),
        (
            "scenarios/alignment.yaml",
            "mediation: {trigger_days: 14}",
            'mediation: {trigger_days: "14"}',
            "scenario partners-agree: expect.params.mediation.trigger_days: must be an integer",
        ),
    ],
    ids=["score", "policy", "scenario"],
)
def test_text_where_a_number_is_expected_is_refused(
    rules_copy: Path, file: str, old: str, new: str, expected: str
) -> None:
    path = edit(rules_copy, file, old, new)
    output = refused_output(rules_copy)
    assert f"{path}: {expected}" in output.splitlines(), output


ONE_ANSWER_SET = f"  answers: {ANSWERS_YAML}\n"
TWO_PRODUCERS = (
    "  respondents:\n"
    f"    - {{name: Ann Lee, side: producer, answers: {ANSWERS_YAML}}}\n"
    f"    - {{name: Cy Dee, side: producer, answers: {ANSWERS_YAML}}}\n"
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        # Agreed values only apply between respondents: with one answer set they were ignored.
        (ONE_ANSWER_SET + "  consensus: {innovation: 1}\n", "consensus: only with respondents"),
        # A case the product refuses: the assessment needs someone from each side.
        (
            TWO_PRODUCERS,
            "respondents: needs at least one respondent on each side (missing: creator)",
        ),
        # Counted twice, one person's answers would outweigh the others' in the median.
        (
            TWO_PRODUCERS.replace("Cy Dee", "ann lee")
            + f"    - {{name: Bo Chen, side: creator, answers: {ANSWERS_YAML}}}\n",
            "respondents.1.name: names the same person as respondents.0 on the producer side; "
            "list each person once",
        ),
    ],
    ids=["consensus-of-one-answer-set", "one-side-only", "same-person-twice"],
)
def test_a_scenario_the_product_could_not_decide_as_written_is_refused(
    rules_copy: Path, given: str, expected: str
) -> None:
    path = rules_copy / "scenarios" / "extra.yaml"
    path.write_text(
        "- name: odd-case\n  rationale: Ten characters at least\n"
        + given
        + "  expect: {model: integrated, components: [integrated]}\n"
    )
    output = refused_output(rules_copy)
    assert output == f"{path}: scenario odd-case: {expected}\n"


@pytest.mark.parametrize(
    "file",
    ["90-extra.yaml", "policy.yaml", "scenarios/extra.yaml"],
    ids=["rules", "policy", "scenarios"],
)
@pytest.mark.parametrize("content", ["", "# to do\n", "---\n"], ids=["empty", "comment", "marker"])
def test_a_file_that_holds_nothing_is_called_empty(
    rules_copy: Path, file: str, content: str
) -> None:
    (rules_copy / file).write_text(content)
    assert refused_output(rules_copy) == f"{rules_copy / file}: file is empty\n"


@pytest.mark.parametrize("seed", ["0", "1", "2", "3"])
def test_unknown_keys_are_reported_in_the_order_of_the_file(rules_copy: Path, seed: str) -> None:
    """Whatever order Python happens to keep a set in: the app's start names the first."""
    path = rules_copy / "90-extra.yaml"
    path.write_text(
        "stage: scoring\nzulu: 1\nalpha: 2\nmike: 3\nrules:\n  - id: odd-rule\n"
        "    when: {}\n    score: {agile: 1}\n" + GOOD_BECAUSE + "    yankee: 1\n    bravo: 2\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "assess.cli", "rules", "check", "--rules-dir", str(rules_copy)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONHASHSEED": seed},
    )
    assert result.stderr.splitlines() == [
        f"{path}: {key}: unknown field" for key in ("zulu", "alpha", "mike")
    ]


@pytest.mark.parametrize(
    ("expect", "expected"),
    [
        ("significant: [innovation]", "expect.significant: only with respondents"),
        ("consensus: {innovation: 4}", "expect.consensus: only with respondents"),
    ],
)
def test_a_scenario_of_one_answer_set_expecting_what_only_respondents_have_is_refused(
    rules_copy: Path, expect: str, expected: str
) -> None:
    """One answer set has no gaps and no consensus: the check would say "consensus
    innovation is None" of a scenario that can never pass."""
    path = rules_copy / "scenarios" / "extra.yaml"
    path.write_text(
        "- name: odd-case\n  rationale: Ten characters at least\n"
        + ONE_ANSWER_SET
        + f"  expect: {{model: integrated, components: [integrated], {expect}}}\n"
    )
    assert refused_output(rules_copy) == f"{path}: scenario odd-case: {expected}\n"


# --- names in problems: the entry at fault, what is allowed, the file ------------------


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        (
            "policy.yaml",
            "sprint_cadence: {",
            "sprint_cadense: {",
            "defaults.sprint_cadense: unknown protocol id (expected one of escalation_ladder,",
        ),
        (
            "policy.yaml",
            "sprint_cadence: {sprint_days: 14}",
            "sprint_cadence:",
            "defaults.sprint_cadence: must not be null",
        ),
        (
            "scenarios/alignment.yaml",
            "mediation: {trigger_days: 14}",
            "mediation: {trigger_day: 14}",
            "scenario partners-agree: expect.params.mediation.trigger_day: unknown parameter "
            "(expected one of trigger_days, trust_threshold, brief_due_days)",
        ),
        (
            "scenarios/alignment.yaml",
            "absent: [alignment_workshop]",
            "absent: [alignment_worksop]",
            "scenario partners-agree: expect.absent.0: unknown protocol id (expected one of "
            "escalation_ladder,",
        ),
        (
            "scenarios/alignment.yaml",
            "mediation: {trigger_days: 14}",
            "mediation: {trigger_days: 140}",
            "scenario partners-agree: expect.params.mediation.trigger_days: must be from 1 to "
            "60 days",
        ),
    ],
    ids=[
        "policy-protocol",
        "policy-params",
        "scenario-param",
        "scenario-protocol",
        "scenario-param-range",
    ],
)
def test_a_problem_names_the_entry_at_fault_and_what_is_allowed(
    rules_copy: Path, file: str, old: str, new: str, expected: str
) -> None:
    path = edit(rules_copy, file, old, new)
    output = refused_output(rules_copy)
    assert any(line.startswith(f"{path}: {expected}") for line in output.splitlines()), output
    assert ".key" not in output and ".value" not in output


def test_a_scenario_expecting_a_parameter_of_a_missing_protocol_says_it_is_missing(
    rules_copy: Path,
) -> None:
    path = rules_copy / "scenarios" / "extra.yaml"
    path.write_text(
        "- name: no-sprints\n  rationale: Ten characters at least\n"
        f"  answers: {ANSWERS_YAML}\n"
        "  expect:\n    model: integrated\n    components: [integrated]\n"
        "    params: {sprint_cadence: {sprint_days: 7}}\n"
    )
    output = refused_output(rules_copy)
    assert output == (
        f"{path}: scenario no-sprints: sprint_cadence.sprint_days: sprint_cadence is missing, "
        "expected 7\n"
    )


def test_a_scenario_name_given_twice_names_both_files(rules_copy: Path) -> None:
    path = rules_copy / "scenarios" / "extra.yaml"
    edges = rules_copy / "scenarios" / "edges.yaml"
    path.write_text(
        "- name: everything-at-one\n  rationale: Ten characters at least\n"
        f"  answers: {ANSWERS_YAML}\n"
        "  expect: {model: integrated, components: [integrated]}\n"
    )
    output = refused_output(rules_copy)
    assert output == (
        f"{path}: scenario everything-at-one: duplicate scenario name (also in {edges})\n"
    )


def test_a_rules_folder_that_does_not_exist_is_named_as_such(tmp_path: Path) -> None:
    missing = tmp_path / "my-rules"
    result = rules_check(missing)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert f"Invalid value for '--rules-dir': '{missing}' does not exist." in result.output


@pytest.mark.parametrize(
    ("removed", "expected"),
    [
        ("[0-9]*.yaml", "no rules files; add the scoring and protocols rules beside policy.yaml"),
        ("[2-9]*.yaml", "no protocols rules; a decision needs scoring and protocols rules"),
        ("10-*.yaml", "no scoring rules; a decision needs scoring and protocols rules"),
    ],
    ids=["no-rules", "no-protocols", "no-scoring"],
)
def test_a_rules_folder_without_the_rules_of_a_stage_is_refused(
    rules_copy: Path, removed: str, expected: str
) -> None:
    """Such a folder loads and would start the app, and then no evaluation could decide:
    every one would fail for want of the escalation ladder and mediation."""
    for path in rules_copy.glob(removed):
        path.unlink()
    assert refused_output(rules_copy) == f"{rules_copy}: {expected}\n"


def test_a_policy_that_is_a_folder_is_not_called_missing(rules_copy: Path) -> None:
    policy = rules_copy / "policy.yaml"
    policy.unlink()
    policy.mkdir()
    assert refused_output(rules_copy) == f"{policy}: is not a file\n"


# --- rules beyond what durable_rules can compile or evaluate ----------------------------

ALL_THREE = dict.fromkeys(
    (
        "innovation",
        "resource_availability",
        "risk_tolerance",
        "relationship_duration",
        "timeline_pressure",
        "creative_collaboration",
        "iteration_readiness",
        "planning_complexity",
    ),
    3,
)


def test_more_rules_on_the_same_conditions_than_durable_rules_compiles_are_refused(
    rules_copy: Path,
) -> None:
    path = rules_copy / "90-extra.yaml"
    path.write_text(
        "stage: protocols\nrules:\n"
        + "".join(
            f"  - id: same-{n}\n    when: {{innovation: 2, risk_tolerance: 2}}\n"
            "    protocols: {decision_log: {}}\n" + GOOD_BECAUSE
            for n in range(256)
        )
    )
    assert refused_output(rules_copy) == (
        f"{path}: rule same-255: 256 protocols rules have exactly these conditions; "
        "durable_rules compiles at most 255 with the same conditions: merge some of them\n"
    )


def test_rules_with_more_conditions_holding_at_once_than_durable_rules_follows_fail_in_words(
    rules_copy: Path,
) -> None:
    """Each of these conditions holds when every answer is 3: durable_rules follows at most
    64 of them at once for one answer set."""
    conditions = [
        (fact, op, value)
        for fact in ALL_THREE
        for op, values in (("ne", (1, 2, 4, 5)), ("lte", (3, 4, 5)), ("gte", (1, 2, 3)))
        for value in values
    ]
    (rules_copy / "90-extra.yaml").write_text(
        "stage: scoring\nrules:\n"
        + "".join(
            f"  - id: holds-{n}\n    when: {{{fact}: {{{op}: {value}}}}}\n"
            "    score: {agile: 0}\n" + GOOD_BECAUSE
            for n, (fact, op, value) in enumerate(conditions[:70])
        )
    )
    reason = (
        "the rules fail on its answers: durable_rules cannot evaluate the scoring rules: more "
        "of their conditions hold for one answer set than it can follow at once; "
        "merge rules that test the same fact"
    )
    lines = refused_output(rules_copy).splitlines()
    assert (
        f"{rules_copy / 'scenarios' / 'edges.yaml'}: scenario everything-in-the-middle: " + (reason)
        in lines
    ), lines
    result = subprocess.run(
        [sys.executable, "-m", "assess.cli", "evaluate"],
        input=json.dumps(ALL_THREE),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "ASSESS_RULES_DIR": str(rules_copy)},
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"Error: {reason.split(': ', 1)[1]}; run 'assess rules check' to see where.\n"
    )


def test_a_file_that_is_not_utf8_names_the_byte_and_its_line(rules_copy: Path) -> None:
    path = rules_copy / "90-extra.yaml"
    path.write_bytes(b"stage: scoring\nrules:\n  - id: caf\xe9\n")
    assert refused_output(rules_copy) == (
        f"{path}: not UTF-8 text (byte 0xe9 at line 3); save it as UTF-8\n"
    )


def test_a_rule_that_is_not_a_mapping_is_named_by_its_place_as_a_scenario_is(
    rules_copy: Path,
) -> None:
    path = rules_copy / "90-extra.yaml"
    path.write_text("stage: scoring\nrules:\n  - just-a-sentence\n  - 42\n")
    assert refused_output(rules_copy) == (
        f"{path}: rule #1: must be an object\n{path}: rule #2: must be an object\n"
    )


def test_facts_of_one_decision_that_do_go_together_are_accepted(rules_copy: Path) -> None:
    (rules_copy / "90-extra.yaml").write_text(
        "stage: protocols\nrules:\n"
        "  - id: agile-led-hybrid\n"
        "    when: {model: hybrid, primary: agile, secondary: integrated, uses_integrated: true}\n"
        "    protocols: {decision_log: {}}\n" + GOOD_BECAUSE
    )
    assert rules_check(rules_copy).exit_code == 0


@pytest.mark.parametrize(
    ("expect", "expected"),
    [
        (
            "{model: agile, components: [integrated]}",
            "expect.components: must be [agile] for that model",
        ),
        (
            "{model: hybrid, components: [agile]}",
            "expect.components: a hybrid has two different models, the primary first",
        ),
        (
            "{model: hybrid, components: [agile, agile]}",
            "expect.components: a hybrid has two different models, the primary first",
        ),
        (
            "{model: agile, components: [agile], protocols: [sprint_cadence],"
            " absent: [sprint_cadence]}",
            "expect.absent: sprint_cadence is also expected present",
        ),
    ],
    ids=["single-model", "hybrid-of-one", "hybrid-of-the-same", "present-and-absent"],
)
def test_a_scenario_that_no_decision_could_pass_is_refused(
    rules_copy: Path, expect: str, expected: str
) -> None:
    path = rules_copy / "scenarios" / "extra.yaml"
    path.write_text(
        "- name: odd-case\n  rationale: Ten characters at least\n"
        f"  answers: {ANSWERS_YAML}\n  expect: {expect}\n"
    )
    assert refused_output(rules_copy) == f"{path}: scenario odd-case: {expected}\n"


@pytest.mark.parametrize("where", ["rules", "scenarios"])
def test_hidden_files_that_editors_and_systems_leave_beside_the_rules_are_not_read(
    rules_copy: Path, where: str
) -> None:
    """An editor's lock (a dangling link named .#file) or the resource fork a Mac copies
    beside each file (._file, binary) is not part of the rules."""
    folder = rules_copy if where == "rules" else rules_copy / "scenarios"
    (folder / ".#10-scoring.yaml").symlink_to(folder / "user@host.1234")
    (folder / "._edges.yaml").write_bytes(b"\x00\x05\x16\x07\xff")
    (folder / ".old.yml").write_text("- leftover\n")
    result = rules_check(rules_copy)
    assert result.exit_code == 0, result.output
    assert load(rules_copy).version == load(DEFAULT_RULES_DIR).version
