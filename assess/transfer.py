"""Export every stored record to a zip file, and import one into an empty database.

The archive holds ``manifest.json`` (format, migration revision, row counts and a SHA-256
per file) and one ``tables/<table>.jsonl`` per table, a JSON object per row. Tables are
read from the database itself, so whatever the migrations created travels too: engagements,
answers, decisions, charter versions, sign-off records and signed PDFs (binary columns are
base64, restored byte for byte, so seals still verify).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import logging
import os
import re
import sqlite3
import stat
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeGuard, cast

import click
from cryptography.hazmat.primitives import hashes
from flask.cli import with_appcontext
from marshmallow import ValidationError
from sqlalchemy import (
    Connection,
    Engine,
    MetaData,
    Table,
    create_engine,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.types import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
)

from assess.api.schemas import DecisionSchema
from assess.charter.calendar import load_draft_calendars, load_series
from assess.charter.details import check_fields
from assess.decision import Decision
from assess.models import (
    EVENT_ACTIONS,
    PARTY_SIDES,
    SIDE_LABELS,
    SIGNATORY_ACTIONS,
    SIGNOFF_EVENT_ACTIONS,
    SIGNOFF_SIGNED,
    SIGNOFF_STATUSES,
    VIA_API,
    VIA_WEB,
)
from assess.schemas import (
    PLAIN_MESSAGES,
    AgreedSchema,
    KeyGivenTwice,
    flatten_errors,
    load_answers,
    unique_keys,
)
from assess.signing import sha256_hex
from assess.signing.keys import SealKeyError, existing_certificate, seal_folder
from assess.text import REFUSED_CONTROLS, shown

FORMAT = "assess-export"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
VERSION_TABLE = "alembic_version"
BATCH = 500
BATCH_BYTES = 16 << 20  # rows holding PDFs are large: a batch is stored by this much too
CHUNK = 1 << 20
MAX_LINE = 64 << 20  # a row with a charter's PDFs is some MiB; far more is no export's
MAX_MANIFEST = 1 << 20
# JSON lines compress some tens of times, base64 PDFs barely: far more is a zip bomb.
MAX_EXPANSION = 200


class TransferError(Exception):
    """The archive cannot be written or restored; the message says why."""


class ArchiveError(TransferError):
    """The archive itself is at fault: not an export, damaged, altered or incomplete."""


def _tables(connection: Connection) -> list[Table]:
    """Return the database's own tables in dependency order, parents first."""
    metadata = MetaData()
    metadata.reflect(bind=connection)
    return [t for t in metadata.sorted_tables if t.name != VERSION_TABLE]


def _revision(connection: Connection) -> str:
    """Return the database's migration revision. A database that cannot be read at all (a
    file that is not one) raises its own error, which the command line reports in one line.
    One that records no revision is not migrated either: no import would take its export."""
    value = None
    if inspect(connection).has_table(VERSION_TABLE):
        value = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    if value is None:
        raise TransferError("the database is not migrated; run `assess db upgrade`")
    return str(value)


def _in_utc(moment: datetime) -> datetime:
    """Return the same instant, aware and in UTC. A naive time is UTC already: SQLite keeps
    times without their offset, and the app stores every time in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _encode(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, datetime):  # with its offset, so no server's time zone can shift it
        return _in_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


# The largest whole number a database column holds (BIGINT; SQLite's INTEGER).
INTEGER_RANGE = range(-(2**63), 2**63)
# What each kind of integer column holds on PostgreSQL; SQLite would take 64 bits in any.
COLUMN_RANGES = (
    (BigInteger, INTEGER_RANGE),
    (SmallInteger, range(-(2**15), 2**15)),
    (Integer, range(-(2**31), 2**31)),
)


def _column_range(column_type: Integer) -> range:
    return next(held for kind, held in COLUMN_RANGES if isinstance(column_type, kind))


class RowError(ValueError):
    """A value in a row is not what its column holds, or not what the app can read."""


def _object(value: Any) -> Any:
    if not isinstance(value, dict):
        raise RowError("is not a JSON object")
    return value


# Built once: an import checks every decision and charter version against it.
DECISION_SCHEMA = DecisionSchema()


def _decision(value: Any) -> Any:
    # The schema the API documents its decisions with says what each value must be (a score
    # a number, a model a known one), which pages rely on when they show it; decisions stored
    # before tipping points were kept have none, as ``Decision.from_dict`` allows.
    DECISION_SCHEMA.load(_object(value), partial=("what_if",))
    return Decision.from_dict(value)


# The values the app gives a column that names one of a few things: pages look each up
# (a side's label, a status's wording), and would fail on any other.
KNOWN_VALUES: dict[tuple[str, str], tuple[str, ...]] = {
    ("parties", "side"): PARTY_SIDES,
    ("respondents", "side"): tuple(SIDE_LABELS),
    ("engagement_events", "side"): tuple(SIDE_LABELS),
    ("engagement_events", "action"): EVENT_ACTIONS,
    ("engagement_events", "via"): (VIA_WEB, VIA_API),
    ("sign_offs", "status"): SIGNOFF_STATUSES,
    ("signatories", "action"): SIGNATORY_ACTIONS,
    ("sign_off_events", "action"): SIGNOFF_EVENT_ACTIONS,
}


# Names, roles and addresses: the forms take them on one line, without control characters,
# and pages, the charter and the sign-off's audit page print them so.
ONE_LINE = {
    ("consultants", "email"),
    ("consultants", "name"),
    ("engagements", "project_name"),
    ("engagements", "client_organisation"),
    ("engagement_events", "respondent_name"),
    ("parties", "name"),
    ("parties", "role"),
    ("respondents", "name"),
    ("signatories", "name"),
    ("signatories", "email"),
    ("signatories", "role"),
}
ONE_LINE_REFUSED = re.compile(f"[{REFUSED_CONTROLS}]")


# How the app reads each JSON column it stores: a row it could not read is refused at
# import rather than restored to fail a page later. (Every JSON column of the models is
# listed; a table the app does not know travels as it is.)
JSON_READERS: dict[tuple[str, str], Callable[[Any], Any]] = {
    # The fill-in fields as the charter form stores them, and a version's as it froze them.
    ("engagements", "charter_fields"): lambda value: check_fields(value, stored=True),
    # The events of the draft calendars downloaded: the next file cancels those it drops.
    ("engagements", "draft_calendars"): load_draft_calendars,
    ("respondents", "answers"): lambda value: AgreedSchema().load(_object(value)),
    ("decisions", "answers"): load_answers,
    ("decisions", "data"): _decision,
    ("charter_versions", "answers"): load_answers,
    ("charter_versions", "decision_data"): _decision,
    ("charter_versions", "fields"): check_fields,
    # The review series frozen with a version: later versions' calendars cancel from them.
    ("charter_versions", "review_series"): load_series,
}


def _decode(table: str, column: str, column_type: Any, value: Any) -> Any:
    """Turn an exported value back into what the column stores, or raise ``RowError``."""
    if value is None:
        return None
    if isinstance(column_type, LargeBinary):
        return base64.b64decode(value["$base64"], validate=True)
    if isinstance(column_type, DateTime):
        try:
            moment = _in_utc(datetime.fromisoformat(value))
        except OverflowError:  # its offset moves it out of the calendar in UTC
            raise RowError(f"{column} is not a time between the years 1 and 9999 in UTC") from None
        return moment if column_type.timezone else moment.replace(tzinfo=None)
    if isinstance(column_type, Date):
        return date.fromisoformat(value)
    if isinstance(column_type, Boolean):
        if not isinstance(value, bool):
            raise RowError(f"{column} is not true or false")
        return value
    if isinstance(column_type, Integer):
        _check_whole_number(column, column_type, value)
    elif isinstance(column_type, String):
        _check_text(table, column, column_type, value)
    elif isinstance(column_type, JSON):
        _check_json(table, column, value)
    return value


def _check_whole_number(column: str, column_type: Integer, value: Any) -> None:
    """Refuse a value that is no whole number, or one its column cannot hold."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value not in _column_range(column_type)
    ):
        raise RowError(f"{column} is not a whole number its column holds")


