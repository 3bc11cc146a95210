"""The charter and the rules at their edges: what the model section and the cover show,
which settings win, and input that must be refused with a line rather than a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ANSWERS, make_details
from pypdf import PdfReader

from assess import charter
from assess.engine import evaluate

pytestmark = pytest.mark.xdist_group("charter-pdf")

RULES = Path(__file__).resolve().parents[2] / "rules"
PARTIES = ["--party", "Producer side: Ann Lee", "--party", "Creator side: Bo Chen"]
ISSUED = ["--issued", "2026-01-15T10:00:00+00:00"]
# Nine single-step changes of these answers change the recommendation.
NINE_TIPPING_POINTS = {
    "innovation": 4,
    "resource_availability": 2,
    "risk_tolerance": 4,
    "relationship_duration": 3,
    "timeline_pressure": 1,
    "creative_collaboration": 3,
    "iteration_readiness": 4,
    "planning_complexity": 2,
}


def assess(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assess.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def write(tmp_path: Path, name: str, data: object) -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def pdf_text(path: Path, pages: slice = slice(None)) -> str:
    reader = PdfReader(path)
    return " ".join(" ".join((p.extract_text() or "") for p in reader.pages[pages]).split())


def test_the_model_section_gives_the_reasons_for_the_model_and_every_tipping_point(
    tmp_path: Path,
) -> None:
    out = tmp_path / "charter.pdf"
    answers = write(tmp_path, "answers.json", NINE_TIPPING_POINTS)
    assert (
        assess("charter", answers, "--project", "X", *PARTIES, *ISSUED, "-o", str(out)).returncode
        == 0
    )
    text = pdf_text(out)
    why = text.split("Why this model", 1)[1].split("What this model does well".upper(), 1)[0]
    decision = evaluate(NINE_TIPPING_POINTS, what_if=True)
    for reason in decision.trace:
        shown = " ".join(reason.because.split())[:60]
        assert (shown in why) == (reason.stage == "scoring"), reason.rule
    assert len(decision.what_if) == 9
    for point in decision.what_if:
        assert " ".join(point.sentence().split())[:70] in text


def test_issued_at_in_the_details_wins_over_source_date_epoch(tmp_path: Path) -> None:
    details = write(tmp_path, "details.json", {"issued_at": "2026-03-01T09:00:00+00:00"})
    ics = tmp_path / "reviews.ics"
    answers = write(tmp_path, "answers.json", ANSWERS["standard"])
    # The issue time is settled before the charter is written, as HTML or PDF alike: the
    # HTML spares laying out a PDF nothing here reads.
    result = assess(
        "charter", answers, "--details", details, "--project", "X", *PARTIES,
        "--html", "-o", str(tmp_path / "c.html"), "--ics", str(ics),
        env={"SOURCE_DATE_EPOCH": "1000000000"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "DTSTAMP:20260301T090000Z" in ics.read_text()
    # Without one, SOURCE_DATE_EPOCH is the default.
    result = assess(
        "charter", answers, "--project", "X", *PARTIES, "--html", "-o", str(tmp_path / "c.html"),
        "--ics", str(ics), env={"SOURCE_DATE_EPOCH": "1000000000"},
    )  # fmt: skip
    assert result.returncode == 0 and "DTSTAMP:20010909T014640Z" in ics.read_text()


@pytest.mark.parametrize("command", ["evaluate", "charter"])
def test_an_integer_of_thousands_of_digits_is_bad_input(tmp_path: Path, command: str) -> None:
    answers = write(tmp_path, "big.json", '{"innovation": ' + "9" * 5000 + "}")
    extra = (
        ["--project", "X", *PARTIES, "-o", str(tmp_path / "c.pdf")] if command == "charter" else []
    )
    result = assess(command, answers, *extra)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == "input: not valid JSON (a number too long)"


def test_the_calendar_needs_its_own_file(tmp_path: Path) -> None:
    same = tmp_path / "same.out"
    answers = write(tmp_path, "answers.json", ANSWERS["standard"])
    result = assess(
        "charter", answers, "--project", "X", *PARTIES, "-o", str(same), "--ics", str(same)
    )
    assert result.returncode == 2 and "--ics" in result.stderr and not same.exists()


def test_a_party_problem_names_the_party_option_it_came_from(tmp_path: Path) -> None:
    answers = write(tmp_path, "answers.json", ANSWERS["standard"])
    result = assess(
        "charter", answers, "--project", "X", "--party", "bad", "--party", "Producer side: ",
        "--party", "Creator side: B", "-o", str(tmp_path / "c.pdf"),
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert any(line.startswith("--party 1: ") for line in lines)
    assert "--party 2 (name): must not be empty" in lines


def test_twelve_parties_keep_the_cover_facts_on_the_cover(tmp_path: Path) -> None:
    parties: list[str] = []
    for number in range(1, 13):
        side = "Producer" if number % 2 == 0 else "Creator"
        parties += ["--party", f"{side} side: Person Number{number} (Head of Department)"]
    out = tmp_path / "cover.pdf"
    answers = write(tmp_path, "answers.json", ANSWERS["standard"])
    project = "Northern Lights: an immersive documentary across three continents and many years"
    assert (
        assess(
            "charter", answers, "--project", project, *parties, *ISSUED, "-o", str(out)
        ).returncode
        == 0
    )
    cover = pdf_text(out, slice(0, 1))
    assert "Person Number12" in cover and "PREPARED BY" in cover and "DOCUMENT ID" in cover


LONG_CLIENT = ("Northlight Films and Broadcasting Cooperative of the Northern Regions " * 3)[:200]


@pytest.mark.parametrize(
    ("project", "client", "names"),
    [
        (("International co-production of a documentary series " * 4)[:200], LONG_CLIENT, 2),
        (("合作制作的纪录片系列" * 20)[:200], LONG_CLIENT, 2),
        (("合作制作的纪录片系列" * 20)[:200], ("北方电影与广播合作社" * 20)[:200], 4),
    ],
)
def test_a_long_project_and_client_keep_the_cover_facts_together_on_the_cover(
    tmp_path: Path, project: str, client: str, names: int
) -> None:
    parties = [
        {"side": side, "name": f"{name} {number}", "role": "执行制片人兼开发部主管"}
        for number in range(names // 2)
        for side, name in (("producer", "欧阳娜娜"), ("creator", "司马相如"))
    ]
    details = make_details(
        project=project, client=client, consultant="Clara Diaz " * 10, parties=parties
    )
    out = tmp_path / "cover.pdf"
    out.write_bytes(charter.to_pdf(evaluate(ANSWERS["standard"], what_if=True), details))
    cover = pdf_text(out, slice(0, 1))
    for label in ("PREPARED BY", "ISSUED", "DOCUMENT ID", "CLIENT"):
        assert label in cover, label
    assert client[-8:].strip() in cover.replace(" ", "")


def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(RULES, target)
    return target


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("{agrees", "because: a { or } without its pair; write {{ or }} for a brace itself"),
        ("{innovation:s}", "because: {innovation} takes no format or conversion"),
        ("{innovation!r}", "because: {innovation} takes no format or conversion"),
    ],
)
def test_a_reason_with_a_bad_placeholder_is_reported(
    tmp_path: Path, written: str, problem: str
) -> None:
    rules = rules_copy(tmp_path)
    path = rules / "20-governance.yaml"
    text = path.read_text()
    assert "Innovation at {innovation} of 5" in text
    path.write_text(
        text.replace("Innovation at {innovation} of 5", f"Innovation at {written} of 5", 1)
    )
    result = assess("rules", "check", "--rules-dir", str(rules))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert problem in result.stderr


def test_rules_that_drop_the_escalation_ladder_fail_their_scenarios(tmp_path: Path) -> None:
    rules = rules_copy(tmp_path)
    path = rules / "20-governance.yaml"
    path.write_text(path.read_text().replace("      escalation_ladder: {}\n", "", 1))
    result = assess("rules", "check", "--rules-dir", str(rules))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "the rules fail on its answers: the rules must always choose escalation_ladder" in (
        result.stderr
    )


def test_empty_files_are_reported_with_every_other_problem(tmp_path: Path) -> None:
    rules = rules_copy(tmp_path)
    (rules / "policy.yaml").write_text("# nothing yet\n")
    (rules / "70-empty.yaml").write_text("")
    path = rules / "60-alignment.yaml"
    path.write_text(path.read_text().replace("stage: protocols", "stage: protocolz", 1))
    result = assess("rules", "check", "--rules-dir", str(rules))
    assert result.returncode == 1
    assert "policy.yaml: file is empty" in result.stderr
    assert "70-empty.yaml: file is empty" in result.stderr
    assert "60-alignment.yaml: stage: must be one of" in result.stderr
