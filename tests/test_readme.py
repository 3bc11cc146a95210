"""The command-line examples in README.md and docs/ print what the commands really print.

Fenced blocks are read as terminal sessions: `$ cat FILE` followed by the file's text
creates that file for the examples, every `$ assess ...` command runs in a scratch folder
with those files and a copy of `rules/`, after the `cp` and `sed` commands shown before it
in its block (a copy of the rules to change), and its output is compared with the lines
shown under it. A line of
`...` stands for any number of lines; `...` inside a line stands for any text; a 12-digit
hex rules version matches any other. Pretty-printed JSON is compared key by key with the
abridged object shown, where `...` stands for the items, keys or text left out. A `$ curl ...`
command is sent, pipe and all, to the app served on a free port in place of the address shown,
with a consultant's API token in `$TOKEN`.

What the prose names exists too: each `assess` command and option, `make` target, setting of
the configuration table and route named in a code span.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from apitools import make_token
from flask import Flask

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]

# Covered by their own tests: the sweep takes half a minute, verify needs a signed charter
# (checked below), import an export of a database holding one (tests/test_transfer.py).
NOT_RUN = ("assess rules sweep", "assess verify", "assess import")
# Commands that prepare files for the assess commands after them in the same block.
SETUP = ("cp", "sed")
HEX_VERSION = re.compile(r"\b[0-9a-f]{12}\b")


@dataclass
class Step:
    command: str
    shown: list[str] = field(default_factory=list)
    setup: list[str] = field(default_factory=list)


def steps(text: str) -> list[Step]:
    found: list[Step] = []
    for block in re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.M | re.S):
        in_block: list[Step] = []
        lines = iter(block.splitlines())
        for line in lines:
            if line.startswith("$ "):
                command = line[2:]
                while command.endswith("\\"):
                    command = command[:-1] + next(lines).strip()
                setup = [s.command for s in in_block if s.command.split()[0] in SETUP]
                in_block.append(Step(command.strip(), setup=setup))
            elif in_block:
                in_block[-1].shown.append(line.rstrip())
        found.extend(in_block)
    return found


DOCUMENTED_STEPS = [step for document in DOCUMENTS for step in steps(document.read_text())]
EXAMPLE_FILES = {
    step.command.split()[1]: "\n".join(step.shown) + "\n"
    for step in DOCUMENTED_STEPS
    if step.command.startswith("cat ")
}


# Where a checkout's virtualenv has the command; the examples run it from the PATH.
VENV_BIN = ".venv/bin/"


def runs(step: Step) -> bool:
    program = step.command.split("|")[-1].strip().removeprefix(VENV_BIN)
    return program.startswith("assess ") and not program.startswith(NOT_RUN)


CHECKED = [step for step in DOCUMENTED_STEPS if runs(step)]
# The API examples, sent to the app served on a free port in place of the address shown.
API_EXAMPLES = [step for step in DOCUMENTED_STEPS if step.command.startswith("curl ")]
SHOWN_ADDRESS = "http://127.0.0.1:5000"


def matches(shown: str, line: str) -> bool:
    shown, line = HEX_VERSION.sub("#", shown), HEX_VERSION.sub("#", line)
    pattern = ".*".join(re.escape(part) for part in shown.split("..."))
    return re.fullmatch(pattern, line) is not None


def follows(shown: list[str], printed: list[str]) -> bool:
    """Whether printed is shown with each `...` line standing for any run of lines."""
    if not shown:
        return not printed
    if shown[0].strip() == "...":
        return any(follows(shown[1:], printed[start:]) for start in range(len(printed) + 1))
    return bool(printed) and matches(shown[0], printed[0]) and follows(shown[1:], printed[1:])


def abridged(value: str) -> Any:
    """Read an abridged JSON value: `...` stands for the items, keys or text left out."""
    value = re.sub(r",\s*\.\.\.(?=\s*[\]}])", "", value)  # trailing items or keys
    value = re.sub(r"([\[{])\s*\.\.\.\s*(?=[\]}])", r"\1", value)  # all left out
    value = re.sub(r'"([^"]*)\.\.\."', lambda m: json.dumps(m.group(1) + "\0"), value)
    return json.loads(value)


def within(shown: Any, printed: Any) -> bool:
    """Whether the abridged value shown is part of the printed one: every key shown, lists
    from their first item on, and text ending in a left-out part (marked \\0) by its start."""
    if isinstance(shown, dict):
        return isinstance(printed, dict) and all(
            key in printed and within(value, printed[key]) for key, value in shown.items()
        )
    if isinstance(shown, list):
        return (
            isinstance(printed, list)
            and len(shown) <= len(printed)
            and all(within(a, b) for a, b in zip(shown, printed, strict=False))
        )
    if isinstance(shown, str) and shown.endswith("\0"):
        if HEX_VERSION.fullmatch(shown[:-1]):  # a rules version: any other one will do
            return isinstance(printed, str) and re.fullmatch(r"[0-9a-f]{64}", printed) is not None
        return isinstance(printed, str) and printed.startswith(shown[:-1])
    return bool(shown == printed)


def abridged_json(shown: list[str], printed: Any) -> list[str]:
    """Problems of a printed JSON object against the abridged one shown, key by key."""
    problems = []
    for line in shown:
        pair = re.match(r'\s*"(\w+)": (.*?),?$', line)
        if not pair:
            continue
        key, value = pair.groups()
        if key not in printed:
            problems.append(f"{key}: not printed")
        elif not within(abridged(value), printed[key]):
            problems.append(f"{key}: shown {value}, printed {json.dumps(printed[key])[:300]}")
    return problems


def run(
    command: str, folder: Path, settings: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    scripts = str(Path(sys.executable).parent)
    environment = {**os.environ, "PATH": scripts + os.pathsep + os.environ["PATH"]}
    environment.update(settings or {})
    return subprocess.run(
        ["bash", "-c", command],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_readme_shows_command_examples() -> None:
    commands = [step.command for step in CHECKED]
    assert any(command.startswith("assess evaluate") for command in commands)
    assert any(command.startswith("assess charter") for command in commands)
    assert any(command.startswith("assess rules check") for command in commands)
    assert any(command.startswith(VENV_BIN + "assess ") for command in commands)


@pytest.mark.parametrize("step", CHECKED, ids=lambda step: step.command[:50])
def test_readme_example_prints_what_it_shows(step: Step, tmp_path: Path) -> None:
    for name, text in EXAMPLE_FILES.items():
        (tmp_path / name).write_text(text)
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    for command in step.setup:
        prepared = run(command, tmp_path)
        assert prepared.returncode == 0, f"{command}: {prepared.stderr}"
    result = run(step.command.replace(VENV_BIN + "assess ", "assess "), tmp_path)
    printed = (result.stdout + result.stderr).splitlines()
    if result.stdout.startswith("{"):
        assert result.returncode == 0, result.stderr
        assert abridged_json(step.shown, json.loads(result.stdout)) == []
    else:
        assert follows(step.shown, printed), "\n".join(printed)
        assert result.returncode == 0 or not result.stdout, "an error printed to stdout"


def test_the_readme_shows_api_examples() -> None:
    assert API_EXAMPLES and all(SHOWN_ADDRESS in step.command for step in API_EXAMPLES)
    assert any("Bearer $TOKEN" in step.command for step in API_EXAMPLES)


@pytest.mark.db
@pytest.mark.parametrize("step", API_EXAMPLES, ids=lambda step: step.command[:70])
def test_readme_api_example_prints_what_it_shows(
    app: Flask, consultant: int, step: Step, tmp_path: Path
) -> None:
    """`$TOKEN` in an example is a consultant's read-and-write API token."""
    from werkzeug.serving import make_server

    token = make_token(app, consultant)
    for name, text in EXAMPLE_FILES.items():
        (tmp_path / name).write_text(text)
    app.config["SERVER_NAME"] = None
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        command = step.command.replace(SHOWN_ADDRESS, f"http://127.0.0.1:{server.port}")
        result = run(command, tmp_path, {"TOKEN": token})
    finally:
        server.shutdown()
        thread.join()
    printed = (result.stdout + result.stderr).splitlines()
    assert follows(step.shown, printed), "\n".join(printed)


