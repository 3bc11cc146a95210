"""``assess charter``: files written on success, per-field errors and nothing written on failure."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import NoReturn

import pytest
from calendartools import published_events
from click.testing import CliRunner, Result
from conftest import ANSWERS
from pypdf import PdfReader

from assess import charter
from assess.charter.command import charter_command
from assess.charter.errors import CharterError
from assess.cli import evaluate_command

pytestmark = pytest.mark.xdist_group("charter-pdf")

PARTIES = [
    "--party",
    "Producer side: Ann Lee (Executive Producer)",
    "--party",
    "Creator side: Bo Chen",
]


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(charter_command, list(args), input=stdin, env=env)


@pytest.fixture
def answers(tmp_path: Path) -> Path:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(ANSWERS["standard"]))
    return path


def test_writes_the_pdf_and_the_calendar(answers: Path, tmp_path: Path) -> None:
    pdf, ics = tmp_path / "charter.pdf", tmp_path / "reviews.ics"
    result = run(
        str(answers),
        "--project",
        "Northern Lights",
        *PARTIES,
        "-o",
        str(pdf),
        "--ics",
        str(ics),
        "--issued",
        "2026-03-02T09:00:00Z",
        "--client",
        "Northlight Films",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and result.stderr == ""
    reader = PdfReader(pdf)
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "Northern Lights" in text and "Ann Lee" in text and "Bo Chen" in text
    assert "CLIENT Northlight Films" in reader.pages[0].extract_text().replace("\n", " ")
    assert ics.read_bytes().startswith(b"BEGIN:VCALENDAR\r\n")
    assert oct(pdf.stat().st_mode & 0o777) != "0o600"  # the umask applies, not mkstemp's 0600
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "answers.json",
        "charter.pdf",
        "reviews.ics",
    ]


def test_the_calendar_names_the_consultant_given_an_address(answers: Path, tmp_path: Path) -> None:
    html, ics = tmp_path / "c.html", tmp_path / "c.ics"
    common = [
        str(answers),
        "--project",
        "P",
        *PARTIES,
        "-o",
        str(html),
        "--html",
        "--ics",
        str(ics),
    ]
    result = run(*common, "--consultant", "Cara Diaz", "--consultant-email", " cara@Example.COM ")
    assert result.exit_code == 0, result.output
    organizers = {
        (e["ORGANIZER"].params["CN"], str(e["ORGANIZER"]))
        for e in published_events(ics.read_bytes())
    }
    assert organizers == {("Cara Diaz", "mailto:cara@example.com")}
    # No address, no organiser: a calendar app would take a made-up one for a real person.
    assert run(*common, "--consultant", "Cara Diaz").exit_code == 0
    assert b"ORGANIZER" not in ics.read_bytes()
    ics.unlink()
    html.unlink()
    refused = run(*common, "--consultant-email", "cara at example")
    assert refused.exit_code == 2
    assert refused.stderr == "--consultant-email: not a valid email address\n"
    assert not ics.exists() and not html.exists()


def test_html_output_is_one_self_contained_file(answers: Path, tmp_path: Path) -> None:
    out = tmp_path / "charter.html"
    result = run(
        "-", "--project", "P & <Q>", *PARTIES, "-o", str(out), "--html", stdin=answers.read_text()
    )
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html and "@page" in html
    assert "P &amp; &lt;Q&gt;" in html


def test_source_date_epoch_makes_builds_reproducible(answers: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a.html", tmp_path / "b.html"
    env = {"SOURCE_DATE_EPOCH": "1772442000"}
    for out in (first, second):
        assert (
            run(
                str(answers), "--project", "P", *PARTIES, "-o", str(out), "--html", env=env
            ).exit_code
            == 0
        )
    assert first.read_bytes() == second.read_bytes()
    assert "2 March 2026" in first.read_text()


def test_bad_answers_get_the_same_lines_as_evaluate(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**ANSWERS["standard"], "innovation": "3", "colour": 1}))
    out = tmp_path / "charter.pdf"
    result = run(str(bad), "--project", "P", *PARTIES, "-o", str(out))
    evaluated = CliRunner().invoke(evaluate_command, [str(bad)])
    assert result.exit_code == evaluated.exit_code == 2
    assert result.stderr == evaluated.stderr
    assert sorted(result.stderr.splitlines()) == [
        "colour: unknown field",
        "innovation: must be an integer from 1 to 5",
    ]
    assert result.stdout == "" and not out.exists()


def test_invalid_json_is_reported_like_evaluate(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = run(str(bad), "--project", "P", *PARTIES, "-o", str(tmp_path / "c.pdf"))
    evaluated = CliRunner().invoke(evaluate_command, [str(bad)])
    assert result.exit_code == 2 and result.stderr == evaluated.stderr
    assert list(tmp_path.iterdir()) == [bad]


def test_all_field_problems_are_reported_together(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**ANSWERS["standard"], "timeline_pressure": 9}))
    result = run(
        str(bad),
        "--project",
        " ",
        "--party",
        "Ann Lee",
        "--party",
        "creator: Bo",
        "--effective",
        "tomorrow",
        "--charter-version",
        "0",
        "-o",
        str(tmp_path / "c.pdf"),
        "--ics",
        str(tmp_path / "c.ics"),
    )
    assert result.exit_code == 2
    assert sorted(result.stderr.splitlines()) == [
        "--party 1: must look like 'Producer side: Name' or 'Creator side: Name (Role)'",
        "effective_date: must be YYYY-MM-DD",
        "project: must not be empty",
        "timeline_pressure: must be an integer from 1 to 5",
        "version: must be 1 to 999",
    ]
    assert list(tmp_path.iterdir()) == [bad]


def test_details_file_fills_the_fields_and_is_validated(answers: Path, tmp_path: Path) -> None:
    fields = tmp_path / "fields.json"

    def charter_with_details() -> Result:
        out = str(tmp_path / "c.html")
        return run(
            str(answers), "--details", str(fields), "--project", "P", *PARTIES, "-o", out, "--html"
        )

    fields.write_text(json.dumps({"revenue_split": {"producer": 70, "creator": 20}, "colour": "x"}))
    result = charter_with_details()
    assert result.exit_code == 2
    assert sorted(result.stderr.splitlines()) == [
        "colour: unknown field",
        "revenue_split: producer and creator shares must add up to 100",
    ]
    fields.write_text("[1, 2]")
    result = charter_with_details()
    assert (result.exit_code, result.stderr) == (
        2,
        "details: must be a JSON object of charter fields\n",
    )
    assert not (tmp_path / "c.html").exists()


def test_a_missing_output_folder_is_an_input_error(answers: Path, tmp_path: Path) -> None:
    out = tmp_path / "nowhere" / "c.pdf"
    result = run(str(answers), "--project", "P", *PARTIES, "-o", str(out))
    assert result.exit_code == 2
    assert result.stderr == f"{out}: the folder {out.parent} does not exist\n"


def outputs(tmp_path: Path, option: str, target: Path) -> list[str]:
    """The -o and --ics options, each to its own file in tmp_path but ``option`` to ``target``."""
    chosen = {"-o": str(tmp_path / "c.pdf"), "--ics": str(tmp_path / "c.ics")} | {
        option: str(target)
    }
    return [word for pair in chosen.items() for word in pair]


@pytest.mark.parametrize(
    ("option", "reads"), [("-o", "ANSWERS.json"), ("--ics", "ANSWERS.json"), ("-o", "--details")]
)
def test_an_output_that_is_an_input_file_is_refused_and_the_input_kept(
    answers: Path, tmp_path: Path, option: str, reads: str
) -> None:
    details = tmp_path / "details.json"
    details.write_text(json.dumps({"project": "P"}))
    target = answers if reads == "ANSWERS.json" else details
    before = target.read_bytes()
    result = run(
        str(answers), "--details", str(details), *PARTIES, *outputs(tmp_path, option, target)
    )
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"{option}: {target} is the {reads} file it reads; write to another file\n"
    )
    assert target.read_bytes() == before
    assert not (tmp_path / "c.pdf").exists() and not (tmp_path / "c.ics").exists()


@pytest.mark.parametrize("option", ["-o", "--ics"])
def test_an_output_that_is_not_a_regular_file_is_refused_and_kept(
    answers: Path, tmp_path: Path, option: str
) -> None:
    """A pipe (or /dev/stdout) would be replaced by a file of that name, not written to."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    result = run(str(answers), "--project", "P", *PARTIES, *outputs(tmp_path, option, pipe))
    assert result.exit_code == 2, result.output
    assert result.stderr == f"{option}: {pipe} is not a regular file; write to a file\n"
    assert stat.S_ISFIFO(pipe.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.json", "pipe"]


@pytest.mark.parametrize("option", ["-o", "--ics"])
def test_an_output_name_the_system_refuses_is_said_in_one_line(
    answers: Path, tmp_path: Path, option: str
) -> None:
    # Longer than a file name may be: asking whether the file is there fails as well.
    refused = tmp_path / ("c" * 300)
    result = run(str(answers), "--project", "P", *PARTIES, *outputs(tmp_path, option, refused))
    assert result.exit_code == 1, result.output
    assert result.stderr == f"{option}: cannot write {refused}: File name too long\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.json"]


