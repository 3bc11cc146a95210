"""A part failing in the middle of an operation: the renderer, the seal, the database.

Nothing half-done is ever stored, the person is told in a page (or one line on the command
line) rather than a traceback, and the same operation works once the part is back.
"""

from __future__ import annotations

import errno
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from apitools import make_token
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from servingtools import PG_SERVER, assess_command
from signofftools import (  # noqa: F401  (fixtures)
    approve,
    engagement_with_decision,
    freeze,
    seal_key_files,
    send,
    shared_seal_key,
)
from sqlalchemy import create_engine, text
from tsatools import TimeStampingAuthority
from webtools import (
    ANSWERS,
    ENGAGEMENT,
    count,
    create_engagement,
    fill_in,
    invite,
    post,
)

import assess.charter.pdf
import assess.signing.seal
from assess import charter, serving, signoff
from assess.charter.command import charter_command
from assess.charter.errors import CharterError
from assess.commands import alembic_config
from assess.extensions import db
from assess.models import Base, DecisionRecord, Engagement, SignOff
from assess.signing import read_certificates
from assess.signing.verify import verify
from assess.testing import fresh_postgres

# A migration this version is past: its consultants lack columns the app reads.
OLDER_MIGRATION = "0005_signoff_public_url"
# What a sign-off in order records up to its last approval.
SENT_AND_APPROVED = ["frozen", "started", "invited", "approved", "invited"]


@contextmanager
def database_at(kind: str, tmp_path: Path, revision: str) -> Iterator[str]:
    """A new database of that kind, migrated only as far as the revision."""
    from alembic import command as alembic_command

    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'older.sqlite3'}"
        alembic_command.upgrade(alembic_config(url), revision)
        yield url
        return
    with fresh_postgres(PG_SERVER, "assess_faults", migrated=False) as url:
        alembic_command.upgrade(alembic_config(url), revision)
        yield url
        create_engine(url).dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_commands_on_a_database_not_migrated_far_enough_say_to_upgrade(
    kind: str, tmp_path: Path
) -> None:
    with database_at(kind, tmp_path, OLDER_MIGRATION) as url:
        for args, given in (
            (["user", "create", "new@example.com", "--name", "New"], "a long password\n"),
            (["demo"], ""),
        ):
            result = assess_command(*args, env={"DATABASE_URL": url}, given=given)
            assert result.returncode == 1, result.stderr
            assert result.stderr == (
                "Error: the database is not migrated as far as this version needs; run "
                "'assess db upgrade'.\n"
            )
        engine = create_engine(url)
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM consultants")).scalar() == 0
        engine.dispose()


# --- the web app: the database, the renderer or the seal failing mid-request --------------


