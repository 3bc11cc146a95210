"""A frozen version's review calendar is frozen with it, like its PDF: the same file at every
download and the dates its PDF prints, whatever the scheduling rules say later."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from alembic import command as alembic_command
from alembic.config import Config
from calendartools import events_by_title, occurrences, printed_calendar, published_events
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import ValidationError
from signofftools import (  # noqa: F401  (fixtures)
    SIGNATORIES,
    Setup,
    approve,
    engagement_with_decision,
    freeze,
    frozen_charter,
    post,
    record,
    seal_key_files,
    send,
    shared_seal_key,
)
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError
from webtools import ANSWERS

from assess import charter
from assess.charter import calendar, fonts
from assess.commands import alembic_config
from assess.extensions import db
from assess.models import CharterVersion, utcnow

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("shared_seal_key")]

# A Monday: the monthly and quarterly reviews each fall on a weekend at least once, and the
# rules in force move them to the Monday after (9 May 2027 to 10 May 2027, say).
EFFECTIVE = "2027-02-08"
BEFORE_THE_UPGRADE = "0009_decision_columns"


def rules_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Change the scheduling code as it once changed, the other way round: a review the
    cadence puts on a weekend is held that day, not on the Monday after."""
    monkeypatch.setattr(calendar, "on_a_weekday", lambda day: day)


def stored(app: Flask) -> list[tuple[list[dict[str, Any]], bytes]]:
    """Each version's frozen review series and calendar file, oldest first."""
    with app.app_context():
        versions = db.session.query(CharterVersion).order_by(CharterVersion.number).all()
        return [(v.review_series, bytes(v.calendar_ics)) for v in versions]


def series_today(app: Flask) -> list[list[dict[str, Any]]]:
    """The review series the code in force gives each version's frozen decision and fields."""
    with app.app_context():
        versions = db.session.query(CharterVersion).order_by(CharterVersion.number).all()
        return [
            calendar.series_to_json(
                calendar.review_series(v.decision, charter.load_details(v.fields).start)
            )
            for v in versions
        ]


def signed(app: Flask, client: FlaskClient, version_path: str) -> str:
    """Have the version approved, so that its calendar is the signatory's too; return the link."""
    link = send(client, version_path, people=SIGNATORIES[:1])["Ann Lee"]
    assert approve(app.test_client(), link, "Ann Lee").status_code == 303
    return link


def amendment_calendars(app: Flask, client: FlaskClient, setup: Setup) -> list[bytes]:
    """Freeze an amendment for a shorter relationship, whose decision no longer sets the
    quarterly check-ins; return its calendar and that of the draft after it."""
    amended = Setup(
        setup.engagement_id,
        record(app, setup.engagement_id, {**ANSWERS, "relationship_duration": 3}),
    )
    second = freeze(client, amended, effective_date=EFFECTIVE)
    draft = post(client, amended.charter_path + ".ics", {"effective_date": EFFECTIVE})
    return [client.get(f"{second}/reviews.ics").data, draft.data]  # type: ignore[attr-defined]


