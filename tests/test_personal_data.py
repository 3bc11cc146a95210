"""Personal data kept out of what the service writes besides its database: its logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from webtools import app_on, create_engagement, fill_in, invite, login, make_consultant, post

from assess.commands import upgrade_database
from assess.extensions import db
from assess.models import Respondent


def test_a_deleted_engagement_leaves_no_readable_trace_in_the_sqlite_file(tmp_path: Path) -> None:
    # SQLite keeps a deleted row's bytes in the file until the page is used again, unless
    # it is told to overwrite them (some builds are, by default, and some are not).
    path = tmp_path / "assess.sqlite3"
    upgrade_database(f"sqlite:///{path}")
    with app_on(f"sqlite:///{path}", tmp_path) as app:
        make_consultant(app)
        client = app.test_client()
        login(client)
        engagement_id = create_engagement(client, producer_name="Zebulon Quartermaine")
        fill_in(app.test_client(), invite(client, engagement_id, respondent_name="Xanthe Oyelaran"))
        assert b"Xanthe Oyelaran" in path.read_bytes()
        post(client, f"/engagements/{engagement_id}/archive")
        assert post(client, f"/engagements/{engagement_id}/delete").status_code == 302
    stored = path.read_bytes()
    assert b"Zebulon Quartermaine" not in stored and b"Xanthe Oyelaran" not in stored


@pytest.mark.db
def test_a_database_error_in_the_log_names_none_of_the_values_sent(app: Flask) -> None:
    # An unexpected error is logged with its traceback, which would otherwise list every
    # value of the failed statement: a respondent's name and answers, an account's email
    # and password hash.
    with app.app_context(), pytest.raises(IntegrityError) as failed:
        db.session.execute(
            insert(Respondent).values(
                engagement_id=999,
                name="Xanthe Oyelaran",
                side="producer",
                answers={"innovation": 4},
            )
        )
    db_logged = logging.Formatter().formatException((failed.type, failed.value, failed.tb))
    assert "Xanthe Oyelaran" not in db_logged and "innovation" not in db_logged, db_logged
    assert "INSERT INTO respondents" in db_logged  # what failed is still said
