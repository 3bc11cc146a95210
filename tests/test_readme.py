"""The command-line examples in README.md and docs/ print what the commands really print.

Fenced blocks are read as terminal sessions: `$ cat FILE` followed by the file's text
creates that file for the examples, every `$ assess ...` command runs in a scratch folder
with those files and a copy of `rules/`, after the `cp` and `sed` commands shown before it
in its block (a copy of the rules to change), and its output is compared with the lines
shown under it. A line of
`...` stands for any number of lines; `...` inside a line stands for any text; a 12-digit
hex rules version matches any other. Pretty-printed JSON is compared key by key with the
abridged object shown, where `...` stands for the items, keys or text left out. A `$ curl ...`
command is sent, pipe and all, to the app served on a free port in place of the address shown.
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
from flask import Flask

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]

# Covered by their own tests: the sweep takes half a minute, verify needs a signed charter,
# import an export of a database holding one (tests/test_transfer.py).
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


def runs(step: Step) -> bool:
    program = step.command.split("|")[-1].strip()
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


def run(command: str, folder: Path) -> subprocess.CompletedProcess[str]:
    scripts = str(Path(sys.executable).parent)
    environment = {**os.environ, "PATH": scripts + os.pathsep + os.environ["PATH"]}
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


@pytest.mark.parametrize("step", CHECKED, ids=lambda step: step.command[:50])
def test_readme_example_prints_what_it_shows(step: Step, tmp_path: Path) -> None:
    for name, text in EXAMPLE_FILES.items():
        (tmp_path / name).write_text(text)
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    for command in step.setup:
        prepared = run(command, tmp_path)
        assert prepared.returncode == 0, f"{command}: {prepared.stderr}"
    result = run(step.command, tmp_path)
    printed = (result.stdout + result.stderr).splitlines()
    if result.stdout.startswith("{"):
        assert result.returncode == 0, result.stderr
        assert abridged_json(step.shown, json.loads(result.stdout)) == []
    else:
        assert follows(step.shown, printed), "\n".join(printed)
        assert result.returncode == 0 or not result.stdout, "an error printed to stdout"


def test_the_readme_shows_api_examples() -> None:
    assert API_EXAMPLES and all(SHOWN_ADDRESS in step.command for step in API_EXAMPLES)


@pytest.mark.db
@pytest.mark.parametrize("step", API_EXAMPLES, ids=lambda step: step.command[:70])
def test_readme_api_example_prints_what_it_shows(app: Flask, step: Step, tmp_path: Path) -> None:
    from werkzeug.serving import make_server

    for name, text in EXAMPLE_FILES.items():
        (tmp_path / name).write_text(text)
    app.config["SERVER_NAME"] = None
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        command = step.command.replace(SHOWN_ADDRESS, f"http://127.0.0.1:{server.port}")
        result = run(command, tmp_path)
    finally:
        server.shutdown()
        thread.join()
    printed = (result.stdout + result.stderr).splitlines()
    assert follows(step.shown, printed), "\n".join(printed)