def test_a_frozen_calendar_is_the_same_file_after_the_scheduling_rules_change(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = signed_in
    _, version = frozen_charter(app, client, effective_date=EFFECTIVE)
    link = signed(app, client, version)
    signatory = app.test_client()
    frozen = client.get(f"{version}/reviews.ics").data
    assert signatory.get(f"{link}/reviews.ics").data == frozen
    [(series, ics)] = stored(app)
    assert ics == frozen

    rules_changed(monkeypatch)
    assert series_today(app) != [series]  # worked out again, the dates would differ
    for response in (client.get(f"{version}/reviews.ics"), signatory.get(f"{link}/reviews.ics")):
        assert response.status_code == 200 and response.mimetype == "text/calendar"
        assert response.data == frozen
    organizers = {
        (e["ORGANIZER"].params["CN"], str(e["ORGANIZER"])) for e in published_events(frozen)
    }
    assert organizers == {("Cara Diaz", "mailto:cara@example.com")}
    events = events_by_title(frozen)
    assert date(2027, 5, 10) in occurrences(events["Trust check"])
    assert date(2027, 5, 9) not in occurrences(events["Trust check"])


def test_a_frozen_calendar_gives_the_dates_its_pdf_prints(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read off the frozen PDF (its text, as pypdf extracts it) and off the calendar file
    downloaded after the rules changed: the same reviews, first dates, counts and days."""
    client = signed_in
    _, version = frozen_charter(app, client, effective_date=EFFECTIVE)
    rules_changed(monkeypatch)
    first, by_day = printed_calendar(client.get(f"{version}/charter.pdf").data)
    events = events_by_title(client.get(f"{version}/reviews.ics").data)
    assert set(events) == set(first) and len(first) > 3
    printed: set[tuple[date, str]] = set()
    for title, event in events.items():
        days = occurrences(event)
        assert (days[0], len(days)) == first[title], title
        if event["RRULE"]["INTERVAL"][0] >= calendar.FREQUENT_DAYS:
            printed |= {(day, title) for day in days}
    assert printed == {(day, title) for day, titles in by_day.items() for title in titles}
    assert date(2027, 5, 10) in by_day and date(2027, 5, 9) not in by_day


def test_an_amendment_cancels_what_it_drops_on_the_days_the_earlier_file_gave(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quarterly check-ins version 1 set are cancelled by version 2 (and by the draft of
    version 3) on the days version 1's file gave them, though the rules changed since."""
    client = signed_in
    setup, first = frozen_charter(app, client, effective_date=EFFECTIVE)
    signed(app, client, first)
    before = events_by_title(client.get(f"{first}/reviews.ics").data)
    dropped = occurrences(before["Partnership check-in"])
    assert date(2027, 5, 10) in dropped

    rules_changed(monkeypatch)
    for data in amendment_calendars(app, client, setup):
        events = events_by_title(data)
        cancelled = {t: e for t, e in events.items() if e.get("STATUS") == "CANCELLED"}
        assert set(cancelled) == {"Partnership check-in"}
        assert occurrences(cancelled["Partnership check-in"]) == dropped
        assert cancelled["Partnership check-in"]["UID"] == before["Partnership check-in"]["UID"]
        # What this version sets follows the rules it was frozen under.
        assert date(2027, 5, 9) in occurrences(events["Trust check"])


def test_a_changed_draft_cancels_what_an_earlier_draft_s_calendar_set(
    app: Flask, signed_in: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A calendar may hold the reviews of a draft's file, never frozen: the next draft's
    file, and the frozen version's, cancel those they no longer set (same UID, at a SEQUENCE
    no lower and stamped later), on the days the draft's file gave them."""
    client = signed_in
    setup = engagement_with_decision(app, client)
    first = events_by_title(
        post(client, setup.charter_path + ".ics", {"effective_date": EFFECTIVE}).data
    )
    held = first["Partnership check-in"]
    assert "STATUS" not in held
    shorter = Setup(
        setup.engagement_id,
        record(app, setup.engagement_id, {**ANSWERS, "relationship_duration": 3}),
    )
    later = utcnow() + timedelta(minutes=1)
    for module in ("assess.views.charter", "assess.signoff"):  # the draft's, the freeze's
        monkeypatch.setattr(f"{module}.utcnow", lambda: later)
    draft = post(client, shorter.charter_path + ".ics", {"effective_date": "2027-03-01"})
    version = freeze(client, shorter, effective_date="2027-03-01")
    for data in (draft.data, client.get(f"{version}/reviews.ics").data):
        events = events_by_title(data)
        cancelled = {t: e for t, e in events.items() if e.get("STATUS") == "CANCELLED"}
        assert set(cancelled) == {"Partnership check-in"}
        event = cancelled["Partnership check-in"]
        assert event["UID"] == held["UID"] and event["SEQUENCE"] == held["SEQUENCE"] == 0
        assert event.decoded("DTSTAMP") > held.decoded("DTSTAMP")
        assert occurrences(event) == occurrences(held)
        assert occurrences(events["Trust check"])[0] > occurrences(first["Trust check"])[0]


@contextmanager
def migrating(app: Flask, database_url: str) -> Iterator[Config]:
    """Migrate the test's database by hand: the app's connections closed first, and the
    database at the newest migration afterwards, whatever happened (the next test uses it)."""
    with app.app_context():
        db.engine.dispose()
    config = alembic_config(database_url)
    try:
        yield config
    finally:
        alembic_command.upgrade(config, "head")


def _refuses_updates(url: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE charter_versions SET sha256 = 'changed'"))
    except DBAPIError as error:
        assert "frozen" in str(error)
        return True
    finally:
        engine.dispose()
    return False


def _columns(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {c["name"] for c in inspect(connection).get_columns("charter_versions")}
    finally:
        engine.dispose()


def test_the_upgrade_gives_versions_frozen_before_it_the_calendars_the_code_gives_then(
    app: Flask, signed_in: FlaskClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Downgraded to before the frozen calendars and upgraded again, on SQLite and on
    PostgreSQL: each version gets the series and the file a download gave until now (for a
    version 2, cancelling what version 1 set and it drops), and stays frozen."""
    client = signed_in
    setup, first = frozen_charter(app, client, effective_date=EFFECTIVE)
    signed(app, client, first)
    amended = Setup(
        setup.engagement_id,
        record(app, setup.engagement_id, {**ANSWERS, "relationship_duration": 3}),
    )
    freeze(client, amended, effective_date=EFFECTIVE)
    frozen = stored(app)
    assert b"STATUS:CANCELLED" in frozen[1][1]
    with migrating(app, database_url) as config:
        alembic_command.downgrade(config, BEFORE_THE_UPGRADE)
        assert not {"review_series", "calendar_ics"} & _columns(database_url)
        assert _refuses_updates(database_url)
        alembic_command.upgrade(config, "head")
        assert stored(app) == frozen
        assert _refuses_updates(database_url)

        # Upgraded under other rules, they keep the schedule those rules give.
        alembic_command.downgrade(config, BEFORE_THE_UPGRADE)
        rules_changed(monkeypatch)
        alembic_command.upgrade(config, "head")
        assert [series for series, _ in stored(app)] == series_today(app)
        assert stored(app) != frozen
        assert _refuses_updates(database_url)


def test_a_version_frozen_before_a_check_of_its_fields_still_gets_and_cancels_its_calendar(
    app: Flask, signed_in: FlaskClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Frozen before the charter's fields were checked against its fonts, a version keeps a
    summary today's form refuses: the upgrade gives it its calendar all the same rather than
    stop there, and an amendment cancels what it drops, as for any other version."""
    client = signed_in
    with monkeypatch.context() as before_the_check:
        before_the_check.setattr(fonts, "unprintable", lambda text: [])
        setup, first = frozen_charter(
            app, client, effective_date=EFFECTIVE, project_summary="Filming 🎬 in the spring"
        )
    with app.app_context():
        [version] = db.session.query(CharterVersion).all()
        with pytest.raises(ValidationError):
            charter.load_details(version.fields)
    frozen = stored(app)
    with migrating(app, database_url) as config:
        alembic_command.downgrade(config, BEFORE_THE_UPGRADE)
        alembic_command.upgrade(config, "head")
        assert stored(app) == frozen

    for data in amendment_calendars(app, client, setup):
        cancelled = [e for e in events_by_title(data).values() if e.get("STATUS") == "CANCELLED"]
        assert [str(e["SUMMARY"]).split(": ")[0] for e in cancelled] == ["Partnership check-in"]
    assert client.get(f"{first}/reviews.ics").data == frozen[0][1]


def test_an_upgrade_that_fails_half_way_leaves_the_database_as_it_was(
    app: Flask, signed_in: FlaskClient, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite as on PostgreSQL: the columns added before the failure go with it, so the
    next upgrade starts from a database it knows rather than stop on a duplicate column."""
    frozen_charter(app, signed_in, effective_date=EFFECTIVE)
    frozen = stored(app)
    with migrating(app, database_url) as config:
        alembic_command.downgrade(config, BEFORE_THE_UPGRADE)
        with monkeypatch.context() as failing:
            failing.setattr(charter, "kept_calendar", _fail)
            with pytest.raises(RuntimeError, match="half way"):
                alembic_command.upgrade(config, "head")
        assert not {"review_series", "calendar_ics"} & _columns(database_url)
        assert _revision(database_url) == BEFORE_THE_UPGRADE
        assert _refuses_updates(database_url)
        alembic_command.upgrade(config, "head")
        assert stored(app) == frozen


def _fail(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("stopped half way")


def _revision(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SELECT version_num FROM alembic_version")).one()[0])
    finally:
        engine.dispose()