def _check_text(table: str, column: str, column_type: String, value: Any) -> None:
    """Refuse a value that is no text, or text its column (or the pages) cannot take."""
    if not isinstance(value, str) or "\x00" in value:
        raise RowError(f"{column} is not text")
    # SQLite stores text of any length, PostgreSQL refuses what its column does not hold:
    # the same archive is refused on both.
    if column_type.length is not None and len(value) > column_type.length:
        raise RowError(f"{column} is longer than {column_type.length} characters")
    if (table, column) in ONE_LINE and ONE_LINE_REFUSED.search(value):
        raise RowError(f"{column} holds a line break or other control character")
    known = KNOWN_VALUES.get((table, column))
    if known is not None and value not in known:
        raise RowError(f"{column} is not one of: {', '.join(known)}")


def _check_json(table: str, column: str, value: Any) -> None:
    """Refuse a JSON value the app could not read back, when it reads the column."""
    read = JSON_READERS.get((table, column))
    if read is None:
        return
    try:
        read(value)
    except ValidationError as error:
        raise RowError(_first_problem(column, error)) from error
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise RowError(f"{column} is not in a shape the app reads") from error


def _first_problem(column: str, error: ValidationError) -> str:
    """Say the first value a schema refused, as "column.field.inner must be ...": the
    response schemas keep marshmallow's own wording, reworded here as the request ones are."""
    lines = flatten_errors(error.messages, column)
    field, _, problem = (lines[0] if lines else f"{column}: is not valid").partition(": ")
    # A map's refusals name its key, then "key" or "value": the key alone names the field.
    field = field.removesuffix(".value")
    if field.endswith(".key"):
        field, problem = field.removesuffix(".key"), f"names no known entry ({problem})"
    problem = PLAIN_MESSAGES.get(problem, problem)
    if problem in ("Unknown field.", "unknown field"):
        problem = "is not a known field"
    return f"{field} {problem}"


@dataclass
class Seen:
    """What the rows stored so far say that later rows must agree with."""

    # Each charter version's engagement and SHA-256, by id.
    versions: dict[Any, tuple[Any, str]] = field(default_factory=dict)
    # Each sign-off's version SHA-256 and sealed SHA-256 (None until sealed), by id.
    sign_offs: dict[Any, tuple[str | None, str | None]] = field(default_factory=dict)
    # Each account's email in lower case: sign-in finds an account whatever the case.
    emails: set[str] = field(default_factory=set)
    # Whether each engagement's charter_drafted_at and signed_at are set, by id; then the
    # engagements with a frozen charter version, and those with a signed one.
    milestones: dict[Any, tuple[bool, bool]] = field(default_factory=dict)
    drafted: set[Any] = field(default_factory=set)
    signed: set[Any] = field(default_factory=set)


def _check_email(table: str, row: dict[str, Any], seen: Seen) -> None:
    """Refuse two accounts whose emails differ only in case: sign-in would open either."""
    if table != "consultants":
        return
    email = str(row["email"]).lower()
    if email in seen.emails:
        raise RowError("email is another account's in other letter case")
    seen.emails.add(email)


# The columns a stored decision or charter version keeps beside its document, copied from
# it when it was made: lists, statuses and the API read them without the document.
COPIED_FROM_DOCUMENT = {
    "decisions": ("data", ("model", "rules_version", "answers")),
    "charter_versions": ("decision_data", ("rules_version", "answers")),
}