@pytest.mark.parametrize("option", ["-o", "--ics"])
@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "give the name of a file to write"),
        # Written aside and renamed into place, "-" would become a file of that name.
        ("-", "standard output (-) cannot take this file; give a file name"),
    ],
    ids=["empty", "standard output"],
)
def test_an_output_named_empty_or_standard_output_asks_for_a_file_name(
    answers: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    option: str,
    name: str,
    problem: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    names = {"-o": "c.pdf", "--ics": "c.ics"} | {option: name}
    result = run(
        str(answers), "--project", "P", *PARTIES, *[w for pair in names.items() for w in pair]
    )
    assert result.exit_code == 2, result.output
    assert result.stderr == f"{option}: {problem}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.json"]


def test_binary_input_is_refused_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    result = run(str(bad), "--project", "P", *PARTIES, "-o", str(tmp_path / "c.pdf"))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert (
        result.stderr
        == CliRunner().invoke(evaluate_command, [str(bad)]).stderr
        == "input: not UTF-8 text\n"
    )


def test_bad_source_date_epoch_is_named(answers: Path, tmp_path: Path) -> None:
    result = run(
        str(answers),
        "--project",
        "P",
        *PARTIES,
        "-o",
        str(tmp_path / "c.pdf"),
        env={"SOURCE_DATE_EPOCH": "yesterday"},
    )
    assert (result.exit_code, result.stderr) == (
        2,
        "SOURCE_DATE_EPOCH: must be a whole number of seconds since 1970\n",
    )