# What the prose names must exist too: commands, options, make targets, settings and routes
# named in code spans (`...`) and example commands, so a renamed option or route fails here.
CODE = [
    span for document in DOCUMENTS for span in re.findall(r"`([^`\n]+)`", document.read_text())
] + [step.command for step in DOCUMENTED_STEPS]


def assess_commands() -> set[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Each `assess COMMAND [SUBCOMMAND] ...` named, with the options given with it."""
    named = set()
    for text in CODE:
        for call in re.finditer(r"(?:^|[\s/])assess ([^|<>;]*)", text):
            tokens = call.group(1).split()
            words = []
            for token in tokens:  # the command words come first: arguments are files
                if not re.fullmatch(r"[a-z][\w-]*", token):
                    break
                words.append(token)
            options = (t.split("=")[0] for t in tokens if re.fullmatch(r"--?[a-z][\w=-]*", t))
            named.add((tuple(words), tuple(options)))
    return named


def command_help() -> dict[tuple[str, ...], str]:
    """The --help of every assess command, by its words (only the leaves)."""
    from click.testing import CliRunner

    from assess.cli import cli

    helps: dict[tuple[str, ...], str] = {}
    waiting: list[tuple[str, ...]] = [()]
    while waiting:
        path = waiting.pop()
        shown = CliRunner().invoke(cli, [*path, "--help"])
        assert shown.exit_code == 0, f"assess {' '.join(path)}: {shown.output}"
        group = re.search(r"^Commands:\n((?:  .*\n?)*)", shown.output, flags=re.M)
        if group is None:
            helps[path] = shown.output
        else:
            lines = group.group(1).splitlines()
            waiting += [(*path, line.split()[0]) for line in lines if line[2:3].strip()]
    return helps


def test_every_assess_command_named_exists_with_its_options() -> None:
    helps = command_help()
    named = assess_commands()
    assert (("rules", "check"), ("--rules-dir",)) in named
    for words, options in sorted(named):
        path = next((words[:n] for n in range(len(words), 0, -1) if words[:n] in helps), None)
        assert path is not None, f"assess {' '.join(words)}: no such command"
        for option in options:
            assert re.search(rf"(?<![\w-]){re.escape(option)}\b", helps[path]), (
                f"assess {' '.join(path)} has no option {option}"
            )


def test_every_option_named_is_an_option_of_an_assess_command() -> None:
    every_help = "\n".join(command_help().values())
    options = {m for span in CODE for m in re.findall(r"^(--[a-z][\w-]*)(?: [\w.]+)?$", span)}
    assert {"--cert", "--details"} <= options
    for option in options:
        assert re.search(rf"(?<![\w-]){re.escape(option)}\b", every_help), option


def test_every_make_target_named_exists() -> None:
    targets = set(re.findall(r"^([\w.-]+):", (ROOT / "Makefile").read_text(), flags=re.M))
    named = {target for text in CODE for target in re.findall(r"\bmake ([a-z][\w-]*)", text)}
    assert {"run", "test", "system-runtime"} <= named
    assert named <= targets, named - targets


def documented_settings() -> set[str]:
    """The variables in the README's configuration table."""
    table = README.read_text().split("| variable | default | meaning |", 1)[1].split("\n\n")[0]
    return {
        name
        for row in table.splitlines()
        if row.startswith("| `")
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])
    }


