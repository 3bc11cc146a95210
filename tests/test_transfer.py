"""assess export / import: a round trip into an empty database loses nothing."""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import os
import re
import shutil
import stat
import tracemalloc
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command as alembic_command
from alembic.script import ScriptDirectory
from apitools import bearer, make_token, sign
from flask import Flask
from flask.testing import FlaskClient
from servingtools import PG_SERVER, fresh_postgres
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    create_engine,
    select,
    text,
)
from sqlalchemy.orm import Session as OrmSession
from webtools import ANSWERS, login, make_consultant, post

from assess import create_app, signoff
from assess.charter import load_details
from assess.cli import cli
from assess.commands import alembic_config, upgrade_database
from assess.extensions import db as database
from assess.models import (
    NAME_MAX,
    PROJECT_MAX,
    Base,
    CharterVersion,
    Consultant,
    DecisionRecord,
    Engagement,
    utcnow,
)
from assess.signing.keys import from_config
from assess.signing.verify import verify
from assess.testing import fresh_postgres as empty_postgres
from assess.transfer import (
    JSON_READERS,
    ROW_NOUNS,
    ArchiveError,
    TransferError,
    _rows,
    _tables,
    export_archive,
    import_archive,
)

pytestmark = pytest.mark.db

# A table the migrations do not know (as a future feature's would be): the export reads
# tables from the database, so it travels too, binary column and all.
probe = MetaData()
STORED_PDFS = Table(
    "transfer_probe_pdfs",
    probe,
    Column("id", Integer, primary_key=True),
    Column("engagement_id", Integer, ForeignKey("engagements.id")),
    Column("pdf", LargeBinary, nullable=False),
    Column("stored_at", DateTime(timezone=True), nullable=False),
)
probe_parent = Table("engagements", probe, Column("id", Integer, primary_key=True))


@pytest.fixture
def empty_database(migrated_database: str, tmp_path: Path) -> Iterator[str]:
    """A second migrated, empty database of the same kind as the test database."""
    if migrated_database.startswith("postgresql"):
        with fresh_postgres(migrated_database) as url:
            yield url
    else:
        path = tmp_path / "restored.sqlite3"
        shutil.copyfile(migrated_database, path)
        yield f"sqlite:///{path}"


@pytest.fixture(autouse=True)
def stored_pdfs(app: Flask) -> Iterator[None]:
    """Create the stand-in table in the test database for one test, and drop it afterwards."""
    with app.app_context():
        STORED_PDFS.create(database.engine, checkfirst=True)
    yield
    with app.app_context():
        STORED_PDFS.drop(database.engine, checkfirst=True)


def fill(app: Flask, client: FlaskClient, consultant: int, *, charter: bool = False) -> int:
    """Store two respondents' answers, their decisions, a consensus and a PDF: the consensus's
    charter when ``charter`` is set, a stand-in otherwise (rendering one takes a second)."""
    headers = bearer(make_token(app, consultant))
    engagement = client.post(
        "/api/v1/engagements",
        json={
            "project_name": "Tidewater – ünïcode ✓",
            "client_organisation": "Northlight",
            "producer_name": "Ann",
            "creator_name": "Bo",
        },
        headers=headers,
    ).json["id"]
    for name, side, answers in (
        ("Ann", "producer", ANSWERS),
        ("Bo", "creator", {**ANSWERS, "innovation": 1}),
    ):
        base = f"/api/v1/engagements/{engagement}/respondents"
        rid = client.post(base, json={"name": name, "side": side}, headers=headers).json[
            "respondent"
        ]["id"]
        client.put(f"{base}/{rid}/answers", json={"answers": answers}, headers=headers)
        assert client.post(f"{base}/{rid}/submit", headers=headers).status_code == 201
    consensus = client.post(f"/api/v1/engagements/{engagement}/decisions", headers=headers)
    assert consensus.status_code == 201
    pdf = b"%PDF-1.7 stand-in"
    if charter:
        pdf = client.get(
            f"/api/v1/engagements/{engagement}/decisions/{consensus.json['id']}/charter.pdf",
            headers=headers,
        ).data
    with app.app_context():
        with database.engine.begin() as connection:
            connection.execute(
                STORED_PDFS.insert(),
                [{"engagement_id": engagement, "pdf": pdf, "stored_at": utcnow()}],
            )
    return int(engagement)


def snapshot(url: str) -> dict[str, list[dict[str, object]]]:
    engine = create_engine(url)
    with engine.connect() as connection:
        tables = {t.name: list(_rows(connection, t)) for t in _tables(connection)}
    engine.dispose()
    return tables


def restored_app(url: str, tmp_path: Path) -> Flask:
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": url, "SERVER_NAME": "localhost"}
    )
    app.instance_path = str(tmp_path / "restored-instance")
    return app


def exported(app: Flask, client: FlaskClient, consultant: int, tmp_path: Path) -> Path:
    """Fill the database with an engagement (no charter) and export it; return the archive."""
    fill(app, client, consultant)
    archive = tmp_path / "backup.zip"
    assert app.test_cli_runner().invoke(cli, ["export", str(archive)]).exit_code == 0
    return archive