def snapshot(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to compare before and after a failed request."""
    with app.app_context():
        return {
            table.name: sorted(
                (tuple(str(value) for value in row) for row in db.session.execute(table.select())),
            )
            for table in Base.metadata.sorted_tables
        }


@contextmanager
def commits_fail(app: Flask, monkeypatch: pytest.MonkeyPatch, kind: str) -> Iterator[list[int]]:
    """Make the database refuse every COMMIT, as when another writer holds the lock
    ("locked") or took a unique key meanwhile ("taken"); SQLite then keeps the transaction
    open. Yield the list of commits refused."""
    with app.app_context():
        dialect = db.engine.dialect
    dbapi = dialect.loaded_dbapi
    refused: list[int] = []

    def failing(self: Any, connection: Any) -> None:
        refused.append(1)
        if kind == "locked":
            raise dbapi.OperationalError("database is locked")
        raise dbapi.IntegrityError("UNIQUE constraint failed")

    with monkeypatch.context() as patched:
        patched.setattr(type(dialect), "do_commit", failing)
        yield refused


# Either way the request is told to come back (503): its transaction was not stored.
FAILURES = ["locked", "taken"]


def assert_friendly(response: Any, status: int) -> str:
    page: str = response.get_data(as_text=True)
    assert response.status_code == status, page
    if status == 503:
        assert response.headers["Retry-After"]
    # The service's own page: no trace, no exception's name, nothing of the failed statement.
    assert "<h1>" in page and "Traceback" not in page
    assert not re.search(r"[a-z]Error|UNIQUE|COMMIT|INSERT|crashed|could not", page), page
    return page


@pytest.mark.db
@pytest.mark.parametrize("kind", FAILURES)
def test_a_submission_whose_commit_fails_stores_nothing_and_is_sent_again(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    link = invite(signed_in, create_engagement(signed_in))
    respondent = app.test_client()
    fill_in(respondent, link)
    before = snapshot(app)
    with commits_fail(app, monkeypatch, kind) as failed:
        refused = post(respondent, f"{link}/review")
    assert failed
    assert_friendly(refused, 503)
    assert snapshot(app) == before
    done = post(respondent, f"{link}/review")
    assert done.status_code == 303 and done.headers["Location"].endswith(f"{link}/result")
    assert count(app, DecisionRecord) == 1


@pytest.mark.db
@pytest.mark.parametrize("kind", FAILURES)
def test_an_adjustment_whose_commit_fails_stores_no_decision(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    setup = engagement_with_decision(app, signed_in)
    path = f"/engagements/{setup.engagement_id}/decisions/{setup.decision_id}"
    changed = {k: str(v) for k, v in {**ANSWERS, "iteration_readiness": 1}.items()}
    before = snapshot(app)
    with commits_fail(app, monkeypatch, kind):
        assert_friendly(post(signed_in, f"{path}/confirm", changed), 503)
    assert snapshot(app) == before
    assert post(signed_in, f"{path}/confirm", changed).status_code == 303
    assert count(app, DecisionRecord) == 2


@pytest.mark.db
@pytest.mark.usefixtures("shared_seal_key")
def test_a_freeze_whose_render_fails_stores_no_version(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = engagement_with_decision(app, signed_in)
    before = snapshot(app)

    def broken(*args: Any, **kwargs: Any) -> bytes:
        raise RuntimeError("the renderer crashed")

    with monkeypatch.context() as patched:
        patched.setattr(charter, "to_pdf", broken)
        assert_friendly(post(signed_in, setup.freeze_path), 500)
    assert snapshot(app) == before
    assert freeze(signed_in, setup) == setup.version_path(1)
    with app.app_context():
        engagement = db.session.get(Engagement, setup.engagement_id)
        assert engagement is not None and engagement.charter_drafted_at is not None
        assert [v.number for v in engagement.charter_versions] == [1]


@pytest.mark.db
@pytest.mark.usefixtures("shared_seal_key")
@pytest.mark.parametrize("kind", FAILURES)
def test_a_freeze_whose_commit_fails_stores_no_version(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    setup = engagement_with_decision(app, signed_in)
    before = snapshot(app)
    with commits_fail(app, monkeypatch, kind):
        assert_friendly(post(signed_in, setup.freeze_path), 503)
    assert snapshot(app) == before
    assert freeze(signed_in, setup) == setup.version_path(1)


def signed_state(app: Flask) -> tuple[str, list[str | None], list[str], bool]:
    with app.app_context():
        sign_off = db.session.query(SignOff).one()
        engagement = sign_off.version.engagement
        return (
            sign_off.status,
            [s.action for s in sign_off.signatories],
            [e.action for e in sign_off.events],
            sign_off.sealed_pdf is not None or engagement.signed_at is not None,
        )


def last_approval_pending(app: Flask, signed_in: FlaskClient) -> dict[str, str]:
    """A charter sent to two signatories, the first of whom approved; return the links."""
    links = send(signed_in, freeze(signed_in, engagement_with_decision(app, signed_in)))
    assert approve(app.test_client(), links["Ann Lee"], "Ann Lee").status_code == 303
    return links


def broken_seal(*args: Any, **kwargs: Any) -> bytes:
    raise RuntimeError("pyHanko could not sign")


def broken_audit_page(*args: Any, **kwargs: Any) -> bytes:
    raise RuntimeError("WeasyPrint could not lay out the audit page")


@pytest.mark.db
@pytest.mark.usefixtures("shared_seal_key")
@pytest.mark.parametrize(
    ("target", "name", "replacement", "tsa"),
    [
        (assess.signing.seal, "seal", broken_seal, False),
        (assess.signing.seal, "seal", broken_seal, True),
        (signoff, "render_pdf", broken_audit_page, True),
        (assess.signing.seal, "render_pdf", broken_audit_page, False),
    ],
    ids=["seal", "seal-with-timestamp", "audit-page-with-timestamp", "audit-page"],
)
def test_a_seal_that_fails_at_the_last_approval_records_nothing_and_can_be_approved_again(
    app: Flask,
    signed_in: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
    target: Any,
    name: str,
    replacement: Any,
    tsa: bool,
) -> None:
    links = last_approval_pending(app, signed_in)
    if tsa:  # an authority nobody answers at: the seal goes without its timestamp
        app.config["SEAL_TSA_URL"] = "http://127.0.0.1:9/tsa"
    before = snapshot(app)
    bo = app.test_client()
    with monkeypatch.context() as patched:
        patched.setattr(target, name, replacement)
        refused = approve(bo, links["Bo Chen"], "Bo Chen")
    page = assert_friendly(refused, 503)
    assert "Your approval was not recorded" in page and "approve again later" in page
    assert snapshot(app) == before
    assert signed_state(app) == ("pending", ["approved", None], SENT_AND_APPROVED, False)
    assert approve(bo, links["Bo Chen"], "Bo Chen").status_code == 303
    status, actions, events, sealed = signed_state(app)
    assert (status, actions, sealed) == ("signed", ["approved", "approved"], True)
    assert events[-2:] == ["approved", "sealed"]


@pytest.mark.db
@pytest.mark.usefixtures("shared_seal_key")
@pytest.mark.parametrize("kind", FAILURES)
def test_an_approval_whose_commit_fails_is_not_recorded_and_can_be_given_again(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    links = last_approval_pending(app, signed_in)
    before = snapshot(app)
    bo = app.test_client()
    with commits_fail(app, monkeypatch, kind):
        refused = approve(bo, links["Bo Chen"], "Bo Chen")
    assert_friendly(refused, 503)
    assert snapshot(app) == before
    assert approve(bo, links["Bo Chen"], "Bo Chen").status_code == 303
    assert signed_state(app)[0] == "signed"


@pytest.mark.db
def test_an_api_submission_whose_commit_fails_answers_a_json_problem_and_stores_nothing(
    app: Flask, client: FlaskClient, consultant: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {make_token(app, consultant)}"
    created = client.post("/api/v1/engagements", json=ENGAGEMENT)
    base = f"/api/v1/engagements/{created.json['id']}"  # type: ignore[index]
    invited = client.post(f"{base}/respondents", json={"name": "Ann Lee", "side": "producer"})
    ann = f"{base}/respondents/{invited.json['respondent']['id']}"  # type: ignore[index]
    assert client.put(f"{ann}/answers", json={"answers": ANSWERS}).status_code == 200
    before = snapshot(app)
    for kind in FAILURES:
        with commits_fail(app, monkeypatch, kind):
            refused = client.post(f"{ann}/submit")
        assert refused.status_code == 503 and refused.mimetype == "application/json"
        assert refused.json is not None and refused.json["code"] == 503
        assert refused.headers["Retry-After"]
        assert "Traceback" not in refused.get_data(as_text=True)
        assert snapshot(app) == before
    assert client.post(f"{ann}/submit").status_code == 201
    assert count(app, DecisionRecord) == 1


def broken_renderer(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("the renderer crashed")


@pytest.mark.db
@pytest.mark.parametrize(("made_by", "action"), [("to_html", "/preview"), ("to_pdf", ".pdf")])
def test_a_draft_whose_render_fails_keeps_the_saved_fields_and_says_so_in_a_page(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch, made_by: str, action: str
) -> None:
    setup = engagement_with_decision(app, signed_in)
    fields = {"effective_date": "2027-03-01"}
    with monkeypatch.context() as patched:
        patched.setattr(charter, made_by, broken_renderer)
        assert_friendly(post(signed_in, f"{setup.charter_path}{action}", fields), 500)
    # The fields are saved before the charter is made, as the charter page says.
    with app.app_context():
        engagement = db.session.get(Engagement, setup.engagement_id)
        assert engagement is not None and engagement.charter_fields is not None
        assert engagement.charter_fields["effective_date"] == "2027-03-01"
        assert engagement.charter_versions == []
    assert post(signed_in, f"{setup.charter_path}{action}", fields).status_code == 200


@pytest.mark.db
def test_an_api_charter_whose_render_fails_is_a_json_problem(
    app: Flask, signed_in: FlaskClient, consultant: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = engagement_with_decision(app, signed_in)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {make_token(app, consultant)}"
    path = f"/api/v1/engagements/{setup.engagement_id}/decisions/{setup.decision_id}/charter.pdf"
    with monkeypatch.context() as patched:
        patched.setattr(charter, "to_pdf", broken_renderer)
        failed = client.get(path)
    assert failed.status_code == 500 and failed.mimetype == "application/json"
    assert failed.json is not None and failed.json["code"] == 500
    assert "crashed" not in failed.get_data(as_text=True)
    assert client.get(path).status_code == 200


class WorkerLog:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def warning(self, message: str, *args: Any) -> None:
        self.lines.append(message % args)

    def exception(self, message: str, *args: Any) -> None:
        self.lines.append(message % args)


@pytest.mark.parametrize(
    "failure",
    [CharterError("fonts missing for the charter"), RuntimeError("the renderer crashed")],
    ids=["fonts missing", "renderer crashed"],
)
def test_a_worker_whose_renderer_fails_to_warm_up_still_starts(
    monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    """A worker that raised here would never boot, and gunicorn would stop the whole service
    with it: the pages that need no charter keep being served, and the log says why."""

    def failing() -> None:
        raise failure

    worker = SimpleNamespace(log=WorkerLog())
    monkeypatch.setattr(assess.charter.pdf, "warm_up", failing)
    serving.post_worker_init(worker)
    assert worker.log.lines == [f"charter renderer not warmed up: {failure}"]


@pytest.mark.db
@pytest.mark.usefixtures("shared_seal_key")
def test_a_timestamp_too_large_for_the_seal_does_not_hold_up_the_last_approval(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An authority whose tokens (with its certificate chain) outgrow the room the seal keeps
    for them would refuse every seal while it is configured: the seal goes without it."""
    links = last_approval_pending(app, signed_in)
    authority = TimeStampingAuthority()
    app.config["SEAL_TSA_URL"] = authority.url
    monkeypatch.setattr(assess.signing.seal, "TIMESTAMPED_SIGNATURE_BYTES", 4096)
    try:
        assert approve(app.test_client(), links["Bo Chen"], "Bo Chen").status_code == 303
    finally:
        authority.close()
    assert authority.requests == 1
    status, actions, events, sealed = signed_state(app)
    assert (status, actions, sealed, events[-1]) == ("signed", ["approved"] * 2, True, "sealed")
    with app.app_context():
        sign_off = db.session.query(SignOff).one()
        detail = sign_off.events[-1].detail
        assert detail.startswith("Without a trusted timestamp: "), detail
        assert sign_off.sealed_pdf is not None
        assert verify(sign_off.sealed_pdf, read_certificates(app.config["SEAL_CERT_FILE"])).ok


# --- the command line: the charter's two files written together or not at all --------------


@pytest.mark.parametrize("earlier", ["none", "files", "symlink"])
@pytest.mark.parametrize("links", [True, False], ids=["hard links", "no hard links"])
def test_a_calendar_that_cannot_be_renamed_into_place_leaves_no_charter_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, earlier: str, links: bool
) -> None:
    """The PDF is renamed into place before the calendar: when the calendar's rename then
    fails, the PDF must not stay as half of the result. What was there is put back as it
    was (the same file where hard links allow); nothing written aside is left."""
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(ANSWERS))
    pdf, ics = tmp_path / "c.pdf", tmp_path / "c.ics"
    if earlier == "files":
        pdf.write_bytes(b"the earlier charter")
    if earlier == "symlink":  # the rename would replace the link, not the file it names
        (tmp_path / "kept.pdf").write_bytes(b"the earlier charter")
        pdf.symlink_to("kept.pdf")
    if earlier != "none":
        ics.write_bytes(b"the earlier calendar")
    before = {p.name: (p.lstat().st_ino, p.read_bytes()) for p in tmp_path.iterdir()}
    monkeypatch.setattr(charter, "to_pdf", lambda *_, **__: b"%PDF-1.7 the new charter")
    real_replace = os.replace

    def failing_for_the_calendar(source: Any, target: Any) -> None:
        if Path(target) == ics:
            raise OSError(errno.EIO, "Input/output error")
        real_replace(source, target)

    def no_links(*_: Any, **__: Any) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "replace", failing_for_the_calendar)
    if not links:  # as on a FAT-formatted stick: the earlier file is copied aside instead
        monkeypatch.setattr(os, "link", no_links)
    result = CliRunner().invoke(
        charter_command,
        [str(answers), "--project", "P", "--party", "Producer side: Ann Lee"]
        + ["--party", "Creator side: Bo Chen", "-o", str(pdf), "--ics", str(ics)],
    )
    assert (result.exit_code, result.stderr) == (
        1,
        f"--ics: cannot write {ics}: Input/output error\n",
    )
    after = {p.name: (p.lstat().st_ino, p.read_bytes()) for p in tmp_path.iterdir()}
    if not links:  # put back as it was, though as a copy
        before = {name: (after[name][0], data) for name, (_, data) in before.items()}
    assert after == before
    assert pdf.is_symlink() == (earlier == "symlink")


