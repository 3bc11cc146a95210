"""The assess command line: evaluate and its handling of bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assess.factors import FACTOR_KEYS
from assess.rulebook import DEFAULT_RULES_DIR

ANSWERS = {
    "innovation": 2,
    "resource_availability": 1,
    "risk_tolerance": 2,
    "relationship_duration": 2,
    "timeline_pressure": 3,
    "creative_collaboration": 2,
    "iteration_readiness": 2,
    "planning_complexity": 3,
}


def assess(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assess.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_evaluate_reads_a_file_and_prints_the_decision(tmp_path: Path) -> None:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(ANSWERS))
    result = assess("evaluate", str(path))
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert decision["model"] == "strategic_resource"
    assert decision["answers"] == ANSWERS
    assert decision["what_if"] == []


# What only the web app, the charter and backups need: loaded for every evaluation, they
# would more than double the time `assess evaluate` takes to start.
HEAVY_MODULES = ("sqlalchemy", "alembic", "weasyprint", "pyhanko", "cryptography")


def test_evaluate_loads_neither_the_database_layer_nor_the_pdf_libraries(tmp_path: Path) -> None:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(ANSWERS))
    probe = (
        "import sys\n"
        "from assess.cli import main\n"
        f"sys.argv = ['assess', 'evaluate', {str(path)!r}]\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        f"    print([m for m in {HEAVY_MODULES!r} if m in sys.modules], file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert json.loads(result.stdout)["answers"] == ANSWERS
    assert result.stderr == "[]\n"


def test_evaluate_reads_a_file_that_starts_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(ANSWERS), encoding="utf-8-sig")  # as Windows editors save
    result = assess("evaluate", str(path))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["answers"] == ANSWERS


def test_evaluate_lists_tipping_points_of_a_close_call() -> None:
    close_call = {
        **ANSWERS,
        "innovation": 3,
        "relationship_duration": 4,
        "creative_collaboration": 5,
    }
    result = assess("evaluate", stdin=json.dumps(close_call))
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert decision["model"] == "hybrid"
    flips = {(w["factor"], w["to"]) for w in decision["what_if"]}
    assert ("resource_availability", 2) in flips


def test_evaluate_reads_stdin_and_prints_text_for_people() -> None:
    result = assess("evaluate", "--format", "text", stdin=json.dumps(ANSWERS))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Recommended model: Strategic Resource Partnership")
    assert "Tipping points:\n  No single one-step change" in result.stdout


def test_text_names_parameters_and_tiers_in_words_as_the_result_page_does() -> None:
    result = assess("evaluate", "--format", "text", stdin=json.dumps(ANSWERS))
    assert result.returncode == 0, result.stderr
    # Each parameter by its label, with its unit; never the key a program reads.
    assert (
        "  - Trust check\n"
        "      Held every 14 days\n"
        "      Structured talk when a rating falls below 8 out of 10\n"
    ) in result.stdout
    assert "_days" not in result.stdout and "threshold=" not in result.stdout
    assert (
        "Escalation:\n"
        "  1. Direct discussion, up to 10 days\n"
        "  2. Facilitated mediation, up to 21 days\n"
        "  3. Binding arbitration, up to 45 days\n"
    ) in result.stdout


def test_text_gives_each_scoring_reason_its_points_as_the_result_page_and_charter_do() -> None:
    answers = {**ANSWERS, "innovation": 5, "timeline_pressure": 4}
    result = assess("evaluate", "--format", "text", stdin=json.dumps(answers))
    assert result.returncode == 0, result.stderr
    why = result.stdout.split("Why:\n")[1]
    assert (
        "  - Innovation is rated 5 of 5: inventing something new is best served by partners "
        "who shape it together. (Integrated Co-Creation +3, Agile Production Partnership +1)\n"
    ) in why
    assert "(Agile Production Partnership +3, Integrated Co-Creation \u22121)\n" in why


# Answers that speak against every model: proven formula, everything in hand, no risk, one
# short engagement, creative calls on one side, a fixed plan and heavy logistics. With
# everything in hand, the one that leads is a flexible model, never a resource partnership.
AGAINST_EVERY_MODEL = dict(zip(FACTOR_KEYS, (1, 5, 1, 1, 1, 1, 1, 4), strict=True))


def test_text_says_when_no_model_fits_the_answers_well() -> None:
    decision = json.loads(assess("evaluate", stdin=json.dumps(AGAINST_EVERY_MODEL)).stdout)
    assert max(decision["scores"].values()) <= 0
    text = assess("evaluate", "--format", "text", stdin=json.dumps(AGAINST_EVERY_MODEL)).stdout
    assert text.startswith(
        "Recommended model: Integrated Co-Creation\n\n"
        "No model fits these answers well: each has as much against it as for it, or more. "
        "Integrated Co-Creation is recommended because the least speaks against it; "
        "talk the answers through before building on it.\n\nScores: "
    )
    clear = assess("evaluate", "--format", "text", stdin=json.dumps(ANSWERS)).stdout
    assert "No model fits" not in clear


def test_text_names_the_models_in_the_scores_line_highest_first() -> None:
    answers = {**ANSWERS, "innovation": 5, "timeline_pressure": 4}
    result = assess("evaluate", "--format", "text", stdin=json.dumps(answers))
    decision = json.loads(assess("evaluate", stdin=json.dumps(answers)).stdout)
    ranked = sorted(decision["scores"].items(), key=lambda kv: -kv[1])
    titles = {
        "integrated": "Integrated Co-Creation",
        "agile": "Agile Production Partnership",
        "strategic_resource": "Strategic Resource Partnership",
    }
    line = "Scores: " + ", ".join(
        f"{titles[key]} " + f"{value:g}".replace("-", "\u2212") for key, value in ranked
    )
    assert f"\n\n{line}\n\n" in result.stdout, result.stdout[:300]


def test_text_says_which_value_applies_where_a_stricter_rule_outweighed_a_reason() -> None:
    """As the result page and the charter do: the reason keeps its own words, and the value
    that applies instead follows it."""
    answers = {**ANSWERS, "risk_tolerance": 1, "timeline_pressure": 5}
    result = assess("evaluate", "--format", "text", stdin=json.dumps(answers))
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stdout.splitlines() if "Risk tolerance is 1 of 5" in line]
    assert line.endswith(
        "mediation starts sooner. Another rule is stricter, so this applies: "
        "Unresolved disagreement triggers mediation after 7 days."
    ), line


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("not json", ["input: not valid JSON"]),
        ("[1, 2]", ["answers must be a JSON object"]),
        (
            json.dumps({**ANSWERS, "innovation": "3"}),
            ["innovation: must be an integer from 1 to 5"],
        ),
        (
            json.dumps({**ANSWERS, "innovation": True}),
            ["innovation: must be an integer from 1 to 5"],
        ),
        (json.dumps({**ANSWERS, "innovation": 6}), ["innovation: must be an integer from 1 to 5"]),
        (
            json.dumps({**ANSWERS, "innovation": 2.5}),
            ["innovation: must be an integer from 1 to 5"],
        ),
        (
            json.dumps({**ANSWERS, "innovation": None}),
            ["innovation: must be an integer from 1 to 5"],
        ),
        (
            json.dumps({k: v for k, v in ANSWERS.items() if k != "risk_tolerance"}),
            ["risk_tolerance: is required"],
        ),
        (json.dumps({**ANSWERS, "budget": 3}), ["budget: unknown field"]),
        ("[" * 100_000 + "]" * 100_000, ["input: nested too deeply"]),
        # Read no further than any real input goes, not into memory whole however long.
        (
            json.dumps({"respondents": [{"name": "A" * 100, "answers": ANSWERS}] * 10_000}),
            ["input: too large to be answers or details (over 1 MiB)"],
        ),
        # Two values for one answer: either could be meant, so neither is taken.
        (json.dumps(ANSWERS)[:-1] + ', "innovation": 5}', ['input: "innovation" is given twice']),
        (
            json.dumps(
                {
                    "respondents": [
                        {"name": "\ud800", "side": "producer", "answers": ANSWERS},
                        {"name": "Bo\u0007", "side": "creator", "answers": ANSWERS},
                        {"name": " \u200b ", "side": "creator", "answers": ANSWERS},
                    ]
                }
            ),
            [
                "respondents.0.name: must be valid Unicode text",
                "respondents.1.name: must not contain control characters",
                "respondents.2.name: must not be empty",
            ],
        ),
        (
            json.dumps({**ANSWERS, "budget": 3, "innovation": 0}),
            ["budget: unknown field", "innovation: must be an integer from 1 to 5"],
        ),
    ],
)
def test_bad_input_exits_2_with_one_line_per_field(payload: str, expected: list[str]) -> None:
    result = assess("evaluate", stdin=payload)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(expected)
    for line, start in zip(sorted(lines), sorted(expected), strict=True):
        assert line.startswith(start)
    assert "Traceback" not in result.stderr


def test_missing_file_is_a_usage_error() -> None:
    result = assess("evaluate", "/nonexistent/answers.json")
    assert result.returncode == 2
    assert "No such file or directory" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["evaluate"],
        ["evaluate", "-"],
        ["charter", "-", "--project", "X", "--party", "Producer side: A", "-o", "x.pdf"],
    ],
)
def test_standard_input_closed_is_a_usage_error(args: list[str], tmp_path: Path) -> None:
    command = [sys.executable, "-m", "assess.cli", *args]
    result = subprocess.run(  # as `assess evaluate <&-`: no file descriptor 0 at all
        ["sh", "-c", 'exec "$@" <&-', "sh", *command],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr == "Error: standard input is closed; give a file, or pipe the input in.\n"
    assert not (tmp_path / "x.pdf").exists()


def test_output_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(ANSWERS))
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "assess.cli", "evaluate", str(path)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr == "Error: cannot write the output: No space left on device\n"


def test_the_command_names_its_own_version_and_only_its_own_options() -> None:
    from importlib.metadata import version

    shown = assess("--version")
    assert shown.returncode == 0 and shown.stdout == f"assess {version('assess')}\n"
    usage = assess("--help").stdout
    assert "--version" in usage and "--app" not in usage and "--env-file" not in usage
    refused = assess("--app", "elsewhere", "evaluate")
    assert refused.returncode == 2 and "No such option" in refused.stderr


def test_every_command_s_summary_is_shown_whole() -> None:
    """`assess --help` lists each command with a summary that is not cut off."""
    for group in ((), ("rules",), ("user",), ("db",)):
        listed = assess(*group, "--help").stdout.split("Commands:")[1]
        assert "..." not in listed, listed


def test_evaluate_s_help_names_every_key_of_the_several_respondents_form() -> None:
    from assess.schemas import RespondentSchema, RespondentsSchema

    shown = " ".join(assess("evaluate", "--help").stdout.split())
    for key in [*RespondentsSchema().fields, *RespondentSchema().fields]:
        assert f'"{key}"' in shown, key


def test_rules_that_do_not_load_stop_evaluate_in_one_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules)
    (rules / "99-bad.yaml").write_text("stage: scoring\nrules:\n  - id: Bad\n")
    result = subprocess.run(
        [sys.executable, "-m", "assess.cli", "evaluate"],
        input=json.dumps(ANSWERS),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "ASSESS_RULES_DIR": str(rules)},
    )
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: the rules in ASSESS_RULES_DIR do not load: ")
    assert "99-bad.yaml" in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr


@pytest.mark.parametrize("port", ["abc", "0", "-1", "65536", "80 80"])
def test_demo_refuses_a_port_the_development_server_cannot_listen_on(
    tmp_path: Path, port: str
) -> None:
    """`make run` prints the demo's address before the server starts on PORT."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/demo.sqlite3", "PORT": port}
    command = [sys.executable, "-m", "assess.cli"]
    subprocess.run([*command, "db", "upgrade"], env=env, check=True, capture_output=True)
    result = subprocess.run([*command, "demo"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: PORT must be a whole number from 1 to 65535")
    assert len(result.stderr.splitlines()) == 1