@contextmanager
def restored(url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app on the empty database an export is imported into; its connections closed after."""
    app = restored_app(url, tmp_path)
    try:
        with app.app_context():
            STORED_PDFS.create(database.engine, checkfirst=True)
        yield app
    finally:
        with app.app_context():
            STORED_PDFS.drop(database.engine, checkfirst=True)
            database.engine.dispose()


def test_round_trip_loses_nothing(
    app: Flask, client: FlaskClient, consultant: int, empty_database: str, tmp_path: Path
) -> None:
    engagement_id = fill(app, client, consultant, charter=True)
    sealed = sign(app, engagement_id)
    assert verify(sealed).as_sealed
    # Text beyond the basic plane travels escaped as a UTF-16 pair, and comes back whole.
    with app.app_context(), database.engine.begin() as connection:
        connection.execute(text("UPDATE parties SET role = 'Director \U0001f3ac'"))
    archive = tmp_path / "backup.zip"
    exported = app.test_cli_runner().invoke(cli, ["export", str(archive)])
    assert exported.exit_code == 0, exported.output
    assert (
        exported.output.startswith("Exported 1 consultant, ") and "1 engagement," in exported.output
    )
    assert "2 respondents" in exported.output and "3 decisions" in exported.output
    assert "1 sign-off," in exported.output and "1 transfer_probe_pdfs" in exported.output
    with zipfile.ZipFile(archive) as zipped:
        assert "manifest.json" in zipped.namelist()

    with restored(empty_database, tmp_path) as target:
        imported = target.test_cli_runner().invoke(cli, ["import", str(archive)])
        assert imported.exit_code == 0, imported.output
        # This installation has no seal key yet: the verify page could not confirm the seal.
        assert "Warning: 1 imported signed charter was sealed with a certificate" in (
            imported.stderr
        )
        assert "(it has no seal key yet)" in imported.stderr
        assert str(Path(target.instance_path) / "seal") in imported.stderr
        with app.app_context():
            source_url = str(database.engine.url.render_as_string(hide_password=False))
        assert snapshot(empty_database) == snapshot(source_url)

        with target.app_context():
            pdf = database.session.execute(select(STORED_PDFS.c.pdf)).scalar_one()
            assert pdf.startswith(b"%PDF-")
            records = database.session.scalars(select(DecisionRecord)).all()
            assert [r.decision.model for r in records] and all(
                r.decision.to_dict() == r.data for r in records
            )
        with app.app_context():
            original = database.session.execute(select(STORED_PDFS.c.pdf)).scalar_one()
        assert pdf == original
        with target.app_context():
            sealed_back = database.session.execute(
                text("SELECT sealed_pdf FROM sign_offs")
            ).scalar_one()
        # The signed charter comes back byte for byte, so its seal still verifies.
        assert bytes(sealed_back) == sealed and verify(bytes(sealed_back)).as_sealed

        # New records continue after the imported ids.
        again = target.test_client()
        headers = bearer(make_token(target, consultant))
        listed = again.get("/api/v1/engagements", headers=headers).json
        assert [e["id"] for e in listed] == [engagement_id]
        created = again.post(
            "/api/v1/engagements",
            json={
                "project_name": "Next",
                "client_organisation": "N",
                "producer_name": "P",
                "creator_name": "C",
            },
            headers=headers,
        )
        assert created.status_code == 201 and created.json["id"] == engagement_id + 1


def test_a_consensus_with_an_intake_session_comes_back(
    app: Flask, client: FlaskClient, consultant: int, empty_database: str, tmp_path: Path
) -> None:
    # An intake session answers for both parties together: its side is "joint".
    engagement_id = fill(app, client, consultant)
    web = app.test_client()
    login(web)
    levels = {key: str(level) for key, level in ANSWERS.items()}
    post(web, f"/engagements/{engagement_id}/session", {**levels, "action": "decide"})
    decided = post(web, f"/engagements/{engagement_id}/consensus")
    assert decided.status_code == 303
    with app.app_context():
        newest = database.session.scalars(select(DecisionRecord).order_by(DecisionRecord.id))
        sides = [r["side"] for r in newest.all()[-1].data["alignment"]["respondents"]]
    assert "joint" in sides
    archive = tmp_path / "backup.zip"
    assert app.test_cli_runner().invoke(cli, ["export", str(archive)]).exit_code == 0
    with restored(empty_database, tmp_path) as target:
        imported = target.test_cli_runner().invoke(cli, ["import", str(archive)])
        assert imported.exit_code == 0, imported.output


@pytest.mark.parametrize("seal", ["copied", "another"])
def test_import_says_when_signed_charters_were_sealed_elsewhere(
    app: Flask,
    client: FlaskClient,
    consultant: int,
    empty_database: str,
    tmp_path: Path,
    seal: str,
) -> None:
    sealed = sign(app, fill(app, client, consultant))
    archive = tmp_path / "backup.zip"
    assert app.test_cli_runner().invoke(cli, ["export", str(archive)]).exit_code == 0
    with restored(empty_database, tmp_path) as target:
        seal_folder = Path(target.instance_path) / "seal"
        if seal == "copied":
            shutil.copytree(Path(app.instance_path) / "seal", seal_folder)
        else:
            from_config(target.config, target.instance_path)  # this installation's own key
        imported = target.test_cli_runner().invoke(cli, ["import", str(archive)])
        assert imported.exit_code == 0, imported.output
        own = from_config(target.config, target.instance_path).certificate
        if seal == "copied":
            assert imported.stderr == ""
            assert verify(sealed, own).ok
        else:
            assert "(it seals with another certificate)" in imported.stderr
            assert not verify(sealed, own).ok


def test_import_refuses_a_database_with_data(
    app: Flask, client: FlaskClient, consultant: int, tmp_path: Path
) -> None:
    archive = exported(app, client, consultant, tmp_path)
    refused = app.test_cli_runner().invoke(cli, ["import", str(archive)])
    assert refused.exit_code == 1 and "not empty" in refused.output


def test_import_says_when_the_database_cannot_take_an_export_yet(
    app: Flask, client: FlaskClient, consultant: int, empty_database: str, tmp_path: Path
) -> None:
    archive = exported(app, client, consultant, tmp_path)
    with restored(empty_database, tmp_path) as target:
        runner = target.test_cli_runner()
        with target.app_context(), database.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'older'"))
        refused = runner.invoke(cli, ["import", str(archive)])
        assert refused.exit_code == 1 and "this database at older" in refused.output
        with target.app_context(), database.engine.begin() as connection:
            connection.execute(text("DROP TABLE alembic_version"))
        refused = runner.invoke(cli, ["import", str(archive)])
        assert refused.exit_code == 1 and "not migrated" in refused.output
        assert all(rows == [] for rows in snapshot(empty_database).values())


def test_a_database_failing_during_an_import_is_not_blamed_on_the_archive(
    app: Flask, client: FlaskClient, consultant: int, empty_database: str, tmp_path: Path
) -> None:
    """A database that stops taking rows half-way (locked, its disk full, the server gone)
    is no fault of the backup: the import says the database failed, not that the archive
    does not fit, and stores nothing."""
    archive = exported(app, client, consultant, tmp_path)
    postgresql = empty_database.startswith("postgresql")
    # The import gives up waiting for a lock at once: another session holds one that lets
    # it read (and find the database empty) but not write.
    waiting = {"options": "-c lock_timeout=200"} if postgresql else {"timeout": 0.2}
    importer = create_engine(empty_database, connect_args=waiting)
    holder = create_engine(empty_database)
    try:
        with restored(empty_database, tmp_path), holder.connect() as other:
            if postgresql:
                other.execute(text("LOCK TABLE consultants IN SHARE MODE"))
            else:
                other.exec_driver_sql("BEGIN IMMEDIATE")
            with pytest.raises(TransferError) as refused:
                import_archive(importer, archive)
            other.rollback()
    finally:
        importer.dispose()
        holder.dispose()
    assert not isinstance(refused.value, ArchiveError)
    assert str(refused.value).startswith(
        "the database failed while importing tables/consultants.jsonl ("
    )
    assert str(refused.value).endswith("); nothing was imported")
    assert all(rows == [] for rows in snapshot(empty_database).values())


def test_a_database_failing_as_the_import_commits_is_said_in_one_line_and_stores_nothing(
    app: Flask,
    client: FlaskClient,
    consultant: int,
    empty_database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every row was taken, and the disk fills (or the server goes) as they are committed:
    the database failed, not the archive, and nothing is kept."""
    archive = exported(app, client, consultant, tmp_path)
    with restored(empty_database, tmp_path) as target:
        with target.app_context():
            dialect = database.engine.dialect

        def disk_full(self: Any, connection: Any) -> None:
            raise dialect.loaded_dbapi.OperationalError("database or disk is full")

        with monkeypatch.context() as failing:
            failing.setattr(type(dialect), "do_commit", disk_full)
            refused = target.test_cli_runner().invoke(cli, ["import", str(archive)])
        assert refused.exit_code == 1
        assert refused.output == (
            "Error: the database failed while storing the import (database or disk is full); "
            "nothing was imported\n"
        )
    left = {t: len(r) for t, r in snapshot(empty_database).items() if r}
    assert not left, left


def test_a_database_that_records_no_migration_is_neither_exported_nor_imported_into(
    app: Flask, client: FlaskClient, consultant: int, tmp_path: Path
) -> None:
    """An export must name its migration, or no import would take it (as after `alembic
    stamp base`, which empties the record but keeps the tables)."""
    archive = exported(app, client, consultant, tmp_path)
    with app.app_context(), database.engine.begin() as connection:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        connection.execute(text("DELETE FROM alembic_version"))
    try:
        runner = app.test_cli_runner()
        again = tmp_path / "again.zip"
        refused = runner.invoke(cli, ["export", str(again)])
        assert refused.exit_code == 1 and "the database is not migrated" in refused.output
        assert not again.exists()
        refused = runner.invoke(cli, ["import", str(archive)])
        assert refused.exit_code == 1 and "the database is not migrated" in refused.output
    finally:
        with app.app_context(), database.engine.begin() as connection:
            connection.execute(
                text("INSERT INTO alembic_version (version_num) VALUES (:revision)"),
                {"revision": revision},
            )


def test_a_backup_from_before_an_upgrade_restores_after_it(tmp_path: Path) -> None:
    """After a disaster the backup may predate the version now installed: the refusal says
    how to restore it, and the database then migrates on with the restored records."""
    source_url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    migrations = ScriptDirectory.from_config(alembic_config(source_url))
    head = migrations.get_current_head()
    older = migrations.get_revision(head).down_revision
    assert isinstance(older, str)
    alembic_command.upgrade(alembic_config(source_url), older)
    source = restored_app(source_url, tmp_path)
    with source.app_context():
        database.session.add(Consultant(email="t@example.com", name="T", password_hash="x"))
        database.session.commit()
    archive = tmp_path / "backup.zip"
    assert source.test_cli_runner().invoke(cli, ["export", str(archive)]).exit_code == 0

    current_url = f"sqlite:///{tmp_path / 'current.sqlite3'}"
    upgrade_database(current_url)
    refused = (
        restored_app(current_url, tmp_path).test_cli_runner().invoke(cli, ["import", str(archive)])
    )
    assert refused.exit_code == 1
    assert refused.output == (
        f"Error: the export is at migration {older}, older than this database's "
        f"({head}): import it into a new, empty database migrated "
        f"with `assess db upgrade --to {older}`, then run `assess db upgrade`\n"
    )

    target = restored_app(f"sqlite:///{tmp_path / 'new.sqlite3'}", tmp_path)
    runner = target.test_cli_runner()
    migrated = runner.invoke(cli, ["db", "upgrade", "--to", older])
    assert migrated.exit_code == 0, migrated.output
    assert migrated.output == f"Database is at migration {older}.\n"
    imported = runner.invoke(cli, ["import", str(archive)])
    assert imported.exit_code == 0, imported.output
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    with target.app_context():
        assert database.session.scalars(select(Consultant.email)).all() == ["t@example.com"]
        database.engine.dispose()


def test_db_upgrade_to_a_migration_it_cannot_reach_is_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    runner = restored_app(url, tmp_path).test_cli_runner()
    refused = runner.invoke(cli, ["db", "upgrade", "--to", "f00dfeedbeef"])
    assert refused.exit_code == 2
    assert "Error: Invalid value for '--to': no migration is called f00dfeedbeef" in (
        refused.output
    )
    upgrade_database(url)
    first = ScriptDirectory.from_config(alembic_config(url)).get_base()
    refused = runner.invoke(cli, ["db", "upgrade", "--to", first])
    assert refused.exit_code == 1
    assert refused.output == (
        f"Error: the database is past migration {first} already; migrate a new, empty "
        "database to it instead.\n"
    )


def test_an_export_of_a_newer_format_says_so(
    app: Flask, client: FlaskClient, consultant: int, empty_database: str, tmp_path: Path
) -> None:
    archive, newer = exported(app, client, consultant, tmp_path), tmp_path / "newer.zip"
    _rewrite(
        archive,
        newer,
        lambda name, data: {**data, "format_version": 2} if name == "manifest.json" else data,
    )
    with restored(empty_database, tmp_path) as target:
        refused = target.test_cli_runner().invoke(cli, ["import", str(newer)])
        assert refused.exit_code == 2
        assert refused.output == (
            "Error: the export is of format version 2, newer than this version of assess "
            "reads (1): import it with the version that wrote it\n"
        )
        assert all(rows == [] for rows in snapshot(empty_database).values())


def test_an_archive_s_text_in_a_refusal_cannot_steer_the_terminal(
    app: Flask, empty_database: str, tmp_path: Path
) -> None:
    archive = tmp_path / "crafted.zip"
    manifest = {
        "format": "assess-export",
        "format_version": 1,
        "revision": "r\x1b[2J\nImported 5 engagements",
        "tables": [],
        "rows": {},
        "sha256": {},
    }
    with zipfile.ZipFile(archive, "w") as written:
        written.writestr("manifest.json", json.dumps(manifest))
    with restored(empty_database, tmp_path) as target:
        refused = target.test_cli_runner().invoke(cli, ["import", str(archive)])
    assert refused.exit_code == 1, refused.output
    assert "\x1b" not in refused.output and len(refused.output.splitlines()) == 1
    assert "the export is at migration r?[2J?Imported 5 engagements, which" in refused.output


def test_import_refuses_a_damaged_archive(
    app: Flask, client: FlaskClient, consultant: int, empty_database: str, tmp_path: Path
) -> None:
    archive = exported(app, client, consultant, tmp_path)
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(damaged, "w") as copy:
        for item in source.namelist():
            data = source.read(item)
            if item == "tables/respondents.jsonl":
                data = data.replace(b'"Bo"', b'"Eve"')
            copy.writestr(item, data)
    with restored(empty_database, tmp_path) as target:
        refused = target.test_cli_runner().invoke(cli, ["import", str(damaged)])
        assert refused.exit_code == 2 and "checksum" in refused.output
        # Nothing was half-imported.
        assert all(rows == [] for rows in snapshot(empty_database).values())
        not_zip = tmp_path / "not.zip"
        not_zip.write_text("hello")
        refused = target.test_cli_runner().invoke(cli, ["import", str(not_zip)])
        assert refused.exit_code == 2 and "cannot read" in refused.output


def test_import_of_what_is_not_a_file_is_refused_in_one_line(
    empty_database: str, tmp_path: Path
) -> None:
    """A folder, a name that is not there, a pipe or a device: a zip file is read from its
    end, which a pipe has not and a device never reaches."""
    folder = tmp_path / "backup.zip"
    folder.mkdir()
    pipe = tmp_path / "pipe.zip"
    os.mkfifo(pipe)
    cases = {
        folder: "is a folder, not an export (a .zip file)",
        tmp_path / "missing.zip": "does not exist",
        pipe: "is not a file, so not an export (a .zip file)",
        Path("/dev/zero"): "is not a file, so not an export (a .zip file)",
    }
    with restored(empty_database, tmp_path) as target:
        for path, problem in cases.items():
            refused = target.test_cli_runner().invoke(cli, ["import", str(path)])
            assert refused.exit_code == 2, (path, refused.output)
            assert refused.output == f"Error: {path} {problem}\n", refused.output
            assert all(rows == [] for rows in snapshot(empty_database).values())
        # An empty name, as a shell gives an unset variable: click reads it as the folder.
        refused = target.test_cli_runner().invoke(cli, ["import", ""])
        assert refused.exit_code == 2
        assert refused.output == "Error: give the name of the export file (a .zip file)\n"


def test_a_dash_is_not_taken_for_standard_output_or_input(
    app: Flask, empty_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shell user writes "-" for a pipe: an archive is written whole and read from its end,
    which a pipe cannot do, so the command asks for a file instead of making one named "-"."""
    monkeypatch.chdir(tmp_path)
    exported = app.test_cli_runner().invoke(cli, ["export", "-"])
    assert exported.exit_code == 2, exported.output
    assert "standard output (-) cannot take an export; give a file name" in exported.output
    assert not (tmp_path / "-").exists()
    (tmp_path / "-").write_bytes(b"not read")
    with restored(empty_database, tmp_path) as target:
        imported = target.test_cli_runner().invoke(cli, ["import", "-"])
    assert imported.exit_code == 2, imported.output
    assert imported.output == (
        "Error: standard input (-) cannot give an export; give its file name\n"
    )


def test_export_to_a_place_it_cannot_write_says_so_and_leaves_nothing(
    app: Flask, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    missing = runner.invoke(cli, ["export", str(tmp_path / "no" / "such" / "backup.zip")])
    assert missing.exit_code == 2 and "the folder" in missing.output
    assert missing.exception is None or isinstance(missing.exception, SystemExit)
    # The archive is written beside its place, then moved there; a folder in the way fails.
    occupied = tmp_path / "exports" / "backup.zip"
    (occupied / "inside").mkdir(parents=True)
    with app.app_context(), pytest.raises(TransferError, match="cannot write"):
        export_archive(database.engine, occupied)
    assert [p.name for p in occupied.parent.iterdir()] == ["backup.zip"]


def test_an_export_that_fails_leaves_the_file_it_was_to_replace_as_it_was(
    app: Flask, consultant: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An export over the last good backup replaces it only once complete: a disk filling
    up half-way must not leave the operator with neither."""
    from assess import transfer

    archive = tmp_path / "backup.zip"
    archive.write_bytes(b"the last good backup")
    read = transfer._rows

    def filling_up(connection: Any, table: Table) -> Iterator[dict[str, Any]]:
        yield from read(connection, table)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(transfer, "_rows", filling_up)
    result = app.test_cli_runner().invoke(cli, ["export", str(archive)])
    assert result.exit_code == 1
    assert result.output == f"Error: cannot write {archive}: No space left on device\n"
    assert archive.read_bytes() == b"the last good backup"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".export-")] == []