def test_the_configuration_table_lists_every_setting_read() -> None:
    source = "\n".join(path.read_text() for path in (ROOT / "assess").rglob("*.py"))
    source += (ROOT / "Makefile").read_text()
    # os.environ only: a request's WSGI environ (HTTP_RANGE...) holds no settings.
    readers = r"(?:_given|_flag|whole_number|rate_limit|_text|_int|getenv|os\.environ\.get)"
    read = set(re.findall(readers + r"\(\s*\"([A-Z][A-Z0-9_]+)\"", source))
    read |= set(re.findall(r"os\.environ\[\"([A-Z][A-Z0-9_]+)\"\]", source))
    read |= set(re.findall(r"\"(ASSESS_[A-Z0-9_]+)\"", source))
    documented = documented_settings()
    assert {"DATABASE_URL", "SECRET_KEY", "PORT", "ASSESS_API_TOKEN_LIMIT"} <= documented
    assert read <= documented, f"read but not documented: {sorted(read - documented)}"
    unread = {name for name in documented if f'"{name}"' not in source and name not in read}
    assert not unread, f"documented but never read: {sorted(unread)}"


def routes_named() -> set[str]:
    """Each route named in a code span: `/path`, `GET /path`, `POST .../end/of/path`."""
    return {
        span
        for span in CODE
        if re.fullmatch(r"(?:[A-Z]+ )?(?:\.\.\.)?/[\w./<> -]*", span)
        and not span.startswith(("/usr/", "/tmp/", "/srv/"))
    }


