"""``assess charter``: write the partnership charter (PDF or HTML) and its review calendar."""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, NoReturn

import click
from marshmallow import ValidationError

from assess import emails, schemas
from assess.charter import calendar
from assess.charter.details import CharterDetails, load_details, parse_party
from assess.charter.errors import CharterError
from assess.decision import Decision
from assess.schemas import flatten_errors, load_answers, load_respondents


def fail(lines: list[str], status: int = 2) -> NoReturn:
    """Report problems on stderr, one per line, and exit without writing anything."""
    for line in lines:
        click.echo(line, err=True)
    sys.exit(status)


def read_json(source: IO[str], label: str) -> Any:
    """Read a JSON document, or exit 2 saying where it is broken."""
    try:
        return schemas.read_json(source, label)
    except schemas.NotJSON as error:
        fail([str(error)])


def decide(data: Any) -> tuple[Decision | None, list[str]]:
    """Decide on either input form of ``assess evaluate``: one answer set, or respondents."""
    from assess.engine import evaluate, evaluate_respondents

    try:
        if isinstance(data, dict) and "respondents" in data:
            respondents, agreed, notes = load_respondents(data)
            return evaluate_respondents(respondents, agreed, notes, what_if=True), []
        return evaluate(load_answers(data), what_if=True), []
    except ValidationError as error:
        return None, flatten_errors(error.messages)


def issued_default() -> str | None:
    """Honour SOURCE_DATE_EPOCH so that builds of the same charter are reproducible."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch:  # unset or blank: now, as a blank value means the default everywhere
        return None
    try:
        return datetime.fromtimestamp(int(epoch), UTC).isoformat()
    except (ValueError, OverflowError, OSError):
        fail(["SOURCE_DATE_EPOCH: must be a whole number of seconds since 1970"])


def _as_party_option(line: str, given_as: list[int]) -> str:
    """Say 'parties.1.name: ...' as '--party 2 (name): ...' when the parties were options."""
    match = re.match(r"parties\.(\d+)\.(\w+): (.*)", line)
    if match is None or int(match.group(1)) >= len(given_as):
        return line
    number, field, problem = int(match.group(1)), match.group(2), match.group(3)
    return f"--party {given_as[number]} ({field}): {problem}"


def same_file(source: IO[str], target: Path) -> bool:
    """Whether target is the file source reads (by any name: a link, or stdin redirected)."""
    try:
        read, written = os.fstat(source.fileno()), os.stat(target)
    except (OSError, ValueError):  # no file behind the stream, or no such target yet
        return False
    return (read.st_dev, read.st_ino) == (written.st_dev, written.st_ino)


def _write_aside(path: Path, data: bytes, umask: int) -> str:
    """Write the bytes to a new file beside path, under a temporary name; return that name."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp creates 0600; honour the umask
    except BaseException:
        os.unlink(temporary)
        raise
    return temporary


def _set_aside(path: Path, temporary: str) -> str | None:
    """Keep the file already at path under a second name beside its replacement's, to put
    back should another file of the command fail to go into place; None when there is none.

    A hard link keeps the very file; where the filesystem has none (FAT), a copy of it. A
    symbolic link is kept as the link, since the rename replaces the link, not its file."""
    if not os.path.lexists(path):
        return None
    kept = f"{temporary}.earlier"
    try:
        os.link(path, kept, follow_symlinks=False)
    except OSError:
        try:
            shutil.copy2(path, kept, follow_symlinks=False)
        except BaseException:
            Path(kept).unlink(missing_ok=True)
            raise
    return kept


def _put_back(placed: list[Path], earlier: dict[Path, str | None]) -> list[str]:
    """Undo the renames done: each file put back as it was, or removed if it was not there.
    Return a line for each that could not be, saying where its earlier content is kept."""
    lines = []
    for path in reversed(placed):
        kept = earlier.pop(path)
        try:
            if kept is None:
                path.unlink()
            else:
                os.replace(kept, path)
        except OSError as error:
            where = f"; the earlier file is kept as {kept}" if kept else ""
            lines.append(f"{path}: cannot be put back as it was: {error.strerror}{where}")
    return lines


def _remove(names: Iterable[str | None]) -> None:
    for name in names:
        if name is not None:
            Path(name).unlink(missing_ok=True)