def test_an_earlier_charter_that_cannot_be_put_back_is_said_to_be_kept_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should putting the earlier PDF back fail too, it is not lost: the second line says
    which file holds it."""
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(ANSWERS))
    pdf, ics = tmp_path / "c.pdf", tmp_path / "c.ics"
    pdf.write_bytes(b"the earlier charter")
    monkeypatch.setattr(charter, "to_pdf", lambda *_, **__: b"%PDF-1.7 the new charter")
    real_replace = os.replace

    def failing(source: Any, target: Any) -> None:
        if Path(target) == ics or str(source).endswith(".earlier"):
            raise OSError(errno.EIO, "Input/output error")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", failing)
    result = CliRunner().invoke(
        charter_command,
        [str(answers), "--project", "P", "--party", "Producer side: Ann Lee"]
        + ["--party", "Creator side: Bo Chen", "-o", str(pdf), "--ics", str(ics)],
    )
    assert result.exit_code == 1
    first, second = result.stderr.splitlines()
    assert first == f"--ics: cannot write {ics}: Input/output error"
    kept = Path(second.rsplit(" ", 1)[1])
    assert second == (
        f"{pdf}: cannot be put back as it was: Input/output error; the earlier file is "
        f"kept as {kept}"
    )
    assert kept.parent == tmp_path and kept.read_bytes() == b"the earlier charter"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["answers.json", "c.pdf", kept.name]
    )