def _check_decision_columns(table: str, row: dict[str, Any]) -> None:
    """Refuse a decision whose columns say other than its document: lists and statuses
    read the columns alone, and would show another model or status than its pages."""
    if table in COPIED_FROM_DOCUMENT:
        document, columns = COPIED_FROM_DOCUMENT[table]
        for column in columns:
            if column in row and row[column] != row[document][column]:
                raise RowError(f"{column} is not what its {document} says")
    if table != "decisions" or "answer_sets_digest" not in row:  # an older migration's
        return
    from assess.models import decision_columns

    if decision_columns(row["data"]) != (row["components"], row["answer_sets_digest"]):
        raise RowError("components or answer_sets_digest is not what its data says")


def _check_calendar(table: str, row: dict[str, Any]) -> None:
    """Refuse a frozen calendar that is no iCalendar file: it is served as it is stored."""
    if table != "charter_versions" or "calendar_ics" not in row:  # an older migration's
        return
    ics = row["calendar_ics"]
    try:
        text = ics.decode("utf-8") if isinstance(ics, bytes) else ""
    except UnicodeDecodeError:
        text = ""
    if not (text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")):
        raise RowError("calendar_ics is not an iCalendar file")


def _check_digests(table: str, row: dict[str, Any], seen: Seen) -> None:
    """Refuse a stored SHA-256 that is not the digest of its PDF, or a broken seal.

    The verify page vouches for a file by finding its SHA-256 among the stored ones, so a
    digest must be the digest of the bytes beside it, and a sealed PDF must carry an intact
    seal over its own charter version.
    """
    if table == "charter_versions":
        if not isinstance(row["pdf"], bytes) or sha256_hex(row["pdf"]) != row["sha256"]:
            raise RowError("sha256 is not the SHA-256 of its pdf")
    elif table == "sign_offs":
        sealed = row["sealed_pdf"]
        # Sealing is what marks a sign-off signed: the verify page reads either as the other.
        if (row["status"] == SIGNOFF_SIGNED) != (sealed is not None):
            raise RowError(
                "status is signed without a sealed_pdf"
                if sealed is None
                else f"sealed_pdf is a seal on a sign-off whose status is {row['status']}"
            )
        if sealed is None:
            if row["sealed_sha256"] is not None:
                raise RowError("sealed_sha256 names a sealed PDF the row lacks")
            return
        if sha256_hex(sealed) != row["sealed_sha256"]:
            raise RowError("sealed_sha256 is not the SHA-256 of its sealed_pdf")
        from assess.signing.verify import UnreadableInput, verify

        # pyHanko logs its analysis of altered files with tracebacks; the refusal says it.
        logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
        try:
            verdict = verify(sealed)
        except UnreadableInput:
            raise RowError("sealed_pdf is not a PDF") from None
        # Another installation's seal is expected here: the import checks the file is as
        # sealed; whose certificate sealed it is the warning after the import.
        if not verdict.as_sealed:
            raise RowError(f"sealed_pdf does not verify ({verdict.summary})")
        version = seen.versions.get(row["version_id"])
        if version is None or verdict.approved_hash != version[1]:
            raise RowError("sealed_pdf seals another charter than its version")


def _check_chain(table: str, row: dict[str, Any], seen: Seen) -> None:
    """Refuse a broken hash chain: an amendment must record the SHA-256 of the version of
    its own engagement it amends, and each sign-off event the SHA-256 it was recorded on
    (its version's, or for the seal the sealed PDF's), as ``assess.signoff`` writes them.
    Versions and sign-offs are stored before the rows that refer to them (ids in order)."""
    if table == "charter_versions":
        _check_amended(row, seen)
        seen.versions[row["id"]] = (row["engagement_id"], row["sha256"])
    elif table == "sign_offs":
        version = seen.versions.get(row["version_id"])
        seen.sign_offs[row["id"]] = (version[1] if version else None, row["sealed_sha256"])
    elif table == "sign_off_events":
        _check_event_hash(row, seen)


def _check_amended(version: dict[str, Any], seen: Seen) -> None:
    """Refuse a charter version that does not amend an earlier version of its engagement
    by that version's SHA-256, or that records a SHA-256 without amending one."""
    previous_id, previous_sha256 = version["previous_version_id"], version["previous_sha256"]
    if previous_id is None:
        if previous_sha256 is not None:
            raise RowError("previous_sha256 names no version it amends")
        return
    previous = seen.versions.get(previous_id)
    if previous is None:
        raise RowError("previous_version_id names no earlier charter version")
    if previous[0] != version["engagement_id"]:
        raise RowError("previous_version_id names a version of another engagement")
    if previous_sha256 is None:
        raise RowError("previous_sha256 is missing for the version it amends")
    if previous_sha256 != previous[1]:
        raise RowError("previous_sha256 is not the SHA-256 of the version it amends")


def _check_event_hash(event: dict[str, Any], seen: Seen) -> None:
    """Refuse a sign-off event not recorded on its sign-off's document: the sealed PDF's
    SHA-256 for the seal, the charter version's for any other."""
    sign_off = seen.sign_offs.get(event["sign_off_id"])
    if sign_off is None:
        raise RowError("sign_off_id names no sign-off")
    if event["action"] == "sealed":
        if event["document_hash"] != sign_off[1]:
            raise RowError("document_hash is not the SHA-256 of its sign-off's sealed PDF")
    elif event["document_hash"] != sign_off[0]:
        raise RowError("document_hash is not the SHA-256 of its sign-off's charter version")


def _check_milestones(table: str, row: dict[str, Any], seen: Seen) -> None:
    """Refuse an engagement whose charter_drafted_at or signed_at says other than its
    charter versions, as freezing and sealing set them: its status, its list entry and
    whether it may be deleted read those times alone. Engagements are stored before their
    versions, and versions before their sign-offs; ``_check_drafted_and_signed`` checks
    what is left once every row is in."""
    if table == "engagements":
        marked = (row["charter_drafted_at"] is not None, row["signed_at"] is not None)
        seen.milestones[row["id"]] = marked
    elif table == "charter_versions":
        drafted, _ = seen.milestones.get(row["engagement_id"], (True, True))
        if not drafted:
            raise RowError(
                "engagement's charter_drafted_at is empty, though this version was frozen"
            )
        seen.drafted.add(row["engagement_id"])
    elif table == "sign_offs" and row["status"] == SIGNOFF_SIGNED:
        version = seen.versions.get(row["version_id"])
        if version is None:
            return
        _, signed = seen.milestones.get(version[0], (True, True))
        if not signed:
            raise RowError("status is signed while its engagement's signed_at is empty")
        seen.signed.add(version[0])


def _check_drafted_and_signed(seen: Seen) -> None:
    """Refuse an engagement marked drafted or signed with no charter version that is."""
    for engagement_id, (drafted, signed) in seen.milestones.items():
        if drafted and engagement_id not in seen.drafted:
            problem = "charter_drafted_at names no frozen charter version"
        elif signed and engagement_id not in seen.signed:
            problem = "signed_at names no signed charter version"
        else:
            continue
        label = _row_label({"id": engagement_id}, "engagements")
        raise ArchiveError(f"tables/engagements.jsonl is damaged: {label}'s {problem}")


def _rows(connection: Connection, table: Table) -> Iterator[dict[str, Any]]:
    order = list(table.primary_key.columns) or list(table.columns)
    result = connection.execution_options(stream_results=True).execute(
        select(table).order_by(*order)
    )
    for row in result.mappings():
        yield {key: _encode(value) for key, value in row.items()}


@contextmanager
def _snapshot(engine: Engine, directory: Path) -> Iterator[Engine]:
    """Yield an engine that reads the database as it is now, whatever is written meanwhile.

    PostgreSQL gives each export its own snapshot (repeatable read). SQLite reads each
    table as last committed, so a row written between two tables would tear the export
    (an engagement without its consultant, which no import takes): it is copied first, in
    one step that holds writers back only for as long as a file copy takes.
    """
    if engine.dialect.name != "sqlite":
        yield engine
        return
    # Private to this user, as the database is: the copy holds the accounts' password hashes.
    with tempfile.TemporaryDirectory(prefix=".export-", dir=directory) as folder:
        copy = Path(folder) / "snapshot.sqlite3"
        with engine.connect() as connection:
            # A file that is no database, or not migrated, is refused as reading it would be.
            _revision(connection)
            target = sqlite3.connect(copy)
            try:
                source = cast(sqlite3.Connection, connection.connection.driver_connection)
                source.backup(target)
            except sqlite3.Error as error:  # the disk full, most likely
                raise TransferError(f"cannot copy the database into {directory}: {error}") from None
            finally:
                target.close()
        snapshot = create_engine(f"sqlite:///{copy}")
        try:
            yield snapshot
        finally:
            snapshot.dispose()


def export_archive(engine: Engine, path: Path) -> dict[str, int]:
    """Write every table to a zip file at path (atomically); return the row counts."""
    counts: dict[str, int] = {}
    digests: dict[str, str] = {}
    directory = path.resolve().parent
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=".export-", suffix=".zip", dir=directory)
    except OSError as error:
        raise TransferError(f"cannot write in {directory}: {error.strerror}") from None
    os.close(descriptor)
    try:
        # One repeatable-read snapshot: rows written meanwhile cannot tear the export.
        with _snapshot(engine, directory) as source, source.connect() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                )
            revision = _revision(connection)
            tables = _tables(connection)
            with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for table in tables:
                    name = f"tables/{table.name}.jsonl"
                    digest = hashlib.sha256()
                    count = 0
                    with archive.open(name, "w") as member:
                        for row in _rows(connection, table):
                            # Columns in the table's order, and a JSON value's keys in its
                            # own: pages list a decision's terms in the order it keeps them.
                            line = (json.dumps(row) + "\n").encode("utf-8")
                            digest.update(line)
                            member.write(line)
                            count += 1
                    counts[table.name] = count
                    digests[name] = digest.hexdigest()
                manifest = {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "revision": revision,
                    "tables": [t.name for t in tables],
                    "rows": counts,
                    "sha256": digests,
                }
                archive.writestr(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
            connection.rollback()
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise TransferError(f"cannot write {path}: {error.strerror}") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return counts


def _member(archive: zipfile.ZipFile, name: str) -> zipfile.ZipInfo:
    """Return one member's entry, refusing one no export writes or one that expands out of
    reason (bzip2 and LZMA expand a whole block at once, whatever size the entry declares;
    deflate is read a bounded piece at a time, and only up to the declared size)."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ArchiveError(f"{name} is missing from the archive") from None
    if info.flag_bits & 0x1:
        raise ArchiveError(f"{name} is encrypted; an export never is")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ArchiveError(f"{name} is compressed in a way no export is; refused")
    # The limit below trusts the compressed size the archive records: it must be bytes the
    # archive holds, ahead of its directory, or a member could claim more and expand more.
    if info.header_offset + info.compress_size > archive.start_dir:
        raise ArchiveError(f"{name} is damaged: it runs past the end of its data")
    if info.file_size > MAX_EXPANSION * max(info.compress_size, 1) + 1024:
        raise ArchiveError(f"{name} expands far beyond any export; refused")
    return info


def _lines(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """Yield a member's lines one at a time, refusing a damaged member or an endless line."""
    damaged = (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError)
    try:
        member = archive.open(info)
    except damaged as error:
        raise ArchiveError(f"{info.filename} is damaged: {error}") from None
    # Buffered in large reads: a member's own readline reads a few bytes at a time.
    with member, io.BufferedReader(cast(io.RawIOBase, member), CHUNK) as reader:
        while True:
            try:
                line = reader.readline(MAX_LINE + 1)
            except damaged as error:
                raise ArchiveError(f"{info.filename} is damaged: {error}") from None
            if not line:
                return
            if len(line) > MAX_LINE:
                raise ArchiveError(f"{info.filename} is damaged: a line is longer than any row")
            yield line


def _read_manifest(archive: zipfile.ZipFile) -> dict[str, Any]:
    names = archive.namelist()
    twice = sorted(name for name, count in Counter(names).items() if count > 1)
    if twice:
        raise ArchiveError(f"{', '.join(twice)} is in the archive twice; which one is meant?")
    if MANIFEST not in names:
        raise ArchiveError("not an assess export: manifest.json is missing")
    info = _member(archive, MANIFEST)
    if info.file_size > MAX_MANIFEST:
        raise ArchiveError("not an assess export: manifest.json is far larger than any export's")
    data = b"".join(_lines(archive, info))
    try:
        manifest: dict[str, Any] = json.loads(data)
    except (ValueError, RecursionError):
        raise ArchiveError("not an assess export: manifest.json is not JSON") from None
    if not isinstance(manifest, dict):
        raise ArchiveError("not an assess export: manifest.json is not an object")
    if manifest.get("format") != FORMAT:
        raise ArchiveError("not an assess export of a format this version can read")
    version = manifest.get("format_version")
    # JSON's true and 1.0 equal 1 in Python; no export writes either.
    if _whole(version) and version > FORMAT_VERSION:
        raise ArchiveError(
            f"the export is of format version {version}, newer than this version of assess "
            f"reads ({FORMAT_VERSION}): import it with the version that wrote it"
        )
    if not _whole(version):
        raise _damaged_manifest("format_version is not a whole number")
    if version != FORMAT_VERSION:
        raise ArchiveError("not an assess export of a format this version can read")
    _check_manifest(manifest)
    return manifest


def _whole(value: Any) -> TypeGuard[int]:
    """Whether value is a JSON whole number: JSON's true is Python's 1, and 1.0 equals it."""
    return type(value) is int


def _damaged_manifest(problem: str) -> ArchiveError:
    return ArchiveError(f"manifest.json is damaged: {problem}")


def _check_manifest(manifest: dict[str, Any]) -> None:
    """Refuse a manifest other than the export writes: each field of its type, the row
    counts and checksums given for exactly the tables listed, each count a whole number."""
    fields = ("format", "format_version", "revision", "tables", "rows", "sha256")
    unknown = sorted(set(manifest) - set(fields))
    if unknown:
        raise _damaged_manifest(f"{unknown[0]} is not a field of an export's manifest")
    shapes = {"revision": str, "tables": list, "rows": dict, "sha256": dict}
    for key, shape in shapes.items():
        if not isinstance(manifest.get(key), shape):
            raise _damaged_manifest(f"{key} is missing or malformed")
    if not manifest["revision"]:
        raise _damaged_manifest("revision is empty")
    _check_listed(manifest, _listed_tables(manifest["tables"]))


def _listed_tables(tables: list[Any]) -> list[str]:
    """Return the manifest's list of tables, refusing an entry that names no table or one
    named twice."""
    listed: list[str] = []
    for at, table in enumerate(tables):
        if not isinstance(table, str) or not table or "/" in table:
            raise _damaged_manifest(f"tables[{at}] is not a table's name")
        if table in listed:
            raise _damaged_manifest(f"tables names {table} twice")
        listed.append(table)
    return listed


def _check_listed(manifest: dict[str, Any], listed: list[str]) -> None:
    """Refuse row counts and checksums given for other tables than those listed, a count
    that is no number of rows, or a checksum that is no SHA-256."""
    for key, expected in (
        ("rows", set(listed)),
        ("sha256", {f"tables/{table}.jsonl" for table in listed}),
    ):
        given = set(manifest[key])
        if given - expected:
            raise _damaged_manifest(f"{key} names {min(given - expected)}, no table it lists")
        if expected - given:
            raise _damaged_manifest(f"{key} lacks {min(expected - given)}")
    for table, count in manifest["rows"].items():
        if not _whole(count) or count < 0 or count not in INTEGER_RANGE:
            raise _damaged_manifest(f"rows.{table} is not a number of rows (0 or more)")
    for name, digest in manifest["sha256"].items():
        if not (isinstance(digest, str) and len(digest) == 64 and set(digest) <= HEX_DIGITS):
            raise _damaged_manifest(f"sha256.{name} is not a SHA-256 (64 hex digits)")


HEX_DIGITS = set("0123456789abcdef")


STRAYS_NAMED = 5


def _check_members(archive: zipfile.ZipFile) -> None:
    """Refuse a member no export writes: the archive is a copy of the database, whole, and
    a file added beside it (a note, a table of another installation) would not be restored.
    A folder entry for tables/ is what zipping an unpacked export again adds."""
    strays = sorted(
        name
        for name in archive.namelist()
        if name not in (MANIFEST, "tables/")
        and not (name.startswith("tables/") and name.endswith(".jsonl") and name.count("/") == 1)
    )
    if strays:
        # A whole folder zipped in by mistake holds thousands: the first few say what it is.
        named = ", ".join(strays[:STRAYS_NAMED])
        more = len(strays) - STRAYS_NAMED
        named += f" and {more} more" if more > 0 else ""
        raise ArchiveError(f"the archive holds what no export writes; unknown: {named}")


def _check_table(archive: zipfile.ZipFile, name: str, expected_sha256: Any) -> None:
    """Refuse one table's file if it is damaged, altered or expands out of reason."""
    digest = hashlib.sha256()
    for line in _lines(archive, _member(archive, name)):
        digest.update(line)
    if digest.hexdigest() != expected_sha256:
        raise ArchiveError(f"{name} is damaged: its checksum does not match")


class _NotNumber:
    """Where a row holds NaN or Infinity: JSON has no such numbers, and no export writes them."""

    def __init__(self, word: str) -> None:
        self.word = word


def _not_a_number(row: Any, path: str = "") -> tuple[str, str] | None:
    """Return where the first NaN or Infinity of a row is, and which it is."""
    if isinstance(row, _NotNumber):
        return path, row.word
    items = (
        row.items() if isinstance(row, dict) else enumerate(row) if isinstance(row, list) else ()
    )
    for key, value in items:
        found = _not_a_number(value, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None


def _row_label(row: Any, table: str = "") -> str:
    """Name a row by its id, as the refusals do; an engagement or a charter version also as
    a consultant knows it."""
    if not (isinstance(row, dict) and isinstance(row.get("id"), int | str)):
        return "a row"
    label = f"row {row['id']}"
    if table == "engagements":
        return f"{label} (engagement {row['id']})"
    engagement, number = row.get("engagement_id"), row.get("number")
    if table == "charter_versions" and isinstance(engagement, int) and isinstance(number, int):
        return f"{label} (engagement {engagement}, version {number})"
    return label


def _parse_row(name: str, line: bytes) -> Any:
    """Read one line's row, refusing what Python's JSON would take but JSON does not: a key
    given twice (the last would silently win) and NaN or Infinity (no page can show them)."""
    twice: list[str] = []
    constants: list[str] = []

    def constant(word: str) -> _NotNumber:
        constants.append(word)
        return _NotNumber(word)

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        try:
            return unique_keys(items)
        except KeyGivenTwice as error:
            twice.append(error.args[0])
            return dict(items)

    try:
        row = json.loads(line.decode("utf-8"), object_pairs_hook=pairs, parse_constant=constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ArchiveError(f"{name} is damaged: a line is not JSON") from None
    if twice:
        key = json.dumps(twice[0])
        raise ArchiveError(f"{name} is damaged: {_row_label(row)} gives the key {key} twice")
    # Found where it is only when there is one: most rows hold none, some hold whole PDFs.
    found = _not_a_number(row) if constants else None
    if found:
        field, word = found
        raise ArchiveError(
            f"{name} is damaged: {_row_label(row)}'s {field} is {word}, which is no JSON number"
        )
    # Half of a UTF-16 pair comes only from its escape: a line without one holds none.
    half = _half_character(row) if HALF_ESCAPE.search(line) else None
    if half is not None:
        raise ArchiveError(f"{name} is damaged: {_row_label(row)}'s {half} is not Unicode text")
    return row


# JSON escapes half of a UTF-16 pair as \ud800 to \udfff; Python reads it into a string
# no page can send (or database store as text), which a page showing it would fail on.
HALF_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
HALF = re.compile("[\ud800-\udfff]")


def _half_character(row: Any, path: str = "") -> str | None:
    """Return where the first text holding half of a UTF-16 pair is in a row (a key too)."""
    if isinstance(row, str):
        return path if HALF.search(row) else None
    items = (
        row.items() if isinstance(row, dict) else enumerate(row) if isinstance(row, list) else ()
    )
    for key, value in items:
        where = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and HALF.search(key):
            return where
        found = _half_character(value, where)
        if found:
            return found
    return None


def _read_table(archive: zipfile.ZipFile, name: str) -> Iterator[tuple[Any, int]]:
    """Yield one table's rows, each with the size of its line, a line at a time."""
    for line in _lines(archive, _member(archive, name)):
        if not line.strip():  # a blank line holds no row
            continue
        yield _parse_row(name, line), len(line)


def import_archive(engine: Engine, path: Path) -> dict[str, int]:
    """Restore an export into an empty, migrated database in one transaction; return counts."""
    try:
        archive = zipfile.ZipFile(path)
    # A damaged directory may name a zip version or feature no reader has (NotImplemented).
    except (OSError, zipfile.BadZipFile, NotImplementedError, ValueError, EOFError) as error:
        raise ArchiveError(f"cannot read {path}: {error}") from error
    with archive, engine.begin() as connection:
        manifest = _read_manifest(archive)
        _check_members(archive)
        revision = _revision(connection)
        if manifest["revision"] != revision:
            raise TransferError(_other_migration(manifest["revision"], revision))
        tables = {t.name: t for t in _tables(connection)}
        _check_tables_match(archive, manifest["tables"], tables)
        _check_empty(connection, tables.values())
        # Every file is checked whole before a row is stored: a damaged one stores nothing.
        for table in tables.values():
            name = f"tables/{table.name}.jsonl"
            _check_table(archive, name, manifest["sha256"][name])
        counts: dict[str, int] = {}
        seen = Seen()
        for table in tables.values():
            counts[table.name] = _restore_table(
                connection, archive, table, manifest["rows"][table.name], seen
            )
        _check_drafted_and_signed(seen)
        if connection.dialect.name == "postgresql":
            _advance_sequences(connection, list(tables.values()))
        try:
            connection.commit()
        # Every row was taken; the database failed to keep them (its disk full, the server
        # gone): as when it fails taking them, no fault of the archive, and none is kept.
        except (OperationalError, InterfaceError) as error:
            # SQLite keeps a transaction whose COMMIT failed open, and SQLAlchemy would hand
            # the connection on as reset: closed instead, the rows go with it.
            connection.invalidate()
            raise TransferError(
                f"the database failed while storing the import ({_reason(error)}); "
                "nothing was imported"
            ) from None
    return counts


def _check_tables_match(
    archive: zipfile.ZipFile, manifest_tables: list[str], tables: dict[str, Table]
) -> None:
    """Refuse an export whose tables, as its manifest lists them and as it holds their
    files, are not this database's."""
    listed = set(manifest_tables)
    members = {n for n in archive.namelist() if n.endswith(".jsonl")}
    if listed == set(tables) and members == {f"tables/{t}.jsonl" for t in listed}:
        return
    unknown = sorted(listed - set(tables)) + sorted(
        n for n in members if n[len("tables/") : -len(".jsonl")] not in listed
    )
    left_out = sorted(set(tables) - listed) + sorted(
        t for t in listed if f"tables/{t}.jsonl" not in members
    )
    raise ArchiveError(
        "the export's tables do not match this database"
        + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        + (f"; missing: {', '.join(left_out)}" if left_out else "")
    )


def _check_empty(connection: Connection, tables: Iterable[Table]) -> None:
    """Refuse a database that holds rows: an import restores a whole database."""
    for table in tables:
        if connection.execute(select(func.count()).select_from(table)).scalar_one():
            raise TransferError(
                f"the database is not empty (table {table.name} has rows); "
                "import only into an empty database"
            )


def _restore_table(
    connection: Connection, archive: zipfile.ZipFile, table: Table, recorded: int, seen: Seen
) -> int:
    """Store one table's rows from the archive, refusing any its manifest does not count
    (``recorded``); return how many were stored."""
    name = f"tables/{table.name}.jsonl"
    types = {c.name: c.type for c in table.columns}
    batch: list[dict[str, Any]] = []
    size = count = 0
    # Rows are read and stored a batch at a time: memory does not grow with the file.
    for row, length in _read_table(archive, name):
        if count + len(batch) == recorded:
            raise _miscounted(name, table.name, recorded, "more")
        batch.append(_decode_row(table.name, name, types, row, seen))
        size += length
        if len(batch) == BATCH or size > BATCH_BYTES:
            _insert(connection, table, name, batch)
            count += len(batch)
            batch, size = [], 0
    _insert(connection, table, name, batch)
    count += len(batch)
    if count != recorded:
        raise _miscounted(name, table.name, recorded, "fewer")
    return count


def _miscounted(name: str, table: str, recorded: int, held: str) -> ArchiveError:
    return ArchiveError(
        f"{name} holds {held} rows than manifest.json records ({recorded}, rows.{table})"
    )


def _other_migration(exported: str, current: str) -> str:
    """Say why an export at another migration than the database's cannot be imported, and
    what to do: a backup made before an upgrade is the usual case after a disaster."""
    from assess.commands import migration_order

    order = migration_order()
    if exported not in order:
        return (
            f"the export is at migration {exported}, which this version of assess does not "
            "know: a newer version wrote it; import it with that version"
        )
    if current in order and order.index(exported) > order.index(current):
        return (
            f"the export is at migration {exported}, older than this database's ({current}): "
            f"import it into a new, empty database migrated with `assess db upgrade --to "
            f"{exported}`, then run `assess db upgrade`"
        )
    return (
        f"the export is at migration {exported}, this database at {current}; "
        "run `assess db upgrade` first"
    )


def _decode_row(
    table: str, name: str, types: dict[str, Any], row: Any, seen: Seen
) -> dict[str, Any]:
    """Turn one exported row back into what its table stores, or raise ``ArchiveError``."""
    try:
        if not isinstance(row, dict):
            raise ArchiveError(f"{name} is damaged: a line is not a JSON object")
        # Every row names every column, as the export writes it: rows are stored many at a
        # time, and a column missing from the first would be dropped from the rest.
        if row.keys() != types.keys():
            raise RowError(_columns_differ(row.keys(), types.keys()))
        values = {key: _decode(table, key, types[key], value) for key, value in row.items()}
        _check_digests(table, values, seen)
        _check_calendar(table, values)
        _check_decision_columns(table, values)
        _check_chain(table, values, seen)
        _check_milestones(table, values, seen)
        _check_email(table, values, seen)
    except RowError as error:
        raise ArchiveError(f"{name} is damaged: {_row_label(row, table)}'s {error}") from None
    except (KeyError, AttributeError, TypeError, ValueError, binascii.Error):
        raise ArchiveError(f"{name} is damaged: a row does not fit the table") from None
    return values


def _insert(connection: Connection, table: Table, name: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    try:
        connection.execute(table.insert(), rows)
    # A database that stops taking rows (locked, its disk full, the server gone) is no
    # fault of the archive: saying it does not fit would have a sound backup thrown away.
    except (OperationalError, InterfaceError) as error:
        raise TransferError(
            f"the database failed while importing {name} ({_reason(error)}); nothing was imported"
        ) from None
    except (SQLAlchemyError, OverflowError, ValueError) as error:
        raise ArchiveError(f"{name} does not fit this database: {_reason(error)}") from None


def _columns_differ(given: Iterable[str], columns: Iterable[str]) -> str:
    """Say which columns a row lacks or has beyond its table's (as ``RowError`` text)."""
    missing, unknown = sorted(set(columns) - set(given)), sorted(set(given) - set(columns))
    return "columns are not the table's" + (
        (f"; missing: {', '.join(missing)}" if missing else "")
        + (f"; unknown: {', '.join(unknown)}" if unknown else "")
    )


def _reason(error: Exception) -> str:
    """Say in one line why the database refused a row (its constraint, not the row)."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


def _advance_sequences(connection: Connection, tables: list[Table]) -> None:
    """Move each id sequence past the imported ids, so new rows do not collide."""
    for table in tables:
        for column in table.primary_key.columns:
            sequence = connection.execute(
                text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": table.name, "column": column.name},
            ).scalar()
            if sequence:
                connection.execute(
                    text(
                        f'SELECT setval(:sequence, COALESCE((SELECT MAX("{column.name}") '
                        f'FROM "{table.name}"), 0) + 1, false)'
                    ),
                    {"sequence": sequence},
                )


# What a row of each table is, singular and plural, for the one-line summaries.
ROW_NOUNS = {
    "consultants": ("consultant", "consultants"),
    "engagements": ("engagement", "engagements"),
    "parties": ("party", "parties"),
    "respondents": ("respondent", "respondents"),
    "invitations": ("invitation", "invitations"),
    "decisions": ("decision", "decisions"),
    "charter_versions": ("charter version", "charter versions"),
    "sign_offs": ("sign-off", "sign-offs"),
    "signatories": ("signatory", "signatories"),
    "sign_off_events": ("sign-off event", "sign-off events"),
    "engagement_events": ("engagement history entry", "engagement history entries"),
    "api_tokens": ("API token", "API tokens"),
}


def _summary(counts: dict[str, int]) -> str:
    def counted(table: str, n: int) -> str:
        singular, plural = ROW_NOUNS.get(table, (table, table))
        return f"{n} {singular if n == 1 else plural}"

    return ", ".join(counted(table, n) for table, n in counts.items() if n) or "no rows"


@click.command("export", short_help="Back up every stored record to a zip file.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def export_command(file: Path) -> None:
    """Write every engagement, answer, decision, charter and signed PDF to FILE (zip).

    A file already at FILE is replaced only once the export is complete."""
    from assess.extensions import db

    if str(file) == "-":  # the archive is renamed into place once whole: a pipe has no place
        raise click.BadParameter(
            "standard output (-) cannot take an export; give a file name", param_hint="FILE"
        )
    if file == Path("."):  # given as "": click took it for the current folder
        raise click.BadParameter("give the name of a file to write", param_hint="FILE")
    if not file.resolve().parent.is_dir():
        raise click.BadParameter(f"the folder {file.parent} does not exist", param_hint="FILE")
    # A name the system refuses (too long, in a folder that cannot be searched) is taken
    # for none here: writing it says why.
    if os.path.exists(file) and not file.is_file():
        # The archive is renamed into place: a pipe or a device would become a plain file.
        raise click.BadParameter(
            f"{file} is not a regular file; write to a file", param_hint="FILE"
        )
    if _is_database_file(db.engine, file):
        # The archive replaces its target whole: here, every record it was to keep.
        raise click.BadParameter(
            f"{file} is the database it exports; write to another file", param_hint="FILE"
        )
    try:
        counts = export_archive(db.engine, file)
    except TransferError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Exported {_summary(counts)} to {file}.")


def _is_database_file(engine: Engine, path: Path) -> bool:
    """Whether path is the SQLite file the engine stores in, by any name (a link too)."""
    stored = engine.url.database
    if engine.url.get_backend_name() != "sqlite" or not stored or stored == ":memory:":
        return False
    try:
        return os.path.samefile(path, stored)
    except OSError:  # either does not exist (yet): nothing to overwrite
        return False


class UnusableArchive(click.ClickException):
    """An archive that cannot be restored as it is: bad input, like a malformed answers file."""

    exit_code = 2


@click.command("import")
# Checked by the command itself, to say what is wrong with it in one line.
@click.argument("file", type=click.Path(path_type=Path))
@with_appcontext
def import_command(file: Path) -> None:
    """Restore an export FILE into this empty database.

    Exit status 2 when FILE is not an export or is damaged, 1 when this database cannot
    take it (not migrated, at another migration, or not empty) or fails during the import.
    """
    from assess.extensions import db

    if str(file) == "-":  # a zip archive is read from its end, which a pipe does not have
        raise UnusableArchive("standard input (-) cannot give an export; give its file name")
    if file == Path("."):  # given as "": click took it for the current folder
        raise UnusableArchive("give the name of the export file (a .zip file)")
    name = shown(str(file))
    try:
        mode = file.stat().st_mode
    except FileNotFoundError:
        raise UnusableArchive(f"{name} does not exist") from None
    except OSError as error:
        raise UnusableArchive(f"cannot read {name}: {error.strerror}") from None
    # A zip file is read from its end: a pipe has none, and a device would be read forever.
    if stat.S_ISDIR(mode):
        raise UnusableArchive(f"{name} is a folder, not an export (a .zip file)")
    if not stat.S_ISREG(mode):
        raise UnusableArchive(f"{name} is not a file, so not an export (a .zip file)")

    try:
        counts = import_archive(db.engine, file)
    # The archive's own text (names, a revision) may be in the message: shown, not obeyed.
    except ArchiveError as error:
        raise UnusableArchive(shown(str(error))) from error
    except TransferError as error:
        raise click.ClickException(shown(str(error))) from error
    click.echo(f"Imported {_summary(counts)} from {file}.")
    notice = _seal_notice(db.session)
    if notice:
        click.echo(notice, err=True)


def _seal_notice(session: Session) -> str | None:
    """Say when imported signed charters were sealed by another certificate than this
    installation's: the verify page pins its own, and would call them sealed elsewhere."""
    from flask import current_app

    from assess.models import SignOff
    from assess.signing.verify import sealing_certificate

    sealed = select(SignOff.sealed_pdf).where(SignOff.sealed_pdf.is_not(None))
    fingerprints = Counter(
        sealing_certificate(bytes(pdf))
        for pdf in session.execute(sealed.execution_options(yield_per=20)).scalars()
        if pdf is not None
    )
    if not fingerprints:
        return None
    try:
        certificate = existing_certificate(current_app.config, current_app.instance_path)
    except SealKeyError as error:
        return f"Warning: cannot read this installation's seal certificate: {error}."
    own = certificate.fingerprint(hashes.SHA256()).hex() if certificate else None
    foreign = sum(n for fingerprint, n in fingerprints.items() if fingerprint != own)
    if not foreign:
        return None
    where = (
        "set SEAL_KEY_FILE and SEAL_CERT_FILE to the old installation's key and certificate"
        if current_app.config.get("SEAL_CERT_FILE")
        else "copy seal-key.pem and seal-cert.pem from the old installation's instance/seal/ "
        f"folder into {seal_folder(current_app.instance_path)}"
    )
    state = "has no seal key yet" if own is None else "seals with another certificate"
    charters = (
        "1 imported signed charter was"
        if foreign == 1
        else f"{foreign} imported signed charters were"
    )
    return (
        f"Warning: {charters} sealed with a certificate this installation does not hold "
        f"(it {state}). Until you {where}, the verify page will say they were not sealed "
        "by this service."
    )


__all__ = [
    "ArchiveError",
    "TransferError",
    "export_archive",
    "import_archive",
    "export_command",
    "import_command",
]