def write_atomically(files: dict[Path, tuple[str, bytes]]) -> None:
    """Write every file or none. Each is written aside under a temporary name, then all are
    renamed into place; a file a rename would replace is kept aside until every rename is
    done, so that one failing puts back those already replaced (the PDF without its
    calendar is half a result). ``files`` maps each path to the option that named it and
    its bytes."""
    staged: dict[Path, str] = {}
    earlier: dict[Path, str | None] = {}
    placed: list[Path] = []
    umask = os.umask(0o022)
    os.umask(umask)
    path = Path()
    try:
        for path, (_, data) in files.items():
            staged[path] = _write_aside(path, data, umask)
        for path, temporary in staged.items():
            earlier[path] = _set_aside(path, temporary)
        for path, temporary in staged.items():
            os.replace(temporary, path)
            placed.append(path)
    except OSError as error:
        not_put_back = _put_back(placed, earlier)
        _remove([*staged.values(), *earlier.values()])
        # The error names the temporary file, which the user never asked for.
        fail([f"{files[path][0]}: cannot write {path}: {error.strerror}", *not_put_back], 1)
    _remove(earlier.values())


def _details_fields(details_file: IO[str] | None) -> dict[str, Any]:
    """The charter's fields from --details, or none; exit 2 when it is no JSON object."""
    fields: dict[str, Any] = {}
    if details_file is not None:
        loaded = read_json(details_file, "details")
        if not isinstance(loaded, dict):
            fail(["details: must be a JSON object of charter fields"])
        fields.update(loaded)
    return fields


def _read_parties(
    parties: tuple[str, ...], fields: dict[str, Any], problems: list[str]
) -> list[int]:
    """Put the --party options in ``fields`` in place of any from --details, noting each
    unreadable one in ``problems``. Returns which --party each parsed party came from,
    to name it in a problem."""
    given_as: list[int] = []
    if parties:
        fields["parties"] = []
        for index, text in enumerate(parties, start=1):
            try:
                fields["parties"].append(parse_party(text))
                given_as.append(index)
            except ValueError as error:
                problems.append(f"--party {index}: {error}")
    return given_as


def _organizer_email(consultant_email: str | None, problems: list[str]) -> str:
    """The --consultant-email as the calendar names the organiser ("" when not given)."""
    if consultant_email is None:
        return ""
    try:
        return emails.normalise(consultant_email)
    except emails.AddressError:
        problems.append("--consultant-email: not a valid email address")
        return ""


def _load_details(
    fields: dict[str, Any], problems: list[str], given_as: list[int]
) -> CharterDetails | None:
    """Check the charter's fields, adding what is wrong to ``problems`` in the options'
    terms; None when they do not make a charter."""
    try:
        return load_details(fields)
    except ValidationError as error:
        lines = flatten_errors(error.messages)
        if any(p.startswith("--party") for p in problems):
            # the list lacks the unreadable lines: its length and sides are not the problem
            lines = [line for line in lines if not line.startswith("parties:")]
        if given_as:
            lines = [_as_party_option(line, given_as) for line in lines]
        problems += lines
        return None


def _check_file_name(option: str, target: Path) -> None:
    """Exit 2 when the option names no file that can be written aside and renamed."""
    if target == Path("."):  # given as "": click took it for the current folder
        fail([f"{option}: give the name of a file to write"])
    if str(target) == "-":  # written aside, then renamed: "-" would name a file
        fail([f"{option}: standard output (-) cannot take this file; give a file name"])


def _check_targets(
    output: Path, ics: Path | None, sources: tuple[tuple[str, IO[str] | None], ...]
) -> None:
    """Exit 2 unless the files to write can be written aside and renamed into place
    without touching what the command reads; ``sources`` pairs each input with its name."""
    targets = [("-o", output)] + ([("--ics", ics)] if ics is not None else [])
    for option, target in targets:
        _check_file_name(option, target)
    for _, target in targets:
        if not target.parent.is_dir():
            fail([f"{target}: the folder {target.parent} does not exist"])
    for option, target in targets:
        # Each file is written aside and renamed into place: a pipe or a device (as
        # /dev/stdout) would be replaced by a plain file, and the reader never get a byte.
        # A name the system refuses (too long, in a folder that cannot be searched) is
        # taken for none here: writing it says why.
        if os.path.exists(target) and not target.is_file():
            fail([f"{option}: {target} is not a regular file; write to a file"])
    if ics is not None and ics.resolve() == output.resolve():
        fail([f"--ics: {ics} is also the charter's file (-o); give the calendar its own"])
    for option, target in targets:
        for reads, source in sources:
            if source is not None and same_file(source, target):
                fail([f"{option}: {target} is the {reads} file it reads; write to another file"])