def test_blank_source_date_epoch_means_now(answers: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.html"
    result = run(
        str(answers), "--project", "P", *PARTIES, "-o", str(out), "--html",
        env={"SOURCE_DATE_EPOCH": " "},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.is_file()


def test_several_respondents_give_a_charter_with_their_gaps(tmp_path: Path) -> None:
    producer = {**ANSWERS["standard"], "innovation": 2, "creative_collaboration": 2}
    creator = {**ANSWERS["standard"], "innovation": 5, "creative_collaboration": 5}
    source = tmp_path / "respondents.json"
    source.write_text(
        json.dumps(
            {
                "respondents": [
                    {"name": "Ann Lee", "side": "producer", "answers": producer},
                    {"name": "Bo Chen", "side": "creator", "answers": creator},
                ],
                "consensus": {"innovation": 4},
            }
        )
    )
    out = tmp_path / "charter.html"
    result = run(str(source), "--project", "P", *PARTIES, "-o", str(out), "--html")
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert "Where the Parties started apart" in html and "Agreed after discussion" in html
    bad = {"respondents": [{"name": "Ann", "side": "producer", "answers": {}}]}
    source.write_text(json.dumps(bad))
    failed = run(str(source), "--project", "P", *PARTIES, "-o", str(tmp_path / "x.html"), "--html")
    evaluated = CliRunner().invoke(evaluate_command, [str(source)])
    assert failed.exit_code == 2 and failed.stderr == evaluated.stderr != ""


@pytest.mark.parametrize(
    ("options", "line"),
    [
        (
            ("--effective", "9999-12-31"),
            "effective_date: must be between 2000-01-01 and 2099-12-31",
        ),
        (("--issued", "9999-12-31T23:00:00+00:00"), "issued_at: must be between 2000-01-01"),
        (("--issued", "0001-01-01T00:30:00+01:00"), "issued_at: must be between 2000-01-01"),
        # What a shell passes for bytes that are not UTF-8.
        (("--consultant", "a\udcffb"), "consultant: must be valid Unicode text"),
        (("--consultant", "Clara\x1b[31m"), "consultant: must not contain control characters"),
    ],
)
def test_out_of_range_dates_and_broken_text_are_input_errors(
    answers: Path, tmp_path: Path, options: tuple[str, str], line: str
) -> None:
    out = tmp_path / "c.pdf"
    result = run(str(answers), "--project", "P", *PARTIES, *options, "-o", str(out))
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(line) and "Traceback" not in result.output
    assert not out.exists()


def test_a_folder_that_cannot_be_written_names_the_file_asked_for(
    answers: Path, tmp_path: Path
) -> None:
    """The files are written aside under temporary names first: a problem names the file
    the user asked for, not one they never heard of."""
    folder = Path("/sys")  # refuses new files to everyone, root included
    if not (folder / "kernel").is_dir():
        pytest.skip("needs a mounted sysfs")
    ics = folder / "reviews.ics"
    result = run(
        str(answers), "--project", "P", *PARTIES, "-o", str(tmp_path / "c.pdf"), "--ics", str(ics)
    )
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"--ics: cannot write {ics}: "), result.stderr
    assert not (tmp_path / "c.pdf").exists()


@pytest.mark.parametrize(
    ("part", "failure", "line"),
    [
        (
            "to_pdf",
            CharterError("fonts missing for the charter; install fonts-inter"),
            "charter: fonts missing for the charter; install fonts-inter",
        ),
        (
            "to_pdf",
            RuntimeError("Pango could not lay out the text\nmore detail"),
            "charter: could not render the charter: Pango could not lay out the text",
        ),
        (
            "to_pdf",
            PermissionError(errno.EACCES, "Permission denied", "/usr/share/fonts/inter.ttf"),
            "charter: could not render the charter: /usr/share/fonts/inter.ttf: Permission denied",
        ),
        ("standalone_html", KeyError(), "charter: could not render the charter: KeyError"),
        (
            "to_ics",
            ValueError("no such time zone"),
            "charter: could not make the review calendar: no such time zone",
        ),
    ],
    ids=["fonts missing", "renderer crashed", "font unreadable", "html failed", "calendar failed"],
)
def test_a_part_failing_unexpectedly_is_said_in_one_line_and_nothing_is_written(
    answers: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    part: str,
    failure: Exception,
    line: str,
) -> None:
    def failing(*_: object, **__: object) -> NoReturn:
        raise failure

    monkeypatch.setattr(charter, part, failing)
    html = ["--html"] if part == "standalone_html" else []
    result = run(
        str(answers),
        "--project",
        "P",
        *PARTIES,
        *html,
        *outputs(tmp_path, "-o", tmp_path / "c.pdf"),
    )
    # Not a usage problem (2): the input was fine, the machine failed to make the files.
    assert (result.exit_code, result.stderr) == (1, line + "\n")
    assert isinstance(result.exception, SystemExit)  # ended by the command, not a traceback
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.json"]