def test_rows_written_while_exporting_never_tear_the_export(
    app: Flask,
    client: FlaskClient,
    consultant: int,
    empty_database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A consultant who signs up and starts an engagement while the export runs must not
    leave an engagement in it whose consultant is not: such a backup would never restore."""
    from assess import transfer

    with app.app_context():
        url = database.engine.url.render_as_string(hide_password=False)
    read = transfer._rows

    def meanwhile(connection: Any, table: Table) -> Iterator[dict[str, Any]]:
        yield from read(connection, table)
        if table.name == "consultants":
            writer = create_engine(url)
            with OrmSession(writer) as other:
                late = Consultant(email="late@example.com", name="L", password_hash="x")
                other.add(Engagement(consultant=late, project_name="Late", client_organisation="L"))
                other.commit()
            writer.dispose()

    monkeypatch.setattr(transfer, "_rows", meanwhile)
    archive = tmp_path / "backup.zip"
    exported = app.test_cli_runner().invoke(cli, ["export", str(archive)])
    assert exported.exit_code == 0, exported.output
    assert exported.output.startswith("Exported 1 consultant to ")
    with restored(empty_database, tmp_path) as target:
        imported = target.test_cli_runner().invoke(cli, ["import", str(archive)])
        assert imported.exit_code == 0, imported.output


def test_an_export_is_readable_by_its_owner_only(
    app: Flask, consultant: int, tmp_path: Path
) -> None:
    """It holds the accounts' password hashes, as the database does."""
    archive = tmp_path / "backup.zip"
    archive.write_bytes(b"an older backup")
    archive.chmod(0o644)
    assert app.test_cli_runner().invoke(cli, ["export", str(archive)]).exit_code == 0
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600


def test_export_onto_the_database_it_exports_is_refused_and_the_database_kept(
    app: Flask, consultant: int, tmp_path: Path
) -> None:
    with app.app_context():
        url = database.engine.url
    if url.get_backend_name() != "sqlite":
        pytest.skip("only an SQLite database is a file an export could overwrite")
    stored = Path(str(url.database))
    before = stored.read_bytes()
    (tmp_path / "link.sqlite3").symlink_to(stored)
    for target in (stored, tmp_path / "link.sqlite3"):
        result = app.test_cli_runner().invoke(cli, ["export", str(target)])
        assert result.exit_code == 2, result.output
        assert "is the database it exports" in result.output
        assert stored.read_bytes() == before
    assert not [p for p in stored.parent.iterdir() if p.name.startswith(".export-")]


def test_export_onto_a_pipe_is_refused_and_the_pipe_kept(app: Flask, tmp_path: Path) -> None:
    """The archive is written aside and renamed into place: a pipe would become a file."""
    pipe = tmp_path / "exports" / "pipe"
    pipe.parent.mkdir()
    os.mkfifo(pipe)
    result = app.test_cli_runner().invoke(cli, ["export", str(pipe)])
    assert result.exit_code == 2, result.output
    assert f"{pipe} is not a regular file; write to a file" in result.output
    assert stat.S_ISFIFO(pipe.stat().st_mode)
    assert [p.name for p in pipe.parent.iterdir()] == ["pipe"]


def test_export_to_an_empty_name_asks_for_one(app: Flask) -> None:
    result = app.test_cli_runner().invoke(cli, ["export", ""])
    assert result.exit_code == 2, result.output
    assert "Invalid value for FILE: give the name of a file to write" in result.output


def test_export_to_a_name_the_system_refuses_is_said_in_one_line(
    app: Flask, tmp_path: Path
) -> None:
    # Longer than a file name may be: asking whether the file is there fails as well.
    refused = tmp_path / "exports" / ("e" * 300)
    refused.parent.mkdir()
    result = app.test_cli_runner().invoke(cli, ["export", str(refused)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "File name too long" in result.output
    assert list(refused.parent.iterdir()) == []


def test_models_are_all_exported(app: Flask) -> None:
    """Every mapped table is a table the export reads from the database."""
    with app.app_context(), database.engine.connect() as connection:
        exported = {t.name for t in _tables(connection)}
    assert {t.name for t in Base.metadata.sorted_tables} <= exported
    # ... and says in words what its rows are.
    assert {t.name for t in Base.metadata.sorted_tables} == set(ROW_NOUNS)


def test_every_json_column_of_the_models_is_read_back_as_the_app_reads_it() -> None:
    stored = {
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, JSON)
    }
    assert stored == set(JSON_READERS)


def _json_as_stored(url: str) -> dict[tuple[str, str], list[str]]:
    """Every JSON value of the models' tables, in the order of its keys (as pages list them).
    SQLite gives a JSON value as its text, PostgreSQL parsed."""
    engine = create_engine(url)
    with engine.connect() as connection:
        values = {
            (table, column): [
                json.dumps(json.loads(value) if isinstance(value, str) else value)
                for value in connection.execute(
                    text(f"SELECT {column} FROM {table} ORDER BY id")
                ).scalars()
            ]
            for table, column in JSON_READERS
        }
    engine.dispose()
    return values


def test_a_round_trip_keeps_the_order_within_stored_json(
    app: Flask, client: FlaskClient, consultant: int, empty_database: str, tmp_path: Path
) -> None:
    """A decision's protocol terms are shown in the order the rules gave them: restored
    with their keys sorted, the result page would list them in another order."""
    engagement_id = fill(app, client, consultant)
    sign(app, engagement_id)
    with app.app_context():
        source_url = database.engine.url.render_as_string(hide_password=False)
    archive = tmp_path / "backup.zip"
    assert app.test_cli_runner().invoke(cli, ["export", str(archive)]).exit_code == 0
    with restored(empty_database, tmp_path) as target:
        imported = target.test_cli_runner().invoke(cli, ["import", str(archive)])
        assert imported.exit_code == 0, imported.output
    before, after = _json_as_stored(source_url), _json_as_stored(empty_database)
    assert before[("decisions", "data")] and before[("charter_versions", "fields")]
    assert after == before


def test_an_export_zipped_again_with_folder_entries_imports(
    app: Flask, client: FlaskClient, consultant: int, empty_database: str, tmp_path: Path
) -> None:
    archive = exported(app, client, consultant, tmp_path)
    rezipped, stray = tmp_path / "rezipped.zip", tmp_path / "stray.zip"
    with zipfile.ZipFile(archive) as source:
        for target, extra in ((rezipped, {}), (stray, {"tables/notes.txt": b"kept by hand"})):
            with zipfile.ZipFile(target, "w") as copy:
                copy.writestr(zipfile.ZipInfo("tables/"), b"")  # as zip -r writes a folder
                for item in source.namelist():
                    copy.writestr(item, source.read(item))
                for name, data in extra.items():
                    copy.writestr(name, data)
    with restored(empty_database, tmp_path) as target_app:
        runner = target_app.test_cli_runner()
        refused = runner.invoke(cli, ["import", str(stray)])
        assert refused.exit_code == 2 and "unknown: tables/notes.txt" in refused.output
        assert all(rows == [] for rows in snapshot(empty_database).values())
        imported = runner.invoke(cli, ["import", str(rezipped)])
        assert imported.exit_code == 0, imported.output
        assert snapshot(empty_database)["engagements"]


def _rewrite(source: Path, target: Path, change: Any) -> None:
    """Copy an export, letting ``change(name, data)`` return new bytes (or None to drop it);
    checksums are recomputed so only the change itself is wrong."""
    with zipfile.ZipFile(source) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(files.pop("manifest.json"))
    changed = {}
    for name, data in files.items():
        new = change(name, data)
        if new is not None:
            changed[name] = new
    for name, data in changed.items():
        if name in manifest["sha256"]:
            manifest["sha256"][name] = hashlib.sha256(data).hexdigest()
    manifest = change("manifest.json", manifest) or manifest
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in changed.items():
            archive.writestr(name, data)
        archive.writestr(
            "manifest.json", json.dumps(manifest) if isinstance(manifest, dict) else manifest
        )


def _line(name: str, data: bytes, table: str, line: bytes) -> bytes:
    return data + line if name == f"tables/{table}.jsonl" else data


CRAFTED = {
    "manifest that is a list": lambda n, d: "[1]" if n == "manifest.json" else d,
    "manifest without revision": lambda n, d: (
        {k: v for k, v in d.items() if k != "revision"} if n == "manifest.json" else d
    ),
    "table file missing": lambda n, d: None if n == "tables/parties.jsonl" else d,
    "table left out of the list": lambda n, d: (
        {**d, "tables": [t for t in d["tables"] if t != "decisions"]} if n == "manifest.json" else d
    ),
    "row with a column the table lacks": lambda n, d: _line(n, d, "parties", b'{"bogus": 1}\n'),
    "line that is not JSON": lambda n, d: _line(n, d, "parties", b"{not json\n"),
    "row that is a list": lambda n, d: _line(n, d, "parties", b"[1, 2]\n"),
    "line that is not UTF-8": lambda n, d: _line(n, d, "parties", b'{"name": "\xff"}\n'),
    "date that is not a date": lambda n, d: _line(
        n, d, "consultants", b'{"id": 99, "created_at": "yesterday"}\n'
    ),
    "row missing a required column": lambda n, d: _line(n, d, "consultants", b'{"id": 99}\n'),
    "row whose parent does not exist": lambda n, d: _line(
        n, d, "parties", _party(b'"id": 99, "engagement_id": 4242')
    ),
    "row with an id already used": lambda n, d: (
        d + d.splitlines(keepends=True)[0] if n == "tables/parties.jsonl" else d
    ),
    "whole number holding text": lambda n, d: _line(n, d, "parties", _party(b'"id": "abc"')),
    "whole number beyond 64 bits": lambda n, d: _line(
        n, d, "parties", _party(b'"id": 99999999999999999999999')
    ),
    "text with a NUL byte": lambda n, d: _line(
        n, d, "parties", _party(b'"id": 99, "name": "X\\u0000"')
    ),
    "answers the app cannot read": lambda n, d: (
        re.sub(rb'"answers": \{[^}]*\}', b'"answers": "garbage"', d)
        if n == "tables/respondents.jsonl"
        else d
    ),
    "decision the app cannot read": lambda n, d: (
        re.sub(rb'"escalation": \[', b'"escalation": 7, "unused": [', d)
        if n == "tables/decisions.jsonl"
        else d
    ),
    # Rows are stored many at a time: a column only a later row has must not be dropped.
    "row with a column the first row lacks": lambda n, d: _edit_rows(
        n, d, "respondents", lambda rows: [_without(rows[0], "reopened_at"), *rows[1:]]
    ),
    "row without one of the table's columns": lambda n, d: _edit_rows(
        n, d, "respondents", lambda rows: [*rows[:-1], _without(rows[-1], "reopened_at")]
    ),
}


def _edit_rows(name: str, data: bytes, table: str, edit: Any) -> bytes:
    """Let ``edit(rows)`` change the rows of one table's file."""
    if name != f"tables/{table}.jsonl":
        return data
    rows = edit([json.loads(line) for line in data.splitlines()])
    return b"".join(json.dumps(row, sort_keys=True).encode() + b"\n" for row in rows)


def _without(row: dict[str, Any], column: str) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key != column}


def _party(fields: bytes) -> bytes:
    """A party row of engagement 1, with some of its fields replaced."""
    row = {"id": 99, "engagement_id": 1, "side": "producer", "name": "X", "role": ""}
    given = json.loads(b"{" + fields + b"}")
    return json.dumps({**row, **given}).encode() + b"\n"


def _refused(archive: Path, change: Any, empty_database: str, tmp_path: Path) -> str:
    """Import ``archive`` with ``change`` made to it into the empty database, check that it
    is refused as damaged with nothing stored, and return what the command said."""
    crafted = tmp_path / "crafted.zip"
    _rewrite(archive, crafted, change)
    with restored(empty_database, tmp_path) as target:
        refused = target.test_cli_runner().invoke(cli, ["import", str(crafted)])
        assert refused.exit_code == 2, refused.output
        assert all(rows == [] for rows in snapshot(empty_database).values())
    return refused.output


@pytest.mark.parametrize("change", CRAFTED.values(), ids=CRAFTED.keys())
def test_a_crafted_archive_is_refused_in_one_line_and_leaves_nothing(
    app: Flask,
    client: FlaskClient,
    consultant: int,
    empty_database: str,
    tmp_path: Path,
    change: Any,
) -> None:
    output = _refused(exported(app, client, consultant, tmp_path), change, empty_database, tmp_path)
    assert output.startswith("Error: ") and len(output.strip().splitlines()) == 1, output


# Values no page, form or API call ever stores, whichever database would take them:
# (table, columns changed in its first row, what the refusal says).
NEVER_STORED = {
    "name longer than its column": (
        "parties",
        {"name": "N" * (NAME_MAX + 1)},
        f"'s name is longer than {NAME_MAX} characters",
    ),
    "project name longer than its column": (
        "engagements",
        {"project_name": "P" * (PROJECT_MAX + 1)},
        f"'s project_name is longer than {PROJECT_MAX} characters",
    ),
    # PostgreSQL's INTEGER holds 32 bits, SQLite's 64: the app reaches no id beyond 32.
    "id beyond what its column holds": (
        "parties",
        {"id": 2**31},
        "'s id is not a whole number its column holds",
    ),
    "name on two lines": (
        "parties",
        {"name": "Ann\nLee"},
        "'s name holds a line break or other control character",
    ),
    "project name with an escape code": (
        "engagements",
        {"project_name": "Tide\x1b[2Jwater"},
        "'s project_name holds a line break or other control character",
    ),
    "party of no side": (
        "parties",
        {"side": "director"},
        "'s side is not one of: producer, creator",
    ),
    "respondent of no side": (
        "respondents",
        {"side": "director"},
        "'s side is not one of: producer, creator, joint",
    ),
    # Times are stored in UTC: these two fall before the year 1 and after 9999 there.
    "time before the calendar in UTC": (
        "consultants",
        {"created_at": "0001-01-01T00:00:00+01:00"},
        "'s created_at is not a time between the years 1 and 9999 in UTC",
    ),
    "time after the calendar in UTC": (
        "invitations",
        {"expires_at": "9999-12-31T23:59:59-01:00"},
        "'s expires_at is not a time between the years 1 and 9999 in UTC",
    ),
}


@pytest.mark.parametrize(
    ("table", "changes", "problem"), NEVER_STORED.values(), ids=NEVER_STORED.keys()
)
def test_a_value_the_app_never_stores_is_refused_on_every_database(
    app: Flask,
    client: FlaskClient,
    consultant: int,
    empty_database: str,
    tmp_path: Path,
    table: str,
    changes: dict[str, Any],
    problem: str,
) -> None:
    """SQLite would store a name longer than its column, which PostgreSQL refuses, and
    neither knows the sides: the pages that read such a row could not show it."""
    archive = exported(app, client, consultant, tmp_path)
    first = changes.get("id", _table_rows(archive, table)[0]["id"])

    def change(name: str, data: Any) -> Any:
        return _edit_rows(name, data, table, lambda rows: _first(rows, **changes))

    output = _refused(archive, change, empty_database, tmp_path)
    assert output.startswith(f"Error: tables/{table}.jsonl is damaged: row {first}"), output
    assert problem in output, output


@pytest.mark.db
def test_accounts_whose_emails_differ_only_in_case_are_refused(
    app: Flask, client: FlaskClient, consultant: int, empty_database: str, tmp_path: Path
) -> None:
    """Sign-in finds an account by its email whatever the case: of two such, it would sign
    in to either."""
    fill(app, client, consultant)
    other = make_consultant(app, email="Cara@EXAMPLE.com", name="Cara Again")
    archive = tmp_path / "backup.zip"
    assert app.test_cli_runner().invoke(cli, ["export", str(archive)]).exit_code == 0
    output = _refused(archive, lambda name, data: data, empty_database, tmp_path)
    assert output.startswith(f"Error: tables/consultants.jsonl is damaged: row {other}"), output
    assert "email is another account's in other letter case" in output, output


def _manifest(**changes: Any) -> Any:
    """Change the manifest's fields: a function of the old value, or the new value itself."""

    def change(name: str, data: Any) -> Any:
        if name != "manifest.json":
            return data
        edited = dict(data)
        for key, value in changes.items():
            edited[key] = value(data.get(key)) if callable(value) else value
        return edited

    return change


def _count(value: Any) -> Any:
    return _manifest(rows=lambda rows: {**rows, "engagements": value})


# Each is refused before a row is read, naming the field at fault.
CRAFTED_MANIFESTS = {
    # JSON's true and 1.0 equal 1 in Python, the number of engagements the export holds.
    "count that is true": (_count(True), "rows.engagements is not a number of rows (0 or more)"),
    "count that is 1.0": (_count(1.0), "rows.engagements is not a number of rows (0 or more)"),
    "count that is text": (_count("1"), "rows.engagements is not a number of rows (0 or more)"),
    "count below zero": (_count(-1), "rows.engagements is not a number of rows (0 or more)"),
    "count beyond any table": (
        _count(2**63),
        "rows.engagements is not a number of rows (0 or more)",
    ),
    "count of a table not listed": (
        _manifest(rows=lambda rows: {**rows, "notes": 0}),
        "rows names notes, no table it lists",
    ),
    "count missing": (
        _manifest(rows=lambda rows: _without(rows, "parties")),
        "rows lacks parties",
    ),
    "checksum of a file not listed": (
        _manifest(sha256=lambda sums: {**sums, "tables/notes.jsonl": "0" * 64}),
        "sha256 names tables/notes.jsonl, no table it lists",
    ),
    "checksum missing": (
        _manifest(sha256=lambda sums: _without(sums, "tables/parties.jsonl")),
        "sha256 lacks tables/parties.jsonl",
    ),
    "checksum that is a number": (
        _manifest(sha256=lambda sums: {**sums, "tables/parties.jsonl": 5}),
        "sha256.tables/parties.jsonl is not a SHA-256 (64 hex digits)",
    ),
    "format version that is true": (
        _manifest(format_version=True),
        "format_version is not a whole number",
    ),
    "format version that is 1.0": (
        _manifest(format_version=1.0),
        "format_version is not a whole number",
    ),
    "table listed twice": (
        _manifest(tables=lambda tables: [*tables, "parties"]),
        "tables names parties twice",
    ),
    "table that is a number": (
        _manifest(tables=lambda tables: [1, *tables]),
        "tables[0] is not a table's name",
    ),
    "empty revision": (_manifest(revision=""), "revision is empty"),
    "field no export writes": (
        _manifest(note="kept by hand"),
        "note is not a field of an export's manifest",
    ),
}


@pytest.mark.parametrize(
    ("change", "problem"), CRAFTED_MANIFESTS.values(), ids=CRAFTED_MANIFESTS.keys()
)
def test_a_manifest_field_other_than_an_export_writes_is_refused_by_name(
    app: Flask,
    client: FlaskClient,
    consultant: int,
    empty_database: str,
    tmp_path: Path,
    change: Any,
    problem: str,
) -> None:
    output = _refused(exported(app, client, consultant, tmp_path), change, empty_database, tmp_path)
    assert output == f"Error: manifest.json is damaged: {problem}\n"


def _added(members: dict[str, bytes]) -> Any:
    """Copy an export, adding members beside its own (a name given twice warns as written)."""

    def add(source: Path, target: Path) -> None:
        with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w") as copy:
            for item in archive.namelist():
                copy.writestr(item, archive.read(item))
            for name, data in members.items():
                copy.writestr(zipfile.ZipInfo(name), data)

    return add


STRAY_MEMBERS = {
    "note beside the manifest": ({"notes.txt": b"kept by hand"}, "unknown: notes.txt"),
    "folder of its own": ({"extra/": b""}, "unknown: extra/"),
    "file a Mac adds": ({"__MACOSX/._manifest.json": b"x"}, "unknown: __MACOSX/._manifest.json"),
    "table in a sub-folder": (
        {"tables/old/parties.jsonl": b""},
        "unknown: tables/old/parties.jsonl",
    ),
    "table file not listed": ({"tables/notes.jsonl": b""}, "unknown: tables/notes.jsonl"),
    "folder of many files": (
        {f"photos/{n:04}.jpg": b"x" for n in range(2000)},
        "unknown: photos/0000.jpg, photos/0001.jpg, photos/0002.jpg, photos/0003.jpg, "
        "photos/0004.jpg and 1995 more",
    ),
}


@pytest.mark.parametrize(("members", "problem"), STRAY_MEMBERS.values(), ids=STRAY_MEMBERS.keys())
def test_a_member_no_export_writes_is_refused_by_name(
    app: Flask,
    client: FlaskClient,
    consultant: int,
    empty_database: str,
    tmp_path: Path,
    members: dict[str, bytes],
    problem: str,
) -> None:
    archive = exported(app, client, consultant, tmp_path)
    crafted = tmp_path / "crafted.zip"
    _added(members)(archive, crafted)
    with restored(empty_database, tmp_path) as target:
        refused = target.test_cli_runner().invoke(cli, ["import", str(crafted)])
        assert refused.exit_code == 2 and refused.output.startswith("Error: ")
        assert problem in refused.output and len(refused.output.splitlines()) == 1
        assert all(rows == [] for rows in snapshot(empty_database).values())


def test_a_table_file_given_twice_is_refused_whichever_copy_is_meant(
    app: Flask, client: FlaskClient, consultant: int, empty_database: str, tmp_path: Path
) -> None:
    archive = exported(app, client, consultant, tmp_path)
    crafted = tmp_path / "crafted.zip"
    with zipfile.ZipFile(archive) as source:
        parties = source.read("tables/parties.jsonl")
    with pytest.warns(UserWarning, match="Duplicate name"):
        _added({"tables/parties.jsonl": parties})(archive, crafted)
    with restored(empty_database, tmp_path) as target:
        refused = target.test_cli_runner().invoke(cli, ["import", str(crafted)])
        assert refused.exit_code == 2
        assert refused.output == (
            "Error: tables/parties.jsonl is in the archive twice; which one is meant?\n"
        )
        assert all(rows == [] for rows in snapshot(empty_database).values())


@pytest.mark.parametrize(("recorded", "held"), [(1, "more"), (5, "fewer")])
def test_a_table_holding_other_than_its_recorded_rows_is_refused_naming_the_count(
    app: Flask,
    client: FlaskClient,
    consultant: int,
    empty_database: str,
    tmp_path: Path,
    recorded: int,
    held: str,
) -> None:
    archive = exported(app, client, consultant, tmp_path)
    change = _manifest(rows=lambda rows: {**rows, "parties": recorded})
    assert _refused(archive, change, empty_database, tmp_path) == (
        f"Error: tables/parties.jsonl holds {held} rows than manifest.json records "
        f"({recorded}, rows.parties)\n"
    )


def test_an_archive_of_a_zip_version_no_reader_has_is_refused_in_one_line(
    app: Flask, client: FlaskClient, consultant: int, empty_database: str, tmp_path: Path
) -> None:
    archive = exported(app, client, consultant, tmp_path)
    data = bytearray(archive.read_bytes())
    at = data.find(b"PK\x01\x02")  # the directory's first entry
    data[at + 6] = 148  # the zip version it needs to extract, 14.8
    archive.write_bytes(bytes(data))
    with restored(empty_database, tmp_path) as target:
        refused = target.test_cli_runner().invoke(cli, ["import", str(archive)])
        assert refused.exit_code == 2
        assert refused.output.startswith("Error: cannot read ") and "zip file version 14.8" in (
            refused.output
        )
        assert len(refused.output.splitlines()) == 1


def test_a_zip_bomb_is_refused_before_it_is_read(app: Flask, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with app.app_context(), database.engine.connect() as connection:
            tables = [t.name for t in _tables(connection)]
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        manifest = {
            "format": "assess-export",
            "format_version": 1,
            "revision": revision,
            "tables": tables,
            "rows": dict.fromkeys(tables, 0),
            "sha256": {f"tables/{table}.jsonl": "0" * 64 for table in tables},
        }
        archive.writestr("manifest.json", json.dumps(manifest))
        for table in tables:
            if table != "consultants":
                archive.writestr(f"tables/{table}.jsonl", b"")
        with archive.open("tables/consultants.jsonl", "w", force_zip64=True) as member:
            chunk = b" " * (1 << 20)
            for _ in range(300):  # 300 MiB of spaces: a few hundred KiB compressed
                member.write(chunk)
    with app.app_context():
        with pytest.raises(TransferError, match="expands far beyond"):
            import_archive(database.engine, bomb)


def test_a_member_said_to_hold_more_than_the_archive_does_is_refused_unread(
    app: Flask, tmp_path: Path
) -> None:
    """The expansion limit weighs a member's size against its compressed size, which the
    archive itself records: one claiming more compressed bytes than the archive holds could
    pass it and expand a thousandfold."""
    crafted = tmp_path / "crafted.zip"
    blank = b"\n" * (64 << 20)  # 64 MiB of blank lines, about 64 KiB compressed
    with app.app_context(), database.engine.connect() as connection:
        tables = [t.name for t in _tables(connection)]
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    with zipfile.ZipFile(crafted, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for table in tables:
            archive.writestr(f"tables/{table}.jsonl", blank if table == "consultants" else b"")
        manifest = {
            "format": "assess-export",
            "format_version": 1,
            "revision": revision,
            "tables": tables,
            "rows": dict.fromkeys(tables, 0),
            "sha256": {
                f"tables/{table}.jsonl": hashlib.sha256(
                    blank if table == "consultants" else b""
                ).hexdigest()
                for table in tables
            },
        }
        archive.writestr("manifest.json", json.dumps(manifest))
    data = bytearray(crafted.read_bytes())
    at = data.find(b"PK\x01\x02")  # the directory's first entry: tables/consultants.jsonl
    assert data[at + 46 : at + 46 + 24] == b"tables/consultants.jsonl"
    data[at + 20 : at + 24] = (1 << 20).to_bytes(4, "little")  # 1 MiB compressed, it says
    crafted.write_bytes(bytes(data))
    assert crafted.stat().st_size < 1 << 20
    with app.app_context():
        with pytest.raises(TransferError, match="consultants.jsonl is damaged: it runs past"):
            import_archive(database.engine, crafted)


# A PostgreSQL session on a server set to local time instead of UTC.
LOCAL_TIME = "?options=-c%20timezone%3DAmerica/New_York"
MOMENT = datetime(2024, 1, 15, 12, 30, 5, tzinfo=UTC)


@pytest.mark.parametrize("source_kind", ["sqlite", "postgresql"])
def test_times_keep_their_instant_between_databases_whatever_the_time_zone(
    tmp_path: Path, source_kind: str
) -> None:
    """SQLite keeps times without an offset and a PostgreSQL session may read them in local
    time: an export from either restores into the other with the same instants."""
    sqlite_url = f"sqlite:///{tmp_path / 'times.sqlite3'}"
    upgrade_database(sqlite_url)
    with fresh_postgres(PG_SERVER) as postgresql_url:
        local = postgresql_url + LOCAL_TIME
        source_url, target_url = (
            (sqlite_url, local) if source_kind == "sqlite" else (local, sqlite_url)
        )
        source = restored_app(source_url, tmp_path)
        target = restored_app(target_url, tmp_path)
        try:
            with source.app_context():
                database.session.add(
                    Consultant(
                        email="t@example.com", name="T", password_hash="x", created_at=MOMENT
                    )
                )
                database.session.commit()
            archive = tmp_path / "backup.zip"
            exported = source.test_cli_runner().invoke(cli, ["export", str(archive)])
            assert exported.exit_code == 0, exported.output
            with zipfile.ZipFile(archive) as zipped:
                row = json.loads(zipped.read("tables/consultants.jsonl"))
            assert row["created_at"] == "2024-01-15T12:30:05+00:00"
            imported = target.test_cli_runner().invoke(cli, ["import", str(archive)])
            assert imported.exit_code == 0, imported.output
        finally:
            for app in (source, target):
                with app.app_context():
                    database.engine.dispose()
        engine = create_engine(target_url)
        with engine.connect() as connection:
            utc = "created_at" if source_kind == "postgresql" else "created_at AT TIME ZONE 'UTC'"
            stored = connection.execute(text(f"SELECT {utc} FROM consultants")).scalar_one()
        engine.dispose()
    # SQLite holds the time in UTC without its offset; PostgreSQL gives it in UTC as asked.
    assert str(stored).startswith("2024-01-15 12:30:05")


def _deep(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:  # stored, so the nesting itself is read
        archive.writestr("manifest.json", "[" * 100_000 + "]" * 100_000)


def _bad_crc(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:  # stored: one flipped byte breaks the CRC
        archive.writestr("manifest.json", json.dumps({"format": "assess-export"}))
    data = bytearray(path.read_bytes())
    data[data.find(b"assess-export")] ^= 1
    path.write_bytes(bytes(data))


def _manifest_bomb(path: Path) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("manifest.json", "w", force_zip64=True) as member:
            member.write(b'{"format": "assess-export", "pad": "')
            for _ in range(300):  # 300 MiB of spaces: a few hundred KiB compressed
                member.write(b" " * (1 << 20))
            member.write(b'"}')


def _encrypted(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", json.dumps({"format": "assess-export"}))
    data = bytearray(path.read_bytes())
    for header in (b"PK\x03\x04", b"PK\x01\x02"):  # the "encrypted" flag, as zip -e sets it
        at = data.find(header)
        data[at + (6 if header == b"PK\x03\x04" else 8)] |= 1
    path.write_bytes(bytes(data))


def _twice(path: Path) -> None:
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", json.dumps({"format": "assess-export"}))
        archive.writestr("manifest.json", json.dumps({"format": "other"}))


def _bzip2_bomb(path: Path) -> None:
    """A manifest of 200 MiB bzip2-compressed to a few hundred bytes, declaring 100 bytes:
    bzip2 expands a whole block in one step, whatever size the entry declares."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_BZIP2) as archive:
        archive.writestr("manifest.json", b"\0" * (200 << 20))
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    data[at + 24 : at + 28] = (100).to_bytes(4, "little")  # the size the entry declares
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_deep, "manifest.json is not JSON"),
        (_bad_crc, "manifest.json is damaged"),
        (_manifest_bomb, "manifest.json expands far beyond"),
        (_encrypted, "manifest.json is encrypted"),
        (_twice, "manifest.json is in the archive twice"),
        (_bzip2_bomb, "manifest.json is compressed in a way no export is"),
    ],
    ids=["deep", "bad-crc", "bomb", "encrypted", "twice", "bzip2-bomb"],
)
def test_a_damaged_or_hostile_manifest_is_refused_before_it_is_expanded(
    app: Flask, tmp_path: Path, make: Any, reason: str
) -> None:
    archive = tmp_path / "crafted.zip"
    make(archive)
    with app.app_context():
        with peak_memory() as peak, pytest.raises(TransferError, match=reason):
            import_archive(database.engine, archive)
    assert peak() < MEMORY_BOUND


MEMORY_BOUND = 32 << 20


@contextmanager
def peak_memory() -> Iterator[Any]:
    """Trace allocations in the block; yield a function returning their peak in bytes."""
    tracemalloc.start()
    peak: list[int] = []
    try:
        yield lambda: peak[0]
    finally:
        peak.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


def test_a_large_table_is_read_row_by_row_not_whole(
    app: Flask, client: FlaskClient, consultant: int, empty_database: str, tmp_path: Path
) -> None:
    """A member far larger than memory should hold (yet compressed no more than an export
    is) is read a line at a time: the import's memory does not grow with it."""
    archive = exported(app, client, consultant, tmp_path)
    # 32 MiB of blank lines (tabs and spaces, compressed some times), then a refused row.
    noise = os.urandom(32 << 20).translate(bytes(b" \t"[i % 2] for i in range(256)))
    blank = b"\n".join(noise[at : at + 4096] for at in range(0, len(noise), 4096))
    crafted = tmp_path / "large.zip"
    _rewrite(
        archive,
        crafted,
        lambda n, d: d + blank + b'{"bogus": 1}\n' if n == "tables/consultants.jsonl" else d,
    )
    with restored(empty_database, tmp_path) as target, target.app_context():
        with peak_memory() as peak, pytest.raises(TransferError, match="consultants.jsonl"):
            import_archive(database.engine, crafted)
    assert peak() < MEMORY_BOUND


def _sealed_row(rows: list[dict[str, Any]], change: Any) -> list[dict[str, Any]]:
    """Let ``change(pdf)`` alter the sealed PDF of the first sign-off, its SHA-256 recomputed."""
    sealed = change(base64.b64decode(rows[0]["sealed_pdf"]["$base64"]))
    rows[0]["sealed_pdf"] = {"$base64": base64.b64encode(sealed).decode()}
    rows[0]["sealed_sha256"] = hashlib.sha256(sealed).hexdigest()
    return rows


def _flip(pdf: bytes) -> bytes:
    """Change one letter of the charter's text inside the sealed part of the PDF."""
    at = pdf.index(b"/Producer") + 2
    return pdf[:at] + bytes([pdf[at] ^ 1]) + pdf[at + 1 :]


def _first(rows: list[dict[str, Any]], **changes: Any) -> list[dict[str, Any]]:
    return [{**rows[0], **changes}, *rows[1:]]


def _another_model(row: dict[str, Any]) -> str:
    return "integrated" if row["model"] == "agile" else "agile"


def _other_answers(row: dict[str, Any]) -> dict[str, int]:
    return {**row["answers"], "innovation": row["answers"]["innovation"] % 5 + 1}


# The verify page vouches for a PDF by looking up its SHA-256 among the stored ones: a
# stored digest that is not the digest of the stored bytes would vouch for another file.
SEALED = {
    "frozen pdf with another SHA-256": (
        "charter_versions",
        lambda rows: _first(rows, sha256="0" * 64),
    ),
    "sealed pdf with another SHA-256": (
        "sign_offs",
        lambda rows: _first(rows, sealed_sha256="0" * 64),
    ),
    "sealed SHA-256 without a sealed pdf": (
        "sign_offs",
        lambda rows: _first(rows, sealed_pdf=None),
    ),
    # The pages word each by what it is: an action no release writes would not show.
    "signatory action unknown": ("signatories", lambda rows: _first(rows, action="maybe")),
    "sign-off event unknown": (
        "sign_off_events",
        lambda rows: _first(rows, action="signed by fax"),
    ),
    # Only the last approval seals, and it marks the sign-off signed: each implies the other.
    "sealed pdf of a declined sign-off": (
        "sign_offs",
        lambda rows: _first(rows, status="declined"),
    ),
    "signed sign-off without its sealed pdf": (
        "sign_offs",
        lambda rows: _first(rows, sealed_pdf=None, sealed_sha256=None),
    ),
    "sealed pdf altered after its seal": ("sign_offs", lambda rows: _sealed_row(rows, _flip)),
    "sealed pdf with a page appended after its seal": (
        "sign_offs",
        lambda rows: _sealed_row(rows, lambda pdf: pdf + b"\n% appended\n"),
    ),
    "sealed pdf of another charter": (
        "sign_offs",
        lambda rows: _sealed_row(rows, lambda pdf: OTHER_SEALED[0]),
    ),
}
OTHER_SEALED: list[bytes] = []
# What each refusal names: refused for another reason, a check would go untested.
SEALED_REFUSAL = {
    "frozen pdf with another SHA-256": "sha256 is not the SHA-256 of its pdf",
    "sealed pdf with another SHA-256": "sealed_sha256 is not the SHA-256 of its sealed_pdf",
    "sealed SHA-256 without a sealed pdf": "status is signed without a sealed_pdf",
    "signatory action unknown": "action is not one of: ",
    "sign-off event unknown": "action is not one of: ",
    "sealed pdf of a declined sign-off": (
        "sealed_pdf is a seal on a sign-off whose status is declined"
    ),
    "signed sign-off without its sealed pdf": "status is signed without a sealed_pdf",
    "sealed pdf altered after its seal": "sealed_pdf does not verify (ALTERED: ",
    "sealed pdf with a page appended after its seal": "sealed_pdf does not verify (ALTERED: ",
    "sealed pdf of another charter": "sealed_pdf seals another charter than its version",
}


def test_stored_digests_and_seals_are_checked_on_import(
    app: Flask, client: FlaskClient, consultant: int, empty_database: str, tmp_path: Path
) -> None:
    first = fill(app, client, consultant)
    second = fill(app, client, consultant)
    sign(app, first)
    OTHER_SEALED[:] = [sign(app, second)]
    archive = tmp_path / "backup.zip"
    assert app.test_cli_runner().invoke(cli, ["export", str(archive)]).exit_code == 0
    with restored(empty_database, tmp_path) as target:
        runner = target.test_cli_runner()
        for case, (table, edit) in SEALED.items():
            crafted = tmp_path / "crafted.zip"
            _rewrite(archive, crafted, lambda n, d, t=table, e=edit: _edit_rows(n, d, t, e))
            refused = runner.invoke(cli, ["import", str(crafted)])
            assert refused.exit_code == 2, (case, refused.output)
            assert refused.output.startswith(f"Error: tables/{table}.jsonl"), (case, refused.output)
            assert SEALED_REFUSAL[case] in refused.output, (case, refused.output)
            assert len(refused.output.strip().splitlines()) == 1, (case, refused.output)
            assert all(rows == [] for rows in snapshot(empty_database).values()), case
        imported = runner.invoke(cli, ["import", str(archive)])
        assert imported.exit_code == 0, imported.output


def _table_rows(archive: Path, table: str) -> list[dict[str, Any]]:
    with zipfile.ZipFile(archive) as opened:
        data = opened.read(f"tables/{table}.jsonl")
    return [json.loads(line) for line in data.splitlines()]


def _edit(rows: list[dict[str, Any]], match: Any, **changes: Any) -> list[dict[str, Any]]:
    """Change the first row ``match(row)`` holds for; the test fails if there is none."""
    index = next(i for i, row in enumerate(rows) if match(row))
    return [*rows[:index], {**rows[index], **changes}, *rows[index + 1 :]]


def test_the_hash_chain_of_charter_versions_and_events_is_checked_on_import(
    app: Flask, client: FlaskClient, consultant: int, empty_database: str, tmp_path: Path
) -> None:
    first = fill(app, client, consultant)
    second = fill(app, client, consultant)
    sign(app, first)
    sign(app, second)
    sign(app, first)  # version 2 of the first charter amends its signed version 1
    archive = tmp_path / "backup.zip"
    assert app.test_cli_runner().invoke(cli, ["export", str(archive)]).exit_code == 0
    versions = _table_rows(archive, "charter_versions")
    amendment = next(v for v in versions if v["previous_version_id"] is not None)
    amended = next(v for v in versions if v["id"] == amendment["previous_version_id"])
    other = next(v for v in versions if v["engagement_id"] != amendment["engagement_id"])
    sign_offs = {s["id"]: s for s in _table_rows(archive, "sign_offs")}
    sealed = next(s for s in sign_offs.values() if s["version_id"] == amendment["id"])

    def is_amendment(row: dict[str, Any]) -> bool:
        return bool(row["id"] == amendment["id"])

    def on_the_amendment(action: str) -> Any:
        return lambda row: row["sign_off_id"] == sealed["id"] and row["action"] == action

    cases = {
        "amendment chained to another hash": (
            "charter_versions",
            lambda rows: _edit(rows, is_amendment, previous_sha256="0" * 64),
            "previous_sha256 is not the SHA-256 of the version it amends",
        ),
        "amendment chained to no version": (
            "charter_versions",
            lambda rows: _edit(rows, is_amendment, previous_version_id=None),
            "previous_sha256 names no version it amends",
        ),
        "amendment without the hash it amends": (
            "charter_versions",
            lambda rows: _edit(rows, is_amendment, previous_sha256=None),
            "previous_sha256 is missing for the version it amends",
        ),
        "amendment of another engagement's version": (
            "charter_versions",
            lambda rows: _edit(
                rows, is_amendment, previous_version_id=other["id"], previous_sha256=other["sha256"]
            ),
            "previous_version_id names a version of another engagement",
        ),
        "approval of another version's hash": (
            "sign_off_events",
            lambda rows: _edit(rows, on_the_amendment("approved"), document_hash=amended["sha256"]),
            "document_hash is not the SHA-256 of its sign-off's charter version",
        ),
        "seal event naming the frozen hash": (
            "sign_off_events",
            lambda rows: _edit(rows, on_the_amendment("sealed"), document_hash=amendment["sha256"]),
            "document_hash is not the SHA-256 of its sign-off's sealed PDF",
        ),
    }
    with restored(empty_database, tmp_path) as target:
        runner = target.test_cli_runner()
        for case, (table, edit, expected) in cases.items():
            crafted = tmp_path / "crafted.zip"
            _rewrite(archive, crafted, lambda n, d, t=table, e=edit: _edit_rows(n, d, t, e))
            refused = runner.invoke(cli, ["import", str(crafted)])
            assert refused.exit_code == 2, (case, refused.output)
            assert re.fullmatch(
                rf"Error: tables/{table}\.jsonl is damaged: row \d+"
                rf"( \(engagement \d+, version \d+\))?'s {re.escape(expected)}\n",
                refused.output,
            ), (case, refused.output)
            assert all(rows == [] for rows in snapshot(empty_database).values()), case
        imported = runner.invoke(cli, ["import", str(archive)])
        assert imported.exit_code == 0, imported.output


def test_an_engagement_s_charter_times_must_agree_with_its_charter_versions(
    app: Flask, client: FlaskClient, consultant: int, empty_database: str, tmp_path: Path
) -> None:
    # Its status, its list entry and whether it may be deleted read these times alone.
    signed = fill(app, client, consultant)
    unsigned = fill(app, client, consultant)
    frozen = fill(app, client, consultant)
    sign(app, signed)
    with app.app_context():
        engagement = database.session.get(Engagement, frozen)
        assert engagement is not None and engagement.latest_decision is not None
        parties = [{"side": p.side, "name": p.name} for p in engagement.parties]
        details = load_details({"project": "Tidewater", "parties": parties})
        signoff.freeze(database.session, engagement, engagement.latest_decision, details)
        database.session.commit()
    archive = tmp_path / "backup.zip"
    assert app.test_cli_runner().invoke(cli, ["export", str(archive)]).exit_code == 0
    drafted_at = next(
        e["charter_drafted_at"] for e in _table_rows(archive, "engagements") if e["id"] == signed
    )

    def edited(engagement_id: int, **changes: Any) -> Any:
        return lambda rows: _edit(rows, lambda row: row["id"] == engagement_id, **changes)

    cases = {
        "signed charter, engagement not signed": (
            edited(signed, signed_at=None),
            "sign_offs",
            r"row \d+",
            "status is signed while its engagement's signed_at is empty",
        ),
        "frozen charter, engagement not drafted": (
            edited(signed, charter_drafted_at=None),
            "charter_versions",
            rf"row \d+ \(engagement {signed}, version 1\)",
            "engagement's charter_drafted_at is empty, though this version was frozen",
        ),
        "signed without a signed charter": (
            edited(frozen, signed_at=drafted_at),
            "engagements",
            rf"row {frozen} \(engagement {frozen}\)",
            "signed_at names no signed charter version",
        ),
        "drafted without a charter version": (
            edited(unsigned, charter_drafted_at=drafted_at),
            "engagements",
            rf"row {unsigned} \(engagement {unsigned}\)",
            "charter_drafted_at names no frozen charter version",
        ),
    }
    with restored(empty_database, tmp_path) as target:
        runner = target.test_cli_runner()
        for case, (edit, table, row, expected) in cases.items():
            crafted = tmp_path / "crafted.zip"
            _rewrite(archive, crafted, lambda n, d, e=edit: _edit_rows(n, d, "engagements", e))
            refused = runner.invoke(cli, ["import", str(crafted)])
            assert refused.exit_code == 2, (case, refused.output)
            assert re.fullmatch(
                rf"Error: tables/{table}\.jsonl is damaged: {row}'s {re.escape(expected)}\n",
                refused.output,
            ), (case, refused.output)
            assert all(rows == [] for rows in snapshot(empty_database).values()), case
        imported = runner.invoke(cli, ["import", str(archive)])
        assert imported.exit_code == 0, imported.output


def _decision_data(change: Any) -> Any:
    """Edit the first decision row's ``data`` with ``change(data)``."""

    def edit(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        data = json.loads(json.dumps(rows[0]["data"]))
        change(data)
        return _first(rows, data=data)

    return edit


def _consensus_data(change: Any) -> Any:
    """Edit the ``data`` of the first decision made on several respondents' answers."""

    def edit(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        data = json.loads(json.dumps(next(r["data"] for r in rows if "alignment" in r["data"])))
        change(data["alignment"])
        return _edit(rows, lambda row: "alignment" in row["data"], data=data)

    return edit


def _first_score(data: dict[str, Any], value: Any) -> None:
    data["scores"][next(iter(data["scores"]))] = value


def _raw_first_line(replace: Any) -> Any:
    """Rewrite the first decision row's line as text, for what ``json.dumps`` cannot write."""

    def change(name: str, data: bytes) -> bytes:
        if name != "tables/decisions.jsonl":
            return data
        first, rest = data.split(b"\n", 1)
        return replace(first) + b"\n" + rest

    return change


# Decisions the overall shape of which is right but whose inner values no page can show:
# each case is (edit of the archive, the field the refusal must name).
WRONG_INSIDE = {
    "score that is text": (
        lambda n, d: _edit_rows(n, d, "decisions", _decision_data(lambda x: _first_score(x, "9"))),
        "data.scores.",
    ),
    "protocol without params": (
        lambda n, d: _edit_rows(
            n, d, "decisions", _decision_data(lambda x: x["protocols"][0].pop("params"))
        ),
        "data.protocols.0.params",
    ),
    "unknown model": (
        lambda n, d: _edit_rows(
            n, d, "decisions", _decision_data(lambda x: x.update(model="telepathy"))
        ),
        "data.model",
    ),
    "answer level 9 inside the decision": (
        lambda n, d: _edit_rows(
            n, d, "decisions", _decision_data(lambda x: x["answers"].update(innovation=9))
        ),
        "data.answers.innovation",
    ),
    "answer level 9 in the answers column": (
        lambda n, d: _edit_rows(
            n, d, "decisions", lambda rows: _first(rows, answers={**ANSWERS, "innovation": 9})
        ),
        "answers.innovation",
    ),
    "tier number that is text": (
        lambda n, d: _edit_rows(
            n, d, "decisions", _decision_data(lambda x: x["escalation"][0].update(tier="1"))
        ),
        "data.escalation.0.tier",
    ),
    "field no decision has": (
        lambda n, d: _edit_rows(n, d, "decisions", _decision_data(lambda x: x.update(mood=1))),
        "data.mood is not a known field",
    ),
    "score of an unknown model": (
        lambda n, d: _edit_rows(
            n, d, "decisions", _decision_data(lambda x: x["scores"].update(telepathy=1.0))
        ),
        "data.scores.telepathy names no known entry",
    ),
    "consensus note that is a number": (
        lambda n, d: _edit_rows(
            n, d, "decisions", _consensus_data(lambda x: x["notes"].update(innovation=7))
        ),
        "data.alignment.notes.innovation must be text",
    ),
    # Pages read every factor's alignment, and one answer per respondent in each.
    "consensus that leaves out a factor": (
        lambda n, d: _edit_rows(
            n, d, "decisions", _consensus_data(lambda x: x["factors"].pop("innovation"))
        ),
        "data.alignment.factors.innovation",
    ),
    "consensus with an answer missing": (
        lambda n, d: _edit_rows(
            n,
            d,
            "decisions",
            _consensus_data(lambda x: x["factors"]["risk_tolerance"]["values"].pop()),
        ),
        "data.alignment.factors.risk_tolerance.values",
    ),
    "consensus without a respondent's own model": (
        lambda n, d: _edit_rows(
            n, d, "decisions", _consensus_data(lambda x: x["individual"].pop())
        ),
        "data.alignment.individual must give one model per respondent (2)",
    ),
    "respondent of no side": (
        lambda n, d: _edit_rows(
            n, d, "decisions", _consensus_data(lambda x: x["respondents"][0].update(side="x"))
        ),
        "data.alignment.respondents.0.side",
    ),
    "score that is NaN": (
        _raw_first_line(
            lambda line: re.sub(rb'("scores": \{"[a-z_]+": )[-0-9.e]+', rb"\1NaN", line)
        ),
        "NaN",
    ),
    "score that is Infinity": (
        _raw_first_line(
            lambda line: re.sub(rb'("scores": \{"[a-z_]+": )[-0-9.e]+', rb"\1-Infinity", line)
        ),
        "-Infinity",
    ),
    # Half of a UTF-16 pair, which JSON can escape but no page can send: the page that shows
    # the reason would fail.
    "reason with half a character": (
        _raw_first_line(lambda line: line.replace(b'"because": "', b'"because": "\\udc80', 1)),
        "data.trace.0.because is not Unicode text",
    ),
    # Lists and statuses read these columns alone: they must say what the document says.
    "consensus fingerprint on a decision of one answer set": (
        lambda n, d: _edit_rows(
            n, d, "decisions", lambda rows: _first(rows, answer_sets_digest="0" * 64)
        ),
        "components or answer_sets_digest is not what its data says",
    ),
    "components of another model": (
        lambda n, d: _edit_rows(
            n, d, "decisions", lambda rows: _first(rows, components="agile,integrated")
        ),
        "components or answer_sets_digest is not what its data says",
    ),
    "model column of another model": (
        lambda n, d: _edit_rows(
            n, d, "decisions", lambda rows: _first(rows, model=_another_model(rows[0]))
        ),
        "'s model is not what its data says",
    ),
    "rules version column of other rules": (
        lambda n, d: _edit_rows(
            n, d, "decisions", lambda rows: _first(rows, rules_version="0" * 64)
        ),
        "'s rules_version is not what its data says",
    ),
    "answers column other than the answers decided": (
        lambda n, d: _edit_rows(
            n, d, "decisions", lambda rows: _first(rows, answers=_other_answers(rows[0]))
        ),
        "'s answers is not what its data says",
    ),
    "key given twice": (
        _raw_first_line(
            lambda line: line.replace(b'"model": ', b'"model": "telepathy", "model": ', 1)
        ),
        'gives the key "model" twice',
    ),
}


def test_a_decision_with_wrong_values_inside_is_refused_naming_row_and_field(
    app: Flask, client: FlaskClient, consultant: int, empty_database: str, tmp_path: Path
) -> None:
    archive = exported(app, client, consultant, tmp_path)
    decisions = _table_rows(archive, "decisions")
    first_id = decisions[0]["id"]
    consensus_id = next(r["id"] for r in decisions if "alignment" in r["data"])
    with restored(empty_database, tmp_path) as target:
        runner = target.test_cli_runner()
        for case, (change, field) in WRONG_INSIDE.items():
            crafted = tmp_path / "crafted.zip"
            _rewrite(archive, crafted, change)
            assert _table_rows(crafted, "decisions") != _table_rows(archive, "decisions") or (
                case.startswith("key")
            ), case
            refused = runner.invoke(cli, ["import", str(crafted)])
            assert refused.exit_code == 2, (case, refused.output)
            assert refused.output.startswith("Error: tables/decisions.jsonl"), (
                case,
                refused.output,
            )
            assert len(refused.output.strip().splitlines()) == 1, (case, refused.output)
            row = consensus_id if "alignment" in field else first_id
            assert f"row {row}" in refused.output, (case, refused.output)
            assert field in refused.output, (case, refused.output)
            assert all(rows == [] for rows in snapshot(empty_database).values()), case
        imported = runner.invoke(cli, ["import", str(archive)])
        assert imported.exit_code == 0, imported.output


def _fields(column: str, change: Any) -> Any:
    """Let ``change(fields)`` alter the first row's charter fields in ``column``."""

    def edit(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        fields = json.loads(json.dumps(rows[0][column]))
        change(fields)
        return _first(rows, **{column: fields})

    return edit


# Charter fields the charter form would refuse: (table, column, change, field named).
REFUSED_FIELDS = {
    "shares that do not add up": (
        "charter_versions",
        "fields",
        lambda f: f.update(revenue_split={"producer": 60, "creator": 60}),
        "fields.revenue_split",
    ),
    "four internal mediators": (
        "charter_versions",
        "fields",
        lambda f: f.update(mediators_internal=["A", "B", "C", "D"]),
        "fields.mediators_internal",
    ),
    "a summary with a control character": (
        "charter_versions",
        "fields",
        lambda f: f.update(project_summary="Bell\u0007"),
        "fields.project_summary",
    ),
    "an effective date in the next century": (
        "charter_versions",
        "fields",
        lambda f: f.update(effective_date="2150-01-01"),
        "fields.effective_date",
    ),
    "a field the charter does not have": (
        "charter_versions",
        "fields",
        lambda f: f.update(bonus="yes"),
        "fields.bonus",
    ),
    # A version's answers are shown beside its decision: they are the ones it decided.
    "answers other than those its decision decided": (
        "charter_versions",
        "answers",
        lambda f: f.update(innovation=f["innovation"] % 5 + 1),
        "'s answers is not what its decision_data says",
    ),
    "a share above 100": (
        "engagements",
        "charter_fields",
        lambda f: f.update(revenue_split={"producer": 101, "creator": -1}),
        "charter_fields.revenue_split.",
    ),
    "an arbitration that is not text": (
        "engagements",
        "charter_fields",
        lambda f: f.update(arbitration=5),
        "charter_fields.arbitration",
    ),
    "an engagement detail among the form's fields": (
        "engagements",
        "charter_fields",
        lambda f: f.update(project="Elsewhere"),
        "charter_fields.project",
    ),
}


def test_charter_fields_the_form_would_refuse_are_refused_naming_version_and_field(
    app: Flask, client: FlaskClient, consultant: int, empty_database: str, tmp_path: Path
) -> None:
    engagement_id = fill(app, client, consultant)
    sign(app, engagement_id)
    saved = {
        "effective_date": "2027-01-01",
        "project_summary": "A series in six parts.",
        "mediators_internal": ["Cara Diaz"],
        "mediators_external": [],
        "revenue_split": {"producer": 40, "creator": 60},
        "arbitration": "Geneva Chamber",
        "data_storage": "",
    }
    with app.app_context(), database.engine.begin() as connection:
        connection.execute(
            text("UPDATE engagements SET charter_fields = :saved"), {"saved": json.dumps(saved)}
        )
    archive = tmp_path / "backup.zip"
    assert app.test_cli_runner().invoke(cli, ["export", str(archive)]).exit_code == 0
    [version] = _table_rows(archive, "charter_versions")
    assert version["engagement_id"] == engagement_id and version["number"] == 1
    with restored(empty_database, tmp_path) as target:
        runner = target.test_cli_runner()
        for case, (table, column, change, field) in REFUSED_FIELDS.items():
            crafted = tmp_path / "crafted.zip"
            edit = _fields(column, change)
            _rewrite(archive, crafted, lambda n, d, t=table, e=edit: _edit_rows(n, d, t, e))
            refused = runner.invoke(cli, ["import", str(crafted)])
            output = refused.output
            assert refused.exit_code == 2, (case, output)
            assert output.startswith(f"Error: tables/{table}.jsonl"), (case, output)
            assert len(output.strip().splitlines()) == 1, (case, output)
            assert f"engagement {engagement_id}" in output, (case, output)
            if table == "charter_versions":
                assert "version 1" in output, (case, output)
            assert field in output, (case, output)
            assert all(rows == [] for rows in snapshot(empty_database).values()), case
        imported = runner.invoke(cli, ["import", str(archive)])
        assert imported.exit_code == 0, imported.output


def _series(change: Any) -> Any:
    """Let ``change(series)`` alter the first version's frozen review series."""

    def edit(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        series = json.loads(json.dumps(rows[0]["review_series"]))
        return _first(rows, review_series=change(series))

    return edit


def _swap_first_dates(series: list[dict[str, Any]]) -> list[dict[str, Any]]:
    series[0]["dates"][:2] = series[0]["dates"][1::-1]
    return series


# Frozen calendars the app could not serve or cancel from: (change, column named).
REFUSED_CALENDARS = {
    "series that are not a list": (
        _series(lambda s: {"trust_check": s}),
        "review_series must be a list of review series",
    ),
    "a series without its dates": (
        _series(lambda s: [{k: v for k, v in s[0].items() if k != "dates"}, *s[1:]]),
        "review_series.0.dates is required",
    ),
    "dates out of order": (_series(_swap_first_dates), "review_series.0.dates must be in order"),
    "a day that is no date": (
        _series(lambda s: [{**s[0], "dates": ["2027-02-30"]}, *s[1:]]),
        "review_series.0.dates.0 must be a date",
    ),
    "a day at the end of the calendar": (
        _series(lambda s: [{**s[0], "dates": ["9999-12-31"], "scheduled": ["9999-12-31"]}]),
        "review_series.0.dates.0 must be before the year 9999",
    ),
    "an interval of no days": (
        _series(lambda s: [{**s[0], "every_days": 0}, *s[1:]]),
        "review_series.0.every_days must be 1 to 366",
    ),
    "days the cadence did not give": (
        _series(lambda s: [{**s[0], "every_days": s[0]["every_days"] + 1}, *s[1:]]),
        "review_series.0.scheduled must be every_days apart",
    ),
    "an id that would end the calendar's line": (
        _series(lambda s: [{**s[0], "protocol_id": "trust_check\r\nEND:VCALENDAR"}, *s[1:]]),
        "review_series.0.protocol_id must be a protocol's id",
    ),
    "a title with a control character": (
        _series(lambda s: [{**s[0], "title": "Trust\u0007check"}, *s[1:]]),
        "review_series.0.title must not contain control characters",
    ),
    "a field a series does not have": (
        _series(lambda s: [{**s[0], "colour": "red"}, *s[1:]]),
        "review_series.0.colour is not a known field",
    ),
    "a calendar that is no iCalendar file": (
        lambda rows: _first(rows, calendar_ics={"$base64": base64.b64encode(b"%PDF-").decode()}),
        "calendar_ics is not an iCalendar file",
    ),
    "no calendar": (
        lambda rows: _first(rows, calendar_ics=None),
        "calendar_ics is not an iCalendar file",
    ),
}


def test_frozen_calendars_travel_and_are_checked_on_import(
    app: Flask, client: FlaskClient, consultant: int, empty_database: str, tmp_path: Path
) -> None:
    """A version's frozen review series and calendar file come back as they were; ones the
    app could not serve or cancel from are refused, naming the version and the field."""
    engagement_id = fill(app, client, consultant)
    sign(app, engagement_id)
    archive = tmp_path / "backup.zip"
    assert app.test_cli_runner().invoke(cli, ["export", str(archive)]).exit_code == 0
    [version] = _table_rows(archive, "charter_versions")
    assert isinstance(version["review_series"], list) and version["review_series"]
    frozen = base64.b64decode(version["calendar_ics"]["$base64"])
    assert frozen.startswith(b"BEGIN:VCALENDAR\r\n")
    with restored(empty_database, tmp_path) as target:
        runner = target.test_cli_runner()
        for case, (edit, problem) in REFUSED_CALENDARS.items():
            crafted = tmp_path / "crafted.zip"
            _rewrite(archive, crafted, lambda n, d, e=edit: _edit_rows(n, d, "charter_versions", e))
            refused = runner.invoke(cli, ["import", str(crafted)])
            output = refused.output
            assert refused.exit_code == 2, (case, output)
            assert output.startswith(
                f"Error: tables/charter_versions.jsonl is damaged: row {version['id']} "
                f"(engagement {engagement_id}, version 1)'s {problem}"
            ), (case, output)
            assert len(output.strip().splitlines()) == 1, (case, output)
            assert all(rows == [] for rows in snapshot(empty_database).values()), case
        imported = runner.invoke(cli, ["import", str(archive)])
        assert imported.exit_code == 0, imported.output
        with target.app_context():
            restored_version = database.session.scalars(select(CharterVersion)).one()
            assert bytes(restored_version.calendar_ics) == frozen
            assert restored_version.review_series == version["review_series"]


def test_a_backup_from_before_frozen_calendars_gets_them_when_migrated_on(
    app: Flask,
    client: FlaskClient,
    consultant: int,
    database_url: str,
    migrated_database: str,
    tmp_path: Path,
) -> None:
    """An export made before versions kept their calendar has none to import: it restores at
    its own migration, as any older backup, and the upgrade then gives each version the
    series and file the code gives, as for a database upgraded in place."""
    engagement_id = fill(app, client, consultant)
    sign(app, engagement_id)
    with app.app_context():
        version = database.session.scalars(select(CharterVersion)).one()
        frozen = (version.review_series, bytes(version.calendar_ics))
    with app.app_context():  # once the session gave its connection back
        database.engine.dispose()
    before = "0009_decision_columns"
    archive = tmp_path / "backup.zip"
    try:
        alembic_command.downgrade(alembic_config(database_url), before)
        exported = app.test_cli_runner().invoke(cli, ["export", str(archive)])
        assert exported.exit_code == 0, exported.output
    finally:
        with app.app_context():
            database.engine.dispose()
        alembic_command.upgrade(alembic_config(database_url), "head")
    assert "calendar_ics" not in _table_rows(archive, "charter_versions")[0]

    def import_and_upgrade(url: str) -> None:
        alembic_command.upgrade(alembic_config(url), before)
        with restored(url, tmp_path) as target:
            runner = target.test_cli_runner()
            imported = runner.invoke(cli, ["import", str(archive)])
            assert imported.exit_code == 0, imported.output
            assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
            with target.app_context():
                back = database.session.scalars(select(CharterVersion)).one()
                assert (back.review_series, bytes(back.calendar_ics)) == frozen

    if migrated_database.startswith("postgresql"):
        with empty_postgres(migrated_database, migrated=False) as url:
            import_and_upgrade(url)
    else:
        import_and_upgrade(f"sqlite:///{tmp_path / 'older.sqlite3'}")