def test_every_route_named_exists(app: Flask) -> None:
    rules = [
        (re.sub(r"<[^>]*>", "<>", rule.rule), rule.methods or set())
        for rule in app.url_map.iter_rules()
    ]
    named = routes_named()
    assert {"/verify/<document id>", "POST .../respondents/<id>/reopen"} <= named
    for span in sorted(named):
        method, _, path = span.partition(" ") if span[0].isupper() else ("", "", span)
        path = re.sub(r"<[^>]*>", "<>", path)
        found = [
            methods
            for rule, methods in rules
            if rule == path
            or (path.startswith("...") and rule.endswith(path[3:]))
            or rule.startswith(path.rstrip("/") + "/")  # a prefix, as `/api/v1`
        ]
        assert found, f"{span}: no such route"
        assert not method or any(method in methods for methods in found), f"{span}: no {method}"


def test_the_error_statuses_listed_are_those_the_api_document_gives(app: Flask) -> None:
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    given = {
        int(status)
        for operation in document["paths"].values()
        for answer in operation.values()
        if isinstance(answer, dict)
        for status in answer.get("responses", {})
        if status.isdigit() and int(status) >= 400
    }
    listed = re.search(r"\b(4\d\d(?:/4\d\d)+) as fits", " ".join(README.read_text().split()))
    assert listed is not None
    assert given <= {int(status) for status in listed.group(1).split("/")}


def test_make_test_runs_every_postgresql_test_on_the_server_pg_url_names() -> None:
    """The tests that make their own PostgreSQL databases (several app nodes, concurrent
    migrations) read TEST_PG_URL: `make test PG_URL=...` must reach them too."""
    elsewhere = "postgresql+psycopg://tester@db.example:5433/scratch"
    planned = subprocess.run(
        ["make", "-n", "pytest", f"PG_URL={elsewhere}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    runs = [line for line in planned.splitlines() if "bin/pytest" in line]
    assert len(runs) == 3
    for line in runs:
        assert f"TEST_PG_URL={elsewhere} " in line, line


def test_readme_verify_example_prints_what_it_shows(tmp_path: Path) -> None:
    """A charter sealed by the certificate `SEAL_CERT_FILE` names gives the verdict and the
    exit status the README shows."""
    from answertools import INTEGRATED
    from test_signing import details, make_audit

    from assess import charter
    from assess.engine import evaluate
    from assess.signing.keys import load_or_create
    from assess.signing.seal import seal

    block = [
        step
        for step in steps(README.read_text())
        if step.command.startswith(("assess verify", "echo $?"))
    ]
    assert [step.command.split()[:2] for step in block] == [["assess", "verify"], ["echo", "$?"]]
    verify, status = block
    approved = charter.to_pdf(evaluate(INTEGRATED), details())
    keys = load_or_create(tmp_path / "seal")
    file = verify.command.split()[-1]
    (tmp_path / file).write_bytes(seal(approved, make_audit(approved), keys))
    result = run(
        f"{verify.command}; {status.command}",
        tmp_path,
        {"SEAL_CERT_FILE": str(keys.cert_file), "SEAL_TSA_ROOT_FILE": ""},
    )
    assert follows(verify.shown + status.shown, result.stdout.splitlines()), result.stdout
    assert result.stderr == ""