def _reason(error: Exception) -> str:
    """Say in one line why a part failed: the system's words and the file for an OSError,
    else the first line of the message, or the kind of failure when it has none."""
    if isinstance(error, OSError) and error.strerror:
        return f"{error.filename}: {error.strerror}" if error.filename else error.strerror
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _charter_bytes(decision: Decision, details: CharterDetails, as_html: bool) -> bytes:
    """The charter as PDF, or as HTML with ``as_html``; exit 1 when it cannot be made."""
    from assess import charter

    try:
        if as_html:
            return charter.standalone_html(decision, details).encode()
        return charter.to_pdf(decision, details)
    except CharterError as error:
        fail([f"charter: {error}"], status=1)
    # The input was fine; the renderer (WeasyPrint, Pango, a font) failed on this machine:
    # one line, not a traceback, and 1 as for any failure to make the files, not 2.
    except Exception as error:
        fail([f"charter: could not render the charter: {_reason(error)}"], status=1)


def _calendar_bytes(
    decision: Decision, details: CharterDetails, organizer: calendar.Organizer
) -> bytes:
    """The review calendar as iCalendar; exit 1 when it cannot be made."""
    from assess import charter

    try:
        return charter.to_ics(decision, details, organizer=organizer)
    except Exception as error:
        fail([f"charter: could not make the review calendar: {_reason(error)}"], status=1)


@click.command("charter", short_help="Write the partnership charter (PDF or HTML).")
@click.argument("answers_file", metavar="ANSWERS.json", type=click.File("r"))
@click.option(
    "--project", help="Project name as the charter states it (required, here or in --details)."
)
@click.option(
    "--party",
    "parties",
    multiple=True,
    help=(
        "'Producer side: Name (Role)' or 'Creator side: Name (Role)'; repeat for each person, "
        "at least one per side (here or in --details)."
    ),
)
@click.option("--consultant", help="Consultant who prepared the charter.")
@click.option(
    "--consultant-email",
    help="The consultant's email address: the calendar's events name them as organiser.",
)
@click.option("--client", help="Client organisation the charter is prepared for.")
@click.option(
    "--details",
    "details_file",
    type=click.File("r"),
    help="JSON file of the charter's fields (mediators, revenue split, ...); options override it.",
)
@click.option("--charter-version", type=int, help="Version number of this charter (default 1).")
@click.option("--document-id", help="Document ID to print; derived from the content if omitted.")
@click.option(
    "--effective", help="Date the charter takes effect (YYYY-MM-DD); default: issue date."
)
@click.option(
    "--issued",
    help="Issue time (ISO 8601 with zone); default: SOURCE_DATE_EPOCH if set, else now.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write: the PDF (or the HTML with --html).",
)
@click.option("--html", "as_html", is_flag=True, help="Write the HTML instead of the PDF.")
@click.option(
    "--ics",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the 12-month review calendar as an iCalendar file.",
)
def charter_command(
    answers_file: IO[str],
    project: str | None,
    parties: tuple[str, ...],
    consultant: str | None,
    consultant_email: str | None,
    client: str | None,
    details_file: IO[str] | None,
    charter_version: int | None,
    document_id: str | None,
    effective: str | None,
    issued: str | None,
    output: Path,
    as_html: bool,
    ics: Path | None,
) -> None:
    """Write the partnership charter for the answers in ANSWERS.json ('-': stdin)."""
    decision, problems = decide(read_json(answers_file, "input"))
    fields = _details_fields(details_file)
    given_as = _read_parties(parties, fields, problems)
    organizer_email = _organizer_email(consultant_email, problems)
    if issued is None and "issued_at" not in fields:
        issued = issued_default()
    for key, value in (
        ("project", project),
        ("consultant", consultant),
        ("client", client),
        ("version", charter_version),
        ("document_id", document_id),
        ("effective_date", effective),
        ("issued_at", issued),
    ):
        if value is not None:
            fields[key] = value
    details = _load_details(fields, problems, given_as)
    if problems:
        fail(problems)
    _check_targets(output, ics, (("ANSWERS.json", answers_file), ("--details", details_file)))

    # no problems means the input was decided and the fields make a charter
    assert decision is not None and details is not None
    files = {output: ("-o", _charter_bytes(decision, details, as_html))}
    if ics is not None:
        organizer = calendar.Organizer(details.consultant, organizer_email)
        files[ics] = ("--ics", _calendar_bytes(decision, details, organizer))
    write_atomically(files)
